/*
 * chotctl stats --prometheus [--out FILE]: one scrape of chotd's telemetry
 * (/chot/stats, /chot/workers, /chot/reasons, and /chot/alerts when this
 * chotd has it) written as Prometheus text (prom.c).
 *
 * --out FILE is for node_exporter's textfile collector, which may read the
 * directory at any moment: the text goes to a temporary file beside FILE
 * (FILE.tmp.XXXXXX, a name the collector ignores since it does not end in
 * .prom), is flushed to disk, made world-readable (node_exporter runs as its
 * own user) and renamed over FILE, so a reader sees the old scrape or the
 * new one, never half of one.  When chotd cannot be read nothing is
 * written: FILE keeps the last good scrape and node_textfile_mtime_seconds
 * says how old it is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "prom.h"
#include "stats_prom.h"
#include "tel.h"

static const char *const tel_cmds[] = { "/chot/stats", "/chot/workers", "/chot/reasons",
					"/chot/alerts" };
enum { Q_STATS, Q_WORKERS, Q_REASONS, Q_ALERTS, Q__COUNT };

static int
scrape(struct ctl_app *app, const char *prefix, struct ctl_tel_reply r[Q__COUNT])
{
	static char buf[CTL_TEL_REPLY_MAX];

	for (int q = 0; q < Q__COUNT; q++) {
		int rc = ctl_tel_query(prefix, tel_cmds[q], buf, sizeof(buf));

		if (rc != 0)
			return ctl_fail(app, CTL_UNAVAILABLE, "no chotd telemetry at "
					"/var/run/dpdk/%s/dpdk_telemetry.v2 (%s): %s", prefix,
					tel_cmds[q], strerror(-rc));
		rc = ctl_tel_parse(buf, &r[q]);
		if (rc != 0)
			return ctl_fail(app, CTL_UNAVAILABLE, "unexpected %s reply: %.80s",
					tel_cmds[q], buf);
	}
	/* /chot/stats is the contract: an empty one is not a chotd. */
	if (r[Q_STATS].n != 1 || r[Q_STATS].d[0].n == 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s returned no counters", tel_cmds[Q_STATS]);
	return 0;
}

static int
write_file(struct ctl_app *app, const char *path, const struct prom_input *in)
{
	size_t len = strlen(path) + sizeof(".tmp.XXXXXX");
	char *tmp = malloc(len);
	FILE *f;
	int fd, rc;

	if (tmp == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	snprintf(tmp, len, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rc = ctl_fail(app, CTL_USAGE, "--out %s: cannot create %s: %s", path, tmp,
			      strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return rc;
	}
	rc = prom_write(f, in);
	if (rc == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0) {
		unlink(tmp);
		rc = ctl_fail(app, CTL_USAGE, "--out %s: %s", path, strerror(-rc));
	}
	free(tmp);
	return rc;
}

int
ctl_stats_prometheus(struct ctl_app *app, const char *prefix, const char *out_path)
{
	struct ctl_tel_reply r[Q__COUNT];
	struct prom_input in;
	int rc;

	memset(r, 0, sizeof(r));
	rc = scrape(app, prefix, r);
	if (rc == 0) {
		in = (struct prom_input){
			.stats = &r[Q_STATS].d[0],
			.workers = r[Q_WORKERS].d,
			.n_workers = r[Q_WORKERS].n,
			.reasons = r[Q_REASONS].n ? &r[Q_REASONS].d[0] : NULL,
			.alerts = r[Q_ALERTS].n ? &r[Q_ALERTS].d[0] : NULL,
		};
		if (out_path != NULL)
			rc = write_file(app, out_path, &in);
		else if (prom_write(app->o, &in) != 0)
			rc = ctl_fail(app, CTL_UNAVAILABLE, "writing the metrics: %s", strerror(EIO));
	}
	for (int q = 0; q < Q__COUNT; q++)
		ctl_tel_free(&r[q]);
	return rc;
}
