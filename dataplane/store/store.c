/*
 * dp_store: the front of the store (store.h).  It parses redis.url once,
 * builds the backend that URL names and then only calls through its ops
 * table.  It also owns the store's logging: every line goes through one
 * rate limiter per store (ratelimit.h) to the caller's hook (chotd's
 * logtype) or to stderr, so a Redis outage is logged for as long as it
 * lasts without flooding the log.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "store_impl.h"

static void
store_emit(dp_store_log_fn log, void *ctx, int level, const char *line)
{
	if (log != NULL)
		log(ctx, level, line);
	else
		fprintf(stderr, "chotd: %s\n", line);
}

void
store_log(struct dp_store *s, int level, const char *fmt, ...)
{
	char line[512];
	uint64_t suppressed;
	va_list ap;

	if (!dp_ratelimit_allow(&s->log_rl, s->now_us, &suppressed))
		return;
	if (suppressed > 0) {
		snprintf(line, sizeof(line), "store: (%lu messages suppressed)",
			 (unsigned long)suppressed);
		store_emit(s->log, s->log_ctx, DP_STORE_LOG_WARNING, line);
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	store_emit(s->log, s->log_ctx, level, line);
}

/*
 * Parse redis.url (proto/redis_url.h) and refuse what this store does not
 * do.  0 or -EINVAL with the reason in err (never the password).
 */
static int
store_parse_url(const char *url, struct redis_url *u, char *err, size_t errlen)
{
	char shown[320];

	if (redis_url_parse(url, u, err, errlen) != 0)
		return -EINVAL;
	redis_url_redact(url, shown, sizeof(shown));
	if (u->kind == REDIS_URL_TCP && u->db != 0) {
		snprintf(err, errlen, "%s: chotd writes database 0 only (the key layout is "
			 "cluster-safe, and a cluster has no other); drop the /%u", shown, u->db);
		return -EINVAL;
	}
	return 0;
}

struct dp_store *
dp_store_create(const struct dp_store_conf *conf, dp_store_done_fn done, void *ctx)
{
	struct redis_url u;
	struct dp_store *s;
	char err[512], line[540];

	if (store_parse_url(conf->url, &u, err, sizeof(err)) != 0) {
		snprintf(line, sizeof(line), "store: %s", err);
		store_emit(conf->log, conf->log_ctx, DP_STORE_LOG_ERR, line);
		errno = EINVAL;
		return NULL;
	}
	s = u.kind == REDIS_URL_NULL      ? store_null_create(conf)
	    : u.kind == REDIS_URL_CLUSTER ? store_cluster_create(conf, &u)
					  : store_redis_create(conf, &u);
	explicit_bzero(&u, sizeof(u));
	if (s == NULL)
		return NULL;
	s->done = done;
	s->ctx = ctx;
	s->log = conf->log;
	s->log_ctx = conf->log_ctx;
	dp_ratelimit_init(&s->log_rl, STORE_LOG_BURST, 1000000);
	return s;
}

void
dp_store_destroy(struct dp_store *s)
{
	if (s != NULL)
		s->ops->destroy(s);
}

int
dp_store_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs, unsigned n)
{
	return s->ops->submit(s, cookie, evs, n);
}

void
dp_store_poll(struct dp_store *s, uint64_t now_us)
{
	uint64_t n;

	s->now_us = now_us;
	n = dp_ratelimit_flush(&s->log_rl, now_us);
	if (n > 0) {
		char line[64];

		snprintf(line, sizeof(line), "store: (%lu messages suppressed)", (unsigned long)n);
		store_emit(s->log, s->log_ctx, DP_STORE_LOG_WARNING, line);
	}
	s->ops->poll(s, now_us);
}

void
dp_store_wait(struct dp_store *s, unsigned max_us)
{
	if (s->ops->wait != NULL)
		s->ops->wait(s, max_us);
}

void
dp_store_abandon(struct dp_store *s)
{
	s->ops->abandon(s);
}

void
dp_store_get_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	memset(st, 0, sizeof(*st));
	s->ops->stats(s, st);
}

int
dp_store_check_caps(const struct dp_store_conf *conf, unsigned timeout_ms,
		    struct dp_store_caps *caps, char *err, size_t errlen)
{
	struct dp_store_caps none;
	struct redis_url u;
	int rc;

	if (caps == NULL)
		caps = &none;
	caps->chot_append = false;
	snprintf(caps->why, sizeof(caps->why), "not probed");
	if (store_parse_url(conf->url, &u, err, errlen) != 0)
		return -EINVAL;
	if (u.kind == REDIS_URL_NULL)
		return 0;
	/* Cleared by the first server without it (store_redis_check). */
	caps->chot_append = true;
	snprintf(caps->why, sizeof(caps->why), "the server runs CHOT.APPEND");
	if (u.kind == REDIS_URL_CLUSTER)
		rc = store_cluster_check(conf, &u, timeout_ms, caps, err, errlen);
	else
		rc = store_redis_check(conf, &u, timeout_ms, caps, err, errlen);
	if (rc != 0)
		caps->chot_append = false;
	return rc;
}

int
dp_store_check(const struct dp_store_conf *conf, unsigned timeout_ms, char *err, size_t errlen)
{
	return dp_store_check_caps(conf, timeout_ms, NULL, err, errlen);
}

uint64_t
dp_store_drain(struct dp_store *s, unsigned timeout_ms)
{
	uint64_t deadline = chot_mono_us() + (uint64_t)timeout_ms * 1000;
	struct dp_store_stats st;

	for (;;) {
		uint64_t now = chot_mono_us();

		dp_store_poll(s, now);
		s->ops->stats(s, &st);
		if (st.events_pending == 0 || now >= deadline)
			return st.events_pending;
		usleep(500);
	}
}
