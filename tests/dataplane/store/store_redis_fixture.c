/*
 * The fixture of test_store_redis.c (store_redis_fixture.h): the server's
 * set-up and teardown, event generation, the store and its completions, and
 * the reads that check Redis's contents record by record.  What a test
 * asserts about the store is in the test; what "the records are all there"
 * means (verify, total_members) is here, once, for every test.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "layout.h"
#include "store_redis_fixture.h"
#include "vault.h"

struct rsrv srv;
bool chot_mode;
const uint8_t vkey[32] = { 7, 7, 7 };
char sock_path[108];

void
setup(void)
{
	int rc = rsrv_start(&srv);

	cr_assert_eq(rc, 0, "redis-server should start (rc %d, dir %s)", rc, srv.dir);
}

void
setup_fsync_always(void)
{
	/* A SIGKILL test: with everysec Redis may reply before write(2) of the
	 * AOF in rare cases; `always` makes "replied OK" mean "in the AOF". */
	srv.extra[0] = "--appendfsync";
	srv.extra[1] = "always";
	setup();
}

void
setup_chot(void)
{
	chot_mode = true;
	setup();
}

/* The restart replays CHOT.APPENDs from the AOF: the module loads first. */
void
setup_fsync_always_chot(void)
{
	chot_mode = true;
	setup_fsync_always();
}

void
setup_unix(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/chot-store-test-%d.sock", (int)getpid());
	srv.extra[0] = "--unixsocket";
	srv.extra[1] = sock_path;
	setup();
}

void
teardown(void)
{
	rsrv_cleanup(&srv);
}

void
teardown_unix(void)
{
	teardown();
	unlink(sock_path);
}

void
on_done(void *ctx, uint64_t cookie, int status)
{
	struct tally *t = ctx;

	if (cookie < t->ncookies)
		t->done[cookie]++;
	t->total++;
	if (status != 0)
		t->failed++;
}

void
tally_init(struct tally *t, unsigned ncookies)
{
	memset(t, 0, sizeof(*t));
	t->ncookies = ncookies;
	t->done = calloc(ncookies, sizeof(unsigned));
}

void
assert_each_once(const struct tally *t, unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++)
		cr_assert_eq(t->done[i], 1, "batch %u completed %u times, expected once", i,
			     t->done[i]);
	cr_assert_eq(t->failed, 0, "no batch may complete with an error status");
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Subject j: pid = j in the first bytes, a 12-digit CCCD subject. */
void
make_event(struct gen_event *g, unsigned subj, uint32_t site, uint64_t ts_ms, bool vault)
{
	memset(g, 0, sizeof(*g));
	memset(g->se.pid, 0xa5, PID_LEN);
	memcpy(g->se.pid, &subj, sizeof(subj));
	g->ev.ts_ms = ts_ms;
	g->ev.site_id = site;
	g->ev.scheme = 1;
	g->ev.dir = (uint8_t)(ts_ms & 1);
	g->ev.subject_len = 12;
	snprintf(g->ev.subject, sizeof(g->ev.subject), "%012u", subj);
	g->se.write_vault = vault;
}

/* Each subject's first event writes its vault unit. */
struct gen_event *
gen_simple(unsigned n, unsigned nsubj, unsigned nsites)
{
	struct gen_event *g = calloc(n, sizeof(*g));
	uint64_t base = (uint64_t)time(NULL) * 1000 - 6 * LAYOUT_HOUR_MS;
	bool *seen = calloc(nsubj, sizeof(bool));

	for (unsigned i = 0; i < n; i++) {
		unsigned s = (unsigned)(rng() % nsubj);

		make_event(&g[i], s, 1 + (uint32_t)(rng() % nsites), base + (uint64_t)i * 2000 + 1,
			   !seen[s]);
		seen[s] = true;
	}
	free(seen);
	return g;
}

void
batch_events(struct dp_store_event *evs, const struct gen_event *g, unsigned k)
{
	for (unsigned j = 0; j < k; j++) {
		evs[j] = g[j].se;
		evs[j].ev = &g[j].ev;
	}
}

struct dp_store *
make_store(const char *user, const char *pw, unsigned max_pending, struct tally *t)
{
	struct dp_store_conf conf = {
		.pipeline = 64, .flush_us = 200, .retention_days = RETENTION_DAYS,
		.max_pending_events = max_pending, .vault_key = vkey,
		.chot_append = chot_mode,
	};
	static char url[256];
	struct dp_store *s;

	rsrv_url(&srv, user, pw, url, sizeof(url));
	conf.url = url;
	s = dp_store_create(&conf, on_done, t);
	cr_assert_not_null(s, "dp_store_create(%s) should succeed", url);
	return s;
}

unsigned
submit_all(struct dp_store *s, struct gen_event *g, unsigned n, uint64_t first)
{
	struct dp_store_event evs[WIRE_MAX_EVENTS];
	unsigned b = 0;

	for (unsigned i = 0; i < n; i += WIRE_MAX_EVENTS, b++) {
		unsigned k = n - i < WIRE_MAX_EVENTS ? n - i : WIRE_MAX_EVENTS;

		batch_events(evs, &g[i], k);
		cr_assert_eq(dp_store_submit(s, first + b, evs, k), 0, "submit of batch %u", b);
	}
	return b;
}

bool
run_until(struct dp_store *s, struct tally *t, unsigned want_total, unsigned timeout_ms)
{
	uint64_t end = chot_mono_us() + (uint64_t)timeout_ms * 1000;

	while (t->total < want_total && chot_mono_us() < end) {
		dp_store_poll(s, chot_mono_us());
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	return t->total >= want_total;
}

void
restart_empty(void)
{
	char cmd[600];

	rsrv_kill(&srv, SIGKILL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/appendonlydir'", srv.dir);
	cr_assert_eq(system(cmd), 0);
	cr_assert_eq(rsrv_restart(&srv), 0, "redis-server restarts empty");
}

redisContext *
admin_login(void)
{
	redisContext *c = rsrv_login(&srv, "chot-admin", RSRV_ADMIN_PW);

	cr_assert_not_null(c, "chot-admin logs in");
	return c;
}

long long
int_reply(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	long long v;

	va_start(ap, fmt);
	r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "reply to %s", fmt);
	cr_assert_eq(r->type, REDIS_REPLY_INTEGER, "%s: integer expected (%s)", fmt,
		     r->type == REDIS_REPLY_ERROR ? r->str : "?");
	v = r->integer;
	freeReplyObject(r);
	return v;
}

void
config_set(redisContext *c, const char *name, const char *value)
{
	redisReply *r = redisCommand(c, "CONFIG SET %s %s", name, value);

	cr_assert(r != NULL && r->type == REDIS_REPLY_STATUS, "CONFIG SET %s %s", name, value);
	freeReplyObject(r);
}

long long
used_memory(redisContext *c)
{
	redisReply *r = redisCommand(c, "INFO memory");
	const char *p;
	long long v;

	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "INFO memory");
	p = strstr(r->str, "used_memory:");
	cr_assert_not_null(p, "INFO memory has used_memory");
	v = atoll(p + strlen("used_memory:"));
	freeReplyObject(r);
	return v;
}

long long
command_calls(redisContext *c, const char *name)
{
	redisReply *r = redisCommand(c, "INFO commandstats");
	char field[64];
	const char *p;
	long long v = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_STRING, "INFO commandstats");
	snprintf(field, sizeof(field), "cmdstat_%s:calls=", name);
	p = strstr(r->str, field);
	if (p != NULL)
		v = atoll(p + strlen(field));
	freeReplyObject(r);
	return v;
}

long long
expireat_calls(redisContext *c)
{
	return command_calls(c, "expireat");
}

redisReply *
get_records(redisContext *c, const char *key, size_t kl, size_t rec_len, uint8_t *vault,
	    size_t *vault_len)
{
	redisReply *r = redisCommand(c, "GET %b", key, kl);
	char kt[LAYOUT_KEY_TEXT_MAX];
	long ev;

	layout_key_text(kt, key, kl);
	cr_assert_not_null(r, "GET %s", kt);
	if (r->type == REDIS_REPLY_NIL) {
		freeReplyObject(r);
		return NULL;
	}
	cr_assert_eq(r->type, REDIS_REPLY_STRING, "%s: a string", kt);
	cr_assert_eq(r->len % rec_len, 0, "%s: %zu bytes, not whole %zu-byte records", kt,
		     r->len, rec_len);
	if (rec_len == LAYOUT_SUBJECT_RECORD_LEN) {   /* a week key: its vault unit out */
		ev = layout_subject_split((uint8_t *)r->str, r->len, vault, vault_len);
		cr_assert_geq(ev, 0, "%s: a malformed vault unit", kt);
		r->len = (size_t)ev;
	}
	return r;
}

bool
has_record(redisContext *c, const char *key, size_t kl, const uint8_t *rec, size_t rec_len)
{
	redisReply *r = get_records(c, key, kl, rec_len, NULL, NULL);
	bool found = false;

	for (size_t off = 0; r != NULL && off < r->len && !found; off += rec_len)
		found = memcmp(r->str + off, rec, rec_len) == 0;
	freeReplyObject(r);
	return found;
}

void
verify(redisContext *c, const struct gen_event *g, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct scan_event *ev = &g[i].ev;
		uint8_t sm[LAYOUT_SUBJECT_MEMBER_LEN], pm[LAYOUT_SITE_MEMBER_LEN];
		char skey[LAYOUT_KEY_MAX], sk[LAYOUT_KEY_TEXT_MAX], pk[LAYOUT_KEY_MAX];
		size_t skl = layout_subject_key(skey, g[i].se.pid, layout_week(ev->ts_ms));
		size_t pkl = layout_site_key(pk, ev->site_id, layout_block(ev->ts_ms));

		layout_key_text(sk, skey, skl);    /* for messages: the key is binary */
		layout_subject_member(sm, ev->site_id, ev->ts_ms, ev->dir);
		layout_site_member(pm, g[i].se.pid, ev->ts_ms, ev->dir);
		cr_assert(has_record(c, skey, skl, sm, sizeof(sm)), "event %u: %s record missing", i,
			  sk);
		cr_assert(has_record(c, pk, pkl, pm, sizeof(pm)), "event %u: %s record missing", i,
			  pk);
		cr_assert_eq((uint64_t)int_reply(c, "EXPIRETIME %b", skey, skl),
			     layout_week_expire_at(layout_week(ev->ts_ms), RETENTION_DAYS),
			     "%s expiry", sk);
		cr_assert_eq((uint64_t)int_reply(c, "EXPIRETIME %s", pk),
			     layout_block_expire_at(layout_block(ev->ts_ms), RETENTION_DAYS),
			     "%s expiry", pk);
		if (g[i].se.write_vault) {
			/* The vault unit in the event's week key (layout.h), living with it */
			uint8_t sealed[LAYOUT_VAULT_MAX], scheme = 0;
			char subj[WIRE_SUBJECT_MAX_NUL];
			size_t sl = 0;
			redisReply *r = get_records(c, skey, skl, LAYOUT_SUBJECT_RECORD_LEN, sealed,
						    &sl);

			cr_assert(r != NULL && sl > 0, "%s: no vault unit", sk);
			cr_assert_eq(vault_open(sealed, sl, vkey, g[i].se.pid, &scheme, subj),
				     (int)ev->subject_len, "%s's unit must open to the subject's length",
				     sk);
			cr_assert_eq(scheme, ev->scheme, "%s scheme", sk);
			cr_assert_str_eq(subj, ev->subject, "%s holds the subject", sk);
			freeReplyObject(r);
		}
	}
}

long long
total_members(redisContext *c, const char *pattern, long long *raw)
{
	size_t rec_len = pattern[0] == 's' ? LAYOUT_SUBJECT_RECORD_LEN : LAYOUT_SITE_RECORD_LEN;
	redisReply *r = redisCommand(c, "KEYS %s", pattern);
	long long sum = 0, all = 0;

	cr_assert(r != NULL && r->type == REDIS_REPLY_ARRAY, "KEYS %s", pattern);
	for (size_t i = 0; i < r->elements; i++) {
		redisReply *k = r->element[i];
		redisReply *v = get_records(c, k->str, k->len, rec_len, NULL, NULL);
		long kept;

		cr_assert_not_null(v, "key %zu of %s vanished", i, pattern);
		all += (long long)(v->len / rec_len);
		kept = layout_records_unique((uint8_t *)v->str, v->len, rec_len, NULL);
		cr_assert_geq(kept, 1, "key %zu of %s: records", i, pattern);
		sum += kept;
		freeReplyObject(v);
	}
	freeReplyObject(r);
	if (raw != NULL)
		*raw = all;
	return sum;
}
