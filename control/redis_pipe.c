/*
 * chotctl's pipelines (redis.h: ctl_redis_pipe, ctl_redis_pipe_tree): n
 * commands sent at once, n replies read, flattened or as trees.
 *
 * On a cluster each command goes to the master owning its key's slot
 * (proto/slot.h), or for a read with --replicas to that master's replica.
 * The key is argv[1], except: CHOT.AUDIT names none and writes
 * LAYOUT_AUDIT_STREAM (a module's write to a slot the node does not own is
 * refused, so it is routed by that name); XREAD names its keys after
 * STREAMS; MULTI, EXEC, DISCARD and UNWATCH name none and go with the
 * keyed command next to them, so a transaction stays on one node (chot's
 * transactions are inside one hash tag).  Every node gets its share in one
 * write before any reply is read.  A MOVED or ASK answer is followed once
 * (not inside a transaction, where Redis aborts the EXEC instead), on a
 * connection of its own; MOVED also fixes the map and marks it for a
 * refresh before the next call.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "layout.h"
#include "redis_int.h"
#include "resp.h"

static bool
is_cmd(const char *argv0, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(argv0, name, len) == 0;
}

static size_t
arg_len(const char *const *argv, const size_t *argl, int i)
{
	return argl != NULL ? argl[i] : strlen(argv[i]);
}

/* Commands that change data: never sent to a replica. */
static bool
is_write(const char *a, size_t l)
{
	static const char *const w[] = { "CHOT.AUDIT", "HSET", "HDEL", "HSETNX", "HMSET", "DEL",
					 "UNLINK", "SET", "ZADD", "ZREM", "XADD", "XDEL",
					 "EXPIRE", "EXPIREAT", "PEXPIREAT", "PERSIST", "SADD",
					 "SREM", "INCR", "INCRBY", "WATCH" };

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (is_cmd(a, l, w[i]))
			return true;
	return false;
}

/* MULTI, EXEC, DISCARD, UNWATCH: no key, but bound to their neighbours' node. */
static bool
is_txn(const char *a, size_t l)
{
	return is_cmd(a, l, "MULTI") || is_cmd(a, l, "EXEC") || is_cmd(a, l, "DISCARD") ||
	       is_cmd(a, l, "UNWATCH");
}

/* The key a command is routed by, or NULL (no key: any master). */
static const char *
route_key(int argc, const char *const *argv, const size_t *argl, size_t *klen)
{
	static const char *const keyless[] = { "PING", "INFO", "CLUSTER", "READONLY", "READWRITE",
					       "ASKING", "AUTH", "HELLO", "WAIT", "TIME",
					       "DBSIZE", "ACL", "COMMAND", "MULTI", "EXEC",
					       "DISCARD", "UNWATCH" };
	size_t l0 = arg_len(argv, argl, 0);

	if (is_cmd(argv[0], l0, "CHOT.AUDIT")) {
		*klen = strlen(LAYOUT_AUDIT_STREAM);
		return LAYOUT_AUDIT_STREAM;
	}
	for (size_t i = 0; i < sizeof(keyless) / sizeof(keyless[0]); i++)
		if (is_cmd(argv[0], l0, keyless[i]))
			return NULL;
	if (is_cmd(argv[0], l0, "XREAD") || is_cmd(argv[0], l0, "XREADGROUP")) {
		for (int i = 1; i + 1 < argc; i++)
			if (is_cmd(argv[i], arg_len(argv, argl, i), "STREAMS")) {
				*klen = arg_len(argv, argl, i + 1);
				return argv[i + 1];
			}
		return NULL;
	}
	if (argc < 2)
		return NULL;
	*klen = arg_len(argv, argl, 1);
	return argv[1];
}

/* Shard of command i's key; -1 without a key; -2 (err set) for a hole. */
static int
shard_of(struct ctl_redis *r, int argc, const char *const *argv, const size_t *argl, char *err,
	 size_t errlen)
{
	size_t klen = 0;
	const char *key = route_key(argc, argv, argl, &klen);
	uint16_t slot;

	if (key == NULL)
		return -1;
	slot = slot_of_key(key, klen);
	if (r->map->owner[slot] < 0) {
		snprintf(err, errlen, "Redis Cluster: slot %u has no master", (unsigned)slot);
		return -2;
	}
	return r->map->owner[slot];
}

/*
 * Route n commands: to[i] is the connection of command i.  Keyless
 * transaction commands take the shard of the next keyed command (or the
 * last one before them); other keyless commands the first master.
 */
static int
route_all(struct ctl_redis *r, size_t n, const int *argc, const char *const *const *argv,
	  const size_t *const *argl, bool txn, struct ctl_conn **to, char *err, size_t errlen)
{
	int *si = calloc(n + 1, sizeof(*si)), last = -1, rc = 0;

	if (si == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		si[i] = shard_of(r, argc[i], argv[i], argl[i], err, errlen);
		if (si[i] == -2)
			rc = -EIO;
	}
	for (size_t i = n; i-- > 0 && rc == 0;) {     /* the next keyed command's shard */
		if (si[i] >= 0)
			last = si[i];
		else if (is_txn(argv[i][0], arg_len(argv[i], argl[i], 0)))
			si[i] = last;
	}
	last = -1;
	for (size_t i = 0; i < n && rc == 0; i++) {   /* else the one before */
		if (si[i] >= 0)
			last = si[i];
		else if (is_txn(argv[i][0], arg_len(argv[i], argl[i], 0)))
			si[i] = last;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t l0 = arg_len(argv[i], argl[i], 0);
		int s = si[i] >= 0 ? si[i] : 0;
		const struct redis_endpoint *ep = &r->map->shards[s].master.ep;
		bool ro = false;

		if (!txn && !r->watching && !is_write(argv[i][0], l0) &&
		    !is_txn(argv[i][0], l0))
			ep = ctl_redis_read_ep(r, s, &ro);
		to[i] = ctl_redis_node(r, ep, ro, false, err, errlen);
		if (to[i] == NULL)
			rc = -EIO;
	}
	free(si);
	return rc;
}

/* Track WATCH ... EXEC/DISCARD/UNWATCH: reads in between go to masters. */
static void
note_watch(struct ctl_redis *r, size_t n, const char *const *const *argv,
	   const size_t *const *argl)
{
	for (size_t i = 0; i < n; i++) {
		size_t l0 = arg_len(argv[i], argl[i], 0);

		if (is_cmd(argv[i][0], l0, "WATCH"))
			r->watching = true;
		else if (is_cmd(argv[i][0], l0, "EXEC") || is_cmd(argv[i][0], l0, "DISCARD") ||
			 is_cmd(argv[i][0], l0, "UNWATCH"))
			r->watching = false;
	}
}

/* --- replies of either shape --- */

struct replies {
	struct ctl_reply *flat;         /* one of the two */
	struct ctl_tree *tree;
};

static int
read_reply(struct ctl_redis *r, struct ctl_conn *c, const struct replies *o, size_t i, char *err,
	   size_t errlen)
{
	return o->flat != NULL ? ctl_conn_reply(c, &o->flat[i], r->timeout_ms, err, errlen)
			       : ctl_conn_reply_tree(c, &o->tree[i], r->timeout_ms, err, errlen);
}

static void
free_reply(const struct replies *o, size_t i)
{
	if (o->flat != NULL)
		ctl_reply_free(&o->flat[i]);
	else
		ctl_tree_free(&o->tree[i]);
}

/* Reply i's error text, or NULL. */
static const char *
reply_error(const struct replies *o, size_t i)
{
	if (o->flat != NULL)
		return o->flat[i].is_error ? o->flat[i].err : NULL;
	if (o->tree[i].v != NULL && o->tree[i].v[0].type == CTL_NODE_ERR)
		return o->tree[i].v[0].p;
	return NULL;
}

/* Follow one MOVED/ASK of command i, once, on a side connection. */
static int
follow(struct ctl_redis *r, int argc, const char *const *argv, const size_t *argl,
       const struct replies *o, size_t i, char *err, size_t errlen)
{
	const char *e = reply_error(o, i);
	struct slot_redirect rd;
	struct resp_buf b = { 0 };
	struct ctl_conn *c;
	int rc = 0;

	if (e == NULL || slot_redirect_parse(e, strlen(e), &rd) == SLOT_REDIRECT_NONE)
		return 0;
	if (rd.ep.host[0] == '\0')      /* "MOVED 5 :7001": the same host */
		snprintf(rd.ep.host, sizeof(rd.ep.host), "%s", r->url.seeds[0].host);
	if (rd.kind == SLOT_REDIRECT_MOVED) {
		(void)slot_map_move(r->map, rd.slot, &rd.ep);
		r->map_stale = true;
	}
	c = ctl_redis_node(r, &rd.ep, false, true, err, errlen);
	if (c == NULL)
		return -EIO;
	if (rd.kind == SLOT_REDIRECT_ASK) {
		const char *ask[] = { "ASKING" };

		rc = resp_append_argv(&b, 1, ask, NULL);
	}
	if (rc == 0)
		rc = resp_append_argv(&b, argc, argv, argl);
	if (rc == 0)
		rc = ctl_conn_send(c, b.data, b.len, r->timeout_ms, err, errlen);
	resp_buf_free(&b);
	if (rc == 0 && rd.kind == SLOT_REDIRECT_ASK) {
		struct ctl_reply ok;

		rc = ctl_conn_reply(c, &ok, r->timeout_ms, err, errlen);
		if (rc == 0)
			ctl_reply_free(&ok);
		r->calls++;
	}
	if (rc == 0) {
		free_reply(o, i);
		rc = read_reply(r, c, o, i, err, errlen);
		r->calls++;
	}
	if (rc != 0)
		ctl_redis_drop(r, c);
	return rc;
}

/* A MOVED on one node (not a cluster URL): say what to do. */
static void
hint_cluster(const struct replies *o, size_t i)
{
	char m[sizeof(o->flat[i].err)];

	if (o->flat == NULL || !o->flat[i].is_error || strncmp(o->flat[i].err, "MOVED ", 6) != 0)
		return;
	snprintf(m, sizeof(m), "%s", o->flat[i].err);
	snprintf(o->flat[i].err, sizeof(o->flat[i].err), "%.60s (a Redis Cluster node: use -r "
		 "cluster://HOST:PORT)", m);
}

static int
pipe_run(struct ctl_redis *r, size_t n, const int *argc, const char *const *const *argv,
	 const size_t *const *argl, const struct replies *o, char *err, size_t errlen)
{
	struct ctl_conn **to = calloc(n + 1, sizeof(*to));
	struct ctl_conn *seen[CTL_MAX_NODES + 1];
	unsigned nseen = 0;
	bool txn = false;
	int rc = 0;

	if (to == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (o->flat != NULL)
			memset(&o->flat[i], 0, sizeof(o->flat[i]));
		else
			memset(&o->tree[i], 0, sizeof(o->tree[i]));
		txn |= is_cmd(argv[i][0], arg_len(argv[i], argl[i], 0), "MULTI");
	}
	if (r->cluster) {
		rc = ctl_redis_refresh_if_stale(r, err, errlen);
		if (rc == 0)
			rc = route_all(r, n, argc, argv, argl, txn, to, err, errlen);
	} else if (r->single == NULL) {
		snprintf(err, errlen, "Redis connection lost earlier in this command");
		rc = -EIO;
	} else {
		for (size_t i = 0; i < n; i++)
			to[i] = r->single;
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		unsigned k = 0;

		while (k < nseen && seen[k] != to[i])
			k++;
		if (k == nseen)
			seen[nseen++] = to[i];
	}
	/* Each node its share in one write, then the replies, node by node. */
	for (unsigned k = 0; k < nseen && rc == 0; k++) {
		struct resp_buf b = { 0 };

		for (size_t i = 0; i < n && rc == 0; i++)
			if (to[i] == seen[k])
				rc = resp_append_argv(&b, argc[i], argv[i], argl[i]) == 0 ? 0 : -ENOMEM;
		if (rc == 0)
			rc = ctl_conn_send(seen[k], b.data, b.len, r->timeout_ms, err, errlen);
		resp_buf_free(&b);
		if (rc != 0)
			ctl_redis_drop(r, seen[k]);
	}
	if (rc == 0)
		r->calls += n;
	for (unsigned k = 0; k < nseen && rc == 0; k++)
		for (size_t i = 0; i < n && rc == 0; i++)
			if (to[i] == seen[k] && (rc = read_reply(r, seen[k], o, i, err, errlen)) != 0)
				ctl_redis_drop(r, seen[k]);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (r->cluster && !txn)
			rc = follow(r, argc[i], argv[i], argl[i], o, i, err, errlen);
		else if (!r->cluster)
			hint_cluster(o, i);
	}
	if (rc == 0)
		note_watch(r, n, argv, argl);
	else
		for (size_t i = 0; i < n; i++)
			free_reply(o, i);
	free(to);
	return rc;
}

int
ctl_redis_pipe(struct ctl_redis *r, size_t n, const int *argc, const char *const *const *argv,
	       const size_t *const *argl, struct ctl_reply *out, char *err, size_t errlen)
{
	struct replies o = { .flat = out };

	return pipe_run(r, n, argc, argv, argl, &o, err, errlen);
}

int
ctl_redis_pipe_tree(struct ctl_redis *r, size_t n, const int *argc,
		    const char *const *const *argv, const size_t *const *argl,
		    struct ctl_tree *out, char *err, size_t errlen)
{
	struct replies o = { .tree = out };

	return pipe_run(r, n, argc, argv, argl, &o, err, errlen);
}

int
ctl_redis_cmd(struct ctl_redis *r, int argc, const char *const *argv, const size_t *argl,
	      struct ctl_reply *out, char *err, size_t errlen)
{
	return ctl_redis_pipe(r, 1, &argc, &argv, &argl, out, err, errlen);
}

void
ctl_reply_free(struct ctl_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		free(rep->v[i].p);
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

void
ctl_tree_free(struct ctl_tree *t)
{
	free(t->v);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}
