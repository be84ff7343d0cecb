/*
 * A long-lived chotctl Redis client for the tests (test_map_age.py): one
 * ctl_redis_open() (control/redis.c, the client every chotctl command
 * uses) kept open while the test reshards the cluster around it.
 *
 * usage: redis_repl URL USER PASSFILE
 *
 * Each stdin line is one command, its words split on blanks; the answer is
 * one stdout line:
 *
 *   ok N <first string>|<integer>   N strings in the reply
 *   err <text>                      an error reply (MOVED is never one:
 *                                   the client follows it)
 *   fail <text>                     the call failed (connection, timeout)
 *
 * followed by "refreshes R calls C" (ctl_redis_map_refreshes, _calls).
 * An empty line prints only the counters.  EOF ends it (exit 0).
 *
 * `!values SITE0 NSITES BLOCK0 NBLOCKS GETS` reads the presence keys
 * p:{site}:b<block> of those sites and blocks, in (site, block) order as
 * the trace asks them, with ctl_redis_values_stream (GETS 1: one GET a key,
 * the path MGET is checked against; 0: MGETs) and answers
 *
 *   values rc RC done D values V digest HEX err TEXT
 *
 * the digest an FNV-1a 64 of "v<i>:<value>" per value handed over and
 * "d<i>;" per key done, in the order the callbacks saw them
 * (test_values_mget.py computes the same from its own GETs).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "redis.h"
#include "redis_int.h"

#define REPL_ARGS 16

static void
counters(const struct ctl_redis *r)
{
	printf("refreshes %llu calls %llu\n", (unsigned long long)ctl_redis_map_refreshes(r),
	       (unsigned long long)ctl_redis_calls(r));
	fflush(stdout);
}

struct values_run {
	uint32_t site0, nblocks, block0;
	size_t done, values;
	uint64_t h;
};

static void
fnv(struct values_run *v, const void *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		v->h = (v->h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ULL;
}

static size_t
values_key(void *ctx, size_t i, char *buf, size_t cap)
{
	struct values_run *v = ctx;

	if (cap < LAYOUT_KEY_MAX)
		return 0;
	return layout_site_key(buf, v->site0 + (uint32_t)(i / v->nblocks),
			       v->block0 + (uint32_t)(i % v->nblocks));
}

static int
values_got(void *ctx, size_t i, const uint8_t *recs, size_t n)
{
	struct values_run *v = ctx;
	char t[32];

	fnv(v, t, (size_t)snprintf(t, sizeof(t), "v%zu:", i));
	fnv(v, recs, n * LAYOUT_SITE_RECORD_LEN);
	v->values++;
	return 0;
}

static int
values_done(void *ctx, size_t i)
{
	struct values_run *v = ctx;
	char t[32];

	fnv(v, t, (size_t)snprintf(t, sizeof(t), "d%zu;", i));
	v->done++;
	return 0;
}

/* `!values SITE0 NSITES BLOCK0 NBLOCKS GETS` (see the top). */
static void
values_cmd(struct ctl_redis *r, int ac, const char *const *av)
{
	struct values_run v = { .h = 0xcbf29ce484222325ULL };
	char err[512] = "";
	uint32_t nsites;
	int rc;

	if (ac != 6) {
		printf("fail usage: !values SITE0 NSITES BLOCK0 NBLOCKS GETS\n");
		return;
	}
	v.site0 = (uint32_t)strtoul(av[1], NULL, 10);
	nsites = (uint32_t)strtoul(av[2], NULL, 10);
	v.block0 = (uint32_t)strtoul(av[3], NULL, 10);
	v.nblocks = (uint32_t)strtoul(av[4], NULL, 10);
	r->stream_gets = strcmp(av[5], "1") == 0;
	rc = ctl_redis_values_stream(r, (size_t)nsites * v.nblocks, LAYOUT_SITE_RECORD_LEN,
				     values_key, values_got, values_done, &v, err, sizeof(err));
	r->stream_gets = false;
	printf("values rc %d done %zu values %zu digest %016" PRIx64 " err %s\n", rc, v.done,
	       v.values, v.h, err);
}

int
main(int argc, char **argv)
{
	char line[1024], password[256] = "", err[512];
	struct ctl_redis *r;
	int unavailable;
	FILE *f;

	if (argc != 4) {
		fprintf(stderr, "usage: redis_repl URL USER PASSFILE\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	if (f == NULL || fgets(password, sizeof(password), f) == NULL) {
		fprintf(stderr, "redis_repl: cannot read %s\n", argv[3]);
		return 2;
	}
	fclose(f);
	password[strcspn(password, "\r\n")] = '\0';
	r = ctl_redis_open(argv[1], argv[2], password, err, sizeof(err), &unavailable);
	if (r == NULL) {
		fprintf(stderr, "redis_repl: %s\n", err);
		return 3;
	}
	printf("open\n");
	counters(r);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		const char *av[REPL_ARGS];
		size_t al[REPL_ARGS];
		struct ctl_reply rep;
		int ac = 0;

		for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save);
		     w != NULL && ac < REPL_ARGS; w = strtok_r(NULL, " \t\r\n", &save)) {
			av[ac] = w;
			al[ac++] = strlen(w);
		}
		if (ac == 0) {
			counters(r);
			continue;
		}
		if (strcmp(av[0], "!values") == 0) {
			values_cmd(r, ac, av);
			counters(r);
			continue;
		}
		if (ctl_redis_cmd(r, ac, av, al, &rep, err, sizeof(err)) != 0) {
			printf("fail %s\n", err);
		} else {
			if (rep.is_error)
				printf("err %s\n", rep.err);
			else if (rep.n > 0)
				printf("ok %zu %.*s\n", rep.n, (int)rep.v[0].len, rep.v[0].p);
			else
				printf("ok 0 %lld\n", rep.integer);
			ctl_reply_free(&rep);
		}
		counters(r);
	}
	ctl_redis_close(r);
	return 0;
}
