/*
 * Internals of the streamed GET/MGET reader (ctl_redis_records_stream and
 * ctl_redis_values_stream in redis.h): redis_stream.c builds and sends the
 * commands; redis_stream_reply.c reads their replies and hands them over in
 * key order; redis_stream_redirect.c re-asks the keys of a reply that was a
 * MOVED, ASK or TRYAGAIN; redis_stream_value.c turns a key's value into the
 * records its callbacks get.
 */
#ifndef CHOT_CTL_REDIS_STREAM_INT_H
#define CHOT_CTL_REDIS_STREAM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_int.h"
#include "resp.h"

#define ZS_INFLIGHT 4096            /* a node's keys sent and not yet handed over */
#define ZS_OUT_CAP  (64 * 1024)     /* command bytes built ahead of the socket */
#define ZS_KEY_MAX  256
/*
 * Keys of one MGET at most (values streams: consecutive keys of one slot).
 * A site's buckets are a few dozen keys; 64 already cuts Redis's
 * per-command cost by that much, and keeps one reply (64 values) small
 * beside ZS_INFLIGHT.
 */
#define ZS_MGET_MAX 64
#define ZS_CMDS     ZS_INFLIGHT     /* commands in flight at most (each >= 1 key) */

struct zrec {                       /* a held reply, then its payload */
	uint64_t key;
	uint32_t flags;
	uint32_t bytes;
};
#define ZR_DONE  1u
#define ZR_ERROR 2u                 /* the payload is the error text */
#define ZR_CORRUPT 4u               /* ... of a corrupt value (redis_stream_value.c) */

struct zstream;

struct zshard {
	struct zstream *z;
	struct ctl_conn *c;
	struct redis_endpoint ep;       /* c's node (cluster): a TRYAGAIN's keys are re-asked there */
	bool readonly;
	const size_t *keys;             /* its keys' indices, ascending; NULL: 0..n-1 */
	size_t nkeys, sent, answered, delivered;   /* keys, counted in s->keys */
	size_t cmds;                    /* commands sent (ctl_redis_calls) */
	uint8_t cmd_keys[ZS_CMDS];      /* keys of each command in flight: 1 a GET, more an MGET */
	size_t cmd_head, cmd_count;
	struct resp_buf out;
	size_t out_pos;
	/* the reply being read: keys reply_first .. + reply_keys of s->keys */
	size_t reply_first, reply_keys, elems;
	bool bad, multi_err;            /* multi_err: an MGET answered one error for all its keys */
	/* the key being answered */
	bool direct, is_err, corrupt;
	char errtxt[200];
	size_t rec_at;
	/* held replies: records (already unique), or an error's text */
	char *q;
	size_t qlen, qcap, qhead;
};

struct zstream {
	struct ctl_redis *r;
	size_t n, next;                 /* next: the key whose reply is due */
	size_t rec_len;
	ctl_key_fn key_fn;
	ctl_record_fn record_fn;
	ctl_values_fn values_fn;        /* set: values handed over whole, as stored */
	ctl_reply_done_fn done_fn;
	void *ctx;
	size_t batch;                   /* keys per command at most: 1, GETs only */
	uint8_t *shard_of;              /* NULL: one node */
	struct zshard *sh;
	unsigned nsh;
	uint8_t *tmp;                   /* an in-turn value being sorted */
	size_t tmpcap;
	int rc;                         /* first error: the callbacks stop */
	int fatal;                      /* the stream cannot go on */
	char *err;
	size_t errlen;
	char keybuf[ZS_MGET_MAX][ZS_KEY_MAX];   /* the keys of the command being built */
};

static inline size_t
zs_key_at(const struct zshard *s, size_t j)
{
	return s->keys != NULL ? s->keys[j] : j;
}

/* redis_stream_reply.c */
/* The reader's callbacks (redis_conn.h) of every shard's connection; ctx is the zshard. */
extern const struct ctl_conn_stream zs_reply_fns;
/* Append len bytes to s's queue of held replies. 0 or -ENOMEM. */
int zs_q_put(struct zshard *s, const void *p, size_t len);
/* The stream cannot go on (the first reason is kept). */
void zs_fatal(struct zstream *z, int rc);
/* Key k (s->keys[j]) is being answered: in its turn, or held (its queue record opened). */
void zs_key_begin(struct zshard *s, size_t k);
/* Key k's answer is complete (value, nil or s->errtxt): handed over, or its record closed. */
void zs_key_end(struct zshard *s, size_t k);

/* redis_stream_redirect.c */
/*
 * The keys s->keys[j0 .. j0+m) were answered with the error text: when it
 * is a MOVED or ASK (followed once) or, for an MGET, a TRYAGAIN (each key
 * asked again alone), their answers go into out[0..m) and 0 is returned;
 * 1 when it is no redirection (the error stands for every key); -EIO when a
 * node could not be asked (z->err set).
 */
int zs_redirect(struct zshard *s, size_t j0, size_t m, const char *text, struct ctl_reply *out);

/* redis_stream_value.c */
/* Hand n records at recs to the callbacks as key k's, until one fails. */
void zs_hand_over(struct zstream *z, size_t k, const uint8_t *recs, size_t n);
/* Key k's value as it arrived on shard s: handed over in its turn, else held. */
void zs_take_value(struct zshard *s, size_t k, const char *v, size_t len);

#endif /* CHOT_CTL_REDIS_STREAM_INT_H */
