/*
 * One connection to one Redis node (redis_conn.h).
 *
 * The socket is non-blocking from the start; every wait is a poll() with
 * the caller's timeout, so a node that is down (connect refused), gone
 * (no route) or stopped (SIGSTOP: the kernel still completes the
 * handshake, then nothing answers) always comes back as an error naming
 * the node.  Bytes read go to one of two hiredis readers, both through the
 * public API (redisReaderFeed / redisReaderGetReply):
 *  - obj: the default reply objects, flattened into a ctl_reply (or, for
 *    CLUSTER SLOTS, handed to proto/slot.c as they are);
 *  - stream: redisReplyObjectFunctions that build nothing and call the
 *    ctl_conn_stream callbacks instead, for the trace's millions of
 *    records (a bulk string is handed over where the reader holds it).
 * Requests and replies alternate (nothing is unsolicited in RESP2), so a
 * reader is never switched with bytes of a reply still in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "redis_conn.h"

struct ctl_conn {
	int fd;
	char name[300];
	redisReader *obj, *stream;
	const struct ctl_conn_stream *fns;
	void *ctx;
	char error[160];
};

/* --- the stream reader: callbacks instead of objects --- */

static char stream_obj;       /* every object the stream reader "creates" */

static struct ctl_conn *
task_conn(const redisReadTask *t)
{
	return t->privdata;
}

static void *
st_string(const redisReadTask *t, char *s, size_t len)
{
	struct ctl_conn *c = task_conn(t);
	enum ctl_top kind = t->type == REDIS_REPLY_ERROR ? CTL_TOP_ERROR :
			    t->type == REDIS_REPLY_STRING ? CTL_TOP_STRING : CTL_TOP_OTHER;

	if (t->parent != NULL)
		c->fns->member(c->ctx, kind, s, len);
	else
		c->fns->top(c->ctx, kind, s, len);
	return &stream_obj;
}

static void *
st_array(const redisReadTask *t, int elements)
{
	struct ctl_conn *c = task_conn(t);

	if (t->parent != NULL)
		c->fns->member(c->ctx, CTL_TOP_ARRAY, NULL, (size_t)elements);  /* nested */
	else
		c->fns->top(c->ctx, CTL_TOP_ARRAY, NULL, (size_t)elements);
	return &stream_obj;
}

static void *
st_integer(const redisReadTask *t, long long v)
{
	struct ctl_conn *c = task_conn(t);

	(void)v;
	if (t->parent != NULL)
		c->fns->member(c->ctx, CTL_TOP_OTHER, NULL, 0);
	else
		c->fns->top(c->ctx, CTL_TOP_OTHER, NULL, 0);
	return &stream_obj;
}

static void *
st_nil(const redisReadTask *t)
{
	struct ctl_conn *c = task_conn(t);

	if (t->parent != NULL)
		c->fns->member(c->ctx, CTL_TOP_NIL, NULL, 0);
	else
		c->fns->top(c->ctx, CTL_TOP_NIL, NULL, 0);
	return &stream_obj;
}

static redisReplyObjectFunctions stream_fns = {
	.createString = st_string,
	.createArray = st_array,
	.createInteger = st_integer,
	.createNil = st_nil,
	.freeObject = NULL,
};

/* --- connecting --- */

static struct ctl_conn *
conn_new(int fd)
{
	struct ctl_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	c->obj = redisReaderCreate();
	c->stream = redisReaderCreateWithFunctions(&stream_fns);
	if (c->obj == NULL || c->stream == NULL) {
		if (c->obj != NULL)
			redisReaderFree(c->obj);
		if (c->stream != NULL)
			redisReaderFree(c->stream);
		free(c);
		return NULL;
	}
	redisReaderSetPrivdata(c->stream, c);
	return c;
}

/* Wait for fd to be ready for events until deadline (ms). 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		long long left = deadline - ((long long)(chot_mono_us() / 1000));
		int n;

		if (left < 0)
			left = 0;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int
connect_one(const struct sockaddr *sa, socklen_t len, long long deadline, int *err)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	socklen_t el = sizeof(*err);

	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (connect(fd, sa, len) != 0) {
		if (errno != EINPROGRESS) {
			*err = errno;
			close(fd);
			return -1;
		}
		if (wait_fd(fd, POLLOUT, deadline) <= 0) {
			*err = ETIMEDOUT;
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, err, &el) != 0 || *err != 0) {
			if (*err == 0)
				*err = errno;
			close(fd);
			return -1;
		}
	}
	if (sa->sa_family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

struct ctl_conn *
ctl_conn_open(const struct redis_endpoint *ep, const char *path, unsigned timeout_ms, char *err,
	      size_t errlen)
{
	long long deadline = ((long long)(chot_mono_us() / 1000)) + timeout_ms;
	char name[300];
	struct ctl_conn *c;
	int fd = -1, e = 0;

	if (ep != NULL) {
		struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
		struct addrinfo *ai = NULL;
		char port[8];
		int g;

		redis_endpoint_format(ep, name, sizeof(name));
		snprintf(port, sizeof(port), "%u", (unsigned)ep->port);
		g = getaddrinfo(ep->host, port, &hints, &ai);
		if (g != 0) {
			snprintf(err, errlen, "%s: %s", name, gai_strerror(g));
			return NULL;
		}
		for (struct addrinfo *a = ai; a != NULL && fd < 0; a = a->ai_next)
			fd = connect_one(a->ai_addr, a->ai_addrlen, deadline, &e);
		freeaddrinfo(ai);
	} else {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(name, sizeof(name), "%s", path);
		if (strlen(path) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "%s: socket path too long", path);
			return NULL;
		}
		memcpy(sun.sun_path, path, strlen(path));
		fd = connect_one((struct sockaddr *)&sun, sizeof(sun), deadline, &e);
	}
	if (fd < 0) {
		if (e == ETIMEDOUT)
			snprintf(err, errlen, "%s: no connection within %u ms", name, timeout_ms);
		else
			snprintf(err, errlen, "%s: %s", name, strerror(e));
		return NULL;
	}
	c = conn_new(fd);
	if (c == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(c->name, sizeof(c->name), "%s", name);
	return c;
}

struct ctl_conn *
ctl_conn_from_fd(int fd)
{
	struct ctl_conn *c;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		return NULL;
	c = conn_new(fd);
	if (c != NULL)
		snprintf(c->name, sizeof(c->name), "fd %d", fd);
	return c;
}

void
ctl_conn_close(struct ctl_conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	redisReaderFree(c->obj);
	redisReaderFree(c->stream);
	free(c);
}

void
ctl_conn_name_as(struct ctl_conn *c, const struct redis_endpoint *ep)
{
	redis_endpoint_format(ep, c->name, sizeof(c->name));
}

const char *
ctl_conn_name(const struct ctl_conn *c)
{
	return c->name;
}

int
ctl_conn_fd(const struct ctl_conn *c)
{
	return c->fd;
}

const char *
ctl_conn_error(const struct ctl_conn *c)
{
	return c->error[0] != '\0' ? c->error : "connection lost";
}

/* --- writing --- */

long
ctl_conn_send_some(struct ctl_conn *c, const char *buf, size_t len)
{
	ssize_t w = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (w >= 0)
		return (long)w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	snprintf(c->error, sizeof(c->error), "%s", strerror(errno));
	return -EIO;
}

int
ctl_conn_send(struct ctl_conn *c, const char *buf, size_t len, unsigned timeout_ms, char *err,
	      size_t errlen)
{
	long long deadline = ((long long)(chot_mono_us() / 1000)) + timeout_ms;
	size_t off = 0;

	while (off < len) {
		long w = ctl_conn_send_some(c, buf + off, len - off);

		if (w < 0) {
			snprintf(err, errlen, "Redis node %s: connection lost: %s", c->name,
				 c->error);
			return -EIO;
		}
		off += (size_t)w;
		if (off < len && wait_fd(c->fd, POLLOUT, deadline) <= 0) {
			snprintf(err, errlen, "Redis node %s: not reading its requests within %u ms",
				 c->name, timeout_ms);
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* --- reading --- */

/* recv into buf: bytes read, 0 nothing yet, -EIO (c->error set). */
static ssize_t
recv_some(struct ctl_conn *c, char *buf, size_t cap)
{
	ssize_t got = recv(c->fd, buf, cap, MSG_DONTWAIT);

	if (got == 0) {
		snprintf(c->error, sizeof(c->error), "connection closed by the server");
		return -EIO;
	}
	if (got < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		snprintf(c->error, sizeof(c->error), "%s", strerror(errno));
		return -EIO;
	}
	return got;
}

/* recv into reader r: 1 read, 0 nothing yet, -EIO (c->error set). */
static int
recv_into(struct ctl_conn *c, redisReader *r)
{
	char buf[65536];
	ssize_t got = recv_some(c, buf, sizeof(buf));

	if (got <= 0)
		return (int)got;
	if (redisReaderFeed(r, buf, (size_t)got) != REDIS_OK) {
		snprintf(c->error, sizeof(c->error), "out of memory");
		return -EIO;
	}
	return 1;
}

/* One reply object from the obj reader, waiting at most timeout_ms. */
static int
read_object(struct ctl_conn *c, redisReply **out, unsigned timeout_ms, char *err, size_t errlen)
{
	long long deadline = ((long long)(chot_mono_us() / 1000)) + timeout_ms;
	void *rep = NULL;

	for (;;) {
		int rc;

		if (redisReaderGetReply(c->obj, &rep) != REDIS_OK) {
			snprintf(c->error, sizeof(c->error), "%s", c->obj->errstr);
			snprintf(err, errlen, "Redis node %s: connection lost: %s", c->name, c->error);
			return -EIO;
		}
		if (rep != NULL) {
			*out = rep;
			return 0;
		}
		rc = recv_into(c, c->obj);
		if (rc < 0) {
			snprintf(err, errlen, "Redis node %s: connection lost: %s", c->name, c->error);
			return -EIO;
		}
		if (rc == 0 && wait_fd(c->fd, POLLIN, deadline) <= 0) {
			snprintf(c->error, sizeof(c->error), "no answer within %u ms", timeout_ms);
			snprintf(err, errlen, "Redis node %s: no answer within %u ms (stopped or "
				 "overloaded?)", c->name, timeout_ms);
			return -ETIMEDOUT;
		}
	}
}

static int
flatten(const redisReply *rep, struct ctl_reply *out)
{
	memset(out, 0, sizeof(*out));
	switch (rep->type) {
	case REDIS_REPLY_ERROR:
		out->is_error = 1;
		snprintf(out->err, sizeof(out->err), "%s", rep->str);
		return 0;
	case REDIS_REPLY_INTEGER:
		out->integer = rep->integer;
		return 0;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		out->v = calloc(1, sizeof(*out->v));
		if (out->v == NULL || (out->v[0].p = malloc(rep->len + 1)) == NULL)
			return -ENOMEM;
		memcpy(out->v[0].p, rep->str, rep->len);
		out->v[0].p[rep->len] = '\0';
		out->v[0].len = rep->len;
		out->n = 1;
		return 0;
	case REDIS_REPLY_ARRAY:
		out->v = calloc(rep->elements + 1, sizeof(*out->v));
		if (out->v == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < rep->elements; i++) {
			const redisReply *e = rep->element[i];
			size_t len = e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_STATUS
					     ? e->len : 0;

			out->v[i].p = malloc(len + 1);
			if (out->v[i].p == NULL)
				return -ENOMEM;
			if (len > 0)
				memcpy(out->v[i].p, e->str, len);
			out->v[i].p[len] = '\0';
			out->v[i].len = len;
			out->n++;
		}
		return 0;
	default:        /* nil */
		return 0;
	}
}

int
ctl_conn_reply(struct ctl_conn *c, struct ctl_reply *out, unsigned timeout_ms, char *err,
	       size_t errlen)
{
	redisReply *rep;
	int rc = read_object(c, &rep, timeout_ms, err, errlen);

	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	rc = flatten(rep, out);
	freeReplyObject(rep);
	if (rc != 0) {
		ctl_reply_free(out);
		snprintf(err, errlen, "out of memory");
	}
	return rc;
}

/* Nodes and string bytes (with their NULs) of a reply. */
static void
tree_size(const redisReply *rep, size_t *nodes, size_t *bytes)
{
	(*nodes)++;
	if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ||
	    rep->type == REDIS_REPLY_ERROR)
		*bytes += rep->len + 1;
	else if (rep->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < rep->elements; i++)
			tree_size(rep->element[i], nodes, bytes);
}

/* Append rep and its subtree to t in pre-order. */
static void
tree_put(const redisReply *rep, struct ctl_tree *t, size_t *used)
{
	struct ctl_node *nd = &t->v[t->n++];

	memset(nd, 0, sizeof(*nd));
	if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ||
	    rep->type == REDIS_REPLY_ERROR) {
		nd->type = rep->type == REDIS_REPLY_ERROR ? CTL_NODE_ERR : CTL_NODE_STR;
		nd->p = t->buf + *used;
		nd->n = rep->len;
		memcpy(t->buf + *used, rep->str, rep->len);
		t->buf[*used + rep->len] = '\0';
		*used += rep->len + 1;
	} else if (rep->type == REDIS_REPLY_INTEGER) {
		nd->type = CTL_NODE_INT;
		nd->integer = rep->integer;
	} else if (rep->type == REDIS_REPLY_ARRAY) {
		nd->type = CTL_NODE_ARR;
		nd->n = rep->elements;
		for (size_t i = 0; i < rep->elements; i++)
			tree_put(rep->element[i], t, used);
	} else {
		nd->type = CTL_NODE_NIL;
	}
	nd->next = t->n;
}

int
ctl_conn_reply_tree(struct ctl_conn *c, struct ctl_tree *out, unsigned timeout_ms, char *err,
		    size_t errlen)
{
	redisReply *rep;
	size_t nodes = 0, bytes = 0, used = 0;
	int rc = read_object(c, &rep, timeout_ms, err, errlen);

	memset(out, 0, sizeof(*out));
	if (rc != 0)
		return rc;
	tree_size(rep, &nodes, &bytes);
	out->v = calloc(nodes, sizeof(*out->v));
	out->buf = malloc(bytes + 1);
	if (out->v == NULL || out->buf == NULL) {
		freeReplyObject(rep);
		ctl_tree_free(out);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	tree_put(rep, out, &used);
	freeReplyObject(rep);
	return 0;
}

int
ctl_conn_slots(struct ctl_conn *c, const char *default_host, struct slot_map *m,
	       unsigned timeout_ms, char *err, size_t errlen)
{
	redisReply *rep;
	char why[256];
	int rc = read_object(c, &rep, timeout_ms, err, errlen);

	if (rc != 0)
		return rc;
	rc = slot_map_parse(rep, default_host, m, why, sizeof(why));
	freeReplyObject(rep);
	if (rc != 0)
		snprintf(err, errlen, "Redis node %s: %s", c->name, why);
	return rc;
}

/* --- streaming --- */

void
ctl_conn_stream_on(struct ctl_conn *c, const struct ctl_conn_stream *fns, void *ctx)
{
	c->fns = fns;
	c->ctx = ctx;
}

void
ctl_conn_stream_off(struct ctl_conn *c)
{
	c->fns = NULL;
	c->ctx = NULL;
}

/*
 * What the stream reader is fed at a time.  hiredis 0.14's reader moves
 * the rest of its buffer to the front after every reply once 1 KiB is
 * consumed (sdsrange): fed a whole 64 KiB read, each of its ~80 presence
 * replies moved ~32 KiB, 7 % of a depth-2 trace's CPU at 1 M citizens.
 * Fed 4 KiB at a time, a reply moves at most that.
 */
#define STREAM_FEED 4096

int
ctl_conn_stream_recv(struct ctl_conn *c)
{
	char buf[65536];
	ssize_t got = recv_some(c, buf, sizeof(buf));

	if (got <= 0)
		return (int)got;
	for (size_t at = 0; at < (size_t)got; at += STREAM_FEED) {
		size_t n = (size_t)got - at < STREAM_FEED ? (size_t)got - at : STREAM_FEED;

		if (redisReaderFeed(c->stream, buf + at, n) != REDIS_OK) {
			snprintf(c->error, sizeof(c->error), "out of memory");
			return -EIO;
		}
		for (;;) {
			void *rep = NULL;
			int e;

			if (redisReaderGetReply(c->stream, &rep) != REDIS_OK) {
				snprintf(c->error, sizeof(c->error), "%s", c->stream->errstr);
				return -EIO;
			}
			if (rep == NULL)
				break;
			e = c->fns->end(c->ctx);
			if (e < 0)
				return e;
		}
	}
	return 1;
}
