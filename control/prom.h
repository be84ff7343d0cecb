/*
 * chotd's telemetry as Prometheus text exposition format 0.0.4 (DESIGN §10),
 * what `chotctl stats --prometheus` prints and a /metrics page serves.
 *
 * Families, each with # HELP and # TYPE, each written once:
 *
 *   chot_<counter>_total                 /chot/stats, summed over lcores
 *   chot_events_pending                  ... its gauges keep the plain name
 *   chot_worker_<key>[_total]{worker=}   /chot/workers, one series per worker
 *   chot_reasons_total{counter=,reason=} /chot/reasons ("counter.reason")
 *   chot_alert_reasons_total{reason=}    /chot/alerts, when chotd has it
 *
 * The unlabelled chot_<counter>_total is chotd's own /chot/stats value, so
 * a query for it equals what `chotctl stats` prints; per-worker series are a
 * family of their own (summing them never double-counts the total, and the
 * RX lcore's share, not_ours for instance, stays in the total).
 *
 * Counters and gauges are told apart, and described, by one table in prom.c;
 * a key the table does not know is written as `untyped` under its plain name
 * (a newer chotd still scrapes; the test suite fails until it is described).
 * Pure: writes to a FILE, no sockets.
 */
#ifndef CHOT_CTL_PROM_H
#define CHOT_CTL_PROM_H

#include <stdbool.h>
#include <stdio.h>

#include "tel.h"

struct prom_input {
	const struct ctl_tel_dict *stats;    /* /chot/stats, or NULL */
	const struct ctl_tel_dict *workers;  /* /chot/workers: one dict per worker */
	size_t n_workers;
	const struct ctl_tel_dict *reasons;  /* /chot/reasons, or NULL */
	const struct ctl_tel_dict *alerts;   /* /chot/alerts, or NULL */
};

/* Write the exposition text.  0, or -EIO when the stream failed. */
int prom_write(FILE *f, const struct prom_input *in);

/* Is key a /chot/stats or /chot/workers field the HELP table describes? */
bool prom_known(const char *key);

/* Label value escaping of the format: \ -> \\, " -> \", newline -> \n. */
void prom_label_value(FILE *f, const char *s);

#endif /* CHOT_CTL_PROM_H */
