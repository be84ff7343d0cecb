/*
 * The one Redis URL parser (proto/redis_url.h): a table of good URLs and
 * what they parse to, and bad ones with the word their refusal must contain;
 * no refusal may print the password.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "proto/redis_url.h"

/* Inline strings: Criterion runs each case in a fresh process. */
struct url_case {
	char url[112];
	int rc;
	enum redis_url_kind kind;
	char seeds[64];         /* "host:port,host:port" as redis_endpoint_format prints them */
	char path[32];
	char user[24], password[24];
	unsigned db;
	char why[40];           /* for a refusal: a word the error must contain */
};

ParameterizedTestParameters(redis_url, table)
{
	static struct url_case cases[] = {
		{ "null://", 0, REDIS_URL_NULL },
		{ "redis://127.0.0.1:6379", 0, REDIS_URL_TCP, "127.0.0.1:6379" },
		{ "redis://localhost", 0, REDIS_URL_TCP, "localhost:6379" },
		{ "redis://redis-1.example.org:7000", 0, REDIS_URL_TCP, "redis-1.example.org:7000" },
		{ "redis://chot-ingest:s3cret@127.0.0.1:7000", 0, REDIS_URL_TCP, "127.0.0.1:7000",
		  "", "chot-ingest", "s3cret" },
		{ "redis://chot-admin@127.0.0.1", 0, REDIS_URL_TCP, "127.0.0.1:6379", "",
		  "chot-admin", "" },
		{ "redis://:legacy@127.0.0.1", 0, REDIS_URL_TCP, "127.0.0.1:6379", "", "", "legacy" },
		{ "redis://u:p%40ss%3Aw%2f%25@h:1", 0, REDIS_URL_TCP, "h:1", "", "u", "p@ss:w/%" },
		{ "redis://op%20one:x@h", 0, REDIS_URL_TCP, "h:6379", "", "op one", "x" },
		{ "redis://u:p@ss@h", 0, REDIS_URL_TCP, "h:6379", "", "u", "p@ss" },
		{ "redis://127.0.0.1:7000/0", 0, REDIS_URL_TCP, "127.0.0.1:7000" },
		{ "redis://127.0.0.1:7000/3", 0, REDIS_URL_TCP, "127.0.0.1:7000", "", "", "", 3 },
		{ "redis://[::1]:7000", 0, REDIS_URL_TCP, "[::1]:7000" },
		{ "redis://[::1]", 0, REDIS_URL_TCP, "[::1]:6379" },
		{ "redis://u:p@[fe80::1%eth0]:7000", 0, REDIS_URL_TCP, "[fe80::1%eth0]:7000", "",
		  "u", "p" },
		{ "redis://h:65535", 0, REDIS_URL_TCP, "h:65535" },
		{ "redis://h:1", 0, REDIS_URL_TCP, "h:1" },
		{ "unix:///run/redis/redis.sock", 0, REDIS_URL_UNIX, "", "/run/redis/redis.sock" },
		{ "cluster://127.0.0.1:7000", 0, REDIS_URL_CLUSTER, "127.0.0.1:7000" },
		{ "cluster://127.0.0.1:7000,127.0.0.1:7001,[::1]:7002", 0, REDIS_URL_CLUSTER,
		  "127.0.0.1:7000,127.0.0.1:7001,[::1]:7002" },
		{ "cluster://chot-operator:pw%2C1@a:1,b", 0, REDIS_URL_CLUSTER, "a:1,b:6379", "",
		  "chot-operator", "pw,1" },
		/* refusals */
		{ "", -EINVAL, 0, "", "", "", "", 0, "empty" },
		{ "http://127.0.0.1", -EINVAL, 0, "", "", "", "", 0, "scheme" },
		{ "redis:/127.0.0.1", -EINVAL, 0, "", "", "", "", 0, "scheme" },
		{ "null://x", -EINVAL, 0, "", "", "", "", 0, "nothing after" },
		{ "unix://relative.sock", -EINVAL, 0, "", "", "", "", 0, "absolute" },
		{ "unix://", -EINVAL, 0, "", "", "", "", 0, "absolute" },
		{ "redis://127.0.0.1:0", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:65536", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:99999999999999999999", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:http", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:+80", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:80x", -EINVAL, 0, "", "", "", "", 0, "port" },
		{ "redis://127.0.0.1:", -EINVAL, 0, "", "", "", "", 0, "missing port" },
		{ "redis://:6379", -EINVAL, 0, "", "", "", "", 0, "missing host" },
		{ "redis://", -EINVAL, 0, "", "", "", "", 0, "missing host" },
		{ "redis://u:p@", -EINVAL, 0, "", "", "", "", 0, "missing host" },
		{ "redis://::1:7000", -EINVAL, 0, "", "", "", "", 0, "brackets" },
		{ "redis://[::1:7000", -EINVAL, 0, "", "", "", "", 0, "']'" },
		{ "redis://[::1]7000", -EINVAL, 0, "", "", "", "", 0, "after ']'" },
		{ "redis://[]:7000", -EINVAL, 0, "", "", "", "", 0, "IPv6" },
		{ "redis://[abc]:7000", -EINVAL, 0, "", "", "", "", 0, "IPv6" },
		{ "redis://ho st:1", -EINVAL, 0, "", "", "", "", 0, "bad character" },
		{ "redis://a:1,b:2", -EINVAL, 0, "", "", "", "", 0, "cluster://" },
		{ "redis://h/x", -EINVAL, 0, "", "", "", "", 0, "database" },
		{ "redis://u:bad%zzpw@h", -EINVAL, 0, "", "", "", "", 0, "percent" },
		{ "redis://u:badpw%4@h", -EINVAL, 0, "", "", "", "", 0, "percent" },
		{ "redis://u:nul%00pw@h", -EINVAL, 0, "", "", "", "", 0, "percent" },
		{ "redis://u%zz:secretpw@h", -EINVAL, 0, "", "", "", "", 0, "user name" },
		{ "cluster://", -EINVAL, 0, "", "", "", "", 0, "seed 1" },
		{ "cluster://a:1,,b:2", -EINVAL, 0, "", "", "", "", 0, "seed 2 is empty" },
		{ "cluster://a:1,", -EINVAL, 0, "", "", "", "", 0, "seed 2 is empty" },
		{ "cluster://a:1,b:0", -EINVAL, 0, "", "", "", "", 0, "seed 2: bad port" },
		{ "cluster://a:1,::1:2", -EINVAL, 0, "", "", "", "", 0, "brackets" },
		{ "cluster://a:1/0", -EINVAL, 0, "", "", "", "", 0, "database" },
		{ "cluster://h:1,h:2,h:3,h:4,h:5,h:6,h:7,h:8,h:9,h:10,h:11,h:12,h:13,h:14,h:15,"
		  "h:16,h:17", -EINVAL, 0, "", "", "", "", 0, "too many" },
	};
	return cr_make_param_array(struct url_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct url_case *c, redis_url, table)
{
	struct redis_url u;
	char err[512] = "", seeds[512] = "";
	int rc = redis_url_parse(c->url, &u, err, sizeof(err));

	cr_assert_eq(rc, c->rc, "'%s': expected rc %d, got %d (%s)", c->url, c->rc, rc, err);
	if (rc != 0) {
		cr_assert(err[0] != '\0', "'%s': a refusal must say why", c->url);
		cr_assert(strstr(err, c->why) != NULL, "'%s': error '%s' should mention '%s'",
			  c->url, err, c->why);
		cr_assert(strstr(err, "secretpw") == NULL && strstr(err, "badpw") == NULL &&
				  strstr(err, "zzpw") == NULL && strstr(err, "%00pw") == NULL,
			  "'%s': the error '%s' prints the password", c->url, err);
		return;
	}
	cr_assert_eq(u.kind, c->kind, "'%s': kind %d, expected %d", c->url, u.kind, c->kind);
	for (unsigned i = 0; i < u.nseeds; i++) {
		char one[300];

		if (i > 0)
			strcat(seeds, ",");
		strcat(seeds, redis_endpoint_format(&u.seeds[i], one, sizeof(one)));
	}
	cr_assert_str_eq(seeds, c->seeds, "'%s': seeds '%s', expected '%s'", c->url, seeds,
			 c->seeds);
	cr_assert_str_eq(u.path, c->path, "'%s': path", c->url);
	cr_assert_str_eq(u.user, c->user, "'%s': user '%s'", c->url, u.user);
	cr_assert_str_eq(u.password, c->password, "'%s': password", c->url);
	cr_assert_eq(u.has_user, c->user[0] != '\0');
	cr_assert_eq(u.has_password, c->password[0] != '\0');
	cr_assert_eq(u.db, c->db, "'%s': db %u", c->url, u.db);
}

Test(redis_url, redact)
{
	char out[128];

	redis_url_redact("redis://chot-admin:s3cret@127.0.0.1:7000", out, sizeof(out));
	cr_assert_str_eq(out, "redis://chot-admin:***@127.0.0.1:7000");
	redis_url_redact("cluster://:pw@a:1,b:2", out, sizeof(out));
	cr_assert_str_eq(out, "cluster://:***@a:1,b:2");
	redis_url_redact("redis://user@h", out, sizeof(out));
	cr_assert_str_eq(out, "redis://user@h");
	redis_url_redact("redis://h:1", out, sizeof(out));
	cr_assert_str_eq(out, "redis://h:1");
	redis_url_redact("redis://u:p@ss@h", out, sizeof(out));
	cr_assert_str_eq(out, "redis://u:***@h");
	redis_url_redact("redis://u:secret@h", out, 12);
	cr_assert_str_eq(out, "redis://u:*");
}

Test(redis_url, kind_names)
{
	cr_assert_str_eq(redis_url_kind_name(REDIS_URL_CLUSTER), "cluster");
	cr_assert_str_eq(redis_url_kind_name(REDIS_URL_NULL), "null");
}
