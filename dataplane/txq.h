/*
 * A worker's frames of one burst, handed on in bulk (DESIGN §3's I/O path):
 *
 *   - the ACK frames it built go to the TX lcore's ring in one enqueue
 *     (rte_ring_sp_enqueue_burst), not one enqueue per ACK;
 *   - the received mbufs it has consumed are freed together
 *     (rte_pktmbuf_free_bulk), not one free per datagram, or carry the
 *     burst's ACK frames (dp_txq_reuse): no alloc, no free.
 *
 * Both happen at dp_txq_flush(), which the worker calls at the end of each
 * burst and of each store poll (completions ACK there), and by itself
 * when either array is full: nothing waits longer than the burst that
 * produced it.  Plain DPDK, one owner (the worker's lcore): no lock.
 */
#ifndef CHOT_DP_TXQ_H
#define CHOT_DP_TXQ_H

#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#define DP_TXQ_MAX 64

struct dp_txq {
	struct rte_ring *ring;                 /* to the lcore that owns the TX queue */
	unsigned n_out, n_done;
	struct rte_mbuf *out[DP_TXQ_MAX];      /* built, not yet on the ring */
	struct rte_mbuf *done[DP_TXQ_MAX];     /* received and consumed, not yet freed */
};

/* What a flush did with the frames it held. */
struct dp_txq_result {
	unsigned sent;       /* on the ring */
	unsigned refused;    /* the ring was full: freed */
};

static inline void
dp_txq_init(struct dp_txq *q, struct rte_ring *ring)
{
	q->ring = ring;
	q->n_out = q->n_done = 0;
}

/* Hand everything on: frames to the ring, consumed mbufs back to their pool. */
static inline struct dp_txq_result
dp_txq_flush(struct dp_txq *q)
{
	struct dp_txq_result r = { 0, 0 };

	if (q->n_out > 0) {
		r.sent = rte_ring_sp_enqueue_burst(q->ring, (void **)q->out, q->n_out, NULL);
		r.refused = q->n_out - r.sent;
		if (r.refused > 0)
			rte_pktmbuf_free_bulk(q->out + r.sent, r.refused);
		q->n_out = 0;
	}
	if (q->n_done > 0) {
		rte_pktmbuf_free_bulk(q->done, q->n_done);
		q->n_done = 0;
	}
	return r;
}

/* Queue a built frame; false: full, flush first (the caller counts). */
static inline bool
dp_txq_add(struct dp_txq *q, struct rte_mbuf *m)
{
	if (q->n_out == DP_TXQ_MAX)
		return false;
	q->out[q->n_out++] = m;
	return true;
}

/* A consumed mbuf to build a frame in (the most recent: its lines are the
 * warmest), instead of an alloc and a free; NULL when none is plain
 * enough (one segment, direct, not shared). */
static inline struct rte_mbuf *
dp_txq_reuse(struct dp_txq *q)
{
	struct rte_mbuf *m;

	if (q->n_done == 0)
		return NULL;
	m = q->done[q->n_done - 1];
	if (!RTE_MBUF_DIRECT(m) || m->nb_segs != 1 || rte_mbuf_refcnt_read(m) != 1)
		return NULL;
	q->n_done--;
	return m;
}

/* A received mbuf the worker is done with; freed at the next flush.  true
 * when the array is now full (the caller flushes). */
static inline bool
dp_txq_consumed(struct dp_txq *q, struct rte_mbuf *m)
{
	q->done[q->n_done++] = m;
	return q->n_done == DP_TXQ_MAX;
}

#endif /* CHOT_DP_TXQ_H */
