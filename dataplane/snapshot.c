/*
 * The seqlock behind dp_snap_publish / dp_snap_read (snapshot.h).
 */
#include <errno.h>
#include <sched.h>

#include "snapshot.h"

void
dp_snap_publish(struct dp_snap_seq *s, uint64_t *dst, const uint64_t *src, size_t n)
{
	uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
	size_t i;

	__atomic_store_n(&s->seq, seq + 1, __ATOMIC_RELAXED);
	/* No word store may become visible before the odd count. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (i = 0; i < n; i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

int
dp_snap_read(const struct dp_snap_seq *s, const uint64_t *src, uint64_t *out, size_t n,
	     unsigned max_tries)
{
	unsigned t;
	size_t i;

	for (t = 0; t < max_tries; t++) {
		uint32_t s0 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE), s1;

		if ((s0 & 1) == 0) {
			for (i = 0; i < n; i++)
				out[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
			/* Every word load completes before the second count is read. */
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			s1 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
			if (s0 == s1)
				return 0;
		}
		/* The writer is mid-copy, perhaps preempted on a shared core. */
		sched_yield();
	}
	return -EAGAIN;
}
