/*
 * The dedupe table's storage (ddtable.h): two-choice buckets of 7 over a
 * fixed entry array, the second bucket read only behind the first's
 * overflow flag.
 */
#include <errno.h>

#include "ddtable.h"
#include "thp.h"

static uint32_t
ddt_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v && p < (1u << 31))
		p <<= 1;
	return p;
}

int
ddt_init(struct ddt *t, uint32_t capacity)
{
	uint32_t nb, i;

	memset(t, 0, sizeof(*t));
	if (capacity == 0)
		capacity = 1;
	/* 1.75 x capacity bucket slots: buckets = capacity / 4, a power of two. */
	nb = ddt_pow2(capacity / 4 > 0 ? capacity / 4 : 1);
	t->b_len = (size_t)nb * sizeof(*t->b);
	t->e_len = (size_t)capacity * sizeof(*t->e);
	t->f_len = (size_t)capacity * sizeof(*t->free);
	t->b = dp_thp_alloc(t->b_len);
	t->e = dp_thp_alloc(t->e_len);
	t->free = dp_thp_alloc(t->f_len);
	if (t->b == NULL || t->e == NULL || t->free == NULL) {
		ddt_fini(t);
		return -ENOMEM;
	}
	t->capacity = capacity;
	t->mask = nb - 1;
	for (i = 0; i < capacity; i++) {
		t->e[i].ts = DDT_FREE_TS;
		t->free[i] = capacity - 1 - i;    /* pops 0, 1, 2, ... */
	}
	t->n_free = capacity;
	return 0;
}

void
ddt_fini(struct ddt *t)
{
	dp_thp_free(t->b, t->b_len);
	dp_thp_free(t->e, t->e_len);
	dp_thp_free(t->free, t->f_len);
	memset(t, 0, sizeof(*t));
}

/* In bucket bi: the slot holding k, or -1. */
static inline int
ddt_slot_of(const struct ddt *t, uint32_t bi, uint32_t sig, const struct dp_dedupe_key *k)
{
	const struct ddt_bucket *b = &t->b[bi];
	unsigned s;

	for (s = 0; s < DDT_SLOTS; s++)
		if (b->sig[s] == sig && ddt_key_eq(&t->e[b->idx[s]].key, k))
			return (int)s;
	return -1;
}

uint32_t
ddt_find(const struct ddt *t, const struct dp_dedupe_key *k, uint64_t h)
{
	uint32_t sig = ddt_sig(h), b1 = ddt_b1(t, h), b2 = ddt_b2(t, h);
	int s = ddt_slot_of(t, b1, sig, k);

	if (s >= 0)
		return t->b[b1].idx[s];
	/* Only a flagged bucket's keys may live in their second bucket. */
	if (t->b[b1].ovf && b2 != b1 && (s = ddt_slot_of(t, b2, sig, k)) >= 0)
		return t->b[b2].idx[s];
	return DDT_NONE;
}

/* A free slot of bucket bi, or -1. */
static inline int
ddt_free_slot(const struct ddt *t, uint32_t bi)
{
	unsigned s;

	for (s = 0; s < DDT_SLOTS; s++)
		if (t->b[bi].sig[s] == 0)
			return (int)s;
	return -1;
}

/* The other bucket of the entry in slot s of bucket bi; *first: bi is
 * its first bucket (moving it sets bi's overflow flag). */
static inline uint32_t
ddt_alt(const struct ddt *t, uint32_t bi, unsigned s, bool *first)
{
	uint64_t h = ddt_hash(&t->e[t->b[bi].idx[s]].key);
	uint32_t b1 = ddt_b1(t, h);

	*first = b1 == bi;
	return b1 == bi ? ddt_b2(t, h) : b1;
}

/*
 * Both buckets of a new key are full: move one of their entries to its
 * other bucket (depth 1, then 2), as cuckoo hashing does.  Returns the
 * bucket with a slot freed (bi1 or bi2), or DDT_NONE.  Rare: the buckets
 * hold 2 x capacity slots.
 */
static uint32_t
ddt_make_room(struct ddt *t, uint32_t bi1, uint32_t bi2, unsigned depth)
{
	uint32_t pair[2] = { bi1, bi2 };
	unsigned p, s;

	for (p = 0; p < 2; p++)
		for (s = 0; s < DDT_SLOTS; s++) {
			bool first;
			uint32_t bi = pair[p], alt = ddt_alt(t, bi, s, &first);
			int f;

			if (alt == bi)
				continue;
			f = ddt_free_slot(t, alt);
			if (f < 0 && depth > 1 &&
			    ddt_make_room(t, alt, alt, depth - 1) != DDT_NONE)
				f = ddt_free_slot(t, alt);
			if (f < 0)
				continue;
			t->b[alt].sig[f] = t->b[bi].sig[s];
			t->b[alt].idx[f] = t->b[bi].idx[s];
			t->b[bi].sig[s] = 0;
			if (first)
				t->b[bi].ovf = 1;   /* one of its keys now lives in alt */
			return bi;
		}
	return DDT_NONE;
}

int
ddt_put(struct ddt *t, const struct dp_dedupe_key *k, uint64_t h, uint64_t ts)
{
	uint32_t i = ddt_find(t, k, h), bi;
	int s;

	if (i != DDT_NONE) {
		t->e[i].ts = ts;
		return 0;
	}
	if (t->n_free == 0)
		return -ENOSPC;
	bi = ddt_b1(t, h);
	s = ddt_free_slot(t, bi);
	if (s < 0) {
		bi = ddt_b2(t, h);
		s = ddt_free_slot(t, bi);
		if (s >= 0)
			t->b[ddt_b1(t, h)].ovf = 1;
	}
	if (s < 0) {
		/* make_room frees a slot in b1 or b2: in b2, b1 overflows. */
		bi = ddt_make_room(t, ddt_b1(t, h), ddt_b2(t, h), 2);
		if (bi == DDT_NONE) {
			t->collisions++;
			return -ENOSPC;
		}
		s = ddt_free_slot(t, bi);
		if (bi != ddt_b1(t, h))
			t->b[ddt_b1(t, h)].ovf = 1;
	}
	i = t->free[--t->n_free];
	t->e[i].key = *k;
	t->e[i].ts = ts;
	t->b[bi].sig[s] = ddt_sig(h);
	t->b[bi].idx[s] = i;
	t->count++;
	return 0;
}

bool
ddt_del(struct ddt *t, const struct dp_dedupe_key *k, uint64_t h)
{
	uint32_t sig = ddt_sig(h), bi = ddt_b1(t, h), i;
	int s = ddt_slot_of(t, bi, sig, k);

	if (s < 0) {
		if (!t->b[bi].ovf)
			return false;
		bi = ddt_b2(t, h);
		s = ddt_slot_of(t, bi, sig, k);
		if (s < 0)
			return false;
	}
	i = t->b[bi].idx[s];
	t->b[bi].sig[s] = 0;
	t->e[i].ts = DDT_FREE_TS;
	t->free[t->n_free++] = i;
	t->count--;
	return true;
}

void
ddt_overflow_rebuild(struct ddt *t)
{
	uint32_t bi, n = t->mask + 1;
	unsigned s;

	for (bi = 0; bi < n; bi++)
		t->b[bi].ovf = 0;
	for (bi = 0; bi < n; bi++)
		for (s = 0; s < DDT_SLOTS; s++) {
			uint32_t b1;

			if (t->b[bi].sig[s] == 0)
				continue;
			b1 = ddt_b1(t, ddt_hash(&t->e[t->b[bi].idx[s]].key));
			if (b1 != bi)
				t->b[b1].ovf = 1;
		}
}
