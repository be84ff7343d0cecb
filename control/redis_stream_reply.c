/*
 * The replies of the streamed reads (redis_stream.c): what hiredis's
 * reader finds (redis_conn.h's stream callbacks) turned into each key's
 * answer, handed to the callbacks in key order.
 *
 * A GET answers one key; an MGET (values streams: a run of keys of one
 * slot) answers as many, its array's elements standing for the GET
 * replies they replace: a string is the key's value, a nil a missing key,
 * and each element is finished (handed over or held) as it is read, so an
 * MGET's values are never copied to wait for the end of the array.  An
 * error answer to an MGET (MOVED, ASK, TRYAGAIN, NOPERM ...) is every one
 * of its keys' answer: a redirection is followed for them all
 * (redis_stream_redirect.c), any other error is reported for the first of
 * them in its turn, as the GETs' errors would have been.
 *
 * In its turn (the key is the next one due) an answer goes straight to the
 * callbacks; early, it is held in its shard's queue (struct zrec, then the
 * records or the error text) and handed over by deliver_ready() when the
 * keys before it are.  A shard's keys are ascending, so its queue is in key
 * order too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "redis_stream_int.h"

/* --- held replies --- */

int
zs_q_put(struct zshard *s, const void *p, size_t len)
{
	if (s->qlen + len > s->qcap) {
		size_t cap = s->qcap != 0 ? s->qcap : 65536;
		char *nq;

		while (cap < s->qlen + len)
			cap *= 2;
		nq = realloc(s->q, cap);
		if (nq == NULL)
			return -ENOMEM;
		s->q = nq;
		s->qcap = cap;
	}
	memcpy(s->q + s->qlen, p, len);
	s->qlen += len;
	return 0;
}

static int
q_begin(struct zshard *s, size_t key)
{
	struct zrec h = { .key = key };

	s->rec_at = s->qlen;
	return zs_q_put(s, &h, sizeof(h));
}

static void
q_finish(struct zshard *s, uint32_t flags)
{
	struct zrec h;

	memcpy(&h, s->q + s->rec_at, sizeof(h));
	h.flags = flags | ZR_DONE;
	h.bytes = (uint32_t)(s->qlen - s->rec_at - sizeof(h));
	memcpy(s->q + s->rec_at, &h, sizeof(h));
}

/* The first error of the stream, in err: Redis's answer (or the refusal) for key k. */
static void
set_error(struct zstream *z, size_t k, const char *text, bool corrupt)
{
	char key[ZS_KEY_MAX], kt[LAYOUT_KEY_TEXT_MAX];
	size_t kl;

	if (z->rc != 0)
		return;
	if (corrupt) {
		snprintf(z->err, z->errlen, "Redis: %s", text);
		z->rc = -EBADMSG;
		return;
	}
	kl = z->key_fn(z->ctx, k, key, sizeof(key));
	layout_key_text(kt, key, kl);   /* a week key is binary (layout.h) */
	if (!z->r->cluster && strncmp(text, "MOVED ", 6) == 0)
		snprintf(z->err, z->errlen, "Redis: %s (this node is part of a Redis Cluster: "
			 "use -r cluster://HOST:PORT)", text);
	else if (strncmp(text, "WRONGTYPE", 9) == 0)
		snprintf(z->err, z->errlen, "Redis: GET %s: %s (a sorted set of the layout "
			 "before records: written by an older chotd?)", kt, text);
	else
		snprintf(z->err, z->errlen, "Redis: GET %s: %s", kt, text);
	z->rc = -EACCES;
}

void
zs_fatal(struct zstream *z, int rc)
{
	if (z->fatal == 0)
		z->fatal = rc;
}

/* Hand over every held reply that is due. */
static void
deliver_ready(struct zstream *z)
{
	while (z->next < z->n) {
		struct zshard *s = &z->sh[z->shard_of != NULL ? z->shard_of[z->next] : 0];
		struct zrec h;
		const char *p;

		if (s->qhead == s->qlen)
			return;
		memcpy(&h, s->q + s->qhead, sizeof(h));
		if (!(h.flags & ZR_DONE))
			return;
		p = s->q + s->qhead + sizeof(h);
		if (h.flags & ZR_ERROR) {
			char text[sizeof(s->errtxt)];

			snprintf(text, sizeof(text), "%.*s", (int)h.bytes, p);
			set_error(z, z->next, text, (h.flags & ZR_CORRUPT) != 0);
		} else {
			zs_hand_over(z, z->next, (const uint8_t *)p, h.bytes / z->rec_len);
			if (z->rc == 0 && z->done_fn != NULL)
				z->rc = z->done_fn(z->ctx, z->next);
		}
		s->qhead += sizeof(h) + h.bytes;
		if (s->qhead == s->qlen)
			s->qhead = s->qlen = 0;
		s->delivered++;
		z->next++;
	}
}

/* --- one key's answer --- */

void
zs_key_begin(struct zshard *s, size_t k)
{
	struct zstream *z = s->z;

	s->direct = k == z->next;
	s->is_err = s->corrupt = false;
	if (!s->direct && q_begin(s, k) != 0)
		zs_fatal(z, -ENOMEM);
}

void
zs_key_end(struct zshard *s, size_t k)
{
	struct zstream *z = s->z;

	if (z->fatal != 0)
		return;
	if (s->direct) {
		if (s->is_err)
			set_error(z, k, s->errtxt, s->corrupt);
		else if (z->rc == 0 && z->done_fn != NULL)
			z->rc = z->done_fn(z->ctx, k);
		s->delivered++;
		z->next++;
	} else if (s->is_err) {
		s->qlen = s->rec_at + sizeof(struct zrec);     /* what was put of a corrupt value */
		if (zs_q_put(s, s->errtxt, strlen(s->errtxt)) != 0)
			zs_fatal(z, -ENOMEM);
		q_finish(s, ZR_ERROR | (s->corrupt ? ZR_CORRUPT : 0));
	} else {
		q_finish(s, 0);
	}
	/* Its turn may have come while it was read (another node's reply
	 * completed meanwhile), or it was due and keys held after it are now:
	 * hand them over now, or nothing else would. */
	deliver_ready(z);
}

/* A key's answer from a side connection (a redirection): a value, nil or an error. */
static void
take_reply(struct zshard *s, size_t k, const struct ctl_reply *got)
{
	zs_key_begin(s, k);
	if (s->z->fatal != 0)
		return;
	if (got->is_error) {
		s->is_err = true;
		snprintf(s->errtxt, sizeof(s->errtxt), "%s", got->err);
	} else if (got->n > 0) {        /* a string (nil: no element) */
		zs_take_value(s, k, got->v[0].p, got->v[0].len);
	}
	zs_key_end(s, k);
}

/* --- the reader's callbacks (redis_conn.h) --- */

static void
on_top(void *ctx, enum ctl_top kind, const char *str, size_t len)
{
	struct zshard *s = ctx;
	struct zstream *z = s->z;
	size_t k;

	s->reply_first = s->answered;
	s->reply_keys = s->cmd_count > 0 ? s->cmd_keys[s->cmd_head] : 0;
	s->elems = 0;
	s->multi_err = false;
	s->bad = s->reply_keys == 0;    /* more replies than commands: out of step */
	if (s->bad)
		return;
	if (s->reply_keys > 1) {        /* an MGET: an array of as many, or one error for all */
		s->multi_err = kind == CTL_TOP_ERROR;
		s->bad = !s->multi_err && (kind != CTL_TOP_ARRAY || len != s->reply_keys);
		if (s->multi_err)
			snprintf(s->errtxt, sizeof(s->errtxt), "%.*s", (int)len, str);
		return;
	}
	k = zs_key_at(s, s->answered);
	zs_key_begin(s, k);
	if (z->fatal != 0)
		return;
	s->bad = kind == CTL_TOP_OTHER || kind == CTL_TOP_ARRAY;
	s->is_err = kind == CTL_TOP_ERROR;
	if (s->is_err)
		snprintf(s->errtxt, sizeof(s->errtxt), "%.*s", (int)len, str);
	if (kind == CTL_TOP_STRING)
		zs_take_value(s, k, str, len);
}

/* An element of an MGET's array: one key's answer, complete.  A GET never has one. */
static void
on_member(void *ctx, enum ctl_top kind, const char *str, size_t len)
{
	struct zshard *s = ctx;
	size_t k;

	if (s->reply_keys < 2 || s->bad || s->elems == s->reply_keys ||
	    (kind != CTL_TOP_STRING && kind != CTL_TOP_NIL)) {
		s->bad = true;      /* nested, or not a string: on_end says the node is lost */
		return;
	}
	k = zs_key_at(s, s->reply_first + s->elems);
	zs_key_begin(s, k);
	if (kind == CTL_TOP_STRING && s->z->fatal == 0)
		zs_take_value(s, k, str, len);
	zs_key_end(s, k);
	s->elems++;
	s->answered++;
}

/* Every key of an MGET answered with one error: redirected, or the error is each one's. */
static int
multi_error(struct zshard *s)
{
	struct zstream *z = s->z;
	struct ctl_reply got[ZS_MGET_MAX];
	char text[sizeof(s->errtxt)];
	size_t m = s->reply_keys;
	int rc;

	snprintf(text, sizeof(text), "%s", s->errtxt);
	memset(got, 0, sizeof(got));
	rc = zs_redirect(s, s->reply_first, m, text, got);
	if (rc < 0)
		return -EIO;
	for (size_t i = 0; i < m && z->fatal == 0; i++) {
		size_t k = zs_key_at(s, s->reply_first + i);

		if (rc == 0) {
			take_reply(s, k, &got[i]);
		} else {
			zs_key_begin(s, k);
			s->is_err = true;
			snprintf(s->errtxt, sizeof(s->errtxt), "%s", text);
			zs_key_end(s, k);
		}
	}
	for (size_t i = 0; i < m; i++)
		ctl_reply_free(&got[i]);
	s->answered = s->reply_first + m;
	return z->fatal;
}

static int
on_end(void *ctx)
{
	struct zshard *s = ctx;
	struct zstream *z = s->z;
	struct ctl_reply got = { 0 };
	size_t k;
	int rc;

	if (s->reply_keys == 0) {
		snprintf(z->err, z->errlen, "Redis node %s: connection lost: more replies than "
			 "commands", ctl_conn_name(s->c));
		return -EIO;
	}
	s->cmd_head = (s->cmd_head + 1) % ZS_CMDS;
	s->cmd_count--;
	if (z->fatal != 0)
		return z->fatal;
	if (s->bad || (s->reply_keys > 1 && !s->multi_err && s->elems != s->reply_keys)) {
		snprintf(z->err, z->errlen, "Redis node %s: connection lost: the answer to %s",
			 ctl_conn_name(s->c), s->reply_keys > 1 ? "an MGET is not an array of "
			 "as many strings" : "a GET is not a string");
		return -EIO;
	}
	if (s->reply_keys > 1)
		return s->multi_err ? multi_error(s) : 0;
	k = zs_key_at(s, s->answered);
	s->answered++;
	if (s->is_err && !s->corrupt) {
		char text[sizeof(s->errtxt)];

		snprintf(text, sizeof(text), "%s", s->errtxt);
		rc = zs_redirect(s, s->answered - 1, 1, text, &got);
		if (rc < 0)
			return -EIO;
		if (rc == 0) {
			/* Its record (when held) starts again from the header: a
			 * redirected reply has put nothing after it. */
			s->is_err = got.is_error;
			if (got.is_error)
				snprintf(s->errtxt, sizeof(s->errtxt), "%s", got.err);
			else if (got.n > 0)
				zs_take_value(s, k, got.v[0].p, got.v[0].len);
			ctl_reply_free(&got);
			if (z->fatal != 0)
				return z->fatal;
		}
	}
	zs_key_end(s, k);
	return z->fatal;
}

const struct ctl_conn_stream zs_reply_fns = {
	.top = on_top, .member = on_member, .end = on_end,
};
