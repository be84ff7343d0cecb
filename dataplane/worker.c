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
 * This file is the glue: the state of one shard, the ACK frames, the store
 * completions, the published figures.  admit, ingest and the ACK queue are
 * the shared steps chot-sockbase calls too.
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
#include <rte_malloc.h>

#include "ackq.h"
#include "admit.h"
#include "checkpoint_tx.h"
#include "clock.h"
#include "cplists.h"
#include "cptable.h"
#include "dedupe.h"
#include "device.h"
#include "ingest.h"
#include "log.h"
#include "reply.h"
#include "snapshot.h"
#include "thp.h"
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
} __rte_cache_aligned;

/* The one clock (proto/clock.h), anchored to the TSC. */
static struct chot_clock dp_clock;

void
dp_time_init(void)
{
	chot_clock_anchor(&dp_clock, rte_rdtsc(), rte_get_tsc_hz());
}

uint64_t
dp_now_us(void)
{
	return chot_clock_mono_us(&dp_clock, rte_rdtsc());
}

uint64_t
dp_clock_ms(const struct dp_conf *c)
{
	if (c->now_ms != 0)
		return c->now_ms;
	return chot_clock_real_ms(&dp_clock, rte_rdtsc());
}

/*
 * Build an ACK for (dev, key_id, epoch, acked) back to the datagram (hdr, f),
 * tagged with the ACK key of generation key_id: the generation of the batch
 * it answers, whatever generation the device used since.
 */
static void
worker_send_ack(struct dp_worker *w, const struct dp_device *dev, uint16_t key_id,
		uint32_t epoch, uint64_t acked, const uint8_t *hdr, const struct dp_frame *f)
{
	struct wire_ack a = { .key_id = key_id, .device_id = dev->device_id,
			      .boot_epoch = epoch, .acked_seq = acked };
	uint8_t ack[WIRE_ACK_LEN];
	const uint8_t *ackkey;
	struct rte_mbuf *m;
	int len;

	uint64_t t0;

	if (acked == 0)
		return;     /* nothing of this epoch is stored yet: nothing to say */
	t0 = rte_rdtsc();
	ackkey = dp_admit_ackkey(dev, key_id, w->keys, &w->ack_scratch);
	if (ackkey == NULL) {       /* cannot happen: the batch verified under key_id */
		w->ctr.acks_dropped++;
		return;
	}
	wire_ack_build(ack, &a, ackkey);
	w->shared_cycles += rte_rdtsc() - t0;    /* the ACK tag: chot-sockbase's too */
	m = rte_pktmbuf_alloc(w->pool);
	if (m == NULL) {
		w->ctr.acks_dropped++;
		return;
	}
	len = dp_reply_udp(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), hdr, f,
			   ack, sizeof(ack));
	if (len < 0 || rte_pktmbuf_append(m, (uint16_t)len) == NULL ||
	    rte_ring_sp_enqueue(w->tx_ring, m) != 0) {
		rte_pktmbuf_free(m);
		w->ctr.acks_dropped++;
		return;
	}
	w->ctr.acks_sent++;
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

/* The figures the RX lcore reads (worker.h), after every change point. */
static inline void
worker_publish(struct dp_worker *w)
{
	__atomic_store_n(&w->pub.events_pending, w->ctr.events_pending, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.busy, w->ackq.n_busy, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.barriers, w->ackq.n_barriers, __ATOMIC_RELAXED);
}

/* Copy counters and table sizes into the published snapshot (snapshot.h).
 * Off the per-packet path: every DP_WORKER_SNAP_US, and at the end. */
static void
worker_snapshot(struct dp_worker *w)
{
	struct dp_worker_snap sn;
	struct dp_dedupe_stats ds;
	struct dp_store_stats st;

	RTE_BUILD_BUG_ON(sizeof(sn) % sizeof(uint64_t) != 0);
	memset(&sn, 0, sizeof(sn));
	sn.ctr = w->ctr;
	sn.devices = dp_devices_count(w->devs);
	dp_dedupe_get_stats(w->dedupe, &ds);
	sn.dedupe_entries = ds.entries;
	sn.dedupe_reclaimed = ds.reclaimed;
	sn.dedupe_late = ds.late;
	sn.dedupe_lateness_max_ms = ds.lateness_max_ms;
	sn.backlog_batches = w->ackq.n_busy;
	sn.barrier_batches = w->ackq.n_barriers;
	dp_store_get_stats(w->store, &st);
	sn.backlog_events = st.events_pending;
	sn.redis_connected = st.connected;
	sn.redis_reconnects = st.reconnects;
	sn.redis_commands = st.commands_sent;
	sn.snapshots = dp_snap_count(&w->snap_seq) + 1;
	dp_snap_publish(&w->snap_seq, (uint64_t *)&w->snap, (const uint64_t *)&sn,
			sizeof(sn) / sizeof(uint64_t));
}

/*
 * A batch was dropped: the barriers queued behind it may duplicate its
 * events, so none can be ACKed.  Forget them (their retransmissions are
 * judged again) and count them as deferred ACKs dropped.
 */
static void
worker_barriers_drop(struct dp_worker *w)
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

static void
worker_store_done(void *ctx, uint64_t cookie, int status)
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
		worker_barriers_drop(w);
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
	rte_pktmbuf_free(m);
	worker_publish(w);
}

/* Counters that mirror the store's and the dedupe table's own. */
static void
worker_refresh(struct dp_worker *w)
{
	struct dp_store_stats st;

	dp_store_get_stats(w->store, &st);
	w->ctr.redis_errors = st.redis_errors;
	w->ctr.redis_moved = st.moved;
	w->ctr.redis_ask = st.ask;
	w->ctr.redis_tryagain = st.tryagain;
	w->ctr.redis_clusterdown = st.clusterdown;
	w->ctr.redis_map_refreshes = st.map_refreshes;
	w->ctr.redis_wait_short = st.wait_short;
	w->ctr.redis_resent = st.resent;
	/* Every loop turn: only the counter, not rte_hash_count() (it showed in
	 * the profile); the entry count goes into the periodic snapshot. */
	w->ctr.dedupe_full = dp_dedupe_full(w->dedupe);
}

void
dp_worker_poll(struct dp_worker *w, uint64_t now_us)
{
	dp_store_poll(w->store, now_us);
	dp_lists_quiescent(w->id);     /* holds no lists table between batches */
	worker_refresh(w);
	worker_publish(w);
	if (now_us >= w->next_snap_us) {
		worker_snapshot(w);
		w->next_snap_us = now_us + DP_WORKER_SNAP_US;
	}
}

void
dp_worker_wait(struct dp_worker *w, unsigned max_us)
{
	dp_store_wait(w->store, max_us);
}

void
dp_worker_drain(struct dp_worker *w, unsigned timeout_ms)
{
	uint64_t left;

	dp_lists_offline(w->id);       /* checks nothing more: a reload need not wait */
	left = dp_store_drain(w->store, timeout_ms);

	if (left > 0) {
		uint64_t ev0 = w->ctr.events_dropped, b0 = w->ctr.batches_dropped;

		/* What Redis has not confirmed by now never will be before we
		 * exit: drop it, counted, never ACKed (DESIGN §3). */
		w->abandoning = true;
		dp_store_abandon(w->store);
		DP_LOG(WARNING, "worker %u: Redis did not confirm %lu events within "
		       "redis.drain_ms (%u ms): %lu events of %lu batches counted in "
		       "events_dropped, not ACKed (scanners retransmit them)\n", w->id,
		       (unsigned long)left, timeout_ms, (unsigned long)(w->ctr.events_dropped - ev0),
		       (unsigned long)(w->ctr.batches_dropped - b0));
	}
	if (w->ctr.events_pending != 0 || w->ackq.n_busy != 0)
		DP_LOG(ERR, "worker %u: after the drain %lu events / %u batches still pending: "
		       "accounting bug\n", w->id, (unsigned long)w->ctr.events_pending,
		       w->ackq.n_busy);
	worker_barriers_drop(w);    /* none left after a full drain */
	worker_refresh(w);
	worker_publish(w);
	worker_snapshot(w);
}

struct dp_counters *
dp_worker_counters(struct dp_worker *w)
{
	return &w->ctr;
}

uint64_t
dp_worker_shared_cycles(const struct dp_worker *w)
{
	return w->shared_cycles;
}

struct rte_ring *
dp_worker_rx_ring(struct dp_worker *w)
{
	return w->rx_ring;
}

struct rte_ring *
dp_worker_tx_ring(struct dp_worker *w)
{
	return w->tx_ring;
}

unsigned
dp_worker_room(const struct dp_worker *w)
{
	uint64_t cap = w->conf->redis_max_pending_events;
	uint64_t used = __atomic_load_n(&w->pub.events_pending, __ATOMIC_RELAXED);
	uint32_t busy = __atomic_load_n(&w->pub.busy, __ATOMIC_RELAXED);
	uint32_t barriers = __atomic_load_n(&w->pub.barriers, __ATOMIC_RELAXED);
	uint64_t events = used < cap ? (cap - used) / WIRE_MAX_EVENTS : 0;
	uint64_t slots = busy + barriers < w->ackq.n_slots ? w->ackq.n_slots - busy - barriers : 0;

	if (used == 0 && busy == 0 && barriers == 0)
		return slots > 0 ? (unsigned)RTE_MAX(events, 1ull) : 0;
	return (unsigned)RTE_MIN(events, slots);
}

uint64_t
dp_worker_events_pending(const struct dp_worker *w)
{
	return __atomic_load_n(&w->pub.events_pending, __ATOMIC_RELAXED);
}

int
dp_worker_read_snap(const struct dp_worker *w, struct dp_worker_snap *out)
{
	return dp_snap_read(&w->snap_seq, (const uint64_t *)&w->snap, (uint64_t *)out,
			    sizeof(*out) / sizeof(uint64_t), 1000);
}

/* The store's log lines, into chotd's logtype (store.h). */
static void
worker_store_log(void *ctx, int level, const char *line)
{
	const struct dp_worker *w = ctx;
	uint32_t l = level == DP_STORE_LOG_ERR ? RTE_LOG_ERR :
		     level == DP_STORE_LOG_WARNING ? RTE_LOG_WARNING : RTE_LOG_INFO;

	rte_log(l, dp_logtype, "chotd: worker %u: %s\n", w->id, line);
}

struct dp_worker *
dp_worker_create(const struct dp_worker_params *p)
{
	const struct dp_conf *c = p->conf;
	struct dp_store_conf sc = {
		.url = c->redis_url,
		.user = c->redis_user[0] ? c->redis_user : NULL,
		.password = p->redis_password,
		.pipeline = c->redis_pipeline,
		.flush_us = c->redis_flush_us,
		.retention_days = c->redis_retention_days,
		.max_pending_events = c->redis_max_pending_events,
		.wait_replicas = c->redis_wait_replicas,
		.wait_timeout_ms = c->redis_wait_timeout_ms,
		.vault_key = p->keys->has_vault ? p->keys->vault : NULL,
		.alerts_max = c->alerts_max,
		.log = worker_store_log,
	};
	struct dp_worker *w;
	char name[RTE_RING_NAMESIZE];
	uint32_t n_pend;
	size_t vault_len;

	w = rte_zmalloc_socket("worker", sizeof(*w), RTE_CACHE_LINE_SIZE, p->socket);
	if (w == NULL) {
		DP_LOG(ERR, "worker %u: cannot allocate its state\n", p->id);
		errno = ENOMEM;
		return NULL;
	}
	w->id = p->id;
	w->conf = c;
	w->keys = p->keys;
	w->pool = p->pool;
	snprintf(name, sizeof(name), "chot_dev%u", p->id);
	w->devs = dp_devices_create(name, c->max_devices, p->socket);
	snprintf(name, sizeof(name), "chot_dd%u", p->id);
	w->dedupe = dp_dedupe_create(name, c->dedupe_capacity, c->dedupe_window_s, p->socket);
	snprintf(name, sizeof(name), "chot_rx%u", p->id);
	w->rx_ring = rte_ring_create(name, p->ring_size, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "chot_tx%u", p->id);
	w->tx_ring = rte_ring_create(name, p->ring_size, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	n_pend = c->redis_max_pending_events / 4 + 64;
	w->pend = rte_zmalloc_socket("pending", (size_t)n_pend * sizeof(*w->pend), 0, p->socket);
	w->ackq_mem = rte_zmalloc_socket("ackq", dp_ackq_mem_size(n_pend), 0, p->socket);
	/* Probed at random once an event: on huge pages when THP allows (thp.h). */
	w->vault_seen = dp_thp_alloc(DP_VAULT_CACHE_SIZE * sizeof(*w->vault_seen));
	if (w->devs == NULL || w->dedupe == NULL || w->rx_ring == NULL || w->tx_ring == NULL ||
	    w->pend == NULL || w->ackq_mem == NULL || w->vault_seen == NULL) {
		DP_LOG(ERR, "worker %u: cannot allocate tables (devices %u, dedupe %u, "
		       "pending %u): out of memory? raise -m\n", p->id, c->max_devices,
		       c->dedupe_capacity, n_pend);
		goto fail;
	}
	vault_len = DP_VAULT_CACHE_SIZE * sizeof(*w->vault_seen);
	DP_LOG(INFO, "worker %u: vault cache %zu KiB, %zu KiB on huge pages\n", p->id,
	       vault_len / 1024, dp_thp_huge_bytes(w->vault_seen, vault_len) / 1024);
	dp_ackq_init(&w->ackq, w->ackq_mem, n_pend);
	dp_ingest_init(&w->ing, w->keys, (uint64_t)c->redis_retention_days * 86400000ULL,
		       w->dedupe, w->vault_seen);
	sc.log_ctx = w;
	w->store = dp_store_create(&sc, worker_store_done, w);
	if (w->store == NULL) {
		DP_LOG(ERR, "worker %u: store '%s': %s\n", p->id, c->redis_url, strerror(errno));
		goto fail;
	}
	worker_publish(w);
	worker_snapshot(w);    /* before its lcore starts: telemetry never reads garbage */
	return w;
fail:
	dp_worker_destroy(w);
	errno = ENOMEM;
	return NULL;
}

void
dp_worker_destroy(struct dp_worker *w)
{
	if (w == NULL)
		return;
	if (w->store != NULL)
		dp_store_destroy(w->store);
	dp_devices_destroy(w->devs);
	dp_dedupe_destroy(w->dedupe);
	rte_ring_free(w->rx_ring);
	rte_ring_free(w->tx_ring);
	rte_free(w->pend);
	rte_free(w->ackq_mem);
	dp_thp_free(w->vault_seen, DP_VAULT_CACHE_SIZE * sizeof(*w->vault_seen));
	rte_free(w);
}
