/*
 * A worker shard: everything one batch needs, owned by one lcore.  Batches
 * are assigned to a worker by device_id % ingest.workers (main.c), so the
 * device table (keys + replay windows), the dedupe table, the store
 * connection and the ACKs of a device all live here and the hot path takes
 * no lock.  With one lcore all shards run in the main loop
 * (run-to-completion); with more, each has its own lcore and receives mbufs
 * through an SP/SC ring.
 *
 * Mbuf ownership: dp_worker_batch() consumes the mbuf it is given (frees it
 * exactly once, at the latest in the next dp_worker_burst_end()).  ACK
 * frames are new mbufs put on the worker's tx ring, a burst's together at
 * dp_worker_burst_end() or at the end of a dp_worker_poll(); the main lcore
 * transmits them (it owns the port's only TX queue).
 */
#ifndef CHOT_DP_WORKER_H
#define CHOT_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "arena.h"
#include "config.h"
#include "counters.h"
#include "keys.h"
#include "parse.h"
#include "store.h"

struct dp_worker;

struct dp_worker_params {
	unsigned id;
	int socket;
	const struct dp_conf *conf;
	const struct chot_keys *keys;
	const char *redis_password;     /* or NULL */
	struct rte_mempool *pool;       /* for ACK mbufs */
	unsigned ring_size;
	bool chot_append;               /* the store writes with CHOT.APPEND (store.h) */
};

/* NULL with errno; logs the reason. */
struct dp_worker *dp_worker_create(const struct dp_worker_params *p);
void dp_worker_destroy(struct dp_worker *w);

/*
 * Process one datagram whose frame parsed (f) and whose chot header passed
 * wire_hdr_parse (h).  Consumes m.  now_ms: the validation clock.
 */
void dp_worker_batch(struct dp_worker *w, struct rte_mbuf *m, const struct dp_frame *f,
		     const struct wire_hdr *h, uint64_t now_ms);

/* A burst of dp_worker_batch() calls is over: its ACK frames go to the tx
 * ring, its mbufs back to their pool (in bulk).  Call after every burst. */
void dp_worker_burst_end(struct dp_worker *w);

/* Drive the store (completions fire here; their ACKs are handed on). */
void dp_worker_poll(struct dp_worker *w, uint64_t now_us);

/* Sleep at most max_us while the store only waits on Redis (dp_store_wait). */
void dp_worker_wait(struct dp_worker *w, unsigned max_us);

/*
 * Shutdown: wait (bounded by timeout_ms) for the store to confirm what is
 * pending; what it has not confirmed by then is abandoned: counted in
 * events_dropped (batches_dropped), never ACKed, so events_pending ends at
 * 0 and both identities hold in the exit print.  Publishes a last snapshot.
 */
void dp_worker_drain(struct dp_worker *w, unsigned timeout_ms);

/*
 * Read from other lcores (the RX lcore, telemetry).  The worker owns its
 * state and writes it with plain stores; what others may read it publishes
 * (snapshot.h): the few figures the RX lcore needs for flow control on
 * their own cache line, with __atomic stores after every batch and every
 * store poll, and a full snapshot of its counters and table sizes every
 * DP_WORKER_SNAP_US (and when it has drained).  Nothing here reads the
 * worker's live state or calls into its tables.
 */

/*
 * Datagrams this worker takes right now without dropping one for want of
 * room (a pending slot, and WIRE_MAX_EVENTS events of redis.max_pending_events
 * each): ingest.backpressure receives no more.  An idle worker takes at
 * least one.  From the published figures: at most one datagram stale.
 */
unsigned dp_worker_room(const struct dp_worker *w);

/* Events submitted to the store and not yet completed (published figure). */
uint64_t dp_worker_events_pending(const struct dp_worker *w);

/* The worker's own live counters: only for its own lcore, or once it has
 * stopped (the exit print, after the lcores are joined). */
struct dp_counters *dp_worker_counters(struct dp_worker *w);
struct rte_ring *dp_worker_rx_ring(struct dp_worker *w);   /* main -> worker */
/* TSC cycles this worker spent inside the steps chot-sockbase shares
 * (dp_admit, dp_ingest, the ACK tag): the rest of ingest_cycles is the I/O
 * path's.
 * Same reading rules as dp_worker_counters. */
uint64_t dp_worker_shared_cycles(const struct dp_worker *w);
struct rte_ring *dp_worker_tx_ring(struct dp_worker *w);   /* worker -> main */

#define DP_WORKER_SNAP_US 1000

/* A worker's published snapshot: only uint64_t (published word by word). */
struct dp_worker_snap {
	struct dp_counters ctr;
	uint64_t devices;
	uint64_t dedupe_entries;
	uint64_t dedupe_reclaimed;
	uint64_t dedupe_late;         /* stored, maybe a duplicate of an evicted entry */
	uint64_t dedupe_lateness_max_ms;
	uint64_t backlog_batches;
	uint64_t barrier_batches;     /* duplicate-only batches waiting to be ACKed */
	uint64_t backlog_events;      /* the store's events_pending */
	uint64_t redis_connected;
	uint64_t redis_chot_append;   /* 1: the store writes with CHOT.APPEND */
	uint64_t redis_reconnects;
	uint64_t redis_commands;
	uint64_t snapshots;           /* how many the worker has published */
};

/* Any thread: the last snapshot, consistent.  0 or -EAGAIN. */
int dp_worker_read_snap(const struct dp_worker *w, struct dp_worker_snap *out);

/* Anchor the TSC clocks below to the system clocks (proto/clock.h); once,
 * after EAL init. */
void dp_time_init(void);

/* The validation clock: conf->now_ms when set, else the wall clock (TSC-derived). */
uint64_t dp_clock_ms(const struct dp_conf *c);

/* The store's clock: CLOCK_MONOTONIC microseconds, TSC-derived (no syscall). */
uint64_t dp_now_us(void);

#endif /* CHOT_DP_WORKER_H */
