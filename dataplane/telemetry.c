/*
 * Telemetry commands under /chot/, readable with DPDK's stock
 * `dpdk-telemetry.py -f PREFIX` and by `chotctl stats`:
 *
 *   /chot/stats    dict: every counter of counters.h, summed over lcores
 *   /chot/workers  dict: one dict per worker ("w0", ...) with its counters,
 *                  backlog, device and dedupe table sizes, redis state
 *   /chot/reasons  dict: "counter/reason" -> count, non-zero reasons only
 *                  (the exit print's `reason.counter.reason`: DPDK 22.11
 *                  accepts only [A-Za-z0-9_/] in a dict key, so not '.')
 *   /chot/alerts   dict: reason name (proto/lists.h) -> stored events that
 *                  raised an alert with it, every reason (DESIGN §9)
 *   /chot/verdict  dict: verdicts_sent, verdicts_dropped, the RX -> verdict
 *                  TX latency quantiles p50_us p99_us p999_us (upper bounds
 *                  of the histogram bucket) and the histogram, "le_<us>"
 *   /chot/lists    dict: the lists in force (version, sizes, load_ms) and
 *                  the loader's counters
 *
 * Callbacks run on the telemetry thread.  They never read an lcore's live
 * state: each lcore publishes a consistent snapshot of its counters and
 * table sizes every DP_WORKER_SNAP_US (snapshot.h, worker.h), and that is
 * what they read, so figures are at most about a millisecond old and every
 * figure of one lcore is of the same moment.  The one live read is
 * rte_ring_count(), which rings allow from any thread.
 *
 * Every rte_tel_data_* call is checked: a key DPDK refuses or a full dict
 * fails the command (the client gets an error, not a silently shorter
 * dict) and is logged once.
 *
 * The workers are freed at shutdown while the telemetry thread still runs:
 * dp_telemetry_stop() waits for a callback in progress and makes later ones
 * answer with an error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <rte_telemetry.h>

#include "app.h"
#include "cplists.h"
#include "log.h"

static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static bool tel_stopped;
static bool tel_warned;

/* rc of an rte_tel_data_* call: log the first failure (what and why). */
static int
tel_check(int rc, const char *cmd, const char *name)
{
	if (rc < 0 && !tel_warned) {
		tel_warned = true;
		DP_LOG(WARNING, "telemetry %s: DPDK refused entry '%s' (%s): the command "
		       "answers with an error\n", cmd, name, strerror(-rc));
	}
	return rc < 0 ? -1 : 0;
}

static int
tel_u64(struct rte_tel_data *d, const char *cmd, const char *name, uint64_t v)
{
	return tel_check(rte_tel_data_add_dict_u64(d, name, v), cmd, name);
}

static int
tel_add_counters(struct rte_tel_data *d, const char *cmd, const struct dp_counters *c)
{
	unsigned i;

	for (i = 0; i < DP_CTR__COUNT; i++)
		if (tel_u64(d, cmd, dp_counter_names[i],
			    *dp_counter_slot((struct dp_counters *)(uintptr_t)c, i)) < 0)
			return -1;
	return 0;
}

static int
tel_stats_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;

	(void)params;
	if (dp_app_counters_snapshot(&sum) != 0)
		return -1;
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0)
		return -1;
	return tel_add_counters(d, cmd, &sum);
}

/* One worker's dict from its snapshot; 0 or -1. */
static int
tel_worker(struct rte_tel_data *w, const char *cmd, unsigned i)
{
	struct dp_worker_snap sn;

	if (dp_worker_read_snap(dp_app.workers[i], &sn) != 0)
		return -1;
	if (tel_check(rte_tel_data_start_dict(w), cmd, "(dict)") < 0 ||
	    tel_u64(w, cmd, "lcore", dp_app.rtc ? rte_get_main_lcore() : dp_app.worker_lcore[i]) < 0 ||
	    tel_add_counters(w, cmd, &sn.ctr) < 0 ||
	    tel_u64(w, cmd, "backlog_batches", sn.backlog_batches) < 0 ||
	    tel_u64(w, cmd, "barrier_batches", sn.barrier_batches) < 0 ||
	    tel_u64(w, cmd, "backlog_events", sn.backlog_events) < 0 ||
	    tel_u64(w, cmd, "rx_ring", rte_ring_count(dp_worker_rx_ring(dp_app.workers[i]))) < 0 ||
	    tel_u64(w, cmd, "devices", sn.devices) < 0 ||
	    tel_u64(w, cmd, "dedupe_entries", sn.dedupe_entries) < 0 ||
	    tel_u64(w, cmd, "dedupe_reclaimed", sn.dedupe_reclaimed) < 0 ||
	    tel_u64(w, cmd, "dedupe_late", sn.dedupe_late) < 0 ||
	    tel_u64(w, cmd, "dedupe_lateness_max_ms", sn.dedupe_lateness_max_ms) < 0 ||
	    tel_u64(w, cmd, "redis_connected", sn.redis_connected) < 0 ||
	    tel_u64(w, cmd, "redis_chot_append", sn.redis_chot_append) < 0 ||
	    tel_u64(w, cmd, "redis_reconnects", sn.redis_reconnects) < 0 ||
	    tel_u64(w, cmd, "redis_commands", sn.redis_commands) < 0 ||
	    tel_u64(w, cmd, "snapshots", sn.snapshots) < 0)
		return -1;
	return 0;
}

static int
tel_workers_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	unsigned i;

	(void)params;
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0)
		return -1;
	for (i = 0; i < dp_app.n_workers; i++) {
		struct rte_tel_data *w = rte_tel_data_alloc();
		char name[16];

		if (w == NULL)
			return -1;
		snprintf(name, sizeof(name), "w%u", i);
		if (tel_worker(w, cmd, i) < 0) {
			rte_tel_data_free(w);
			return -1;
		}
		/* keep = 0: d frees w with itself, once w is in; a refused w is ours */
		if (tel_check(rte_tel_data_add_dict_container(d, name, w, 0), cmd, name) < 0) {
			rte_tel_data_free(w);
			return -1;
		}
	}
	return 0;
}

static int
tel_reasons_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;
	char name[64];
	unsigned r;

	(void)params;
	if (dp_app_counters_snapshot(&sum) != 0)
		return -1;
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0)
		return -1;
	for (r = 1; r < CHOT_REASON__COUNT; r++) {
		if (sum.reasons[r] == 0)
			continue;
		snprintf(name, sizeof(name), "%s/%s",
			 chot_counter_name(chot_reason_counter(r)), chot_reason_name(r));
		if (tel_u64(d, cmd, name, sum.reasons[r]) < 0)
			return -1;
	}
	return 0;
}

static int
tel_alerts_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;

	(void)params;
	if (dp_app_counters_snapshot(&sum) != 0)
		return -1;
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0)
		return -1;
	for (unsigned i = 0; i < CHK_NREASONS; i++)
		if (tel_u64(d, cmd, chk_reasons[i].name, sum.alert_reasons[i]) < 0)
			return -1;
	return 0;
}

static int
tel_verdict_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_counters sum;
	char name[32];

	(void)params;
	if (dp_app_counters_snapshot(&sum) != 0)
		return -1;
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0 ||
	    tel_u64(d, cmd, "verdicts_sent", sum.verdicts_sent) < 0 ||
	    tel_u64(d, cmd, "verdicts_dropped", sum.verdicts_dropped) < 0 ||
	    tel_u64(d, cmd, "p50_us", dp_vlat_quantile_us(sum.verdict_lat, 0.50)) < 0 ||
	    tel_u64(d, cmd, "p99_us", dp_vlat_quantile_us(sum.verdict_lat, 0.99)) < 0 ||
	    tel_u64(d, cmd, "p999_us", dp_vlat_quantile_us(sum.verdict_lat, 0.999)) < 0)
		return -1;
	for (unsigned b = 0; b < DP_VLAT_BUCKETS; b++) {
		if (sum.verdict_lat[b] == 0)
			continue;
		snprintf(name, sizeof(name), "le_%lu", (unsigned long)dp_vlat_upper_us(b));
		if (tel_u64(d, cmd, name, sum.verdict_lat[b]) < 0)
			return -1;
	}
	return 0;
}

static int
tel_lists_locked(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct dp_lists_stats st;

	(void)params;
	dp_lists_get_stats(&st);
	if (tel_check(rte_tel_data_start_dict(d), cmd, "(dict)") < 0 ||
	    tel_u64(d, cmd, "version", st.version) < 0 ||
	    tel_u64(d, cmd, "watch", st.watch) < 0 ||
	    tel_u64(d, cmd, "zones", st.zones) < 0 ||
	    tel_u64(d, cmd, "greenlane", st.greenlane) < 0 ||
	    tel_u64(d, cmd, "checkpoints", st.checkpoints) < 0 ||
	    tel_u64(d, cmd, "load_ms", st.load_ms) < 0 ||
	    tel_u64(d, cmd, "lists_reloaded", st.reloaded) < 0 ||
	    tel_u64(d, cmd, "lists_bad_entries", st.bad_entries) < 0 ||
	    tel_u64(d, cmd, "lists_errors", st.errors) < 0)
		return -1;
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
TEL_GUARDED(tel_alerts)
TEL_GUARDED(tel_verdict)
TEL_GUARDED(tel_lists)

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
				       "Non-zero reject reasons as counter/reason. No parameters") < 0 ||
	    rte_telemetry_register_cmd("/chot/alerts", tel_alerts,
				       "Alerts of stored events, by reason. No parameters") < 0 ||
	    rte_telemetry_register_cmd("/chot/verdict", tel_verdict,
				       "Verdicts sent and their RX to TX latency. No parameters") < 0 ||
	    rte_telemetry_register_cmd("/chot/lists", tel_lists,
				       "The checkpoint lists in force. No parameters") < 0)
		return -EINVAL;
	return 0;
}
