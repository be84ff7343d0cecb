/*
 * The ACK queue (ackq.h): a free list and a FIFO of barriers over one
 * array of links, and two counters.
 */
#include "ackq.h"

void
dp_ackq_init(struct dp_ackq *q, void *mem, uint32_t n_slots)
{
	uint32_t i;

	q->link = mem;
	q->n_slots = n_slots;
	for (i = 0; i < n_slots; i++) {
		q->link[i].next = i + 1 < n_slots ? i + 1 : DP_ACKQ_NONE;
		q->link[i].ticket = 0;
	}
	q->free_head = n_slots > 0 ? 0 : DP_ACKQ_NONE;
	q->n_busy = 0;
	q->n_barriers = 0;
	q->barrier_head = q->barrier_tail = DP_ACKQ_NONE;
	q->submitted = q->completed = 0;
}

uint32_t
dp_ackq_take(struct dp_ackq *q)
{
	uint32_t slot = q->free_head;

	if (slot != DP_ACKQ_NONE) {
		q->free_head = q->link[slot].next;
		q->link[slot].next = DP_ACKQ_NONE;
	}
	return slot;
}

void
dp_ackq_free(struct dp_ackq *q, uint32_t slot)
{
	q->link[slot].next = q->free_head;
	q->free_head = slot;
}

void
dp_ackq_submit(struct dp_ackq *q, uint32_t slot)
{
	(void)slot;
	q->submitted++;
	q->n_busy++;
}

void
dp_ackq_unsubmit(struct dp_ackq *q, uint32_t slot)
{
	(void)slot;
	q->submitted--;
	q->n_busy--;
}

void
dp_ackq_barrier(struct dp_ackq *q, uint32_t slot)
{
	q->link[slot].ticket = q->submitted;
	q->link[slot].next = DP_ACKQ_NONE;
	if (q->n_barriers == 0)
		q->barrier_head = slot;
	else
		q->link[q->barrier_tail].next = slot;
	q->barrier_tail = slot;
	q->n_barriers++;
}

void
dp_ackq_complete(struct dp_ackq *q, uint32_t slot)
{
	(void)slot;
	q->completed++;
	q->n_busy--;
}

uint32_t
dp_ackq_pop_barrier(struct dp_ackq *q)
{
	uint32_t slot = q->barrier_head;

	if (q->n_barriers == 0)
		return DP_ACKQ_NONE;
	q->barrier_head = q->link[slot].next;
	q->n_barriers--;
	if (q->n_barriers == 0)
		q->barrier_head = q->barrier_tail = DP_ACKQ_NONE;
	q->link[slot].next = DP_ACKQ_NONE;
	return slot;
}

uint32_t
dp_ackq_pop_released(struct dp_ackq *q)
{
	if (q->n_barriers == 0 || q->link[q->barrier_head].ticket > q->completed)
		return DP_ACKQ_NONE;
	return dp_ackq_pop_barrier(q);
}
