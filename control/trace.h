/*
 * The trace engine (DESIGN §5): F0's visits, then F1, then F2, exactly per
 * control/rules.h, over a data source that answers two batched questions:
 * "the scans of these subjects in [from, to]" (their timelines) and "the
 * scans at these (site, block) buckets" (presence).  chotctl's source asks
 * Redis with one pipelined round per question; tests use an in-memory one.
 *
 * Exactness.  Let S = RULES_MAX_STAY_MS (the longest IN/OUT pair) and
 * D = rules_max_dwell_ms() (the longest lone interval, D <= S).  An interval
 * [c, d] of B's that meets F0's [a, b] with window w has c <= b + w and
 * d >= a - w, so a pair starts at c >= a - w - S and a lone scan lies in
 * [a - w - D, b + w].  Pairing is local (an OUT pairs with the scan right
 * before it, if that is an IN at most S earlier), so reading every bucket in
 * [a - w - D - S, b + w + S] gives each of those scans its true neighbours.
 * An interval built wrongly at the edge of the fetched range (a neighbour
 * unread) is a lone scan either starting after b + w (an IN whose OUT lies
 * beyond the range) or ending before a - w (an OUT whose IN lies before it):
 * it cannot meet [a, b].  Buckets read for other probes only add true
 * neighbours.
 */
#ifndef CHOT_TRACE_H
#define CHOT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pseudonym.h"
#include "rules.h"

struct tr_scan {
	uint8_t pid[PID_LEN];
	uint64_t ts_ms;
	uint32_t site_id;
	uint8_t dir;
};

struct tr_scanvec {
	struct tr_scan *v;
	size_t n, cap;
};

struct tr_bucket {
	uint32_t site_id;
	uint32_t block;    /* layout_block(): 4 hours */
};

/* Bucket i has been answered in full; 0, or -errno to stop the source. */
typedef int (*tr_bucket_done_fn)(void *arg, size_t i);

struct tr_source {
	/* Append every scan of the n subjects with from <= ts <= to. 0 or -errno. */
	int (*timelines)(void *ctx, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from,
			 uint64_t to, struct tr_scanvec *out);
	/*
	 * Append every scan stored in the n (site, block) buckets, bucket after
	 * bucket in the order given, calling done(arg, i) (when not NULL) once
	 * bucket i's scans are all in `out`, so the engine can work on a site
	 * while the next ones are still on the wire.  A bucket's scans come in
	 * any order, and as stored: exact duplicates (proto/layout.h) included;
	 * the engine drops them (tr_result.dup_scans).  done() may replace
	 * out's storage (it takes the scans so far): append through `out`, and
	 * keep no pointer into out->v across a done() call.  0, done's error,
	 * or -errno.
	 */
	int (*site_blocks)(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out,
			  tr_bucket_done_fn done, void *arg);
	/* Site kinds (dwell), may be NULL.  May be called on another thread while
	 * site_blocks() runs (tr_query.threads): it must only read. */
	rules_kind_fn kind;
	/*
	 * May be NULL.  Called with the n distinct sites (ascending) of every
	 * batch of timelines before kind() is asked about any of them, so a
	 * source can read just those sites' kinds and names (every site a trace
	 * probes or reports is one of them).  0 or -errno (stops the trace).
	 */
	int (*sites)(void *ctx, const uint32_t *ids, size_t n);
	void *ctx;
};

struct tr_query {
	uint8_t pid[PID_LEN];
	uint64_t from_ms, to_ms;
	uint64_t window_ms, min_overlap_ms;
	int depth;            /* 1 or 2 */
	/*
	 * Threads: 1 reads and probes on the calling thread; 2 probes a last
	 * pass on a second thread while the calling one reads; 0 (the default)
	 * is 2 for a big pass when a second CPU is online, else 1.
	 */
	unsigned threads;
	size_t batch_scans;   /* scans handed to the probing thread at a time; 0: default */
};

struct tr_contact {
	uint8_t pid[PID_LEN];
	uint8_t via[PID_LEN];   /* F2: the F1 it met */
	int degree;
	uint32_t site_id;
	uint64_t overlap_ms;
	uint64_t first_ms;
	uint64_t contact_ms;    /* max(a, c) of the best contact (tie-break) */
};

struct tr_result {
	struct rules_interval *visits;
	size_t n_visits;
	struct tr_contact *contacts;  /* ranked */
	size_t n_contacts;
	uint64_t dup_scans;           /* exact duplicate presence scans dropped (site_blocks) */
};

int tr_scanvec_push(struct tr_scanvec *v, const struct tr_scan *s);
/* Room for n more scans at v->v[v->n...]. 0 or -ENOMEM. */
int tr_scanvec_reserve(struct tr_scanvec *v, size_t n);
void tr_scanvec_free(struct tr_scanvec *v);

/* Run a trace. 0, or -errno from the source / -ENOMEM. */
int tr_run(const struct tr_source *src, const struct tr_query *q, struct tr_result *out);
void tr_result_free(struct tr_result *r);

/* Rank contacts: overlap desc, degree asc, first_ms asc, pid asc. */
void tr_rank(struct tr_contact *c, size_t n);

#endif /* CHOT_TRACE_H */
