/*
 * The checkpoint lists inside chotd: loader thread, tables, RCU (cplists.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "clock.h"
#include "cplists.h"
#include "cptable.h"
#include "layout.h"
#include "lists_read.h"
#include "log.h"

#define READ_TIMEOUT  1000      /* ms, per Redis call of the loader */
#define BAD_LOG_MAX   5         /* bad entries logged per load */

/* One load: the builder, and which list it is reading (for the log). */
struct gather {
	struct cpt_builder *b;
	enum cpt_list list;
	const char *key;
	uint64_t bad_logged;
};

static struct {
	struct dp_lists_table *cur;       /* what workers read (atomic) */
	struct rte_rcu_qsbr *rcu;
	unsigned n_readers;
	struct lists_reader *reader;
	pthread_t thread;
	bool running, stop;
	unsigned poll_ms;
	uint64_t gen;                     /* for unique rte_hash names */
	/* counters, written by the loader, read anywhere (relaxed atomics) */
	uint64_t reloaded, bad_entries, errors;
	pthread_mutex_t st_lock;
	struct dp_lists_stats st;         /* of the table in force */
	bool loaded;
	uint64_t loaded_version;
	struct dp_lists_table *retired;   /* swapped out, grace period cut short by stop */
} L = { .st_lock = PTHREAD_MUTEX_INITIALIZER };

const struct dp_lists_table *
dp_lists_get(void)
{
	return __atomic_load_n(&L.cur, __ATOMIC_ACQUIRE);
}

void
dp_lists_quiescent(unsigned reader)
{
	if (L.rcu != NULL && reader < L.n_readers)
		rte_rcu_qsbr_quiescent(L.rcu, reader);
}

void
dp_lists_offline(unsigned reader)
{
	if (L.rcu != NULL && reader < L.n_readers)
		rte_rcu_qsbr_thread_offline(L.rcu, reader);
}

/* An entry read from Redis (lists_read.h): into the builder; bad ones logged. */
static int
on_entry(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
	struct gather *g = arg;
	int rc = cpt_builder_add(g->b, g->list, f, fl, v, vl);

	if (rc == 1 && g->bad_logged++ < BAD_LOG_MAX)
		DP_LOG(WARNING, "lists: %s: skipping bad entry '%.*s' = '%.*s'\n", g->key,
		       (int)(fl > 64 ? 64 : fl), f, (int)(vl > 80 ? 80 : vl), v);
	return rc < 0 ? rc : 0;
}

/* Read every list at version ver into a new table, *st its figures.  NULL on failure (logged). */
static struct dp_lists_table *
load(uint64_t ver, struct dp_lists_stats *st)
{
	static const struct {
		const char *key;
		enum cpt_list list;
	} hashes[] = {
		{ LISTS_WATCH_HASH, CPT_WATCH },
		{ LISTS_ZONES_HASH, CPT_ZONES },
		{ LISTS_GREENLANE_HASH, CPT_GREENLANE },
		{ LAYOUT_SITES_HASH, CPT_SITES },
	};
	struct gather g = { .b = cpt_builder_create() };
	struct dp_lists_table *t = NULL;
	struct cpt_sizes sz;
	uint64_t t0 = (chot_mono_us() / 1000), bad;
	char err[512];
	int rc = 0;

	if (g.b == NULL) {
		DP_LOG(ERR, "lists: out of memory for a load\n");
		return NULL;
	}
	for (size_t i = 0; i < RTE_DIM(hashes) && rc == 0; i++) {
		g.key = hashes[i].key;
		g.list = hashes[i].list;
		rc = lists_reader_hash(L.reader, hashes[i].key, on_entry, &g, err, sizeof(err));
		if (rc != 0 && rc != -ENOMEM)
			DP_LOG(WARNING, "%s: keeping the lists in force\n", err);
	}
	if (rc == 0) {
		t = cpt_build(g.b, ++L.gen);
		if (t == NULL)
			rc = -errno;
	}
	if (rc == -ENOMEM || rc == -ENOSPC)
		DP_LOG(ERR, "lists: cannot build the tables (%s): raise -m; keeping the lists "
		       "in force\n", strerror(-rc));
	bad = cpt_builder_bad(g.b);
	cpt_builder_destroy(g.b);
	if (t == NULL)
		return NULL;
	__atomic_fetch_add(&L.bad_entries, bad, __ATOMIC_RELAXED);
	if (bad > BAD_LOG_MAX)
		DP_LOG(WARNING, "lists: %lu bad entries skipped in all (lists_bad_entries)\n",
		       (unsigned long)bad);
	cpt_get_sizes(t, &sz);
	memset(st, 0, sizeof(*st));
	st->version = ver;
	st->watch = sz.watch;
	st->zones = sz.zones;
	st->greenlane = sz.greenlane;
	st->checkpoints = sz.checkpoints;
	st->load_ms = (chot_mono_us() / 1000) - t0;
	return t;
}

/* Swap t in, wait for a grace period (unless no worker runs yet), free the old table. */
static void
publish(struct dp_lists_table *t, const struct dp_lists_stats *st, bool readers_running)
{
	struct dp_lists_table *old = __atomic_exchange_n(&L.cur, t, __ATOMIC_ACQ_REL);
	uint64_t token = rte_rcu_qsbr_start(L.rcu);

	pthread_mutex_lock(&L.st_lock);
	L.st = *st;
	pthread_mutex_unlock(&L.st_lock);
	__atomic_fetch_add(&L.reloaded, 1, __ATOMIC_RELAXED);
	if (!readers_running) {
		cpt_free(old);
		return;
	}
	/* Workers report every loop turn; at shutdown they go offline. */
	while (rte_rcu_qsbr_check(L.rcu, token, false) == 0) {
		if (__atomic_load_n(&L.stop, __ATOMIC_RELAXED)) {
			L.retired = old;   /* dp_lists_stop frees it, after the workers */
			return;
		}
		rte_delay_us_sleep(1000);
	}
	cpt_free(old);
}

/* One poll: reload when the version moved.  Returns after publishing or failing. */
static void
poll_once(bool readers_running)
{
	struct dp_lists_stats st;
	struct dp_lists_table *t;
	uint64_t ver = 0;
	char err[512];
	int rc = lists_reader_version(L.reader, &ver, err, sizeof(err));

	if (rc != 0) {
		if (__atomic_fetch_add(&L.errors, 1, __ATOMIC_RELAXED) % 20 == 0)
			DP_LOG(WARNING, "%s: keeping the lists in force, retrying every %u ms\n",
			       err, L.poll_ms);
		return;
	}
	if (L.loaded && ver == L.loaded_version)
		return;
	t = load(ver, &st);
	if (t == NULL) {
		__atomic_fetch_add(&L.errors, 1, __ATOMIC_RELAXED);
		return;
	}
	DP_LOG(INFO, "lists: version %lu in force: %lu watchlist, %lu communes, %lu green-lane, "
	       "%lu checkpoints (%lu ms)\n", (unsigned long)ver, (unsigned long)st.watch,
	       (unsigned long)st.zones, (unsigned long)st.greenlane,
	       (unsigned long)st.checkpoints, (unsigned long)st.load_ms);
	L.loaded = true;
	L.loaded_version = ver;
	publish(t, &st, readers_running);
}

static void *
loader_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&L.stop, __ATOMIC_RELAXED)) {
		uint64_t next = (chot_mono_us() / 1000) + L.poll_ms;

		poll_once(true);
		while (!__atomic_load_n(&L.stop, __ATOMIC_RELAXED) && (chot_mono_us() / 1000) < next)
			rte_delay_us_sleep(10000);
	}
	return NULL;
}

int
dp_lists_start(const struct dp_conf *c, const char *user, const char *password,
	       unsigned n_readers)
{
	struct dp_lists_table *empty;
	size_t sz = rte_rcu_qsbr_get_memsize(n_readers);
	const char *url;
	char err[512];
	int rc;

	L.n_readers = n_readers;
	L.poll_ms = c->lists_poll_ms;
	L.rcu = rte_zmalloc("chot_lists_rcu", sz, RTE_CACHE_LINE_SIZE);
	empty = cpt_empty();
	if (L.rcu == NULL || empty == NULL || rte_rcu_qsbr_init(L.rcu, n_readers) != 0) {
		DP_LOG(ERR, "lists: out of memory\n");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n_readers; i++) {
		rte_rcu_qsbr_thread_register(L.rcu, i);
		rte_rcu_qsbr_thread_online(L.rcu, i);
	}
	__atomic_store_n(&L.cur, empty, __ATOMIC_RELEASE);
	url = c->lists_url[0] != '\0' ? c->lists_url : c->redis_url;
	if (strncmp(url, "null://", 7) == 0) {
		DP_LOG(INFO, "lists: null:// has none: only the declaration checks apply\n");
		return 0;
	}
	L.reader = lists_reader_create(url, user, password, READ_TIMEOUT, err, sizeof(err));
	if (L.reader == NULL) {
		DP_LOG(ERR, "lists.url %s\n", err);
		return -EINVAL;
	}
	poll_once(false);   /* before RX: the lists are in force from the first packet */
	rc = rte_ctrl_thread_create(&L.thread, "chot-lists", NULL, loader_main, NULL);
	if (rc != 0) {
		DP_LOG(ERR, "lists: cannot start the loader thread: %s\n", strerror(rc));
		return -rc;
	}
	L.running = true;
	return 0;
}

void
dp_lists_stop(void)
{
	__atomic_store_n(&L.stop, true, __ATOMIC_RELAXED);
	if (L.running)
		pthread_join(L.thread, NULL);
	L.running = false;
	lists_reader_destroy(L.reader);
	L.reader = NULL;
	/* An unfinished grace period left its old table behind: the workers have
	 * stopped, so the current one is the only one still referenced. */
	cpt_free(__atomic_exchange_n(&L.cur, NULL, __ATOMIC_ACQ_REL));
	cpt_free(L.retired);
	L.retired = NULL;
	rte_free(L.rcu);
	L.rcu = NULL;
}

void
dp_lists_get_stats(struct dp_lists_stats *st)
{
	pthread_mutex_lock(&L.st_lock);
	*st = L.st;
	pthread_mutex_unlock(&L.st_lock);
	st->reloaded = __atomic_load_n(&L.reloaded, __ATOMIC_RELAXED);
	st->bad_entries = __atomic_load_n(&L.bad_entries, __ATOMIC_RELAXED);
	st->errors = __atomic_load_n(&L.errors, __ATOMIC_RELAXED);
}

void
dp_lists_add_counters(struct dp_counters *sum)
{
	sum->lists_reloaded = __atomic_load_n(&L.reloaded, __ATOMIC_RELAXED);
	sum->lists_bad_entries = __atomic_load_n(&L.bad_entries, __ATOMIC_RELAXED);
	sum->lists_errors = __atomic_load_n(&L.errors, __ATOMIC_RELAXED);
}
