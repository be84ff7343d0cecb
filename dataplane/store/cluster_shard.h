/*
 * One master of a Redis Cluster, as one worker's cluster store sees it
 * (store_cluster.c): a hiredis 0.14 non-blocking, pipelined connection and
 * the FIFO of chunks (cluster_ledger.h) this master owes.
 *
 * Driven only from cl_shard_poll(): the connect is asynchronous, AUTH is
 * pipelined ahead of the first command, and at most `pipeline` commands
 * are in flight.  Each command sent is remembered in an *expectation ring*
 * (chunk, command): Redis answers in order, so the head of the ring names
 * what a reply answers.  Outcomes per reply:
 *
 *   OK-ish                 the command is done
 *   WAIT n, n >= replicas  done; n short: counted (wait_short) and WAIT
 *                          sent again on the same connection (its write
 *                          offset covers the chunk's writes)
 *   MOVED / ASK            counted; handed to the store's redirect hook
 *                          (the new owner, with ASKING first for ASK) and
 *                          marked handed over here
 *   TRYAGAIN, CLUSTERDOWN, counted; the connection is reset and, after a
 *   any other error        backoff, every command not done is sent again
 *                          in order (every write is idempotent)
 *
 * A reset (error, broken or refused connection) calls the store's lost
 * hook, which refreshes the slot map.  A chunk whose WAIT had not answered
 * counts nothing as confirmed any more: its writes are sent again.  While
 * the connection is down the store may move the commands whose slot now
 * belongs to another master there (cl_shard_reroute).
 */
#ifndef CHOT_STORE_CLUSTER_SHARD_H
#define CHOT_STORE_CLUSTER_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster_ledger.h"

struct cl_shard;

struct cl_shard_hooks {
	/* Every command of a chunk of gen is done. */
	void (*chunk_done)(void *ctx, uint32_t gen);
	/* Send cmd (of gen, for slot) elsewhere: to host:port (MOVED/ASK), or
	 * by the slot map when host is NULL (cl_shard_reroute). */
	void (*redirect)(void *ctx, struct cl_shard *from, uint32_t gen, const char *cmd,
			 size_t len, uint16_t slot, bool ask, const char *host, int port);
	/* The connection broke or could not be made. */
	void (*lost)(void *ctx, struct cl_shard *s);
	/* A log line (rate limited by the store). */
	void (*log)(void *ctx, struct cl_shard *s, const char *what, const char *why);
	void *ctx;
};

struct cl_shard_conf {
	const char *user, *password;   /* may be empty */
	unsigned pipeline;
	unsigned wait_replicas, wait_timeout_ms;
};

struct cl_shard_stats {
	uint64_t commands_sent, replies_ok, redis_errors, reconnects;
	uint64_t moved, ask, tryagain, clusterdown, wait_short;
	uint64_t resent;        /* events of APPENDs sent again (store.h) */
};

struct cl_shard *cl_shard_create(const char *host, int port, const struct cl_shard_conf *conf,
				 const struct cl_shard_hooks *hooks);
void cl_shard_destroy(struct cl_shard *s);

const char *cl_shard_host(const struct cl_shard *s);
int cl_shard_port(const struct cl_shard *s);

/* The open (unsealed) chunk for gen at the tail, or a new one (*created set:
 * the caller takes a ledger hold for it).  NULL on -ENOMEM. */
struct cl_chunk *cl_shard_chunk(struct cl_shard *s, uint32_t gen, bool *created);

/* Seal every open chunk (appending WAIT when wait_replicas > 0): they may go out. */
void cl_shard_seal(struct cl_shard *s);

/* Connect, send, read, fire hooks.  Never blocks. */
void cl_shard_poll(struct cl_shard *s, uint64_t now_us);

/* Sealed commands not yet written / written and not answered. */
bool cl_shard_unsent(const struct cl_shard *s);
uint32_t cl_shard_inflight(const struct cl_shard *s);
/* Chunks not complete. */
uint32_t cl_shard_chunks(const struct cl_shard *s);

bool cl_shard_connected(const struct cl_shard *s);
bool cl_shard_down(const struct cl_shard *s);   /* no connection at all */

/* Down only: hand every command not done whose slot owner (by the store's
 * map) is not s to the redirect hook (host NULL). */
void cl_shard_reroute(struct cl_shard *s, bool (*mine)(void *ctx, struct cl_shard *s,
							uint16_t slot), void *ctx);

/* Drop every chunk and close the connection (shutdown). */
void cl_shard_abandon(struct cl_shard *s);

void cl_shard_get_stats(const struct cl_shard *s, struct cl_shard_stats *st);

#endif /* CHOT_STORE_CLUSTER_SHARD_H */
