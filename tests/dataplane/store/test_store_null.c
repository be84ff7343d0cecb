/*
 * null:// (dataplane/store/store_null.c): every batch completes at once,
 * from inside dp_store_submit, with status 0; nothing stays pending; a bad
 * URL makes dp_store_create fail with EINVAL, and what the store cannot do
 * (a database other than 0) is refused with the reason; cluster:// is taken
 * (store_cluster.c), and its check against seeds nobody listens on is a
 * transient failure that never prints the password.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "store.h"

static unsigned calls;
static uint64_t last_cookie;
static int last_status = -1;

static void
on_done(void *ctx, uint64_t cookie, int status)
{
	(void)ctx;
	calls++;
	last_cookie = cookie;
	last_status = status;
}

Test(store_null, completes_inside_submit)
{
	struct dp_store_conf conf = { .url = "null://", .pipeline = 1, .flush_us = 1,
				      .retention_days = 1, .max_pending_events = 128 };
	struct scan_event ev = { .ts_ms = 1, .site_id = 1 };
	struct dp_store_event se = { .ev = &ev };
	struct dp_store_stats st;
	struct dp_store *s = dp_store_create(&conf, on_done, NULL);

	cr_assert_not_null(s, "null:// must create");
	cr_assert_eq(dp_store_submit(s, 42, &se, 1), 0, "submit accepted");
	cr_assert_eq(calls, 1, "done fired once inside submit, got %u", calls);
	cr_assert_eq(last_cookie, 42, "cookie passed through");
	cr_assert_eq(last_status, 0, "status 0");
	dp_store_poll(s, 0);
	cr_assert_eq(calls, 1, "poll fires nothing more");
	dp_store_get_stats(s, &st);
	cr_assert_eq(st.events_pending, 0, "nothing pending");
	cr_assert_eq(dp_store_drain(s, 10), 0, "drain: nothing pending");
	dp_store_destroy(s);
}

Test(store_null, bad_url_is_einval)
{
	struct dp_store_conf conf = { .url = "http://x", .pipeline = 1, .max_pending_events = 128 };

	errno = 0;
	cr_assert_null(dp_store_create(&conf, on_done, NULL), "a bad URL must not create");
	cr_assert_eq(errno, EINVAL, "errno EINVAL, got %d", errno);
}

/* proto/redis_url parses; cluster:// goes to the cluster store; /N is refused. */
Test(store_null, store_takes_cluster_refuses_db)
{
	struct dp_store_conf conf = { .url = "cluster://u:topsecret@127.0.0.1:1,127.0.0.1:2",
				      .pipeline = 1, .max_pending_events = 128 };
	char err[512] = "";
	struct dp_store *s;

	cr_assert_eq(dp_store_check(&conf, 100, err, sizeof(err)), -ECONNREFUSED,
		     "cluster:// with no seed listening: %s", err);
	cr_assert(strstr(err, "127.0.0.1:2") != NULL, "the last seed tried is named: %s", err);
	cr_assert(strstr(err, "topsecret") == NULL, "the password is printed: %s", err);
	s = dp_store_create(&conf, on_done, NULL);
	cr_assert_not_null(s, "cluster:// refused by dp_store_create");
	dp_store_destroy(s);
	conf.url = "redis://127.0.0.1:7000/2";
	cr_assert_eq(dp_store_check(&conf, 100, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/2") != NULL, "db refused with a reason: %s", err);
	conf.url = "redis://127.0.0.1:0";
	cr_assert_eq(dp_store_check(&conf, 100, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "port") != NULL, "%s", err);
	conf.url = "null://";
	cr_assert_eq(dp_store_check(&conf, 100, err, sizeof(err)), 0);
}
