/*
 * The seqlock snapshot (dataplane/snapshot.h): a reader on another thread
 * never sees a copy that mixes two publishes.  The writer publishes payloads
 * whose every word equals the publish number; a reader that gets words from
 * two moments would see two different numbers.  Plus the single-thread
 * contract: an empty snapshot reads as zeros, a publish is read back
 * exactly, a reader facing a writer stuck mid-copy gives up with -EAGAIN.
 * Pure, no EAL.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <criterion/criterion.h>

#include "snapshot.h"

#define WORDS 96          /* about the size of a worker snapshot */
#define PUBLISHES 200000

static struct dp_snap_seq seq;
static uint64_t published[WORDS];
static int writer_done;

static void *
writer(void *arg)
{
	uint64_t src[WORDS];
	uint64_t v;
	unsigned i;

	(void)arg;
	for (v = 1; v <= PUBLISHES; v++) {
		for (i = 0; i < WORDS; i++)
			src[i] = v;
		dp_snap_publish(&seq, published, src, WORDS);
	}
	__atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

Test(snapshot, reader_never_sees_a_torn_copy)
{
	uint64_t out[WORDS], last = 0;
	unsigned reads = 0, torn = 0, backwards = 0, i;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, writer, NULL), 0);
	while (!__atomic_load_n(&writer_done, __ATOMIC_ACQUIRE) || reads == 0) {
		if (dp_snap_read(&seq, published, out, WORDS, 1000) != 0)
			continue;
		reads++;
		for (i = 1; i < WORDS; i++)
			if (out[i] != out[0]) {
				torn++;
				break;
			}
		if (out[0] < last)
			backwards++;
		last = out[0];
	}
	pthread_join(t, NULL);
	cr_assert_eq(torn, 0, "%u of %u reads mixed two publishes", torn, reads);
	cr_assert_eq(backwards, 0, "%u reads went back in time", backwards);
	cr_assert_eq(dp_snap_read(&seq, published, out, WORDS, 1), 0);
	cr_assert_eq(out[WORDS - 1], PUBLISHES, "the last publish is what remains");
	cr_assert_eq(dp_snap_count(&seq), PUBLISHES);
}

Test(snapshot, single_thread_contract)
{
	struct dp_snap_seq s = { 0 };
	uint64_t pub[3] = { 0 }, src[3] = { 7, 8, 9 }, out[3] = { 1, 1, 1 };

	cr_assert_eq(dp_snap_read(&s, pub, out, 3, 1), 0, "an empty snapshot reads");
	cr_assert(out[0] == 0 && out[2] == 0, "as zeros");
	dp_snap_publish(&s, pub, src, 3);
	cr_assert_eq(dp_snap_read(&s, pub, out, 3, 1), 0);
	cr_assert(memcmp(out, src, sizeof(src)) == 0, "reads back what was published");
	s.seq++;   /* a writer stuck mid-copy */
	cr_assert_eq(dp_snap_read(&s, pub, out, 3, 5), -EAGAIN, "gives up, bounded");
}
