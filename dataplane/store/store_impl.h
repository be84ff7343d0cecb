/*
 * Inside the store: the ops table each backend fills in, and URL parsing.
 * dp_store_create() parses the URL once and picks the backend; nothing on
 * the per-batch path asks which backend it is talking to.
 */
#ifndef CHOT_DP_STORE_IMPL_H
#define CHOT_DP_STORE_IMPL_H

#include "ratelimit.h"
#include "store.h"

#define STORE_LOG_BURST 10          /* log lines a second, per store */

enum store_kind { STORE_NULL, STORE_TCP, STORE_UNIX };

struct store_url {
	enum store_kind kind;
	char host[256];      /* TCP host, or the unix socket path */
	int port;
	char user[128];      /* from the URL's userinfo, may be empty */
	char password[256];
};

/* Parse url; 0 or -EINVAL with a reason in err. cluster:// is refused (not built yet). */
int store_url_parse(const char *url, struct store_url *out, char *err, size_t errlen);

struct store_ops {
	int (*submit)(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs,
		      unsigned n);
	void (*poll)(struct dp_store *s, uint64_t now_us);
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
struct dp_store *store_redis_create(const struct dp_store_conf *conf, const struct store_url *u);
struct redis_url;
struct dp_store *store_cluster_create(const struct dp_store_conf *conf, const struct redis_url *u);
int store_cluster_check(const struct dp_store_conf *conf, const struct redis_url *u,
			unsigned timeout_ms, char *err, size_t errlen);
int store_redis_check(const struct dp_store_conf *conf, const struct store_url *u,
		      unsigned timeout_ms, char *err, size_t errlen);

#endif /* CHOT_DP_STORE_IMPL_H */
