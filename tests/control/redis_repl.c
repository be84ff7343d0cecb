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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

#define REPL_ARGS 16

static void
counters(const struct ctl_redis *r)
{
	printf("refreshes %llu calls %llu\n", (unsigned long long)ctl_redis_map_refreshes(r),
	       (unsigned long long)ctl_redis_calls(r));
	fflush(stdout);
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
