/*
 * chotctl stats --prometheus (stats_prom.c): chotd's telemetry as
 * Prometheus text, on stdout or atomically into a file.
 */
#ifndef CHOT_CTL_STATS_PROM_H
#define CHOT_CTL_STATS_PROM_H

struct ctl_app;

/*
 * Scrape the chotd of file-prefix `prefix` and print it (out_path NULL) or
 * write it to out_path through a temporary file and rename.  Returns an exit
 * code: 0, CTL_UNAVAILABLE (no or odd chotd), CTL_USAGE (cannot write FILE).
 */
int ctl_stats_prometheus(struct ctl_app *app, const char *prefix, const char *out_path);

#endif /* CHOT_CTL_STATS_PROM_H */
