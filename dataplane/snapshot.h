/*
 * Publishing an lcore's state to other threads (issue 11, STYLE "plain loads
 * of another lcore's counters").
 *
 * Counters are written by exactly one lcore with plain stores on the hot
 * path.  Another thread (telemetry, the RX lcore) must not read them with
 * plain loads: that is a data race, and a multi-word figure read that way
 * can mix two moments.  So the owner, now and then (behind a deadline, off
 * the per-packet path), copies what others may read into a snapshot
 * guarded by a sequence count (a seqlock, as in the Linux kernel and
 * DPDK's rte_seqlock, written here with GCC __atomic builtins so the words
 * themselves are accessed atomically and no access is a data race):
 *
 *   writer (the owner only):  seq odd, release fence, every word stored
 *                             relaxed, seq even (release)
 *   reader (any thread):      seq (acquire), even?  every word loaded
 *                             relaxed, acquire fence, seq unchanged?  done,
 *                             else try again (bounded; yields in between)
 *
 * A reader thus gets one consistent copy of one moment, or -EAGAIN.  The
 * payload is any struct made only of uint64_t (static-asserted by callers).
 * Pure: no EAL, no allocation; unit-tested with threads in
 * tests/dataplane/test_snapshot.c.
 */
#ifndef CHOT_DP_SNAPSHOT_H
#define CHOT_DP_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* The guard of one snapshot; zero-initialised is a valid, empty snapshot. */
struct dp_snap_seq {
	uint32_t seq;
};

/* Owner only: copy n words of src into the published dst. */
void dp_snap_publish(struct dp_snap_seq *s, uint64_t *dst, const uint64_t *src, size_t n);

/*
 * Any thread: copy the n published words of src into out, consistent.
 * 0, or -EAGAIN when max_tries attempts all overlapped a publish.
 */
int dp_snap_read(const struct dp_snap_seq *s, const uint64_t *src, uint64_t *out, size_t n,
		 unsigned max_tries);

/* How many publishes so far (for tests and freshness checks). */
static inline uint32_t
dp_snap_count(const struct dp_snap_seq *s)
{
	return __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) / 2;
}

#endif /* CHOT_DP_SNAPSHOT_H */
