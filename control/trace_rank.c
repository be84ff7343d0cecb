/*
 * The output order of a trace (trace.h tr_rank): overlap desc, degree asc,
 * first_ms asc, pid asc.  A depth-2 trace ranks tens of thousands of
 * contacts: the keys are radix-sorted in a huge-page buffer and the records
 * moved once, rather than qsort shuffling 80-byte records through a
 * freshly malloc'd (freshly faulted) buffer of its own.
 */
#include <errno.h>
#include <pthread.h>
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
 * The whole order in 16 bytes, so that a tie is settled without reading
 * the contact (a depth-2 trace at 1 M citizens ranks ~400k contacts, most
 * F2s met at an F1's arrival share overlap 0 and first_ms, and the pid
 * compare through c[] was a cache miss each: 25 % of the trace's CPU):
 *   a = overlap descending (UINT32_MAX - overlap) : 32 | degree : 2 |
 *       first_ms - base, its top 30 bits
 *   b = first_ms - base, its low 2 bits | the pid's first 38 bits |
 *       the contact's index : 24
 * Equal (a, b >> 24): the whole pids decide, as in contact_cmp.
 */
#define RK_INDEX_BITS 24
#define RK_PID_BITS   38
#define RK_INDEX_MASK ((1ULL << RK_INDEX_BITS) - 1)

static inline size_t
rk_index(const struct tr_rkey *k)
{
	return (size_t)(k->b & RK_INDEX_MASK);
}

static inline void
rk_set_index(struct tr_rkey *k, size_t i)
{
	k->b = (k->b & ~RK_INDEX_MASK) | i;
}

static inline bool
rkey_before(const struct tr_rkey *x, const struct tr_rkey *y, const struct tr_contact *c)
{
	if (x->a != y->a)
		return x->a < y->a;
	if (x->b >> RK_INDEX_BITS != y->b >> RK_INDEX_BITS)
		return x->b >> RK_INDEX_BITS < y->b >> RK_INDEX_BITS;
	return memcmp(c[rk_index(x)].pid, c[rk_index(y)].pid, PID_LEN) < 0;
}

static inline uint64_t
pid_top(const uint8_t pid[PID_LEN])
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | pid[i];
	return v >> (64 - RK_PID_BITS);
}

/*
 * LSD radix sort of the keys on a (overlap, degree, the top of first_ms),
 * RK_DIGIT_BITS at a time, least significant digit first; stable, so keys
 * with equal a stay in index order for rk_settle_ties().  A digit every
 * key shares (the top of UINT32_MAX - overlap) is skipped.  On a depth-2
 * trace's ~700k contacts: 6 linear passes where the merge sort made 20 of
 * compares and branches, and sorting b's 40 bits too doubled the passes
 * for ties among 15 % of the keys in runs of at most ~50.
 * Returns the buffer holding the result (k or w), NULL if out of memory.
 */
#define RK_DIGIT_BITS 11
#define RK_BUCKETS    (1u << RK_DIGIT_BITS)
#define RK_DIGITS     ((64 + RK_DIGIT_BITS - 1) / RK_DIGIT_BITS)

static inline unsigned
rk_digit(const struct tr_rkey *k, unsigned d)
{
	return (unsigned)(k->a >> (d * RK_DIGIT_BITS)) & (RK_BUCKETS - 1);
}

static struct tr_rkey *
rk_radix_sort(struct tr_rkey *k, struct tr_rkey *w, size_t n)
{
	uint32_t (*count)[RK_BUCKETS] = calloc(RK_DIGITS, sizeof(*count));

	if (count == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < RK_DIGITS; d++)
			count[d][rk_digit(&k[i], d)]++;
	for (unsigned d = 0; d < RK_DIGITS; d++) {
		uint32_t sum = 0, *c = count[d];
		struct tr_rkey *t;

		if (n == 0 || c[rk_digit(&k[0], d)] == n)
			continue;   /* every key has this digit: the order stands */
		for (unsigned b = 0; b < RK_BUCKETS; b++) {
			uint32_t x = c[b];

			c[b] = sum;
			sum += x;
		}
		for (size_t i = 0; i < n; i++)
			w[c[rk_digit(&k[i], d)]++] = k[i];
		t = k;
		k = w;
		w = t;
	}
	free(count);
	return k;
}

static int
rkey_cmp_r(const void *x, const void *y, void *c)
{
	return rkey_before(x, y, c) ? -1 : rkey_before(y, x, c) ? 1 : 0;
}

/*
 * Runs of keys equal in a: by b's time and pid bits, then the whole pid
 * (rkey_before).  Short in a trace (F2s met at one F1's arrival: at most
 * ~50 at 1 M citizens), sorted by insertion; a long one (every contact
 * alike) by qsort_r, so no input makes this quadratic.
 */
#define RK_RUN_INSERTION 32

static void
rk_settle_ties(struct tr_rkey *k, size_t n, const struct tr_contact *c)
{
	for (size_t lo = 0; lo < n;) {
		size_t hi = lo + 1;

		while (hi < n && k[hi].a == k[lo].a)
			hi++;
		if (hi - lo > RK_RUN_INSERTION) {
			qsort_r(k + lo, hi - lo, sizeof(*k), rkey_cmp_r, (void *)c);
			lo = hi;
			continue;
		}
		for (size_t i = lo + 1; i < hi; i++) {
			struct tr_rkey x = k[i];
			size_t j = i;

			for (; j > lo && rkey_before(&x, &k[j - 1], c); j--)
				k[j] = k[j - 1];
			k[j] = x;
		}
		lo = hi;
	}
}

/* The packed key of contact c[i] (see above). */
static inline struct tr_rkey
rkey_of(const struct tr_contact *c, size_t i, uint64_t base_ms)
{
	uint64_t rel = c[i].first_ms - base_ms;

	return (struct tr_rkey){
		.a = (uint64_t)(UINT32_MAX - (uint32_t)c[i].overlap_ms) << 32 |
		     (uint64_t)c[i].degree << 30 | rel >> 2,
		.b = (rel & 3) << 62 | pid_top(c[i].pid) << RK_INDEX_BITS | i,
	};
}

/*
 * One share of the ranking: the keys of c[lo..lo+n) built in k[0..n),
 * sorted (w[0..n) the radix sort's other buffer), their ties settled; the
 * sorted run is left in *res (k or w).  Then, for the gather, out[o..o+m)
 * from the sorted runs x[0..nx) and y[0..ny), merged.
 */
struct rank_share {
	const struct tr_contact *c;
	uint64_t base_ms;
	size_t lo, n;
	struct tr_rkey *k, *w, *res;
	const struct tr_rkey *x, *y;
	size_t nx, ny;
	struct tr_contact *out;
	size_t m;
};

static void
sort_share(struct rank_share *r)
{
	for (size_t i = 0; i < r->n; i++)
		r->k[i] = rkey_of(r->c, r->lo + i, r->base_ms);
	r->res = rk_radix_sort(r->k, r->w, r->n);
	if (r->res != NULL)
		rk_settle_ties(r->res, r->n, r->c);
}

static void *
sort_share_thread(void *arg)
{
	sort_share(arg);
	return NULL;
}

/*
 * out[0..m) from the runs x and y merged (rkey_before: a strict order, pids
 * being distinct), with c[] read at random but prefetched: both runs' keys
 * 8 ahead, one of which is read next.
 */
static void
gather_share(struct rank_share *r)
{
	const struct tr_contact *c = r->c;
	size_t i = 0, j = 0;

	for (size_t o = 0; o < r->m; o++) {
		const struct tr_rkey *next;

		if (i + 8 < r->nx)
			__builtin_prefetch(&c[rk_index(&r->x[i + 8])]);
		if (j + 8 < r->ny)
			__builtin_prefetch(&c[rk_index(&r->y[j + 8])]);
		if (j >= r->ny || (i < r->nx && rkey_before(&r->x[i], &r->y[j], c)))
			next = &r->x[i++];
		else
			next = &r->y[j++];
		r->out[o] = c[rk_index(next)];
	}
}

static void *
gather_share_thread(void *arg)
{
	gather_share(arg);
	return NULL;
}

/*
 * Where the first `o` outputs of merging x[0..nx) and y[0..ny) end: *ix keys
 * of x and o - *ix of y (the merge path, by binary search on x's share).
 */
static size_t
merge_split(const struct tr_rkey *x, size_t nx, const struct tr_rkey *y, size_t ny, size_t o,
	    const struct tr_contact *c)
{
	size_t lo = o > ny ? o - ny : 0, hi = o < nx ? o : nx;

	while (lo < hi) {
		size_t i = lo + (hi - lo) / 2, j = o - i - 1;

		/* x[i] goes before y[j]: the split takes more of x */
		if (rkey_before(&x[i], &y[j], c))
			lo = i + 1;
		else
			hi = i;
	}
	return lo;
}

/*
 * The ranking on two threads: each sorts the keys of half the contacts,
 * then each gathers half the output, merging the two sorted halves from
 * its split point on.  The order is total, so the result is the one-thread
 * ranking's.  false if a thread cannot start (nothing written).
 */
static int
rank_two(const struct tr_contact *c, size_t n, uint64_t base_ms, struct tr_rkey *work,
	 struct tr_contact *out)
{
	size_t h = n / 2, ix;
	struct rank_share a = { .c = c, .base_ms = base_ms, .lo = 0, .n = h, .k = work,
				.w = work + n },
			  b = { .c = c, .base_ms = base_ms, .lo = h, .n = n - h, .k = work + h,
				.w = work + n + h };
	pthread_t th;

	if (pthread_create(&th, NULL, sort_share_thread, &b) != 0)
		return 1;
	sort_share(&a);
	pthread_join(th, NULL);
	if (a.res == NULL || b.res == NULL)
		return -1;
	ix = merge_split(a.res, a.n, b.res, b.n, h, c);
	a.x = a.res;
	a.nx = ix;
	a.y = b.res;
	a.ny = h - ix;
	a.out = out;
	a.m = h;
	b.x = a.res + ix;
	b.nx = a.n - ix;
	b.y = b.res + (h - ix);
	b.ny = b.n - (h - ix);
	b.out = out + h;
	b.m = n - h;
	if (pthread_create(&th, NULL, gather_share_thread, &b) != 0) {
		gather_share(&b);   /* the sort is done: gather on this thread */
		gather_share(&a);
		return 0;
	}
	gather_share(&a);
	pthread_join(th, NULL);
	return 0;
}

bool
tr_rank_packed(const struct tr_contact *c, size_t n, uint64_t base_ms, struct tr_rkey *work,
	       struct tr_contact *out, bool two)
{
	struct tr_rkey *k = work, *w = work + n;

	if (n >= 1u << RK_INDEX_BITS)
		return false;
	for (size_t i = 0; i < n; i++)
		if (c[i].overlap_ms > UINT32_MAX || c[i].first_ms < base_ms ||
		    c[i].first_ms - base_ms > UINT32_MAX || c[i].degree < 0 || c[i].degree > 3)
			return false;
	if (two && n >= 2) {
		int rc = rank_two(c, n, base_ms, work, out);

		if (rc <= 0)
			return rc == 0;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = rkey_of(c, i, base_ms);
	k = rk_radix_sort(k, w, n);
	if (k == NULL)
		return false;
	rk_settle_ties(k, n, c);
	/*
	 * Gather in rank order.  The reads of c[] are random, but independent
	 * of each other and prefetched, where following the permutation's
	 * cycles in place made each a miss behind the one before it: that was
	 * half of the ranking's samples at 1 M citizens.
	 */
	for (size_t i = 0; i < n; i++) {
		if (i + 8 < n) {
			const char *ahead = (const char *)&c[rk_index(&k[i + 8])];

			__builtin_prefetch(ahead);
			__builtin_prefetch(ahead + sizeof(*c) - 1);
		}
		out[i] = c[rk_index(&k[i])];
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
