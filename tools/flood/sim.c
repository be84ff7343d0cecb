/*
 * chot-flood sim: D live scanners on one UDP socket (sim.h for the scanner
 * model).  Scans are created at --rate events/s, round-robin over the
 * devices; each device batches them, seals, sends (sendmmsg), retransmits
 * and retires them on ACK.  The run ends when every scan created has been
 * acknowledged (exit 0) or at the deadline (exit 1), and writes a JSON
 * report (with --verdict-rate: verdicts received, their latency p50/p99 and
 * their codes per reason) and, optionally, every scan (subject, ts, site, dir, acked) so a
 * checker can find each one in Redis.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "keys.h"
#include "lists.h"
#include "rng.h"
#include "sim_run.h"
#include "verdict.h"
#include "clock.h"

#define RECV_BURST 64

static const char sim_usage[] =
	"usage: chot-flood sim --devices D --rate EPS --to HOST:PORT --keys FILE\n"
	"                      [--events N | --duration S] [--batch N] [--window W]\n"
	"                      [--linger-ms MS] [--rto-ms MS] [--rto-max-ms MS]\n"
	"                      [--stall-ms MS] [--reboot-rate R] [--sites N] [--seed S]\n"
	"                      [--first-device ID] [--epoch-base E] [--prefix STR]\n"
	"                      [--deadline-s S] [--report FILE] [--events-out FILE]\n"
	"                      [--progress-s S] [--verdict-rate R]\n"
	"\n"
	"Live scanners with outboxes (docs/RELIABILITY.md): scans are created at EPS\n"
	"per second over D devices, batched (default 8 per batch), sealed, sent and\n"
	"retransmitted (backoff from --rto-ms 200 to --rto-max-ms 3000, +-25%% jitter)\n"
	"until an authentic ACK covers them.  A device with no ACK progress for\n"
	"--stall-ms (15000) starts a new epoch and re-packs its outstanding scans;\n"
	"--reboot-rate R reboots each device with probability R per second (new epoch,\n"
	"and one old-epoch datagram is replayed once the new epoch is ACKed, which\n"
	"chotd must reject as stale_epoch).  Defaults: --duration 10 --window 64\n"
	"--linger-ms 200 --sites 50 --first-device 1 --epoch-base <unix seconds>.\n"
	"--verdict-rate R (default 0): that share of the batches sets flag bit 1; their\n"
	"CHV1 verdicts (DESIGN §9) are verified with the ACK key and reported: count,\n"
	"latency p50/p99 from the batch's first send, and the codes per reason.\n"
	"Exit 0 when every scan was acknowledged, 1 at the deadline (default\n"
	"duration + 120 s) or on SIGINT/SIGTERM, 2 on bad usage.\n";

static volatile sig_atomic_t sim_stop;

static void
on_signal(int sig)
{
	(void)sig;
	sim_stop = 1;
}

static int
open_socket(const char *to)
{
	char host[256], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int fd, rc, big = 8 << 20;

	if (strlen(to) >= sizeof(host))
		return -1;
	strcpy(host, to);
	colon = strrchr(host, ':');
	if (colon == NULL) {
		fprintf(stderr, "chot-flood sim: --to wants HOST:PORT ([v6]:PORT), got '%s'\n", to);
		return -1;
	}
	*colon = '\0';
	if (host[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		memmove(host, host + 1, strlen(host));
	}
	rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "chot-flood sim: --to %s: %s\n", to, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		fprintf(stderr, "chot-flood sim: socket to %s: %s\n", to, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	/* Bursts of ACKs and of sends: big buffers (FORCE works as root). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) != 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	return fd;
}

static void
send_flush(struct sender *s)
{
	unsigned off = 0;

	while (off < s->n) {
		int r = sendmmsg(s->fd, s->msg + off, s->n - off, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* Unreachable, refused, no buffer: the datagram is lost, like
			 * on the network; its batch is retransmitted on its timer. */
			s->errors++;
			off++;
			continue;
		}
		s->datagrams += (uint64_t)r;
		off += (unsigned)r;
	}
	s->n = 0;
}

static void
send_add(struct sender *s, const uint8_t *dg, size_t len)
{
	if (s->n == SEND_MAX)
		send_flush(s);
	s->iov[s->n].iov_base = (void *)dg;
	s->iov[s->n].iov_len = len;
	memset(&s->msg[s->n].msg_hdr, 0, sizeof(s->msg[s->n].msg_hdr));
	s->msg[s->n].msg_hdr.msg_iov = &s->iov[s->n];
	s->msg[s->n].msg_hdr.msg_iovlen = 1;
	s->n++;
}

static void
verdict_in(struct sim_run *R, const uint8_t *buf, size_t len, uint64_t now)
{
	struct wire_verdict v;
	uint64_t lat = 0;

	if (wire_verdict_parse(buf, len, &v) != 0 || v.device_id < R->o->first_device ||
	    v.device_id - R->o->first_device >= R->o->devices) {
		R->st.verdicts_bad++;
		return;
	}
	if (sim_dev_on_verdict(&R->devs[v.device_id - R->o->first_device], buf, len, now, &R->st,
			       &lat) != 1)
		return;
	if (R->n_lat == R->cap_lat) {
		size_t cap = R->cap_lat ? R->cap_lat * 2 : 4096;
		uint64_t *n = realloc(R->lat_us, cap * sizeof(*n));

		if (n == NULL)
			return;   /* counted above; only its latency is not kept */
		R->lat_us = n;
		R->cap_lat = cap;
	}
	R->lat_us[R->n_lat++] = lat;
}

static uint64_t
exp_us(struct fl_rng *r, double per_s)
{
	double u = ((double)(fl_rng_next(r) >> 11) + 0.5) * 0x1.0p-53;

	return (uint64_t)(-log(u) / per_s * 1e6);
}

static void
recv_acks(struct sim_run *R, int fd, uint64_t now)
{
	uint8_t buf[RECV_BURST][VERDICT_MAX_LEN];
	struct mmsghdr msg[RECV_BURST];
	struct iovec iov[RECV_BURST];
	int i, n;

	for (;;) {
		for (i = 0; i < RECV_BURST; i++) {
			iov[i].iov_base = buf[i];
			iov[i].iov_len = sizeof(buf[i]);
			memset(&msg[i], 0, sizeof(msg[i]));
			msg[i].msg_hdr.msg_iov = &iov[i];
			msg[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, msg, RECV_BURST, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0; i < n; i++) {
			struct wire_ack a;
			int got;

			if (msg[i].msg_len >= 4 && memcmp(buf[i], wire_verdict_magic, 4) == 0) {
				verdict_in(R, buf[i], msg[i].msg_len, now);
				continue;
			}
			if (wire_ack_parse(buf[i], msg[i].msg_len, &a) != 0 ||
			    a.device_id < R->o->first_device ||
			    a.device_id - R->o->first_device >= R->o->devices) {
				R->st.acks_bad++;
				continue;
			}
			got = sim_dev_on_ack(&R->devs[a.device_id - R->o->first_device], buf[i],
					     msg[i].msg_len, &R->ev, now, &R->st);
			if (got > 0)
				R->acked += (uint64_t)got;
		}
		if (n < RECV_BURST)
			return;
	}
}

static void
generate(struct sim_run *R, uint64_t now)
{
	const struct sim_opts *o = R->o;
	uint64_t due = (uint64_t)((double)(now - R->t0_us) * o->rate / 1e6);
	uint64_t ts = chot_real_ms();
	unsigned budget = 65536;

	if (due > o->events)
		due = o->events;
	while (R->ev.n < due && budget-- > 0) {
		uint32_t i = R->ev.n++;
		uint32_t d = i % o->devices;

		R->ev.ev[i].ts_ms = ts;
		R->ev.ev[i].site_id = 1 + (o->first_device + d) % o->sites;
		R->ev.ev[i].dir = SIM_DIR_IN;
		sim_dev_enqueue(&R->devs[d], i, now);
	}
	if (R->ev.n == o->events && R->gen_done_us == 0)
		R->gen_done_us = now;
}

/* One pass over the devices: reboots, stalls, replays, retransmissions, new batches. */
static void
devices_pass(struct sim_run *R, uint64_t now)
{
	const struct sim_opts *o = R->o;
	bool flush = R->gen_done_us != 0;
	struct sim_batch *due[64];
	uint32_t i;

	for (i = 0; i < o->devices; i++) {
		struct sim_dev *d = &R->devs[i];
		struct sim_batch *b;
		unsigned k, j;

		if (o->reboot_rate > 0 && R->gen_done_us == 0 && now >= R->next_reboot_us[i]) {
			sim_dev_new_epoch(d, true, &R->st);
			R->st.reboots++;
			R->next_reboot_us[i] = now + exp_us(&R->rng, o->reboot_rate);
		} else if (sim_dev_stalled(d, &o->p, now)) {
			sim_dev_new_epoch(d, false, &R->st);
			R->st.stalls++;
		}
		if (d->old_armed && d->acked > 0) {
			/* The new epoch is ACKed, so chotd has moved on: the old
			 * datagram must now be stale. */
			send_add(&R->tx, d->old_dg, d->old_len);
			d->old_armed = false;
			R->st.old_epoch_replays++;
		}
		if (d->ob_n > 0) {
			while ((k = sim_dev_due(d, &o->p, now, due, 64, &R->rng, &R->st)) > 0) {
				for (j = 0; j < k; j++)
					send_add(&R->tx, due[j]->dg, due[j]->len);
				if (k < 64)
					break;
			}
		}
		while ((b = sim_dev_next_batch(d, &o->p, &R->ev, now, o->linger_us, flush,
					       &R->rng, &R->st)) != NULL)
			send_add(&R->tx, b->dg, b->len);
	}
	send_flush(&R->tx);
}

static int
parse_opts(int argc, char **argv, struct sim_opts *o)
{
	static const struct option lo[] = {
		{ "devices", 1, 0, 'D' }, { "rate", 1, 0, 'r' }, { "to", 1, 0, 't' },
		{ "keys", 1, 0, 'k' }, { "events", 1, 0, 'n' }, { "duration", 1, 0, 'd' },
		{ "batch", 1, 0, 'b' }, { "window", 1, 0, 'w' }, { "linger-ms", 1, 0, 'l' },
		{ "rto-ms", 1, 0, 'R' }, { "rto-max-ms", 1, 0, 'M' }, { "stall-ms", 1, 0, 'S' },
		{ "reboot-rate", 1, 0, 'B' }, { "sites", 1, 0, 's' }, { "seed", 1, 0, 'x' },
		{ "first-device", 1, 0, 'f' }, { "epoch-base", 1, 0, 'e' },
		{ "prefix", 1, 0, 'p' }, { "deadline-s", 1, 0, 'T' }, { "report", 1, 0, 'o' },
		{ "events-out", 1, 0, 'E' }, { "progress-s", 1, 0, 'P' }, { "help", 0, 0, 'h' },
		{ "verdict-rate", 1, 0, 'V' },
		{ 0, 0, 0, 0 }
	};
	double v;
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->duration = 10;
	o->sites = 50;
	o->first_device = 1;
	o->epoch_base = (uint32_t)time(NULL);
	o->seed = 1;
	o->progress_s = -1;
	o->linger_us = 200000;
	o->p = (struct sim_params){ .batch_events = 8, .window = 64, .rto_us = 200000,
				    .rto_max_us = 3000000, .stall_us = 15000000 };
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(sim_usage, stdout);
			exit(0);
		}
		if (c == '?')
			return -1;
		if (strchr("tkpoE", c) != NULL) {
			const char **dst = c == 't' ? &o->to : c == 'k' ? &o->keys_path :
					   c == 'p' ? &o->prefix : c == 'o' ? &o->report
					   : &o->events_out;
			*dst = optarg;
			continue;
		}
		errno = 0;
		v = strtod(optarg, &end);
		if (errno != 0 || *end != '\0' || v < 0) {
			fprintf(stderr, "chot-flood sim: bad number '%s'\n", optarg);
			return -1;
		}
		switch (c) {
		case 'D': o->devices = (uint32_t)v; break;
		case 'r': o->rate = v; break;
		case 'n': o->events = (uint64_t)v; break;
		case 'd': o->duration = v; break;
		case 'b': o->p.batch_events = (unsigned)v; break;
		case 'w': o->p.window = (unsigned)v; break;
		case 'l': o->linger_us = (uint64_t)(v * 1000); break;
		case 'R': o->p.rto_us = (uint32_t)(v * 1000); break;
		case 'M': o->p.rto_max_us = (uint32_t)(v * 1000); break;
		case 'S': o->p.stall_us = (uint64_t)(v * 1000); break;
		case 'B': o->reboot_rate = v; break;
		case 's': o->sites = (uint32_t)v; break;
		case 'x': o->seed = (uint64_t)v; break;
		case 'f': o->first_device = (uint32_t)v; break;
		case 'e': o->epoch_base = (uint32_t)v; break;
		case 'T': o->deadline_s = v; break;
		case 'P': o->progress_s = v; break;
		case 'V':
			if (v > 1) {
				fprintf(stderr, "chot-flood sim: --verdict-rate must be in [0, 1]\n");
				return -1;
			}
			o->p.verdict_rate = v;
			break;
		}
	}
	if (o->devices == 0 || o->rate <= 0 || o->to == NULL || o->keys_path == NULL) {
		fputs("chot-flood sim: --devices, --rate, --to and --keys are required\n", stderr);
		return -1;
	}
	if (o->p.batch_events < 1 || o->p.batch_events > WIRE_MAX_EVENTS ||
	    o->p.window < 1 || o->p.window > 512 || o->sites < 1 || o->first_device < 1 ||
	    o->p.rto_us < 1000 || o->p.rto_max_us < o->p.rto_us) {
		fputs("chot-flood sim: need --batch 1..64, --window 1..512 (the appliance's replay\n"
		      "window is 960), --sites >= 1, --first-device >= 1, --rto-ms >= 1,\n"
		      "--rto-max-ms >= --rto-ms\n", stderr);
		return -1;
	}
	if (o->events == 0)
		o->events = (uint64_t)(o->rate * o->duration);
	if (o->events == 0 || o->events > UINT32_MAX / 2) {
		fputs("chot-flood sim: --events must be 1..2^31\n", stderr);
		return -1;
	}
	if (o->deadline_s == 0)
		o->deadline_s = (double)o->events / o->rate + 120;
	if (o->prefix != NULL && (strlen(o->prefix) < 1 || strlen(o->prefix) > SIM_SUBJECT_PREFIX_MAX ||
				  strpbrk(o->prefix, " \t-") != NULL)) {
		fputs("chot-flood sim: --prefix: 1..12 printable characters, no space or '-'\n",
		      stderr);
		return -1;
	}
	return 0;
}

int
fl_cmd_sim(int argc, char **argv)
{
	struct sim_opts o;
	struct sim_run R;
	struct chot_keys keys;
	const uint8_t *master;
	char err[256];
	uint64_t now, deadline, next_progress = 0;
	uint32_t i, q_cap;
	bool tty = isatty(STDERR_FILENO), ok;
	int fd, rc = 1;

	if (parse_opts(argc, argv, &o) != 0) {
		fputs(sim_usage, stderr);
		return 2;
	}
	if (wire_init() != 0 || keys_load(o.keys_path, &keys, err, sizeof(err)) != 0) {
		fprintf(stderr, "chot-flood sim: keys: %s\n", err);
		return 2;
	}
	master = keys.master[0].key;
	o.p.key_id = keys.master[0].id;
	fd = open_socket(o.to);
	if (fd < 0)
		return 2;
	memset(&R, 0, sizeof(R));
	R.o = &o;
	R.tx.fd = fd;
	fl_rng_seed(&R.rng, o.seed);
	snprintf(R.ev.prefix, sizeof(R.ev.prefix), "%s",
		 o.prefix ? o.prefix : "");
	if (o.prefix == NULL)
		snprintf(R.ev.prefix, sizeof(R.ev.prefix), "SIM%08lx",
			 (unsigned long)(chot_real_ms() & 0xffffffffUL));
	R.ev.ev = calloc(o.events, sizeof(*R.ev.ev));
	R.devs = calloc(o.devices, sizeof(*R.devs));
	R.next_reboot_us = calloc(o.devices, sizeof(*R.next_reboot_us));
	if (R.ev.ev == NULL || R.devs == NULL || R.next_reboot_us == NULL)
		goto nomem;
	q_cap = (uint32_t)((o.events + o.devices - 1) / o.devices) + 1;
	for (i = 0; i < o.devices; i++)
		if (sim_dev_init(&R.devs[i], o.first_device + i, o.epoch_base, q_cap, &o.p,
				 master) != 0)
			goto nomem;
	keys_wipe(&keys);
	if (o.progress_s < 0)
		o.progress_s = tty ? 0.2 : 5;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	R.t0_us = chot_mono_us();
	deadline = R.t0_us + (uint64_t)(o.deadline_s * 1e6);
	for (i = 0; i < o.devices; i++)
		R.next_reboot_us[i] = o.reboot_rate > 0 ? R.t0_us + exp_us(&R.rng, o.reboot_rate)
						       : UINT64_MAX;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		now = chot_mono_us();
		recv_acks(&R, fd, now);
		generate(&R, now);
		devices_pass(&R, now);
		if (R.gen_done_us != 0 && R.acked == o.events) {
			R.all_acked_us = chot_mono_us();
			break;
		}
		if (now >= deadline || sim_stop)
			break;
		if (o.progress_s > 0 && now >= next_progress) {
			sim_progress(&R, now, tty, false);
			next_progress = now + (uint64_t)(o.progress_s * 1e6);
		}
		poll(&pfd, 1, 1);
	}
	now = chot_mono_us();
	ok = R.gen_done_us != 0 && R.acked == o.events;
	sim_progress(&R, now, tty, true);
	if (o.p.verdict_rate > 0)
		sim_verdict_summary(&R);
	if (!ok)
		fprintf(stderr, "chot-flood sim: %s with %lu of %u scans not acknowledged\n",
			sim_stop ? "stopped" : "deadline reached",
			(unsigned long)(R.ev.n - R.acked), R.ev.n);
	rc = ok ? 0 : 1;
	if (o.report != NULL && sim_write_report(&R, o.report, now, ok) != 0)
		rc = 1;
	if (o.events_out != NULL && sim_write_events(&R, o.events_out) != 0)
		rc = 1;
	goto out;
nomem:
	fputs("chot-flood sim: out of memory\n", stderr);
	rc = 2;
out:
	for (i = 0; R.devs != NULL && i < o.devices; i++)
		sim_dev_free(&R.devs[i]);
	free(R.devs);
	free(R.next_reboot_us);
	free(R.ev.ev);
	free(R.lat_us);
	close(fd);
	return rc;
}
