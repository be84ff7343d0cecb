/*
 * dp_store: the front of the store (store.h).  It parses redis.url once,
 * builds the backend that URL names and then only calls through its ops
 * table.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "store_impl.h"

struct dp_store *
dp_store_create(const struct dp_store_conf *conf, dp_store_done_fn done, void *ctx)
{
	struct store_url u;
	struct dp_store *s;
	char err[256];

	if (store_url_parse(conf->url, &u, err, sizeof(err)) != 0) {
		fprintf(stderr, "chotd: store: %s\n", err);
		errno = EINVAL;
		return NULL;
	}
	s = u.kind == STORE_NULL ? store_null_create(conf) : store_redis_create(conf, &u);
	if (s == NULL)
		return NULL;
	s->done = done;
	s->ctx = ctx;
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
	s->ops->poll(s, now_us);
}

void
dp_store_get_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	s->ops->stats(s, st);
}

static uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t
dp_store_drain(struct dp_store *s, unsigned timeout_ms)
{
	uint64_t deadline = mono_us() + (uint64_t)timeout_ms * 1000;
	struct dp_store_stats st;

	for (;;) {
		uint64_t now = mono_us();

		s->ops->poll(s, now);
		s->ops->stats(s, &st);
		if (st.events_pending == 0 || now >= deadline)
			return st.events_pending;
		usleep(500);
	}
}
