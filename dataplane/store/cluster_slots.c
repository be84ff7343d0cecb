/*
 * The cluster store's slot-map fetcher (cluster_slots.h): one hiredis 0.14
 * non-blocking connection to one node at a time, AUTH then CLUSTER SLOTS,
 * the reply parsed by proto/slot.  Never blocks: cl_slots_poll() says
 * "still going", "here is a map" or "that node failed, try another";
 * an attempt that takes longer than CL_SLOTS_TIMEOUT_US fails.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "cluster_slots.h"

struct cl_slots {
	char user[128], password[256];
	redisContext *c;
	struct redis_endpoint ep;
	bool connecting, sent;
	unsigned replies_due;    /* AUTH (if any) + CLUSTER SLOTS */
	uint64_t deadline_us;
};

struct cl_slots *
cl_slots_create(const char *user, const char *password)
{
	struct cl_slots *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return NULL;
	snprintf(f->user, sizeof(f->user), "%s", user != NULL ? user : "");
	snprintf(f->password, sizeof(f->password), "%s", password != NULL ? password : "");
	return f;
}

static void
close_conn(struct cl_slots *f)
{
	if (f->c != NULL)
		redisFree(f->c);
	f->c = NULL;
	f->connecting = f->sent = false;
}

void
cl_slots_destroy(struct cl_slots *f)
{
	if (f == NULL)
		return;
	close_conn(f);
	explicit_bzero(f->password, sizeof(f->password));
	free(f);
}

bool
cl_slots_busy(const struct cl_slots *f)
{
	return f->c != NULL;
}

int
cl_slots_start(struct cl_slots *f, const struct redis_endpoint *ep, uint64_t now_us, char *err,
	       size_t errlen)
{
	close_conn(f);
	f->ep = *ep;
	f->c = redisConnectNonBlock(ep->host, ep->port);
	if (f->c == NULL || f->c->err) {
		snprintf(err, errlen, "%s", f->c != NULL ? f->c->errstr : "out of memory");
		close_conn(f);
		return -ECONNREFUSED;
	}
	f->connecting = true;
	f->deadline_us = now_us + CL_SLOTS_TIMEOUT_US;
	return 0;
}

static int
fail(struct cl_slots *f, char *err, size_t errlen, const char *why)
{
	snprintf(err, errlen, "%s", why);
	close_conn(f);
	return -1;
}

int
cl_slots_poll(struct cl_slots *f, uint64_t now_us, struct slot_map *out, char *err, size_t errlen)
{
	void *reply = NULL;
	int done = 0;

	if (f->c == NULL)
		return -1;
	if (now_us >= f->deadline_us)
		return fail(f, err, errlen, "no CLUSTER SLOTS answer in time");
	if (f->connecting) {
		struct pollfd pfd = { .fd = f->c->fd, .events = POLLOUT };
		int e = 0;
		socklen_t len = sizeof(e);

		if (poll(&pfd, 1, 0) <= 0)
			return 0;
		if (getsockopt(f->c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0 || e != 0)
			return fail(f, err, errlen, strerror(e != 0 ? e : errno));
		f->connecting = false;
	}
	if (!f->sent) {
		f->replies_due = 1;
		if (f->user[0] != '\0') {
			redisAppendCommand(f->c, "AUTH %s %s", f->user, f->password);
			f->replies_due++;
		} else if (f->password[0] != '\0') {
			redisAppendCommand(f->c, "AUTH %s", f->password);
			f->replies_due++;
		}
		redisAppendCommand(f->c, "CLUSTER SLOTS");
		f->sent = true;
	}
	if (f->c->obuf != NULL && sdslen(f->c->obuf) > 0 && redisBufferWrite(f->c, &done) != REDIS_OK)
		return fail(f, err, errlen, f->c->errstr);
	if (redisBufferRead(f->c) != REDIS_OK)
		return fail(f, err, errlen, f->c->errstr);
	while (f->replies_due > 0) {
		redisReply *rep;
		int rc;

		if (redisGetReplyFromReader(f->c, &reply) != REDIS_OK)
			return fail(f, err, errlen, f->c->errstr);
		if (reply == NULL)
			return 0;
		rep = reply;
		if (--f->replies_due > 0) {     /* AUTH */
			if (rep->type == REDIS_REPLY_ERROR) {
				snprintf(err, errlen, "AUTH refused: %s", rep->str);
				freeReplyObject(rep);
				close_conn(f);
				return -1;
			}
			freeReplyObject(rep);
			continue;
		}
		rc = slot_map_parse(rep, f->ep.host, out, err, errlen);
		freeReplyObject(rep);
		close_conn(f);
		return rc == 0 ? 1 : -1;
	}
	return 0;
}

const struct redis_endpoint *
cl_slots_endpoint(const struct cl_slots *f)
{
	return &f->ep;
}

int
cl_slots_fetch_blocking(const struct redis_endpoint *ep, const char *user, const char *password,
			unsigned timeout_ms, struct slot_map *out, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (long)(timeout_ms % 1000) * 1000 };
	redisContext *c = redisConnectWithTimeout(ep->host, ep->port, tv);
	redisReply *rep;
	int rc;

	if (c == NULL || c->err) {
		snprintf(err, errlen, "cannot connect: %s", c != NULL ? c->errstr : "out of memory");
		redisFree(c);
		return -ECONNREFUSED;
	}
	(void)redisSetTimeout(c, tv);
	if (password != NULL && password[0] != '\0') {
		rep = user != NULL && user[0] != '\0' ? redisCommand(c, "AUTH %s %s", user, password)
						      : redisCommand(c, "AUTH %s", password);
		if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "authentication failed for %s%s%s: %s",
				 user != NULL && user[0] != '\0' ? "user '" : "the default user",
				 user != NULL && user[0] != '\0' ? user : "",
				 user != NULL && user[0] != '\0' ? "'" : "",
				 rep != NULL ? rep->str : c->errstr);
			rc = rep != NULL ? -EACCES : -ETIMEDOUT;
			freeReplyObject(rep);
			redisFree(c);
			return rc;
		}
		freeReplyObject(rep);
	}
	rep = redisCommand(c, "CLUSTER SLOTS");
	if (rep == NULL) {
		snprintf(err, errlen, "no answer to CLUSTER SLOTS within %u ms: %s", timeout_ms,
			 c->errstr);
		redisFree(c);
		return -ETIMEDOUT;
	}
	if (rep->type == REDIS_REPLY_ERROR &&
	    (strncmp(rep->str, "NOAUTH", 6) == 0 || strncmp(rep->str, "NOPERM", 6) == 0)) {
		snprintf(err, errlen, "CLUSTER SLOTS: %s", rep->str);
		rc = rep->str[2] == 'A' ? -EACCES : -EPERM;
	} else {
		rc = slot_map_parse(rep, ep->host, out, err, errlen) == 0 ? 0 : -EIO;
	}
	freeReplyObject(rep);
	redisFree(c);
	return rc;
}
