/*
 * Telemetry commands under /chot/, readable with DPDK's stock
 * `dpdk-telemetry.py -f PREFIX` and by `chotctl stats`:
 *
 *   /chot/stats    dict: every counter of counters.h, summed over lcores
 *   /chot/workers  dict: one dict per worker ("w0", ...) with its counters,
 *                  backlog, device and dedupe table sizes, redis state
 *   /chot/reasons  dict: "counter.reason" -> count, non-zero reasons only
 *
 * Callbacks run on the telemetry thread; they read counters that lcores
 * write without locks (aligned 64-bit loads: a value may be a few packets
 * old, never torn).  The workers they read are freed at shutdown while the
 * telemetry thread still runs: dp_telemetry_stop() waits for a callback in
 * progress and makes later ones answer with an error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "app.h"

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static bool tel_stopped;

static void
tel_add_counters(struct rte_tel_data *d, const struct dp_counters *c)
{
	unsigned i;

	for (i = 0; i < DP_CTR__COUNT; i++)
		rte_tel_data_add_dict_u64(d, dp_counter_names[i],
					  *dp_counter_slot((struct dp_counters *)(uintptr_t)c, i));
}

static int
tel_stats_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;

	(void)cmd;
	(void)params;
	dp_app_counters(&sum);
	rte_tel_data_start_dict(d);
	tel_add_counters(d, &sum);
	return 0;
}

static int
tel_workers_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned i;

	(void)cmd;
	(void)params;
	rte_tel_data_start_dict(d);
	for (i = 0; i < dp_app.n_workers; i++) {
		struct rte_tel_data *w = rte_tel_data_alloc();
		struct dp_worker_info info;
		char name[16];

		if (w == NULL)
			return -1;
		dp_worker_get_info(dp_app.workers[i], &info);
		rte_tel_data_start_dict(w);
		rte_tel_data_add_dict_u64(w, "lcore", dp_app.rtc ? rte_get_main_lcore() :
					  dp_app.worker_lcore[i]);
		tel_add_counters(w, dp_worker_counters(dp_app.workers[i]));
		rte_tel_data_add_dict_u64(w, "backlog_batches", info.backlog_batches);
		rte_tel_data_add_dict_u64(w, "barrier_batches", info.barrier_batches);
		rte_tel_data_add_dict_u64(w, "backlog_events", info.store.events_pending);
		rte_tel_data_add_dict_u64(w, "rx_ring", info.rx_ring_count);
		rte_tel_data_add_dict_u64(w, "devices", info.devices);
		rte_tel_data_add_dict_u64(w, "dedupe_entries", info.dedupe_entries);
		rte_tel_data_add_dict_u64(w, "dedupe_reclaimed", info.dedupe_reclaimed);
		rte_tel_data_add_dict_u64(w, "redis_connected", info.store.connected);
		rte_tel_data_add_dict_u64(w, "redis_reconnects", info.store.reconnects);
		rte_tel_data_add_dict_u64(w, "redis_commands", info.store.commands_sent);
		snprintf(name, sizeof(name), "w%u", i);
		rte_tel_data_add_dict_container(d, name, w, 0);
	}
	return 0;
}

static int
tel_reasons_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;
	char name[64];
	unsigned r;

	(void)cmd;
	(void)params;
	dp_app_counters(&sum);
	rte_tel_data_start_dict(d);
	for (r = 1; r < CHOT_REASON__COUNT; r++) {
		if (sum.reasons[r] == 0)
			continue;
		snprintf(name, sizeof(name), "%s.%s",
			 chot_counter_name(chot_reason_counter(r)), chot_reason_name(r));
		rte_tel_data_add_dict_u64(d, name, sum.reasons[r]);
	}
	return 0;
}

/* Run a callback unless chotd is shutting down. */
#define TEL_GUARDED(name)                                                        \
	static int name(const char *cmd, const char *params, struct rte_tel_data *d) \
	{                                                                        \
		int rc = -1;                                                     \
									 \
		pthread_mutex_lock(&tel_lock);                                   \
		if (!tel_stopped)                                                \
			rc = name##_locked(cmd, params, d);                      \
		pthread_mutex_unlock(&tel_lock);                                 \
		return rc;                                                       \
	}
TEL_GUARDED(tel_stats)
TEL_GUARDED(tel_workers)
TEL_GUARDED(tel_reasons)

void
dp_telemetry_stop(void)
{
	pthread_mutex_lock(&tel_lock);
	tel_stopped = true;
	pthread_mutex_unlock(&tel_lock);
}

int
dp_telemetry_register(void)
{
	if (rte_telemetry_register_cmd("/chot/stats", tel_stats,
				       "chotd counters, summed over lcores. No parameters") < 0 ||
	    rte_telemetry_register_cmd("/chot/workers", tel_workers,
				       "Per-worker counters, backlog and Redis state. No parameters") < 0 ||
	    rte_telemetry_register_cmd("/chot/reasons", tel_reasons,
				       "Non-zero reject reasons as counter.reason. No parameters") < 0)
		return -EINVAL;
	return 0;
}
