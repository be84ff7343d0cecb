/*
 * Unit tests of ctl_redis_records_stream() (control/redis.h), the streamed
 * GET reader the trace reads millions of records with, against a fake
 * server on a socketpair: it drains the commands and answers with a
 * scripted byte string written a few bytes at a time, so every reply is cut
 * at every possible place.  Records are 3 bytes here.  A table of good
 * answers (records and reply-done calls in order: sorted, duplicates
 * dropped and counted), error replies and corrupt values (reported naming
 * the key, stream drained, connection still usable) and malformed answers
 * (connection declared lost); and two shards whose replies arrive out of
 * turn, handed over in key order.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "layout.h"
#include "redis.h"
#include "redis_int.h"
#include "redis_stream_int.h"

#define REC 3   /* record length */

struct fake {
	int fd;
	const char *answer;
	size_t len;
	size_t step;     /* bytes per write */
	const char *then;  /* NULL, or sent 100 ms after answer (a second stream's) */
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
	if (f->then != NULL) {
		usleep(100 * 1000);
		(void)send(f->fd, f->then, strlen(f->then), MSG_NOSIGNAL);
	}
	shutdown(f->fd, SHUT_WR);
	while (read(f->fd, buf, sizeof(buf)) > 0)
		;
	close(f->fd);
	return NULL;
}

struct got {
	char log[4096];   /* "i:record" per record, "i!" per completed reply */
	size_t len;
	int fail_at;      /* record callback fails on this record number (-1 never) */
	int members;
	bool quiet;       /* count and check the order only (the big value) */
	bool unordered;   /* a key's record not above the one before it */
	uint8_t last[REC];
	size_t last_key;
	uint64_t dups, corrupt;
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
	cr_assert_eq(len, REC, "records are %d bytes, got %zu", REC, len);
	if (g->members > 1 && i == g->last_key && memcmp(g->last, m, REC) >= 0)
		g->unordered = true;
	memcpy(g->last, m, REC);
	g->last_key = i;
	if (!g->quiet && g->len + len + 32 < sizeof(g->log))
		g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu:%.*s ",
					   i, (int)len, (const char *)m);
	return 0;
}

static int
done_fn(void *ctx, size_t i)
{
	struct got *g = ctx;

	if (!g->quiet && g->len + 32 < sizeof(g->log))
		g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu! ", i);
	return 0;
}

/*
 * Stream n keys against the scripted answer; then, when then is not NULL,
 * one more on the same connection, answered with then (the connection must
 * still be in step after an error).
 */
/* ctl_redis_values_stream's callback: "i:<the value as stored>". */
static int
values_fn(void *ctx, size_t i, const uint8_t *recs, size_t n)
{
	struct got *g = ctx;

	g->members += (int)n;
	if (g->len + n * REC + 32 < sizeof(g->log))
		g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu:%.*s ",
					   i, (int)(n * REC), (const char *)recs);
	return 0;
}

static bool values_mode;   /* run2() streams with ctl_redis_values_stream */

static int
stream(struct ctl_redis *r, size_t n, struct got *g, char *err, size_t errlen)
{
	if (values_mode)
		return ctl_redis_values_stream(r, n, REC, key_fn, values_fn, done_fn, g, err,
					       errlen);
	return ctl_redis_records_stream(r, n, REC, key_fn, member_fn, done_fn, g, err, errlen);
}

static int
run2(const char *answer, size_t len, size_t n, const char *then, size_t step, struct got *g,
     struct got *g2, char *err, size_t errlen)
{
	int sv[2];
	pthread_t th;
	struct fake f;
	struct ctl_redis *r;
	size_t cmds;
	int rc;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0, "socketpair");
	f = (struct fake){ .fd = sv[1], .answer = answer, .len = len, .step = step,
			   .then = then };
	cr_assert_eq(pthread_create(&th, NULL, fake_server, &f), 0, "pthread_create");
	r = ctl_redis_from_fd(sv[0]);
	cr_assert_not_null(r, "ctl_redis_from_fd");
	rc = stream(r, n, g, err, errlen);
	if (then != NULL) {
		char err2[128] = "";
		int rc2 = stream(r, 1, g2, err2, sizeof(err2));

		cr_expect_eq(rc2, 0, "the stream after: expected 0, got %d (%s)", rc2, err2);
	}
	g->dups = ctl_redis_dup_records(r);
	g->corrupt = ctl_redis_corrupt_values(r);
	/* key_fn's keys share one slot: a values stream asks them with one MGET. */
	cmds = values_mode ? (n + ZS_MGET_MAX - 1) / ZS_MGET_MAX : n;
	cr_expect_eq(ctl_redis_calls(r), cmds + (then != NULL), "%s: %zu commands, got %llu",
		     values_mode ? "one MGET per 64 keys" : "one GET per key", cmds + (then != NULL),
		     (unsigned long long)ctl_redis_calls(r));
	ctl_redis_close(r);   /* closes sv[0]: the fake server sees EOF */
	pthread_join(th, NULL);
	return rc;
}

static int
run(const char *answer, size_t len, size_t n, size_t step, struct got *g, char *err,
    size_t errlen)
{
	return run2(answer, len, n, NULL, step, g, NULL, err, errlen);
}

struct good_case {
	const char *name, *answer;
	size_t n;
	const char *want;
	uint64_t dups;
};

static const struct good_case good[] = {
	{ "one value", "$6\r\nabcdef\r\n", 1, "0:abc 0:def 0! ", 0 },
	{ "missing key (nil) and empty value", "$-1\r\n$0\r\n\r\n", 2, "0! 1! ", 0 },
	{ "records out of order, handed over sorted", "$9\r\nxyzabcmno\r\n", 1,
	  "0:abc 0:mno 0:xyz 0! ", 0 },
	{ "a generation appended twice: duplicates dropped", "$12\r\nabcdefabcdef\r\n", 1,
	  "0:abc 0:def 0! ", 2 },
	{ "sorted with a duplicate", "$9\r\nabcabcdef\r\n", 1, "0:abc 0:def 0! ", 1 },
	{ "empty, one, nil", "$0\r\n\r\n$3\r\nxxx\r\n$-1\r\n", 3, "0! 1:xxx 1! 2! ", 0 },
	{ "binary record with CR LF inside", "$6\r\n\r\n\r\r\n\n\r\n", 1, "0:\r\n\n 0:\r\n\r 0! ",
	  0 },
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
			cr_expect_eq(g.dups, good[c].dups, "%s: expected %llu duplicates counted, "
				     "got %llu", good[c].name, (unsigned long long)good[c].dups,
				     (unsigned long long)g.dups);
		}
}

/*
 * The same answers through ctl_redis_values_stream: each value whole, as
 * stored.  Its keys (one slot) are asked with one MGET: several keys'
 * values come as the elements of one array, a nil element a missing key.
 */
static const struct good_case as_stored[] = {
	{ "one value", "$6\r\nabcdef\r\n", 1, "0:abcdef 0! ", 0 },
	{ "missing key (nil) and empty value", "*2\r\n$-1\r\n$0\r\n\r\n", 2, "0! 1! ", 0 },
	{ "records out of order: as stored", "$9\r\nxyzabcmno\r\n", 1, "0:xyzabcmno 0! ", 0 },
	{ "a generation appended twice: kept, not counted", "$12\r\nabcdefabcdef\r\n", 1,
	  "0:abcdefabcdef 0! ", 0 },
	{ "empty, one, nil", "*3\r\n$0\r\n\r\n$3\r\nxxx\r\n$-1\r\n", 3, "0! 1:xxx 1! 2! ",
	  0 },
	{ "nil, one with CR LF inside, nil", "*3\r\n$-1\r\n$6\r\nab\r\ncd\r\n$-1\r\n", 3,
	  "0! 1:ab\r\ncd 1! 2! ", 0 },
};

Test(redis_stream, values_as_stored_in_every_cut)
{
	values_mode = true;
	for (size_t c = 0; c < sizeof(as_stored) / sizeof(as_stored[0]); c++)
		for (size_t step = 1; step <= 8; step++) {
			struct got g = { .fail_at = -1 };
			char err[128] = "";
			int rc = run(as_stored[c].answer, strlen(as_stored[c].answer),
				     as_stored[c].n, step, &g, err, sizeof(err));

			cr_expect_eq(rc, 0, "%s, %zu-byte writes: expected 0, got %d (%s)",
				     as_stored[c].name, step, rc, err);
			cr_expect_str_eq(g.log, as_stored[c].want, "%s, %zu-byte writes: expected "
					 "callbacks '%s', got '%s'", as_stored[c].name, step,
					 as_stored[c].want, g.log);
			cr_expect_eq(g.dups, 0, "%s: the values stream counts no duplicates, got "
				     "%llu", as_stored[c].name, (unsigned long long)g.dups);
		}
	values_mode = false;
}

Test(redis_stream, values_corrupt_value_is_refused_whole)
{
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc;

	values_mode = true;
	rc = run("*2\r\n$4\r\nabcd\r\n$3\r\nxyz\r\n", 23, 2, 3, &g, err, sizeof(err));
	values_mode = false;
	cr_expect_eq(rc, -EBADMSG, "a 4-byte value of 3-byte records: expected -EBADMSG, got %d",
		     rc);
	cr_expect(strstr(err, "p:{7}:100") != NULL, "the error names the key: '%s'", err);
	cr_expect(strstr(g.log, "0:") == NULL, "none of the corrupt value handed over: '%s'",
		  g.log);
}

struct bad_case {
	const char *name, *answer;
	size_t n;
};

/* A corrupt value among an MGET's elements: refused, counted, the rest drained, in step after. */
Test(redis_stream, values_corrupt_value_inside_an_mget)
{
	static const char answer[] = "*4\r\n$3\r\naaa\r\n$4\r\nbbbb\r\n$-1\r\n$3\r\nccc\r\n";

	values_mode = true;
	for (size_t step = 1; step <= 8; step++) {
		struct got g = { .fail_at = -1 }, g2 = { .fail_at = -1 };
		char err[200] = "";
		int rc = run2(answer, sizeof(answer) - 1, 4, "$3\r\nddd\r\n", step, &g, &g2, err,
			      sizeof(err));

		cr_expect_eq(rc, -EBADMSG, "%zu-byte writes: expected -EBADMSG, got %d (%s)", step,
			     rc, err);
		cr_expect(strstr(err, "key p:{7}:101 holds 4 bytes, not a whole number of 3-byte "
				 "records") != NULL, "err names the key and the sizes, got '%s'", err);
		cr_expect_str_eq(g.log, "0:aaa 0! ", "none of it, nothing after: got '%s'", g.log);
		cr_expect_eq(g.corrupt, 1, "counted once, got %llu", (unsigned long long)g.corrupt);
		cr_expect_str_eq(g2.log, "0:ddd 0! ", "the connection is still in step, got '%s'",
				 g2.log);
	}
	values_mode = false;
}

/* One error answering an MGET is each of its keys': reported for the first, drained. */
Test(redis_stream, values_mget_error_is_every_keys)
{
	static const char answer[] = "-NOPERM no access to one of the keys\r\n";
	struct got g = { .fail_at = -1 }, g2 = { .fail_at = -1 };
	char err[200] = "";
	int rc;

	values_mode = true;
	rc = run2(answer, sizeof(answer) - 1, 3, "$3\r\nddd\r\n", 5, &g, &g2, err, sizeof(err));
	values_mode = false;
	cr_expect_eq(rc, -EACCES, "an error reply: expected -EACCES, got %d", rc);
	cr_expect(strstr(err, "GET p:{7}:100: NOPERM no access") != NULL,
		  "err names the first key and Redis's reason, got '%s'", err);
	cr_expect_str_eq(g.log, "", "no callback after the error, got '%s'", g.log);
	cr_expect_str_eq(g2.log, "0:ddd 0! ", "the connection is still in step, got '%s'", g2.log);
}

static const struct bad_case bad_mget[] = {
	{ "fewer elements than keys", "*2\r\n$3\r\nabc\r\n$3\r\nxyz\r\n", 3 },
	{ "a nested array", "*3\r\n*1\r\n$1\r\na\r\n$3\r\nabc\r\n$-1\r\n", 3 },
	{ "an integer element", "*2\r\n:1\r\n$3\r\nabc\r\n", 2 },
	{ "a string instead of an array", "$3\r\nabc\r\n", 2 },
	{ "status instead of an array", "+OK\r\n", 2 },
	{ "a nil array", "*-1\r\n", 2 },
	{ "connection closed mid-array", "*2\r\n$3\r\nabc\r\n", 2 },
};

Test(redis_stream, values_malformed_mget_answers_lose_the_connection)
{
	values_mode = true;
	for (size_t c = 0; c < sizeof(bad_mget) / sizeof(bad_mget[0]); c++) {
		struct got g = { .fail_at = -1 };
		char err[160] = "";
		int rc = run(bad_mget[c].answer, strlen(bad_mget[c].answer), bad_mget[c].n, 2, &g,
			     err, sizeof(err));

		cr_expect_eq(rc, -EIO, "%s: expected -EIO, got %d", bad_mget[c].name, rc);
		cr_expect(strstr(err, "connection lost") != NULL,
			  "%s: expected a 'connection lost' error, got '%s'", bad_mget[c].name, err);
	}
	values_mode = false;
}

/* --- a fake node that reads the commands: which keys each GET/MGET asks --- */

#define SITE_KEYS 37    /* buckets per site of many_key */

/* Key i: bucket i % 37 of site i / 37, in (site, block) order as the trace asks them. */
static size_t
many_key(void *ctx, size_t i, char *buf, size_t cap)
{
	(void)ctx;
	return (size_t)snprintf(buf, cap, "p:{%zu}:b%zu", i / SITE_KEYS, i % SITE_KEYS);
}

/* Key i's value: nil (-1) every 11th, else 1..3 records of its own 3 bytes; corrupt: 4 bytes. */
static long
many_value(size_t i, long corrupt_at, char *v)
{
	long n = 1 + (long)(i % 3);

	if (i % 11 == 5)
		return -1;
	for (long r = 0; r < n; r++) {
		v[3 * r] = (char)('a' + i % 26);
		v[3 * r + 1] = (char)('a' + i / 26 % 26);
		v[3 * r + 2] = (char)('a' + i / 676 % 26);
	}
	if ((long)i == corrupt_at)
		return 4;
	return 3 * n;
}

struct node {
	int fd;
	long corrupt_at;
	/* what it was asked */
	unsigned gets, mgets, widest, cross_site, asked_twice, unknown;
	uint8_t *asked;                 /* per key index */
	size_t nkeys;
};

/* Key text back to its index (many_key); (size_t)-1 when not one of ours. */
static size_t
key_index(const char *k, size_t len)
{
	char t[64];
	size_t site, block;

	snprintf(t, sizeof(t), "%.*s", (int)len, k);
	if (sscanf(t, "p:{%zu}:b%zu", &site, &block) != 2 || block >= SITE_KEYS)
		return (size_t)-1;
	return site * SITE_KEYS + block;
}

/* One command at p (len bytes): its length, or 0 when incomplete. argv into a[], al[]. */
static size_t
parse_cmd(const char *p, size_t len, const char **a, size_t *al, size_t *argc, size_t max)
{
	const char *at = p, *end = p + len;
	char *e;
	size_t n;

	if (len < 4 || *at != '*' || memchr(at, '\n', len) == NULL)
		return 0;
	n = strtoul(at + 1, &e, 10);
	at = e + 2;
	cr_assert(n >= 1 && n <= max, "a command of %zu words", n);
	for (size_t i = 0; i < n; i++) {
		size_t l;

		if (at >= end || memchr(at, '\n', (size_t)(end - at)) == NULL)
			return 0;
		cr_assert_eq(*at, '$', "a bulk string");
		l = strtoul(at + 1, &e, 10);
		at = e + 2;
		if ((size_t)(end - at) < l + 2)
			return 0;
		a[i] = at;
		al[i] = l;
		at += l + 2;
	}
	*argc = n;
	return (size_t)(at - p);
}

/* Append key i's answer ("$n\r\n...\r\n" or "$-1\r\n") to out. */
static size_t
put_value(char *out, const struct node *nd, size_t i)
{
	char v[16];
	long vl = i < nd->nkeys ? many_value(i, nd->corrupt_at, v) : -1;

	if (vl < 0)
		return (size_t)sprintf(out, "$-1\r\n");
	return (size_t)sprintf(out, "$%ld\r\n%.*s\r\n", vl, (int)vl, v);
}

/* Answer GET and MGET from many_value until the client hangs up, noting what was asked. */
static void *
node_server(void *arg)
{
	struct node *nd = arg;
	size_t cap = 1 << 16, have = 0;
	char *in = malloc(cap), *out = malloc(1 << 16);

	cr_assert(in != NULL && out != NULL);
	for (;;) {
		ssize_t got;
		size_t used = 0;

		if (have == cap)
			cr_assert_not_null(in = realloc(in, cap *= 2));
		got = read(nd->fd, in + have, cap - have);
		if (got <= 0)
			break;
		have += (size_t)got;
		for (;;) {
			const char *a[ZS_MGET_MAX + 2];
			size_t al[ZS_MGET_MAX + 2], argc, ol = 0, l, site = 0;
			size_t c = parse_cmd(in + used, have - used, a, al, &argc, ZS_MGET_MAX + 1);

			if (c == 0)
				break;
			used += c;
			if (al[0] == 4 && memcmp(a[0], "MGET", 4) == 0) {
				nd->mgets++;
				if (argc - 1 > nd->widest)
					nd->widest = (unsigned)(argc - 1);
				ol = (size_t)sprintf(out, "*%zu\r\n", argc - 1);
			} else {
				cr_assert(al[0] == 3 && memcmp(a[0], "GET", 3) == 0 && argc == 2,
					  "only GET and MGET: '%.*s'", (int)al[0], a[0]);
				nd->gets++;
			}
			for (size_t w = 1; w < argc; w++) {
				size_t i = key_index(a[w], al[w]);

				if (i >= nd->nkeys) {
					nd->unknown++;
				} else {
					nd->asked_twice += nd->asked[i]++ != 0;
					if (w == 1)
						site = i / SITE_KEYS;
					else if (i / SITE_KEYS != site)
						nd->cross_site++;
				}
				ol += put_value(out + ol, nd, i);
			}
			for (size_t o = 0; o < ol; o += l) {
				ssize_t w = send(nd->fd, out + o, ol - o, MSG_NOSIGNAL);

				if (w <= 0)
					goto out;
				l = (size_t)w;
			}
		}
		memmove(in, in + used, have - used);
		have -= used;
	}
out:
	free(in);
	free(out);
	close(nd->fd);
	return NULL;
}

/* What a many-key values stream handed over: checked against many_value as it comes. */
struct many_got {
	long corrupt_at;
	size_t values, done, next_done, wrong, n;
	uint64_t sum;                   /* of every record byte, the GET path's and MGET's alike */
};

static int
many_values(void *ctx, size_t i, const uint8_t *recs, size_t n)
{
	struct many_got *g = ctx;
	char v[16];
	long vl = many_value(i, g->corrupt_at, v);

	g->values++;
	if (i != g->next_done || vl != (long)(n * REC) || memcmp(v, recs, n * REC) != 0)
		g->wrong++;
	for (size_t b = 0; b < n * REC; b++)
		g->sum += recs[b] * (i + 1);
	return 0;
}

static int
many_done(void *ctx, size_t i)
{
	struct many_got *g = ctx;

	if (i != g->next_done)
		g->wrong++;
	g->next_done = i + 1;
	g->done++;
	return 0;
}

/* Stream n keys of many_key against node_server; gets: no MGET (the GET path). */
static int
run_many(size_t n, bool gets, long corrupt_at, struct node *nd, struct many_got *g,
	 uint64_t *calls, char *err, size_t errlen)
{
	int sv[2], rc;
	pthread_t th;
	struct ctl_redis *r;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*nd = (struct node){ .fd = sv[1], .corrupt_at = corrupt_at, .nkeys = n,
			     .asked = calloc(n, 1) };
	*g = (struct many_got){ .corrupt_at = corrupt_at, .n = n };
	cr_assert_not_null(nd->asked);
	cr_assert_eq(pthread_create(&th, NULL, node_server, nd), 0);
	r = ctl_redis_from_fd(sv[0]);
	cr_assert_not_null(r);
	r->stream_gets = gets;
	rc = ctl_redis_values_stream(r, n, REC, many_key, many_values, many_done, g, err, errlen);
	if (rc != 0) {   /* the connection is still in step: one more key */
		struct many_got g2 = { .corrupt_at = -1 };
		char err2[160] = "";
		int rc2 = ctl_redis_values_stream(r, 1, REC, many_key, many_values, many_done, &g2,
						  err2, sizeof(err2));

		cr_expect(rc2 == 0 && g2.done == 1 && g2.wrong == 0,
			  "the stream after: expected key 0 again, got %d (%s)", rc2, err2);
	}
	*calls = ctl_redis_calls(r);
	ctl_redis_close(r);
	pthread_join(th, NULL);
	free(nd->asked);
	return rc;
}

/*
 * 5000 keys of 136 sites (37 buckets each, every 11th missing) through the
 * MGET path and the GET path: the same callbacks, key by key; the MGETs ask
 * one site's keys each (at most 64, never across sites), every key once,
 * one command a site (a full window waits for room for a whole run).
 */
Test(redis_stream, values_mget_same_as_gets)
{
	const size_t n = 5000;
	struct node nm, ng;
	struct many_got gm, gg;
	uint64_t cm, cg;
	char err[200] = "";
	int rc;

	rc = run_many(n, false, -1, &nm, &gm, &cm, err, sizeof(err));
	cr_assert_eq(rc, 0, "MGET path: got %d (%s)", rc, err);
	rc = run_many(n, true, -1, &ng, &gg, &cg, err, sizeof(err));
	cr_assert_eq(rc, 0, "GET path: got %d (%s)", rc, err);
	cr_expect(gm.wrong == 0 && gm.done == n, "MGET path: %zu keys done, %zu wrong", gm.done,
		  gm.wrong);
	cr_expect(gg.wrong == 0 && gg.done == n, "GET path: %zu keys done, %zu wrong", gg.done,
		  gg.wrong);
	cr_expect(gm.values == gg.values && gm.sum == gg.sum, "the same values: %zu (sum %llu) "
		  "vs %zu (sum %llu)", gm.values, (unsigned long long)gm.sum, gg.values,
		  (unsigned long long)gg.sum);
	cr_expect_eq(ng.mgets, 0, "the GET path sends no MGET");
	cr_expect_eq(ng.gets, n, "the GET path: one GET a key, got %u", ng.gets);
	cr_expect(nm.mgets >= n / ZS_MGET_MAX && nm.gets < nm.mgets / 4, "the MGET path: "
		  "%u MGETs, %u GETs", nm.mgets, nm.gets);
	cr_expect(nm.widest <= ZS_MGET_MAX && nm.widest >= SITE_KEYS / 2, "an MGET asks at most "
		  "%d keys, got %u", ZS_MGET_MAX, nm.widest);
	cr_expect_eq(nm.cross_site, 0, "an MGET asked keys of two sites (slots)");
	/* A full window waits for room for a whole run: a site is one command, not
	 * a run cut into ever shorter ones (GETs of one key, in the end). */
	cr_expect(nm.mgets + nm.gets <= (n + SITE_KEYS - 1) / SITE_KEYS, "the MGET path: "
		  "%u commands for %zu sites", nm.mgets + nm.gets, (n + SITE_KEYS - 1) / SITE_KEYS);
	cr_expect(nm.asked_twice == 0 && ng.asked_twice == 0 && nm.unknown == 0,
		  "every key asked once: %u / %u twice, %u unknown", nm.asked_twice,
		  ng.asked_twice, nm.unknown);
	cr_expect_eq(cm, nm.gets + nm.mgets, "redis_calls counts commands: %llu, sent %u",
		     (unsigned long long)cm, nm.gets + nm.mgets);
	cr_expect_eq(cg, n, "redis_calls %llu", (unsigned long long)cg);
}

/* A corrupt value deep in the stream, inside an MGET: refused in its turn, nothing after. */
Test(redis_stream, values_mget_corrupt_deep_in_the_stream)
{
	const size_t n = 3000;
	const long bad = 1000;   /* 1000 % 11 != 5: a value, mid-site (1000 % 37 == 1) */

	for (int gets = 0; gets < 2; gets++) {
		struct node nd;
		struct many_got g;
		uint64_t calls;
		char err[200] = "";
		int rc = run_many(n, gets, bad, &nd, &g, &calls, err, sizeof(err));

		cr_expect_eq(rc, -EBADMSG, "%s: expected -EBADMSG, got %d (%s)",
			     gets ? "GETs" : "MGETs", rc, err);
		cr_expect(strstr(err, "key p:{27}:b1 holds 4 bytes") != NULL, "the key named: '%s'",
			  err);
		cr_expect(g.done == (size_t)bad && g.wrong == 0, "%s: the keys before it only: %zu "
			  "done, %zu wrong", gets ? "GETs" : "MGETs", g.done, g.wrong);
	}
}

Test(redis_stream, error_reply_is_reported_and_drained)
{
	static const char answer[] = "$3\r\naaa\r\n-NOPERM no access to p:{7}:101\r\n"
				     "$3\r\nccc\r\n";
	struct got g = { .fail_at = -1 }, g2 = { .fail_at = -1 };
	char err[200] = "";
	int rc = run2(answer, sizeof(answer) - 1, 3, "$3\r\nddd\r\n", 3, &g, &g2, err,
		      sizeof(err));

	cr_expect_eq(rc, -EACCES, "an error reply: expected -EACCES, got %d", rc);
	cr_expect(strstr(err, "GET p:{7}:101: NOPERM no access") != NULL,
		  "err names the key and Redis's reason, got '%s'", err);
	cr_expect_str_eq(g.log, "0:aaa 0! ", "no callback after the error, got '%s'", g.log);
	cr_expect_str_eq(g2.log, "0:ddd 0! ", "the connection is still in step, got '%s'", g2.log);
}

Test(redis_stream, wrong_type_says_why)
{
	static const char answer[] =
		"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run(answer, sizeof(answer) - 1, 1, 7, &g, err, sizeof(err));

	cr_expect_eq(rc, -EACCES, "got %d", rc);
	cr_expect(strstr(err, "GET p:{7}:100: WRONGTYPE") != NULL &&
		  strstr(err, "older chotd") != NULL, "err names the key and the likely cause, "
		  "got '%s'", err);
}

Test(redis_stream, corrupt_value_is_refused_whole)
{
	static const char answer[] = "$3\r\naaa\r\n$4\r\nbbbb\r\n$3\r\nccc\r\n";

	for (size_t step = 1; step <= 8; step++) {
		struct got g = { .fail_at = -1 }, g2 = { .fail_at = -1 };
		char err[200] = "";
		int rc = run2(answer, sizeof(answer) - 1, 3, "$3\r\nddd\r\n", step, &g, &g2, err,
			      sizeof(err));

		cr_expect_eq(rc, -EBADMSG, "a 4-byte value of 3-byte records: expected -EBADMSG, "
			     "got %d (%s)", rc, err);
		cr_expect(strstr(err, "key p:{7}:101 holds 4 bytes, not a whole number of 3-byte "
				 "records") != NULL, "err names the key and the sizes, got '%s'", err);
		cr_expect_str_eq(g.log, "0:aaa 0! ", "none of it, nothing after: got '%s'", g.log);
		cr_expect_eq(g.corrupt, 1, "counted once, got %llu", (unsigned long long)g.corrupt);
		cr_expect_str_eq(g2.log, "0:ddd 0! ", "the connection is still in step, got '%s'",
				 g2.log);
	}
}

Test(redis_stream, member_callback_error_stops_callbacks)
{
	static const char answer[] = "$6\r\naaabbb\r\n$3\r\nccc\r\n";
	struct got g = { .fail_at = 1 };
	char err[128] = "";
	int rc = run(answer, sizeof(answer) - 1, 2, 5, &g, err, sizeof(err));

	cr_expect_eq(rc, -ENOMEM, "the callback's error is returned, got %d", rc);
	cr_expect_str_eq(g.log, "0:aaa ", "nothing after the failing record, got '%s'", g.log);
}

static const struct bad_case bad[] = {
	{ "status instead of string", "+OK\r\n", 1 },
	{ "integer instead of string", ":3\r\n", 1 },
	{ "array instead of string (a ZRANGE's answer)", "*1\r\n$3\r\nabc\r\n", 1 },
	{ "bad bulk length", "$x\r\n", 1 },
	{ "negative bulk length", "$-3\r\n", 1 },
	{ "LF missing after CR", "$3\rabc\r\n", 1 },
	{ "connection closed mid-reply", "$6\r\nabc", 1 },
	{ "fewer replies than keys", "$0\r\n\r\n", 2 },
};

/* More replies than keys, in one read with the last one asked: the node is out of step. */
Test(redis_stream, more_replies_than_keys)
{
	static const char answer[] = "$3\r\nabc\r\n$3\r\nxyz\r\n";
	struct got g = { .fail_at = -1 };
	char err[160] = "";
	int rc = run(answer, sizeof(answer) - 1, 1, sizeof(answer) - 1, &g, err, sizeof(err));

	cr_expect_eq(rc, -EIO, "expected -EIO, got %d (%s)", rc, err);
	cr_expect(strstr(err, "more replies than commands") != NULL, "got '%s'", err);
}

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

/* 3 MB of 3-byte records in descending order, one of them twice: sorted, one dropped. */
Test(redis_stream, value_bigger_than_the_buffer)
{
	size_t nrec = 1 << 20, big = (nrec + 1) * REC, len;
	char *answer = malloc(big + 64);
	struct got *g = calloc(1, sizeof(*g));
	char err[128] = "";
	int rc;

	cr_assert(answer != NULL && g != NULL, "malloc");
	len = (size_t)sprintf(answer, "$%zu\r\n", big);
	for (size_t i = 0; i < nrec; i++) {
		size_t v = nrec - 1 - i;

		answer[len++] = (char)(v >> 16);
		answer[len++] = (char)(v >> 8);
		answer[len++] = (char)v;
	}
	memcpy(answer + len, answer + len - REC, REC);   /* the last record again */
	len += REC;
	memcpy(answer + len, "\r\n", 2);
	g->fail_at = -1;
	g->quiet = true;
	rc = run(answer, len + 2, 1, 65536, g, err, sizeof(err));
	cr_expect_eq(rc, 0, "a 3 MB value: expected 0, got %d (%s)", rc, err);
	cr_expect_eq(g->members, (int)nrec, "%zu records, got %d", nrec, g->members);
	cr_expect(!g->unordered, "records in ascending order");
	cr_expect_eq(g->dups, 1, "one duplicate, got %llu", (unsigned long long)g->dups);
	free(answer);
	free(g);
}

/* --- week keys (8-byte records): the vault unit is taken out (proto/layout.h) --- */

struct wk_got {
	char log[512];
	size_t len;
};

static int
wk_member(void *ctx, size_t i, const uint8_t *m, size_t len)
{
	struct wk_got *g = ctx;

	cr_assert_eq(len, LAYOUT_SUBJECT_RECORD_LEN);
	cr_assert_neq(m[4], LAYOUT_UNIT_MARK, "a unit record handed over as an event");
	g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu:%u ", i, m[3]);
	return 0;
}

static int
wk_done(void *ctx, size_t i)
{
	struct wk_got *g = ctx;

	g->len += (size_t)snprintf(g->log + g->len, sizeof(g->log) - g->len, "%zu! ", i);
	return 0;
}

/* "$<len>\r\n<bytes>\r\n" */
static size_t
bulk(char *out, const uint8_t *v, size_t len)
{
	size_t n = (size_t)sprintf(out, "$%zu\r\n", len);

	memcpy(out + n, v, len);
	memcpy(out + n + len, "\r\n", 2);
	return n + len + 2;
}

Test(redis_stream, week_keys_vault_unit_taken_out)
{
	uint8_t sealed[LAYOUT_VAULT_MAX], unit[LAYOUT_VAULT_UNIT_MAX], r[3][8], v[256];
	char answer[1024];
	size_t ul, vl, al = 0;

	memset(sealed, 0xff, sizeof(sealed));   /* payload bytes that look like marks */
	ul = layout_vault_unit(unit, sealed, 29);
	for (int i = 0; i < 3; i++)
		layout_subject_member(r[i], (uint32_t)i + 1, 1000 * (uint64_t)i, 1);
	/* key 0: r2, unit, r0, unit again (a resend): unsorted, handed over sorted */
	vl = 0;
	memcpy(v + vl, r[2], 8), vl += 8;
	memcpy(v + vl, unit, ul), vl += ul;
	memcpy(v + vl, r[0], 8), vl += 8;
	memcpy(v + vl, unit, ul), vl += ul;
	al += bulk(answer + al, v, vl);
	/* key 1: already sorted, then the unit */
	vl = 0;
	memcpy(v + vl, r[0], 8), vl += 8;
	memcpy(v + vl, r[1], 8), vl += 8;
	memcpy(v + vl, unit, ul), vl += ul;
	al += bulk(answer + al, v, vl);
	/* key 2: the unit alone */
	al += bulk(answer + al, unit, ul);
	/* key 3: a unit whose length runs past the value: corrupt */
	memcpy(v, r[0], 8);
	memcpy(v + 8, unit, 8 + 16);
	al += bulk(answer + al, v, 8 + 8 + 16);
	for (size_t step = 1; step <= 64; step += 7) {
		struct wk_got g = { 0 };
		char err[200] = "";
		int sv[2], rc;
		pthread_t th;
		struct fake f;
		struct ctl_redis *rd;

		cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		f = (struct fake){ .fd = sv[1], .answer = answer, .len = al, .step = step };
		cr_assert_eq(pthread_create(&th, NULL, fake_server, &f), 0);
		rd = ctl_redis_from_fd(sv[0]);
		cr_assert_not_null(rd);
		rc = ctl_redis_records_stream(rd, 4, LAYOUT_SUBJECT_RECORD_LEN, key_fn, wk_member,
					      wk_done, &g, err, sizeof(err));
		cr_expect_eq(rc, -EBADMSG, "key 3 is corrupt: got %d (%s)", rc, err);
		cr_expect(strstr(err, "key p:{7}:103 holds 32 bytes with a malformed vault unit") !=
			  NULL, "err names the key: '%s'", err);
		cr_expect_str_eq(g.log, "0:1 0:3 0! 1:1 1:2 1! 2! ",
				 "%zu-byte writes: events only, sorted: got '%s'", step, g.log);
		cr_expect_eq(ctl_redis_dup_records(rd), 0, "a resent unit is no duplicate record");
		cr_expect_eq(ctl_redis_corrupt_values(rd), 1);
		ctl_redis_close(rd);
		pthread_join(th, NULL);
	}
}

/* --- two shards (ctl_redis_from_map): replies put back in key order --- */

struct slow {
	int fd;
	const char *part1, *part2;   /* sent with pauses before each */
	unsigned wait1_ms, wait2_ms;
	size_t len1, len2;           /* binary parts: their lengths (0: strlen) */
};

static void *
slow_server(void *arg)
{
	struct slow *s = arg;
	char buf[4096];

	usleep(s->wait1_ms * 1000);
	(void)send(s->fd, s->part1, s->len1 != 0 ? s->len1 : strlen(s->part1), MSG_NOSIGNAL);
	usleep(s->wait2_ms * 1000);
	(void)send(s->fd, s->part2, s->len2 != 0 ? s->len2 : strlen(s->part2), MSG_NOSIGNAL);
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
 * Key 0 lives on shard A, key 1 on shard B.  B's reply starts first, A's
 * completes while B's is half read, then B's ends: it must be handed over
 * then, after A's, and the stream must not stall.
 */
Test(redis_stream, two_shards_in_key_order)
{
	struct slot_map *m = calloc(1, sizeof(*m));
	struct slow a = { .part1 = "$3\r\nxxx", .part2 = "\r\n", .wait1_ms = 60,
			  .wait2_ms = 1 };
	struct slow b = { .part1 = "$6\r\nzzzy", .part2 = "yy\r\n", .wait1_ms = 1,
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
	rc = ctl_redis_records_stream(r, 2, REC, two_key_fn, member_fn, done_fn, &g, err,
				      sizeof(err));
	cr_expect_eq(ctl_redis_calls(r), 2);
	ctl_redis_close(r);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	free(m);
	cr_assert_eq(rc, 0, "expected 0, got %d (%s)", rc, err);
	cr_assert_str_eq(g.log, "0:xxx 0! 1:yyy 1:zzz 1! ", "callbacks in key order, got '%s'",
			 g.log);
}

/* Two fake shards A (key 0) and B (key 1) answering with the given scripts. */
static int
run_two_rec(struct slow *a, struct slow *b, unsigned timeout_ms, size_t rec_len,
	    ctl_record_fn mfn, ctl_reply_done_fn dfn, void *ctx, uint64_t *dups,
	    uint64_t *corrupt, char *err, size_t errlen)
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
	rc = ctl_redis_records_stream(r, 2, rec_len, two_key_fn, mfn, dfn, ctx, err, errlen);
	*dups = ctl_redis_dup_records(r);
	*corrupt = ctl_redis_corrupt_values(r);
	ctl_redis_close(r);     /* the servers see EOF */
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	free(m);
	return rc;
}

static int
run_two(struct slow *a, struct slow *b, unsigned timeout_ms, struct got *g, char *err,
	size_t errlen)
{
	return run_two_rec(a, b, timeout_ms, REC, member_fn, done_fn, g, &g->dups, &g->corrupt,
			   err, errlen);
}

/* A week key's value held in B's queue: its vault unit taken out there, a torn one refused. */
Test(redis_stream, two_shards_held_week_key)
{
	uint8_t sealed[LAYOUT_VAULT_MAX] = { 0 }, unit[LAYOUT_VAULT_UNIT_MAX], r[2][8], v[128];
	char ans_a[256], ans_b[256];
	size_t ul = layout_vault_unit(unit, sealed, 29), vl = 0, la, lb;

	layout_subject_member(r[0], 1, 0, 1);
	layout_subject_member(r[1], 2, 0, 1);
	memcpy(v + vl, r[1], 8), vl += 8;
	memcpy(v + vl, unit, ul), vl += ul;
	memcpy(v + vl, r[0], 8), vl += 8;
	memcpy(v + vl, unit, ul), vl += ul;
	memcpy(v + vl, r[0], 8), vl += 8;              /* a resent record */
	la = bulk(ans_a, r[0], 8);
	for (int torn = 0; torn < 2; torn++) {
		struct slow a = { .part1 = ans_a, .len1 = la, .part2 = "", .wait1_ms = 80 };
		struct slow b = { .part1 = ans_b, .part2 = "" };
		struct wk_got g = { 0 };
		uint64_t dups = 0, corrupt = 0;
		char err[256] = "";
		int rc;

		lb = bulk(ans_b, v, torn ? vl - 8 - 8 : vl);   /* torn: the last unit cut short */
		b.len1 = lb;
		rc = run_two_rec(&a, &b, 5000, LAYOUT_SUBJECT_RECORD_LEN, wk_member, wk_done, &g,
				 &dups, &corrupt, err, sizeof(err));
		if (torn) {
			cr_assert_eq(rc, -EBADMSG, "got %d (%s)", rc, err);
			cr_assert(strstr(err, "malformed vault unit") != NULL, "%s", err);
			cr_assert_str_eq(g.log, "0:1 0! ", "A's records only: '%s'", g.log);
			cr_assert_eq(corrupt, 1);
		} else {
			cr_assert_eq(rc, 0, "got %d (%s)", rc, err);
			cr_assert_str_eq(g.log, "0:1 0! 1:1 1:2 1! ", "events only, sorted: '%s'",
					 g.log);
			cr_assert_eq(dups, 1, "the resent record, not the resent unit: %llu",
				     (unsigned long long)dups);
		}
	}
}

/* B's whole value arrives first: held, sorted and deduplicated in its queue, then handed over. */
Test(redis_stream, two_shards_held_value_sorted)
{
	struct slow a = { .part1 = "$3\r\nxxx\r\n", .part2 = "", .wait1_ms = 80 };
	struct slow b = { .part1 = "$12\r\nzzzyyyzzzaaa\r\n", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 5000, &g, err, sizeof(err));

	cr_assert_eq(rc, 0, "got %d (%s)", rc, err);
	cr_assert_str_eq(g.log, "0:xxx 0! 1:aaa 1:yyy 1:zzz 1! ", "'%s'", g.log);
	cr_assert_eq(g.dups, 1, "one duplicate, got %llu", (unsigned long long)g.dups);
}

/* B's corrupt value arrives first and is held: refused in its turn, naming its key. */
Test(redis_stream, two_shards_held_corrupt_value)
{
	struct slow a = { .part1 = "$3\r\nxxx\r\n", .part2 = "", .wait1_ms = 80 };
	struct slow b = { .part1 = "$5\r\nyyyzz\r\n", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 5000, &g, err, sizeof(err));

	cr_assert_eq(rc, -EBADMSG, "got %d (%s)", rc, err);
	cr_assert(strstr(err, "key p:{b}:b1 holds 5 bytes") != NULL, "%s", err);
	cr_assert_str_eq(g.log, "0:xxx 0! ", "A's records only: '%s'", g.log);
	cr_assert_eq(g.corrupt, 1);
}

/* B's error arrives first and is held; it is reported in its turn, after A's records. */
Test(redis_stream, two_shards_error_in_turn)
{
	struct slow a = { .part1 = "$3\r\nxxx\r\n", .part2 = "", .wait1_ms = 80 };
	struct slow b = { .part1 = "-NOPERM no access to p:{b}:b1\r\n", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 5000, &g, err, sizeof(err));

	cr_assert_eq(rc, -EACCES, "got %d (%s)", rc, err);
	cr_assert(strstr(err, "NOPERM no access to p:{b}:b1") != NULL, "%s", err);
	cr_assert_str_eq(g.log, "0:xxx 0! ", "A's reply first, then nothing: '%s'", g.log);
}

/* B never answers: the stream gives up after the timeout, naming B. */
Test(redis_stream, two_shards_silent_node_named)
{
	struct slow a = { .part1 = "$3\r\nxxx\r\n", .part2 = "" };
	struct slow b = { .part1 = "", .part2 = "" };
	struct got g = { .fail_at = -1 };
	char err[256] = "";
	int rc = run_two(&a, &b, 300, &g, err, sizeof(err));

	cr_assert_eq(rc, -EIO, "got %d (%s)", rc, err);
	cr_assert(strstr(err, "Redis node b:1: no answer within 300 ms") != NULL,
		  "the silent node, and only it, is named: %s", err);
	cr_assert_str_eq(g.log, "0:xxx 0! ", "'%s'", g.log);
}
