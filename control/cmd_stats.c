/*
 * chotctl stats: the dataplane counters, read over DPDK's own telemetry
 * socket (/var/run/dpdk/PREFIX/dpdk_telemetry.v2, the one
 * dpdk-telemetry.py -f PREFIX uses), with the two accounting identities of
 * DESIGN §3 checked.  --watch redraws once a second with rates;
 * --prometheus prints the same as Prometheus text (stats_prom.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "ctl.h"
#include "stats_prom.h"
#include "tel.h"

#define MAX_CTR 128

struct counters {
	size_t n;
	char name[MAX_CTR][48];
	unsigned long long v[MAX_CTR];
};

static const char stats_usage[] = "usage: chotctl stats [--prefix P] [--watch]\n"
	"       chotctl stats [--prefix P] --prometheus [--out FILE]\n";
static volatile sig_atomic_t stop;

static void
on_int(int sig)
{
	(void)sig;
	stop = 1;
}

/* Read the flat {"/chot/stats": {"k": n, ...}} reply. */
static int
parse_flat(const char *s, struct counters *c)
{
	const char *p = strchr(s, '{');

	c->n = 0;
	if (p == NULL || (p = strchr(p + 1, '{')) == NULL)
		return -EINVAL;
	while ((p = strchr(p, '"')) != NULL && c->n < MAX_CTR) {
		const char *q = strchr(p + 1, '"');
		char *end;

		if (q == NULL || (size_t)(q - p - 1) >= sizeof(c->name[0]))
			return -EINVAL;
		memcpy(c->name[c->n], p + 1, (size_t)(q - p - 1));
		c->name[c->n][q - p - 1] = '\0';
		p = q + 1;
		while (*p == ' ' || *p == ':')
			p++;
		c->v[c->n] = strtoull(p, &end, 10);
		if (end != p)
			c->n++;
		p = end;
	}
	return c->n > 0 ? 0 : -EINVAL;
}

/* The socket client is tel.c's, shared with --prometheus. */
static int
query(const char *prefix, const char *cmd, char *buf, size_t len)
{
	return ctl_tel_query(prefix, cmd, buf, len);
}

static unsigned long long
get(const struct counters *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->v[i];
	return 0;
}

static void
identities(FILE *f, const struct counters *c)
{
	unsigned long long rx = get(c, "rx_packets"), ev = get(c, "events_decoded");
	unsigned long long rx_sum = get(c, "not_ours") + get(c, "bad_header") + get(c, "bad_tag") +
				    get(c, "stale_epoch") + get(c, "replayed") +
				    get(c, "decode_errors") + get(c, "batches_accepted");
	unsigned long long ev_sum = get(c, "bad_events") + get(c, "dup_scans") +
				    get(c, "events_stored") + get(c, "events_pending") +
				    get(c, "events_dropped");

	fprintf(f, "rx_packets %llu %s sum of frame outcomes %llu\n", rx, rx == rx_sum ? "==" : "!=",
		rx_sum);
	fprintf(f, "events_decoded %llu %s sum of event outcomes %llu\n", ev,
		ev == ev_sum ? "==" : "!=", ev_sum);
}

int
cmd_stats(struct ctl_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' }, { "watch", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "prometheus", no_argument, NULL, 'P' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prefix = "rte";
	bool watch = false;
	bool prometheus = false;
	const char *out_path = NULL;
	struct counters cur, prev = { 0 };
	static char buf[65536];
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prefix = optarg; break;
		case 'w': watch = true; break;
		case 'h': fputs(stats_usage, stdout); return 0;
		case 'P': prometheus = true; break;
		case 'o': out_path = optarg; break;
		default: fputs(stats_usage, stderr); return CTL_USAGE;
		}
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (out_path != NULL && !prometheus)
		return ctl_fail(app, CTL_USAGE, "stats: --out goes with --prometheus");
	if (prometheus && watch)
		return ctl_fail(app, CTL_USAGE, "stats: --prometheus is one scrape; Prometheus "
				"does the watching");
	if (prometheus)
		return ctl_stats_prometheus(app, prefix, out_path);
	signal(SIGINT, on_int);
	do {
		rc = query(prefix, "/chot/stats", buf, sizeof(buf));
		if (rc != 0)
			return ctl_fail(app, CTL_UNAVAILABLE, "no chotd telemetry at "
					"/var/run/dpdk/%s/dpdk_telemetry.v2: %s", prefix, strerror(-rc));
		if (parse_flat(buf, &cur) != 0)
			return ctl_fail(app, CTL_UNAVAILABLE, "unexpected telemetry reply: %.80s", buf);
		if (app->out == OUT_JSON) {
			fputs("{\"stats\": {", app->o);
			for (size_t i = 0; i < cur.n; i++)
				fprintf(app->o, "%s\"%s\": %llu", i ? ", " : "", cur.name[i], cur.v[i]);
			fputs("}}\n", app->o);
		} else if (app->out == OUT_CSV) {
			/* RFC 4180 like every --csv; with --watch one header, then
			 * each round's rows. */
			if (prev.n == 0)
				fputs("counter,value\r\n", app->o);
			for (size_t i = 0; i < cur.n; i++)
				fprintf(app->o, "%s,%llu\r\n", cur.name[i], cur.v[i]);
		} else {
			if (watch)
				fputs("\033[H\033[2J", app->o);
			for (size_t i = 0; i < cur.n; i++) {
				fprintf(app->o, "%-36s %14llu", cur.name[i], cur.v[i]);
				if (watch && prev.n == cur.n)
					fprintf(app->o, "  %10llu/s", cur.v[i] - prev.v[i]);
				fputc('\n', app->o);
			}
			identities(app->o, &cur);
		}
		fflush(app->o);
		prev = cur;
		if (watch)
			sleep(1);
	} while (watch && !stop);
	return 0;
}
