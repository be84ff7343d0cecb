/*
 * The output order of a trace (trace.h tr_rank): overlap desc, degree asc,
 * first_ms asc, pid asc.  A depth-2 trace ranks tens of thousands of
 * contacts: the keys are merge-sorted in a huge-page buffer and the records
 * moved once, rather than qsort shuffling 80-byte records through a
 * freshly malloc'd (freshly faulted) buffer of its own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

static int
contact_cmp(const void *a, const void *b)
{
	const struct tr_contact *x = a, *y = b;

	if (x->overlap_ms != y->overlap_ms)
		return x->overlap_ms > y->overlap_ms ? -1 : 1;
	if (x->degree != y->degree)
		return x->degree - y->degree;
	if (x->first_ms != y->first_ms)
		return x->first_ms < y->first_ms ? -1 : 1;
	return memcmp(x->pid, y->pid, PID_LEN);
}

/* The ranking key of one contact, small enough for qsort to move cheaply. */
struct rank_key {
	uint64_t overlap_ms, first_ms;
	int degree;
	const struct tr_contact *c;
};

static int
rank_key_cmp(const void *a, const void *b)
{
	const struct rank_key *x = a, *y = b;

	if (x->overlap_ms != y->overlap_ms)
		return x->overlap_ms > y->overlap_ms ? -1 : 1;
	if (x->degree != y->degree)
		return x->degree < y->degree ? -1 : 1;
	if (x->first_ms != y->first_ms)
		return x->first_ms < y->first_ms ? -1 : 1;
	return memcmp(x->c->pid, y->c->pid, PID_LEN);
}

/*
 * Bottom-up merge sort of the keys with a caller-provided buffer (qsort
 * would malloc its own: fresh pages, and page faults are what big arrays
 * cost).  Sorts k[0..n) using w[0..n); the result may end up in either.
 */
static struct rank_key *
rank_sort(struct rank_key *k, struct rank_key *w, size_t n)
{
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t a = lo, b = mid, o = lo;

			while (a < mid && b < hi)
				w[o++] = rank_key_cmp(&k[b], &k[a]) < 0 ? k[b++] : k[a++];
			while (a < mid)
				w[o++] = k[a++];
			while (b < hi)
				w[o++] = k[b++];
		}
		struct rank_key *x = k;

		k = w;
		w = x;
	}
	return k;
}

int
tr_rank_gather(const struct tr_contact *const *src, size_t n, struct tr_contact *out)
{
	size_t kb = n * sizeof(struct rank_key);
	struct rank_key *k = tr_mem_grow(NULL, 0, 2 * kb + 1), *sorted;

	if (k == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct rank_key){ .overlap_ms = src[i]->overlap_ms,
					  .first_ms = src[i]->first_ms, .degree = src[i]->degree,
					  .c = src[i] };
	sorted = rank_sort(k, k + n, n);
	for (size_t i = 0; i < n; i++)
		out[i] = *sorted[i].c;
	tr_mem_free(k, 2 * kb + 1);
	return 0;
}

/*
 * Key a: overlap descending (as UINT32_MAX - overlap) above the degree;
 * key b: first_ms - base above the contact's index.  Equal (a, b >> 32):
 * the pids decide, as in contact_cmp.
 */
static inline bool
rkey_before(const struct tr_rkey *x, const struct tr_rkey *y, const struct tr_contact *c)
{
	if (x->a != y->a)
		return x->a < y->a;
	if (x->b >> 32 != y->b >> 32)
		return x->b >> 32 < y->b >> 32;
	return memcmp(c[(uint32_t)x->b].pid, c[(uint32_t)y->b].pid, PID_LEN) < 0;
}

bool
tr_rank_inplace(struct tr_contact *c, size_t n, uint64_t base_ms, struct tr_rkey *work)
{
	struct tr_rkey *k = work, *w = work + n;

	if (n >= UINT32_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i].overlap_ms > UINT32_MAX || c[i].first_ms < base_ms ||
		    c[i].first_ms - base_ms > UINT32_MAX || c[i].degree < 0)
			return false;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct tr_rkey){
			.a = (uint64_t)(UINT32_MAX - (uint32_t)c[i].overlap_ms) << 32 |
			     (uint32_t)c[i].degree,
			.b = (c[i].first_ms - base_ms) << 32 | (uint32_t)i,
		};
	/* Bottom-up merge sort, k and w trading places each pass. */
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t x = lo, y = mid, o = lo;

			while (x < mid && y < hi)
				w[o++] = rkey_before(&k[y], &k[x], c) ? k[y++] : k[x++];
			while (x < mid)
				w[o++] = k[x++];
			while (y < hi)
				w[o++] = k[y++];
		}
		struct tr_rkey *t = k;

		k = w;
		w = t;
	}
	/* Permute by cycles: position j takes the contact k[j] names. */
	for (size_t s = 0; s < n; s++) {
		struct tr_contact tmp;
		size_t j = s;

		if ((uint32_t)k[s].b == s)
			continue;
		tmp = c[s];
		while ((uint32_t)k[j].b != s) {
			size_t from = (uint32_t)k[j].b;

			c[j] = c[from];
			k[j].b = j;
			j = from;
		}
		c[j] = tmp;
		k[j].b = j;
	}
	return true;
}

void
tr_rank(struct tr_contact *c, size_t n)
{
	const struct tr_contact **src = n > 64 ? malloc(n * sizeof(*src)) : NULL;
	struct tr_contact *tmp = src != NULL ? tr_mem_grow(NULL, 0, n * sizeof(*tmp)) : NULL;

	if (tmp != NULL) {
		for (size_t i = 0; i < n; i++)
			src[i] = &c[i];
		if (tr_rank_gather(src, n, tmp) == 0)
			memcpy(c, tmp, n * sizeof(*c));
		else
			qsort(c, n, sizeof(*c), contact_cmp);
	} else {   /* small, or short of memory: sort in place */
		qsort(c, n, sizeof(*c), contact_cmp);
	}
	tr_mem_free(tmp, n * sizeof(*tmp));
	free(src);
}
