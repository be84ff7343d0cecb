/*
 * The Redis store's state, shared by its three files: store_redis.c (the
 * store's ops: submit, poll, wait, the reply reader and the sender),
 * store_redis_gen.c (the FIFO of closed generations) and store_redis_conn.c
 * (a connection's life: connect, AUTH, and what a broken one must send
 * again).  store_redis.c's opening comment describes the design.
 */
#ifndef CHOT_STORE_REDIS_INT_H
#define CHOT_STORE_REDIS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "coalesce.h"
#include "store_impl.h"

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 2000000
#define GEN_KEEP_BYTES (256 * 1024) /* a done generation keeps a buffer up to this */
#define NO_BATCH       UINT32_MAX

/* A closed generation: its commands in RESP, its batches in submit order. */
struct rgen {
	struct resp_out out;
	struct resp_out repair; /* EXPIREATs the expiry memo left out (coalesce.h) */
	uint32_t replied;       /* commands answered OK, from the first */
	size_t replied_off;     /* byte offset of the first unanswered command */
	uint32_t events;
	uint32_t batch_head, batch_tail;
	bool has_wait;          /* its last command is WAIT (redis.wait_replicas) */
};

struct rbatch {
	uint64_t cookie;
	uint32_t events;
	uint32_t next;          /* next batch of the same generation, or free list */
};

struct store_redis {
	struct dp_store base;
	struct dp_store_conf conf;
	struct redis_url url;
	char user[128], password[256];

	redisContext *c;
	bool connecting;        /* TCP connect in progress */
	bool auth_pending;      /* next reply answers AUTH */
	uint64_t retry_at_us;   /* no (re)connect / sending before this */
	uint64_t backoff_us;
	uint64_t now_us;
	uint64_t last_read_us;  /* idle liveness check: read at most every IDLE_READ_US */

	/* The open generation. */
	struct coalesce *co;
	uint32_t open_head, open_tail;   /* its batches */
	uint64_t open_since_us;

	/* Closed generations: a ring of capacity gcap (power of two) indexed by
	 * generation number; [ghead, gtail) are waiting or in flight. */
	struct rgen *gens;
	uint32_t gcap, ghead, gtail;
	uint32_t s_gen, s_cmd;           /* send cursor: next command to write */
	size_t s_off;
	uint32_t inflight;               /* written, not answered */

	struct rbatch *batches;
	uint32_t n_batches, free_batch;

	uint64_t events_pending, batches_pending;
	uint64_t commands_sent, replies_ok, redis_errors, reconnects, wait_short;
	uint64_t resent;                 /* redis_resent (store.h) */
	struct resp_out wait;            /* "WAIT N T", when wait_replicas > 0 */
};

static inline struct rgen *
sr_gen_at(struct store_redis *r, uint32_t id)
{
	return &r->gens[id & (r->gcap - 1)];
}

/* store_redis_gen.c */
/* Make room for one more closed generation (the ring doubles when full). */
int sr_gen_room(struct store_redis *r);
/* Close the open generation: format it and queue it for sending. 0 or -ENOMEM. */
int sr_gen_close(struct store_redis *r);
/* Every command of the oldest generation is answered: complete its batches. */
void sr_gen_done(struct store_redis *r);

/* store_redis_conn.c */
/* One log line naming the server (rate limited by store_log, store.c). */
void sr_log(struct store_redis *r, const char *what, const char *why);
/* Drop the connection (why is logged): what was in flight goes again after the backoff. */
void sr_disconnect(struct store_redis *r, const char *why);
void sr_start_connect(struct store_redis *r);
/* Is the non-blocking connect done?  1 yes, 0 not yet, -1 failed (disconnected). */
int sr_connect_done(struct store_redis *r);
/* AUTH first on a new connection, when a user or password is set. */
void sr_send_auth(struct store_redis *r);

#endif /* CHOT_STORE_REDIS_INT_H */
