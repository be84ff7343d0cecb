/*
 * chot-sockbase receiver: chotd's per-batch pipeline (dataplane/worker.c,
 * with the null:// store) behind a blocking recvmmsg loop on 127.0.0.1.
 *
 *   chot-sockbase [recv] [--file-prefix P] [--mem MB] [--] --keys FILE
 *                 [--port N] [--idle-ms MS] [--dedupe-capacity N]
 *                 [--window-s S] [--retention-days D] [--max-devices N]
 *
 * Per datagram, in chotd's order and with chotd's functions: header parse
 * -> dp_admit() (admit.c: window, keys, AEAD open, window accept) ->
 * dp_ingest() (ingest.c: arena decode, per-event validation against
 * CLOCK_REALTIME, pseudonym, bulk dedupe, vault hints with their prefetch)
 * -> the ACK queue (ackq.c); then, as with null://, the batch is stored at
 * once: window stored and, when asked for, the cumulative ACK back to the
 * sender (sendmmsg, one call per burst).  Counted with chotd's counters
 * (dataplane/counters.h) and reasons; ingest_shared_cycles is the TSC spent
 * inside dp_admit, dp_ingest and the ACK tag, as chotd counts it, and
 * ingest_rx_cycles the TSC inside recvmmsg calls that returned datagrams
 * (non-blocking: waiting is a poll() outside them); ingest_cycles is the
 * TSC from each such call's return to its ACKs sent, of which
 * ingest_tx_syscall_cycles inside the sendmmsg calls.  Their sum less the
 * shared part is this path's I/O cost (chot-bench's
 * socket_io_cycles_per_datagram), counted as chotd counts its own.
 *
 * EAL is initialised with fixed arguments (no hugepages, no PCI, one lcore)
 * only because the device and dedupe tables are rte_hash.  --port 0 lets the
 * kernel pick; the bound port is printed first on stdout as
 * `listening_port N`.  With --idle-ms the receiver exits once that long has
 * passed without a datagram after the first one; SIGINT / SIGTERM also stop
 * it.  On exit every counter is printed as a `name value` line like chotd's,
 * then cpu_user_us / cpu_sys_us (getrusage, receive loop only: EAL and table
 * set-up excluded), busy_wall_us (first datagram to last one processed),
 * events_per_s and events_per_cpu_s (events_decoded over those).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_memory.h>

#include <rte_malloc.h>

#include "ackq.h"
#include "admit.h"
#include "clock.h"
#include "counters.h"
#include "dedupe.h"
#include "device.h"
#include "ingest.h"
#include "keys.h"
#include "prefault.h"
#include "sockbase.h"
#include "thp.h"
#include "wire.h"

#define RX_BUF_LEN   2048             /* > WIRE_MAX_DGRAM: longer ones are truncated */
#define RCVBUF_BYTES (8 << 20)
#define SB_SLOTS     64               /* ACK-queue slots: null:// frees each at once */

struct sb_opts {
	const char *prefix;
	const char *keys_file;
	unsigned mem_mb;
	unsigned port;
	unsigned idle_ms;
	uint32_t dedupe_capacity;
	uint32_t window_s;
	uint32_t retention_days;
	uint32_t max_devices;
};

struct sb_rx {
	struct dp_counters ctr;
	uint64_t shared_cycles;           /* in dp_admit, dp_ingest, ACK tags */
	uint64_t rx_cycles;               /* in recvmmsg calls that returned datagrams */
	uint64_t tx_cycles;               /* in the sendmmsg calls of their ACKs */
	int fd;
	const struct chot_keys *keys;
	struct dp_devices *devs;
	struct dp_dedupe *dedupe;
	struct dp_vault_seen *vault_seen;
	struct dp_ingest ing;
	struct dp_ackq ackq;
	struct dp_ackq_link ackq_mem[SB_SLOTS];
	struct dp_admit admit;
	struct dp_devkeys ack_scratch;
	uint8_t pt[WIRE_MAX_BODY];
	/* the burst being processed */
	struct mmsghdr msg[SB_BURST];
	struct iovec iov[SB_BURST];
	struct sockaddr_in src[SB_BURST];
	uint8_t buf[SB_BURST][RX_BUF_LEN];
	/* its ACKs, sent with one sendmmsg */
	struct mmsghdr ack_msg[SB_BURST];
	struct iovec ack_iov[SB_BURST];
	uint8_t ack[SB_BURST][WIRE_ACK_LEN];
	unsigned n_ack;
};

static volatile sig_atomic_t quit;

static void
on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static uint64_t
tv_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000 + (uint64_t)tv->tv_usec;
}

/* Queue the ACK (dev, key_id, epoch, acked) to the sender of datagram i. */
static void
sb_queue_ack(struct sb_rx *rx, const struct dp_device *dev, uint16_t key_id, uint32_t epoch,
	     uint64_t acked, unsigned i)
{
	struct wire_ack a = { .key_id = key_id, .device_id = dev->device_id,
			      .boot_epoch = epoch, .acked_seq = acked };
	struct mmsghdr *m = &rx->ack_msg[rx->n_ack];
	const uint8_t *ackkey;
	uint64_t t0;

	if (acked == 0)
		return;     /* nothing of this epoch is stored yet: nothing to say */
	t0 = rte_rdtsc();
	ackkey = dp_admit_ackkey(dev, key_id, rx->keys, &rx->ack_scratch);
	if (ackkey == NULL)
		return;
	wire_ack_build(rx->ack[rx->n_ack], &a, ackkey);
	rx->shared_cycles += rte_rdtsc() - t0;     /* the ACK tag, as chotd's */
	memset(&m->msg_hdr, 0, sizeof(m->msg_hdr));
	m->msg_hdr.msg_name = &rx->src[i];
	m->msg_hdr.msg_namelen = rx->msg[i].msg_hdr.msg_namelen;
	m->msg_hdr.msg_iov = &rx->ack_iov[rx->n_ack];
	m->msg_hdr.msg_iovlen = 1;
	rx->n_ack++;
}

/* Send the burst's ACKs; what the kernel refuses is acks_dropped. */
static void
sb_flush_acks(struct sb_rx *rx)
{
	unsigned done = 0;
	int n;

	while (done < rx->n_ack) {
		n = sendmmsg(rx->fd, &rx->ack_msg[done], rx->n_ack - done, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rx->ctr.acks_dropped += rx->n_ack - done;
			break;
		}
		rx->ctr.acks_sent += (unsigned)n;
		done += (unsigned)n;
	}
	rx->n_ack = 0;
}

/* The batch has nothing (more) to store: null:// stores at once; ACK if asked. */
static void
sb_complete(struct sb_rx *rx, struct dp_device *dev, const struct wire_hdr *h, unsigned i)
{
	uint64_t acked = dp_window_stored(&dev->win, h->boot_epoch, h->batch_seq);

	if (h->flags & WIRE_FLAG_ACK)
		sb_queue_ack(rx, dev, h->key_id, h->boot_epoch, acked, i);
}

/*
 * An authentic batch went through dp_ingest (result r): as worker_accept
 * with null://, whose submit completes at once (so the ACK queue is
 * always settled: a duplicate-only batch is ACKed at once too).
 */
static void
sb_accept(struct sb_rx *rx, struct dp_device *dev, const struct wire_hdr *h, unsigned i,
	  enum chot_reason r)
{
	uint32_t slot;

	if (r != WIRE_OK || rx->ing.n == 0) {
		/* A duplicate-only batch waits for what was submitted before it
		 * (ackq.h); with null:// that is always complete already. */
		if (r == WIRE_OK && rx->ing.dups > 0 && !dp_ackq_settled(&rx->ackq)) {
			dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
			rx->ctr.acks_deferred_dropped++;    /* cannot happen */
			return;
		}
		sb_complete(rx, dev, h, i);
		return;
	}
	slot = dp_ackq_take(&rx->ackq);
	if (slot == DP_ACKQ_NONE) {      /* cannot happen: every slot is freed at once */
		dp_ingest_rollback(&rx->ing);
		dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
		rx->ctr.events_dropped += rx->ing.n;
		rx->ctr.batches_dropped++;
		return;
	}
	/* null://: submitted, stored and completed in one go. */
	dp_ackq_submit(&rx->ackq, slot);
	dp_ingest_commit(&rx->ing);
	dp_ackq_complete(&rx->ackq, slot);
	dp_ackq_free(&rx->ackq, slot);
	rx->ctr.events_stored += rx->ing.n;
	sb_complete(rx, dev, h, i);
}

/* One datagram of the burst (dp_worker_batch, after chotd's header check). */
static void
sb_datagram(struct sb_rx *rx, unsigned i, uint64_t now_ms)
{
	const uint8_t *dgram = rx->buf[i];
	size_t len = rx->msg[i].msg_len;
	struct dp_device *dev;
	struct wire_hdr h;
	enum chot_reason r;
	uint64_t t0;

	rx->ctr.rx_packets++;
	if (rx->msg[i].msg_hdr.msg_flags & MSG_TRUNC) {
		dp_count_reason(&rx->ctr, HDR_TOO_LONG);
		return;
	}
	r = wire_hdr_parse(dgram, len, &h);
	if (r != WIRE_OK) {
		dp_count_reason(&rx->ctr, r);
		return;
	}
	t0 = rte_rdtsc();
	r = dp_admit(rx->devs, rx->keys, dgram, &h, rx->pt, &rx->admit);
	if (r == WIRE_OK) {
		r = dp_ingest(&rx->ing, rx->pt, h.body_len, now_ms,
			      dp_ackq_has_free(&rx->ackq), &rx->ctr);
		rx->shared_cycles += rte_rdtsc() - t0;
		sb_accept(rx, rx->admit.dev, &h, i, r);
		return;
	}
	rx->shared_cycles += rte_rdtsc() - t0;
	dp_count_reason(&rx->ctr, r);
	dev = rx->admit.dev;
	if ((r == WIN_REPLAY || r == WIN_TOO_OLD) && (h.flags & WIRE_FLAG_ACK) &&
	    dp_window_is_stored(&dev->win, h.boot_epoch, h.batch_seq))
		sb_queue_ack(rx, dev, h.key_id, h.boot_epoch, dev->win.acked, i);
}

/* Blocking UDP socket on 127.0.0.1:port with a large receive buffer. */
static int
sb_socket(unsigned port, unsigned *bound, int *rcvbuf)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t alen = sizeof(a);
	int fd, sz = RCVBUF_BYTES;
	socklen_t slen = sizeof(*rcvbuf);

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(a.sin_port);
	if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, rcvbuf, &slen) < 0)
		*rcvbuf = 0;
	return fd;
}

static void
usage(void)
{
	fprintf(stderr,
		"usage: chot-sockbase [recv] [--file-prefix P] [--mem MB] [--] --keys FILE\n"
		"           [--port N] [--idle-ms MS] [--dedupe-capacity N] [--window-s S]\n"
		"           [--retention-days D] [--max-devices N]\n"
		"       chot-sockbase feed --pcap FILE --to HOST:PORT [--loops N]\n");
}

static int
parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* Options; "--" is accepted anywhere and ignored. 0 or -1. */
static int
parse_args(int argc, char **argv, struct sb_opts *o)
{
	static const struct option opts[] = {
		{ "file-prefix", required_argument, NULL, 'P' },
		{ "mem", required_argument, NULL, 'm' },
		{ "keys", required_argument, NULL, 'k' },
		{ "port", required_argument, NULL, 'p' },
		{ "idle-ms", required_argument, NULL, 'i' },
		{ "dedupe-capacity", required_argument, NULL, 'c' },
		{ "window-s", required_argument, NULL, 'w' },
		{ "retention-days", required_argument, NULL, 'r' },
		{ "max-devices", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *args[argc + 1];
	int n = 0, i, opt;
	uint32_t v;

	for (i = 0; i < argc; i++)
		if (i == 0 || strcmp(argv[i], "--") != 0)
			args[n++] = argv[i];
	args[n] = NULL;
	optind = 1;
	while ((opt = getopt_long(n, args, "", opts, NULL)) != -1) {
		if (opt == 'P') {
			o->prefix = optarg;
			continue;
		}
		if (opt == 'k') {
			o->keys_file = optarg;
			continue;
		}
		if (opt == 'h' || opt == '?' || parse_u32(optarg, &v) < 0) {
			if (opt != 'h' && opt != '?')
				fprintf(stderr, "chot-sockbase: bad number '%s'\n", optarg);
			return -1;
		}
		switch (opt) {
		case 'm': o->mem_mb = v; break;
		case 'p': o->port = v; break;
		case 'i': o->idle_ms = v; break;
		case 'c': o->dedupe_capacity = v; break;
		case 'w': o->window_s = v; break;
		case 'r': o->retention_days = v; break;
		case 'd': o->max_devices = v; break;
		default: return -1;
		}
	}
	if (optind != n || o->keys_file == NULL || o->port > 65535 || o->mem_mb < 64 ||
	    o->retention_days == 0 || o->max_devices < 16 || o->dedupe_capacity < 64)
		return -1;
	return 0;
}

static void
print_counters(const struct sb_rx *rx, const struct rusage *r0, const struct rusage *r1,
	       uint64_t busy_us)
{
	uint64_t user = tv_us(&r1->ru_utime) - tv_us(&r0->ru_utime);
	uint64_t sys = tv_us(&r1->ru_stime) - tv_us(&r0->ru_stime);
	struct dp_counters c = rx->ctr;
	struct dp_dedupe_stats ds;
	unsigned i;

	c.dedupe_full = dp_dedupe_full(rx->dedupe);
	for (i = 0; i < DP_CTR__COUNT; i++)
		printf("%s %lu\n", dp_counter_names[i], (unsigned long)*dp_counter_slot(&c, i));
	for (i = 1; i < CHOT_REASON__COUNT; i++)
		if (c.reasons[i] != 0)
			printf("reason.%s.%s %lu\n", chot_counter_name(chot_reason_counter(i)),
			       chot_reason_name(i), (unsigned long)c.reasons[i]);
	printf("ingest_shared_cycles %lu\n", (unsigned long)rx->shared_cycles);
	printf("ingest_rx_cycles %lu\n", (unsigned long)rx->rx_cycles);
	printf("ingest_tx_syscall_cycles %lu\n", (unsigned long)rx->tx_cycles);
	dp_dedupe_get_stats(rx->dedupe, &ds);
	printf("dedupe_late %lu\ndedupe_lateness_max_ms %lu\n", (unsigned long)ds.late,
	       (unsigned long)ds.lateness_max_ms);
	printf("tsc_hz %lu\n", (unsigned long)rte_get_tsc_hz());
	printf("devices %u\n", dp_devices_count(rx->devs));
	printf("cpu_user_us %lu\n", (unsigned long)user);
	printf("cpu_sys_us %lu\n", (unsigned long)sys);
	printf("busy_wall_us %lu\n", (unsigned long)busy_us);
	printf("events_per_s %lu\n", busy_us == 0 ? 0UL :
	       (unsigned long)(c.events_decoded * 1000000 / busy_us));
	printf("events_per_cpu_s %lu\n", user + sys == 0 ? 0UL :
	       (unsigned long)(c.events_decoded * 1000000 / (user + sys)));
	fflush(stdout);
}

/* The receive loop; returns when idle or asked to quit. */
static void
sb_loop(struct sb_rx *rx, unsigned idle_ms, uint64_t *busy_us)
{
	struct pollfd pfd = { .fd = rx->fd, .events = POLLIN };
	uint64_t first = 0, last = 0, t0, t_rx, t_tx;
	unsigned i;
	int n;

	for (i = 0; i < SB_BURST; i++) {
		rx->iov[i].iov_base = rx->buf[i];
		rx->iov[i].iov_len = RX_BUF_LEN;
		rx->ack_iov[i].iov_base = rx->ack[i];
		rx->ack_iov[i].iov_len = WIRE_ACK_LEN;
	}
	while (!quit) {
		for (i = 0; i < SB_BURST; i++) {
			struct msghdr *h = &rx->msg[i].msg_hdr;

			h->msg_name = &rx->src[i];
			h->msg_namelen = sizeof(rx->src[i]);
			h->msg_iov = &rx->iov[i];
			h->msg_iovlen = 1;
			h->msg_control = NULL;
			h->msg_controllen = 0;
			h->msg_flags = 0;
		}
		/* Never blocks inside the timed call: a receive that finds
		 * datagrams is I/O work, waiting for them is not (as chotd counts
		 * only bursts that carried datagrams). */
		t_rx = rte_rdtsc();
		n = recvmmsg(rx->fd, rx->msg, SB_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				perror("chot-sockbase: recvmmsg");
				break;
			}
			if (idle_ms != 0 && first != 0 && chot_mono_us() - last >= (uint64_t)idle_ms * 1000)
				break;
			(void)poll(&pfd, 1, idle_ms != 0 && idle_ms < 100 ? (int)idle_ms : 100);
			continue;
		}
		if (first == 0)
			first = chot_mono_us();
		t0 = rte_rdtsc();
		rx->rx_cycles += t0 - t_rx;
		{
			uint64_t now_ms = chot_real_ms();

			for (i = 0; i < (unsigned)n; i++)
				sb_datagram(rx, i, now_ms);
		}
		t_rx = rte_rdtsc();
		sb_flush_acks(rx);
		t_tx = rte_rdtsc();
		rx->tx_cycles += t_tx - t_rx;
		rx->ctr.ingest_cycles += t_tx - t0;
		last = chot_mono_us();
	}
	*busy_us = last - first;
}

int
main(int argc, char **argv)
{
	struct sb_opts o = {
		.mem_mb = 256,
		.port = WIRE_UDP_PORT,
		.dedupe_capacity = 1048576,
		.window_s = 120,
		.retention_days = 21,
		.max_devices = 65536,
	};
	char prefix[64], mem[16];
	char *eal[] = { argv[0], "--no-huge", "-m", mem, "--no-pci", "--file-prefix", prefix,
			"-l", "0", "--log-level=lib.*:4", NULL };
	struct sigaction sa = { .sa_handler = on_signal };
	static struct chot_keys keys;
	struct rusage r0, r1;
	struct sb_rx *rx;
	uint64_t busy_us = 0;
	unsigned bound;
	char err[256];
	int rc, rcvbuf;

	if (argc > 1 && strcmp(argv[1], "feed") == 0)
		return sb_feed_main(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "recv") == 0) {
		argv[1] = argv[0];
		argc--;
		argv++;
	}
	if (parse_args(argc, argv, &o) < 0) {
		usage();
		return 2;
	}
	snprintf(prefix, sizeof(prefix), "%s", o.prefix ? o.prefix : "");
	if (prefix[0] == '\0')
		snprintf(prefix, sizeof(prefix), "sockbase%d", (int)getpid());
	snprintf(mem, sizeof(mem), "%u", o.mem_mb);
	rc = rte_eal_init((int)RTE_DIM(eal) - 1, eal);
	if (rc < 0) {
		fprintf(stderr, "chot-sockbase: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	if (wire_init() < 0) {
		fprintf(stderr, "chot-sockbase: libsodium init failed\n");
		goto fail_eal;
	}
	rc = keys_load(o.keys_file, &keys, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "chot-sockbase: keys %s: %s\n", o.keys_file, err);
		goto fail_eal;
	}
	rx = calloc(1, sizeof(*rx));
	if (rx == NULL)
		goto fail_keys;
	rx->keys = &keys;
	rx->devs = dp_devices_create("sb_dev", o.max_devices, (int)rte_socket_id());
	rx->dedupe = dp_dedupe_create("sb_dd", o.dedupe_capacity, o.window_s,
				      (int)rte_socket_id());
	/* As chotd's workers: the vault cache on transparent huge pages. */
	rx->vault_seen = dp_thp_alloc(DP_VAULT_CACHE_SIZE * sizeof(*rx->vault_seen));
	dp_ackq_init(&rx->ackq, rx->ackq_mem, SB_SLOTS);
	dp_ingest_init(&rx->ing, &keys, (uint64_t)o.retention_days * 86400000ULL, rx->dedupe,
		       rx->vault_seen);
	if (rx->devs == NULL || rx->dedupe == NULL || rx->vault_seen == NULL) {
		fprintf(stderr, "chot-sockbase: cannot allocate tables (devices %u, dedupe %u): "
			"raise --mem\n", o.max_devices, o.dedupe_capacity);
		goto fail_rx;
	}
	dp_prefault();          /* as chotd does with ingest.prefault */
	rx->fd = sb_socket(o.port, &bound, &rcvbuf);
	if (rx->fd < 0) {
		fprintf(stderr, "chot-sockbase: udp 127.0.0.1:%u: %s\n", o.port, strerror(errno));
		goto fail_rx;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "chot-sockbase: 127.0.0.1:%u, SO_RCVBUF %d bytes, dedupe %u x %u s\n",
		bound, rcvbuf, o.dedupe_capacity, o.window_s);
	printf("listening_port %u\n", bound);
	fflush(stdout);

	getrusage(RUSAGE_SELF, &r0);
	sb_loop(rx, o.idle_ms, &busy_us);
	getrusage(RUSAGE_SELF, &r1);
	print_counters(rx, &r0, &r1, busy_us);

	close(rx->fd);
	dp_dedupe_destroy(rx->dedupe);
	dp_devices_destroy(rx->devs);
	dp_thp_free(rx->vault_seen, DP_VAULT_CACHE_SIZE * sizeof(*rx->vault_seen));
	free(rx);
	keys_wipe(&keys);
	rte_eal_cleanup();
	return 0;
fail_rx:
	dp_dedupe_destroy(rx->dedupe);
	dp_devices_destroy(rx->devs);
	dp_thp_free(rx->vault_seen, DP_VAULT_CACHE_SIZE * sizeof(*rx->vault_seen));
	free(rx);
fail_keys:
	keys_wipe(&keys);
fail_eal:
	rte_eal_cleanup();
	return 1;
}
