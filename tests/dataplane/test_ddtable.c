/*
 * The dedupe table's storage (dataplane/ddtable.c), pure, no EAL: put /
 * find / delete, a table filled to exactly its capacity with random keys
 * (no bucket collision refuses one before), entries that never move, and
 * freed slots reused.
 */
#include <errno.h>

#include <criterion/criterion.h>

#include "ddtable.h"

static void
rkey(struct dp_dedupe_key *k, uint64_t *x)
{
	uint8_t pid[PID_LEN];
	unsigned i;

	for (i = 0; i < PID_LEN; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		pid[i] = (uint8_t)*x;
	}
	dp_dedupe_make_key(k, pid, (uint32_t)(*x >> 40) % 5000, (uint8_t)(1 + (*x >> 60) % 3));
}

Test(ddtable, put_find_del)
{
	struct ddt t;
	struct dp_dedupe_key a, b;
	uint64_t x = 7;
	uint32_t i;

	cr_assert_eq(ddt_init(&t, 100), 0);
	rkey(&a, &x);
	rkey(&b, &x);
	cr_expect_eq(ddt_find(&t, &a, ddt_hash(&a)), DDT_NONE);
	cr_assert_eq(ddt_put(&t, &a, ddt_hash(&a), 1000), 0);
	i = ddt_find(&t, &a, ddt_hash(&a));
	cr_assert_neq(i, DDT_NONE);
	cr_expect_eq(t.e[i].ts, 1000);
	cr_assert_eq(ddt_put(&t, &a, ddt_hash(&a), 2000), 0, "update in place");
	cr_expect_eq(ddt_find(&t, &a, ddt_hash(&a)), i, "same entry");
	cr_expect_eq(t.e[i].ts, 2000);
	cr_expect_eq(t.count, 1);
	cr_expect_eq(ddt_find(&t, &b, ddt_hash(&b)), DDT_NONE, "another key");
	cr_expect(ddt_del(&t, &a, ddt_hash(&a)));
	cr_expect_not(ddt_del(&t, &a, ddt_hash(&a)), "gone");
	cr_expect_eq(ddt_find(&t, &a, ddt_hash(&a)), DDT_NONE);
	cr_expect_eq(t.e[i].ts, DDT_FREE_TS, "the slot is free");
	cr_expect_eq(t.count, 0);
	ddt_fini(&t);
}

Test(ddtable, holds_exactly_its_capacity)
{
	const uint32_t cap = 262144;      /* 65536 buckets of 8: the fullest ratio */
	static struct dp_dedupe_key k[262145];
	static uint32_t where[262144];
	struct ddt t;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint32_t i;

	cr_assert_eq(ddt_init(&t, cap), 0);
	for (i = 0; i < cap; i++) {
		rkey(&k[i], &x);
		cr_assert_eq(ddt_put(&t, &k[i], ddt_hash(&k[i]), 1000 + i), 0,
			     "key %u of %u refused (collisions %lu)", i, cap,
			     (unsigned long)t.collisions);
		where[i] = ddt_find(&t, &k[i], ddt_hash(&k[i]));
	}
	cr_expect_eq(t.count, cap);
	cr_expect_eq(t.collisions, 0, "no bucket collision before the capacity");
	rkey(&k[cap], &x);
	cr_expect_eq(ddt_put(&t, &k[cap], ddt_hash(&k[cap]), 1), -ENOSPC, "full");
	/* Every key is where it was put (cuckoo moves touch buckets only). */
	for (i = 0; i < cap; i++) {
		uint32_t e = ddt_find(&t, &k[i], ddt_hash(&k[i]));

		cr_assert_eq(e, where[i], "key %u moved from entry %u to %u", i, where[i], e);
		cr_assert_eq(t.e[e].ts, 1000 + i);
	}
	/* Free half, and the space is usable again. */
	for (i = 0; i < cap; i += 2)
		cr_assert(ddt_del(&t, &k[i], ddt_hash(&k[i])));
	cr_expect_eq(t.count, cap / 2);
	cr_expect_eq(ddt_put(&t, &k[cap], ddt_hash(&k[cap]), 1), 0);
	for (i = 1; i < cap; i += 2)
		cr_assert_neq(ddt_find(&t, &k[i], ddt_hash(&k[i])), DDT_NONE, "key %u lost", i);
	ddt_fini(&t);
}

/* Churn at capacity, as a swept table sees it: refill what a sweep freed,
 * many times over; no insert is refused while entries are free. */
Test(ddtable, churn_at_capacity)
{
	const uint32_t cap = 262144;
	static struct dp_dedupe_key k[262144];
	struct ddt t;
	uint64_t x = 12345;
	uint32_t i, r;

	cr_assert_eq(ddt_init(&t, cap), 0);
	for (i = 0; i < cap; i++) {
		rkey(&k[i], &x);
		cr_assert_eq(ddt_put(&t, &k[i], ddt_hash(&k[i]), i), 0);
	}
	for (r = 0; r < 12; r++) {
		for (i = r % 4; i < cap; i += 4)        /* a quarter goes */
			cr_assert(ddt_del(&t, &k[i], ddt_hash(&k[i])));
		for (i = r % 4; i < cap; i += 4) {      /* and is replaced */
			rkey(&k[i], &x);
			cr_assert_eq(ddt_put(&t, &k[i], ddt_hash(&k[i]), i), 0,
				     "round %u key %u refused, %u free", r, i, t.n_free);
		}
	}
	cr_expect_eq(t.count, cap);
	cr_expect_eq(t.collisions, 0);
	ddt_fini(&t);
}
