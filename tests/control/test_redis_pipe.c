/*
 * ctl_redis_pipe() and ctl_redis_pipe_tree() (control/redis.h) against a
 * fake server on a socketpair: the commands arrive RESP-encoded back to
 * back (proto/resp.h), and scripted answers come back flattened, as trees
 * in pre-order (next = past the subtree, strings NUL-terminated), or as a
 * lost connection.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "redis.h"

struct fake {
	int fd;
	const char *answer;
	size_t want_req;        /* request bytes to read before answering */
	char req[4096];
	size_t req_len;
};

static void *
fake_server(void *arg)
{
	struct fake *f = arg;

	while (f->req_len < f->want_req) {
		ssize_t got = read(f->fd, f->req + f->req_len, sizeof(f->req) - f->req_len);

		if (got <= 0)
			break;
		f->req_len += (size_t)got;
	}
	(void)send(f->fd, f->answer, strlen(f->answer), MSG_NOSIGNAL);
	shutdown(f->fd, SHUT_WR);
	while (read(f->fd, f->req + 0, 1) > 0)
		;
	close(f->fd);
	return NULL;
}

static struct ctl_redis *
start(struct fake *f, pthread_t *th)
{
	int sv[2];
	struct ctl_redis *r;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->fd = sv[1];
	cr_assert_eq(pthread_create(th, NULL, fake_server, f), 0);
	r = ctl_redis_from_fd(sv[0]);
	cr_assert_not_null(r);
	return r;
}

Test(redis_pipe, flat_replies_and_the_bytes_sent)
{
	static const char want[] = "*2\r\n$7\r\nHGETALL\r\n$1\r\nh\r\n*3\r\n$3\r\nGET\r\n$1\r\nk\r\n"
				   "$0\r\n\r\n";
	struct fake f = { .answer = "*2\r\n$1\r\na\r\n$2\r\nbc\r\n-NOPERM no\r\n",
			  .want_req = sizeof(want) - 1 };
	const char *a0[] = { "HGETALL", "h" }, *a1[] = { "GET", "k", "" };
	const char *const *argv[] = { a0, a1 };
	const size_t l0[] = { 7, 1 }, l1[] = { 3, 1, 0 };
	const size_t *argl[] = { l0, l1 };
	int argc[] = { 2, 3 };
	struct ctl_reply out[2];
	char err[256] = "";
	pthread_t th;
	struct ctl_redis *r = start(&f, &th);
	int rc = ctl_redis_pipe(r, 2, argc, argv, argl, out, err, sizeof(err));

	cr_assert_eq(ctl_redis_calls(r), 2);
	ctl_redis_close(r);
	pthread_join(th, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(f.req_len, sizeof(want) - 1);
	cr_assert(memcmp(f.req, want, f.req_len) == 0, "the commands as RESP, back to back");
	cr_assert_eq(out[0].n, 2);
	cr_assert_str_eq(out[0].v[1].p, "bc");
	cr_assert(out[1].is_error);
	cr_assert_str_eq(out[1].err, "NOPERM no");
	ctl_reply_free(&out[0]);
	ctl_reply_free(&out[1]);
}

Test(redis_pipe, tree_replies)
{
	/* [[key, [[id, [f, v]]]]] then nil, an integer and an error */
	struct fake f = { .answer = "*1\r\n*2\r\n$3\r\nkey\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n"
				    "$1\r\nf\r\n$1\r\nv\r\n$-1\r\n:42\r\n-EXECABORT x\r\n",
			  .want_req = 1 };
	const char *a[] = { "XREAD" };
	const char *const *argv[] = { a, a, a, a };
	const size_t l[] = { 5 };
	const size_t *argl[] = { l, l, l, l };
	int argc[] = { 1, 1, 1, 1 };
	struct ctl_tree t[4];
	char err[256] = "";
	pthread_t th;
	struct ctl_redis *r = start(&f, &th);
	int rc = ctl_redis_pipe_tree(r, 4, argc, argv, argl, t, err, sizeof(err));

	ctl_redis_close(r);
	pthread_join(th, NULL);
	cr_assert_eq(rc, 0, "%s", err);
	cr_assert_eq(t[0].n, 9, "9 nodes, got %zu", t[0].n);
	cr_assert_eq(t[0].v[0].type, CTL_NODE_ARR);
	cr_assert_eq(t[0].v[0].n, 1);
	cr_assert_eq(t[0].v[0].next, 9);
	cr_assert_eq(t[0].v[1].type, CTL_NODE_ARR);
	cr_assert_str_eq(t[0].v[2].p, "key");
	cr_assert_eq(t[0].v[2].next, 3);
	cr_assert_eq(t[0].v[3].n, 1);
	cr_assert_str_eq(t[0].v[5].p, "1-0");
	cr_assert_eq(t[0].v[6].next, 9);
	cr_assert_str_eq(t[0].v[8].p, "v");
	cr_assert_eq(t[1].v[0].type, CTL_NODE_NIL);
	cr_assert_eq(t[2].v[0].type, CTL_NODE_INT);
	cr_assert_eq(t[2].v[0].integer, 42);
	cr_assert_eq(t[3].v[0].type, CTL_NODE_ERR);
	cr_assert_str_eq(t[3].v[0].p, "EXECABORT x");
	for (int i = 0; i < 4; i++)
		ctl_tree_free(&t[i]);
	cr_assert_null(t[0].v);
}

Test(redis_pipe, lost_connection)
{
	struct fake f = { .answer = "*2\r\n$1\r\na\r\n", .want_req = 1 };
	const char *a[] = { "GET", "k" };
	const char *const *argv[] = { a, a };
	const size_t l[] = { 3, 1 };
	const size_t *argl[] = { l, l };
	int argc[] = { 2, 2 };
	struct ctl_reply out[2];
	char err[256] = "";
	pthread_t th;
	struct ctl_redis *r = start(&f, &th);
	int rc = ctl_redis_pipe(r, 2, argc, argv, argl, out, err, sizeof(err));

	cr_assert_eq(rc, -EIO, "a short answer is a lost connection, got %d", rc);
	cr_assert(strstr(err, "connection lost") != NULL, "%s", err);
	cr_assert_null(out[0].v, "nothing half-returned");
	rc = ctl_redis_pipe(r, 1, argc, argv, argl, out, err, sizeof(err));
	cr_assert_eq(rc, -EIO, "and later calls fail too");
	cr_assert(strstr(err, "lost earlier") != NULL, "%s", err);
	ctl_redis_close(r);
	pthread_join(th, NULL);
}
