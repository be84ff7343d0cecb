/*
 * chotctl's Redis client (see redis.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "redis.h"

struct ctl_redis {
	redisContext *c;
	uint64_t calls;
};

/*
 * HOST:PORT of a redis:// URL after the scheme (optional user:pass@, a
 * bracketed IPv6 literal, optional :PORT, default 6379, optional /DB
 * ignored): 0, or -EINVAL for anything else.  The port is read strictly.
 */
static int
redis_url_host_port(const char *h, char *host, size_t hostlen, int *port)
{
	const char *at = strrchr(h, '@'), *end, *p;
	size_t hl;
	unsigned long v = 0;

	if (at != NULL)
		h = at + 1;
	if (*h == '[') {
		end = strchr(h, ']');
		if (end == NULL)
			return -EINVAL;
		hl = (size_t)(end - h - 1);
		h++;
		p = end + 1;
	} else {
		hl = strcspn(h, ":/");
		p = h + hl;
	}
	if (hl == 0 || hl >= hostlen)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = 6379;
	if (*p == ':') {
		const char *d = ++p;

		while (*p >= '0' && *p <= '9' && v <= 65535)
			v = v * 10 + (unsigned long)(*p++ - '0');
		if (p == d || v == 0 || v > 65535)
			return -EINVAL;
		*port = (int)v;
	}
	return *p == '\0' || *p == '/' ? 0 : -EINVAL;
}

struct ctl_redis *
ctl_redis_open(const char *url, const char *user, const char *password, char *err,
	       size_t errlen, int *unavailable)
{
	struct timeval tv = { .tv_sec = 3 };
	struct ctl_redis *r = calloc(1, sizeof(*r));
	char host[256];
	int port = 6379;

	*unavailable = 0;
	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		r->c = redisConnectUnixWithTimeout(url + 7, tv);
	} else if (strncmp(url, "redis://", 8) == 0) {
		if (redis_url_host_port(url + 8, host, sizeof(host), &port) != 0) {
			snprintf(err, errlen, "%s: bad Redis URL (redis://HOST:PORT, "
				 "redis://[IPv6]:PORT)", url);
			free(r);
			return NULL;
		}
		r->c = redisConnectWithTimeout(host, port, tv);
	} else {
		snprintf(err, errlen, "%s: expected redis://HOST:PORT or unix://PATH", url);
		free(r);
		return NULL;
	}
	if (r->c == NULL || r->c->err) {
		snprintf(err, errlen, "cannot reach Redis at %s: %s", url,
			 r->c != NULL ? r->c->errstr : "out of memory");
		*unavailable = 1;
		ctl_redis_close(r);
		return NULL;
	}
	redisSetTimeout(r->c, (struct timeval){ .tv_sec = 10 });
	if (password == NULL || *password == '\0') {
		/* No credentials: ask once, so a server that wants them gets a
		 * clear "authentication required" instead of the first command's
		 * error; a server without ACLs keeps working without a password. */
		redisReply *rep = redisCommand(r->c, "PING");

		if (rep == NULL) {
			snprintf(err, errlen, "Redis at %s: %s", url, r->c->errstr);
			*unavailable = 1;
			ctl_redis_close(r);
			return NULL;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			if (strncmp(rep->str, "NOAUTH", 6) == 0)
				snprintf(err, errlen, "Redis at %s requires authentication: give "
					 "--user U and --password-file F (or $CHOT_PASSWORD_FILE); "
					 "no password was given, or its file is empty", url);
			else
				snprintf(err, errlen, "Redis at %s: %s", url, rep->str);
			freeReplyObject(rep);
			ctl_redis_close(r);
			return NULL;
		}
		freeReplyObject(rep);
	} else {
		redisReply *rep = user != NULL && *user != '\0'
					  ? redisCommand(r->c, "AUTH %s %s", user, password)
					  : redisCommand(r->c, "AUTH %s", password);

		if (rep == NULL) {
			snprintf(err, errlen, "Redis at %s: %s", url, r->c->errstr);
			*unavailable = 1;
			ctl_redis_close(r);
			return NULL;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "Redis refused the credentials of '%s': %s",
				 user != NULL && *user ? user : "default", rep->str);
			freeReplyObject(rep);
			ctl_redis_close(r);
			return NULL;
		}
		freeReplyObject(rep);
	}
	return r;
}

struct ctl_redis *
ctl_redis_from_fd(int fd)
{
	struct ctl_redis *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->c = redisConnectFd(fd);
	if (r->c == NULL || r->c->err) {
		ctl_redis_close(r);
		return NULL;
	}
	return r;
}

void
ctl_redis_close(struct ctl_redis *r)
{
	if (r == NULL)
		return;
	if (r->c != NULL)
		redisFree(r->c);
	free(r);
}

static int
flatten(redisReply *rep, struct ctl_reply *out)
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
	case REDIS_REPLY_NIL:
		return 0;
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
		out->v = calloc(1, sizeof(*out->v));
		if (out->v == NULL)
			return -ENOMEM;
		out->v[0].p = malloc(rep->len + 1);
		if (out->v[0].p == NULL)
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
			redisReply *e = rep->element[i];
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
	default:
		return 0;
	}
}

int
ctl_redis_pipe(struct ctl_redis *r, size_t n, const int *argc, const char *const *const *argv,
	       const size_t *const *argl, struct ctl_reply *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		if (redisAppendCommandArgv(r->c, argc[i], (const char **)argv[i], argl[i]) !=
		    REDIS_OK) {
			snprintf(err, errlen, "Redis: %s", r->c->errstr);
			return -EIO;
		}
		r->calls++;
	}
	for (size_t i = 0; i < n; i++) {
		void *rep = NULL;

		if (redisGetReply(r->c, &rep) != REDIS_OK || rep == NULL) {
			snprintf(err, errlen, "Redis connection lost: %s", r->c->errstr);
			for (size_t k = 0; k < i; k++)
				ctl_reply_free(&out[k]);
			return -EIO;
		}
		if (flatten(rep, &out[i]) != 0) {
			freeReplyObject(rep);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		freeReplyObject(rep);
	}
	return 0;
}

int
ctl_redis_cmd(struct ctl_redis *r, int argc, const char *const *argv, const size_t *argl,
	      struct ctl_reply *out, char *err, size_t errlen)
{
	return ctl_redis_pipe(r, 1, &argc, &argv, &argl, out, err, errlen);
}

void
ctl_reply_free(struct ctl_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		free(rep->v[i].p);
	free(rep->v);
	memset(rep, 0, sizeof(*rep));
}

uint64_t
ctl_redis_calls(const struct ctl_redis *r)
{
	return r->calls;
}

/* --- streamed ZRANGE (see redis.h) --- */

#define ZS_INFLIGHT   4096            /* commands sent but not yet answered */
#define ZS_OUT_CAP    (64 * 1024)     /* command bytes built ahead of the socket */
#define ZS_IN_CAP     (512 * 1024)    /* receive buffer; grows for huge members */
#define ZS_TIMEOUT_MS 10000

struct zstream {
	char *in;
	size_t in_cap, in_pos, in_len;  /* unparsed bytes: in[in_pos, in_len) */
	size_t replied;                 /* replies fully parsed */
	long long left;                 /* members still to read in the current reply; -1 none */
	int rc;                         /* first error (callbacks stop, parsing goes on) */
	ctl_member_fn member_fn;
	ctl_reply_done_fn done_fn;
	void *ctx;
	char *err;
	size_t errlen;
};

/* A decimal line "<digits>\r\n" starting at p (< end): the value, *next after CRLF. 0, or -1 if
 * incomplete, -2 if malformed. */
static int
zs_int_line(const char *p, const char *end, long long *v, const char **next)
{
	const char *cr = memchr(p, '\r', (size_t)(end - p));
	long long x = 0;
	bool neg = false;

	if (cr == NULL || cr + 1 >= end)
		return -1;
	if (cr[1] != '\n')
		return -2;
	if (p < cr && *p == '-') {
		neg = true;
		p++;
	}
	if (p == cr || cr - p > 18)
		return -2;
	for (; p < cr; p++) {
		if (*p < '0' || *p > '9')
			return -2;
		x = x * 10 + (*p - '0');
	}
	*v = neg ? -x : x;
	*next = cr + 2;
	return 0;
}

/* A reply is complete (not an error reply: those stop the callbacks anyway). */
static void
zs_done(struct zstream *z)
{
	if (z->rc == 0 && z->done_fn != NULL)
		z->rc = z->done_fn(z->ctx, z->replied);
	z->replied++;
}

/* Parse every complete element in the buffer. 0, or -EIO on a protocol error. */
static int
zs_parse(struct zstream *z)
{
	const char *p = z->in + z->in_pos, *end = z->in + z->in_len, *next;
	long long v;
	int rc;

	while (p < end) {
		if (z->left < 0) {
			/* A reply's first line: an array header or an error. */
			if (*p == '-') {
				const char *cr = memchr(p, '\r', (size_t)(end - p));

				if (cr == NULL || cr + 1 >= end)
					break;
				if (z->rc == 0) {
					snprintf(z->err, z->errlen, "Redis: %.*s", (int)(cr - p - 1),
						 p + 1);
					z->rc = -EACCES;
				}
				p = cr + 2;
				z->replied++;
				continue;
			}
			if (*p != '*')
				return -EIO;
			rc = zs_int_line(p + 1, end, &v, &next);
			if (rc == -1)
				break;
			if (rc != 0)
				return -EIO;
			p = next;
			if (v <= 0)
				zs_done(z);
			else
				z->left = v;
			continue;
		}
		/* One member: "$<len>\r\n<bytes>\r\n", taken only when complete. */
		if (*p != '$')
			return -EIO;
		rc = zs_int_line(p + 1, end, &v, &next);
		if (rc == -1)
			break;
		if (rc != 0 || v < 0)
			return -EIO;
		if ((size_t)(end - next) < (size_t)v + 2)
			break;
		if (z->rc == 0)
			z->rc = z->member_fn(z->ctx, z->replied, (const uint8_t *)next, (size_t)v);
		p = next + v + 2;
		if (--z->left == 0) {
			z->left = -1;
			zs_done(z);
		}
	}
	z->in_pos = (size_t)(p - z->in);
	return 0;
}

/* Read what the socket has (non-blocking) and parse it. 1 read, 0 would block, -EIO. */
static int
zs_recv(struct zstream *z, int fd)
{
	ssize_t got;

	if (z->in_pos == z->in_len) {
		z->in_pos = z->in_len = 0;
	} else if (z->in_pos > 0 && z->in_len - z->in_pos < z->in_cap / 4) {
		memmove(z->in, z->in + z->in_pos, z->in_len - z->in_pos);
		z->in_len -= z->in_pos;
		z->in_pos = 0;
	}
	if (z->in_len == z->in_cap) {
		/* One element larger than the buffer: make room for it. */
		char *bigger;

		if (z->in_pos > 0) {
			memmove(z->in, z->in + z->in_pos, z->in_len - z->in_pos);
			z->in_len -= z->in_pos;
			z->in_pos = 0;
		} else {
			bigger = realloc(z->in, z->in_cap * 2);
			if (bigger == NULL)
				return -ENOMEM;
			z->in = bigger;
			z->in_cap *= 2;
		}
	}
	got = recv(fd, z->in + z->in_len, z->in_cap - z->in_len, MSG_DONTWAIT);
	if (got == 0)
		return -EIO;
	if (got < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -EIO;
	z->in_len += (size_t)got;
	return zs_parse(z) == 0 ? 1 : -EIO;
}

/* Append "ZRANGE <key> 0 -1" in RESP to out (klen < 1000). */
static size_t
zs_command(char *out, const char *key, size_t klen)
{
	static const char head[] = "*4\r\n$6\r\nZRANGE\r\n$";
	static const char tail[] = "\r\n$1\r\n0\r\n$2\r\n-1\r\n";
	size_t h = sizeof(head) - 1;

	memcpy(out, head, h);
	if (klen >= 100)
		out[h++] = (char)('0' + klen / 100);
	if (klen >= 10)
		out[h++] = (char)('0' + klen / 10 % 10);
	out[h++] = (char)('0' + klen % 10);
	out[h++] = '\r';
	out[h++] = '\n';
	memcpy(out + h, key, klen);
	memcpy(out + h + klen, tail, sizeof(tail) - 1);
	return h + klen + sizeof(tail) - 1;
}

int
ctl_redis_zrange_stream(struct ctl_redis *r, size_t n, ctl_key_fn key_fn,
			ctl_member_fn member_fn, ctl_reply_done_fn done_fn, void *ctx, char *err,
			size_t errlen)
{
	struct zstream z = { .in_cap = ZS_IN_CAP, .left = -1, .member_fn = member_fn,
			     .done_fn = done_fn, .ctx = ctx, .err = err, .errlen = errlen };
	char *out = malloc(ZS_OUT_CAP);
	size_t out_pos = 0, out_len = 0, sent = 0;
	int fd = r->c->fd, rc = 0;

	z.in = malloc(z.in_cap);
	if (out == NULL || z.in == NULL) {
		free(out);
		free(z.in);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* hiredis holds nothing between synchronous calls; the raw socket is ours. */
	if (r->c->reader->pos != r->c->reader->len || sdslen(r->c->obuf) != 0) {
		free(out);
		free(z.in);
		snprintf(err, errlen, "Redis: connection busy");
		return -EIO;
	}
	while (z.replied < n) {
		bool progress = false;
		ssize_t w;

		/* Build more commands while the window allows. */
		if (out_pos == out_len) {
			out_pos = out_len = 0;
			while (sent < n && sent - z.replied < ZS_INFLIGHT &&
			       out_len + 512 < ZS_OUT_CAP) {   /* room for any key < 256 */
				char key[256];
				size_t kl = key_fn(ctx, sent, key, sizeof(key));

				if (kl == 0 || kl >= sizeof(key)) {
					rc = -EINVAL;
					break;
				}

				out_len += zs_command(out + out_len, key, kl);
				sent++;
			}
		}
		if (rc != 0)
			break;
		if (out_pos < out_len) {
			w = send(fd, out + out_pos, out_len - out_pos, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (w > 0) {
				out_pos += (size_t)w;
				progress = true;
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
				   errno != EINTR) {
				rc = -EIO;
				break;
			}
		}
		rc = zs_recv(&z, fd);
		if (rc < 0)
			break;
		if (rc > 0)
			progress = true;
		rc = 0;
		if (!progress) {
			struct pollfd p = { .fd = fd, .events = POLLIN };

			if (out_pos < out_len)
				p.events |= POLLOUT;
			if (poll(&p, 1, ZS_TIMEOUT_MS) == 0) {
				rc = -ETIMEDOUT;
				break;
			}
		}
	}
	r->calls += sent;
	free(out);
	free(z.in);
	if (rc != 0) {
		/* The stream is out of step: nothing more can be read on this connection. */
		r->c->err = REDIS_ERR_IO;
		snprintf(r->c->errstr, sizeof(r->c->errstr), "%s",
			 rc == -ETIMEDOUT ? "timed out" : rc == -ENOMEM ? "out of memory" :
			 rc == -EINVAL ? "key too long" : "protocol error or connection lost");
		snprintf(err, errlen, "Redis connection lost: %s", r->c->errstr);
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	return z.rc;
}

/* --- tree replies (see redis.h) --- */

static void
tree_count(const redisReply *rep, size_t *nodes, size_t *bytes)
{
	(*nodes)++;
	if (rep->type == REDIS_REPLY_STRING || rep->type == REDIS_REPLY_STATUS ||
	    rep->type == REDIS_REPLY_ERROR)
		*bytes += rep->len + 1;
	if (rep->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < rep->elements; i++)
			tree_count(rep->element[i], nodes, bytes);
}

static void
tree_fill(const redisReply *rep, struct ctl_tree *t, size_t *bpos)
{
	struct ctl_node *nd = &t->v[t->n++];

	memset(nd, 0, sizeof(*nd));
	switch (rep->type) {
	case REDIS_REPLY_STRING:
	case REDIS_REPLY_STATUS:
	case REDIS_REPLY_ERROR:
		nd->type = rep->type == REDIS_REPLY_ERROR ? CTL_NODE_ERR : CTL_NODE_STR;
		memcpy(t->buf + *bpos, rep->str, rep->len);
		t->buf[*bpos + rep->len] = '\0';
		nd->p = t->buf + *bpos;
		nd->n = rep->len;
		*bpos += rep->len + 1;
		break;
	case REDIS_REPLY_INTEGER:
		nd->type = CTL_NODE_INT;
		nd->integer = rep->integer;
		break;
	case REDIS_REPLY_ARRAY:
		nd->type = CTL_NODE_ARR;
		nd->n = rep->elements;
		for (size_t i = 0; i < rep->elements; i++)
			tree_fill(rep->element[i], t, bpos);
		break;
	default:
		nd->type = CTL_NODE_NIL;
		break;
	}
	nd->next = t->n;
}

int
ctl_redis_pipe_tree(struct ctl_redis *r, size_t n, const int *argc,
		    const char *const *const *argv, const size_t *const *argl,
		    struct ctl_tree *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++)
		memset(&out[i], 0, sizeof(out[i]));
	for (size_t i = 0; i < n; i++) {
		if (redisAppendCommandArgv(r->c, argc[i], (const char **)argv[i], argl[i]) !=
		    REDIS_OK) {
			snprintf(err, errlen, "Redis: %s", r->c->errstr);
			return -EIO;
		}
		r->calls++;
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = NULL;
		size_t nodes = 0, bytes = 0, bpos = 0;

		if (redisGetReply(r->c, (void **)&rep) != REDIS_OK || rep == NULL) {
			snprintf(err, errlen, "Redis connection lost: %s", r->c->errstr);
			for (size_t k = 0; k < i; k++)
				ctl_tree_free(&out[k]);
			return -EIO;
		}
		tree_count(rep, &nodes, &bytes);
		out[i].v = calloc(nodes, sizeof(*out[i].v));
		out[i].buf = malloc(bytes + 1);
		if (out[i].v == NULL || out[i].buf == NULL) {
			freeReplyObject(rep);
			for (size_t k = 0; k <= i; k++)
				ctl_tree_free(&out[k]);
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		tree_fill(rep, &out[i], &bpos);
		freeReplyObject(rep);
	}
	return 0;
}

void
ctl_tree_free(struct ctl_tree *t)
{
	free(t->v);
	free(t->buf);
	memset(t, 0, sizeof(*t));
}
