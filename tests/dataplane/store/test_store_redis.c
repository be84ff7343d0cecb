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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "layout.h"
#include "store_redis_fixture.h"

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

	c = admin_login();
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

	c = admin_login();
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
	long long e1, e2, nkeys;

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	c = admin_login();
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
	restart_empty();
	nb += submit_all(s, g, n, 200);
	cr_assert(run_until(s, &t, nb, 30000), "third pass completes after the restart");
	run_until(s, &t, nb + 1, 500);   /* let the queued EXPIREAT repairs land */
	c = admin_login();
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

	tally_init(&t, 1000);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 20000), "first pass completes");
	restart_empty();
	nb += submit_all(s, g, n, 100);
	cr_assert(run_until(s, &t, nb, 30000), "second pass completes after the restart");
	c = admin_login();
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
		batch_events(evs, &g[b * WIRE_MAX_EVENTS], WIRE_MAX_EVENTS);
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
	c = admin_login();
	before = used_memory(c);
	tally_init(&t, n / WIRE_MAX_EVENTS + 2);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 18, &t);
	t0 = chot_mono_us();
	nb = submit_all(s, g, n, 0);
	cr_assert(run_until(s, &t, nb, 60000), "the 100k events are stored");
	t0 = chot_mono_us() - t0;
	after = used_memory(c);
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
	redisContext *c = admin_login();
	unsigned nb;

	config_set(c, "maxmemory", "1");
	tally_init(&t, 100);
	s = make_store("chot-ingest", RSRV_INGEST_PW, 1 << 16, &t);
	nb = submit_all(s, g, n, 0);
	run_until(s, &t, 1, 800);
	dp_store_get_stats(s, &st);
	cr_assert_eq(t.total, 0, "no batch may complete while Redis refuses writes");
	cr_assert_geq(st.redis_errors, 1, "OOM replies are counted");
	cr_assert_eq(int_reply(c, "DBSIZE"), 0, "nothing written while full");

	config_set(c, "maxmemory", "0");
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
	c = admin_login();
	verify(c, g, n);
	redisFree(c);
	dp_store_destroy(s);
	free(g);
	free(t.done);
}
