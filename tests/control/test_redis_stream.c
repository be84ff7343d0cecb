/*
 * Unit tests of ctl_redis_zrange_stream() (control/redis.h), the in-place
 * RESP array reader the trace reads millions of members with, against a
 * fake server on a socketpair: it drains the commands and answers with a
 * scripted byte string written a few bytes at a time, so every element is
 * cut at every possible place.  A table of good answers (members and
 * reply-done calls in order), error replies (reported, stream drained) and
 * malformed answers (connection declared lost); and two shards whose
 * replies arrive out of turn, handed over in key order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis.h"
#include "redis_int.h"

struct fake {
	int fd;
	const char *answer;
	size_t len;
	size_t step;     /* bytes per write */
};

/*
 * Answer while draining the commands (so neither side blocks), then close
 * the answering direction (a short answer reads as a lost connection) and
 * drain until the client hangs up.
 */
static void *
fake_server(void *arg)
{
	struct fake *f = arg;
	size_t off = 0;
	char buf[4096];

	while (off < f->len) {
		size_t m = f->len - off < f->step ? f->len - off : f->step;
		/* The client may hang up first (it stops at the first malformed byte). */
		ssize_t w = send(f->fd, f->answer + off, m, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
		(void)recv(f->fd, buf, sizeof(buf), MSG_DONTWAIT);
	}
	shutdown(f->fd, SHUT_WR);
	while (read(f->fd, buf, sizeof(buf)) > 0)
		;
	close(f->fd);
	return NULL;
}

struct got {
	char log[4096];   /* "i:member" per member, "i!" per completed reply */
	size_t len;
	int fail_at;      /* member callback fails on this member number (-1 never) */
	int members;
};

static size_t
key_fn(void *ctx, size_t i, char *buf, size_t cap)
{
	(void)ctx;
	return (size_t)snprintf(buf, cap, "p:{7}:%zu", 100 + i);
}

static int
member_fn(void *ctx, size_t i, const uint8_t *m, size_t len)
{
	struct got *g = ctx;

	if (g->members++ == g->fail_at)
		return -ENOMEM;
	if (len > 64)
		len = 0;   /* the big-member case checks the count only */
	if (g->len + len + 32 < sizeof(g->log))
		g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu:%.*s ",
					   i, (int)len, (const char *)m);
	return 0;
}

static int
done_fn(void *ctx, size_t i)
{
	struct got *g = ctx;

	if (g->len + 32 < sizeof(g->log))
		g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu! ", i);
	return 0;
}

static int
run(const char *answer, size_t len, size_t n, size_t step, struct got *g, char *err,
    size_t errlen)
{
	int sv[2];
	pthread_t th;
	struct fake f;
	struct ctl_redis *r;
	int rc;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "socketpair");
	f = (struct fake){ .fd = sv[1], .answer = answer, .len = len, .step = step };
	cr_assert_eq(pthread_create(&th, NULL, fake_server, &f), 0, "pthread_create");
	r = ctl_redis_from_fd(sv[0]);
	cr_assert_not_null(r, "ctl_redis_from_fd");
	rc = ctl_redis_zrange_stream(r, n, key_fn, member_fn, done_fn, g, err, errlen);
	ctl_redis_close(r);   /* closes sv[0]: the fake server sees EOF */
	pthread_join(th, NULL);
	return rc;
}

struct good_case {
	const char *name, *answer;
	size_t n;
	const char *want;
};

static const struct good_case good[] = {
	{ "one array", "*2\r\n$3\r\nabc\r\n$2\r\nde\r\n", 1, "0:abc 0:de 0! " },
	{ "empty arrays", "*0\r\n*0\r\n", 2, "0! 1! " },
	{ "empty, full, empty member", "*0\r\n*1\r\n$1\r\nx\r\n*1\r\n$0\r\n\r\n", 3,
	  "0! 1:x 1! 2: 2! " },
	{ "binary member with CR LF inside", "*1\r\n$4\r\n\r\n\r\n\r\n", 1, "0:\r\n\r\n 0! " },
	{ "nil array (missing key answered RESP2-style)", "*-1\r\n*1\r\n$2\r\nok\r\n", 2,
	  "0! 1:ok 1! " },
};

Test(redis_stream, good_answers_in_every_cut)
{
	for (size_t c = 0; c < sizeof(good) / sizeof(good[0]); c++)
		for (size_t step = 1; step <= 8; step++) {
			struct got g = { .fail_at = -1 };
			char err[128] = "";
			int rc = run(good[c].answer, strlen(good[c].answer), good[c].n, step, &g,
				     err, sizeof(err));

			cr_expect_eq(rc, 0, "%s, %zu-byte writes: expected 0, got %d (%s)",
				     good[c].name, step, rc, err);
			cr_expect_str_eq(g.log, good[c].want, "%s, %zu-byte writes: expected "
					 "callbacks '%s', got '%s'", good[c].name, step, good[c].want,
					 g.log);
		}
}

Test(redis_stream, error_reply_is_reported_and_drained)
{
	static const char answer[] = "*1\r\n$1\r\na\r\n-NOPERM no access to p:{7}:101\r\n"
				     "*1\r\n$1\r\nc\r\n";
	struct got g = { .fail_at = -1 };
	char err[128] = "";
	int rc = run(answer, sizeof(answer) - 1, 3, 3, &g, err, sizeof(err));

	cr_expect_eq(rc, -EACCES, "an error reply: expected -EACCES, got %d", rc);
	cr_expect(strstr(err, "NOPERM no access") != NULL, "err names Redis's reason, got '%s'",
		  err);
	cr_expect_str_eq(g.log, "0:a 0! ", "no callback after the error, got '%s'", g.log);
}

Test(redis_stream, member_callback_error_stops_callbacks)
{
	static const char answer[] = "*2\r\n$1\r\na\r\n$1\r\nb\r\n*1\r\n$1\r\nc\r\n";
	struct got g = { .fail_at = 1 };
	char err[128] = "";
	int rc = run(answer, sizeof(answer) - 1, 2, 5, &g, err, sizeof(err));

	cr_expect_eq(rc, -ENOMEM, "the callback's error is returned, got %d", rc);
	cr_expect_str_eq(g.log, "0:a ", "nothing after the failing member, got '%s'", g.log);
}

struct bad_case {
	const char *name, *answer;
	size_t n;
};

static const struct bad_case bad[] = {
	{ "status instead of array", "+OK\r\n", 1 },
	{ "integer instead of array", ":3\r\n", 1 },
	{ "bad array length", "*x\r\n", 1 },
	{ "bad bulk length", "*1\r\n$-3\r\n", 1 },
	{ "element not a bulk string", "*1\r\n:5\r\n", 1 },
	{ "LF missing after CR", "*1\r$1\r\na\r\n", 1 },
	{ "connection closed mid-reply", "*2\r\n$1\r\na\r\n", 1 },
	{ "fewer replies than keys", "*0\r\n", 2 },
};

Test(redis_stream, malformed_answers_lose_the_connection)
{
	for (size_t c = 0; c < sizeof(bad) / sizeof(bad[0]); c++) {
		struct got g = { .fail_at = -1 };
		char err[128] = "";
		int rc = run(bad[c].answer, strlen(bad[c].answer), bad[c].n, 2, &g, err,
			     sizeof(err));

		cr_expect_eq(rc, -EIO, "%s: expected -EIO, got %d", bad[c].name, rc);
		cr_expect(strstr(err, "connection lost") != NULL,
			  "%s: expected a 'connection lost' error, got '%s'", bad[c].name, err);
	}
}

Test(redis_stream, member_bigger_than_the_buffer)
{
	size_t big = 3 << 20, len;
	char *answer = malloc(big + 64);
	struct got *g = calloc(1, sizeof(*g));
	char err[128] = "";
	int rc;

	cr_assert(answer != NULL && g != NULL, "malloc");
	len = (size_t)sprintf(answer, "*1\r\n$%zu\r\n", big);
	memset(answer + len, 'z', big);
	memcpy(answer + len + big, "\r\n", 2);
	g->fail_at = -1;
	rc = run(answer, len + big + 2, 1, 65536, g, err, sizeof(err));
	cr_expect_eq(rc, 0, "a 3 MB member: expected 0, got %d (%s)", rc, err);
	cr_expect_eq(g->members, 1, "one member, got %d", g->members);
	cr_expect_str_eq(g->log, "0: 0! ", "one member then the reply's end, got '%s'", g->log);
	free(answer);
	free(g);
}

/* --- two shards (ctl_redis_from_map): replies put back in key order --- */

struct slow {
	int fd;
	const char *part1, *part2;   /* sent with pauses before each */
	unsigned wait1_ms, wait2_ms;
};

static void *
slow_server(void *arg)
{
	struct slow *s = arg;
	char buf[4096];

	usleep(s->wait1_ms * 1000);
	(void)send(s->fd, s->part1, strlen(s->part1), MSG_NOSIGNAL);
	usleep(s->wait2_ms * 1000);
	(void)send(s->fd, s->part2, strlen(s->part2), MSG_NOSIGNAL);
	while (read(s->fd, buf, sizeof(buf)) > 0)
		;
	close(s->fd);
	return NULL;
}

static size_t
two_key_fn(void *ctx, size_t i, char *buf, size_t cap)
{
	(void)ctx;
	return (size_t)snprintf(buf, cap, "p:{%s}:b1", i == 0 ? "a" : "b");
}

/*
 * Key 0 lives on shard A, key 1 on shard B.  B's reply starts first (held:
 * not its turn), A's completes while B's is half read, then B's ends: it
 * must be handed over then, after A's, and the stream must not stall.
 */
Test(redis_stream, two_shards_in_key_order)
{
	struct slot_map *m = calloc(1, sizeof(*m));
	struct slow a = { .part1 = "*1\r\n$1\r\nx", .part2 = "\r\n", .wait1_ms = 60,
			  .wait2_ms = 1 };
	struct slow b = { .part1 = "*2\r\n$1\r\ny\r\n$1\r\nz", .part2 = "\r\n", .wait1_ms = 1,
			  .wait2_ms = 200 };
	struct got g = { .fail_at = -1 };
	int sa[2], sb[2], fds[2];
	pthread_t ta, tb;
	char err[256] = "";
	struct ctl_redis *r;
	int rc;

	cr_assert_not_null(m);
	m->nshards = 2;
	snprintf(m->shards[0].master.ep.host, sizeof(m->shards[0].master.ep.host), "a");
	snprintf(m->shards[1].master.ep.host, sizeof(m->shards[1].master.ep.host), "b");
	m->shards[0].master.ep.port = m->shards[1].master.ep.port = 1;
	memset(m->owner, 0, sizeof(m->owner));
	m->owner[slot_of_key("b", 1)] = 1;
	cr_assert_neq(slot_of_key("a", 1), slot_of_key("b", 1));
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	a.fd = sa[1];
	b.fd = sb[1];
	fds[0] = sa[0];
	fds[1] = sb[0];
	cr_assert_eq(pthread_create(&ta, NULL, slow_server, &a), 0);
	cr_assert_eq(pthread_create(&tb, NULL, slow_server, &b), 0);
	r = ctl_redis_from_map(m, fds);
	cr_assert_not_null(r);
	rc = ctl_redis_zrange_stream(r, 2, two_key_fn, member_fn, done_fn, &g, err, sizeof(err));
	cr_expect_eq(ctl_redis_calls(r), 2);
	ctl_redis_close(r);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	free(m);
	cr_assert_eq(rc, 0, "expected 0, got %d (%s)", rc, err);
	cr_assert_str_eq(g.log, "0:x 0! 1:y 1:z 1! ", "callbacks in key order, got '%s'", g.log);
}

/* Two fake shards A (key 0) and B (key 1) answering with the given scripts. */
static int
run_two(struct slow *a, struct slow *b, unsigned timeout_ms, struct got *g, char *err,
	size_t errlen)
{
	struct slot_map *m = calloc(1, sizeof(*m));
	int sa[2], sb[2], fds[2], rc;
	pthread_t ta, tb;
	struct ctl_redis *r;

	cr_assert_not_null(m);
	m->nshards = 2;
	snprintf(m->shards[0].master.ep.host, sizeof(m->shards[0].master.ep.host), "a");
	snprintf(m->shards[1].master.ep.host, sizeof(m->shards[1].master.ep.host), "b");
	m->shards[0].master.ep.port = m->shards[1].master.ep.port = 1;
	m->owner[slot_of_key("b", 1)] = 1;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sa), 0);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sb), 0);
	a->fd = sa[1];
	b->fd = sb[1];
	fds[0] = sa[0];
	fds[1] = sb[0];
	cr_assert_eq(pthread_create(&ta, NULL, slow_server, a), 0);
	cr_assert_eq(pthread_create(&tb, NULL, slow_server, b), 0);
	r = ctl_redis_from_map(m, fds);
	cr_assert_not_null(r);
	r->timeout_ms = timeout_ms;
	rc = ctl_redis_zrange_stream(r, 2, two_key_fn, member_fn, done_fn, g, err, errlen);
	ctl_redis_close(r);     /* the servers see EOF */
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	free(m);
	return rc;
}

/* B's error arrives first and is held; it is reported in its turn, after A's members. */
Test(redis_stream, two_shards_error_in_turn)
{
	struct slow a = { .part1 = "*1\r\n$1\r\nx\r\n", .part2 = "", .wait1_ms = 80 };
	struct slow b = { .part1 = "-NOPERM no access to p:{b}:b1\r\n", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 5000, &g, err, sizeof(err));

	cr_assert_eq(rc, -EACCES, "got %d (%s)", rc, err);
	cr_assert(strstr(err, "NOPERM no access to p:{b}:b1") != NULL, "%s", err);
	cr_assert_str_eq(g.log, "0:x 0! ", "A's reply first, then nothing: '%s'", g.log);
}

/* B never answers: the stream gives up after the timeout, naming B. */
Test(redis_stream, two_shards_silent_node_named)
{
	struct slow a = { .part1 = "*1\r\n$1\r\nx\r\n", .part2 = "" };
	struct slow b = { .part1 = "", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 300, &g, err, sizeof(err));

	cr_assert_eq(rc, -EIO, "got %d (%s)", rc, err);
	cr_assert(strstr(err, "Redis node b:1: no answer within 300 ms") != NULL,
		  "the silent node, and only it, is named: %s", err);
	cr_assert_str_eq(g.log, "0:x 0! ", "'%s'", g.log);
}
