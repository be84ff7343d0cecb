/*
 * chotctl's Redis client (see redis.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "redis.h"

struct ctl_redis {
	redisContext *c;
	uint64_t calls;
};

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
		const char *h = url + 8, *at = strrchr(h, '@'), *colon;
		size_t hl;

		if (at != NULL)
			h = at + 1;
		colon = strrchr(h, ':');
		hl = colon != NULL ? (size_t)(colon - h) : strcspn(h, "/");
		if (hl == 0 || hl >= sizeof(host)) {
			snprintf(err, errlen, "%s: bad Redis URL", url);
			free(r);
			return NULL;
		}
		memcpy(host, h, hl);
		host[hl] = '\0';
		if (colon != NULL)
			port = atoi(colon + 1);
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
	if (password != NULL && *password != '\0') {
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
