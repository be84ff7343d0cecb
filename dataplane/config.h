/*
 * chotd configuration (DESIGN §3): one struct filled from a table of
 * {section, key, default, validator, offset} rows, first with the defaults,
 * then from an INI file read with rte_cfgfile, then from `--set
 * section.key=value` overrides, in that order.  Unknown sections or keys are
 * errors (a typo in a config must not silently fall back to a default).
 *
 * Everything here is pure (rte_cfgfile is a plain library, it needs no EAL),
 * so the validators are unit-tested without EAL.
 */
#ifndef CHOT_DP_CONFIG_H
#define CHOT_DP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define DP_ADDR_MAX    8
#define DP_STR_MAX     256
#define DP_MAX_WORKERS 16

/* The appliance's addresses (ingest.address), host parts only. */
struct dp_addrs {
	unsigned n4, n6;
	uint8_t v4[DP_ADDR_MAX][4];
	uint8_t v6[DP_ADDR_MAX][16];
};

struct dp_conf {
	/* [ingest] */
	uint32_t port;
	uint32_t udp_port;
	char address[DP_STR_MAX];
	struct dp_addrs addrs;        /* parsed from address */
	uint32_t workers;
	uint32_t burst;
	uint32_t mbufs;               /* mbuf pool size (net_pcap infinite_rx needs > capture) */
	uint32_t max_devices;         /* per worker */
	uint32_t exit_on_idle_ms;     /* 0 = run until signalled */
	uint64_t exit_after_packets;  /* stop after this many received; 0 = off */
	uint32_t prefault;            /* touch all EAL memory at start (no hugepages) */
	uint32_t backpressure;        /* stop polling the port while the store is half full */
	uint64_t now_ms;              /* 0 = wall clock; else a fixed clock (tests) */
	/* [keys] */
	char keys_file[DP_STR_MAX];
	/* [dedupe] */
	uint32_t dedupe_window_s;
	uint32_t dedupe_capacity;
	/* [redis] */
	char redis_url[DP_STR_MAX];
	char redis_user[DP_STR_MAX];
	char redis_password_file[DP_STR_MAX];
	uint32_t redis_pipeline;
	uint32_t redis_flush_us;
	uint32_t redis_retention_days;
	uint32_t redis_max_pending_events;
	uint32_t redis_drain_ms;
	uint32_t redis_wait_replicas;   /* > 0: confirmed only after WAIT (DESIGN §8) */
	uint32_t redis_wait_timeout_ms;
	/* [alerts], [lists] (DESIGN §9) */
	uint32_t alerts_max;          /* XADD chot:{alerts} MAXLEN ~ alerts.max */
	uint32_t lists_poll_ms;       /* how often the lists loader reads the version key */
	char lists_url[DP_STR_MAX];   /* where the lists are read; "" = redis.url */
};

/* Fill every key with its default. Always succeeds. */
void dp_conf_defaults(struct dp_conf *c);

/*
 * Set one key from text.  Returns 0, -ENOENT (unknown section.key) or
 * -EINVAL (value refused by the key's validator); err gets one line.
 */
int dp_conf_set_kv(struct dp_conf *c, const char *section, const char *key,
		   const char *value, char *err, size_t errlen);

/* Apply "section.key=value" (a --set argument). 0, -EINVAL, -ENOENT. */
int dp_conf_set_arg(struct dp_conf *c, const char *arg, char *err, size_t errlen);

/* Load an INI file (rte_cfgfile) over *c. 0, -ENOENT, -EINVAL. */
int dp_conf_load_file(struct dp_conf *c, const char *path, char *err, size_t errlen);

/* Cross-key checks after everything is applied. 0 or -EINVAL. */
int dp_conf_check(const struct dp_conf *c, char *err, size_t errlen);

/* Validators (exported for the unit tests). 0 or -EINVAL. */
int dp_conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int dp_conf_parse_addrs(const char *s, struct dp_addrs *a);
int dp_conf_check_url(const char *s);

/* Call fn for every key (name "section.key", current value as text). */
typedef void (*dp_conf_visit_fn)(void *ctx, const char *name, const char *value);
void dp_conf_visit(const struct dp_conf *c, dp_conf_visit_fn fn, void *ctx);

#endif /* CHOT_DP_CONFIG_H */
