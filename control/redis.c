/*
 * chotctl's Redis client (redis.h): one node (redis://, unix://) or a Redis
 * Cluster (cluster://), the same calls either way.  This file opens it,
 * signs in, keeps the node pool and the slot map; redis_pipe.c routes and
 * runs pipelines, redis_stream.c the trace's streamed reads (GETs of records).
 *
 * The URL is read by the one parser (proto/redis_url.h); commands are
 * encoded by the one RESP encoder (proto/resp.h); connections are
 * redis_conn.c's (every wait bounded).  On a cluster the slot map comes
 * from CLUSTER SLOTS of the first seed that answers (proto/slot.h), each
 * command goes to the master owning its key's slot (reads to a replica with
 * --replicas, after READONLY), a pipeline is split per node and sent to
 * every node before any reply is read, and a MOVED or ASK answer is
 * followed once (MOVED also fixes the map, and the next call refreshes
 * it).  The map is also read again by age: the first call that needs
 * routing once it is CTL_MAP_MAX_AGE_US (10 s) old refreshes it, so a long
 * `alerts --follow` or `serve` follows a resharding or a failover without
 * waiting for a MOVED.  A node that cannot be reached or does not answer
 * fails the call with its host:port in the error, which chotctl reports
 * with exit 3.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "layout.h"
#include "redis_int.h"
#include "resp.h"

#define CONNECT_TIMEOUT_MS 3000
#define SEED_TIMEOUT_MS    2000

uint64_t
ctl_redis_calls(const struct ctl_redis *r)
{
	return r->calls;
}

uint64_t
ctl_redis_dup_records(const struct ctl_redis *r)
{
	return r->dup_records;
}

uint64_t
ctl_redis_corrupt_values(const struct ctl_redis *r)
{
	return r->corrupt_values;
}

uint64_t
ctl_redis_map_refreshes(const struct ctl_redis *r)
{
	return r->map_refreshes;
}

/* --- signing in --- */

/*
 * AUTH (or, without a password, a PING so that a server wanting one says so
 * now, clearly), then READONLY when asked.  0, or -EACCES (refused: not
 * "unavailable") / -EIO with err set.
 */
static int
login(struct ctl_redis *r, struct ctl_conn *c, bool readonly, char *err, size_t errlen)
{
	struct resp_buf b = { 0 };
	struct ctl_reply rep;
	int rc, n = 0;

	if (r->password[0] != '\0' && r->user[0] != '\0') {
		const char *argv[] = { "AUTH", r->user, r->password };

		rc = resp_append_argv(&b, 3, argv, NULL);
	} else if (r->password[0] != '\0') {
		const char *argv[] = { "AUTH", r->password };

		rc = resp_append_argv(&b, 2, argv, NULL);
	} else {
		const char *argv[] = { "PING" };

		rc = resp_append_argv(&b, 1, argv, NULL);
	}
	n++;
	if (rc == 0 && readonly) {
		const char *argv[] = { "READONLY" };

		rc = resp_append_argv(&b, 1, argv, NULL);
		n++;
	}
	if (rc != 0) {
		resp_buf_free(&b);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = ctl_conn_send(c, b.data, b.len, r->timeout_ms, err, errlen);
	explicit_bzero(b.data, b.len);
	resp_buf_free(&b);
	for (int i = 0; i < n && rc == 0; i++) {
		rc = ctl_conn_reply(c, &rep, r->timeout_ms, err, errlen);
		if (rc != 0)
			break;
		if (rep.is_error && i == 0 && r->password[0] == '\0' &&
		    strncmp(rep.err, "NOAUTH", 6) == 0) {
			snprintf(err, errlen, "Redis at %s requires authentication: give --user U "
				 "and --password-file F (or $CHOT_PASSWORD_FILE); no password was "
				 "given, or its file is empty", ctl_conn_name(c));
			rc = -EACCES;
		} else if (rep.is_error && i == 0 && r->password[0] != '\0') {
			snprintf(err, errlen, "Redis refused the credentials of '%s': %s",
				 r->user[0] != '\0' ? r->user : "default", rep.err);
			rc = -EACCES;
		} else if (rep.is_error) {
			snprintf(err, errlen, "Redis at %s: %s", ctl_conn_name(c), rep.err);
			rc = -EACCES;
		}
		ctl_reply_free(&rep);
	}
	return rc;
}

/* Connect to ep (or the URL's unix path when ep is NULL) and sign in. */
static struct ctl_conn *
connect_node(struct ctl_redis *r, const struct redis_endpoint *ep, bool readonly, char *err,
	     size_t errlen, int *unavailable)
{
	char why[400];
	struct ctl_conn *c = ctl_conn_open(ep, r->url.path, r->timeout_ms < CONNECT_TIMEOUT_MS ?
					   r->timeout_ms : CONNECT_TIMEOUT_MS, why, sizeof(why));
	int rc;

	if (c == NULL) {
		snprintf(err, errlen, "cannot reach Redis at %s", why);
		*unavailable = 1;
		return NULL;
	}
	rc = login(r, c, readonly, err, errlen);
	if (rc != 0) {
		*unavailable = rc != -EACCES;
		ctl_conn_close(c);
		return NULL;
	}
	return c;
}

/* --- the node pool --- */

struct ctl_conn *
ctl_redis_node(struct ctl_redis *r, const struct redis_endpoint *ep, bool readonly, bool side,
	       char *err, size_t errlen)
{
	struct ctl_peer *n;
	int unavailable;

	for (unsigned i = 0; i < r->nnodes; i++)
		if (r->nodes[i].side == side && redis_endpoint_equal(&r->nodes[i].ep, ep))
			return r->nodes[i].c;
	if (r->nnodes == CTL_MAX_NODES) {
		snprintf(err, errlen, "too many Redis nodes (at most %d)", CTL_MAX_NODES);
		return NULL;
	}
	n = &r->nodes[r->nnodes];
	n->c = connect_node(r, ep, readonly, err, errlen, &unavailable);
	if (n->c == NULL)
		return NULL;
	n->ep = *ep;
	n->side = side;
	r->nnodes++;
	return n->c;
}

void
ctl_redis_drop(struct ctl_redis *r, struct ctl_conn *c)
{
	if (c == NULL)
		return;
	if (c == r->single) {
		/* Out of step: later calls fail ("connection lost") rather than
		 * read this call's late replies. */
		ctl_conn_close(c);
		r->single = NULL;
		return;
	}
	for (unsigned i = 0; i < r->nnodes; i++)
		if (r->nodes[i].c == c) {
			ctl_conn_close(c);
			r->nodes[i] = r->nodes[--r->nnodes];
			return;
		}
}

const struct redis_endpoint *
ctl_redis_read_ep(const struct ctl_redis *r, int si, bool *readonly)
{
	const struct slot_shard *sh = &r->map->shards[si];

	*readonly = r->replicas && sh->nreplicas > 0;
	return *readonly ? &sh->replicas[0].ep : &sh->master.ep;
}

/* --- the slot map --- */

/* CLUSTER SLOTS from the first node that answers: a seed, or on a refresh a known master first. */
static int
load_map(struct ctl_redis *r, char *err, size_t errlen, int *unavailable)
{
	struct redis_endpoint tried[REDIS_URL_MAX_SEEDS + SLOT_MAX_SHARDS];
	unsigned ntried = 0;
	struct slot_map *m = calloc(1, sizeof(*m));
	char last[400] = "";
	int rc = -EIO;

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	unsigned saved = r->timeout_ms;

	/* A live node answers CLUSTER SLOTS at once: a stopped seed costs at
	 * most 2 s before the next one is asked. */
	if (r->timeout_ms > SEED_TIMEOUT_MS)
		r->timeout_ms = SEED_TIMEOUT_MS;
	/* A refresh asks the masters it knows first, then the seeds, as
	 * chotd's cluster store does: they are the nodes a changed cluster
	 * most surely still has. */
	if (r->map != NULL)
		for (unsigned i = 0; i < r->map->nshards; i++)
			tried[ntried++] = r->map->shards[i].master.ep;
	for (unsigned i = 0; i < r->url.nseeds; i++)
		tried[ntried++] = r->url.seeds[i];
	*unavailable = 1;
	for (unsigned i = 0; i < ntried; i++) {
		const char *argv[] = { "CLUSTER", "SLOTS" };
		struct resp_buf b = { 0 };
		struct ctl_conn *c = ctl_redis_node(r, &tried[i], false, true, last, sizeof(last));

		if (c == NULL) {
			if (strstr(last, "requires authentication") != NULL ||
			    strstr(last, "refused the credentials") != NULL) {   /* stop */
				snprintf(err, errlen, "%s", last);
				*unavailable = 0;
				r->timeout_ms = saved;
				free(m);
				return -EACCES;
			}
			continue;
		}
		rc = resp_append_argv(&b, 2, argv, NULL);
		if (rc == 0)
			rc = ctl_conn_send(c, b.data, b.len, r->timeout_ms, last, sizeof(last));
		resp_buf_free(&b);
		if (rc == 0)
			rc = ctl_conn_slots(c, tried[i].host, m, r->timeout_ms, last, sizeof(last));
		r->calls++;
		if (rc == 0)
			break;
		ctl_redis_drop(r, c);
	}
	r->timeout_ms = saved;
	if (rc != 0) {
		snprintf(err, errlen, "cannot read the cluster's slot map from any seed (last: %s)",
			 last);
		free(m);
		return -EIO;
	}
	if (m->holes > 0) {
		snprintf(err, errlen, "Redis Cluster: %u of 16384 slots have no master (first: "
			 "slot %d); the cluster is down or not fully set up", m->holes,
			 slot_map_next_hole(m, 0));
		free(m);
		return -EIO;
	}
	if (r->map != NULL)
		r->map_refreshes++;
	free(r->map);
	r->map = m;
	r->map_stale = false;
	r->map_at_us = chot_mono_us();
	return 0;
}

int
ctl_redis_refresh_if_stale(struct ctl_redis *r, char *err, size_t errlen)
{
	char why[512];
	int unavailable;
	uint64_t now;

	if (!r->cluster)
		return 0;
	if (r->map_stale)
		return load_map(r, err, errlen, &unavailable) == 0 ? 0 : -EIO;
	if (r->map_max_age_us == 0 || r->watching)
		return 0;
	now = chot_mono_us();
	if (now - r->map_at_us < r->map_max_age_us)
		return 0;
	if (load_map(r, why, sizeof(why), &unavailable) != 0) {
		r->map_errors++;
		r->map_at_us = now;          /* the next try an interval later */
	}
	return 0;
}

int
ctl_redis_read_conn(struct ctl_redis *r, uint16_t slot, struct ctl_conn **out, char *err,
		    size_t errlen)
{
	int si = r->map->owner[slot];
	const struct redis_endpoint *ep;
	bool ro;

	if (si < 0) {
		snprintf(err, errlen, "Redis Cluster: slot %u has no master", (unsigned)slot);
		return -EIO;
	}
	ep = ctl_redis_read_ep(r, si, &ro);
	*out = ctl_redis_node(r, ep, ro, false, err, errlen);
	return *out != NULL ? 0 : -EIO;
}

/* --- opening --- */

struct ctl_redis *
ctl_redis_open(const char *url, const char *user, const char *password, char *err,
	       size_t errlen, int *unavailable)
{
	return ctl_redis_open_opts(url, user, password, NULL, err, errlen, unavailable);
}

struct ctl_redis *
ctl_redis_open_opts(const char *url, const char *user, const char *password,
		    const struct ctl_redis_opts *o, char *err, size_t errlen, int *unavailable)
{
	struct ctl_redis *r = calloc(1, sizeof(*r));
	char why[400];

	*unavailable = 0;
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (redis_url_parse(url, &r->url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "bad Redis URL: %s", why);
		*unavailable = 1;
		free(r);
		return NULL;
	}
	if (r->url.kind == REDIS_URL_NULL) {
		snprintf(err, errlen, "bad Redis URL: null:// stores nothing; chotctl needs "
			 "redis://, unix:// or cluster://");
		*unavailable = 1;
		free(r);
		return NULL;
	}
	/* --password-file wins; otherwise the URL's own user:password@. */
	if (password != NULL && *password != '\0') {
		snprintf(r->user, sizeof(r->user), "%s", user != NULL ? user : "");
		snprintf(r->password, sizeof(r->password), "%s", password);
	} else if (r->url.has_password) {
		snprintf(r->user, sizeof(r->user), "%s",
			 r->url.has_user ? r->url.user : user != NULL ? user : "");
		snprintf(r->password, sizeof(r->password), "%s", r->url.password);
	}
	r->timeout_ms = o != NULL && o->timeout_ms > 0 ? o->timeout_ms : 10000;
	r->replicas = o != NULL && o->replicas;
	r->cluster = r->url.kind == REDIS_URL_CLUSTER;
	r->map_max_age_us = CTL_MAP_MAX_AGE_US;
	if (r->cluster) {
		if (load_map(r, err, errlen, unavailable) != 0) {
			ctl_redis_close(r);
			return NULL;
		}
		return r;
	}
	r->single = connect_node(r, r->url.kind == REDIS_URL_TCP ? &r->url.seeds[0] : NULL, false,
				 err, errlen, unavailable);
	if (r->single == NULL) {
		ctl_redis_close(r);
		return NULL;
	}
	return r;
}

struct ctl_redis *
ctl_redis_from_fd(int fd)
{
	struct ctl_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->timeout_ms = 10000;
	r->single = ctl_conn_from_fd(fd);
	if (r->single == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

struct ctl_redis *
ctl_redis_from_map(const struct slot_map *m, const int *fds)
{
	struct ctl_redis *r = calloc(1, sizeof(*r));

	if (r == NULL || (r->map = malloc(sizeof(*r->map))) == NULL) {
		free(r);
		return NULL;
	}
	*r->map = *m;
	r->cluster = true;
	r->timeout_ms = 10000;
	r->url.kind = REDIS_URL_CLUSTER;
	for (unsigned i = 0; i < m->nshards; i++) {
		r->nodes[i].ep = m->shards[i].master.ep;
		r->nodes[i].c = ctl_conn_from_fd(fds[i]);
		if (r->nodes[i].c == NULL) {
			ctl_redis_close(r);
			return NULL;
		}
		ctl_conn_name_as(r->nodes[i].c, &r->nodes[i].ep);
		r->nnodes++;
	}
	return r;
}

void
ctl_redis_close(struct ctl_redis *r)
{
	if (r == NULL)
		return;
	ctl_conn_close(r->single);
	for (unsigned i = 0; i < r->nnodes; i++)
		ctl_conn_close(r->nodes[i].c);
	explicit_bzero(r->password, sizeof(r->password));
	explicit_bzero(r->url.password, sizeof(r->url.password));
	free(r->map);
	free(r);
}

bool
ctl_redis_is_cluster(const struct ctl_redis *r)
{
	return r->cluster;
}

unsigned
ctl_redis_masters(const struct ctl_redis *r)
{
	return r->cluster ? r->map->nshards : 1;
}
