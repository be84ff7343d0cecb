/*
 * chot-impair: a two-port Ethernet forwarder that impairs traffic the way
 * `tc qdisc ... netem` does, for kernels built without sch_netem (the
 * test machines' kernel lacks it).  tools/netlab.sh runs it in a middle
 * namespace between the scanners' veth and chotd's veth when netem is not
 * available.
 *
 *   chot-impair --a IF --b IF [--ab SPEC] [--ba SPEC] [--seed N]
 *
 * SPEC uses netem's words: "loss P% duplicate P% delay Tms reorder P%"
 * (each optional).  As in netem, with a delay, `reorder P%` sends P% of
 * the packets at once and delays the rest, which reorders them; a
 * duplicate is a second copy sent with the original.  Frames are read
 * from AF_PACKET sockets (both directions, everything but our own
 * transmissions) and forwarded unchanged.  Counters go to stderr every
 * 5 s and at SIGTERM.  Bounded: at most 65536 frames wait per direction.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define FRAME_MAX 2048
#define QLEN 65536

struct spec {
	double loss, dup, reorder;
	uint64_t delay_us;
};

struct held {
	uint64_t due_us;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

struct dir {
	const char *name;
	int in, out;
	struct spec sp;
	struct held *q;            /* FIFO: constant delay keeps it sorted */
	uint32_t head, n;
	uint64_t rx, tx, lost, dups, reordered, overflow;
};

static volatile sig_atomic_t stop;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void
on_sig(int s)
{
	(void)s;
	stop = 1;
}

static double
uniform(void)
{
	uint64_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return (double)(x >> 11) * 0x1.0p-53;
}

static int
parse_spec(const char *s, struct spec *sp)
{
	char buf[256], *tok, *save = NULL;

	memset(sp, 0, sizeof(*sp));
	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	for (tok = strtok_r(buf, " ", &save); tok != NULL; tok = strtok_r(NULL, " ", &save)) {
		char *val = strtok_r(NULL, " ", &save);
		double v;

		if (val == NULL)
			return -1;
		v = strtod(val, NULL);
		if (strcmp(tok, "loss") == 0)
			sp->loss = v / 100;
		else if (strcmp(tok, "duplicate") == 0)
			sp->dup = v / 100;
		else if (strcmp(tok, "reorder") == 0)
			sp->reorder = v / 100;
		else if (strcmp(tok, "delay") == 0)
			sp->delay_us = (uint64_t)(v * (strstr(val, "us") ? 1 : 1000));
		else
			return -1;
		/* netem's optional correlation after reorder / loss: "25% 50%" */
		if (save != NULL && *save != '\0' && (*save >= '0' && *save <= '9'))
			strtok_r(NULL, " ", &save);
	}
	return 0;
}

static int
open_port(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	int big = 8 << 20;

	if (fd < 0)
		return -1;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	mr.mr_ifindex = sll.sll_ifindex;
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	return fd;
}

static void
xmit(struct dir *d, const uint8_t *p, size_t len)
{
	if (send(d->out, p, len, 0) == (ssize_t)len)
		d->tx++;
}

static void
hold(struct dir *d, const uint8_t *p, size_t len, uint64_t due)
{
	struct held *h;

	if (d->n == QLEN) {
		d->overflow++;
		return;
	}
	h = &d->q[(d->head + d->n) % QLEN];
	h->due_us = due;
	h->len = (uint16_t)len;
	memcpy(h->data, p, len);
	d->n++;
}

static void
forward(struct dir *d, const uint8_t *p, size_t len, uint64_t now)
{
	int copies = 1 + (uniform() < d->sp.dup);

	if (uniform() < d->sp.loss) {
		d->lost++;
		return;
	}
	if (copies > 1)
		d->dups++;
	while (copies-- > 0) {
		if (d->sp.delay_us == 0 || uniform() < d->sp.reorder) {
			if (d->sp.delay_us != 0)
				d->reordered++;
			xmit(d, p, len);
		} else {
			hold(d, p, len, now + d->sp.delay_us);
		}
	}
}

static void
pump(struct dir *d)
{
	uint8_t buf[FRAME_MAX];
	struct sockaddr_ll from;
	socklen_t fl;
	ssize_t n;
	int burst = 256;

	while (burst-- > 0) {
		fl = sizeof(from);
		n = recvfrom(d->in, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;    /* our own transmissions on this port */
		d->rx++;
		forward(d, buf, (size_t)n, chot_mono_us());
	}
}

static void
release(struct dir *d, uint64_t now)
{
	while (d->n > 0 && d->q[d->head].due_us <= now) {
		xmit(d, d->q[d->head].data, d->q[d->head].len);
		d->head = (d->head + 1) % QLEN;
		d->n--;
	}
}

static void
report(const struct dir *d)
{
	fprintf(stderr, "impair %s: rx %lu tx %lu lost %lu duplicated %lu reordered %lu "
		"overflow %lu\n", d->name, (unsigned long)d->rx, (unsigned long)d->tx,
		(unsigned long)d->lost, (unsigned long)d->dups, (unsigned long)d->reordered,
		(unsigned long)d->overflow);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "a", 1, 0, 'a' }, { "b", 1, 0, 'b' }, { "ab", 1, 0, 'A' }, { "ba", 1, 0, 'B' },
		{ "seed", 1, 0, 's' }, { 0, 0, 0, 0 }
	};
	const char *ifa = NULL, *ifb = NULL, *sab = "", *sba = "";
	struct dir d[2] = { { .name = "a->b" }, { .name = "b->a" } };
	uint64_t next_report;
	int c, fa, fb;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'a': ifa = optarg; break;
		case 'b': ifb = optarg; break;
		case 'A': sab = optarg; break;
		case 'B': sba = optarg; break;
		case 's': rng_state ^= strtoull(optarg, NULL, 0) * 0xbf58476d1ce4e5b9ULL; break;
		default: return 2;
		}
	}
	if (ifa == NULL || ifb == NULL || parse_spec(sab, &d[0].sp) != 0 ||
	    parse_spec(sba, &d[1].sp) != 0) {
		fputs("usage: chot-impair --a IF --b IF [--ab SPEC] [--ba SPEC] [--seed N]\n"
		      "SPEC: netem words, e.g. \"loss 20% duplicate 5% delay 5ms reorder 25%\"\n",
		      stderr);
		return 2;
	}
	fa = open_port(ifa);
	fb = open_port(ifb);
	if (fa < 0 || fb < 0) {
		fprintf(stderr, "chot-impair: cannot open %s / %s: %s\n", ifa, ifb, strerror(errno));
		return 1;
	}
	d[0].in = fa, d[0].out = fb;
	d[1].in = fb, d[1].out = fa;
	d[0].q = calloc(QLEN, sizeof(struct held));
	d[1].q = calloc(QLEN, sizeof(struct held));
	if (d[0].q == NULL || d[1].q == NULL)
		return 1;
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);
	next_report = chot_mono_us() + 5000000;
	while (!stop) {
		struct pollfd p[2] = { { .fd = fa, .events = POLLIN }, { .fd = fb, .events = POLLIN } };
		uint64_t now;

		poll(p, 2, 1);
		pump(&d[0]);
		pump(&d[1]);
		now = chot_mono_us();
		release(&d[0], now);
		release(&d[1], now);
		if (now >= next_report) {
			report(&d[0]);
			report(&d[1]);
			next_report = now + 5000000;
		}
	}
	report(&d[0]);
	report(&d[1]);
	return 0;
}
