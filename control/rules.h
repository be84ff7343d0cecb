/*
 * Exposure rules (DESIGN §5), as pure functions shared by chotctl's trace and
 * chot-flood's brute-force truth.  No Redis, no I/O.
 *
 * Visit intervals.  A subject's scans at one site, sorted by (ts, dir), are
 * read left to right: an IN whose very next scan at that site is an OUT no
 * more than RULES_MAX_STAY_MS later forms one interval [t_in, t_out] (both
 * scans consumed).  Every other scan is a lone scan [ts, ts + dwell], where
 * dwell is 5 min for PASS and otherwise the site's kind dwell (60 min unless a
 * registered kind says otherwise; see rules_kind_dwell_ms()).
 *
 * Window.  A trace over [from, to] (to = --until, from = to - days) only ever
 * looks at scans with from <= ts <= to, for every subject alike: intervals are
 * built from those scans only.
 *
 * Contact.  B's interval [c, d] meets A's [a, b] at the same site with window
 * w when c <= b + w and a - w <= d.  overlap = max(0, min(b, d) - max(a, c)).
 * With --min-overlap m, a meeting counts as a contact only when overlap >= m.
 *
 * F1 = subjects other than F0 with a contact with one of F0's intervals.
 * For each F1, t1 = the smallest start c of its intervals in contact with F0.
 * F2 = subjects other than F0 and the F1s with a contact with an interval of
 * some F1 whose start is >= that F1's t1.
 *
 * One entry per subject: its best contact (largest overlap; ties: earliest
 * contact time max(a, c), then smaller site id, then smaller `via` pid).
 * first_ms = the earliest max(a, c) over all its contacts (of its degree).
 * Ranking: overlap desc, degree asc, first_ms asc, pid asc.
 */
#ifndef CHOT_RULES_H
#define CHOT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_DWELL_PASS_MS    (5ULL * 60 * 1000)
#define RULES_DWELL_DEFAULT_MS (60ULL * 60 * 1000)
#define RULES_MAX_STAY_MS      (6ULL * 60 * 60 * 1000)
#define RULES_WINDOW_DEFAULT_MS (15ULL * 60 * 1000)

enum site_kind {
	KIND_UNKNOWN = 0,  /* not registered: default dwell */
	KIND_CHECKPOINT,
	KIND_VENUE,
	KIND_MARKET,
	KIND_TESTING,
	KIND_OTHER,
	KIND__COUNT,
};

struct rules_scan {
	uint64_t ts_ms;
	uint32_t site_id;
	uint8_t dir;         /* enum scan_dir */
};

struct rules_interval {
	uint32_t site_id;
	uint64_t from_ms;
	uint64_t to_ms;
};

/* Dwell of a lone non-PASS scan at a site of this kind. */
uint64_t rules_kind_dwell_ms(enum site_kind kind);
/* The longest lone-scan dwell of any kind (PASS included): bounds a lone interval. */
uint64_t rules_max_dwell_ms(void);
/* "checkpoint" ... "other" -> kind; KIND_UNKNOWN when not a kind name. */
enum site_kind rules_kind_from_name(const char *name);
const char *rules_kind_name(enum site_kind kind);

/* Kind of a site, or KIND_UNKNOWN; NULL lookup = every site unknown. */
typedef enum site_kind (*rules_kind_fn)(uint32_t site_id, void *ctx);

/*
 * Build intervals from n scans of ONE subject (any sites, any order; the
 * array is sorted in place by site, ts, dir).  Writes at most n intervals to
 * out, sorted by (site, from); returns how many.
 */
size_t rules_intervals(struct rules_scan *scans, size_t n, rules_kind_fn kind, void *ctx,
		       struct rules_interval *out);

/* Contact predicate; *overlap_ms (may be NULL) gets the overlap. Sites must match. */
bool rules_contact(const struct rules_interval *a, const struct rules_interval *b,
		   uint64_t window_ms, uint64_t min_overlap_ms, uint64_t *overlap_ms);

#endif /* CHOT_RULES_H */
