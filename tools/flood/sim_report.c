/*
 * chot-flood sim's reports: the progress line, the verdict summary on
 * stderr, the JSON report and the list of every scan (sim_run.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "sim_run.h"

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of the sorted latencies, in microseconds; -1 without any. */
static double
lat_pct(const struct sim_run *R, double q)
{
	size_t k;

	if (R->n_lat == 0)
		return -1;
	k = (size_t)(q * (double)R->n_lat + 0.999999);
	return (double)R->lat_us[(k ? k : 1) - 1];
}

void
sim_progress(struct sim_run *R, uint64_t now, bool tty, bool last)
{
	double el = (double)(now - R->t0_us) / 1e6;

	fprintf(stderr, "%ssim %6.1fs: created %u/%lu, acked %lu, outstanding %lu, "
		"retransmitted %lu, reboots %lu, stalls %lu%s",
		tty ? "\r\033[K" : "", el, R->ev.n, (unsigned long)R->o->events,
		(unsigned long)R->acked, (unsigned long)(R->ev.n - R->acked),
		(unsigned long)R->st.retransmissions, (unsigned long)R->st.reboots,
		(unsigned long)R->st.stalls, tty && !last ? "" : "\n");
}

/* The verdict summary on stderr, after the last progress line. */
void
sim_verdict_summary(struct sim_run *R)
{
	const struct sim_stats *s = &R->st;

	qsort(R->lat_us, R->n_lat, sizeof(*R->lat_us), u64_cmp);
	fprintf(stderr, "sim verdicts: requested %lu, received %lu, bad %lu, missing %lu; "
		"latency p50 %.0f us, p99 %.0f us; clear %lu, invalid %lu",
		(unsigned long)s->verdicts_requested, (unsigned long)s->verdicts_received,
		(unsigned long)s->verdicts_bad, (unsigned long)s->verdicts_missing,
		lat_pct(R, 0.50), lat_pct(R, 0.99), (unsigned long)s->verdict_code[0],
		(unsigned long)s->verdict_code[1]);
	for (int i = 0; i < CHK_NREASONS; i++)
		if (s->verdict_code[2 + i])
			fprintf(stderr, ", %s %lu", chk_reasons[i].name,
				(unsigned long)s->verdict_code[2 + i]);
	fputc('\n', stderr);
}

int
sim_write_report(struct sim_run *R, const char *path, uint64_t end, bool ok)
{
	const struct sim_opts *o = R->o;
	const struct sim_stats *s = &R->st;
	double el = (double)(end - R->t0_us) / 1e6;
	FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "chot-flood sim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fprintf(f, "{\"ok\": %s, \"devices\": %u, \"rate_target\": %.0f, \"events\": %u, "
		"\"events_acked\": %lu, \"events_outstanding\": %lu, ",
		ok ? "true" : "false", o->devices, o->rate, R->ev.n, (unsigned long)R->acked,
		(unsigned long)(R->ev.n - R->acked));
	fprintf(f, "\"batches_sent\": %lu, \"retransmissions\": %lu, \"datagrams_sent\": %lu, "
		"\"send_errors\": %lu, \"acks_received\": %lu, \"acks_bad\": %lu, "
		"\"acks_stale_epoch\": %lu, \"acks_no_progress\": %lu, ",
		(unsigned long)s->batches_sent, (unsigned long)s->retransmissions,
		(unsigned long)R->tx.datagrams, (unsigned long)R->tx.errors,
		(unsigned long)s->acks_received, (unsigned long)s->acks_bad,
		(unsigned long)s->acks_stale_epoch, (unsigned long)s->acks_no_progress);
	fprintf(f, "\"reboots\": %lu, \"stalls\": %lu, \"events_repacked\": %lu, "
		"\"old_epoch_replays\": %lu, \"pack_errors\": %lu, ",
		(unsigned long)s->reboots, (unsigned long)s->stalls,
		(unsigned long)s->events_repacked, (unsigned long)s->old_epoch_replays,
		(unsigned long)s->pack_errors);
	qsort(R->lat_us, R->n_lat, sizeof(*R->lat_us), u64_cmp);
	fprintf(f, "\"verdict_rate\": %g, \"verdicts_requested\": %lu, \"verdicts_received\": %lu, "
		"\"verdicts_bad\": %lu, \"verdicts_unmatched\": %lu, \"verdicts_missing\": %lu, "
		"\"verdict_latency_us\": {\"n\": %zu, \"p50\": %.0f, \"p99\": %.0f, \"max\": %.0f}, "
		"\"verdict_codes\": {\"clear\": %lu, \"invalid\": %lu",
		o->p.verdict_rate, (unsigned long)s->verdicts_requested,
		(unsigned long)s->verdicts_received, (unsigned long)s->verdicts_bad,
		(unsigned long)s->verdicts_unmatched, (unsigned long)s->verdicts_missing, R->n_lat,
		lat_pct(R, 0.50), lat_pct(R, 0.99), lat_pct(R, 1.0),
		(unsigned long)s->verdict_code[0], (unsigned long)s->verdict_code[1]);
	for (int i = 0; i < CHK_NREASONS; i++)
		fprintf(f, ", \"%s\": %lu", chk_reasons[i].name,
			(unsigned long)s->verdict_code[2 + i]);
	fprintf(f, "}, ");
	fprintf(f, "\"elapsed_s\": %.3f, \"create_s\": %.3f, \"drain_s\": %.3f, "
		"\"rate_achieved\": %.0f, \"prefix\": \"%s\", \"first_device\": %u}\n", el,
		R->gen_done_us ? (double)(R->gen_done_us - R->t0_us) / 1e6 : el,
		R->gen_done_us && R->all_acked_us ? (double)(R->all_acked_us - R->gen_done_us) / 1e6
						  : -1.0,
		R->gen_done_us ? R->ev.n / ((double)(R->gen_done_us - R->t0_us) / 1e6 + 1e-9) : 0.0,
		R->ev.prefix, o->first_device);
	if (f != stdout)
		fclose(f);
	return 0;
}

int
sim_write_events(const struct sim_run *R, const char *path)
{
	FILE *f = fopen(path, "w");
	char subj[WIRE_SUBJECT_MAX_NUL];
	uint32_t i;

	if (f == NULL) {
		fprintf(stderr, "chot-flood sim: %s: %s\n", path, strerror(errno));
		return -1;
	}
	fputs("# subject ts_ms site_id dir acked (scheme pccovid)\n", f);
	for (i = 0; i < R->ev.n; i++) {
		const struct sim_event *e = &R->ev.ev[i];

		sim_subject(subj, &R->ev, i);
		fprintf(f, "%s %lu %u %u %u\n", subj, (unsigned long)e->ts_ms, e->site_id, e->dir,
			e->acked);
	}
	return fclose(f) == 0 ? 0 : -1;
}
