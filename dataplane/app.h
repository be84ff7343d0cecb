/*
 * The application object: what main.c sets up and the lcore loops
 * (loop.c) and telemetry (telemetry.c) read.  Written only at start-up,
 * except the stop flags (set by the signal handler / the RX lcore) and the
 * counters (each struct by its one lcore).
 */
#ifndef CHOT_DP_APP_H
#define CHOT_DP_APP_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mempool.h>

#include "config.h"
#include "counters.h"
#include "keys.h"
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
	struct dp_worker *workers[DP_MAX_WORKERS];
	unsigned worker_lcore[DP_MAX_WORKERS];
	volatile bool quit;                 /* stop RX (signal / idle exit) */
	volatile bool stop_workers;         /* RX has stopped: drain and exit */
};

extern struct dp_app dp_app;

/* Sum every lcore's counters into out. */
void dp_app_counters(struct dp_counters *out);

/* Register /chot/stats, /chot/workers, /chot/reasons. 0 or -errno. */
int dp_telemetry_register(void);
/* Before freeing workers: wait for a telemetry callback in progress, refuse later ones. */
void dp_telemetry_stop(void);

/* The lcore loops (loop.c). */
int dp_worker_lcore_main(void *arg);   /* arg: (uintptr_t) worker index */
void dp_rx_loop(void);

#endif /* CHOT_DP_APP_H */
