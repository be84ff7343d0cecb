/*
 * Internals shared by the trace engine's files (not part of trace.h's
 * contract): big-array memory, the subject table, the ranking.
 *
 *   trace_store.c  huge-page arrays, tr_scanvec, the subject table
 *   trace_rank.c   tr_rank() (the output order)
 *   trace.c        fetching, probing, tr_run()
 */
#ifndef CHOT_TRACE_INT_H
#define CHOT_TRACE_INT_H

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
void *tr_mem_grow(void *p, size_t old_bytes, size_t new_bytes);
void tr_mem_free(void *p, size_t bytes);

/*
 * Records live in a dense array (appended; moved only by growing it); the
 * open-addressing index holds their numbers with 32 bits of the hash, so
 * growing it touches 8 bytes a slot instead of a whole record, and a probe
 * past another pid rarely reads that pid's record (a depth-2 trace meets most
 * of a province: tens of thousands of subjects).
 */
struct tr_subj {
	uint8_t pid[PID_LEN];
	int degree;          /* 0 none, 1 F1, 2 F2, 3 F0 */
	uint64_t t1;         /* F1: earliest start of an interval in contact with F0 */
	struct tr_contact best;
};

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

#endif /* CHOT_TRACE_INT_H */
