/*
 * Redis Cluster routing (proto/slot.h) without a server: the spec's CRC16
 * and hash-tag vectors, slot maps built from CLUSTER SLOTS replies (RESP
 * bytes fed to a hiredis redisReader), refusals of malformed or partial
 * replies, holes, refresh comparison, and MOVED/ASK text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <hiredis/hiredis.h>

#include "proto/layout.h"
#include "proto/slot.h"

/* --- RESP builders --- */

static char resp[65536];
static size_t rlen;

static void
put(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rlen += (size_t)vsnprintf(resp + rlen, sizeof(resp) - rlen, fmt, ap);
	va_end(ap);
}

static void
node(const char *host, int port, char idc)
{
	put("*3\r\n$%zu\r\n%s\r\n:%d\r\n$40\r\n", strlen(host), host, port);
	for (int i = 0; i < 40; i++)
		put("%c", idc);
	put("\r\n");
}

/* An entry [lo, hi, master, replicas...]: call node() nnodes times after. */
static void
entry(int lo, int hi, int nnodes)
{
	put("*%d\r\n:%d\r\n:%d\r\n", 2 + nnodes, lo, hi);
}

static void
start(int nentries)
{
	rlen = 0;
	put("*%d\r\n", nentries);
}

/* Parse the RESP bytes built so far (or the first n of them) into a reply. */
static redisReply *
reply_of(size_t n)
{
	redisReader *rd = redisReaderCreate();
	void *r = NULL;

	cr_assert_not_null(rd);
	cr_assert_eq(redisReaderFeed(rd, resp, n), REDIS_OK);
	if (redisReaderGetReply(rd, &r) != REDIS_OK)
		r = NULL;
	redisReaderFree(rd);
	return r;
}

/* A healthy 3-master, 1-replica cluster, the way redis-cli --cluster create splits it. */
static void
three_masters(void)
{
	start(3);
	entry(0, 5460, 2);
	node("127.0.0.1", 7000, 'a');
	node("127.0.0.1", 7003, 'd');
	entry(5461, 10922, 2);
	node("127.0.0.1", 7001, 'b');
	node("127.0.0.1", 7004, 'e');
	entry(10923, 16383, 2);
	node("127.0.0.1", 7002, 'c');
	node("127.0.0.1", 7005, 'f');
}

static struct slot_map *
map_of(const char *default_host, int want_rc, char *err, size_t errlen)
{
	struct slot_map *m = calloc(1, sizeof(*m));
	redisReply *r = reply_of(rlen);
	int rc;

	cr_assert_not_null(m);
	rc = slot_map_parse(r, default_host, m, err, errlen);
	cr_assert_eq(rc, want_rc, "slot_map_parse: rc %d, expected %d (%s)", rc, want_rc, err);
	if (r != NULL)
		freeReplyObject(r);
	return m;
}

/* --- the spec's vectors --- */

Test(slot, crc16_xmodem_vector)
{
	cr_assert_eq(slot_crc16("123456789", 9), 0x31C3, "crc16 = 0x%04x",
		     slot_crc16("123456789", 9));
	cr_assert_eq(slot_crc16("", 0), 0);
}

Test(slot, keyslot_vectors)
{
	cr_assert_eq(slot_of_key("123456789", 9), 12739);
	cr_assert_eq(slot_of_key("foo", 3), 12182);          /* CLUSTER KEYSLOT foo */
	cr_assert_eq(slot_of_key("bar", 3), 5061);
}

Test(slot, hash_tags)
{
	const char *a = "{user1000}.following", *b = "{user1000}.followers";

	cr_assert_eq(slot_of_key(a, strlen(a)), slot_of_key(b, strlen(b)));
	cr_assert_eq(slot_of_key(a, strlen(a)), slot_of_key("user1000", 8));
	/* an empty tag: the whole key */
	cr_assert_eq(slot_of_key("foo{}{bar}", 10), slot_crc16("foo{}{bar}", 10) & 16383);
	cr_assert_neq(slot_of_key("foo{}{bar}", 10), slot_of_key("bar", 3));
	/* the first '{' to the first '}' after it */
	cr_assert_eq(slot_of_key("foo{{bar}}zap", 13), slot_of_key("{bar", 4));
	cr_assert_eq(slot_of_key("foo{{bar}}zap", 13), slot_crc16("{bar", 4) & 16383);
	cr_assert_eq(slot_of_key("foo{bar}{zap}", 13), slot_of_key("bar", 3));
	/* no closing brace: the whole key */
	cr_assert_eq(slot_of_key("foo{bar", 7), slot_crc16("foo{bar", 7) & 16383);
	cr_assert_eq(slot_of_key("}foo{", 5), slot_crc16("}foo{", 5) & 16383);
}

/* A subject key is binary (proto/layout.h): the tag is the raw pid, NULs and all,
 * cut at a '}' inside it; the week's bytes after the tag never count. */
Test(slot, binary_subject_keys)
{
	char k[LAYOUT_KEY_MAX];
	uint8_t pid[PID_LEN] = { 0, 1, 2, 0, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
	size_t kl = layout_subject_key(k, pid, 2968);

	cr_assert_eq(kl, 22);
	cr_assert_eq(slot_of_key(k, kl), slot_crc16(pid, PID_LEN) & 16383, "the whole pid");
	cr_assert_eq(slot_of_key(k, kl), slot_of_key(k, layout_subject_key(k, pid, 0x7b7d)),
		     "every week of a subject on one slot, '{' '}' in the week or not");
	pid[6] = '}';
	kl = layout_subject_key(k, pid, 2968);
	cr_assert_eq(slot_of_key(k, kl), slot_crc16(pid, 6) & 16383, "the pid up to its '}'");
	pid[0] = '}';
	kl = layout_subject_key(k, pid, 2968);
	cr_assert_eq(slot_of_key(k, kl), slot_crc16(k, kl) & 16383, "an empty tag: the whole key");
}

/* --- slot maps --- */

Test(slot, map_three_masters)
{
	char err[256] = "";
	struct slot_map *m;

	three_masters();
	m = map_of(NULL, 0, err, sizeof(err));
	cr_assert_eq(m->nshards, 3);
	cr_assert_eq(m->holes, 0);
	cr_assert_eq(slot_map_next_hole(m, 0), -1);
	cr_assert_str_eq(m->shards[0].master.ep.host, "127.0.0.1");
	cr_assert_eq(m->shards[0].master.ep.port, 7000);
	cr_assert_eq(m->shards[0].nslots, 5461);
	cr_assert_eq(m->shards[2].nslots, 5461);
	cr_assert_eq(m->shards[1].nreplicas, 1);
	cr_assert_eq(m->shards[1].replicas[0].ep.port, 7004);
	cr_assert_eq(strlen(m->shards[1].master.id), 40);
	cr_assert_eq(m->shards[1].master.id[0], 'b');
	cr_assert_eq(slot_map_owner(m, 0)->master.ep.port, 7000);
	cr_assert_eq(slot_map_owner(m, 5460)->master.ep.port, 7000);
	cr_assert_eq(slot_map_owner(m, 5461)->master.ep.port, 7001);
	cr_assert_eq(slot_map_owner(m, 16383)->master.ep.port, 7002);
	/* 123456789 is in slot 12739: the third master */
	cr_assert_eq(slot_map_shard_of_key(m, "123456789", 9), 2);
	struct redis_endpoint ep = { "127.0.0.1", 7001 };
	cr_assert_eq(slot_map_find_master(m, &ep), 1);
	ep.port = 7004;          /* a replica is not a master */
	cr_assert_eq(slot_map_find_master(m, &ep), -1);
	free(m);
}

Test(slot, map_one_master_several_ranges_and_metadata)
{
	char err[256] = "";
	struct slot_map *m;

	start(3);
	entry(0, 99, 1);
	node("10.0.0.1", 6379, 'a');
	entry(100, 199, 1);
	node("10.0.0.2", 6379, 'b');
	/* Redis 7 adds a 4th element per node: networking metadata */
	put("*3\r\n:200\r\n:16383\r\n*4\r\n$8\r\n10.0.0.1\r\n:6379\r\n$40\r\n");
	for (int i = 0; i < 40; i++)
		put("a");
	put("\r\n*2\r\n$8\r\nhostname\r\n$5\r\nnode1\r\n");
	m = map_of(NULL, 0, err, sizeof(err));
	cr_assert_eq(m->nshards, 2, "one shard per master, not per range");
	cr_assert_eq(m->shards[0].nslots, 100 + 16184);
	cr_assert_eq(m->shards[1].nslots, 100);
	cr_assert_eq(m->holes, 0);
	free(m);
}

Test(slot, map_holes_reported)
{
	char err[256] = "";
	struct slot_map *m;

	start(2);
	entry(0, 100, 1);
	node("127.0.0.1", 7000, 'a');
	entry(200, 16000, 1);
	node("127.0.0.1", 7001, 'b');
	m = map_of(NULL, 0, err, sizeof(err));
	cr_assert_eq(m->holes, 99 + 383, "holes %u", m->holes);
	cr_assert_eq(slot_map_next_hole(m, 0), 101);
	cr_assert_eq(slot_map_next_hole(m, 102), 102);
	cr_assert_eq(slot_map_next_hole(m, 200), 16001);
	cr_assert_null(slot_map_owner(m, 150));
	cr_assert_eq(slot_map_owner(m, 16000)->master.ep.port, 7001);
	free(m);

	start(0);              /* a cluster with no slots assigned */
	m = map_of(NULL, 0, err, sizeof(err));
	cr_assert_eq(m->holes, 16384);
	cr_assert_eq(m->nshards, 0);
	free(m);
}

Test(slot, map_empty_host_takes_the_seed)
{
	char err[256] = "";
	struct slot_map *m;

	start(1);
	entry(0, 16383, 1);
	node("", 7000, 'a');
	m = map_of("192.0.2.1", 0, err, sizeof(err));
	cr_assert_str_eq(m->shards[0].master.ep.host, "192.0.2.1");
	free(m);
	m = map_of(NULL, -EINVAL, err, sizeof(err));
	cr_assert(strstr(err, "no host") != NULL, "%s", err);
	free(m);
}

struct bad_reply {
	char resp[512];
	char why[48];           /* a word the error must contain */
};

ParameterizedTestParameters(slot, map_refused)
{
	static struct bad_reply cases[] = {
		{ "+OK\r\n", "not an array" },
		{ "-ERR This instance has cluster support disabled\r\n", "cluster support disabled" },
		{ ":5\r\n", "not an array" },
		{ "*1\r\n*2\r\n:0\r\n:16383\r\n", "entry 1" },
		{ "*1\r\n*3\r\n$1\r\n0\r\n:16383\r\n*2\r\n$1\r\nh\r\n:1\r\n", "entry 1" },
		{ "*1\r\n*3\r\n:10\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", "bad range" },
		{ "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n", "bad range" },
		{ "*1\r\n*3\r\n:-1\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n", "bad range" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n$4\r\n7000\r\n", "port" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n", "port" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:65536\r\n", "port" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n:1\r\n:7000\r\n", "host" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*1\r\n$1\r\nh\r\n", "node" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n$1\r\nh\r\n", "node" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\n?\r\n:7000\r\n", "unknown" },
		{ "*1\r\n*3\r\n:0\r\n:5\r\n*3\r\n$1\r\nh\r\n:7000\r\n:1\r\n", "id" },
		{ "*2\r\n*3\r\n:0\r\n:100\r\n*2\r\n$1\r\na\r\n:1\r\n"
		  "*3\r\n:100\r\n:200\r\n*2\r\n$1\r\nb\r\n:1\r\n", "two ranges" },
		{ "*1\r\n$3\r\nfoo\r\n", "entry 1" },
	};
	return cr_make_param_array(struct bad_reply, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_reply *c, slot, map_refused)
{
	char err[256] = "";
	struct slot_map *m;

	rlen = 0;
	put("%s", c->resp);
	m = map_of(NULL, -EINVAL, err, sizeof(err));
	cr_assert(strstr(err, c->why) != NULL, "'%s': error '%s' should mention '%s'", c->resp,
		  err, c->why);
	cr_assert(strncmp(err, "CLUSTER SLOTS", 13) == 0, "error '%s' names its source", err);
	free(m);
}

Test(slot, partial_reply_refused)
{
	char err[256] = "";
	struct slot_map m;
	size_t full;

	three_masters();
	full = rlen;
	/* every proper prefix of the bytes is an incomplete reply: no map */
	for (size_t n = 1; n < full; n += 7) {
		redisReply *r = reply_of(n);

		cr_assert_null(r, "a %zu-byte prefix of %zu gave a reply", n, full);
		cr_assert_eq(slot_map_parse(r, NULL, &m, err, sizeof(err)), -EINVAL);
	}
	cr_assert(strstr(err, "no reply") != NULL, "%s", err);
}

Test(slot, refresh_compare_and_move)
{
	char err[256] = "";
	struct slot_map *a, *b, *c;
	struct redis_endpoint to = { "127.0.0.1", 7002 }, fresh = { "127.0.0.1", 7010 };

	three_masters();
	a = map_of(NULL, 0, err, sizeof(err));
	b = map_of(NULL, 0, err, sizeof(err));
	cr_assert(slot_map_equal(a, b));
	/* slot 0 migrated to the third master */
	cr_assert_eq(slot_map_move(b, 0, &to), 0);
	cr_assert_not(slot_map_equal(a, b));
	cr_assert_eq(slot_map_owner(b, 0)->master.ep.port, 7002);
	cr_assert_eq(b->shards[0].nslots, 5460);
	cr_assert_eq(b->shards[2].nslots, 5462);
	/* the same map as CLUSTER SLOTS would report after the migration */
	start(4);
	entry(0, 0, 2);
	node("127.0.0.1", 7002, 'c');
	node("127.0.0.1", 7005, 'f');
	entry(1, 5460, 2);
	node("127.0.0.1", 7000, 'a');
	node("127.0.0.1", 7003, 'd');
	entry(5461, 10922, 2);
	node("127.0.0.1", 7001, 'b');
	node("127.0.0.1", 7004, 'e');
	entry(10923, 16383, 2);
	node("127.0.0.1", 7002, 'c');
	node("127.0.0.1", 7005, 'f');
	c = map_of(NULL, 0, err, sizeof(err));
	cr_assert_eq(c->nshards, 3);
	cr_assert_eq(slot_map_owner(c, 0)->master.ep.port, 7002);
	cr_assert_eq(c->shards[0].master.ep.port, 7002, "shards in first-seen order");
	cr_assert_not(slot_map_equal(b, c), "same owners, but the shard order differs");
	/* a master the map did not know becomes a new shard */
	cr_assert_eq(slot_map_move(a, 100, &fresh), 0);
	cr_assert_eq(a->nshards, 4);
	cr_assert_eq(slot_map_owner(a, 100)->master.ep.port, 7010);
	free(a);
	free(b);
	free(c);
}

Test(slot, redirects)
{
	struct slot_redirect r;
	const char *s;

	s = "MOVED 3999 127.0.0.1:6381";
	cr_assert_eq(slot_redirect_parse(s, strlen(s), &r), SLOT_REDIRECT_MOVED);
	cr_assert_eq(r.slot, 3999);
	cr_assert_str_eq(r.ep.host, "127.0.0.1");
	cr_assert_eq(r.ep.port, 6381);
	s = "ASK 12739 ::1:7000";
	cr_assert_eq(slot_redirect_parse(s, strlen(s), &r), SLOT_REDIRECT_ASK);
	cr_assert_str_eq(r.ep.host, "::1");
	cr_assert_eq(r.ep.port, 7000);
	s = "ASK 1 [::1]:7000";
	cr_assert_eq(slot_redirect_parse(s, strlen(s), &r), SLOT_REDIRECT_ASK);
	cr_assert_str_eq(r.ep.host, "::1");
	s = "MOVED 5 :7001";         /* unknown endpoint: the same host */
	cr_assert_eq(slot_redirect_parse(s, strlen(s), &r), SLOT_REDIRECT_MOVED);
	cr_assert_str_eq(r.ep.host, "");
	cr_assert_eq(r.ep.port, 7001);
	static const char *bad[] = {
		"ERR unknown command", "MOVED", "MOVED 16384 h:1", "MOVED x h:1",
		"MOVED 1 h", "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:70a",
		"TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(slot_redirect_parse(bad[i], strlen(bad[i]), &r), SLOT_REDIRECT_NONE,
			     "'%s' is no redirect", bad[i]);
}
