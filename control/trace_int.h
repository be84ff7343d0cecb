/*
 * Internals shared by the trace engine's files (not part of trace.h's
 * contract): big-array memory, the subject table, the ranking.
 *
 *   trace_store.c  huge-page arrays, tr_scanvec, the subject table
 *   trace_rank.c   tr_rank() (the output order)
 *   trace_fetch.c  what is read from the source: the buckets a set of probes
 *                  needs (minus those already read), the presence cache,
 *                  timelines grouped by subject
 *   trace_probe.c  one site's probing: scans grouped by pid, intervals,
 *                  contacts recorded in the subject table
 *   trace_pipe.c   a last pass read on the calling thread and probed on
 *                  another, batch by batch
 *   trace.c        the logic: F0's visits, F1 then F2, the ranked result
 */
#ifndef CHOT_TRACE_INT_H
#define CHOT_TRACE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "trace.h"

/*
 * Big arrays (a depth-2 trace holds millions of presence scans and tens of
 * thousands of subjects) are mapped with transparent huge pages and grown
 * with mremap; small ones stay on malloc.  The byte size decides which, so
 * the owner passes it back: tr_mem_grow(p, old, new) is realloc (NULL with
 * p untouched on failure), tr_mem_free(p, bytes) is free.
 */
#define TR_MEM_BIG (1UL << 20)   /* at least this many bytes: mmap'd */
void *tr_mem_grow(void *p, size_t old_bytes, size_t new_bytes);
void tr_mem_free(void *p, size_t bytes);

/*
 * Records live in a dense array (appended; moved only by growing it); the
 * open-addressing index holds their numbers with 32 bits of the hash, so
 * growing it touches 8 bytes a slot instead of a whole record, and a probe
 * past another pid rarely reads that pid's record (a depth-2 trace meets most
 * of a province: tens of thousands of subjects).
 *
 * A record is one cache line (64 bytes; the big arrays are page-aligned):
 * a depth-2 trace at 1 M citizens looks subjects up ~1.3 M times at random
 * in ~700k records, and each lookup waits on memory.  It holds the subject's
 * best contact so far (the tr_contact it becomes, without a second copy of
 * the pid and degree); an F1's t1 shares room with via, which only an F2 has.
 */
struct tr_subj {
	uint8_t pid[PID_LEN];
	union {
		uint8_t via[PID_LEN];   /* F2: the F1 of its best contact */
		uint64_t t1;            /* F1: earliest start of an interval in contact with F0 */
	};
	uint64_t overlap_ms, first_ms, contact_ms;   /* as in tr_contact */
	uint32_t site_id;
	uint8_t degree;      /* 0 none, 1 F1, 2 F2, 3 F0 */
};
_Static_assert(sizeof(struct tr_subj) == 64, "a subject record is one cache line");

struct tr_subjmap {
	struct tr_subj *s;   /* s[0..n) */
	size_t n, cap_s;
	uint64_t *slot;      /* hash tag << 32 | (record number + 1); 0 = empty */
	size_t cap;          /* slots, a power of two */
};

static inline uint64_t
tr_pid_hash(const uint8_t pid[PID_LEN])
{
	uint64_t h;

	memcpy(&h, pid, sizeof(h));   /* a pid is already a keyed hash; mix for test pids */
	return (h ^ (h >> 29)) * 0x9e3779b97f4a7c15ULL;
}

/* The record of pid, created (zeroed, degree 0) if new; NULL on ENOMEM.
 * Pointers stay valid until the next tr_subj_get(). */
struct tr_subj *tr_subj_get(struct tr_subjmap *m, const uint8_t pid[PID_LEN]);
/* The record of pid, or NULL. */
struct tr_subj *tr_subj_find(const struct tr_subjmap *m, const uint8_t pid[PID_LEN]);
void tr_subjmap_free(struct tr_subjmap *m);

/* Write the n contacts *src[0..n) to out[0..n) in tr_rank() order. 0 or -ENOMEM. */
int tr_rank_gather(const struct tr_contact *const *src, size_t n, struct tr_contact *out);

/* A 16-byte ranking key (trace_rank.c). */
struct tr_rkey {
	uint64_t a, b;
};

/*
 * Write c[0..n) to out[0..n) in tr_rank() order, sorting packed keys in
 * work[0..2n) (the caller's memory: the subject table's tail, already
 * faulted in).  Needs every overlap and every first_ms - base_ms to fit 32
 * bits and fewer than 2^24 contacts: false (nothing written) otherwise.
 * `two`: on two threads, each sorting half the keys and gathering half the
 * output (the same order; on one thread if a second cannot start).
 */
bool tr_rank_packed(const struct tr_contact *c, size_t n, uint64_t base_ms, struct tr_rkey *work,
		    struct tr_contact *out, bool two);

/* --- the trace state (trace.c and trace_fetch.c) --- */

/* An interval of F0 or of an F1 that others are checked against. */
struct tr_probe {
	struct rules_interval iv;
	uint8_t owner[PID_LEN];   /* F0 or the F1 */
};

/* A run of presence scans from one fetch: grouped by site (ascending). */
#define TR_MAX_CHUNKS 4
struct tr_chunk {
	size_t lo, hi;
};

struct tracer {
	const struct tr_source *src;
	const struct tr_query *q;
	struct tr_subjmap subj;
	uint64_t *fetched;            /* buckets read: site << 32 | block, ascending */
	size_t n_fetched;
	struct tr_scanvec presence;   /* every fetched presence scan, chunk after chunk */
	struct tr_chunk chunks[TR_MAX_CHUNKS];
	size_t n_chunks;
	size_t fresh_chunk;           /* chunks from here on are probed for the first time */
	uint64_t dup_scans;
};

/*
 * Scratch memory reused across the sites of one probing pass
 * (trace_probe.c); NULL from tr_scratch_new() on ENOMEM.
 */
struct tr_scratch;
struct tr_scratch *tr_scratch_new(void);
void tr_scratch_free(struct tr_scratch *x);

/* The scans of one site: a span per chunk that holds some, and maybe one of
 * a batch being probed (trace_pipe.c). */
struct tr_span {
	const struct tr_scan *v;
	size_t n;
};

struct tr_site_scans {
	struct tr_span span[TR_MAX_CHUNKS + 1];
	size_t n_spans;
	size_t fresh;      /* span[fresh..n_spans) are probed for the first time */
	size_t total;      /* scans in all spans */
};

/*
 * Every subject with scans ss at the site of p[0..np) (probes at one site,
 * sorted by start) checked against them and recorded at `degree` in
 * t->subj; excluded: F0, and at degree 2 every F1.  0 or -ENOMEM.
 */
int tr_probe_site(struct tracer *t, struct tr_scratch *x, const struct tr_site_scans *ss,
		  const struct tr_probe *p, size_t np, int degree);

/* Every bucket of `site` that will be read has arrived; 0 or -errno (stops). */
typedef int (*tr_site_ready_fn)(void *arg, uint32_t site);

/*
 * Read every presence bucket the probes p[0..np) (sorted by site, then
 * start) can need and that no earlier fetch read, in (site, block) order,
 * calling ready(arg, site) as soon as a site's last new bucket has arrived
 * (sites with nothing new to read get no call: the caller probes them
 * afterwards).  into NULL: the scans are one more chunk of t->presence, and
 * with `last` (nothing will read this chunk again) a site's are dropped once
 * ready() returns.  into set: the scans are appended to *into instead, no
 * chunk is added, and ready() may take into's storage (leaving an empty
 * vector): at that point *into holds the scans of whole sites only.
 * 0, ready's error, -E2BIG (too many fetches), or the source's -errno.
 */
int tr_fetch_presence(struct tracer *t, const struct tr_probe *p, size_t np, bool last,
		      struct tr_scanvec *into, tr_site_ready_fn ready, void *arg);

/* The cached presence scans at `site` (a span per chunk holding some; fresh
 * from chunk t->fresh_chunk on), into ss. */
void tr_presence_site(const struct tracer *t, uint32_t site, struct tr_site_scans *ss);
/* Add the scans at `site` in v (grouped by site, ascending) to ss, after
 * tr_presence_site() with no fresh chunk: they are fresh. */
void tr_site_scans_add(struct tr_site_scans *ss, const struct tr_scanvec *v, uint32_t site);

/*
 * A last probing pass (sorted probes p[0..np)) with the reading on the
 * calling thread and the probing on a thread of its own, a batch of whole
 * sites at a time (trace_pipe.c).  0, -errno, or 1: no thread could be
 * started (nothing done: probe in one thread).
 */
int tr_probe_piped(struct tracer *t, const struct tr_probe *p, size_t np, int degree);

/*
 * The timelines of the n subjects in [q.from, q.to], into v grouped by
 * subject in the order asked: pids[k]'s scans are v[at[k] .. at[k + 1]),
 * in the source's order (rules_intervals() sorts); *at (n + 1 entries) is the
 * caller's to free.  A pid asked twice has its scans at its first place
 * only.  0 or -errno (v freed, *at NULL).
 */
int tr_fetch_timelines(struct tracer *t, const uint8_t (*pids)[PID_LEN], size_t n,
		       struct tr_scanvec *v, size_t **at);

#endif /* CHOT_TRACE_INT_H */
