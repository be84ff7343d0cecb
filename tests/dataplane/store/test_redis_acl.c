/*
 * The shipped configs/redis.conf ACLs, checked against a real redis-server:
 * what each user may and may not do.  A table of (user, command, allowed);
 * every refusal must be an error reply, every permission a non-error one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "redis_server.h"
#include "store.h"

static struct rsrv srv;

static void
setup(void)
{
	int rc = rsrv_start(&srv);

	cr_assert_eq(rc, 0, "redis-server should start (rc %d, dir %s)", rc, srv.dir);
}

static void
teardown(void)
{
	rsrv_cleanup(&srv);
}

struct acl_case {
	const char *user, *pw;
	const char *argv[6];
	bool allowed;
};

static const struct acl_case cases[] = {
	/* chot-ingest (chotd): appends to scan keys (the vault unit rides the
	 * s: APPEND, proto/layout.h), nothing else; never reads what it wrote. */
	{ "chot-ingest", RSRV_INGEST_PW, { "APPEND", "s:{ab}:1", "record" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "APPEND", "p:{7}:1", "record" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "EXPIREAT", "s:{ab}:1", "4000000000" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "SET", "v:{ab}", "sealed", "EX", "100" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "s:{ab}:1", "4000000000", "r" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "p:{7}:1", "4000000000", "r" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "GET", "v:{ab}" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "GET", "s:{ab}:1" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "GETRANGE", "p:{7}:1", "0", "-1" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "SETRANGE", "s:{ab}:1", "0", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "ZADD", "s:{ab}:2", "0", "m" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "APPEND", "chot:{lists}:version", "1" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "XADD", "chot:audit", "*", "a", "b" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.AUDIT", "trace", "-", "" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "XRANGE", "chot:audit", "-", "+" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "SET", "chot:{lists}:sites", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "FLUSHALL" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "DEL", "s:{ab}:1" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CONFIG", "GET", "dir" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "KEYS", "*" }, false },
	/* ... reads the checkpoint lists, appends alerts (DESIGN §9), no more. */
	{ "chot-ingest", RSRV_INGEST_PW, { "GET", "chot:{lists}:version" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "HSCAN", "chot:{lists}:watch", "0", "COUNT", "10" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "HGETALL", "chot:{lists}:zones" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "XADD", "chot:{alerts}", "*", "ts_ms", "1" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "XRANGE", "chot:{alerts}", "-", "+" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "XTRIM", "chot:{alerts}", "MAXLEN", "0" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "HSET", "chot:{lists}:watch", "a", "b" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "INCR", "chot:{lists}:version" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "GET", "chot:audit" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "XADD", "chot:{lists}:watch", "*", "a", "b" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "HSCAN", "chot:{lists}:sites", "0" }, true },
	{ "chot-ingest", RSRV_INGEST_PW, { "HGETALL", "chot:{lists}:greenlane" }, true },
	/* one selector per key family: each command only where it belongs */
	{ "chot-ingest", RSRV_INGEST_PW, { "HGETALL", "chot:{lists}:plates" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "APPEND", "v:{ab}", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "APPEND", "chot:{alerts}", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "SET", "s:{ab}:1", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "SET", "chot:{alerts}", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "EXPIREAT", "v:{ab}", "1" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "XADD", "s:{ab}:4", "*", "a", "b" }, false },
	/* CHOT.APPEND: the scan keys only (ACL key check by its key spec) */
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "v:{ab}", "4000000000", "x" }, false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "chot:{alerts}", "4000000000", "x" },
	  false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "chot:audit", "4000000000", "x" },
	  false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "chot:{lists}:version", "1", "x" },
	  false },
	{ "chot-ingest", RSRV_INGEST_PW, { "CHOT.APPEND", "x:{ab}", "4000000000", "x" }, false },
	/* chot-operator (chotctl): reads, appends to the audit stream through
	 * CHOT.AUDIT only (tests/integration/test_audit.py tries the rest). */
	{ "chot-operator", RSRV_OPERATOR_PW, { "GET", "s:{ab}:1" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "GETRANGE", "p:{7}:1", "0", "19" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "STRLEN", "p:{7}:1" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "GET", "v:{ab}" }, false },   /* no such family */
	{ "chot-operator", RSRV_OPERATOR_PW, { "HGETALL", "chot:{lists}:sites" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "CHOT.AUDIT", "trace", "-", "" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XADD", "chot:audit", "*", "a", "b" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XTRIM", "chot:audit", "MAXLEN", "0" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "DEL", "chot:audit" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "APPEND", "s:{ab}:1", "x" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "ZADD", "s:{ab}:3", "0", "x" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "CHOT.APPEND", "s:{ab}:1", "4000000000", "x" },
	  false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "CHOT.APPEND", "p:{7}:1", "4000000000", "x" },
	  false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "ZREM", "p:{7}:1", "m" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "DEL", "s:{ab}:1" }, false },
	/* never the vault: `vehicle register` seals plates into chot:{lists}:plates */
	{ "chot-operator", RSRV_OPERATOR_PW, { "SET", "v:{ab}", "x" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "HSET", "chot:{lists}:plates", "a", "b" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "SET", "s:{ab}:1", "x" }, false },
	/* the lists of §9 yes, the alerts only to read */
	{ "chot-operator", RSRV_OPERATOR_PW, { "HSET", "chot:{lists}:watch", "a", "b" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XRANGE", "chot:{alerts}", "-", "+" }, true },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XADD", "chot:{alerts}", "*", "a", "b" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XTRIM", "chot:{alerts}", "MAXLEN", "0" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "XADD", "s:{ab}:2", "*", "a", "b" }, false },
	{ "chot-operator", RSRV_OPERATOR_PW, { "FLUSHALL" }, false },
	/* The default user is off: no command without AUTH. */
	{ NULL, NULL, { "PING" }, false },
	{ NULL, NULL, { "GET", "v:{ab}" }, false },
	{ NULL, NULL, { "CHOT.APPEND", "s:{ab}:1", "4000000000", "x" }, false },
};

Test(redis_acl, shipped_users, .init = setup, .fini = teardown)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct acl_case *c = &cases[i];
		redisContext *ctx = rsrv_login(&srv, c->user, c->pw);
		const char *argv[6];
		redisReply *r;
		int argc = 0;

		cr_assert_not_null(ctx, "login as %s should succeed", c->user ? c->user : "default");
		while (argc < 6 && c->argv[argc] != NULL) {
			argv[argc] = c->argv[argc];
			argc++;
		}
		r = redisCommandArgv(ctx, argc, argv, NULL);
		cr_assert_not_null(r, "case %zu: a reply was expected", i);
		cr_expect_eq(r->type == REDIS_REPLY_ERROR, !c->allowed,
			     "%s %s %s: expected %s, got %s", c->user ? c->user : "default",
			     c->argv[0], c->argv[1] ? c->argv[1] : "",
			     c->allowed ? "allowed" : "refused",
			     r->type == REDIS_REPLY_ERROR ? r->str : "allowed");
		freeReplyObject(r);
		redisFree(ctx);
	}
}

Test(redis_acl, wrong_password_refused, .init = setup, .fini = teardown)
{
	redisContext *ctx = rsrv_login(&srv, "chot-ingest", "CHANGE-ME-ingest");

	cr_assert_null(ctx, "the placeholder password must not log in once replaced");
	ctx = rsrv_login(&srv, "default", "");
	cr_assert_null(ctx, "the default user must be off");
}

/* Keys the start-up probes left behind (chot-admin's view). */
static long long
probe_keys(void)
{
	redisContext *ctx = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	redisReply *r;
	long long n;

	cr_assert_not_null(ctx);
	r = redisCommand(ctx, "KEYS *chot-start-probe*");
	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY);
	n = (long long)r->elements;
	freeReplyObject(r);
	redisFree(ctx);
	return n;
}

static int
check_caps_as(const char *user, const char *pw, struct dp_store_caps *caps, char *err,
	      size_t errlen)
{
	static const uint8_t vkey[32] = { 1 };
	char url[256];
	struct dp_store_conf conf = { .url = url, .vault_key = vkey };

	rsrv_url(&srv, user, pw, url, sizeof(url));
	err[0] = '\0';
	return dp_store_check_caps(&conf, 2000, caps, err, errlen);
}

static int
check_as(const char *user, const char *pw, char *err, size_t errlen)
{
	return check_caps_as(user, pw, NULL, err, errlen);
}

static void
setuser(const char *const *argv, int argc)
{
	redisContext *ctx = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);
	redisReply *r = redisCommandArgv(ctx, argc, (const char **)argv, NULL);

	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "ACL SETUSER %s: %s", argv[2],
		  r != NULL && r->type == REDIS_REPLY_ERROR ? r->str : "?");
	freeReplyObject(r);
	redisFree(ctx);
}

/*
 * The start-up check (store_check.c) passes with the shipped chot-ingest and
 * leaves no data behind (APPEND of nothing creates an empty string, the
 * EXPIREAT 1 after it deletes it); a user without APPEND, or without
 * EXPIREAT, is refused with NOPERM naming the command, and still no probe
 * key is left (EXPIREAT is probed before the APPEND that creates one).
 */
Test(redis_acl, start_check_probes_append_without_data, .init = setup, .fini = teardown)
{
	static const char *const noappend[] = {
		"ACL", "SETUSER", "chot-noappend", "on", ">pw1", "resetkeys", "%W~s:*", "%W~p:*",
		"%W~chot:{alerts}", "-@all", "+expireat", "+xadd", "+zadd",
	};
	static const char *const noexpire[] = {
		"ACL", "SETUSER", "chot-noexpire", "on", ">pw2", "resetkeys", "%W~s:*", "%W~p:*",
		"%W~chot:{alerts}", "-@all", "+append", "+xadd",
	};
	char err[512];
	int rc;

	rc = check_as("chot-ingest", RSRV_INGEST_PW, err, sizeof(err));
	cr_assert_eq(rc, 0, "the shipped chot-ingest passes the check: %d %s", rc, err);
	cr_assert_eq(probe_keys(), 0, "the probes left a key behind");

	setuser(noappend, sizeof(noappend) / sizeof(noappend[0]));
	rc = check_as("chot-noappend", "pw1", err, sizeof(err));
	cr_assert_eq(rc, -EPERM, "no APPEND: -EPERM, got %d (%s)", rc, err);
	cr_assert(strstr(err, "APPEND") != NULL && strstr(err, "NOPERM") != NULL &&
		  strstr(err, "chot-noappend") != NULL, "the error names it: %s", err);

	setuser(noexpire, sizeof(noexpire) / sizeof(noexpire[0]));
	rc = check_as("chot-noexpire", "pw2", err, sizeof(err));
	cr_assert_eq(rc, -EPERM, "no EXPIREAT: -EPERM, got %d (%s)", rc, err);
	cr_assert(strstr(err, "EXPIREAT") != NULL, "the error names EXPIREAT: %s", err);
	cr_assert_eq(probe_keys(), 0, "a refused check left a key behind");
}

/*
 * The check also finds CHOT.APPEND (store_check.c): yes with the shipped
 * config and chot-ingest, no (and still rc 0, and no probe key) for a user
 * whose ACL lacks +chot.append, and on a server without the module.
 */
Test(redis_acl, start_check_finds_chot_append, .init = setup, .fini = teardown)
{
	static const char *const nochot[] = {
		"ACL", "SETUSER", "chot-nochot", "on", ">pw3", "resetkeys", "%W~s:*", "%W~p:*",
		"%W~v:*", "%W~chot:{alerts}", "-@all", "+append", "+expireat", "+set", "+xadd",
	};
	struct dp_store_caps caps;
	char err[512];
	int rc;

	rc = check_caps_as("chot-ingest", RSRV_INGEST_PW, &caps, err, sizeof(err));
	cr_assert_eq(rc, 0, "the shipped chot-ingest passes the check: %d %s", rc, err);
	cr_assert(caps.chot_append, "CHOT.APPEND found: %s", caps.why);
	setuser(nochot, sizeof(nochot) / sizeof(nochot[0]));
	rc = check_caps_as("chot-nochot", "pw3", &caps, err, sizeof(err));
	cr_assert_eq(rc, 0, "no +chot.append is no reason to refuse: %d %s", rc, err);
	cr_assert(!caps.chot_append, "an ACL without +chot.append: APPEND + EXPIREAT");
	cr_assert(strstr(caps.why, "NOPERM") != NULL, "why names the refusal: %s", caps.why);
	cr_assert_eq(probe_keys(), 0, "the probes left a key behind");
}

static void
setup_no_module(void)
{
	srv.no_module = true;
	setup();
}

Test(redis_acl, start_check_without_the_module, .init = setup_no_module, .fini = teardown)
{
	struct dp_store_caps caps;
	char err[512];
	int rc;

	rc = check_caps_as("chot-ingest", RSRV_INGEST_PW, &caps, err, sizeof(err));
	cr_assert_eq(rc, 0, "the check passes without the module: %d %s", rc, err);
	cr_assert(!caps.chot_append, "no module: APPEND + EXPIREAT");
	cr_assert(strstr(caps.why, "unknown command") != NULL, "why says so: %s", caps.why);
	cr_assert_eq(probe_keys(), 0, "the probes left a key behind");
}
