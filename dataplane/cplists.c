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
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "checkpoint.h"
#include "layout.h"
#include "cplists.h"
#include "lists_read.h"
#include "log.h"

#define COMMUNES      100000u   /* commune codes 1..99999 */
#define READ_TIMEOUT  1000      /* ms, per Redis call of the loader */
#define BAD_LOG_MAX   5         /* bad entries logged per load */
/*
 * A one-hash filter in front of the watchlist: 2^20 bits (128 KiB, stays in
 * L2), bit = pid bytes 8..11.  pids are SipHash outputs, so with 100,000
 * entries about 9 % of the scans not on the list reach the rte_hash (a
 * lookup there costs cache and TLB misses on a 100k table); the rest stop
 * after one cached load.
 */
#define FILTER_BITS   (1u << 20)

struct dp_lists_table {
	struct rte_hash *watch;           /* pid -> (until_ms << 3 | status) */
	struct rte_hash *greenlane;       /* pid -> &gl[i] */
	struct rte_hash *sites;           /* checkpoint site ids */
	struct greenlane_entry *gl;
	uint64_t filter[FILTER_BITS / 64];/* watchlist pre-filter */
	uint8_t zone[COMMUNES];           /* enum zone_level */
	struct dp_lists_stats st;         /* version and sizes */
};

/* What one load gathers before the tables are built. */
struct gather {
	struct { uint8_t pid[PID_LEN]; uint64_t packed; } *watch;
	size_t nwatch, capwatch;
	struct { uint8_t pid[PID_LEN]; struct greenlane_entry e; } *gl;
	size_t ngl, capgl;
	uint32_t *sites;
	size_t nsites, capsites;
	struct dp_lists_table *t;         /* zones go straight in */
	uint64_t bad;
	const char *key;
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

/* --- lookups (checkpoint.h) --- */

static bool
lk_watch(const void *tp, const uint8_t pid[PID_LEN], struct chk_watch *out)
{
	const struct dp_lists_table *t = tp;
	uint32_t bit;
	void *data;

	memcpy(&bit, pid + 8, sizeof(bit));
	bit &= FILTER_BITS - 1;
	if (!(t->filter[bit / 64] >> (bit % 64) & 1) ||
	    rte_hash_lookup_data(t->watch, pid, &data) < 0)
		return false;
	out->status = (uint8_t)((uintptr_t)data & 7);
	out->until_ms = (uint64_t)(uintptr_t)data >> 3;
	return true;
}

static const struct greenlane_entry *
lk_greenlane(const void *tp, const uint8_t pid[PID_LEN])
{
	const struct dp_lists_table *t = tp;
	void *data;

	if (t->greenlane == NULL || rte_hash_lookup_data(t->greenlane, pid, &data) < 0)
		return NULL;
	return data;
}

static bool
lk_checkpoint(const void *tp, uint32_t site)
{
	const struct dp_lists_table *t = tp;

	return t->sites != NULL && rte_hash_lookup(t->sites, &site) >= 0;
}

static enum zone_level
lk_zone(const void *tp, uint32_t commune)
{
	const struct dp_lists_table *t = tp;

	return commune < COMMUNES ? (enum zone_level)t->zone[commune] : ZONE_NONE;
}

const struct chk_lookup dp_lists_lookup = { lk_watch, lk_greenlane, lk_checkpoint, lk_zone };

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

/* --- building a table --- */

static void
table_free(struct dp_lists_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->watch);
	rte_hash_free(t->greenlane);
	rte_hash_free(t->sites);
	free(t->gl);
	rte_free(t);
}

static struct rte_hash *
hash_make(const char *what, size_t n, uint32_t key_len)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = (uint32_t)(n + n / 4 + 64),
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x6c697374,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "chot_l%s%lu", what, (unsigned long)(L.gen % 100000000));
	return rte_hash_create(&p);
}

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *np;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 1024;
	np = realloc(p, *cap * size);
	if (np == NULL)
		free(p);
	return np;
}

static int
bad(struct gather *g, const char *f, size_t fl, const char *v, size_t vl)
{
	if (g->bad++ < BAD_LOG_MAX)
		DP_LOG(WARNING, "lists: %s: skipping bad entry '%.*s' = '%.*s'\n", g->key,
		       (int)(fl > 64 ? 64 : fl), f, (int)(vl > 80 ? 80 : vl), v);
	return 0;
}

static int
unhex_pid(uint8_t pid[PID_LEN], const char *s, size_t len)
{
	if (len != PID_HEX_LEN)
		return -1;
	for (size_t i = 0; i < PID_LEN; i++) {
		int hi = s[2 * i], lo = s[2 * i + 1];

		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		pid[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
on_watch(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
	struct gather *g = arg;
	struct watch_entry e;
	uint8_t pid[PID_LEN];

	if (unhex_pid(pid, f, fl) != 0 || lists_watch_decode(v, vl, &e) != 0 ||
	    e.until_ms >= (1ULL << 60))
		return bad(g, f, fl, v, vl);
	g->watch = grow(g->watch, &g->capwatch, g->nwatch, sizeof(*g->watch));
	if (g->watch == NULL)
		return -ENOMEM;
	memcpy(g->watch[g->nwatch].pid, pid, PID_LEN);
	g->watch[g->nwatch++].packed = e.until_ms << 3 | (uint64_t)e.status;
	return 0;
}

static int
on_greenlane(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
	struct gather *g = arg;
	struct greenlane_entry e;
	uint8_t pid[PID_LEN];

	if (unhex_pid(pid, f, fl) != 0 || lists_greenlane_decode(v, vl, &e) != 0)
		return bad(g, f, fl, v, vl);
	g->gl = grow(g->gl, &g->capgl, g->ngl, sizeof(*g->gl));
	if (g->gl == NULL)
		return -ENOMEM;
	memcpy(g->gl[g->ngl].pid, pid, PID_LEN);
	g->gl[g->ngl++].e = e;
	return 0;
}

/* "<decimal>" in 1..max, or 0. */
static uint64_t
field_u32(const char *f, size_t fl, uint64_t max)
{
	uint64_t v = 0;

	if (fl == 0 || fl > 10)
		return 0;
	for (size_t i = 0; i < fl; i++) {
		if (f[i] < '0' || f[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(f[i] - '0');
	}
	return v <= max ? v : 0;
}

static int
on_zone(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
	struct gather *g = arg;
	uint64_t commune = field_u32(f, fl, COMMUNES - 1);
	enum zone_level z;

	if (commune == 0 || lists_zone_decode(v, vl, &z) != 0)
		return bad(g, f, fl, v, vl);
	g->t->zone[commune] = (uint8_t)z;
	return 0;
}

/* The registry of §5: site id -> "kind,commune,name"; only checkpoints matter here. */
static int
on_site(void *arg, const char *f, size_t fl, const char *v, size_t vl)
{
	static const char cp[] = "checkpoint,";
	struct gather *g = arg;
	uint64_t site = field_u32(f, fl, UINT32_MAX);

	if (site == 0 || memchr(v, ',', vl) == NULL)
		return bad(g, f, fl, v, vl);
	if (vl < sizeof(cp) - 1 || memcmp(v, cp, sizeof(cp) - 1) != 0)
		return 0;
	g->sites = grow(g->sites, &g->capsites, g->nsites, sizeof(*g->sites));
	if (g->sites == NULL)
		return -ENOMEM;
	g->sites[g->nsites++] = (uint32_t)site;
	return 0;
}

static void
gather_free(struct gather *g)
{
	free(g->watch);
	free(g->gl);
	free(g->sites);
}

/* Build the hashes of g into g->t.  0 or -ENOMEM / -ENOSPC. */
static int
build(struct gather *g)
{
	struct dp_lists_table *t = g->t;
	size_t i;

	L.gen++;
	if (g->nwatch > 0) {
		t->watch = hash_make("w", g->nwatch, PID_LEN);
		if (t->watch == NULL)
			return -ENOMEM;
		for (i = 0; i < g->nwatch; i++) {
			uint32_t bit;

			if (rte_hash_add_key_data(t->watch, g->watch[i].pid,
						  (void *)(uintptr_t)g->watch[i].packed) < 0)
				return -ENOSPC;
			memcpy(&bit, g->watch[i].pid + 8, sizeof(bit));
			bit &= FILTER_BITS - 1;
			t->filter[bit / 64] |= 1ull << (bit % 64);
		}
	}
	if (g->ngl > 0) {
		t->greenlane = hash_make("g", g->ngl, PID_LEN);
		t->gl = malloc(g->ngl * sizeof(*t->gl));
		if (t->greenlane == NULL || t->gl == NULL)
			return -ENOMEM;
		for (i = 0; i < g->ngl; i++) {
			t->gl[i] = g->gl[i].e;
			if (rte_hash_add_key_data(t->greenlane, g->gl[i].pid, &t->gl[i]) < 0)
				return -ENOSPC;
		}
	}
	if (g->nsites > 0) {
		t->sites = hash_make("s", g->nsites, sizeof(uint32_t));
		if (t->sites == NULL)
			return -ENOMEM;
		for (i = 0; i < g->nsites; i++)
			if (rte_hash_add_key(t->sites, &g->sites[i]) < 0)
				return -ENOSPC;
	}
	t->st.watch = t->watch ? (uint64_t)rte_hash_count(t->watch) : 0;
	t->st.greenlane = t->greenlane ? (uint64_t)rte_hash_count(t->greenlane) : 0;
	t->st.checkpoints = t->sites ? (uint64_t)rte_hash_count(t->sites) : 0;
	for (i = 1; i < COMMUNES; i++)
		t->st.zones += t->zone[i] != ZONE_NONE;
	return 0;
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Read every list at version ver into a new table.  NULL on failure (logged). */
static struct dp_lists_table *
load(uint64_t ver)
{
	static const struct {
		const char *key;
		lists_entry_fn fn;
	} hashes[] = {
		{ LISTS_WATCH_HASH, on_watch },
		{ LISTS_ZONES_HASH, on_zone },
		{ LISTS_GREENLANE_HASH, on_greenlane },
		{ LAYOUT_SITES_HASH, on_site },
	};
	struct gather g = { 0 };
	uint64_t t0 = mono_ms();
	char err[512];
	int rc = 0;

	g.t = rte_zmalloc("chot_lists", sizeof(*g.t), RTE_CACHE_LINE_SIZE);
	if (g.t == NULL) {
		DP_LOG(ERR, "lists: out of memory for a table\n");
		return NULL;
	}
	for (size_t i = 0; i < RTE_DIM(hashes) && rc == 0; i++) {
		g.key = hashes[i].key;
		rc = lists_reader_hash(L.reader, hashes[i].key, hashes[i].fn, &g, err, sizeof(err));
		if (rc != 0 && rc != -ENOMEM)
			DP_LOG(WARNING, "%s: keeping the lists in force\n", err);
	}
	if (rc == 0)
		rc = build(&g);
	if (rc != 0) {
		if (rc == -ENOMEM || rc == -ENOSPC)
			DP_LOG(ERR, "lists: cannot build the tables (%s): raise -m; keeping the "
			       "lists in force\n", strerror(-rc));
		gather_free(&g);
		table_free(g.t);
		return NULL;
	}
	g.t->st.version = ver;
	g.t->st.load_ms = mono_ms() - t0;
	__atomic_fetch_add(&L.bad_entries, g.bad, __ATOMIC_RELAXED);
	if (g.bad > BAD_LOG_MAX)
		DP_LOG(WARNING, "lists: %lu bad entries skipped in all (lists_bad_entries)\n",
		       (unsigned long)g.bad);
	gather_free(&g);
	return g.t;
}

/* Swap t in, wait for a grace period (unless no worker runs yet), free the old table. */
static void
publish(struct dp_lists_table *t, bool readers_running)
{
	struct dp_lists_table *old = __atomic_exchange_n(&L.cur, t, __ATOMIC_ACQ_REL);
	uint64_t token = rte_rcu_qsbr_start(L.rcu);

	pthread_mutex_lock(&L.st_lock);
	L.st = t->st;
	pthread_mutex_unlock(&L.st_lock);
	__atomic_fetch_add(&L.reloaded, 1, __ATOMIC_RELAXED);
	if (!readers_running) {
		table_free(old);
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
	table_free(old);
}

/* One poll: reload when the version moved.  Returns after publishing or failing. */
static void
poll_once(bool readers_running)
{
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
	t = load(ver);
	if (t == NULL) {
		__atomic_fetch_add(&L.errors, 1, __ATOMIC_RELAXED);
		return;
	}
	DP_LOG(INFO, "lists: version %lu in force: %lu watchlist, %lu communes, %lu green-lane, "
	       "%lu checkpoints (%lu ms)\n", (unsigned long)ver, (unsigned long)t->st.watch,
	       (unsigned long)t->st.zones, (unsigned long)t->st.greenlane,
	       (unsigned long)t->st.checkpoints, (unsigned long)t->st.load_ms);
	L.loaded = true;
	L.loaded_version = ver;
	publish(t, readers_running);
}

static void *
loader_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&L.stop, __ATOMIC_RELAXED)) {
		uint64_t next = mono_ms() + L.poll_ms;

		poll_once(true);
		while (!__atomic_load_n(&L.stop, __ATOMIC_RELAXED) && mono_ms() < next)
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
	empty = rte_zmalloc("chot_lists", sizeof(*empty), RTE_CACHE_LINE_SIZE);
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
	table_free(__atomic_exchange_n(&L.cur, NULL, __ATOMIC_ACQ_REL));
	table_free(L.retired);
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
