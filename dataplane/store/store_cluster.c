/*
 * The Redis Cluster store (`cluster://h1:p1,h2:p2,...`, DESIGN §8).
 *
 * Same contract as the single-node store (store.h), same coalescer: batches
 * go into the open generation, which groups members by key.  Closing a
 * generation formats it once (coalesce_flush) and splits it command by
 * command by the slot of each command's key (proto/slot.h) into one chunk
 * per master it touches (cluster_ledger.h).  Each master is a cl_shard
 * (cluster_shard.c): its own non-blocking pipelined connection, driven from
 * dp_store_poll like everything else here.
 *
 * Confirmation: the ledger holds a generation until every chunk of it is
 * done on its shard (and, with redis.wait_replicas, WAIT-confirmed), and
 * completes generations strictly in order, so batches complete in submit
 * order (worker.c's barrier relies on it) and a batch is ACKed only when
 * every shard it touched confirmed every write of it.
 *
 * Routing state: a slot map from CLUSTER SLOTS (cluster_slots.c), fetched at
 * start from the seeds, then again on MOVED (after patching the map with
 * the MOVED at once), when a shard's connection is lost, and every
 * CL_REFRESH_US.  A fetch tries the known masters, then the seeds, one at a
 * time, never blocking.  Redirections:
 *
 *   MOVED       the command goes to the named master now; the map learns it
 *   ASK         ASKING + the command go to the named node; no map change
 *   TRYAGAIN,   the shard holds: reset, backoff, resend (cluster_shard.c)
 *   CLUSTERDOWN
 *   node down   its connection fails, the map is fetched from another node;
 *               once the map gives its slots to someone else (a promoted
 *               replica), every command it still owed moves there
 *
 * Every write is idempotent, so any resend is safe.  The expiry memo works
 * as in the single-node store (coalesce.h): a key's EXPIREAT goes out once,
 * later generations keep theirs aside (the generation's repair buffer, in
 * the ledger).  When any master's connection breaks (a restart or a
 * failover may have lost keys whose EXPIREAT was confirmed), the memo is
 * forgotten and every unconfirmed generation's repairs are routed by the
 * map like any write, and hold their generation until confirmed.  With
 * CHOT.APPEND (conf.chot_append: the start-up check found it on every
 * master) a key's expiry travels with its records, one command a key, and
 * there is neither memo nor repair.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cluster_ledger.h"
#include "cluster_shard.h"
#include "cluster_slots.h"
#include "coalesce.h"
#include "slot.h"
#include "store_impl.h"

#define GEN_MAX_EVENTS 8192
#define CL_REFRESH_US     10000000   /* periodic slot map refresh */
#define CL_REFRESH_GAP_US 100000     /* at most this often on MOVED / loss */
#define CL_MAX_POOL       (2 * SLOT_MAX_SHARDS)
#define MEMO_SLOTS        (1u << 20)  /* expiry memo: 8 MiB a worker */

struct store_cluster {
	struct dp_store base;
	struct dp_store_conf conf;
	struct redis_url url;
	struct cl_shard_conf sconf;
	char user[128], password[256];

	struct coalesce *co;
	struct cl_ledger led;
	uint64_t open_since_us, now_us;
	struct resp_out flat, repair;   /* one closed generation before the split */
	uint32_t split_gen;

	struct slot_map *map, *next;
	bool have_map;
	struct cl_shard *pool[CL_MAX_POOL];  /* every master ever used */
	unsigned npool;
	int idx[SLOT_MAX_SHARDS];            /* map shard -> pool index */

	struct cl_slots *fetch;
	bool refresh_wanted, reroute_wanted;
	uint64_t next_refresh_us, last_start_us;
	unsigned cand;                       /* next candidate node to ask */

	uint64_t map_refreshes, map_errors;
	struct cl_shard_hooks hooks;         /* ctx = this store */
	bool repair_wanted;                  /* a connection broke: forget, repair */
};

static void
klog(struct store_cluster *k, const char *node, const char *what, const char *why)
{
	store_log(&k->base, DP_STORE_LOG_WARNING, "store cluster %s: %s: %s", node, what,
		  why != NULL ? why : "");
}

/* The pool shard of ep, created if new; -1 when the pool is full. */
static int
pool_find(struct store_cluster *k, const char *host, int port, bool create)
{
	for (unsigned i = 0; i < k->npool; i++)
		if (cl_shard_port(k->pool[i]) == port && strcasecmp(cl_shard_host(k->pool[i]), host) == 0)
			return (int)i;
	if (!create || k->npool == CL_MAX_POOL)
		return -1;
	k->pool[k->npool] = cl_shard_create(host, port, &k->sconf, &k->hooks);
	if (k->pool[k->npool] == NULL)
		return -1;
	return (int)k->npool++;
}

/* After a map change: map shard index -> pool index. */
static void
reindex(struct store_cluster *k)
{
	for (unsigned i = 0; i < SLOT_MAX_SHARDS; i++)
		k->idx[i] = -1;
	for (unsigned i = 0; i < k->map->nshards; i++)
		k->idx[i] = pool_find(k, k->map->shards[i].master.ep.host,
				      k->map->shards[i].master.ep.port, true);
}

/* The pool shard owning slot; a hole goes to the first shard, which will
 * answer CLUSTERDOWN (held and retried) until the slot has an owner. */
static struct cl_shard *
owner_of(struct store_cluster *k, uint16_t slot)
{
	int si = k->map->owner[slot];
	int pi = si >= 0 ? k->idx[si] : -1;

	if (pi < 0)
		pi = k->idx[0] >= 0 ? k->idx[0] : 0;
	return k->pool[pi];
}

static bool
slot_is_mine(void *ctx, struct cl_shard *s, uint16_t slot)
{
	return owner_of(ctx, slot) == s;
}

/* Put one command of gen on shard s's open chunk (ASKING first if ask). */
static void
route(struct store_cluster *k, struct cl_shard *s, uint32_t gen, const char *cmd, size_t len,
      uint16_t slot, bool ask)
{
	static const char asking[] = "*1\r\n$6\r\nASKING\r\n";
	bool created;
	struct cl_chunk *ch = cl_shard_chunk(s, gen, &created);

	if (ch != NULL && created)
		cl_ledger_hold(&k->led, gen);
	if (ch == NULL || (ask && cl_chunk_add(ch, asking, sizeof(asking) - 1, CL_NO_SLOT) != 0) ||
	    cl_chunk_add(ch, cmd, len, slot) != 0)
		/* The generation then never completes: its batches stay
		 * unACKed and are dropped at shutdown, counted. */
		klog(k, cl_shard_host(s), "out of memory", "a command could not be queued");
}

static void
hook_chunk_done(void *ctx, uint32_t gen)
{
	struct store_cluster *k = ctx;

	cl_ledger_release(&k->led, gen, k->base.done, k->base.ctx);
}

static void
hook_redirect(void *ctx, struct cl_shard *from, uint32_t gen, const char *cmd, size_t len,
	      uint16_t slot, bool ask, const char *host, int port)
{
	struct store_cluster *k = ctx;
	struct cl_shard *to;
	int pi;

	(void)from;
	if (host == NULL) {
		route(k, owner_of(k, slot), gen, cmd, len, slot, false);
		return;
	}
	pi = pool_find(k, host, port, true);
	to = pi >= 0 ? k->pool[pi] : owner_of(k, slot);
	if (!ask) {
		struct redis_endpoint ep;

		snprintf(ep.host, sizeof(ep.host), "%s", host);
		ep.port = (uint16_t)port;
		if (slot != CL_NO_SLOT && slot_map_move(k->map, slot, &ep) == 0)
			reindex(k);
		k->refresh_wanted = true;
	}
	route(k, to, gen, cmd, len, slot, ask);
}

static void
hook_lost(void *ctx, struct cl_shard *s)
{
	struct store_cluster *k = ctx;

	(void)s;
	k->refresh_wanted = true;
	k->reroute_wanted = true;
	k->repair_wanted = true;
}

static void
hook_log(void *ctx, struct cl_shard *s, const char *what, const char *why)
{
	char node[300];

	snprintf(node, sizeof(node), "%s:%d", cl_shard_host(s), cl_shard_port(s));
	klog(ctx, node, what, why);
}


/* The n-th node to ask for the map: the known masters, then the seeds. */
static const struct redis_endpoint *
candidate(struct store_cluster *k, unsigned n)
{
	unsigned nm = k->have_map ? k->map->nshards : 0;

	n %= nm + k->url.nseeds;
	return n < nm ? &k->map->shards[n].master.ep : &k->url.seeds[n - nm];
}

static void
refresh_poll(struct store_cluster *k, uint64_t now)
{
	char err[256], node[300];
	int rc;

	if (!cl_slots_busy(k->fetch)) {
		if (!(k->refresh_wanted && now - k->last_start_us >= CL_REFRESH_GAP_US) &&
		    now < k->next_refresh_us)
			return;
		k->refresh_wanted = false;
		k->last_start_us = now;
		k->next_refresh_us = now + CL_REFRESH_US;
		if (cl_slots_start(k->fetch, candidate(k, k->cand), now, err, sizeof(err)) != 0) {
			klog(k, redis_endpoint_format(candidate(k, k->cand), node, sizeof(node)),
			     "CLUSTER SLOTS", err);
			k->cand++;
			k->map_errors++;
			k->refresh_wanted = true;
			return;
		}
	}
	rc = cl_slots_poll(k->fetch, now, k->next, err, sizeof(err));
	if (rc == 0)
		return;
	if (rc < 0) {
		klog(k, redis_endpoint_format(cl_slots_endpoint(k->fetch), node, sizeof(node)),
		     "CLUSTER SLOTS", err);
		k->cand++;                   /* another node next time, soon */
		k->map_errors++;
		k->refresh_wanted = true;
		return;
	}
	if (k->next->nshards == 0) {
		k->cand++;
		k->refresh_wanted = true;
		return;
	}
	{
		struct slot_map *t = k->map;

		k->map = k->next;
		k->next = t;
	}
	k->have_map = true;
	k->map_refreshes++;
	reindex(k);
	k->reroute_wanted = true;
}

static void
split_put(void *ctx, const char *cmd, size_t len, uint16_t slot)
{
	struct store_cluster *k = ctx;

	route(k, owner_of(k, slot == CL_NO_SLOT ? 0 : slot), k->split_gen, cmd, len, slot, false);
}

/* Close the open generation: format it, split it by shard. */
static int
gen_close(struct store_cluster *k)
{
	uint32_t gen;

	if (cl_ledger_open_events(&k->led) == 0 || !k->have_map)
		return cl_ledger_open_events(&k->led) == 0 ? 0 : -EAGAIN;
	k->flat.len = k->flat.ncmds = 0;
	k->repair.len = k->repair.ncmds = 0;
	if (coalesce_flush(k->co, &k->flat, &k->repair) != 0)
		return -ENOMEM;
	gen = cl_ledger_close(&k->led);
	if (gen == CL_NO_GEN)
		return -ENOMEM;      /* cannot happen after a successful flush but ENOMEM */
	{       /* the repairs join their generation; its old (empty) buffer is ours */
		struct resp_out t = *cl_ledger_repair(&k->led, gen);

		*cl_ledger_repair(&k->led, gen) = k->repair;
		k->repair = t;
	}
	k->split_gen = gen;
	cl_split(&k->flat, split_put, k);
	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_seal(k->pool[i]);
	cl_ledger_release(&k->led, gen, k->base.done, k->base.ctx);
	return 0;
}

/* A connection broke: forget the memo, send every live generation's repairs. */
static void
repair(struct store_cluster *k)
{
	k->repair_wanted = false;
	coalesce_forget(k->co);
	for (uint32_t g = k->led.ghead; g != k->led.gtail; g++) {
		struct resp_out *r = cl_ledger_repair(&k->led, g);

		if (r->ncmds == 0)
			continue;
		k->split_gen = g;
		cl_split(r, split_put, k);
		r->len = 0;
		r->ncmds = 0;
	}
	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_seal(k->pool[i]);
}

static void
cluster_poll(struct dp_store *s, uint64_t now)
{
	struct store_cluster *k = (struct store_cluster *)s;
	bool unsent = false;
	uint32_t inflight = 0;

	k->now_us = now;
	refresh_poll(k, now);
	if (k->reroute_wanted && k->have_map) {
		k->reroute_wanted = false;
		for (unsigned i = 0; i < k->npool; i++)
			if (cl_shard_down(k->pool[i]))
				cl_shard_reroute(k->pool[i], slot_is_mine, k);
		for (unsigned i = 0; i < k->npool; i++)
			cl_shard_seal(k->pool[i]);
	}
	if (k->repair_wanted && k->have_map)
		repair(k);
	for (unsigned i = 0; i < k->npool; i++) {
		unsent |= cl_shard_unsent(k->pool[i]);
		inflight += cl_shard_inflight(k->pool[i]);
	}
	if (cl_ledger_open_events(&k->led) > 0 && !unsent &&
	    (inflight == 0 || now - k->open_since_us >= k->conf.flush_us))
		(void)gen_close(k);
	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_poll(k->pool[i], now);
	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_seal(k->pool[i]);   /* what redirections queued goes next turn */
}

static int
cluster_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs, unsigned n)
{
	struct store_cluster *k = (struct store_cluster *)s;

	if (n == 0 || n > WIRE_MAX_EVENTS)
		return -EINVAL;
	if (k->led.events_pending + n > k->conf.max_pending_events ||
	    k->led.btail - k->led.bhead >= k->led.bcap)
		return -ENOBUFS;
	if (!coalesce_room(k->co, n) && gen_close(k) != 0)
		return -ENOBUFS;
	if (coalesce_add(k->co, evs, n) != 0)
		return -ENOBUFS;
	if (cl_ledger_add(&k->led, cookie, n) != 0)
		return -ENOBUFS;     /* unreachable: room was checked above */
	if (cl_ledger_open_events(&k->led) == n)
		k->open_since_us = k->now_us;
	return 0;
}

static void
cluster_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	const struct store_cluster *k = (const struct store_cluster *)s;
	bool connected = k->have_map;

	memset(st, 0, sizeof(*st));
	for (unsigned i = 0; i < k->npool; i++) {
		struct cl_shard_stats ss;

		cl_shard_get_stats(k->pool[i], &ss);
		st->commands_sent += ss.commands_sent;
		st->replies_ok += ss.replies_ok;
		st->redis_errors += ss.redis_errors;
		st->reconnects += ss.reconnects;
		st->moved += ss.moved;
		st->ask += ss.ask;
		st->tryagain += ss.tryagain;
		st->clusterdown += ss.clusterdown;
		st->wait_short += ss.wait_short;
		st->resent += ss.resent;
		if (cl_shard_chunks(k->pool[i]) > 0 && !cl_shard_connected(k->pool[i]))
			connected = false;
	}
	st->redis_errors += k->map_errors;
	st->map_refreshes = k->map_refreshes;
	st->events_pending = k->led.events_pending;
	st->batches_pending = k->led.batches_pending;
	st->connected = connected;
	st->chot_append = k->conf.chot_append;
}

static void
cluster_abandon(struct dp_store *s)
{
	struct store_cluster *k = (struct store_cluster *)s;

	k->flat.len = k->flat.ncmds = 0;
	k->repair.len = k->repair.ncmds = 0;
	(void)coalesce_flush(k->co, &k->flat, &k->repair);   /* empty the open generation */
	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_abandon(k->pool[i]);
	cl_ledger_abandon(&k->led, -ECANCELED, k->base.done, k->base.ctx);
}

static void
cluster_destroy(struct dp_store *s)
{
	struct store_cluster *k = (struct store_cluster *)s;

	for (unsigned i = 0; i < k->npool; i++)
		cl_shard_destroy(k->pool[i]);
	cl_slots_destroy(k->fetch);
	coalesce_destroy(k->co);
	cl_ledger_free(&k->led);
	resp_out_free(&k->flat);
	resp_out_free(&k->repair);
	free(k->map);
	free(k->next);
	explicit_bzero(k->password, sizeof(k->password));
	explicit_bzero(&k->url, sizeof(k->url));
	free(k);
}

static const struct store_ops cluster_ops = {
	.submit = cluster_submit, .poll = cluster_poll, .stats = cluster_stats,
	.abandon = cluster_abandon, .destroy = cluster_destroy,
};

struct dp_store *
store_cluster_create(const struct dp_store_conf *conf, const struct redis_url *u)
{
	struct store_cluster *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->base.ops = &cluster_ops;
	k->conf = *conf;
	k->url = *u;
	if (k->conf.pipeline == 0)
		k->conf.pipeline = 256;
	if (k->conf.max_pending_events == 0)
		k->conf.max_pending_events = 1 << 20;
	snprintf(k->user, sizeof(k->user), "%s", conf->user != NULL ? conf->user : u->user);
	snprintf(k->password, sizeof(k->password), "%s",
		 conf->password != NULL ? conf->password : u->password);
	k->sconf = (struct cl_shard_conf){ .user = k->user, .password = k->password,
					   .pipeline = k->conf.pipeline,
					   .wait_replicas = conf->wait_replicas,
					   .wait_timeout_ms = conf->wait_timeout_ms };
	k->map = calloc(1, sizeof(*k->map));
	k->next = calloc(1, sizeof(*k->next));
	k->fetch = cl_slots_create(k->user, k->password);
	k->co = coalesce_create(GEN_MAX_EVENTS, MEMO_SLOTS, k->conf.retention_days,
				conf->vault_key);
	if (k->map == NULL || k->next == NULL || k->fetch == NULL || k->co == NULL ||
	    cl_ledger_init(&k->led, k->conf.max_pending_events < (1u << 20)
					? k->conf.max_pending_events : (1u << 20)) != 0) {
		k->base.ops->destroy(&k->base);
		return NULL;
	}
	coalesce_set_alerts_max(k->co, conf->alerts_max);
	coalesce_set_chot_append(k->co, conf->chot_append);
	k->hooks = (struct cl_shard_hooks){ .chunk_done = hook_chunk_done,
					    .redirect = hook_redirect, .lost = hook_lost,
					    .log = hook_log, .ctx = k };
	k->refresh_wanted = true;
	for (unsigned i = 0; i < SLOT_MAX_SHARDS; i++)
		k->idx[i] = -1;
	return &k->base;
}
