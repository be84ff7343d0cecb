/*
 * The per-batch pipeline (DESIGN §3), stages in order:
 *
 *   admit (admit.c: window classification, keys of the batch's key_id,
 *   AEAD open, then window accept) -> arena decode -> per-event validation
 *   -> pseudonym -> dedupe -> store submit -> (completion) window stored
 *   -> cumulative ACK, tagged with the ACK key of that batch's key_id
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
 * claim them stored, so it waits behind a barrier: it is ACKed only once
 * every batch submitted before it has completed.  The store completes
 * batches in submission order (one FIFO of commands, replies in order), so
 * a ticket count is enough.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include "admit.h"
#include "dedupe.h"
#include "device.h"
#include "log.h"
#include "pseudonym.h"
#include "reply.h"
#include "snapshot.h"
#include "validate.h"
#include "worker.h"

/*
 * Subjects whose vault entry was written today (a power of two, 16 B each).
 * Direct-mapped: a subject evicted by another costs one extra SET, and every
 * stored event reads one random slot.  On the 100k-citizen week (7 x 100k
 * subject-days): 2^16 entries sent 994,049 vault SETs, 2^18 724,201, 2^20
 * 633,095; but on 4 KiB pages (--no-huge) the table's misses cost the
 * null:// ingest path ~70 cycles an event at 2^18 and ~380 at 2^20 over
 * 2^16 (docs/BENCHMARKS.md).  2^18 (4 MiB a worker) is the compromise.
 */
#define VAULT_CACHE_SIZE (1u << 18)

/* One batch handed to the store and not yet confirmed. */
struct dp_pending {
	struct dp_device *dev;
	uint32_t epoch;
	uint64_t seq;
	uint16_t key_id;
	uint16_t n_events;
	bool want_ack;
	struct dp_frame f;
	uint8_t hdr[DP_HDR_TMPL_MAX];
	uint32_t next_free;       /* free list, or the barrier queue */
	uint64_t ticket;          /* barrier: complete once `completed` reaches it */
};

struct vault_seen {
	uint64_t pid8;
	uint32_t day;
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
	bool abandoning;                      /* shutdown gave up on the store */
	unsigned id;
	const struct dp_conf *conf;
	const struct chot_keys *keys;
	uint64_t retention_ms;
	struct dp_devices *devs;
	struct dp_dedupe *dedupe;
	struct dp_store *store;
	struct rte_mempool *pool;
	struct rte_ring *rx_ring, *tx_ring;
	struct dp_pending *pend;
	uint32_t n_pend, free_head, n_busy;
	uint64_t submitted, completed;        /* store batches, in order */
	uint32_t barrier_head, barrier_tail, n_barriers;
	struct vault_seen *vault_seen;
	struct wire_arena arena;
	uint8_t pt[WIRE_MAX_BODY];
	struct scan_event evs[WIRE_MAX_EVENTS];
	struct dp_store_event sevs[WIRE_MAX_EVENTS];
	struct dp_dedupe_key keys_dd[WIRE_MAX_EVENTS];  /* this batch's valid events */
	uint64_t ts[WIRE_MAX_EVENTS];
	bool is_dup[WIRE_MAX_EVENTS];
	struct vault_seen vault_new[WIRE_MAX_EVENTS];   /* this batch's vault writes */
	unsigned n_vault_new;
	struct dp_admit admit;                /* the datagram being admitted */
	struct dp_devkeys ack_scratch;        /* an ACK key not in the device's cache */
} __rte_cache_aligned;

#define PEND_NONE UINT32_MAX

/*
 * Clocks from the TSC: clock_gettime is not free everywhere (in some VMs it is
 * a real syscall), and the loop reads a clock every burst.  dp_time_init()
 * anchors the TSC to CLOCK_MONOTONIC (the store's clock, also used by
 * dp_store_drain) and to CLOCK_REALTIME (the validation clock).
 */
static uint64_t tsc_hz_per_us = 1, mono_base_us, real_base_ms, tsc_base;

void
dp_time_init(void)
{
	struct timespec m, r;

	clock_gettime(CLOCK_MONOTONIC, &m);
	clock_gettime(CLOCK_REALTIME, &r);
	tsc_base = rte_rdtsc();
	tsc_hz_per_us = rte_get_tsc_hz() / 1000000 ? rte_get_tsc_hz() / 1000000 : 1;
	mono_base_us = (uint64_t)m.tv_sec * 1000000 + (uint64_t)m.tv_nsec / 1000;
	real_base_ms = (uint64_t)r.tv_sec * 1000 + (uint64_t)r.tv_nsec / 1000000;
}

uint64_t
dp_now_us(void)
{
	return mono_base_us + (rte_rdtsc() - tsc_base) / tsc_hz_per_us;
}

uint64_t
dp_clock_ms(const struct dp_conf *c)
{
	if (c->now_ms != 0)
		return c->now_ms;
	return real_base_ms + (rte_rdtsc() - tsc_base) / tsc_hz_per_us / 1000;
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

	if (acked == 0)
		return;     /* nothing of this epoch is stored yet: nothing to say */
	ackkey = dp_admit_ackkey(dev, key_id, w->keys, &w->ack_scratch);
	if (ackkey == NULL) {       /* cannot happen: the batch verified under key_id */
		w->ctr.acks_dropped++;
		return;
	}
	wire_ack_build(ack, &a, ackkey);
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

/* A subject's first 8 pid bytes, and its slot in the vault-written cache. */
static inline uint64_t
worker_pid8(const uint8_t pid[PID_LEN])
{
	uint64_t pid8;

	memcpy(&pid8, pid, sizeof(pid8));
	return pid8;
}

static inline uint32_t
worker_vault_slot(uint64_t pid8)
{
	return (uint32_t)(pid8 & (VAULT_CACHE_SIZE - 1));
}

/* The batch was accepted by the store: its vault writes are on their way, so
 * later events of the same subject and day need not write the vault again. */
static void
worker_vault_remember(struct dp_worker *w)
{
	unsigned i;

	for (i = 0; i < w->n_vault_new; i++)
		w->vault_seen[worker_vault_slot(w->vault_new[i].pid8)] = w->vault_new[i];
}

static void
worker_pend_free(struct dp_worker *w, uint32_t slot)
{
	w->pend[slot].dev = NULL;
	w->pend[slot].next_free = w->free_head;
	w->free_head = slot;
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
	__atomic_store_n(&w->pub.busy, w->n_busy, __ATOMIC_RELAXED);
	__atomic_store_n(&w->pub.barriers, w->n_barriers, __ATOMIC_RELAXED);
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
	sn.backlog_batches = w->n_busy;
	sn.barrier_batches = w->n_barriers;
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
	while (w->n_barriers > 0) {
		uint32_t slot = w->barrier_head;
		struct dp_pending *p = &w->pend[slot];

		w->barrier_head = p->next_free;
		w->n_barriers--;
		dp_window_forget(&p->dev->win, p->epoch, p->seq);
		w->ctr.acks_deferred_dropped++;
		worker_pend_free(w, slot);
	}
}

/* Release the barriers whose predecessors have all completed. */
static void
worker_barriers_release(struct dp_worker *w)
{
	while (w->n_barriers > 0 && w->pend[w->barrier_head].ticket <= w->completed) {
		uint32_t slot = w->barrier_head;

		w->barrier_head = w->pend[slot].next_free;
		w->n_barriers--;
		worker_pend_stored(w, &w->pend[slot]);
		worker_pend_free(w, slot);
	}
}

static void
worker_store_done(void *ctx, uint64_t cookie, int status)
{
	struct dp_worker *w = ctx;
	struct dp_pending *p = &w->pend[cookie];

	w->completed++;
	w->ctr.events_pending -= p->n_events;
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
	w->n_busy--;
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
	uint32_t slot = w->free_head;
	struct dp_pending *p;

	if (w->completed >= w->submitted) {
		worker_complete_empty(w, dev, h, frame, f);
		return;
	}
	if (slot == PEND_NONE) {
		dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
		w->ctr.acks_deferred_dropped++;
		return;
	}
	p = &w->pend[slot];
	w->free_head = p->next_free;
	worker_pend_fill(p, dev, h, frame, f, 0);
	p->ticket = w->submitted;
	p->next_free = PEND_NONE;
	if (w->n_barriers == 0)
		w->barrier_head = slot;
	else
		w->pend[w->barrier_tail].next_free = slot;
	w->barrier_tail = slot;
	w->n_barriers++;
}

/* Should this event write the subject's vault entry ("first time today")?
 * A direct-mapped cache of (pid, day): a collision costs one extra SET. */
static bool
worker_vault_hint(struct dp_worker *w, const uint8_t pid[PID_LEN], uint64_t ts_ms)
{
	uint32_t day = (uint32_t)(ts_ms / 86400000ULL);
	uint64_t pid8 = worker_pid8(pid);
	const struct vault_seen *v = &w->vault_seen[worker_vault_slot(pid8)];
	unsigned i;

	if (v->pid8 == pid8 && v->day == day)
		return false;
	for (i = 0; i < w->n_vault_new; i++)        /* twice in this batch */
		if (w->vault_new[i].pid8 == pid8 && w->vault_new[i].day == day)
			return false;
	w->vault_new[w->n_vault_new].pid8 = pid8;
	w->vault_new[w->n_vault_new].day = day;
	w->n_vault_new++;
	return true;
}

/* Decode, validate, pseudonymise, dedupe and submit an authentic batch. */
static void
worker_accept(struct dp_worker *w, struct dp_device *dev, const struct wire_hdr *h,
	      const uint8_t *frame, const struct dp_frame *f, uint64_t now_ms)
{
	Chot__V1__ScanBatch *b;
	enum chot_reason r;
	struct dp_pending *p;
	uint8_t pid[PID_LEN];
	uint32_t slot;
	unsigned i, m = 0, n = 0, dups = 0;

	wire_arena_reset(&w->arena);
	r = wire_batch_decode(w->pt, h->body_len, &w->arena, &b);
	if (r != WIRE_OK) {
		dp_count_reason(&w->ctr, r);
		worker_complete_empty(w, dev, h, frame, f);
		return;
	}
	w->ctr.batches_accepted++;
	w->ctr.events_decoded += b->n_events;
	w->ctr.ingest_events += b->n_events;

	slot = w->free_head;
	p = slot == PEND_NONE ? NULL : &w->pend[slot];
	w->n_vault_new = 0;
	/* Validate and pseudonymise every event, then dedupe them together (one
	 * bulk table lookup), then keep the survivors in order. */
	for (i = 0; i < b->n_events; i++) {
		struct scan_event *ev = &w->evs[m];

		r = wire_event_validate(b->events[i], now_ms, w->retention_ms, ev);
		if (r != WIRE_OK) {
			dp_count_reason(&w->ctr, r);
			continue;
		}
		chot_pseudonym(pid, w->keys->pseudonym, ev->scheme, ev->subject,
			       ev->subject_len);
		dp_dedupe_make_key(&w->keys_dd[m], pid, ev->site_id, ev->dir);
		w->ts[m] = ev->ts_ms;
		/* worker_vault_hint() reads this slot of a 1 MiB table: fetch it
		 * while the dedupe lookups run. */
		rte_prefetch0(&w->vault_seen[worker_vault_slot(worker_pid8(pid))]);
		m++;
	}
	dp_dedupe_begin(w->dedupe);
	dp_dedupe_check_insert_bulk(w->dedupe, w->keys_dd, w->ts, m, w->is_dup);
	for (i = 0; i < m; i++) {
		struct dp_store_event *se = &w->sevs[n];

		if (w->is_dup[i]) {
			dp_count_reason(&w->ctr, EV_DUPLICATE);
			dups++;
			continue;
		}
		memcpy(se->pid, w->keys_dd[i].pid, PID_LEN);
		se->ev = &w->evs[i];
		se->write_vault = p != NULL && worker_vault_hint(w, se->pid, w->ts[i]);
		n++;
	}
	if (n == 0) {
		if (dups > 0)
			worker_complete_after_barrier(w, dev, h, frame, f);
		else
			worker_complete_empty(w, dev, h, frame, f);
		return;
	}
	if (p == NULL)
		goto drop;
	w->free_head = p->next_free;
	w->n_busy++;
	worker_pend_fill(p, dev, h, frame, f, (uint16_t)n);
	w->ctr.events_pending += n;
	/* null:// completes inside submit: p must be complete before, and
	 * `submitted` counted before `completed` can catch up with it. */
	w->submitted++;
	if (dp_store_submit(w->store, slot, w->sevs, n) == 0) {
		worker_vault_remember(w);
		return;
	}
	w->submitted--;
	w->ctr.events_pending -= n;
	worker_pend_free(w, slot);
	w->n_busy--;
drop:
	dp_dedupe_rollback(w->dedupe);
	dp_window_forget(&dev->win, h->boot_epoch, h->batch_seq);
	w->ctr.events_dropped += n;
	w->ctr.batches_dropped++;
}

void
dp_worker_batch(struct dp_worker *w, struct rte_mbuf *m, const struct dp_frame *f,
		const struct wire_hdr *h, uint64_t now_ms)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	const uint8_t *dgram = frame + f->payload_off;
	struct dp_admit *a = &w->admit;
	enum chot_reason r;

	r = dp_admit(w->devs, w->keys, dgram, h, w->pt, a);
	if (r == WIRE_OK) {
		worker_accept(w, a->dev, h, frame, f, now_ms);
	} else {
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
	/* Every loop turn: only the counter, not rte_hash_count() (it showed in
	 * the profile); the entry count goes into the periodic snapshot. */
	w->ctr.dedupe_full = dp_dedupe_full(w->dedupe);
}

void
dp_worker_poll(struct dp_worker *w, uint64_t now_us)
{
	dp_store_poll(w->store, now_us);
	worker_refresh(w);
	worker_publish(w);
	if (now_us >= w->next_snap_us) {
		worker_snapshot(w);
		w->next_snap_us = now_us + DP_WORKER_SNAP_US;
	}
}

void
dp_worker_drain(struct dp_worker *w, unsigned timeout_ms)
{
	uint64_t left = dp_store_drain(w->store, timeout_ms);

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
	if (w->ctr.events_pending != 0 || w->n_busy != 0)
		DP_LOG(ERR, "worker %u: after the drain %lu events / %u batches still pending: "
		       "accounting bug\n", w->id, (unsigned long)w->ctr.events_pending, w->n_busy);
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
	uint64_t slots = busy + barriers < w->n_pend ? w->n_pend - busy - barriers : 0;

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
		.log = worker_store_log,
	};
	struct dp_worker *w;
	char name[RTE_RING_NAMESIZE];
	uint32_t i;

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
	w->retention_ms = (uint64_t)c->redis_retention_days * 86400000ULL;
	wire_arena_init(&w->arena);
	snprintf(name, sizeof(name), "chot_dev%u", p->id);
	w->devs = dp_devices_create(name, c->max_devices, p->socket);
	snprintf(name, sizeof(name), "chot_dd%u", p->id);
	w->dedupe = dp_dedupe_create(name, c->dedupe_capacity, c->dedupe_window_s, p->socket);
	snprintf(name, sizeof(name), "chot_rx%u", p->id);
	w->rx_ring = rte_ring_create(name, p->ring_size, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	snprintf(name, sizeof(name), "chot_tx%u", p->id);
	w->tx_ring = rte_ring_create(name, p->ring_size, p->socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
	w->n_pend = c->redis_max_pending_events / 4 + 64;
	w->pend = rte_zmalloc_socket("pending", (size_t)w->n_pend * sizeof(*w->pend), 0, p->socket);
	w->vault_seen = rte_zmalloc_socket("vault_seen", VAULT_CACHE_SIZE * sizeof(*w->vault_seen),
					   0, p->socket);
	if (w->devs == NULL || w->dedupe == NULL || w->rx_ring == NULL || w->tx_ring == NULL ||
	    w->pend == NULL || w->vault_seen == NULL) {
		DP_LOG(ERR, "worker %u: cannot allocate tables (devices %u, dedupe %u, "
		       "pending %u): out of memory? raise -m\n", p->id, c->max_devices,
		       c->dedupe_capacity, w->n_pend);
		goto fail;
	}
	for (i = 0; i < w->n_pend; i++)
		w->pend[i].next_free = i + 1 < w->n_pend ? i + 1 : PEND_NONE;
	w->free_head = 0;
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
	rte_free(w->vault_seen);
	rte_free(w);
}
