/*
 * A worker's state (worker.h), shared by the files that make it up:
 *
 *   worker.c        the per-batch path: admit -> ingest -> store submit,
 *                   completions, barriers, ACK frames;
 *   worker_state.c  creation, the store poll and drain, the published
 *                   figures (snapshot, flow-control hints), the clock.
 *
 * Only those two include this header: everything else sees struct
 * dp_worker through worker.h's functions.
 */
#ifndef CHOT_DP_WORKER_IMPL_H
#define CHOT_DP_WORKER_IMPL_H

#include "ackq.h"
#include "admit.h"
#include "checkpoint_tx.h"
#include "device.h"
#include "ingest.h"
#include "snapshot.h"
#include "txq.h"
#include "worker.h"

/* What the ACK of one batch needs, per ACK-queue slot (ackq.h). */
struct dp_pending {
	struct dp_device *dev;
	uint32_t epoch;
	uint64_t seq;
	uint16_t key_id;
	uint16_t n_events;
	bool want_ack;
	struct dp_frame f;
	uint8_t hdr[DP_HDR_TMPL_MAX];
	struct dp_alert_tally alerts;  /* its stored events' alerts (checkpoint_tx.h) */
};

/* An ACK to send at the end of the burst (worker.c). */
struct dp_ack_intent {
	struct dp_device *dev;
	uint64_t acked;
	uint32_t epoch;
	uint16_t key_id;
	struct dp_frame f;
	bool tagged;                    /* ack holds the CHA1 message with its tag */
	uint8_t ack[WIRE_ACK_LEN];
	uint8_t hdr[DP_HDR_TMPL_MAX];
};

/* What the RX lcore reads for flow control (worker.h), on its own line:
 * written by the worker with relaxed __atomic stores, read likewise.  They
 * are hints (room, idleness), never used to reach other data. */
struct dp_worker_pub {
	uint64_t events_pending;
	uint32_t busy;
	uint32_t barriers;
} __rte_cache_aligned;

struct dp_worker {
	struct dp_counters ctr;               /* first: cache-aligned */
	struct dp_worker_pub pub;
	struct dp_snap_seq snap_seq;
	struct dp_worker_snap snap;           /* published copy (snapshot.h) */
	uint64_t next_snap_us;
	uint64_t shared_cycles;               /* in dp_admit + dp_ingest */
	bool abandoning;                      /* shutdown gave up on the store */
	unsigned id;
	const struct dp_conf *conf;
	const struct chot_keys *keys;
	struct dp_devices *devs;
	struct dp_dedupe *dedupe;
	struct dp_store *store;
	struct rte_mempool *pool;
	struct rte_ring *rx_ring, *tx_ring;
	struct dp_ackq ackq;
	struct dp_pending *pend;              /* ackq.n_slots */
	struct dp_ackq_link *ackq_mem;
	struct dp_vault_seen *vault_seen;     /* the ingest's vault cache */
	struct dp_ingest ing;
	struct wire_verdict verdict;          /* the batch's CHV1, when asked for (§9) */
	uint64_t rx_tsc;                      /* when the RX lcore received it */
	uint8_t pt[WIRE_MAX_BODY];
	struct dp_admit admit;                /* the datagram being admitted */
	struct dp_devkeys ack_scratch;        /* an ACK key not in the device's cache */
	struct dp_txq txq;                    /* the burst's ACK frames and consumed mbufs */
	unsigned n_acks;
	struct dp_ack_intent acks[DP_TXQ_MAX];  /* the burst's ACKs, built at its end */
} __rte_cache_aligned;

/* worker.c: build the burst's ACK frames (their intents). */
void dp_worker_acks_build(struct dp_worker *w);

/* Hand the burst's frames on (txq.h), its ACKs built first, and count the
 * ACKs that made it. */
static inline void
dp_worker_txq_flush(struct dp_worker *w)
{
	struct dp_txq_result r;

	dp_worker_acks_build(w);
	r = dp_txq_flush(&w->txq);

	w->ctr.acks_sent += r.sent;
	w->ctr.acks_dropped += r.refused;
}

/* The figures the RX lcore reads (worker.h), after every change point. */
static inline void
dp_worker_publish(struct dp_worker *w)
{
	__atomic_store_n(&w->pub.events_pending, w->ctr.events_pending, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.busy, w->ackq.n_busy, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.barriers, w->ackq.n_barriers, __ATOMIC_RELAXED);
}

/* worker.c: the store's completion callback, and forgetting the barriers
 * (at a drop, and at the end of a drain). */
void dp_worker_store_done(void *ctx, uint64_t cookie, int status);
void dp_worker_barriers_drop(struct dp_worker *w);

#endif /* CHOT_DP_WORKER_IMPL_H */
