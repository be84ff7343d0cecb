/*
 * The trace's streamed reads (redis.h, ctl_redis_records_stream): `GET key`
 * for thousands of keys, one pipeline per node, each value a string of
 * fixed-size records (proto/layout.h).
 *
 * Keys are routed by slot (proto/slot.h) to their master, or with
 * --replicas to its replica; each node's share is written while its
 * replies are read (at most ZS_INFLIGHT of its keys sent and not yet handed
 * over), and every node is polled at once, so the masters work in parallel.
 * The callbacks must still see keys in order: a value that arrives in its
 * turn (the key is the next one due) goes from hiredis's reader straight to
 * record_fn; one that arrives early is held in its node's queue and handed
 * over when its turn comes.  With one node every value is in its turn.
 *
 * A value is made ready for the callbacks where it first lands, once:
 * records already in strictly ascending order (no duplicates) are handed
 * over where hiredis's reader holds them; others go through
 * layout_records_unique() (sorted, exact duplicates dropped and counted), in
 * a scratch buffer reused for the whole stream, or in the queue when held.
 * A value that is not a whole number of records is refused, naming its key,
 * and none of it is handed over.  With 8-byte records the values are week
 * keys (proto/layout.h): their vault units are taken out first
 * (layout_subject_split), never handed over nor counted as duplicates, and
 * a malformed unit is refused like a torn value.  ctl_redis_values_stream()
 * skips the sort: each value (without a unit) goes to its callback whole and
 * as stored, wherever it lands.
 *
 * A MOVED/ASK answer (a slot moving under the trace) is followed once, on
 * a connection of its own, before the node's next reply is read.  A node
 * that closes, speaks something other than RESP, answers a GET with
 * anything but a string, nil or error, or does not answer within the
 * timeout fails the whole stream with its host:port in the error.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "redis_stream_int.h"

static size_t
key_at(const struct zshard *s, size_t j)
{
	return s->keys != NULL ? s->keys[j] : j;
}

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

/* --- the reader's callbacks (redis_conn.h) --- */

static void
on_top(void *ctx, enum ctl_top kind, const char *str, size_t len)
{
	struct zshard *s = ctx;
	struct zstream *z = s->z;
	size_t k = key_at(s, s->answered);

	s->direct = k == z->next;
	s->bad = kind == CTL_TOP_OTHER || kind == CTL_TOP_ARRAY;
	s->is_err = kind == CTL_TOP_ERROR;
	s->corrupt = false;
	if (s->is_err)
		snprintf(s->errtxt, sizeof(s->errtxt), "%.*s", (int)len, str);
	if (!s->direct && q_begin(s, k) != 0) {
		zs_fatal(z, -ENOMEM);
		return;
	}
	if (kind == CTL_TOP_STRING)
		zs_take_value(s, k, str, len);
}

/* An element of an array: a GET never answers with one (on_top marked it bad). */
static void
on_member(void *ctx, const char *str, size_t len, bool is_string)
{
	struct zshard *s = ctx;

	(void)str;
	(void)len;
	(void)is_string;
	s->bad = true;
}

/*
 * Key k's GET answered MOVED/ASK: ask the node named, once, on a side
 * connection, and take its answer as the reply.  0 (out filled) or -EIO.
 */
static int
redirect(struct zstream *z, size_t k, const struct slot_redirect *rd, struct ctl_reply *out)
{
	struct ctl_redis *r = z->r;
	struct redis_endpoint ep = rd->ep;
	char key[ZS_KEY_MAX];
	size_t kl = z->key_fn(z->ctx, k, key, sizeof(key));
	const char *argv[] = { "GET", key };
	size_t argl[] = { 3, kl };
	struct resp_buf b = { 0 };
	struct ctl_conn *c;
	int rc = 0;

	if (ep.host[0] == '\0')
		snprintf(ep.host, sizeof(ep.host), "%s", r->url.seeds[0].host);
	if (rd->kind == SLOT_REDIRECT_MOVED) {
		(void)slot_map_move(r->map, rd->slot, &ep);
		r->map_stale = true;
	}
	c = ctl_redis_node(r, &ep, false, true, z->err, z->errlen);
	if (c == NULL)
		return -EIO;
	if (rd->kind == SLOT_REDIRECT_ASK) {
		const char *ask[] = { "ASKING" };

		rc = resp_append_argv(&b, 1, ask, NULL);
	}
	if (rc == 0)
		rc = resp_append_argv(&b, 2, argv, argl);
	if (rc == 0)
		rc = ctl_conn_send(c, b.data, b.len, r->timeout_ms, z->err, z->errlen);
	resp_buf_free(&b);
	if (rc == 0 && rd->kind == SLOT_REDIRECT_ASK) {
		rc = ctl_conn_reply(c, out, r->timeout_ms, z->err, z->errlen);
		ctl_reply_free(out);
		r->calls++;
	}
	if (rc == 0)
		rc = ctl_conn_reply(c, out, r->timeout_ms, z->err, z->errlen);
	r->calls++;
	if (rc != 0)
		ctl_redis_drop(r, c);
	return rc != 0 ? -EIO : 0;
}

static int
on_end(void *ctx)
{
	struct zshard *s = ctx;
	struct zstream *z = s->z;
	size_t k = key_at(s, s->answered);
	struct ctl_reply got = { 0 };
	struct slot_redirect rd;

	s->answered++;
	if (z->fatal != 0)
		return z->fatal;
	if (s->bad) {
		snprintf(z->err, z->errlen, "Redis node %s: connection lost: the answer to a "
			 "GET is not a string", ctl_conn_name(s->c));
		return -EIO;
	}
	if (s->is_err && !s->corrupt && z->r->cluster &&
	    slot_redirect_parse(s->errtxt, strlen(s->errtxt), &rd) != SLOT_REDIRECT_NONE) {
		if (redirect(z, k, &rd, &got) != 0)
			return -EIO;
		s->is_err = got.is_error;
		if (got.is_error)
			snprintf(s->errtxt, sizeof(s->errtxt), "%s", got.err);
		else if (got.n > 0)     /* a string (nil: no element) */
			zs_take_value(s, k, got.v[0].p, got.v[0].len);
		ctl_reply_free(&got);
		if (z->fatal != 0)
			return z->fatal;
	}
	if (s->direct) {
		if (s->is_err)
			set_error(z, k, s->errtxt, s->corrupt);
		else if (z->rc == 0 && z->done_fn != NULL)
			z->rc = z->done_fn(z->ctx, k);
		s->delivered++;
		z->next++;
		deliver_ready(z);
		return 0;
	}
	if (s->is_err) {
		s->qlen = s->rec_at + sizeof(struct zrec);
		if (zs_q_put(s, s->errtxt, strlen(s->errtxt)) != 0)
			zs_fatal(z, -ENOMEM);
		q_finish(s, ZR_ERROR | (s->corrupt ? ZR_CORRUPT : 0));
	} else {
		q_finish(s, 0);
	}
	/* Its turn may have come while it was read (another node's reply
	 * completed meanwhile): hand it over now, or nothing else would. */
	deliver_ready(z);
	return z->fatal;
}

static const struct ctl_conn_stream stream_fns = {
	.top = on_top, .member = on_member, .end = on_end,
};

/* --- driving the pipelines --- */

/* Build more commands for s while its window allows. 0 or -EINVAL/-ENOMEM. */
static int
fill(struct zstream *z, struct zshard *s)
{
	if (s->out_pos < s->out.len)
		return 0;
	resp_buf_reset(&s->out);
	s->out_pos = 0;
	while (s->sent < s->nkeys && s->sent - s->delivered < ZS_INFLIGHT &&
	       s->out.len < ZS_OUT_CAP) {
		char key[ZS_KEY_MAX];
		size_t kl = z->key_fn(z->ctx, key_at(s, s->sent), key, sizeof(key));
		const char *argv[] = { "GET", key };
		size_t argl[] = { 3, kl };

		if (kl == 0 || kl >= sizeof(key)) {
			snprintf(z->err, z->errlen, "Redis: key too long");
			return -EINVAL;
		}
		if (resp_append_argv(&s->out, 2, argv, argl) != 0)
			return -ENOMEM;
		s->sent++;
	}
	return 0;
}

/* One round: send, wait for any node, read.  0, or the stream's fatal error. */
static int
pump(struct zstream *z)
{
	struct pollfd pfd[SLOT_MAX_SHARDS];
	unsigned who[SLOT_MAX_SHARDS], np = 0;
	int n;

	for (unsigned i = 0; i < z->nsh; i++) {
		struct zshard *s = &z->sh[i];
		int rc;

		if (s->nkeys == 0)
			continue;
		rc = fill(z, s);
		if (rc != 0)
			return rc;
		if (s->out_pos < s->out.len) {
			long w = ctl_conn_send_some(s->c, s->out.data + s->out_pos,
						    s->out.len - s->out_pos);

			if (w < 0) {
				snprintf(z->err, z->errlen, "Redis node %s: connection lost: %s",
					 ctl_conn_name(s->c), ctl_conn_error(s->c));
				return -EIO;
			}
			s->out_pos += (size_t)w;
		}
		if (s->answered < s->sent || s->out_pos < s->out.len) {
			pfd[np] = (struct pollfd){ .fd = ctl_conn_fd(s->c), .events = POLLIN };
			if (s->out_pos < s->out.len)
				pfd[np].events |= POLLOUT;
			who[np++] = i;
		}
	}
	if (np == 0) {          /* cannot happen: the next key due is always sent */
		snprintf(z->err, z->errlen, "Redis: stream stalled at key %zu of %zu", z->next,
			 z->n);
		return -EIO;
	}
	n = poll(pfd, np, (int)z->r->timeout_ms);
	if (n < 0)
		return 0;       /* EINTR: go round */
	if (n == 0) {
		size_t len = 0;

		len += (size_t)snprintf(z->err, z->errlen, "Redis node");
		for (unsigned j = 0; j < np && len < z->errlen; j++)
			if (z->sh[who[j]].answered < z->sh[who[j]].sent)
				len += (size_t)snprintf(z->err + len, z->errlen - len, " %s",
							ctl_conn_name(z->sh[who[j]].c));
		if (len < z->errlen)
			snprintf(z->err + len, z->errlen - len, ": no answer within %u ms (stopped "
				 "or overloaded?); connection lost", z->r->timeout_ms);
		return -ETIMEDOUT;
	}
	for (unsigned j = 0; j < np; j++) {
		struct zshard *s = &z->sh[who[j]];

		if (pfd[j].revents == 0 || pfd[j].revents == POLLOUT)
			continue;
		for (int reads = 0; reads < 16 && s->answered < s->sent; reads++) {
			int rc = ctl_conn_stream_recv(s->c);

			if (rc == 0)
				break;
			if (rc < 0) {
				if (z->fatal == 0 && rc == -EIO &&
				    strstr(z->err, "connection lost") == NULL &&
				    strstr(z->err, "Redis node") == NULL)
					snprintf(z->err, z->errlen, "Redis node %s: connection lost: %s",
						 ctl_conn_name(s->c), ctl_conn_error(s->c));
				return z->fatal != 0 ? z->fatal : rc;
			}
			if (z->fatal != 0)
				return z->fatal;
		}
	}
	return 0;
}

/* Split the keys by the node that serves their slot. 0 or -EIO/-ENOMEM (err set). */
static int
route_keys(struct zstream *z, size_t **order)
{
	struct ctl_redis *r = z->r;
	size_t count[SLOT_MAX_SHARDS] = { 0 }, at[SLOT_MAX_SHARDS];

	z->shard_of = malloc(z->n + 1);
	*order = malloc((z->n + 1) * sizeof(**order));
	if (z->shard_of == NULL || *order == NULL) {
		snprintf(z->err, z->errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < z->n; i++) {
		char key[ZS_KEY_MAX];
		size_t kl = z->key_fn(z->ctx, i, key, sizeof(key));
		int si;

		if (kl == 0 || kl >= sizeof(key)) {
			snprintf(z->err, z->errlen, "Redis: key too long");
			return -EINVAL;
		}
		si = r->map->owner[slot_of_key(key, kl)];
		if (si < 0) {
			snprintf(z->err, z->errlen, "Redis Cluster: slot %u has no master",
				 (unsigned)slot_of_key(key, kl));
			return -EIO;
		}
		z->shard_of[i] = (uint8_t)si;
		count[si]++;
	}
	for (unsigned s = 0, sum = 0; s < z->nsh; s++) {
		at[s] = sum;
		z->sh[s].keys = *order + sum;
		z->sh[s].nkeys = count[s];
		sum += (unsigned)count[s];
	}
	for (size_t i = 0; i < z->n; i++)
		(*order)[at[z->shard_of[i]]++] = i;
	for (unsigned s = 0; s < z->nsh; s++) {
		const struct redis_endpoint *ep;
		bool ro;

		if (z->sh[s].nkeys == 0)
			continue;
		ep = ctl_redis_read_ep(r, (int)s, &ro);
		z->sh[s].c = ctl_redis_node(r, ep, ro, false, z->err, z->errlen);
		if (z->sh[s].c == NULL)
			return -EIO;
	}
	return 0;
}

static int stream_run(struct zstream *z);

int
ctl_redis_records_stream(struct ctl_redis *r, size_t n, size_t rec_len, ctl_key_fn key_fn,
			 ctl_record_fn record_fn, ctl_reply_done_fn done_fn, void *ctx, char *err,
			 size_t errlen)
{
	struct zstream z = { .r = r, .n = n, .rec_len = rec_len, .key_fn = key_fn,
			     .record_fn = record_fn, .done_fn = done_fn, .ctx = ctx, .err = err,
			     .errlen = errlen };

	return stream_run(&z);
}

int
ctl_redis_values_stream(struct ctl_redis *r, size_t n, size_t rec_len, ctl_key_fn key_fn,
			ctl_values_fn values_fn, ctl_reply_done_fn done_fn, void *ctx, char *err,
			size_t errlen)
{
	struct zstream z = { .r = r, .n = n, .rec_len = rec_len, .key_fn = key_fn,
			     .values_fn = values_fn, .done_fn = done_fn, .ctx = ctx, .err = err,
			     .errlen = errlen };

	return stream_run(&z);
}

static int
stream_run(struct zstream *z)
{
	struct ctl_redis *r = z->r;
	size_t n = z->n, rec_len = z->rec_len;
	char *err = z->err;
	size_t errlen = z->errlen;
	size_t *order = NULL;
	uint64_t sent = 0;
	int rc = 0;

	if (rec_len == 0)
		return -EINVAL;
	if (r->cluster && ctl_redis_refresh_if_stale(r, err, errlen) != 0)
		return -EIO;
	if (!r->cluster && r->single == NULL) {
		snprintf(err, errlen, "Redis connection lost earlier in this command");
		return -EIO;
	}
	z->nsh = r->cluster ? r->map->nshards : 1;
	z->sh = calloc(z->nsh, sizeof(*z->sh));
	if (z->sh == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (unsigned s = 0; s < z->nsh; s++)
		z->sh[s].z = z;
	if (r->cluster) {
		rc = route_keys(z, &order);
	} else {
		z->sh[0].c = r->single;
		z->sh[0].nkeys = n;
	}
	for (unsigned s = 0; s < z->nsh && rc == 0; s++)
		if (z->sh[s].c != NULL)
			ctl_conn_stream_on(z->sh[s].c, &stream_fns, &z->sh[s]);
	while (rc == 0 && z->next < n)
		rc = pump(z);
	for (unsigned s = 0; s < z->nsh; s++) {
		struct zshard *sh = &z->sh[s];

		sent += sh->sent;
		if (sh->c != NULL) {
			ctl_conn_stream_off(sh->c);
			if (rc != 0 && (sh->answered < sh->sent || sh->out_pos < sh->out.len))
				ctl_redis_drop(r, sh->c);   /* out of step */
		}
		resp_buf_free(&sh->out);
		free(sh->q);
	}
	r->calls += sent;
	free(z->sh);
	free(z->tmp);
	free(z->shard_of);
	free(order);
	if (rc != 0) {
		if (rc == -ENOMEM && strstr(err, "out of memory") == NULL)
			snprintf(err, errlen, "Redis connection lost: out of memory");
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	return z->rc;
}
