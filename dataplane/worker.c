/*
 * A worker: the per-batch pipeline of DESIGN §3, in order
 *
 *   dp_admit (admit.c: window classification, keys of the batch's key_id,
 *   AEAD open, window accept) -> dp_ingest (ingest.c: decode, validation,
 *   pseudonym, bulk dedupe, survivors) -> store submit -> (completion)
 *   window stored -> cumulative ACK, tagged with the ACK key of that
 *   batch's key_id; the ACK queue (ackq.c) orders the ACKs.
 *
 * The checkpoint loop (DESIGN §9): dp_ingest checks every valid event
 * against the lists in force (cplists.h); a batch with flag bit 1 gets its
 * CHV1 verdict right after, from this worker's TX ring, before the store
 * (checkpoint_tx.h); the store writes the survivors' alerts with the batch,
 * and the completion counts them raised (stored) or dropped.
 *
 * This file is the per-batch glue: admit, ingest, the store submit, the
 * store completions and the ACK frames; worker_state.c has the shard's
 * creation, its store poll and drain and its published figures
 * (worker_impl.h: the state both share).  admit, ingest and the ACK queue
 * are the shared steps chot-sockbase calls too.
 *
 * I/O per burst, not per datagram (txq.h): the ACK frames a burst produces
 * go to the TX ring in one enqueue and its received mbufs are freed in one
 * bulk free, at dp_worker_burst_end() (and at the end of a store poll, for
 * the ACKs of completions).
 *
 * Frame parsing and the chot header check happen on the RX lcore (main.c),
 * which needs the device_id to pick the worker; this file sees only
 * datagrams with a well-formed header.
 *
 * Outcomes and their counters (the accounting identities of counters.h):
 *   stale epoch / replay / too old   stale_epoch / replayed, only once the
 *                                    tag verified (re-ACK at once when the
 *                                    batch is known stored; a pending one is
 *                                    covered by the ACK its completion sends)
 *   unknown key id / bad tag         bad_tag
 *   undecodable body                 decode_errors; the sender is authentic,
 *                                    so the window moves and the batch is
 *                                    "stored" (nothing to store) and ACKed,
 *                                    or the scanner would retry it forever
 *   accepted                         batches_accepted; each event is one of
 *                                    bad_events / dup_scans / pending ->
 *                                    stored (or dropped)
 *   store refuses (-ENOBUFS)         events_dropped; window and dedupe rolled
 *                                    back, no ACK: the retransmission is
 *                                    accepted later
 *
 * A batch whose events were all duplicates has nothing to write, but the
 * scans it duplicates may still be on their way to Redis (a scanner that
 * re-packed its outbox into a new epoch sends exactly that).  Its ACK would
 * claim them stored, so it waits behind a barrier (ackq.h): it is ACKed only
 * once every batch submitted before it has completed.
 *
 * The cycles spent in dp_admit + dp_ingest and in the ACK tag
 * (wire_ack_build) are summed apart (dp_worker_shared_cycles): chot-sockbase
 * runs the same three; what the loop spends besides them is the I/O path's
 * own cost per datagram (io_cycles_per_datagram, DESIGN §7).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>

#include "cplists.h"
#include "cptable.h"
#include "log.h"
#include "reply.h"
#include "worker_impl.h"

/*
 * The CHA1 message of intent it, tagged with the ACK key of generation
 * key_id: the generation of the batch it answers, whatever generation the
 * device used since.
 */
static void
worker_ack_tag(struct dp_worker *w, struct dp_ack_intent *it)
{
	struct wire_ack a = { .key_id = it->key_id, .device_id = it->dev->device_id,
			      .boot_epoch = it->epoch, .acked_seq = it->acked };
	const uint8_t *ackkey = dp_admit_ackkey(it->dev, it->key_id, w->keys, &w->ack_scratch);

	it->tagged = ackkey != NULL;     /* else cannot happen: the batch verified under key_id */
	if (it->tagged)
		wire_ack_build(it->ack, &a, ackkey);
}

/* The frame of a tagged intent, in a consumed RX mbuf of the burst when
 * there is one (txq.h: its lines are warm, and there is no alloc / free). */
static void
worker_ack_frame(struct dp_worker *w, const struct dp_ack_intent *it)
{
	struct rte_mbuf *m;
	int len;

	if (!it->tagged) {
		w->ctr.acks_dropped++;
		return;
	}
	m = dp_txq_reuse(&w->txq);
	if (m == NULL && (m = rte_pktmbuf_alloc(w->pool)) == NULL) {
		w->ctr.acks_dropped++;
		return;
	}
	len = dp_reply_udp(rte_pktmbuf_mtod(m, uint8_t *),
			   rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m), it->hdr, &it->f,
			   it->ack, sizeof(it->ack));
	if (len < 0) {
		rte_pktmbuf_free(m);
		w->ctr.acks_dropped++;
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	m->ol_flags = 0;               /* a direct mbuf (RX offload flags mean nothing on TX) */
	(void)dp_txq_add(&w->txq, m);  /* room: at most DP_TXQ_MAX intents per flush */
}

void
dp_worker_acks_build(struct dp_worker *w)
{
	uint64_t t0;
	unsigned i;

	if (w->n_acks == 0)
		return;
	if (w->txq.n_out + w->n_acks > DP_TXQ_MAX) {
		/* Cannot happen: ACK frames are queued only here, and handed on
		 * right after (dp_worker_txq_flush).  Counted if it ever does. */
		struct dp_txq_result r = dp_txq_flush(&w->txq);

		w->ctr.acks_sent += r.sent;
		w->ctr.acks_dropped += r.refused;
	}
	/* The tags first, timed as one: the ACK tag is chot-sockbase's too. */
	t0 = rte_rdtsc();
	for (i = 0; i < w->n_acks; i++)
		worker_ack_tag(w, &w->acks[i]);
	w->shared_cycles += rte_rdtsc() - t0;
	for (i = 0; i < w->n_acks; i++)
		worker_ack_frame(w, &w->acks[i]);
	w->n_acks = 0;
}

/*
 * ACK (dev, key_id, epoch, acked) back to the datagram (hdr, f), built at
 * the end of the burst (dp_worker_burst_end, or of the store poll) in one
 * of the burst's consumed mbufs.  One ACK per batch, in order: a device
 * with several batches in a burst could be answered by one cumulative ACK
 * (DESIGN §2), but the integration tests pin one per batch (test_admit:
 * the re-ACK of a re-sent batch is the last frame, under its own key).
 */
static void
worker_send_ack(struct dp_worker *w, struct dp_device *dev, uint16_t key_id, uint32_t epoch,
		uint64_t acked, const uint8_t *hdr, const struct dp_frame *f)
{
	size_t hlen = (size_t)f->l4_off + 8;
	struct dp_ack_intent *it;

	if (acked == 0)
		return;     /* nothing of this epoch is stored yet: nothing to say */
	if (w->n_acks == DP_TXQ_MAX)
		dp_worker_txq_flush(w);
	it = &w->acks[w->n_acks++];
	it->dev = dev;
	it->acked = acked;
	it->epoch = epoch;
	it->key_id = key_id;
	it->f = *f;
	memcpy(it->hdr, hdr, hlen < sizeof(it->hdr) ? hlen : sizeof(it->hdr));
}

static void
worker_pend_free(struct dp_worker *w, uint32_t slot)
{
	w->pend[slot].dev = NULL;
	dp_ackq_free(&w->ackq, slot);
}

/* Fill slot p with what the ACK of (h, frame, f) needs. */
static void
worker_pend_fill(struct dp_pending *p, struct dp_device *dev, const struct wire_hdr *h,
		 const uint8_t *frame, const struct dp_frame *f, uint16_t n_events)
{
	size_t hlen = (size_t)f->l4_off + 8;

	p->dev = dev;
	p->epoch = h->boot_epoch;
	p->seq = h->batch_seq;
	p->key_id = h->key_id;
	p->n_events = n_events;
	p->want_ack = (h->flags & WIRE_FLAG_ACK) != 0;
	p->f = *f;
	memcpy(p->hdr, frame, hlen < sizeof(p->hdr) ? hlen : sizeof(p->hdr));
}

/* The batch in p is stored (or had nothing to store): move the window, ACK. */
static void
worker_pend_stored(struct dp_worker *w, const struct dp_pending *p)
{
	uint64_t acked = dp_window_stored(&p->dev->win, p->epoch, p->seq);

	/* A device that rebooted meanwhile has a new window: no ACK for the old one. */
	if (p->want_ack && p->dev->win.epoch == p->epoch)
		worker_send_ack(w, p->dev, p->key_id, p->epoch, acked, p->hdr, &p->f);
}

/*
 * A batch was dropped: the barriers queued behind it may duplicate its
 * events, so none can be ACKed.  Forget them (their retransmissions are
 * judged again) and count them as deferred ACKs dropped.
 */
void
dp_worker_barriers_drop(struct dp_worker *w)
{
	uint32_t slot;

	while ((slot = dp_ackq_pop_barrier(&w->ackq)) != DP_ACKQ_NONE) {
		struct dp_pending *p = &w->pend[slot];

		dp_window_forget(&p->dev->win, p->epoch, p->seq);
		w->ctr.acks_deferred_dropped++;
		worker_pend_free(w, slot);
	}
}

/* Release the barriers whose predecessors have all completed. */
static void
worker_barriers_release(struct dp_worker *w)
{
	uint32_t slot;

	while ((slot = dp_ackq_pop_released(&w->ackq)) != DP_ACKQ_NONE) {
		worker_pend_stored(w, &w->pend[slot]);
		worker_pend_free(w, slot);
	}
}

void
dp_worker_store_done(void *ctx, uint64_t cookie, int status)
{
	struct dp_worker *w = ctx;
	struct dp_pending *p = &w->pend[cookie];

	dp_ackq_complete(&w->ackq, (uint32_t)cookie);
	w->ctr.events_pending -= p->n_events;
	dp_alert_tally_count(&w->ctr, &p->alerts, status == 0);
	if (status == 0) {
		w->ctr.events_stored += p->n_events;
		worker_pend_stored(w, p);
	} else {
		w->ctr.events_dropped += p->n_events;
		w->ctr.batches_dropped++;
		dp_window_forget(&p->dev->win, p->epoch, p->seq);
		if (!w->abandoning)   /* at shutdown dp_worker_drain says it once */
			DP_LOG(WARNING, "worker %u: device %u epoch %u seq %lu: store gave up "
			       "(%d), %u events dropped\n", w->id, p->dev->device_id, p->epoch,
			       (unsigned long)p->seq, status, p->n_events);
	}
	worker_pend_free(w, (uint32_t)cookie);
	if (status == 0)
		worker_barriers_release(w);
	else
		dp_worker_barriers_drop(w);
}

/* Batch with nothing (more) to store: stored at once, ACKed if asked. */
static void
worker_complete_empty(struct dp_worker *w, struct dp_device *dev, const struct wire_hdr *h,
		      const uint8_t *frame, const struct dp_frame *f)
{
	uint64_t acked = dp_window_stored(&dev->win, h->boot_epoch, h->batch_seq);

	if (h->flags & WIRE_FLAG_ACK)
		worker_send_ack(w, dev, h->key_id, h->boot_epoch, acked, frame, f);
}

/*
 * Batch of duplicates only: stored once everything submitted before it is
 * (see the top of this file).  Without a free slot it is not ACKed at all:
 * the window forgets it and the retransmission is judged again.
 */
static void
worker_complete_after_barrier(struct dp_worker *w, struct dp_device *dev,
			      const struct wire_hdr *h, const uint8_t *frame,
			      const struct dp_frame *f)
{
	uint32_t slot;

	if (dp_ackq_settled(&w->ackq)) {
		worker_complete_empty(w, dev, h, frame, f);
		return;
	}
	slot = dp_ackq_take(&w->ackq);
	if (slot == DP_ACKQ_NONE) {
		dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
		w->ctr.acks_deferred_dropped++;
		return;
	}
	worker_pend_fill(&w->pend[slot], dev, h, frame, f, 0);
	dp_ackq_barrier(&w->ackq, slot);
}

/* The batch's CHV1 verdict (DESIGN §9), right after its check, before the store. */
static void
worker_send_verdict(struct dp_worker *w, struct dp_device *dev, const struct wire_hdr *h,
		    const uint8_t *frame, const struct dp_frame *f)
{
	struct wire_verdict *v = &w->verdict;

	v->key_id = h->key_id;
	v->device_id = h->device_id;
	v->boot_epoch = h->boot_epoch;
	v->batch_seq = h->batch_seq;
	v->n = (uint8_t)w->ing.n_events;
	memcpy(v->code, w->ing.codes, w->ing.n_events * sizeof(v->code[0]));
	dp_verdict_send(&w->ctr, w->pool, w->tx_ring, frame, f, v,
			dp_admit_ackkey(dev, h->key_id, w->keys, &w->ack_scratch), w->rx_tsc);
}

/* An authentic batch went through dp_ingest (result r): submit its
 * survivors, or complete it at once when it has none. */
static void
worker_accept(struct dp_worker *w, struct dp_device *dev, const struct wire_hdr *h,
	      const uint8_t *frame, const struct dp_frame *f, enum chot_reason r)
{
	unsigned n = w->ing.n;
	struct dp_alert_tally tally = { 0 };
	uint32_t slot;

	if (r == WIRE_OK && (h->flags & WIRE_FLAG_VERDICT))
		worker_send_verdict(w, dev, h, frame, f);
	for (unsigned i = 0; i < n; i++)
		dp_alert_tally_add(&tally, w->ing.sevs[i].reasons);
	if (r != WIRE_OK || n == 0) {
		if (r == WIRE_OK && w->ing.dups > 0)
			worker_complete_after_barrier(w, dev, h, frame, f);
		else
			worker_complete_empty(w, dev, h, frame, f);
		return;
	}
	slot = dp_ackq_take(&w->ackq);
	if (slot == DP_ACKQ_NONE)
		goto drop;
	worker_pend_fill(&w->pend[slot], dev, h, frame, f, (uint16_t)n);
	w->pend[slot].alerts = tally;
	w->ctr.events_pending += n;
	/* null:// completes inside submit: the slot must be complete before,
	 * and counted as submitted before it can be completed. */
	dp_ackq_submit(&w->ackq, slot);
	if (dp_store_submit(w->store, slot, w->ing.sevs, n) == 0) {
		dp_ingest_commit(&w->ing);
		return;
	}
	dp_ackq_unsubmit(&w->ackq, slot);
	w->ctr.events_pending -= n;
	worker_pend_free(w, slot);
drop:
	dp_ingest_rollback(&w->ing);
	dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
	w->ctr.events_dropped += n;
	w->ctr.batches_dropped++;
	dp_alert_tally_count(&w->ctr, &tally, false);
}

void
dp_worker_batch(struct dp_worker *w, struct rte_mbuf *m, const struct dp_frame *f,
		const struct wire_hdr *h, uint64_t now_ms)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *dgram = frame + f->payload_off;
	struct dp_admit *a = &w->admit;
	uint64_t t0 = rte_rdtsc();
	enum chot_reason r;
	w->rx_tsc = dp_rx_tsc_get(m);
	r = dp_admit(w->devs, w->keys, dgram, h, w->pt, a);
	if (r == WIRE_OK) {
		/* The lists in force for this batch (never NULL once started). */
		w->ing.lt = dp_lists_get();
		w->ing.lk = w->ing.lt != NULL ? &cpt_lookup : NULL;
		w->ing.device_id = h->device_id;
		/* Vault hints only for a batch that can get a slot. */
		r = dp_ingest(&w->ing, w->pt, h->body_len, now_ms,
			      dp_ackq_has_free(&w->ackq), &w->ctr);
		w->shared_cycles += rte_rdtsc() - t0;
		worker_accept(w, a->dev, h, frame, f, r);
	} else {
		w->shared_cycles += rte_rdtsc() - t0;
		dp_count_reason(&w->ctr, r);
		/* An authentic retransmission of a stored batch: ACK it again. */
		if ((r == WIN_REPLAY || r == WIN_TOO_OLD) && (h->flags & WIRE_FLAG_ACK) &&
		    dp_window_is_stored(&a->dev->win, h->boot_epoch, h->batch_seq))
			worker_send_ack(w, a->dev, h->key_id, h->boot_epoch, a->dev->win.acked,
					frame, f);
	}
	/* Freed with the rest of the burst's, or an ACK's frame (txq.h). */
	if (dp_txq_consumed(&w->txq, m))
		dp_worker_txq_flush(w);
	dp_worker_publish(w);
}

void
dp_worker_burst_end(struct dp_worker *w)
{
	dp_worker_txq_flush(w);
}

