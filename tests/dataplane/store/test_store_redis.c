/*
 * The Redis store (dataplane/store/store_redis.c) against a real
 * redis-server: what lands in Redis is exactly the proto/layout.h records,
 * expiries and vault entries; a replay adds only exact duplicates, which
 * readers drop (layout_records_unique); a SIGKILLed and
 * restarted server loses no completed batch and every batch completes
 * exactly once; the backlog bound refuses with -ENOBUFS; a wrong password
 * never completes anything; and a memory-per-event figure.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "layout.h"
#include "redis_server.h"
#include "store.h"
#include "vault.h"

#define RETENTION_DAYS 14

static struct rsrv srv;
/* The store writes with CHOT.APPEND (dp_store_conf chot_append): the
 * store_redis_chot tests, set by their .init (one process a test). */
static bool chot_mode;
static const uint8_t vkey[32] = { 7, 7, 7 };

struct gen_event {
	struct dp_store_event se;
	struct scan_event ev;
};

struct tally {
	unsigned ncookies;
	unsigned *done;      /* completions per cookie */
	unsigned total, failed;
};

static void
on_done(void *ctx, uint64_t cookie, int status)
{
	struct tally *t = ctx;

	if (cookie < t->ncookies)
		t->done[cookie]++;
	t->total++;
	if (status != 0)
		t->failed++;
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Subject j: pid = j in the first bytes, a 12-digit CCCD subject. */
static void
make_event(struct gen_event *g, unsigned subj, uint32_t site, uint64_t ts_ms, bool vault)
{
	memset(g, 0, sizeof(*g));
	memset(g->se.pid, 0xa5, PID_LEN);
	memcpy(g->se.pid, &subj, sizeof(subj));
	g->ev.ts_ms = ts_ms;
	g->ev.site_id = site;
	g->ev.scheme = 1;
	g->ev.dir = (uint8_t)(ts_ms & 1);
	g->ev.subject_len = 12;
	snprintf(g->ev.subject, sizeof(g->ev.subject), "%012u", subj);
	g->se.write_vault = vault;
}

/* n events, unique timestamps, nsubj subjects, nsites sites, within 6 h. */
static struct gen_event *
gen_simple(unsigned n, unsigned nsubj, unsigned nsites)
{
	struct gen_event *g = calloc(n, sizeof(*g));
	uint64_t base = (uint64_t)time(NULL) * 1000 - 6 * LAYOUT_HOUR_MS;
	bool *seen = calloc(nsubj, sizeof(bool));

	for (unsigned i = 0; i < n; i++) {
		unsigned s = (unsigned)(rng() % nsubj);

		make_event(&g[i], s, 1 + (uint32_t)(rng() % nsites), base + (uint64_t)i * 2000 + 1,
			   !seen[s]);
		seen[s] = true;
	}
	free(seen);
	return g;
}

static struct dp_store *
make_store(const char *user, const char *pw, unsigned max_pending, struct tally *t)
{
	struct dp_store_conf conf = {
		.pipeline = 64, .flush_us = 200, .retention_days = RETENTION_DAYS,
		.max_pending_events = max_pending, .vault_key = vkey,
		.chot_append = chot_mode,
	};
	static char url[256];
	struct dp_store *s;

	rsrv_url(&srv, user, pw, url, sizeof(url));
	conf.url = url;
	s = dp_store_create(&conf, on_done, t);
	cr_assert_not_null(s, "dp_store_create(%s) should succeed", url);
	return s;
}

/* Submit events [0, n) in batches of 64; cookie = first + batch index. */
static unsigned
submit_all(struct dp_store *s, struct gen_event *g, unsigned n, uint64_t first)
{
	struct dp_store_event evs[WIRE_MAX_EVENTS];
	unsigned b = 0;

	for (unsigned i = 0; i < n; i += WIRE_MAX_EVENTS, b++) {
		unsigned k = n - i < WIRE_MAX_EVENTS ? n - i : WIRE_MAX_EVENTS;

		for (unsigned j = 0; j < k; j++) {
			evs[j] = g[i + j].se;
			evs[j].ev = &g[i + j].ev;
		}
		cr_assert_eq(dp_store_submit(s, first + b, evs, k), 0, "submit of batch %u", b);
	}
	return b;
}

static bool
run_until(struct dp_store *s, struct tally *t, unsigned want_total, unsigned timeout_ms)
{
	uint64_t end = mono_us() + (uint64_t)timeout_ms * 1000;

	while (t->total < want_total && mono_us() < end) {
		dp_store_poll(s, mono_us());
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	return t->total >= want_total;
}

static long long
int_reply(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "reply to %s", fmt);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: integer expected (%s)", fmt,
		     r->type == REDIS_REPLY_ERROR ? r->str : "?");
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* How many times Redis has run a command (INFO commandstats). */
static long long
command_calls(redisContext *c, const char *name)
{
	redisReply *r = redisCommand(c, "INFO commandstats");
	char field[64];
	const char *p;
	long long v = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "INFO commandstats");
	snprintf(field, sizeof(field), "cmdstat_%s:calls=", name);
	p = strstr(r->str, field);
	if (p != NULL)
		v = atoll(p + strlen(field));
	freeReplyObject(r);
	return v;
}

static long long
expireat_calls(redisContext *c)
{
	return command_calls(c, "expireat");
}

/* A key's value (GET): its records, raw; NULL if the key is missing.  Keys are binary (layout.h). */
static redisReply *
get_records(redisContext *c, const char *key, size_t kl, size_t rec_len, uint8_t *vault,
	    size_t *vault_len)
{
	redisReply *r = redisCommand(c, "GET %b", key, kl);
	char kt[LAYOUT_KEY_TEXT_MAX];
	long ev;

	layout_key_text(kt, key, kl);
	cr_assert_not_null(r, "GET %s", kt);
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return NULL;
	}
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s: a string", kt);
	cr_assert_eq(r->len % rec_len, 0, "%s: %zu bytes, not whole %zu-byte records", kt,
		     r->len, rec_len);
	if (rec_len == LAYOUT_SUBJECT_RECORD_LEN) {   /* a week key: its vault unit out */
		ev = layout_subject_split((uint8_t *)r->str, r->len, vault, vault_len);
		cr_assert_geq(ev, 0, "%s: a malformed vault unit", kt);
		r->len = (size_t)ev;
	}
	return r;
}

/* Is rec one of the records of key? */
static bool
has_record(redisContext *c, const char *key, size_t kl, const uint8_t *rec, size_t rec_len)
{
	redisReply *r = get_records(c, key, kl, rec_len, NULL, NULL);
	bool found = false;

	for (size_t off = 0; r != NULL && off < r->len && !found; off += rec_len)
		found = memcmp(r->str + off, rec, rec_len) == 0;
	freeReplyObject(r);
	return found;
}

/* Every event's two records are there, keys expire where layout.h says. */
static void
verify(redisContext *c, const struct gen_event *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct scan_event *ev = &g[i].ev;
		uint8_t sm[LAYOUT_SUBJECT_MEMBER_LEN], pm[LAYOUT_SITE_MEMBER_LEN];
		char skey[LAYOUT_KEY_MAX], sk[LAYOUT_KEY_TEXT_MAX], pk[LAYOUT_KEY_MAX];
		size_t skl = layout_subject_key(skey, g[i].se.pid, layout_week(ev->ts_ms));
		size_t pkl = layout_site_key(pk, ev->site_id, layout_block(ev->ts_ms));

		layout_key_text(sk, skey, skl);    /* for messages: the key is binary */
		layout_subject_member(sm, ev->site_id, ev->ts_ms, ev->dir);
		layout_site_member(pm, g[i].se.pid, ev->ts_ms, ev->dir);
		cr_assert(has_record(c, skey, skl, sm, sizeof(sm)), "event %u: %s record missing", i,
			  sk);
		cr_assert(has_record(c, pk, pkl, pm, sizeof(pm)), "event %u: %s record missing", i,
			  pk);
		cr_assert_eq((uint64_t)int_reply(c, "EXPIRETIME %b", skey, skl),
			     layout_week_expire_at(layout_week(ev->ts_ms), RETENTION_DAYS),
			     "%s expiry", sk);
		cr_assert_eq((uint64_t)int_reply(c, "EXPIRETIME %s", pk),
			     layout_block_expire_at(layout_block(ev->ts_ms), RETENTION_DAYS),
			     "%s expiry", pk);
		if (g[i].se.write_vault) {
			/* The vault unit in the event's week key (layout.h), living with it */
			uint8_t sealed[LAYOUT_VAULT_MAX], scheme = 0;
			char subj[WIRE_SUBJECT_MAX_NUL];
			size_t sl = 0;
			redisReply *r = get_records(c, skey, skl, LAYOUT_SUBJECT_RECORD_LEN, sealed,
						    &sl);

			cr_assert(r != NULL && sl > 0, "%s: no vault unit", sk);
			cr_assert_eq(vault_open(sealed, sl, vkey, g[i].se.pid, &scheme, subj),
				     (int)ev->subject_len, "%s's unit must open to the subject's length",
				     sk);
			cr_assert_eq(scheme, ev->scheme, "%s scheme", sk);
			cr_assert_str_eq(subj, ev->subject, "%s holds the subject", sk);
			freeReplyObject(r);
		}
	}
}

/*
 * Records over the keys matching pattern, as a reader sees them: each key's
 * distinct records (layout_records_unique); *raw (if not NULL) gets the
 * records at rest, duplicates included.
 */
static long long
total_members(redisContext *c, const char *pattern, long long *raw)
{
	size_t rec_len = pattern[0] == 's' ? LAYOUT_SUBJECT_RECORD_LEN : LAYOUT_SITE_RECORD_LEN;
	redisReply *r = redisCommand(c, "KEYS %s", pattern);
	long long sum = 0, all = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY, "KEYS %s", pattern);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *k = r->element[i];
		redisReply *v = get_records(c, k->str, k->len, rec_len, NULL, NULL);
		long kept;

		cr_assert_not_null(v, "key %zu of %s vanished", i, pattern);
		all += (long long)(v->len / rec_len);
		kept = layout_records_unique((uint8_t *)v->str, v->len, rec_len, NULL);
		cr_assert_geq(kept, 1, "key %zu of %s: records", i, pattern);
		sum += kept;
		freeReplyObject(v);
	}
	freeReplyObject(r);
	if (raw != NULL)
		*raw = all;
	return sum;
}

static void
setup(void)
{
	int rc = rsrv_start(&srv);

	cr_assert_eq(rc, 0, "redis-server should start (rc %d, dir %s)", rc, srv.dir);
}

static void
setup_fsync_always(void)
{
	/* A SIGKILL test: with everysec Redis may reply before write(2) of the
	 * AOF in rare cases; `always` makes "replied OK" mean "in the AOF". */
	srv.extra[0] = "--appendfsync";
	srv.extra[1] = "always";
	setup();
}

static void
setup_chot(void)
{
	chot_mode = true;
	setup();
}

/* The restart replays CHOT.APPENDs from the AOF: the module loads first. */
static void
setup_fsync_always_chot(void)
{
	chot_mode = true;
	setup_fsync_always();
}

static void
teardown(void)
{
	rsrv_cleanup(&srv);
}

static void
tally_init(struct tally *t, unsigned ncookies)
{
	memset(t, 0, sizeof(*t));
	t->ncookies = ncookies;
	t->done = calloc(ncookies, sizeof(unsigned));
}

static void
assert_each_once(const struct tally *t, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		cr_assert_eq(t->done[i], 1, "batch %u completed %u times, expected once", i,
			     t->done[i]);
	cr_assert_eq(t->failed, 0, "no batch may complete with an error status");
}

static void
write_then_replay_is_idempotent(void)
{
	const unsigned n = 150 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 500, 40);
	struct tally t;
	struct dp_store *s;
	struct dp_store_stats st;
	redisContext *c;
	long long dbsize, smembers, pmembers, raw;
	unsigned nb;

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 30000), "all %u batches should complete (got %u)", nb,
		  t.total);
	assert_each_once(&t, 0, nb);
	dp_store_get_stats(s, &st);
	cr_assert_eq(st.events_pending, 0, "nothing pending after completion");
	cr_assert_eq(st.redis_errors, 0, "no Redis errors expected");
	cr_assert(st.connected, "connected");

	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	verify(c, g, n);
	smembers = total_members(c, "s:*", &raw);
	cr_assert_eq(raw, n, "no resend, no duplicate: %lld records", raw);
	pmembers = total_members(c, "p:*", &raw);
	cr_assert_eq(raw, n, "no resend, no duplicate: %lld records", raw);
	cr_assert_eq(smembers, n, "one timeline record per event: %lld vs %u", smembers, n);
	cr_assert_eq(st.resent, 0, "nothing resent");
	cr_assert_eq(pmembers, n, "one presence record per event: %lld vs %u", pmembers, n);
	dbsize = int_reply(c, "DBSIZE");
	/* One mode or the other, never a mix; with CHOT.APPEND no EXPIREAT. */
	if (chot_mode) {
		cr_assert_eq(expireat_calls(c), 0, "CHOT.APPEND carries the expiry");
		cr_assert_geq(command_calls(c, "chot.append"), dbsize - 500, "a CHOT.APPEND a key");
		cr_assert_eq(command_calls(c, "append"), 0, "no APPEND with CHOT.APPEND");
	} else {
		cr_assert_eq(command_calls(c, "chot.append"), 0, "no CHOT.APPEND unless told");
		cr_assert_geq(expireat_calls(c), dbsize - 500, "an EXPIREAT a key");
	}
	cr_assert(st.chot_append == chot_mode, "the stats say which mode");

	/* Replay: same batches, new cookies.  The records are appended again
	 * (exact duplicates); what a reader sees may not change. */
	nb = submit_all(s, g, n, 500);
	cr_assert(run_until(s, &t, 2 * nb, 30000), "replayed batches should complete");
	assert_each_once(&t, 500, 500 + nb);
	cr_assert_eq(int_reply(c, "DBSIZE"), dbsize, "DBSIZE unchanged by a replay");
	cr_assert_eq(total_members(c, "s:*", &raw), smembers, "timelines unchanged by a replay");
	cr_assert_eq(raw, 2 * n, "the replay appended %lld records", raw - n);
	cr_assert_eq(total_members(c, "p:*", &raw), pmembers, "presence unchanged by a replay");
	cr_assert_eq(raw, 2 * n, "the replay appended %lld records", raw - n);
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, write_then_replay_is_idempotent, .init = setup, .fini = teardown, .timeout = 60)
{
	write_then_replay_is_idempotent();
}

Test(store_redis_chot, write_then_replay_is_idempotent, .init = setup_chot,
     .fini = teardown, .timeout = 60)
{
	write_then_replay_is_idempotent();
}

static void
sigkill_and_restart_loses_nothing(void)
{
	const unsigned n = 300 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 2000, 40);
	struct tally t;
	struct dp_store *s;
	struct dp_store_stats st;
	redisContext *c;
	unsigned nb, before;

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, 20, 20000), "some batches complete before the kill");
	rsrv_kill(&srv, SIGKILL);
	before = t.total;
	cr_assert_lt(before, nb, "the kill must come mid-stream (%u of %u done)", before, nb);

	/* Redis is down: nothing completes, no busy reconnect loop. */
	run_until(s, &t, nb, 700);
	cr_assert_eq(t.total, before, "nothing may complete while Redis is down");
	dp_store_get_stats(s, &st);
	cr_assert_geq(st.redis_errors, 1, "the broken connection is counted");
	cr_assert_leq(st.redis_errors, 10, "backoff: few attempts in 0.7 s, got %llu",
		      (unsigned long long)st.redis_errors);
	cr_assert(!st.connected, "not connected while Redis is down");

	cr_assert_eq(rsrv_restart(&srv), 0, "redis-server restarts on the same dir");
	cr_assert(run_until(s, &t, nb, 40000), "every batch completes after the restart (%u/%u)",
		  t.total, nb);
	assert_each_once(&t, 0, nb);
	dp_store_get_stats(s, &st);
	cr_assert_geq(st.reconnects, 2, "a reconnect happened");

	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	verify(c, g, n);
	{
		long long raw;

		cr_assert_eq(total_members(c, "s:*", &raw), n, "every timeline record is there");
		/* The kill came with APPENDs in flight: resent, counted; every
		 * duplicate at rest is one of them. */
		cr_assert_gt(st.resent, 0, "redis_resent counts the in-flight events");
		cr_assert_leq((uint64_t)(raw - n), st.resent,
			      "%lld duplicate timeline records, %llu events resent", raw - n,
			      (unsigned long long)st.resent);
		fprintf(stderr, "sigkill: %llu events resent, %lld duplicate records at rest\n",
			(unsigned long long)st.resent, raw - n);
	}
	cr_assert_eq(total_members(c, "p:*", NULL), n, "every presence record is there");
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, sigkill_and_restart_loses_nothing, .init = setup_fsync_always,
     .fini = teardown, .timeout = 90)
{
	sigkill_and_restart_loses_nothing();
}

Test(store_redis_chot, sigkill_and_restart_loses_nothing, .init = setup_fsync_always_chot,
     .fini = teardown, .timeout = 90)
{
	sigkill_and_restart_loses_nothing();
}

/*
 * The expiry memo (coalesce.h) sends each key's EXPIREAT once per
 * connection.  If Redis restarts having lost the keys (no AOF left), the
 * same keys written again must get their expiry again: nothing may be left
 * that never expires.
 */
Test(store_redis, keys_lost_in_a_restart_get_their_expiry_again, .init = setup,
     .fini = teardown, .timeout = 60)
{
	const unsigned n = 40 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 300, 20);
	struct tally t;
	struct dp_store *s;
	redisContext *c;
	unsigned nb;
	char cmd[600];

	long long e1, e2, nkeys;

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 20000), "first pass completes");
	e1 = expireat_calls(c);
	nkeys = int_reply(c, "DBSIZE") - 300;     /* minus the vault keys */
	cr_assert_geq(e1, nkeys, "every key got its EXPIREAT (%lld for %lld keys)", e1, nkeys);
	/* The same keys again: the memo leaves their EXPIREATs out (a memo
	 * slot shared by two keys may cost one extra). */
	nb += submit_all(s, g, n, 100);
	cr_assert(run_until(s, &t, nb, 20000), "second pass completes");
	e2 = expireat_calls(c);
	cr_assert_leq(e2 - e1, 4, "the second pass repeats %lld EXPIREATs", e2 - e1);
	redisFree(c);

	/* Redis dies and comes back empty. */
	rsrv_kill(&srv, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/appendonlydir'", srv.dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(rsrv_restart(&srv), 0, "redis-server restarts empty");
	nb += submit_all(s, g, n, 200);
	cr_assert(run_until(s, &t, nb, 30000), "third pass completes after the restart");
	run_until(s, &t, nb + 1, 500);   /* let the queued EXPIREAT repairs land */
	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	verify(c, g, n);                 /* every key's EXPIRETIME is the layout's */
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

/* With CHOT.APPEND every write carries its key's expiry: keys lost in a
 * restart get it back with the next write, and no EXPIREAT is ever sent. */
Test(store_redis_chot, keys_lost_in_a_restart_get_their_expiry_again, .init = setup_chot,
     .fini = teardown, .timeout = 60)
{
	const unsigned n = 40 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 300, 20);
	struct tally t;
	struct dp_store *s;
	redisContext *c;
	unsigned nb;
	char cmd[600];

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 20000), "first pass completes");
	rsrv_kill(&srv, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/appendonlydir'", srv.dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(rsrv_restart(&srv), 0, "redis-server restarts empty");
	nb += submit_all(s, g, n, 100);
	cr_assert(run_until(s, &t, nb, 30000), "second pass completes after the restart");
	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	verify(c, g, n);                 /* every key's EXPIRETIME is the layout's */
	cr_assert_eq(expireat_calls(c), 0, "no EXPIREAT: the expiry came with the records");
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, backlog_bound_refuses_with_enobufs, .init = setup, .fini = teardown,
     .timeout = 30)
{
	struct gen_event *g = gen_simple(3 * WIRE_MAX_EVENTS, 50, 5);
	struct dp_store_event evs[WIRE_MAX_EVENTS];
	struct dp_store_stats st;
	struct tally t;
	struct dp_store *s;

	rsrv_kill(&srv, SIGKILL);  /* nothing can drain the backlog */
	tally_init(&t, 10);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 128, &t);
	for (unsigned b = 0; b < 3; b++) {
		for (unsigned j = 0; j < WIRE_MAX_EVENTS; j++) {
			evs[j] = g[b * WIRE_MAX_EVENTS + j].se;
			evs[j].ev = &g[b * WIRE_MAX_EVENTS + j].ev;
		}
		cr_assert_eq(dp_store_submit(s, b, evs, WIRE_MAX_EVENTS), b < 2 ? 0 : -ENOBUFS,
			     "batch %u: expected %s", b, b < 2 ? "accepted" : "-ENOBUFS");
	}
	cr_assert_eq(dp_store_submit(s, 9, evs, 1), -ENOBUFS, "even one more event is refused");
	run_until(s, &t, 1, 500);
	dp_store_get_stats(s, &st);
	cr_assert_eq(t.total, 0, "nothing completes without Redis");
	cr_assert_eq(st.events_pending, 128, "the two accepted batches are pending");
	cr_assert_eq(dp_store_drain(s, 200), 128, "drain gives up with 128 pending");
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, wrong_password_never_acks, .init = setup, .fini = teardown, .timeout = 30)
{
	struct gen_event *g = gen_simple(10, 5, 2);
	struct dp_store_stats st;
	struct tally t;
	struct dp_store *s;

	tally_init(&t, 10);
	s = make_store("chot-ingest", "not-the-password", 1024, &t);
	submit_all(s, g, 10, 0);
	run_until(s, &t, 1, 1000);
	dp_store_get_stats(s, &st);
	cr_assert_eq(t.total, 0, "a refused AUTH must never complete a batch");
	cr_assert_geq(st.redis_errors, 1, "the refusal is counted");
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

/*
 * Memory per event with a realistic shape: 1..10 events per subject-day,
 * 40 sites over 12 hours (about 200 presence entries per site-hour), one
 * vault entry per subject.  Prints the figure; asserts only a loose bound.
 */
static void
memory_per_event(void)
{
	const unsigned n = 100000;
	struct gen_event *g = calloc(n, sizeof(*g));
	uint64_t base = ((uint64_t)time(NULL) * 1000 / LAYOUT_DAY_MS) * LAYOUT_DAY_MS;
	struct tally t;
	struct dp_store *s;
	redisContext *c;
	long long before, after;
	unsigned i = 0, subj = 0, nb;
	uint64_t t0;

	if (base + 12 * LAYOUT_HOUR_MS > (uint64_t)time(NULL) * 1000)
		base -= LAYOUT_DAY_MS;  /* yesterday: keep every timestamp in the past */
	while (i < n) {
		unsigned k = 1 + (unsigned)(rng() % 10);

		for (unsigned j = 0; j < k && i < n; j++, i++)
			make_event(&g[i], subj, 1 + (uint32_t)(rng() % 40),
				   base + rng() % (12 * LAYOUT_HOUR_MS), j == 0);
		subj++;
	}
	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	{
		redisReply *r = redisCommand(c, "INFO memory");
		char *p = strstr(r->str, "used_memory:");

		before = atoll(p + 12);
		freeReplyObject(r);
	}
	tally_init(&t, n / WIRE_MAX_EVENTS + 2);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 18, &t);
	t0 = mono_us();
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 60000), "the 100k events are stored");
	t0 = mono_us() - t0;
	{
		redisReply *r = redisCommand(c, "INFO memory");
		char *p = strstr(r->str, "used_memory:");

		after = atoll(p + 12);
		freeReplyObject(r);
	}
	fprintf(stderr, "memory_per_event: %u events, %u subjects (vault entries), "
		"%lld keys, used_memory %lld -> %lld: %.1f bytes/event\n",
		n, subj, int_reply(c, "DBSIZE"), before, after, (double)(after - before) / n);
	fprintf(stderr, "memory_per_event: stored in %.2f s (%.0f events/s, pipeline 64)\n",
		(double)t0 / 1e6, (double)n * 1e6 / (double)t0);
	cr_assert_lt((after - before) / n, 400, "memory per event should stay small");
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, memory_per_event, .init = setup, .fini = teardown, .timeout = 90)
{
	memory_per_event();
}

Test(store_redis_chot, memory_per_event, .init = setup_chot, .fini = teardown, .timeout = 90)
{
	memory_per_event();
}

/*
 * Redis full (maxmemory reached, noeviction): APPEND fails with OOM while
 * EXPIREAT on the missing key succeeds.  Nothing may complete, and once
 * memory is available again every key must exist WITH its expiry (an APPEND
 * retried after its EXPIREAT would leave a key that never expires).
 */
static void
oom_error_retried_in_order(void)
{
	const unsigned n = 20 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 300, 20);
	struct dp_store_stats st;
	struct tally t;
	struct dp_store *s;
	redisContext *c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	redisReply *r;
	unsigned nb;

	cr_assert_not_null(c);
	r = redisCommand(c, "CONFIG SET maxmemory 1");
	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "CONFIG SET maxmemory 1");
	freeReplyObject(r);
	tally_init(&t, 100);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	run_until(s, &t, 1, 800);
	dp_store_get_stats(s, &st);
	cr_assert_eq(t.total, 0, "no batch may complete while Redis refuses writes");
	cr_assert_geq(st.redis_errors, 1, "OOM replies are counted");
	cr_assert_eq(int_reply(c, "DBSIZE"), 0, "nothing written while full");

	r = redisCommand(c, "CONFIG SET maxmemory 0");
	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "CONFIG SET maxmemory 0");
	freeReplyObject(r);
	cr_assert(run_until(s, &t, nb, 20000), "every batch completes once Redis has room");
	assert_each_once(&t, 0, nb);
	verify(c, g, n);  /* includes the exact EXPIRETIME of every key */
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}

Test(store_redis, oom_error_retried_in_order, .init = setup, .fini = teardown, .timeout = 60)
{
	oom_error_retried_in_order();
}

Test(store_redis_chot, oom_error_retried_in_order, .init = setup_chot,
     .fini = teardown, .timeout = 60)
{
	oom_error_retried_in_order();
}

static char sock_path[108];

static void
setup_unix(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/chot-store-test-%d.sock", (int)getpid());
	srv.extra[0] = "--unixsocket";
	srv.extra[1] = sock_path;
	setup();
}

static void
teardown_unix(void)
{
	teardown();
	unlink(sock_path);
}

/* unix://PATH, credentials from the conf (not the URL). */
Test(store_redis, unix_socket_with_conf_credentials, .init = setup_unix, .fini = teardown_unix,
     .timeout = 30)
{
	const unsigned n = 4 * WIRE_MAX_EVENTS;
	struct gen_event *g = gen_simple(n, 100, 10);
	char url[160];
	struct dp_store_conf conf = {
		.url = url, .user = "chot-ingest", .password = RSRV_INGEST_PW,
		.pipeline = 8, .flush_us = 1000, .retention_days = RETENTION_DAYS,
		.max_pending_events = 4096, .vault_key = vkey,
	};
	struct tally t;
	struct dp_store *s;
	redisContext *c;
	unsigned nb;

	snprintf(url, sizeof(url), "unix://%s", sock_path);
	tally_init(&t, 10);
	s = dp_store_create(&conf, on_done, &t);
	cr_assert_not_null(s, "dp_store_create(%s)", url);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 10000), "batches complete over the unix socket");
	assert_each_once(&t, 0, nb);
	c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	cr_assert_not_null(c);
	verify(c, g, n);
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}
