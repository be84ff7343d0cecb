/*
 * A stream's reply that was a cluster redirection (redis_stream_reply.c):
 * the keys it answered asked again, on a side connection of their own (the
 * stream's connections are mid-pipeline), in one round trip for them all.
 *
 *  - MOVED / ASK: the slot is (being) served elsewhere; its keys go there as
 *    GETs, after ASKING for an ASK, and the map learns a MOVED.  Followed
 *    once: a second redirection is the keys' error, as it always was for
 *    a GET.  An MGET is redirected as GETs too: after an ASK, the target
 *    would answer TRYAGAIN to an MGET of keys not all imported yet.
 *  - TRYAGAIN (an MGET only): the slot is migrating and some of the keys
 *    have moved, so the node can answer for none of them together.  Alone,
 *    each one can be answered at once: its value where it still is, or an
 *    ASK to where it went, followed once.  So the keys are asked again
 *    alone, from the same node, rather than the MGET re-sent after a wait
 *    (as cluster clients do) that a long migration could outlast: never a
 *    key lost to a retry that gave up, never one read twice.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "redis_stream_int.h"

/*
 * `GET key` for the keys ks[0..m) on ep's side connection, each after an
 * ASKING when asking; their replies into out[0..m).  0 or -EIO (z->err set).
 */
static int
side_gets(struct zstream *z, const struct redis_endpoint *ep, bool readonly, bool asking,
	  const size_t *ks, size_t m, struct ctl_reply *out)
{
	static const char *const ask[] = { "ASKING" };
	struct ctl_redis *r = z->r;
	struct resp_buf b = { 0 };
	struct ctl_conn *c = ctl_redis_node(r, ep, readonly, true, z->err, z->errlen);
	int rc = 0;

	if (c == NULL)
		return -EIO;
	for (size_t i = 0; i < m && rc == 0; i++) {
		char key[ZS_KEY_MAX];
		size_t kl = z->key_fn(z->ctx, ks[i], key, sizeof(key));
		const char *argv[] = { "GET", key };
		size_t argl[] = { 3, kl };

		if (asking)
			rc = resp_append_argv(&b, 1, ask, NULL);
		if (rc == 0)
			rc = resp_append_argv(&b, 2, argv, argl);
	}
	if (rc == 0)
		rc = ctl_conn_send(c, b.data, b.len, r->timeout_ms, z->err, z->errlen);
	resp_buf_free(&b);
	for (size_t i = 0; i < m && rc == 0; i++) {
		if (asking) {
			rc = ctl_conn_reply(c, &out[i], r->timeout_ms, z->err, z->errlen);
			ctl_reply_free(&out[i]);
			r->calls++;
		}
		if (rc == 0)
			rc = ctl_conn_reply(c, &out[i], r->timeout_ms, z->err, z->errlen);
		r->calls++;
	}
	if (rc != 0)
		ctl_redis_drop(r, c);   /* out of step */
	return rc != 0 ? -EIO : 0;
}

/* Ask the node a MOVED/ASK names for the keys ks[0..m). 0 or -EIO. */
static int
follow(struct zstream *z, const struct slot_redirect *rd, const size_t *ks, size_t m,
       struct ctl_reply *out)
{
	struct ctl_redis *r = z->r;
	struct redis_endpoint ep = rd->ep;

	if (ep.host[0] == '\0')
		snprintf(ep.host, sizeof(ep.host), "%s", r->url.seeds[0].host);
	if (rd->kind == SLOT_REDIRECT_MOVED) {
		(void)slot_map_move(r->map, rd->slot, &ep);
		r->map_stale = true;
	}
	return side_gets(z, &ep, false, rd->kind == SLOT_REDIRECT_ASK, ks, m, out);
}

int
zs_redirect(struct zshard *s, size_t j0, size_t m, const char *text, struct ctl_reply *out)
{
	struct zstream *z = s->z;
	size_t ks[ZS_MGET_MAX];
	struct slot_redirect rd;
	int rc;

	if (!z->r->cluster || m == 0 || m > ZS_MGET_MAX)
		return 1;       /* one node: a MOVED is reported (use cluster://) */
	for (size_t i = 0; i < m; i++)
		ks[i] = zs_key_at(s, j0 + i);
	if (slot_redirect_parse(text, strlen(text), &rd) != SLOT_REDIRECT_NONE)
		return follow(z, &rd, ks, m, out) != 0 ? -EIO : 0;
	if (m < 2 || strncmp(text, "TRYAGAIN", 8) != 0)
		return 1;
	rc = side_gets(z, &s->ep, s->readonly, false, ks, m, out);
	for (size_t i = 0; i < m && rc == 0; i++) {
		if (!out[i].is_error ||
		    slot_redirect_parse(out[i].err, strlen(out[i].err), &rd) == SLOT_REDIRECT_NONE)
			continue;
		ctl_reply_free(&out[i]);
		rc = follow(z, &rd, &ks[i], 1, &out[i]);
	}
	return rc != 0 ? -EIO : 0;
}
