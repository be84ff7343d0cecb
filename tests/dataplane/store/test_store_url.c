/*
 * redis.url parsing (dataplane/store/store_url.c): a table of good and bad
 * URLs, each with what it must parse to or why it must be refused.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include "store_impl.h"

/* Inline strings: Criterion runs each case in a fresh process, where a
 * pointer into the parent's address space would not be valid. */
struct url_case {
	char url[64];
	int rc;
	enum store_kind kind;
	char host[32];
	int port;
	char user[16], password[16];
};

ParameterizedTestParameters(store_url, table)
{
	static struct url_case cases[] = {
		{ "null://", 0, STORE_NULL, "", 0, "", "" },
		{ "redis://127.0.0.1:6379", 0, STORE_TCP, "127.0.0.1", 6379, "", "" },
		{ "redis://localhost", 0, STORE_TCP, "localhost", 6379, "", "" },
		{ "redis://chot-ingest:s3cret@127.0.0.1:7000", 0, STORE_TCP, "127.0.0.1", 7000,
		  "chot-ingest", "s3cret" },
		{ "redis://127.0.0.1:7000/0", 0, STORE_TCP, "127.0.0.1", 7000, "", "" },
		{ "unix:///run/redis/redis.sock", 0, STORE_UNIX, "/run/redis/redis.sock", 0, "", "" },
		{ "unix://relative.sock", -EINVAL, 0, "", 0, "", "" },
		{ "redis://127.0.0.1:0", -EINVAL, 0, "", 0, "", "" },
		{ "redis://127.0.0.1:65536", -EINVAL, 0, "", 0, "", "" },
		{ "redis://127.0.0.1:http", -EINVAL, 0, "", 0, "", "" },
		{ "redis://:6379", -EINVAL, 0, "", 0, "", "" },
		{ "cluster://127.0.0.1:7000,127.0.0.1:7001", -EINVAL, 0, "", 0, "", "" },
		{ "http://127.0.0.1", -EINVAL, 0, "", 0, "", "" },
		{ "", -EINVAL, 0, "", 0, "", "" },
	};
	return cr_make_param_array(struct url_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct url_case *c, store_url, table)
{
	struct store_url u;
	char err[256] = "";
	int rc = store_url_parse(c->url, &u, err, sizeof(err));

	cr_assert_eq(rc, c->rc, "'%s': expected rc %d, got %d (%s)", c->url, c->rc, rc, err);
	if (rc != 0) {
		cr_assert(err[0] != '\0', "'%s': a refusal must say why", c->url);
		return;
	}
	cr_assert_eq(u.kind, c->kind, "'%s': kind %d, expected %d", c->url, u.kind, c->kind);
	cr_assert_str_eq(u.host, c->host, "'%s': host '%s', expected '%s'", c->url, u.host, c->host);
	cr_assert_eq(u.port, c->port, "'%s': port %d, expected %d", c->url, u.port, c->port);
	cr_assert_str_eq(u.user, c->user, "'%s': user", c->url);
	cr_assert_str_eq(u.password, c->password, "'%s': password", c->url);
}
