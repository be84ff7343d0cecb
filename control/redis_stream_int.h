/*
 * Internals of the streamed GET reader (redis_stream.c, ctl_redis_records_stream
 * and ctl_redis_values_stream in redis.h), shared with redis_stream_value.c,
 * which turns a key's value into the records its callbacks get.
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
	const size_t *keys;             /* its keys' indices, ascending; NULL: 0..n-1 */
	size_t nkeys, sent, answered, delivered;
	struct resp_buf out;
	size_t out_pos;
	/* the reply being read */
	bool direct, bad, is_err, corrupt;
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
	uint8_t *shard_of;              /* NULL: one node */
	struct zshard *sh;
	unsigned nsh;
	uint8_t *tmp;                   /* an in-turn value being sorted */
	size_t tmpcap;
	int rc;                         /* first error: the callbacks stop */
	int fatal;                      /* the stream cannot go on */
	char *err;
	size_t errlen;
};

/* Append len bytes to s's queue of held replies. 0 or -ENOMEM. */
int zs_q_put(struct zshard *s, const void *p, size_t len);
/* The stream cannot go on (the first reason is kept). */
void zs_fatal(struct zstream *z, int rc);

/* redis_stream_value.c */
/* Hand n records at recs to the callbacks as key k's, until one fails. */
void zs_hand_over(struct zstream *z, size_t k, const uint8_t *recs, size_t n);
/* Key k's value as it arrived on shard s: handed over in its turn, else held. */
void zs_take_value(struct zshard *s, size_t k, const char *v, size_t len);

#endif /* CHOT_CTL_REDIS_STREAM_INT_H */
