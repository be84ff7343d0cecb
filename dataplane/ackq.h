/*
 * The ACK queue of a worker (DESIGN §3: "ACK once every write of the batch
 * is confirmed"), as pure logic: slot numbers and tickets, no EAL, no
 * packets.  The caller keeps what an ACK needs (device, epoch, seq, the
 * reply header) in its own array indexed by the same slot numbers.
 *
 * Two kinds of batch hold a slot:
 *   - a submitted batch (dp_ackq_submit): handed to the store, completed by
 *     it in submission order (one FIFO of commands, replies in order);
 *   - a barrier (dp_ackq_barrier): a batch whose events were all
 *     duplicates.  It has nothing to write, but the scans it duplicates may
 *     still be on their way to Redis, so its ACK would claim them stored: it
 *     waits until every batch submitted before it has completed.  Since
 *     completions come in submission order, a ticket (the submission count
 *     at the time it arrived) is enough.
 *
 * When a submitted batch fails, the barriers queued behind it may duplicate
 * its events: none of them may be ACKed, they are all dropped (the caller
 * forgets them in the replay window, so the retransmissions are judged
 * again).
 *
 * Slots are a free list over n_slots; a batch that finds none is not taken
 * (the caller drops it, counted).
 */
#ifndef CHOT_DP_ACKQ_H
#define CHOT_DP_ACKQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DP_ACKQ_NONE UINT32_MAX

struct dp_ackq_link {
	uint32_t next;      /* the free list, or the barrier FIFO */
	uint64_t ticket;    /* a barrier: released once `completed` reaches it */
};

struct dp_ackq {
	struct dp_ackq_link *link;      /* n_slots, caller's memory */
	uint32_t n_slots;
	uint32_t free_head;
	uint32_t n_busy;                /* submitted, not completed */
	uint32_t n_barriers;
	uint32_t barrier_head, barrier_tail;
	uint64_t submitted, completed;  /* store batches, in order */
};

/* Bytes of caller memory for n slots (zeroed or not). */
static inline size_t
dp_ackq_mem_size(uint32_t n_slots)
{
	return (size_t)n_slots * sizeof(struct dp_ackq_link);
}

/* Start empty over mem (dp_ackq_mem_size(n_slots) bytes). */
void dp_ackq_init(struct dp_ackq *q, void *mem, uint32_t n_slots);

/* A free slot, taken out of the free list; DP_ACKQ_NONE when there is none. */
uint32_t dp_ackq_take(struct dp_ackq *q);

/* Give back a slot that was taken but not submitted, or that was released. */
void dp_ackq_free(struct dp_ackq *q, uint32_t slot);

/* Slot (taken) goes to the store now.  Counted before the store may
 * complete it (null:// completes inside its submit). */
void dp_ackq_submit(struct dp_ackq *q, uint32_t slot);

/* The store refused the submission just made: undo dp_ackq_submit (the
 * slot stays taken; free it). */
void dp_ackq_unsubmit(struct dp_ackq *q, uint32_t slot);

static inline bool
dp_ackq_has_free(const struct dp_ackq *q)
{
	return q->free_head != DP_ACKQ_NONE;
}

/* Could a duplicate-only batch be ACKed right now (nothing submitted before
 * it is still in flight)? */
static inline bool
dp_ackq_settled(const struct dp_ackq *q)
{
	return q->completed >= q->submitted;
}

/* Queue slot (taken) as a barrier behind everything submitted so far.
 * Only when !dp_ackq_settled(q) (else ACK at once). */
void dp_ackq_barrier(struct dp_ackq *q, uint32_t slot);

/* The store completed the oldest submitted batch (slot): counts it.  The
 * caller handles the batch, frees the slot, then pops what it unblocked:
 * dp_ackq_pop_released() after a success, dp_ackq_pop_barrier() until
 * DP_ACKQ_NONE after a failure. */
void dp_ackq_complete(struct dp_ackq *q, uint32_t slot);

/* The oldest barrier if all batches submitted before it have completed,
 * removed from the queue (the caller ACKs it and frees it); else NONE. */
uint32_t dp_ackq_pop_released(struct dp_ackq *q);

/* The oldest barrier whatever its ticket (to drop it); NONE when empty. */
uint32_t dp_ackq_pop_barrier(struct dp_ackq *q);

#endif /* CHOT_DP_ACKQ_H */
