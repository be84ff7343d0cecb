/*
 * Inside the store: the ops table each backend fills in.
 * dp_store_create() parses the URL once and picks the backend; nothing on
 * the per-batch path asks which backend it is talking to.
 */
#ifndef CHOT_DP_STORE_IMPL_H
#define CHOT_DP_STORE_IMPL_H

#include "ratelimit.h"
#include "redis_url.h"
#include "store.h"

#define STORE_LOG_BURST 10          /* log lines a second, per store */

/*
 * redis.url is parsed by the one Redis URL parser (proto/redis_url.h);
 * store.c then refuses what this store cannot do (a db other than 0) and
 * hands the backend the parsed URL: null://, redis:// and unix:// to
 * store_null.c / store_redis.c, cluster:// to store_cluster.c.
 */

struct store_ops {
	int (*submit)(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs,
		      unsigned n);
	void (*poll)(struct dp_store *s, uint64_t now_us);
	void (*wait)(struct dp_store *s, unsigned max_us);   /* may be NULL */
	void (*stats)(const struct dp_store *s, struct dp_store_stats *st);
	void (*abandon)(struct dp_store *s);
	void (*destroy)(struct dp_store *s);
};

/* Every backend's struct starts with this. */
struct dp_store {
	const struct store_ops *ops;
	dp_store_done_fn done;
	void *ctx;
	dp_store_log_fn log;
	void *log_ctx;
	struct dp_ratelimit log_rl;
	uint64_t now_us;            /* of the last dp_store_poll: the log clock */
};

/* Log one line through the store's hook, rate limited (store.h). */
void store_log(struct dp_store *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct dp_store *store_null_create(const struct dp_store_conf *conf);
struct dp_store *store_redis_create(const struct dp_store_conf *conf, const struct redis_url *u);
/* caps is never NULL; on a cluster, called once a master, it only clears
 * caps->chot_append (store_cluster_check sets it before the first). */
int store_redis_check(const struct dp_store_conf *conf, const struct redis_url *u,
		      unsigned timeout_ms, struct dp_store_caps *caps, char *err, size_t errlen);
struct dp_store *store_cluster_create(const struct dp_store_conf *conf, const struct redis_url *u);
int store_cluster_check(const struct dp_store_conf *conf, const struct redis_url *u,
			unsigned timeout_ms, struct dp_store_caps *caps, char *err, size_t errlen);

#endif /* CHOT_DP_STORE_IMPL_H */
