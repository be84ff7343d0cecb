/*
 * null:// — discard after dedupe and complete at once (DESIGN §3), so the
 * pipeline can be measured without Redis.
 */
#include <stdlib.h>

#include "store_impl.h"

struct store_null {
	struct dp_store base;
	uint64_t batches;
};

static int
null_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs, unsigned n)
{
	(void)evs;
	(void)n;
	((struct store_null *)s)->batches++;
	s->done(s->ctx, cookie, 0);
	return 0;
}

static void
null_poll(struct dp_store *s, uint64_t now_us)
{
	(void)s;
	(void)now_us;
}

static void
null_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	(void)s;
	*st = (struct dp_store_stats){ .connected = true };
}

static void
null_abandon(struct dp_store *s)
{
	(void)s;    /* every batch completed inside submit */
}

static void
null_destroy(struct dp_store *s)
{
	free(s);
}

static const struct store_ops null_ops = {
	.submit = null_submit, .poll = null_poll, .stats = null_stats, .abandon = null_abandon,
	.destroy = null_destroy,
};

struct dp_store *
store_null_create(const struct dp_store_conf *conf)
{
	struct store_null *s = calloc(1, sizeof(*s));

	(void)conf;
	if (s == NULL)
		return NULL;
	s->base.ops = &null_ops;
	return &s->base;
}
