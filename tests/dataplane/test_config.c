/*
 * Configuration (dataplane/config.c): defaults per DESIGN §3, validators
 * as a table of good and bad values, --set precedence over the file, and
 * unknown keys refused.  Pure, no EAL (rte_cfgfile is a plain library).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "config.h"

Test(config, defaults_match_design)
{
	struct dp_conf c;

	dp_conf_defaults(&c);
	cr_assert_eq(c.port, 0);
	cr_assert_eq(c.udp_port, 7311);
	cr_assert_eq(c.addrs.n4 + c.addrs.n6, 0, "no address by default");
	cr_assert_eq(c.workers, 1);
	cr_assert_str_eq(c.keys_file, "/etc/chot/keys");
	cr_assert_eq(c.dedupe_window_s, 120);
	cr_assert_eq(c.dedupe_capacity, 1048576);
	cr_assert_str_eq(c.redis_url, "redis://127.0.0.1:6379");
	cr_assert_str_eq(c.redis_user, "");
	cr_assert_eq(c.redis_pipeline, 4096);
	cr_assert_eq(c.redis_flush_us, 200);
	cr_assert_eq(c.redis_retention_days, 21);
	cr_assert_eq(c.exit_on_idle_ms, 0);
	cr_assert_eq(c.exit_after_packets, 0);
}

struct kv_case {
	char arg[64];
	int want;       /* 0, -EINVAL, -ENOENT */
};

static struct kv_case kv_cases[] = {
	{ "ingest.udp_port=9000", 0 },
	{ "ingest.udp_port=0", -EINVAL },
	{ "ingest.udp_port=65536", -EINVAL },
	{ "ingest.udp_port=12ab", -EINVAL },
	{ "ingest.udp_port=-1", -EINVAL },
	{ "ingest.udp_port=", -EINVAL },
	{ "ingest.workers=4", 0 },
	{ "ingest.workers=0", -EINVAL },
	{ "ingest.workers=17", -EINVAL },
	{ "ingest.address=192.0.2.1/24,2001:db8::1/64", 0 },
	{ "ingest.address=192.0.2.300", -EINVAL },
	{ "ingest.now_ms=1700000000000", 0 },
	{ "ingest.exit_after_packets=4000000", 0 },
	{ "ingest.exit_after_packets=-1", -EINVAL },
	{ "dedupe.window_s=0", 0 },
	{ "dedupe.capacity=10", -EINVAL },
	{ "redis.url=null://", 0 },
	{ "redis.url=null://x", -EINVAL },
	{ "redis.url=redis://127.0.0.1:7000", 0 },
	{ "redis.url=unix:///run/redis.sock", 0 },
	{ "redis.url=cluster://a:1,b:2", 0 },
	{ "redis.url=http://x", -EINVAL },
	{ "redis.url=redis://", -EINVAL },
	{ "redis.url=redis://[::1]:7000", 0 },
	{ "redis.url=redis://127.0.0.1:0", -EINVAL },
	{ "redis.url=cluster://a:1,,b:2", -EINVAL },
	{ "redis.retention_days=0", -EINVAL },
	{ "redis.pipeline=1", 0 },
	{ "redis.user=chot-ingest", 0 },
	{ "redis.wait_replicas=0", 0 },
	{ "redis.wait_replicas=2", 0 },
	{ "redis.wait_replicas=17", -EINVAL },
	{ "redis.wait_timeout_ms=0", -EINVAL },
	{ "redis.wait_timeout_ms=500", 0 },
	{ "redis.nope=1", -ENOENT },
	{ "nosection.key=1", -ENOENT },
	{ "nodot=1", -EINVAL },
	{ "ingest.port", -EINVAL },
};

ParameterizedTestParameters(config, set_arg)
{
	return cr_make_param_array(struct kv_case, kv_cases, sizeof(kv_cases) / sizeof(kv_cases[0]));
}

ParameterizedTest(struct kv_case *k, config, set_arg)
{
	struct dp_conf c;
	char err[256] = "";
	int rc;

	dp_conf_defaults(&c);
	rc = dp_conf_set_arg(&c, k->arg, err, sizeof(err));
	cr_assert_eq(rc, k->want, "--set %s: expected %d, got %d (%s)", k->arg, k->want, rc, err);
	if (rc < 0)
		cr_assert_neq(err[0], '\0', "an error must say why");
}

/* A refused redis.url says why (proto/redis_url.c) and never prints its password. */
Test(config, url_error_hides_password)
{
	struct dp_conf c;
	char err[256] = "";

	dp_conf_defaults(&c);
	cr_assert_eq(dp_conf_set_arg(&c, "redis.url=redis://chot-ingest:hunter2@h:99999", err,
				     sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "port") != NULL, "the error names the port: %s", err);
	cr_assert(strstr(err, "hunter2") == NULL, "the error prints the password: %s", err);
	cr_assert(strstr(err, "redis.url") != NULL, "the error names the key: %s", err);
}

Test(config, file_then_set)
{
	char path[] = "/tmp/chotd-conf-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	struct dp_conf c;
	char err[256] = "";

	cr_assert_geq(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "; comment\n[ingest]\nudp_port = 9999\nworkers = 2\n"
		   "[redis]\nurl = null://\nuser = chot-ingest\n");
	fclose(f);
	dp_conf_defaults(&c);
	cr_assert_eq(dp_conf_load_file(&c, path, err, sizeof(err)), 0, "load: %s", err);
	cr_assert_eq(c.udp_port, 9999, "file value");
	cr_assert_eq(c.workers, 2);
	cr_assert_str_eq(c.redis_url, "null://");
	cr_assert_eq(dp_conf_set_arg(&c, "ingest.workers=3", err, sizeof(err)), 0);
	cr_assert_eq(c.workers, 3, "--set wins over the file");
	cr_assert_eq(c.dedupe_window_s, 120, "untouched keys keep their default");

	f = fopen(path, "w");
	fprintf(f, "[ingest]\nudp_prot = 1\n");
	fclose(f);
	cr_assert_eq(dp_conf_load_file(&c, path, err, sizeof(err)), -EINVAL,
		     "a misspelt key is an error");
	cr_assert(strstr(err, "udp_prot") != NULL, "the error names the key: %s", err);
	unlink(path);
	cr_assert_eq(dp_conf_load_file(&c, path, err, sizeof(err)), -ENOENT, "missing file");
}

Test(config, shipped_config_loads)
{
	struct dp_conf c;
	char err[256] = "";

	dp_conf_defaults(&c);
	cr_assert_eq(dp_conf_load_file(&c, CHOT_SOURCE_ROOT "/configs/chotd.conf", err,
				       sizeof(err)), 0, "configs/chotd.conf: %s", err);
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), 0, "check: %s", err);
	cr_assert_eq(c.udp_port, 7311, "shipped config keeps the protocol port");
}

Test(config, check_cross_keys)
{
	struct dp_conf c;
	char err[256];

	dp_conf_defaults(&c);
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), 0);
	cr_assert_eq(dp_conf_set_arg(&c, "redis.password_file=/x", err, sizeof(err)), 0);
	cr_assert_eq(dp_conf_check(&c, err, sizeof(err)), -EINVAL, "password without user");
}

static void
count_visit(void *ctx, const char *name, const char *value)
{
	(void)name;
	(void)value;
	(*(int *)ctx)++;
}

Test(config, visit_every_key)
{
	struct dp_conf c;
	int n = 0;

	dp_conf_defaults(&c);
	dp_conf_visit(&c, count_visit, &n);
	cr_assert_geq(n, 13, "at least the 13 DESIGN keys, got %d", n);
}
