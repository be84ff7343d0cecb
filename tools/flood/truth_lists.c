/*
 * The truth of the checkpoint loop (DESIGN §9): for every accepted batch that
 * requests a verdict, the exact verdict codes in event order, and for every
 * stored event with a reason, the exact alert.
 *
 * Each event is checked by check.c against the lists as drawn (draw.c),
 * looked up through the province's own per-subject indexes; nothing here is
 * shared with chotd's checker but the reason table of lists.h.  "Stored"
 * comes from truth.c's replay of the dedupe in arrival order: a semantic
 * duplicate gets a verdict (it is a valid event, checked like any other) but
 * no alert.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flood.h"
#include "validate.h"

struct alert_row {
	uint32_t scan;
	uint32_t device;
	uint16_t mask;
};

struct verdict_row {
	uint32_t frame;
};

static const struct fl_province *sort_p;

static uint16_t
scan_mask(const struct fl_province *p, const struct fl_scan *s)
{
	const struct fl_lists *l = &p->lists;
	const struct fl_subject *sub = &p->subj[s->subject];
	struct fl_check_in in = {
		.ts_ms = s->ts_ms, .site_id = s->site_id, .scheme = sub->scheme, .decl = s->decl,
		.passengers = s->passengers,
		.at_checkpoint = fl_site_kind(s->site_id, (void *)p) == KIND_CHECKPOINT,
	};

	if (l->drawn) {
		if (l->watch_of[s->subject] >= 0)
			in.watch = &l->watch[l->watch_of[s->subject]].e;
		in.zone = fl_zone_of(p, sub->commune);
		if (l->green_of[s->subject] >= 0)
			in.gl = &l->green[l->green_of[s->subject]].e;
	}
	/* No lists at all: no sticker is registered, every GREEN_LANE scan is unknown. */
	return fl_check(&in);
}

static int
alert_cmp(const void *a, const void *b)
{
	const struct alert_row *x = a, *y = b;
	const struct fl_scan *sx = &sort_p->scans[x->scan], *sy = &sort_p->scans[y->scan];
	int c = memcmp(sort_p->subj[sx->subject].pid, sort_p->subj[sy->subject].pid, PID_LEN);

	if (c != 0)
		return c;
	if (sx->ts_ms != sy->ts_ms)
		return sx->ts_ms < sy->ts_ms ? -1 : 1;
	if (sx->site_id != sy->site_id)
		return sx->site_id < sy->site_id ? -1 : 1;
	return (int)sx->dir - (int)sy->dir;
}

static int
verdict_cmp(const void *a, const void *b)
{
	const struct fl_frame *x = &sort_p->frames[((const struct verdict_row *)a)->frame];
	const struct fl_frame *y = &sort_p->frames[((const struct verdict_row *)b)->frame];

	if (x->device_id != y->device_id)
		return x->device_id < y->device_id ? -1 : 1;
	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
reasons_json(FILE *f, uint16_t mask)
{
	fputc('[', f);
	for (int i = 0, n = 0; i < CHK_NREASONS; i++)
		if (mask & (1u << i))
			fprintf(f, "%s\"%s\"", n++ ? ", " : "", chk_reasons[i].name);
	fputc(']', f);
}

int
fl_truth_lists_write(const struct fl_province *p, const uint8_t *stored, FILE *f, FILE *summary)
{
	struct alert_row *al = malloc(((size_t)p->n_scans + 1) * sizeof(*al));
	struct verdict_row *vr = malloc(((size_t)p->n_frames + 1) * sizeof(*vr));
	uint64_t code_n[CHK_NREASONS + 2] = { 0 }, reason_n[CHK_NREASONS] = { 0 };
	uint64_t v_events = 0;
	uint32_t n_al = 0, n_vr = 0;
	bool full = !p->o.counters_only;
	char hex[PID_HEX_LEN + 1];

	if (al == NULL || vr == NULL) {
		free(al);
		free(vr);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < p->n_frames; i++) {
		const struct fl_frame *fr = &p->frames[i];

		if (fr->reason != WIRE_OK)
			continue;
		if (fr->verdict)
			vr[n_vr++].frame = i;
		for (uint32_t k = 0; k < fr->n_scans; k++) {
			uint32_t si = p->batch_scans[fr->first_scan + k];
			const struct fl_scan *s = &p->scans[si];
			uint16_t m;

			if (s->bad) {
				if (fr->verdict) {
					code_n[CHK_NREASONS]++;
					v_events++;
				}
				continue;
			}
			m = scan_mask(p, s);
			if (fr->verdict) {
				int ci = m ? __builtin_ctz(m) : CHK_NREASONS + 1;

				code_n[ci]++;
				v_events++;
			}
			if (m != 0 && stored[si]) {
				al[n_al++] = (struct alert_row){ .scan = si, .device = fr->device_id,
								 .mask = m };
				for (int r = 0; r < CHK_NREASONS; r++)
					reason_n[r] += (m >> r) & 1;
			}
		}
	}
	sort_p = p;
	qsort(vr, n_vr, sizeof(*vr), verdict_cmp);
	qsort(al, n_al, sizeof(*al), alert_cmp);

	fprintf(f, " \"lists\": {\"drawn\": %s, \"watch\": %u, \"zones\": %u, \"greenlane\": %u, "
		   "\"verdict_rate\": %g, \"verdict_batches\": %u, \"verdict_events\": %llu, "
		   "\"alerts\": %u, \"verdict_codes\": {",
		p->lists.drawn ? "true" : "false", p->lists.n_watch, p->lists.n_zones,
		p->lists.n_green, p->o.verdict_rate, n_vr, (unsigned long long)v_events, n_al);
	fprintf(f, "\"%d\": %llu, \"%d\": %llu", CHK_CLEAR,
		(unsigned long long)code_n[CHK_NREASONS + 1], CHK_INVALID,
		(unsigned long long)code_n[CHK_NREASONS]);
	for (int r = 0; r < CHK_NREASONS; r++)
		fprintf(f, ", \"%u\": %llu", chk_reasons[r].code, (unsigned long long)code_n[r]);
	fprintf(f, "}, \"alert_reasons\": {");
	for (int r = 0; r < CHK_NREASONS; r++)
		fprintf(f, "%s\"%s\": %llu", r ? ", " : "", chk_reasons[r].name,
			(unsigned long long)reason_n[r]);
	fprintf(f, "}},\n \"verdicts\": [");
	for (uint32_t i = 0; full && i < n_vr; i++) {
		const struct fl_frame *fr = &p->frames[vr[i].frame];

		fprintf(f, "%s\n  {\"device\": %u, \"epoch\": %u, \"seq\": %llu, \"codes\": [",
			i ? "," : "", fr->device_id, fr->epoch, (unsigned long long)fr->seq);
		for (uint32_t k = 0; k < fr->n_scans; k++) {
			const struct fl_scan *s = &p->scans[p->batch_scans[fr->first_scan + k]];

			fprintf(f, "%s%u", k ? ", " : "",
				s->bad ? CHK_INVALID : chk_verdict_code(scan_mask(p, s)));
		}
		fprintf(f, "]}");
	}
	fprintf(f, "\n ],\n \"alerts\": [");
	for (uint32_t i = 0; full && i < n_al; i++) {
		const struct fl_scan *s = &p->scans[al[i].scan];
		const struct fl_subject *sub = &p->subj[s->subject];

		chot_pid_hex(hex, sub->pid);
		fprintf(f, "%s\n  {\"pid\": \"%s\", \"site\": %u, \"ts_ms\": %llu, \"scheme\": \"%s\", "
			   "\"device\": %u, \"origin_commune\": %u, \"reasons\": ",
			i ? "," : "", hex, s->site_id, (unsigned long long)s->ts_ms,
			wire_scheme_name(sub->scheme), al[i].device, sub->commune);
		reasons_json(f, al[i].mask);
		fputc('}', f);
	}
	fprintf(f, "\n ]\n");
	if (summary != NULL && (p->lists.drawn || n_vr > 0)) {
		fprintf(summary, "lists: %u watch, %u zones, %u green lane; %u batches request a "
				 "verdict (%llu events); %u alerts:",
			p->lists.n_watch, p->lists.n_zones, p->lists.n_green, n_vr,
			(unsigned long long)v_events, n_al);
		for (int r = 0; r < CHK_NREASONS; r++)
			if (reason_n[r])
				fprintf(summary, " %s %llu", chk_reasons[r].name,
					(unsigned long long)reason_n[r]);
		fputc('\n', summary);
	}
	free(al);
	free(vr);
	return 0;
}
