/*
 * A stream's reply that was a cluster redirection (redis_stream_reply.c):
 * the keys it answered asked again, on a side connection of their own (the
 * stream's connections are mid-pipeline), in one round trip for them all.
 *
 *  - MOVED: the slot is served elsewhere now; its keys go there as GETs,
 *    and the map learns it.  Followed once: a second redirection is the
 *    keys' error, as it always was for a GET.
 *  - ASK of a GET: the key has left for the slot's importing node; asked
 *    there after ASKING, once.
 *  - TRYAGAIN or ASK of an MGET: the slot is migrating.  Redis 7 answers
 *    TRYAGAIN when some of the keys have moved and ASK when none is left;
 *    Redis 6 answered ASK in both cases, so an ASK of an MGET cannot say
 *    that every key is on the target, and there an MGET of keys not all
 *    imported would get TRYAGAIN.  Alone, each key can be answered at once:
 *    its value where it still is, or its own ASK, which is followed once
 *    (the keys so sent together).  So the keys are asked again alone, from
 *    the same node, rather than the MGET re-sent after a wait (as cluster
 *    clients do) that a long migration could outlast: never a key lost to
 *    a retry that gave up, never one read twice.
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

/* Two redirections to the same place, asked together. */
static bool
same_redirect(const struct slot_redirect *a, const struct slot_redirect *b)
{
	return a->kind == b->kind && a->slot == b->slot && redis_endpoint_equal(&a->ep, &b->ep);
}

int
zs_redirect(struct zshard *s, size_t j0, size_t m, const char *text, struct ctl_reply *out)
{
	struct zstream *z = s->z;
	size_t ks[ZS_MGET_MAX], at[ZS_MGET_MAX], nr = 0;
	struct slot_redirect rd, first;
	struct ctl_reply got[ZS_MGET_MAX];
	enum slot_redirect_kind kind;
	int rc;

	if (!z->r->cluster || m == 0 || m > ZS_MGET_MAX)
		return 1;       /* one node: a MOVED is reported (use cluster://) */
	for (size_t i = 0; i < m; i++)
		ks[i] = zs_key_at(s, j0 + i);
	kind = slot_redirect_parse(text, strlen(text), &rd);
	if (kind == SLOT_REDIRECT_MOVED || (kind == SLOT_REDIRECT_ASK && m == 1))
		return follow(z, &rd, ks, m, out) != 0 ? -EIO : 0;
	if (m == 1 || (kind == SLOT_REDIRECT_NONE && strncmp(text, "TRYAGAIN", 8) != 0))
		return 1;
	/* An MGET's ASK or TRYAGAIN: its keys alone, from the same node. */
	rc = side_gets(z, &s->ep, s->readonly, false, ks, m, out);
	if (rc != 0)
		return -EIO;
	/* Those now answered ASK (or MOVED) go where they were sent, together. */
	for (size_t i = 0; i < m; i++) {
		if (!out[i].is_error ||
		    slot_redirect_parse(out[i].err, strlen(out[i].err), &rd) == SLOT_REDIRECT_NONE)
			continue;
		if (nr == 0)
			first = rd;
		else if (!same_redirect(&rd, &first))
			continue;       /* elsewhere (never seen): its redirection is its error */
		at[nr] = i;
		ks[nr++] = zs_key_at(s, j0 + i);
	}
	if (nr == 0)
		return 0;
	memset(got, 0, sizeof(got));
	rc = follow(z, &first, ks, nr, got);
	for (size_t i = 0; i < nr; i++) {
		if (rc == 0) {
			ctl_reply_free(&out[at[i]]);
			out[at[i]] = got[i];
		} else {
			ctl_reply_free(&got[i]);
		}
	}
	return rc != 0 ? -EIO : 0;
}
