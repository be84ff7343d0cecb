/*
 * The application object: what main.c sets up and the lcore loops
 * (loop.c) and telemetry (telemetry.c) read.  Written only at start-up,
 * except the stop flags (atomics, set by the signal handler / the RX lcore)
 * and the counters (each struct by its one lcore; other threads read only
 * the published snapshots).
 */
#ifndef CHOT_DP_APP_H
#define CHOT_DP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "config.h"
#include "counters.h"
#include "keys.h"
#include "snapshot.h"
#include "worker.h"

struct dp_app {
	struct dp_counters rx_ctr;          /* the RX (main) lcore's counters */
	struct dp_conf conf;
	struct chot_keys keys;
	uint16_t port;
	uint8_t mac[6];
	struct rte_mempool *pool;
	unsigned n_workers;
	bool rtc;                           /* all shards on the main lcore */
	bool chot_append;                   /* the stores write with CHOT.APPEND (store_check) */
	struct dp_worker *workers[DP_MAX_WORKERS];
	unsigned worker_lcore[DP_MAX_WORKERS];
	/* The RX lcore's counters as published for telemetry (snapshot.h). */
	struct dp_snap_seq rx_snap_seq;
	struct dp_counters rx_snap;
	/* TSC spent transmitting after bursts that carried datagrams (the
	 * ACKs): with ingest_cycles, the I/O path's cost (a benchmark figure,
	 * printed at exit as ingest_tx_cycles; RX lcore only). */
	uint64_t tx_cycles;
	/* Of ingest_cycles + tx_cycles, the TSC inside the PMD's own calls
	 * (rte_eth_rx_burst of bursts that carried events, rte_eth_tx_burst
	 * after them): with net_pcap, reading and writing capture files
	 * (chot-bench shows them apart; printed as ingest_rx_burst_cycles /
	 * ingest_tx_burst_cycles). */
	uint64_t rx_burst_cycles;
	uint64_t tx_burst_cycles;
	/* Stop flags: only through the dp_app_*stop* functions below (atomics). */
	bool quit;                          /* stop RX (signal / idle exit) */
	bool stop_workers;                  /* RX has stopped: drain and exit */
};

extern struct dp_app dp_app;

/* Stop receiving: from the signal handler (a lock-free atomic store is
 * async-signal-safe) or the RX lcore itself. */
static inline void
dp_app_request_quit(void)
{
	__atomic_store_n(&dp_app.quit, true, __ATOMIC_RELAXED);
}

static inline bool
dp_app_quit_requested(void)
{
	return __atomic_load_n(&dp_app.quit, __ATOMIC_RELAXED);
}

/* The RX lcore has stopped and every worker ring is empty: release, so a
 * worker that sees it (acquire) also sees that nothing more will come. */
static inline void
dp_app_stop_workers(void)
{
	__atomic_store_n(&dp_app.stop_workers, true, __ATOMIC_RELEASE);
}

static inline bool
dp_app_workers_stopping(void)
{
	return __atomic_load_n(&dp_app.stop_workers, __ATOMIC_ACQUIRE);
}

/* Sum every lcore's live counters into out: only once the worker lcores
 * have stopped (the exit print). */
void dp_app_counters(struct dp_counters *out);

/* Any thread, any time: the sum of the published snapshots.  0 or -EAGAIN. */
int dp_app_counters_snapshot(struct dp_counters *out);

/* RX lcore: publish its counters (every DP_WORKER_SNAP_US, and at the end). */
void dp_app_publish_rx(void);

/* Register /chot/stats, /chot/workers, /chot/reasons. 0 or -errno. */
int dp_telemetry_register(void);
/* Before freeing workers: wait for a telemetry callback in progress, refuse later ones. */
void dp_telemetry_stop(void);

/* The lcore loops (loop.c). */
int dp_worker_lcore_main(void *arg);   /* arg: (uintptr_t) worker index */
void dp_rx_loop(void);

#endif /* CHOT_DP_APP_H */
