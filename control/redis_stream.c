/*
 * The trace's streamed reads (redis.h, ctl_redis_records_stream and
 * ctl_redis_values_stream): thousands of keys, one pipeline per node, each
 * value a string of fixed-size records (proto/layout.h).  This file builds
 * and sends the commands and drives the nodes; redis_stream_reply.c reads
 * the replies.
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
 * A records stream asks `GET key` for each key.  A values stream (the
 * trace's presence, p:{site}:b<block> in (site, block) order) asks a run
 * of consecutive keys of one slot -- a site's buckets share the hash tag
 * {site} -- with one `MGET k1 .. km` (at most ZS_MGET_MAX): Redis spends
 * about half as much CPU on an MGET's keys as on as many GETs (a heavy
 * depth-2 trace's ~100k keys: 0.26-0.29 s instead of 0.47-0.52 s), CPU it
 * otherwise takes from chotctl on a small box.  Runs are cut by slot, not
 * tag, as Redis Cluster only asks that; a single node gets the same runs,
 * so a cluster node reached with redis:// answers MOVED (the hint to use
 * cluster://) rather than CROSSSLOT.  One difference with GET: MGET answers
 * nil for a key of another type, where GET says WRONGTYPE; a store of the
 * sorted-set layout is still named, by the timelines' GETs a trace reads
 * first.
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
 * A MOVED/ASK answer (a slot moving under the trace), or an MGET's
 * TRYAGAIN, is followed on a connection of its own before the node's next
 * reply is read (redis_stream_redirect.c).  A node that closes, speaks
 * something other than RESP, answers a GET with anything but a string, nil
 * or error (an MGET with anything but an array of as many strings and nils,
 * or an error), or does not answer within the timeout fails the whole
 * stream with its host:port in the error.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_stream_int.h"

/* --- driving the pipelines --- */

/*
 * Append one command for the keys of s from s->sent on: `GET key`, or in a
 * values stream `MGET k1 .. km` of the longest run of keys of one slot (at
 * most z->batch, and what the window has room for).  Keys of one slot are
 * on one node; Redis refuses others together (CROSSSLOT), on one node too
 * when it is part of a cluster (redis:// to a cluster node then gets the
 * MOVED that says to use cluster://).  *m: the keys it asks.  0 or
 * -EINVAL/-ENOMEM.
 */
static int
append_command(struct zstream *z, struct zshard *s, size_t room, size_t *m)
{
	size_t cap = z->batch < room ? z->batch : room, kl[ZS_MGET_MAX], bytes = 0, n;
	uint16_t slot = 0;
	char *p;

	if (cap > s->nkeys - s->sent)
		cap = s->nkeys - s->sent;
	for (n = 0; n < cap; n++) {
		kl[n] = z->key_fn(z->ctx, zs_key_at(s, s->sent + n), z->keybuf[n], ZS_KEY_MAX);
		if (kl[n] == 0 || kl[n] >= ZS_KEY_MAX) {
			snprintf(z->err, z->errlen, "Redis: key too long");
			return -EINVAL;
		}
		if (cap > 1) {
			uint16_t sl = slot_of_key(z->keybuf[n], kl[n]);

			if (n == 0)
				slot = sl;
			else if (sl != slot)
				break;
		}
		bytes += RESP_BULK_MAX(kl[n]);
	}
	if (resp_buf_reserve(&s->out, bytes + 2 * RESP_BULK_MAX(4)) != 0)
		return -ENOMEM;
	p = resp_put_head(s->out.data + s->out.len, '*', n + 1);
	p = n == 1 ? resp_put_bulk(p, "GET", 3) : resp_put_bulk(p, "MGET", 4);
	for (size_t i = 0; i < n; i++)
		p = resp_put_bulk(p, z->keybuf[i], kl[i]);
	s->out.len = (size_t)(p - s->out.data);
	*m = n;
	return 0;
}

/*
 * Build more commands for s while its window allows: at most ZS_INFLIGHT of
 * its keys sent and not yet handed over (an MGET counts all its keys).
 * 0 or -EINVAL/-ENOMEM.
 */
/* The room a next command waits for: a whole MGET, or the keys left. */
static size_t
window_want(const struct zstream *z, const struct zshard *s)
{
	size_t left = s->nkeys - s->sent;

	return z->batch < left ? z->batch : left;
}

static int
fill(struct zstream *z, struct zshard *s)
{
	if (s->out_pos < s->out.len)
		return 0;
	resp_buf_reset(&s->out);
	s->out_pos = 0;
	/*
	 * With the window full, each key handed over frees room for one: wait
	 * for room for a whole MGET (or the keys left), else a values stream
	 * goes on in GETs of one key (a heavy trace sent ~100k of them beside
	 * 8k MGETs, and Redis's CPU for its presence barely fell).
	 */
	while (s->sent < s->nkeys && s->sent - s->delivered + window_want(z, s) <= ZS_INFLIGHT &&
	       s->out.len < ZS_OUT_CAP && s->cmd_count < ZS_CMDS) {
		size_t m;
		int rc = append_command(z, s, ZS_INFLIGHT - (s->sent - s->delivered), &m);

		if (rc != 0)
			return rc;
		s->cmd_keys[(s->cmd_head + s->cmd_count) % ZS_CMDS] = (uint8_t)m;
		s->cmd_count++;
		s->cmds++;
		s->sent += m;
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
		z->sh[s].ep = *ep;
		z->sh[s].readonly = ro;
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
			     .record_fn = record_fn, .done_fn = done_fn, .ctx = ctx, .batch = 1,
			     .err = err, .errlen = errlen };

	return stream_run(&z);
}

int
ctl_redis_values_stream(struct ctl_redis *r, size_t n, size_t rec_len, ctl_key_fn key_fn,
			ctl_values_fn values_fn, ctl_reply_done_fn done_fn, void *ctx, char *err,
			size_t errlen)
{
	struct zstream z = { .r = r, .n = n, .rec_len = rec_len, .key_fn = key_fn,
			     .values_fn = values_fn, .done_fn = done_fn, .ctx = ctx,
			     .batch = r->stream_gets ? 1 : ZS_MGET_MAX, .err = err,
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
	uint64_t cmds = 0;
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
			ctl_conn_stream_on(z->sh[s].c, &zs_reply_fns, &z->sh[s]);
	while (rc == 0 && z->next < n)
		rc = pump(z);
	for (unsigned s = 0; s < z->nsh; s++) {
		struct zshard *sh = &z->sh[s];

		cmds += sh->cmds;
		if (sh->c != NULL) {
			ctl_conn_stream_off(sh->c);
			if (rc != 0 && (sh->answered < sh->sent || sh->out_pos < sh->out.len))
				ctl_redis_drop(r, sh->c);   /* out of step */
		}
		resp_buf_free(&sh->out);
		free(sh->q);
	}
	r->calls += cmds;
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
