/*
 * The store: where accepted events go after dedupe (DESIGN §3, §4).
 *
 * One struct dp_store per worker, driven only from that worker's lcore loop:
 * no locks, no blocking calls.  The Redis implementation (store_redis.c)
 * keeps a hiredis 0.14 non-blocking context, pipelines up to `pipeline`
 * commands, flushes by size or when `flush_us` has passed, reconnects by
 * itself, and replays in-flight writes after a reconnect (every write is
 * idempotent).  The Redis Cluster implementation (store_cluster.c, with
 * cluster_shard.c and cluster_slots.c: with store_redis.c the only files
 * that include hiredis.h) does the same with one connection per master.
 * The null implementation (store_null.c, `null://`) completes every batch
 * at once.
 *
 * A batch is submitted whole; its completion fires exactly once, from inside
 * dp_store_poll() (or dp_store_submit() for null://), when every write of the
 * batch has been answered OK by Redis (on a cluster: by every master it
 * touched, store_cluster.c).  Every backend completes batches in submission
 * order; worker.c's barrier relies on it.  A batch that cannot be accepted
 * because the bounded backlog is full is refused at submit (-ENOBUFS): the
 * caller drops it, counts it, and never ACKs it.
 *
 * An event with a reason mask (DESIGN §9) also appends its alert to the
 * stream chot:{alerts} in the same generation as its other writes, so the
 * batch completes (and is ACKed) only once its alerts are written too.
 *
 * The store never sees raw identifiers except to seal them into the vault
 * (vault.h); it writes the layout of proto/layout.h.
 */
#ifndef CHOT_DP_STORE_H
#define CHOT_DP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pseudonym.h"
#include "validate.h"

struct dp_store;

/*
 * Where the store's log lines go: chotd routes them to its logtype
 * (worker.c); without a hook they go to stderr.  A line names the server
 * and the reason, has no trailing newline, and is rate limited per store
 * (STORE_LOG_BURST a second, the rest counted and reported as
 * "(N messages suppressed)"), never cut off for good.
 */
enum dp_store_log_level { DP_STORE_LOG_ERR, DP_STORE_LOG_WARNING, DP_STORE_LOG_INFO };
typedef void (*dp_store_log_fn)(void *ctx, int level, const char *line);

struct dp_store_conf {
	const char *url;            /* redis://host:port, unix://PATH, cluster://H:P,..., null:// */
	const char *user;           /* ACL user or NULL */
	const char *password;       /* or NULL */
	unsigned pipeline;          /* max commands in flight per connection */
	unsigned flush_us;          /* flush deadline */
	unsigned retention_days;
	unsigned max_pending_events;/* backlog bound (events held, in flight or waiting) */
	unsigned wait_replicas;     /* > 0: writes confirmed only once WAIT reports this many */
	unsigned wait_timeout_ms;   /* WAIT's timeout */
	const uint8_t *vault_key;   /* 32 bytes, or NULL: no vault writes */
	unsigned alerts_max;        /* XADD chot:{alerts} MAXLEN ~ this; 0: LISTS_ALERTS_MAX_DEFAULT */
	/* Write each key with CHOT.APPEND key expire_at records (the chot_audit
	 * module's, redismod/chot_append.c: exact-size values, the expiry in
	 * the same command) instead of APPEND + EXPIREAT.  Only when the
	 * start-up check found it on every master (dp_store_check_caps). */
	bool chot_append;
	dp_store_log_fn log;        /* or NULL: stderr */
	void *log_ctx;
};

/* One event as the store needs it: validated, pseudonymised. */
struct dp_store_event {
	uint8_t pid[PID_LEN];
	const struct scan_event *ev;  /* subject is used only to seal the vault */
	bool write_vault;             /* caller's "first time this week" hint */
	uint16_t reasons;             /* checkpoint reason mask (proto/lists.h); != 0: an alert */
	uint32_t device_id;           /* the scanner, for the alert */
};

/* Called once per submitted batch: status 0 = every write confirmed. */
typedef void (*dp_store_done_fn)(void *ctx, uint64_t cookie, int status);

struct dp_store_stats {
	uint64_t commands_sent;
	uint64_t replies_ok;
	uint64_t redis_errors;        /* error replies + connection failures */
	uint64_t reconnects;
	uint64_t events_pending;      /* submitted, not yet completed */
	uint64_t batches_pending;
	/* Redis Cluster (DESIGN §8); wait_short also on a single node. */
	uint64_t moved, ask, tryagain, clusterdown, map_refreshes, wait_short;
	/* Events whose APPENDs were in flight when a connection broke (or whose
	 * unconfirmed WAIT made them go again): sent twice, their records may be
	 * at rest twice; readers drop the duplicates (proto/layout.h). */
	uint64_t resent;
	bool connected;
	bool chot_append;             /* writes with CHOT.APPEND (dp_store_conf) */
};

/* Create; NULL with errno (EINVAL: bad URL). Does not block on connect. */
struct dp_store *dp_store_create(const struct dp_store_conf *conf, dp_store_done_fn done,
				 void *ctx);
void dp_store_destroy(struct dp_store *s);

/*
 * Submit one batch of n events (n >= 1).  Copies what it needs.
 * 0, or -ENOBUFS when the backlog bound would be exceeded (nothing queued).
 */
int dp_store_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs,
		    unsigned n);

/* Drive I/O: connect/reconnect, flush, read replies, fire completions. Never blocks. */
void dp_store_poll(struct dp_store *s, uint64_t now_us);

/*
 * Sleep at most max_us until the store's connection has replies to read or
 * room to write, when that is all it is waiting for (the in-flight window
 * full, or nothing more to send).  Returns at once otherwise, and for
 * stores without one socket (null://, cluster://).  For an lcore that has
 * nothing else to do: chotd's RX lcore while ingest.backpressure holds
 * the port, so the core serves Redis and the kernel instead of spinning.
 */
void dp_store_wait(struct dp_store *s, unsigned max_us);

/* Block (poll + sleep) until nothing is pending or timeout_ms passes; for shutdown.
 * Returns the number of events still pending. */
uint64_t dp_store_drain(struct dp_store *s, unsigned timeout_ms);

/*
 * Shutdown, once dp_store_drain gave up: complete every batch still pending,
 * in submission order, with status -ECANCELED (the caller counts them
 * dropped and never ACKs them), and close the connection.  Writes already
 * sent may still land in Redis; every write is idempotent, so the scanner's
 * retransmission is harmless.  Afterwards nothing is pending.
 */
void dp_store_abandon(struct dp_store *s);

void dp_store_get_stats(const struct dp_store *s, struct dp_store_stats *st);

/*
 * Start-up check, blocking (at most about timeout_ms per step): connect
 * once, authenticate as conf's user, and try, without changing any data,
 * every command chotd writes with on keys of its layout (APPEND of nothing,
 * EXPIREAT in the past that deletes the empty key again, and SET XX on keys
 * chot never creates, and an XADD on chot:{alerts} that Redis refuses after
 * its ACL check: ID 0-0).  0: fine (or null://).
 * -EACCES: authentication refused (WRONGPASS, NOAUTH).  -EPERM: the ACL
 * refuses a command or a key (NOPERM).  -EINVAL: bad URL.  Anything else
 * (-ECONNREFUSED, -ETIMEDOUT, -EIO: Redis down, frozen or busy): a
 * transient state chotd rides out.  err names the user and the server
 * (never the password) and Redis's own words.
 */
int dp_store_check(const struct dp_store_conf *conf, unsigned timeout_ms, char *err,
		   size_t errlen);

/*
 * What the servers offer chotd, found by dp_store_check_caps.  chot_append:
 * every master runs CHOT.APPEND for conf's user on both key families (a
 * data-neutral probe: CHOT.APPEND <probe key> 1 "", an expiry in the past on
 * a key that does not exist, which writes nothing); otherwise why says
 * which server did not and what it answered.
 */
struct dp_store_caps {
	bool chot_append;
	char why[512];
};

/* dp_store_check, and the caps found (caps may be NULL).  When the check
 * fails, or for null://, caps->chot_append is false. */
int dp_store_check_caps(const struct dp_store_conf *conf, unsigned timeout_ms,
			struct dp_store_caps *caps, char *err, size_t errlen);

#endif /* CHOT_DP_STORE_H */
