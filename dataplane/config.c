/*
 * The configuration table.  Each row is one key of DESIGN §3 (plus a few
 * chotd-specific ones): where it lives in struct dp_conf, its default as
 * text, and how to validate it.  Defaults go through the same validators as
 * file values, so a default can never be an invalid value.
 *
 * Precedence: defaults < INI file (rte_cfgfile) < --set overrides.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cfgfile.h>

#include "config.h"
#include "redis_url.h"

enum conf_type { CT_U32, CT_U64, CT_STR, CT_URL, CT_ADDRS };

struct conf_row {
	const char *section;
	const char *key;
	const char *def;
	enum conf_type type;
	size_t off;
	uint64_t min, max;       /* integers */
};

#define ROW_U32(s, k, d, f, lo, hi) { s, k, d, CT_U32, offsetof(struct dp_conf, f), lo, hi }
#define ROW_U64(s, k, d, f, lo, hi) { s, k, d, CT_U64, offsetof(struct dp_conf, f), lo, hi }
#define ROW_STR(s, k, d, f)         { s, k, d, CT_STR, offsetof(struct dp_conf, f), 0, 0 }

static const struct conf_row conf_rows[] = {
	ROW_U32("ingest", "port", "0", port, 0, 1023),
	ROW_U32("ingest", "udp_port", "7311", udp_port, 1, 65535),
	{ "ingest", "address", "", CT_ADDRS, offsetof(struct dp_conf, address), 0, 0 },
	ROW_U32("ingest", "workers", "1", workers, 1, DP_MAX_WORKERS),
	ROW_U32("ingest", "burst", "32", burst, 1, 512),
	ROW_U32("ingest", "mbufs", "8191", mbufs, 2047, 1u << 22),
	ROW_U32("ingest", "max_devices", "65536", max_devices, 16, 1u << 24),
	ROW_U32("ingest", "exit_on_idle_ms", "0", exit_on_idle_ms, 0, 86400000),
	ROW_U64("ingest", "exit_after_packets", "0", exit_after_packets, 0, UINT64_MAX),
	ROW_U32("ingest", "prefault", "0", prefault, 0, 1),
	ROW_U32("ingest", "backpressure", "0", backpressure, 0, 1),
	ROW_U64("ingest", "now_ms", "0", now_ms, 0, UINT64_MAX),
	ROW_STR("keys", "file", "/etc/chot/keys", keys_file),
	ROW_U32("dedupe", "window_s", "120", dedupe_window_s, 0, 86400),
	ROW_U32("dedupe", "capacity", "1048576", dedupe_capacity, 64, 1u << 26),
	{ "redis", "url", "redis://127.0.0.1:6379", CT_URL, offsetof(struct dp_conf, redis_url), 0, 0 },
	ROW_STR("redis", "user", "", redis_user),
	ROW_STR("redis", "password_file", "", redis_password_file),
	ROW_U32("redis", "pipeline", "4096", redis_pipeline, 1, 65536),
	ROW_U32("redis", "flush_us", "200", redis_flush_us, 1, 1000000),
	ROW_U32("redis", "retention_days", "21", redis_retention_days, 1, 3650),
	ROW_U32("redis", "max_pending_events", "262144", redis_max_pending_events, 64, 1u << 26),
	ROW_U32("redis", "drain_ms", "5000", redis_drain_ms, 0, 600000),
	ROW_U32("redis", "wait_replicas", "0", redis_wait_replicas, 0, 16),
	ROW_U32("redis", "wait_timeout_ms", "1000", redis_wait_timeout_ms, 1, 60000),
	ROW_U32("alerts", "max", "1000000", alerts_max, 1, 1u << 30),
	ROW_U32("lists", "poll_ms", "500", lists_poll_ms, 10, 60000),
	ROW_STR("lists", "url", "", lists_url),
};

#define N_ROWS (sizeof(conf_rows) / sizeof(conf_rows[0]))

int
dp_conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s == '\0' || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* One "addr[/prefix]" item. */
static int
conf_parse_one_addr(char *item, struct dp_addrs *a)
{
	char *slash = strchr(item, '/');
	uint64_t plen;
	int is6 = strchr(item, ':') != NULL;

	if (slash != NULL) {
		*slash = '\0';
		if (dp_conf_parse_u64(slash + 1, 0, is6 ? 128 : 32, &plen) < 0)
			return -EINVAL;
	}
	if (is6) {
		if (a->n6 == DP_ADDR_MAX || inet_pton(AF_INET6, item, a->v6[a->n6]) != 1)
			return -EINVAL;
		a->n6++;
	} else {
		if (a->n4 == DP_ADDR_MAX || inet_pton(AF_INET, item, a->v4[a->n4]) != 1)
			return -EINVAL;
		a->n4++;
	}
	return 0;
}

int
dp_conf_parse_addrs(const char *s, struct dp_addrs *a)
{
	char buf[DP_STR_MAX];
	char *rest, *tok, *e;
	struct dp_addrs tmp = {0};

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	rest = buf;
	while (isspace((unsigned char)*rest))
		rest++;
	if (*rest == '\0') {
		*a = tmp;         /* no address: accept any destination */
		return 0;
	}
	while ((tok = strsep(&rest, ",")) != NULL) {
		while (isspace((unsigned char)*tok))
			tok++;
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (*tok == '\0' || conf_parse_one_addr(tok, &tmp) < 0)
			return -EINVAL;
	}
	*a = tmp;
	return 0;
}

/* redis.url: the one Redis URL parser (proto/redis_url.h) decides. */
int
dp_conf_check_url(const char *s)
{
	struct redis_url u;
	char why[8];

	return redis_url_parse(s, &u, why, sizeof(why)) == 0 ? 0 : -EINVAL;
}

static const struct conf_row *
conf_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < N_ROWS; i++)
		if (strcmp(conf_rows[i].section, section) == 0 &&
		    strcmp(conf_rows[i].key, key) == 0)
			return &conf_rows[i];
	return NULL;
}

static int
conf_apply(struct dp_conf *c, const struct conf_row *r, const char *value)
{
	char *field = (char *)c + r->off;
	uint64_t v;

	switch (r->type) {
	case CT_U32:
		if (dp_conf_parse_u64(value, r->min, r->max, &v) < 0)
			return -EINVAL;
		*(uint32_t *)(void *)field = (uint32_t)v;
		return 0;
	case CT_U64:
		if (dp_conf_parse_u64(value, r->min, r->max, &v) < 0)
			return -EINVAL;
		*(uint64_t *)(void *)field = v;
		return 0;
	case CT_URL:
		if (dp_conf_check_url(value) < 0)
			return -EINVAL;
		break;
	case CT_ADDRS:
		if (dp_conf_parse_addrs(value, &c->addrs) < 0)
			return -EINVAL;
		break;
	case CT_STR:
		break;
	}
	if (strlen(value) >= DP_STR_MAX)
		return -EINVAL;
	strcpy(field, value);
	return 0;
}

void
dp_conf_defaults(struct dp_conf *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < N_ROWS; i++)
		(void)conf_apply(c, &conf_rows[i], conf_rows[i].def);
}

int
dp_conf_set_kv(struct dp_conf *c, const char *section, const char *key, const char *value,
	       char *err, size_t errlen)
{
	const struct conf_row *r = conf_find(section, key);

	if (r == NULL) {
		snprintf(err, errlen, "unknown key %s.%s", section, key);
		return -ENOENT;
	}
	if (conf_apply(c, r, value) < 0) {
		struct redis_url u;
		char why[320];

		if (r->type == CT_URL && redis_url_parse(value, &u, why, sizeof(why)) != 0)
			snprintf(err, errlen, "%s.%s: %s", section, key, why);   /* no password */
		else if (r->type == CT_URL)
			snprintf(err, errlen, "%s.%s: longer than %d bytes", section, key,
				 DP_STR_MAX - 1);
		else if (r->type == CT_U32 || r->type == CT_U64)
			snprintf(err, errlen, "%s.%s: '%s' is not an integer in [%" PRIu64
				 ", %" PRIu64 "]", section, key, value, r->min, r->max);
		else
			snprintf(err, errlen, "%s.%s: invalid value '%s'", section, key, value);
		return -EINVAL;
	}
	return 0;
}

int
dp_conf_set_arg(struct dp_conf *c, const char *arg, char *err, size_t errlen)
{
	char buf[2 * DP_STR_MAX];
	char *dot, *eq;

	if (strlen(arg) >= sizeof(buf)) {
		snprintf(err, errlen, "--set argument too long");
		return -EINVAL;
	}
	strcpy(buf, arg);
	eq = strchr(buf, '=');
	dot = strchr(buf, '.');
	if (eq == NULL || dot == NULL || dot > eq) {
		snprintf(err, errlen, "--set '%s': expected section.key=value", arg);
		return -EINVAL;
	}
	*dot = '\0';
	*eq = '\0';
	return dp_conf_set_kv(c, buf, dot + 1, eq + 1, err, errlen);
}

int
dp_conf_load_file(struct dp_conf *c, const char *path, char *err, size_t errlen)
{
	struct rte_cfgfile *f;
	int nsec, i, j, rc = 0;
	char **names;

	f = rte_cfgfile_load(path, CFG_FLAG_EMPTY_VALUES);
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot read or parse", path);
		return -ENOENT;
	}
	nsec = rte_cfgfile_num_sections(f, NULL, 0);
	names = calloc(nsec > 0 ? nsec : 1, sizeof(*names));
	for (i = 0; names != NULL && i < nsec; i++)
		names[i] = calloc(1, CFG_NAME_LEN);
	if (names == NULL || rte_cfgfile_sections(f, names, nsec) != nsec) {
		snprintf(err, errlen, "%s: cannot list sections", path);
		rc = -EINVAL;
		nsec = names ? nsec : 0;
		goto out;
	}
	for (i = 0; i < nsec && rc == 0; i++) {
		int n = rte_cfgfile_section_num_entries(f, names[i]);
		struct rte_cfgfile_entry *e = calloc(n > 0 ? n : 1, sizeof(*e));

		if (e == NULL || rte_cfgfile_section_entries(f, names[i], e, n) != n) {
			snprintf(err, errlen, "%s: cannot read section [%s]", path, names[i]);
			rc = -EINVAL;
		}
		for (j = 0; rc == 0 && j < n; j++) {
			char sub[DP_STR_MAX];

			rc = dp_conf_set_kv(c, names[i], e[j].name, e[j].value, sub, sizeof(sub));
			if (rc < 0) {
				snprintf(err, errlen, "%s: %s", path, sub);
				rc = -EINVAL;
			}
		}
		free(e);
	}
out:
	if (names != NULL) {
		for (i = 0; i < nsec; i++)
			free(names[i]);
		free(names);
	}
	rte_cfgfile_close(f);
	return rc;
}

int
dp_conf_check(const struct dp_conf *c, char *err, size_t errlen)
{
	if (c->redis_password_file[0] != '\0' && c->redis_user[0] == '\0') {
		snprintf(err, errlen, "redis.password_file needs redis.user");
		return -EINVAL;
	}
	if (c->redis_max_pending_events < 128) {
		snprintf(err, errlen, "redis.max_pending_events must hold two full batches");
		return -EINVAL;
	}
	return 0;
}

void
dp_conf_visit(const struct dp_conf *c, dp_conf_visit_fn fn, void *ctx)
{
	char name[64], val[DP_STR_MAX];
	size_t i;

	for (i = 0; i < N_ROWS; i++) {
		const struct conf_row *r = &conf_rows[i];
		const char *field = (const char *)c + r->off;

		snprintf(name, sizeof(name), "%s.%s", r->section, r->key);
		if (r->type == CT_U32)
			snprintf(val, sizeof(val), "%" PRIu32, *(const uint32_t *)(const void *)field);
		else if (r->type == CT_U64)
			snprintf(val, sizeof(val), "%" PRIu64, *(const uint64_t *)(const void *)field);
		else
			snprintf(val, sizeof(val), "%s", field);
		fn(ctx, name, val);
	}
}
