/*
 * Prometheus text exposition (see prom.h).  The format, in the part chot
 * uses: `# HELP name text` (\ and newline escaped), `# TYPE name
 * counter|gauge|untyped`, then `name{label="value",...} number` lines, all
 * the lines of one family together.  Metric names are [a-zA-Z_:][a-zA-Z0-9_:]*;
 * telemetry keys are already snake_case, anything else becomes '_'.
 *
 * The table below is the one place that says what each chotd field means
 * to an SRE; docs/OPERATIONS.md "Counters" is the long form.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "prom.h"

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_SKIP };

static const struct prom_field {
	const char *key;
	enum prom_type type;
	const char *help;
} fields[] = {
	/* /chot/stats (dataplane/counters.h order) */
	{ "rx_packets", PROM_COUNTER, "Frames received on the ingest port." },
	{ "not_ours", PROM_COUNTER, "Frames that are not a chot datagram for us (other traffic, "
	  "ARP/ND, IP fragments, other ports or destinations, a full device table)." },
	{ "bad_header", PROM_COUNTER, "Datagrams to the chot port with a malformed header." },
	{ "bad_tag", PROM_COUNTER, "Datagrams failing authentication (wrong tag, unknown key "
	  "generation)." },
	{ "stale_epoch", PROM_COUNTER, "Batches of an older boot epoch than the device's current "
	  "one." },
	{ "replayed", PROM_COUNTER, "Batches already accepted (retransmissions), re-ACKed when "
	  "stored, never stored twice." },
	{ "decode_errors", PROM_COUNTER, "Authentic batches whose body is not a valid ScanBatch." },
	{ "batches_accepted", PROM_COUNTER, "Authentic, decoded batches." },
	{ "events_decoded", PROM_COUNTER, "Scan events in accepted batches." },
	{ "bad_events", PROM_COUNTER, "Events failing validation (by reason: chot_reasons_total)." },
	{ "dup_scans", PROM_COUNTER, "Scans of the same subject, site and direction within the "
	  "dedupe window, not stored again." },
	{ "events_stored", PROM_COUNTER, "Events Redis confirmed as stored." },
	{ "events_pending", PROM_GAUGE, "Events submitted to Redis and not yet confirmed." },
	{ "events_dropped", PROM_COUNTER, "Events that could not be held (backlog full, Redis down "
	  "too long); never ACKed, scanners retransmit." },
	{ "redis_errors", PROM_COUNTER, "Redis error replies and connection failures." },
	{ "redis_moved", PROM_COUNTER, "Redis Cluster MOVED redirections followed (the command "
	  "resent to the new owner, the slot map refreshed)." },
	{ "redis_ask", PROM_COUNTER, "Redis Cluster ASK redirections followed (ASKING, then the "
	  "command on the importing node)." },
	{ "redis_tryagain", PROM_COUNTER, "Redis Cluster TRYAGAIN replies: writes held and "
	  "retried with backoff." },
	{ "redis_clusterdown", PROM_COUNTER, "Redis Cluster CLUSTERDOWN replies: writes held "
	  "and retried with backoff." },
	{ "redis_map_refreshes", PROM_COUNTER, "Redis Cluster slot maps fetched (CLUSTER SLOTS)." },
	{ "redis_wait_short", PROM_COUNTER, "WAITs that reported fewer than redis.wait_replicas "
	  "replicas; retried, the writes not yet confirmed." },
	{ "redis_resent", PROM_COUNTER, "Events sent to Redis again after a broken connection "
	  "(their APPENDs were in flight): their records may be stored twice; readers drop "
	  "the duplicates." },
	{ "acks_sent", PROM_COUNTER, "ACK datagrams queued for transmission." },
	{ "batches_dropped", PROM_COUNTER, "Batches behind events_dropped." },
	{ "acks_dropped", PROM_COUNTER, "ACKs not sent: no mbuf or TX ring full." },
	{ "acks_deferred_dropped", PROM_COUNTER, "Duplicate-only batches not ACKed for lack of a "
	  "backlog slot (the scanner retries)." },
	{ "tx_dropped", PROM_COUNTER, "Frames the port did not take for transmission." },
	{ "dedupe_full", PROM_COUNTER, "Events stored without dedupe because the table was full." },
	{ "arp_replies", PROM_COUNTER, "ARP replies sent for ingest.address." },
	{ "nd_replies", PROM_COUNTER, "IPv6 neighbour advertisements sent for ingest.address." },
	{ "ring_full_spins", PROM_COUNTER, "Times the RX lcore waited for a busy worker's ring." },
	{ "rx_paused", PROM_COUNTER, "Times the RX lcore paused polling because a store was half "
	  "full (ingest.backpressure)." },
	{ "ingest_cycles", PROM_COUNTER, "TSC cycles spent processing bursts." },
	{ "ingest_events", PROM_COUNTER, "Events carried by the bursts of ingest_cycles." },
	/* §9, once chotd counts them */
	{ "verdicts_sent", PROM_COUNTER, "Verdict datagrams sent to scanners." },
	{ "alerts_raised", PROM_COUNTER, "Stored events with at least one alert reason." },
	{ "alerts_dropped", PROM_COUNTER, "Alerts of events that were dropped (never stored, never "
	  "ACKed: the scanner retransmits them)." },
	{ "lists_reloaded", PROM_COUNTER, "Watchlist, zone, green-lane and site list reloads." },
	{ "verdicts_dropped", PROM_COUNTER, "Verdicts not sent: no mbuf or TX ring full." },
	{ "lists_bad_entries", PROM_COUNTER, "List entries skipped as malformed, over all reloads." },
	{ "lists_errors", PROM_COUNTER, "List reloads that failed (Redis down or refusing); the "
	  "lists in force stay." },
	/* /chot/workers only */
	{ "lcore", PROM_GAUGE, "The lcore the worker runs on." },
	{ "backlog_batches", PROM_GAUGE, "Batches waiting for Redis to confirm their writes." },
	{ "barrier_batches", PROM_GAUGE, "Duplicate-only batches waiting for earlier writes before "
	  "their ACK." },
	{ "backlog_events", PROM_GAUGE, "Events waiting for Redis to confirm them." },
	{ "rx_ring", PROM_GAUGE, "Mbufs queued on the worker's RX ring." },
	{ "devices", PROM_GAUGE, "Devices in the worker's replay-window table." },
	{ "dedupe_entries", PROM_GAUGE, "Entries in the worker's dedupe table." },
	{ "dedupe_reclaimed", PROM_COUNTER, "Expired dedupe entries reclaimed." },
	{ "dedupe_late", PROM_COUNTER, "Stored events that might duplicate an entry the full "
	  "dedupe table evicted (an upper bound on the extra events stored)." },
	{ "redis_connected", PROM_GAUGE, "1 when the worker's Redis connection is up." },
	{ "redis_chot_append", PROM_GAUGE, "1 when the worker writes with CHOT.APPEND (the "
	  "chot_audit module on every master at start), 0 with APPEND + EXPIREAT." },
	{ "redis_reconnects", PROM_COUNTER, "Reconnections to Redis." },
	{ "redis_commands", PROM_COUNTER, "Commands sent to Redis." },
	/* How often the worker republished its telemetry snapshot (every 1 ms,
	 * idle or not): a liveness detail of /chot/workers, not a metric; left
	 * out so an idle chotd scrapes the same twice. */
	{ "snapshots", PROM_SKIP, "" },
	/* A sizing diagnostic in milliseconds (docs/OPERATIONS.md): read it from
	 * /chot/workers; Prometheus names carry base units only. */
	{ "dedupe_lateness_max_ms", PROM_SKIP, "" },
};

static const struct prom_field *
field(const char *key)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

bool
prom_known(const char *key)
{
	return field(key) != NULL;
}

void
prom_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void
help_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* "chot_" prefix + key with every byte outside [a-zA-Z0-9_:] as '_' + suffix. */
static void
metric_name(char *out, size_t len, const char *prefix, const char *key, const char *suffix)
{
	size_t n = (size_t)snprintf(out, len, "%s", prefix);

	for (; *key && n + 1 < len; key++, n++) {
		char c = *key;

		out[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '_' || c == ':' ? c : '_';
	}
	out[n] = '\0';
	snprintf(out + n, len - n, "%s", suffix);
}

/* HELP and TYPE of the family for key; name gets the metric name. */
static void
family(FILE *f, char *name, size_t len, const char *prefix, const char *key, const char *where)
{
	const struct prom_field *fd = field(key);
	bool counter = fd != NULL && fd->type == PROM_COUNTER;
	size_t kl = strlen(key);

	/* A counter's name ends in _total, once. */
	metric_name(name, len, prefix, key,
		    counter && !(kl > 6 && strcmp(key + kl - 6, "_total") == 0) ? "_total" : "");
	fprintf(f, "# HELP %s ", name);
	if (fd != NULL)
		help_text(f, fd->help);
	else
		fprintf(f, "chotd's %s (%s), not described by this chotctl.", key, where);
	fprintf(f, "\n# TYPE %s %s\n", name,
		fd == NULL ? "untyped" : counter ? "counter" : "gauge");
}

static void
workers(FILE *f, const struct prom_input *in)
{
	char name[CTL_TEL_KEY_MAX + 32];

	/* One family per key, in the order keys first appear over the workers. */
	for (size_t w = 0; w < in->n_workers; w++) {
		for (size_t k = 0; k < in->workers[w].n; k++) {
			const char *key = in->workers[w].kv[k].key;
			bool seen = false;
			uint64_t v;

			for (size_t e = 0; e < w && !seen; e++)
				seen = ctl_tel_get(&in->workers[e], key, &v) == 0;
			if (seen || (field(key) != NULL && field(key)->type == PROM_SKIP))
				continue;
			family(f, name, sizeof(name), "chot_worker_", key, "/chot/workers");
			for (size_t x = w; x < in->n_workers; x++) {
				if (ctl_tel_get(&in->workers[x], key, &v) != 0)
					continue;
				fprintf(f, "%s{worker=\"", name);
				prom_label_value(f, in->workers[x].name);
				fprintf(f, "\"} %" PRIu64 "\n", v);
			}
		}
	}
}

static void
reasons(FILE *f, const struct ctl_tel_dict *d)
{
	if (d == NULL || d->n == 0)
		return;
	fputs("# HELP chot_reasons_total Rejects by reason (/chot/reasons); counter is the "
	      "chot_<counter>_total the reason adds to.\n"
	      "# TYPE chot_reasons_total counter\n", f);
	for (size_t i = 0; i < d->n; i++) {
		const char *key = d->kv[i].key, *dot = strpbrk(key, "./");
		char counter[CTL_TEL_KEY_MAX];

		/* "bad_events.cccd_format" ('/' too: DPDK 22.11 refuses '.' in dict
		 * names, '/' it allows); a key without either is a reason alone. */
		snprintf(counter, sizeof(counter), "%.*s", dot ? (int)(dot - key) : 0, key);
		fputs("chot_reasons_total{counter=\"", f);
		prom_label_value(f, counter);
		fputs("\",reason=\"", f);
		prom_label_value(f, dot ? dot + 1 : key);
		fprintf(f, "\"} %" PRIu64 "\n", d->kv[i].v);
	}
}

static void
alerts(FILE *f, const struct ctl_tel_dict *d)
{
	if (d == NULL || d->n == 0)
		return;
	fputs("# HELP chot_alert_reasons_total Stored events raising an alert, by reason "
	      "(/chot/alerts).\n"
	      "# TYPE chot_alert_reasons_total counter\n", f);
	for (size_t i = 0; i < d->n; i++) {
		fputs("chot_alert_reasons_total{reason=\"", f);
		prom_label_value(f, d->kv[i].key);
		fprintf(f, "\"} %" PRIu64 "\n", d->kv[i].v);
	}
}

int
prom_write(FILE *f, const struct prom_input *in)
{
	char name[CTL_TEL_KEY_MAX + 32];

	for (size_t i = 0; in->stats != NULL && i < in->stats->n; i++) {
		family(f, name, sizeof(name), "chot_", in->stats->kv[i].key, "/chot/stats");
		fprintf(f, "%s %" PRIu64 "\n", name, in->stats->kv[i].v);
	}
	workers(f, in);
	reasons(f, in->reasons);
	alerts(f, in->alerts);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
