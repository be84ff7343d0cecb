/*
 * The fixture of test_store_redis.c: a private redis-server a test
 * (redis_server.h), synthetic scan events, a Redis store writing them, a
 * tally of its completions, and redis-cli style reads that check what
 * landed in Redis against proto/layout.h.
 *
 * The .init functions start the server (and choose the store's write mode);
 * .fini stops it.  Criterion runs each test in its own process, so the
 * shared state below is one test's.  Every helper asserts (cr_assert) on
 * anything unexpected rather than returning an error.
 */
#ifndef CHOT_TEST_STORE_REDIS_FIXTURE_H
#define CHOT_TEST_STORE_REDIS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_server.h"
#include "store.h"

#define RETENTION_DAYS 14

/* This test's redis-server (started by the .init functions below). */
extern struct rsrv srv;
/* The store writes with CHOT.APPEND (dp_store_conf chot_append): the
 * store_redis_chot tests, set by their .init (one process a test). */
extern bool chot_mode;
/* The vault key every store is created with; verify() opens with it. */
extern const uint8_t vkey[32];
/* The unix socket setup_unix() has redis-server listen on. */
extern char sock_path[108];

struct gen_event {
	struct dp_store_event se;
	struct scan_event ev;
};

struct tally {
	unsigned ncookies;
	unsigned *done;      /* completions per cookie */
	unsigned total, failed;
};

/* .init / .fini: start redis-server as is, with appendfsync always (the
 * SIGKILL tests), in CHOT.APPEND mode, or listening on sock_path too. */
void setup(void);
void setup_fsync_always(void);
void setup_chot(void);
void setup_fsync_always_chot(void);
void setup_unix(void);
void teardown(void);
void teardown_unix(void);

/* A dp_store_done_fn counting into the struct tally ctx. */
void on_done(void *ctx, uint64_t cookie, int status);
void tally_init(struct tally *t, unsigned ncookies);
/* Each cookie in [from, to) completed exactly once, none with an error. */
void assert_each_once(const struct tally *t, unsigned from, unsigned to);

/* xorshift64, fixed seed: the same events every run. */
uint64_t rng(void);

/* Subject subj at site, time ts_ms; vault: the event writes the vault unit. */
void make_event(struct gen_event *g, unsigned subj, uint32_t site, uint64_t ts_ms, bool vault);
/* n events (calloc'd), unique timestamps, nsubj subjects, nsites sites, within 6 h. */
struct gen_event *gen_simple(unsigned n, unsigned nsubj, unsigned nsites);
/* evs[0..k) point at g[0..k). */
void batch_events(struct dp_store_event *evs, const struct gen_event *g, unsigned k);

/* A store on srv as user/pw, completions into t (asserts it is created). */
struct dp_store *make_store(const char *user, const char *pw, unsigned max_pending,
			    struct tally *t);
/* Submit events [0, n) in batches of 64; cookie = first + batch index; the batch count. */
unsigned submit_all(struct dp_store *s, struct gen_event *g, unsigned n, uint64_t first);
/* Poll s until t has want_total completions or timeout_ms passes: whether it got them. */
bool run_until(struct dp_store *s, struct tally *t, unsigned want_total, unsigned timeout_ms);

/* SIGKILL srv, remove its AOF and start it again: a Redis that lost every key. */
void restart_empty(void);

/* An admin connection to srv (asserts it logs in). */
redisContext *admin_login(void);
/* An integer reply (asserted to be one). */
long long int_reply(redisContext *c, const char *fmt, ...);
/* CONFIG SET name value, asserted OK. */
void config_set(redisContext *c, const char *name, const char *value);
/* INFO memory's used_memory. */
long long used_memory(redisContext *c);
/* How many times Redis has run a command (INFO commandstats). */
long long command_calls(redisContext *c, const char *name);
long long expireat_calls(redisContext *c);
/* A key's value (GET): its records, raw; NULL if the key is missing.  Keys
 * are binary (layout.h).  A week key's vault unit is split off into vault. */
redisReply *get_records(redisContext *c, const char *key, size_t kl, size_t rec_len,
			uint8_t *vault, size_t *vault_len);
/* Is rec one of the records of key? */
bool has_record(redisContext *c, const char *key, size_t kl, const uint8_t *rec,
		size_t rec_len);
/* Every event's two records are there, keys expire where layout.h says,
 * and each vault unit opens to its subject. */
void verify(redisContext *c, const struct gen_event *g, unsigned n);
/* Records over the keys matching pattern, as a reader sees them (distinct
 * per key); *raw (if not NULL) gets the records at rest, duplicates included. */
long long total_members(redisContext *c, const char *pattern, long long *raw);

#endif
