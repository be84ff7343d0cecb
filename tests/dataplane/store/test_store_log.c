/*
 * The Redis store's logging (issue 11, item 10): an outage is logged for as
 * long as it lasts, not only until some whole-process budget runs out.
 * The store points at a loopback port that is bound but not listening
 * (connect refused at once), and is polled with a synthetic clock that
 * jumps past the longest reconnect backoff each time: every poll is one
 * failed connect, and each must leave a log line (stderr without a log
 * hook; the hook when one is given), rate limited per second, not per
 * process.  No redis-server needed.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "store.h"

#define POLLS 120

static int hold_fd = -1;

/* A loopback TCP port that refuses connections: bound, never listening. */
static int
refusing_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);

	hold_fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(hold_fd, 0);
	cr_assert_eq(bind(hold_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(hold_fd, (struct sockaddr *)&a, &len), 0);
	return ntohs(a.sin_port);
}

static void
on_done(void *ctx, uint64_t cookie, int status)
{
	(void)ctx;
	(void)cookie;
	(void)status;
}

static unsigned hook_lines;
static char hook_last[512];

static void
on_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	hook_lines++;
	snprintf(hook_last, sizeof(hook_last), "%s", line);
}

static struct dp_store *
make(char *url, size_t len, bool hook)
{
	struct dp_store_conf conf = { .url = url, .pipeline = 16, .flush_us = 100,
				      .retention_days = 1, .max_pending_events = 1024 };

	snprintf(url, len, "redis://127.0.0.1:%d", refusing_port());
	if (hook)
		conf.log = on_log;
	return dp_store_create(&conf, on_done, NULL);
}

static void
redirect(void)
{
	signal(SIGPIPE, SIG_IGN);
	cr_redirect_stderr();
}

Test(store_log, outage_logged_past_fifty_messages_on_stderr, .init = redirect)
{
	char url[64], needle[64];
	struct dp_store *s = make(url, sizeof(url), false);
	unsigned i, lines = 0;
	char line[1024];
	FILE *f;

	cr_assert_not_null(s);
	for (i = 0; i < POLLS; i++)
		dp_store_poll(s, (uint64_t)(i + 1) * 3000000);   /* 3 s apart */
	dp_store_destroy(s);
	fflush(stderr);
	f = cr_get_redirected_stderr();
	snprintf(needle, sizeof(needle), "%s", url + strlen("redis://"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			lines++;
	cr_assert_geq(lines, POLLS - 5, "every failed connect logged: %u lines for %u polls",
		      lines, POLLS);
	close(hold_fd);
}

Test(store_log, hook_gets_every_line_rate_limited, .init = redirect)
{
	char url[64];
	struct dp_store *s = make(url, sizeof(url), true);
	unsigned i;

	cr_assert_not_null(s);
	hook_lines = 0;
	for (i = 0; i < POLLS; i++)
		dp_store_poll(s, (uint64_t)(i + 1) * 3000000);
	cr_assert_geq(hook_lines, POLLS - 5, "the hook saw %u lines for %u polls", hook_lines,
		      POLLS);
	cr_assert_not_null(strstr(hook_last, url + strlen("redis://")),
			   "a line names the server: %s", hook_last);
	dp_store_destroy(s);
	close(hold_fd);
}
