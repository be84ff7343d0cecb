/*
 * chot-sockbase feeder: replays the UDP payloads of a `chot-flood gen` pcap
 * to the receiver over loopback.
 *
 *   chot-sockbase feed --pcap FILE --to HOST:PORT [--loops N]
 *
 * The whole pcap is read first (Ethernet, up to two VLAN tags, IPv4 / IPv6,
 * UDP; dataplane/parse.c decides, exactly as chotd's RX lcore would): every
 * datagram to the protocol port is kept, other frames (which chotd would
 * count as not_ours) cannot travel over a socket and are only counted.  The
 * datagrams are then sent with sendmmsg, SB_BURST at a time, on a connected
 * socket, as fast as the kernel takes them: the feeder backs off (50 us)
 * only when sendmmsg says EAGAIN / ENOBUFS.  No EAL.
 *
 * Then it reads the receiver's ACKs (feed_drain) until none came for
 * FEED_DRAIN_MS.  On exit: frames, datagrams, skipped_frames, sent,
 * send_retries, acks_received,
 * feed_wall_us and feed_cpu_user_us / feed_cpu_sys_us (getrusage around the
 * send loop) as `name value` lines on stdout.  On loopback the kernel's
 * receive path (UDP demux, queueing to the receiver's socket) runs in the
 * sender's context, so the feeder's system time holds part of what a
 * receiver behind a NIC would pay itself.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include <pcap/pcap.h>

#include "parse.h"
#include "sockbase.h"
#include "wire.h"
#include "clock.h"

#define SNDBUF_BYTES (8 << 20)     /* and the receive buffer, for the ACKs */
#define FEED_DRAIN_MS 500          /* reading ACKs ends after this long without one */

struct feed_dgrams {
	uint8_t *data;          /* payloads back to back */
	size_t len, cap;
	uint32_t *off;          /* n + 1 offsets into data */
	uint32_t n, n_cap;
	uint64_t frames, skipped;
};

static uint64_t
feed_tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec;
}

static int
feed_add(struct feed_dgrams *d, const uint8_t *p, size_t len)
{
	if (d->len + len > d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 1 << 20;
		uint8_t *nd;

		while (cap < d->len + len)
			cap *= 2;
		nd = realloc(d->data, cap);
		if (nd == NULL)
			return -1;
		d->data = nd;
		d->cap = cap;
	}
	if (d->n + 2 > d->n_cap) {
		uint32_t cap = d->n_cap ? d->n_cap * 2 : 65536;
		uint32_t *no = realloc(d->off, (size_t)cap * sizeof(*no));

		if (no == NULL)
			return -1;
		d->off = no;
		d->n_cap = cap;
	}
	memcpy(d->data + d->len, p, len);
	d->off[d->n] = (uint32_t)d->len;
	d->len += len;
	d->n++;
	d->off[d->n] = (uint32_t)d->len;
	return 0;
}

/* Read every datagram for the protocol port out of the pcap. 0 or -1. */
static int
feed_load(const char *path, struct feed_dgrams *d)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *ph;
	const u_char *pkt;
	struct dp_frame f;
	pcap_t *pc;
	int rc;

	pc = pcap_open_offline(path, errbuf);
	if (pc == NULL) {
		fprintf(stderr, "chot-sockbase feed: %s: %s\n", path, errbuf);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "chot-sockbase feed: %s: not an Ethernet capture\n", path);
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &ph, &pkt)) == 1) {
		d->frames++;
		if (dp_parse_frame(pkt, ph->caplen, WIRE_UDP_PORT, NULL, &f) != WIRE_OK ||
		    (size_t)f.payload_off + f.payload_len > ph->caplen) {
			d->skipped++;
			continue;
		}
		if (feed_add(d, pkt + f.payload_off, f.payload_len) < 0) {
			fprintf(stderr, "chot-sockbase feed: out of memory\n");
			pcap_close(pc);
			return -1;
		}
	}
	if (rc == -1) {
		fprintf(stderr, "chot-sockbase feed: %s: %s\n", path, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}

/* A UDP socket connected to "host:port" ("[v6]:port" too). fd or -1. */
static int
feed_connect(const char *to)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res, *ai;
	char host[256];
	const char *colon = strrchr(to, ':');
	size_t hlen;
	int fd = -1, sz = SNDBUF_BYTES, rc;

	if (colon == NULL || colon == to || (hlen = (size_t)(colon - to)) >= sizeof(host)) {
		fprintf(stderr, "chot-sockbase feed: --to %s: want HOST:PORT\n", to);
		return -1;
	}
	memcpy(host, to, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen >= 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "chot-sockbase feed: --to %s: %s\n", to, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "chot-sockbase feed: --to %s: %s\n", to, strerror(errno));
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	/* Room for the receiver's ACKs while the send loop runs (feed_drain). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return fd;
}

/*
 * Read the receiver's ACKs until none came for idle_ms, as scanners do:
 * the socket stays open and drained, so an ACK costs the receiver's
 * sendmmsg a delivery to a live socket.  (The feeder used to close at the
 * end of its send loop while the receiver still worked through its queue:
 * every later ACK met a closed port, its sendmmsg paying for an ICMP port
 * unreachable, and the earlier ones a full receive buffer: costs no
 * receiver behind a network pays, counted in socket_io_cycles_per_datagram.)
 */
static uint64_t
feed_drain(int fd, unsigned idle_ms)
{
	uint64_t last = chot_mono_us();
	uint8_t buf[SB_BURST][64];
	struct mmsghdr msg[SB_BURST];
	struct iovec iov[SB_BURST];
	uint64_t acks = 0;
	unsigned k;
	int n;

	memset(msg, 0, sizeof(msg));
	for (k = 0; k < SB_BURST; k++) {
		iov[k].iov_base = buf[k];
		iov[k].iov_len = sizeof(buf[k]);
		msg[k].msg_hdr.msg_iov = &iov[k];
		msg[k].msg_hdr.msg_iovlen = 1;
	}
	/* Polled, never asleep: a sleeping reader would make every ACK's
	 * sendmmsg wake it (on loopback, in the receiver's time), which a
	 * receiver sending to the network never pays. */
	for (;;) {
		n = recvmmsg(fd, msg, SB_BURST, MSG_DONTWAIT, NULL);
		if (n > 0) {
			acks += (unsigned)n;
			last = chot_mono_us();
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNREFUSED)
			break;
		if (chot_mono_us() - last >= (uint64_t)idle_ms * 1000)
			break;
	}
	return acks;
}

/* Send datagrams [0, d->n) loops times. 0 or -1 (a hard send error). */
static int
feed_send(int fd, const struct feed_dgrams *d, unsigned loops, uint64_t *sent,
	  uint64_t *retries)
{
	struct mmsghdr msg[SB_BURST];
	struct iovec iov[SB_BURST];
	unsigned loop, k, n, done;
	uint32_t i;
	int rc;

	memset(msg, 0, sizeof(msg));
	for (k = 0; k < SB_BURST; k++) {
		msg[k].msg_hdr.msg_iov = &iov[k];
		msg[k].msg_hdr.msg_iovlen = 1;
	}
	for (loop = 0; loop < loops; loop++) {
		for (i = 0; i < d->n; i += n) {
			n = d->n - i < SB_BURST ? d->n - i : SB_BURST;
			for (k = 0; k < n; k++) {
				iov[k].iov_base = d->data + d->off[i + k];
				iov[k].iov_len = d->off[i + k + 1] - d->off[i + k];
			}
			done = 0;
			while (done < n) {
				rc = sendmmsg(fd, &msg[done], n - done, 0);
				if (rc < 0) {
					if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
						(*retries)++;
						usleep(50);
						continue;
					}
					perror("chot-sockbase feed: sendmmsg");
					return -1;
				}
				done += (unsigned)rc;
				*sent += (unsigned)rc;
			}
		}
	}
	return 0;
}

int
sb_feed_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "loops", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct feed_dgrams d = { 0 };
	const char *pcap = NULL, *to = NULL;
	uint64_t sent = 0, retries = 0, acks, t0, t1;
	struct rusage r0, r1;
	unsigned loops = 1;
	int opt, fd, rc;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			pcap = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'l':
			loops = (unsigned)strtoul(optarg, &end, 10);
			if (*end != '\0' || loops == 0) {
				fprintf(stderr, "chot-sockbase feed: bad --loops '%s'\n", optarg);
				return 2;
			}
			break;
		default:
			fprintf(stderr, "usage: chot-sockbase feed --pcap FILE --to HOST:PORT "
				"[--loops N]\n");
			return 2;
		}
	}
	if (pcap == NULL || to == NULL || optind != argc) {
		fprintf(stderr, "usage: chot-sockbase feed --pcap FILE --to HOST:PORT [--loops N]\n");
		return 2;
	}
	if (feed_load(pcap, &d) < 0)
		return 1;
	fd = feed_connect(to);
	if (fd < 0) {
		free(d.data);
		free(d.off);
		return 1;
	}
	getrusage(RUSAGE_SELF, &r0);
	t0 = chot_mono_us();
	rc = feed_send(fd, &d, loops, &sent, &retries);
	t1 = chot_mono_us();
	getrusage(RUSAGE_SELF, &r1);
	acks = rc == 0 ? feed_drain(fd, FEED_DRAIN_MS) : 0;
	close(fd);
	printf("frames %lu\n", (unsigned long)d.frames);
	printf("datagrams %lu\n", (unsigned long)d.n);
	printf("skipped_frames %lu\n", (unsigned long)d.skipped);
	printf("sent %lu\n", (unsigned long)sent);
	printf("send_retries %lu\n", (unsigned long)retries);
	printf("acks_received %lu\n", (unsigned long)acks);
	printf("feed_wall_us %lu\n", (unsigned long)(t1 - t0));
	printf("feed_cpu_user_us %lu\n", (unsigned long)(feed_tv_us(&r1.ru_utime) -
							 feed_tv_us(&r0.ru_utime)));
	printf("feed_cpu_sys_us %lu\n", (unsigned long)(feed_tv_us(&r1.ru_stime) -
							feed_tv_us(&r0.ru_stime)));
	fflush(stdout);
	free(d.data);
	free(d.off);
	return rc < 0 ? 1 : 0;
}
