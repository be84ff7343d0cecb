/*
 * A worker shard's life outside the per-batch path (worker.h; worker.c has
 * the batches): creation and teardown, the store poll and the drain, the
 * figures it publishes for the RX lcore and telemetry (snapshot.h), and
 * the one clock, TSC-anchored (proto/clock.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "clock.h"
#include "cplists.h"
#include "log.h"
#include "thp.h"
#include "worker_impl.h"

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
	sn.redis_chot_append = st.chot_append;
	sn.redis_reconnects = st.reconnects;
	sn.redis_commands = st.commands_sent;
	sn.snapshots = dp_snap_count(&w->snap_seq) + 1;
	dp_snap_publish(&w->snap_seq, (uint64_t *)&w->snap, (const uint64_t *)&sn,
			sizeof(sn) / sizeof(uint64_t));
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
	dp_worker_txq_flush(w);        /* the completions' ACKs */
	dp_lists_quiescent(w->id);     /* holds no lists table between batches */
	worker_refresh(w);
	dp_worker_publish(w);
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
	dp_worker_barriers_drop(w);    /* none left after a full drain */
	dp_worker_txq_flush(w);
	worker_refresh(w);
	dp_worker_publish(w);
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
		.chot_append = p->chot_append,
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
	dp_txq_init(&w->txq, w->tx_ring);
	dp_ingest_init(&w->ing, w->keys, (uint64_t)c->redis_retention_days * 86400000ULL,
		       w->dedupe, w->vault_seen);
	sc.log_ctx = w;
	w->store = dp_store_create(&sc, dp_worker_store_done, w);
	if (w->store == NULL) {
		DP_LOG(ERR, "worker %u: store '%s': %s\n", p->id, c->redis_url, strerror(errno));
		goto fail;
	}
	dp_worker_publish(w);
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
	(void)dp_txq_flush(&w->txq);   /* empty after a drain; safe on a failed create */
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
