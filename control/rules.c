/*
 * Exposure rules (DESIGN §5): the visit-interval builder and the contact
 * predicate.  See rules.h for the definitions; this file is their only
 * implementation, used by chotctl's indexed trace and by chot-flood's
 * brute-force truth alike, so the two can only disagree on *which* scans they
 * look at, never on what a visit or a contact is.
 *
 * Pure: no allocation, no I/O.
 */
#include <stdlib.h>
#include <string.h>

#include "rules.h"
#include "validate.h"

static const struct {
	const char *name;
	uint64_t dwell_ms;
} kinds[KIND__COUNT] = {
	[KIND_UNKNOWN]    = { "unknown",    RULES_DWELL_DEFAULT_MS },
	[KIND_CHECKPOINT] = { "checkpoint", RULES_DWELL_PASS_MS },
	[KIND_VENUE]      = { "venue",      RULES_DWELL_DEFAULT_MS },
	[KIND_MARKET]     = { "market",     RULES_DWELL_DEFAULT_MS },
	[KIND_TESTING]    = { "testing",    30ULL * 60 * 1000 },
	[KIND_OTHER]      = { "other",      RULES_DWELL_DEFAULT_MS },
};

uint64_t
rules_kind_dwell_ms(enum site_kind kind)
{
	if ((unsigned)kind >= KIND__COUNT)
		kind = KIND_UNKNOWN;
	return kinds[kind].dwell_ms;
}

uint64_t
rules_max_dwell_ms(void)
{
	uint64_t m = RULES_DWELL_PASS_MS;

	for (unsigned k = 0; k < KIND__COUNT; k++)
		if (kinds[k].dwell_ms > m)
			m = kinds[k].dwell_ms;
	return m;
}

enum site_kind
rules_kind_from_name(const char *name)
{
	for (unsigned k = KIND_CHECKPOINT; k < KIND__COUNT; k++)
		if (name != NULL && strcmp(name, kinds[k].name) == 0)
			return (enum site_kind)k;
	return KIND_UNKNOWN;
}

const char *
rules_kind_name(enum site_kind kind)
{
	if ((unsigned)kind >= KIND__COUNT)
		kind = KIND_UNKNOWN;
	return kinds[kind].name;
}

static int
scan_cmp(const void *pa, const void *pb)
{
	const struct rules_scan *a = pa, *b = pb;

	if (a->site_id != b->site_id)
		return a->site_id < b->site_id ? -1 : 1;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	/* Same instant: IN sorts before OUT so a zero-length stay still pairs. */
	return (int)a->dir - (int)b->dir;
}

static uint64_t
lone_dwell(const struct rules_scan *s, rules_kind_fn kind, void *ctx)
{
	if (s->dir == DIR_PASS)
		return RULES_DWELL_PASS_MS;
	return rules_kind_dwell_ms(kind != NULL ? kind(s->site_id, ctx) : KIND_UNKNOWN);
}

size_t
rules_intervals(struct rules_scan *scans, size_t n, rules_kind_fn kind, void *ctx,
		struct rules_interval *out)
{
	size_t i = 0, m = 0;

	if (n > 16) {
		qsort(scans, n, sizeof(*scans), scan_cmp);
	} else {
		/* A subject's few scans at a site, usually in order already. */
		for (size_t k = 1; k < n; k++) {
			struct rules_scan x = scans[k];
			size_t j = k;

			for (; j > 0 && scan_cmp(&scans[j - 1], &x) > 0; j--)
				scans[j] = scans[j - 1];
			scans[j] = x;
		}
	}

	while (i < n) {
		const struct rules_scan *s = &scans[i];
		const struct rules_scan *next = i + 1 < n ? &scans[i + 1] : NULL;

		out[m].site_id = s->site_id;
		out[m].from_ms = s->ts_ms;
		if (s->dir == DIR_IN && next != NULL && next->site_id == s->site_id &&
		    next->dir == DIR_OUT && next->ts_ms - s->ts_ms <= RULES_MAX_STAY_MS) {
			out[m].to_ms = next->ts_ms;
			i += 2;
		} else {
			out[m].to_ms = s->ts_ms + lone_dwell(s, kind, ctx);
			i += 1;
		}
		m++;
	}
	return m;
}

bool
rules_contact(const struct rules_interval *a, const struct rules_interval *b,
	      uint64_t window_ms, uint64_t min_overlap_ms, uint64_t *overlap_ms)
{
	uint64_t lo, hi, ov;

	if (a->site_id != b->site_id)
		return false;
	/* c <= b + w  and  a - w <= d, written without unsigned underflow. */
	if (b->from_ms > a->to_ms + window_ms || a->from_ms > b->to_ms + window_ms)
		return false;
	lo = a->from_ms > b->from_ms ? a->from_ms : b->from_ms;
	hi = a->to_ms < b->to_ms ? a->to_ms : b->to_ms;
	ov = hi > lo ? hi - lo : 0;
	if (ov < min_overlap_ms)
		return false;
	if (overlap_ms != NULL)
		*overlap_ms = ov;
	return true;
}
