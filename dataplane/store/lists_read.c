/*
 * The lists reader (lists_read.h): blocking hiredis, bounded by timeouts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "lists.h"
#include "lists_read.h"
#include "redis_url.h"

#define MOVED_MAX 3
#define SEEDS_MAX 16

/* Where to connect: a MOVED changes host and port (an ASK does not). */
struct lists_target {
	bool is_unix;                /* host is then the socket path */
	char host[256];
	int port;
	char user[128], password[256];
};

struct lists_reader {
	struct lists_target u;              /* connected to, or to connect to next */
	struct { char host[256]; int port; } seeds[SEEDS_MAX];   /* cluster:// */
	unsigned nseeds, next_seed;
	char user[128], password[256];
	struct timeval tv;
	redisContext *c;
};

/* redis://, unix:// and cluster://h1:p1,h2:p2 (every seed), by proto/redis_url. */
static int
parse_url(const char *url, struct lists_reader *r, char *err, size_t errlen)
{
	struct lists_target *t = &r->u;
	struct redis_url u;

	if (redis_url_parse(url, &u, err, errlen) != 0)
		return -EINVAL;
	if (u.kind == REDIS_URL_NULL) {
		snprintf(err, errlen, "null:// has no lists");
		return -EINVAL;
	}
	t->is_unix = u.kind == REDIS_URL_UNIX;
	snprintf(t->user, sizeof(t->user), "%s", u.user);
	snprintf(t->password, sizeof(t->password), "%s", u.password);
	explicit_bzero(u.password, sizeof(u.password));
	if (t->is_unix) {
		snprintf(t->host, sizeof(t->host), "%s", u.path);
		return 0;
	}
	for (unsigned i = 0; i < u.nseeds && i < SEEDS_MAX; i++) {
		snprintf(r->seeds[i].host, sizeof(r->seeds[0].host), "%s", u.seeds[i].host);
		r->seeds[i].port = u.seeds[i].port;
		r->nseeds++;
	}
	snprintf(t->host, sizeof(t->host), "%s", r->seeds[0].host);
	t->port = r->seeds[0].port;
	r->next_seed = 1 % r->nseeds;
	return 0;
}

struct lists_reader *
lists_reader_create(const char *url, const char *user, const char *password,
		    unsigned timeout_ms, char *err, size_t errlen)
{
	struct lists_reader *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (parse_url(url, r, err, errlen) != 0) {
		free(r);
		errno = EINVAL;
		return NULL;
	}
	snprintf(r->user, sizeof(r->user), "%s", user != NULL ? user : r->u.user);
	snprintf(r->password, sizeof(r->password), "%s",
		 password != NULL ? password : r->u.password);
	r->tv.tv_sec = timeout_ms / 1000;
	r->tv.tv_usec = (long)(timeout_ms % 1000) * 1000;
	return r;
}

static void
reader_close(struct lists_reader *r)
{
	redisFree(r->c);
	r->c = NULL;
}

void
lists_reader_destroy(struct lists_reader *r)
{
	if (r == NULL)
		return;
	reader_close(r);
	explicit_bzero(r->password, sizeof(r->password));
	explicit_bzero(r->u.password, sizeof(r->u.password));
	free(r);
}

/* A blocking connection to host:port (or the socket path), authenticated. */
static redisContext *
reader_open(const struct lists_reader *r, const char *host, int port, bool is_unix, int *rc,
	    char *err, size_t errlen)
{
	redisContext *c;
	redisReply *rep;

	c = is_unix ? redisConnectUnixWithTimeout(host, r->tv)
		    : redisConnectWithTimeout(host, port, r->tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "lists: cannot connect to %s:%d: %s", host, port,
			 c != NULL ? c->errstr : "out of memory");
		redisFree(c);
		*rc = -ECONNREFUSED;
		return NULL;
	}
	(void)redisSetTimeout(c, r->tv);
	if (r->password[0] == '\0')
		return c;
	rep = r->user[0] != '\0' ? redisCommand(c, "AUTH %s %s", r->user, r->password)
				 : redisCommand(c, "AUTH %s", r->password);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "lists: AUTH as '%s' on %s:%d: %s", r->user, host, port,
			 rep != NULL ? rep->str : c->errstr);
		freeReplyObject(rep);
		redisFree(c);
		*rc = -EACCES;
		return NULL;
	}
	freeReplyObject(rep);
	return c;
}

static int
reader_connect(struct lists_reader *r, char *err, size_t errlen)
{
	int rc = 0;

	if (r->c != NULL)
		return 0;
	r->c = reader_open(r, r->u.host, r->u.port, r->u.is_unix, &rc, err, errlen);
	if (r->c == NULL && rc == -ECONNREFUSED && r->nseeds > 1) {
		/* a cluster: the next call tries the next seed */
		snprintf(r->u.host, sizeof(r->u.host), "%s", r->seeds[r->next_seed].host);
		r->u.port = r->seeds[r->next_seed].port;
		r->next_seed = (r->next_seed + 1) % r->nseeds;
	}
	return r->c != NULL ? 0 : rc;
}

/*
 * "<kind> <slot> <host>:<port>" (kind MOVED or ASK): the node named.
 * 0, or -EINVAL when msg is not that redirection.
 */
static int
parse_redirect(const char *msg, const char *kind, char host[256], int *port)
{
	size_t kl = strlen(kind);
	const char *sp, *colon;
	long p;

	if (strncmp(msg, kind, kl) != 0 || msg[kl] != ' ' ||
	    (sp = strchr(msg + kl + 1, ' ')) == NULL || (colon = strrchr(sp, ':')) == NULL ||
	    (size_t)(colon - sp - 1) >= 256)
		return -EINVAL;
	p = strtol(colon + 1, NULL, 10);
	if (p < 1 || p > 65535)
		return -EINVAL;
	memcpy(host, sp + 1, (size_t)(colon - sp - 1));
	host[colon - sp - 1] = 0;
	*port = (int)p;
	return 0;
}

/* MOVED: the slot lives there now; reconnect there for good. */
static int
reader_moved(struct lists_reader *r, const char *msg)
{
	char host[256];
	int port;

	if (parse_redirect(msg, "MOVED", host, &port) != 0)
		return -EINVAL;
	memcpy(r->u.host, host, sizeof(host));
	r->u.port = port;
	r->u.is_unix = false;
	reader_close(r);
	return 0;
}

/*
 * ASK: the slot is being migrated and this key is already on the target.
 * Ask the target once, on a side connection, with ASKING first; the next
 * command goes to the owner again (the cluster spec, "ASK redirection").
 * The reply, or NULL with err and *rc.
 */
static redisReply *
reader_ask(struct lists_reader *r, const char *msg, int *rc, char *err, size_t errlen,
	   int argc, const char **argv)
{
	char host[256];
	int port;
	redisContext *c;
	redisReply *rep;

	if (parse_redirect(msg, "ASK", host, &port) != 0) {
		*rc = -EINVAL;
		return NULL;
	}
	c = reader_open(r, host, port, false, rc, err, errlen);
	if (c == NULL)
		return NULL;
	rep = redisCommand(c, "ASKING");
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "lists: ASKING on %s:%d: %s", host, port,
			 rep != NULL ? rep->str : c->errstr);
		*rc = -EIO;
		freeReplyObject(rep);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(rep);
	rep = redisCommandArgv(c, argc, argv, NULL);
	if (rep == NULL || rep->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "lists: %s %s on %s:%d (ASK): %s", argv[0], argv[1], host,
			 port, rep != NULL ? rep->str : c->errstr);
		*rc = rep != NULL && strncmp(rep->str, "NOPERM", 6) == 0 ? -EPERM : -EIO;
		freeReplyObject(rep);
		rep = NULL;
	}
	redisFree(c);
	return rep;
}

/* One command; the reply (never an error reply), or NULL with err and *rc. */
static redisReply *
reader_cmd(struct lists_reader *r, int *rc, char *err, size_t errlen, int argc,
	   const char **argv)
{
	for (int hop = 0; hop <= MOVED_MAX; hop++) {
		redisReply *rep;

		*rc = reader_connect(r, err, errlen);
		/* a cluster seed that is down: each of the others once */
		for (unsigned i = 1; *rc == -ECONNREFUSED && i < r->nseeds; i++)
			*rc = reader_connect(r, err, errlen);
		if (*rc != 0)
			return NULL;
		rep = redisCommandArgv(r->c, argc, argv, NULL);
		if (rep == NULL) {
			snprintf(err, errlen, "lists: %s %s on %s:%d: %s", argv[0], argv[1],
				 r->u.host, r->u.port, r->c->errstr);
			reader_close(r);
			*rc = -EIO;
			return NULL;
		}
		if (rep->type != REDIS_REPLY_ERROR)
			return rep;
		if (reader_moved(r, rep->str) == 0) {
			freeReplyObject(rep);
			continue;
		}
		if (strncmp(rep->str, "ASK ", 4) == 0) {
			redisReply *ask = reader_ask(r, rep->str, rc, err, errlen, argc, argv);

			freeReplyObject(rep);
			return ask;
		}
		snprintf(err, errlen, "lists: %s %s on %s:%d: %s", argv[0], argv[1], r->u.host,
			 r->u.port, rep->str);
		*rc = strncmp(rep->str, "NOPERM", 6) == 0 ? -EPERM : -EIO;
		freeReplyObject(rep);
		return NULL;
	}
	snprintf(err, errlen, "lists: %s %s: more than %d MOVED redirections", argv[0], argv[1],
		 MOVED_MAX);
	*rc = -ELOOP;
	return NULL;
}

int
lists_reader_version(struct lists_reader *r, uint64_t *ver, char *err, size_t errlen)
{
	const char *argv[] = { "GET", LISTS_VERSION_KEY };
	redisReply *rep;
	int rc;

	rep = reader_cmd(r, &rc, err, errlen, 2, argv);
	if (rep == NULL)
		return rc;
	*ver = 0;
	if (rep->type == REDIS_REPLY_STRING)
		*ver = strtoull(rep->str, NULL, 10);
	else if (rep->type == REDIS_REPLY_INTEGER && rep->integer > 0)
		*ver = (uint64_t)rep->integer;
	freeReplyObject(rep);
	return 0;
}

int
lists_reader_hash(struct lists_reader *r, const char *key, lists_entry_fn fn, void *arg,
		  char *err, size_t errlen)
{
	char cursor[32] = "0";

	do {
		const char *argv[] = { "HSCAN", key, cursor, "COUNT", "1000" };
		redisReply *rep, *items;
		int rc = 0;

		rep = reader_cmd(r, &rc, err, errlen, 5, argv);
		if (rep == NULL)
			return rc;
		if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 ||
		    rep->element[0]->type != REDIS_REPLY_STRING ||
		    rep->element[1]->type != REDIS_REPLY_ARRAY ||
		    rep->element[0]->len >= sizeof(cursor)) {
			snprintf(err, errlen, "lists: HSCAN %s: unexpected reply", key);
			freeReplyObject(rep);
			return -EPROTO;
		}
		memcpy(cursor, rep->element[0]->str, rep->element[0]->len);
		cursor[rep->element[0]->len] = 0;
		items = rep->element[1];
		for (size_t i = 0; i + 1 < items->elements && rc == 0; i += 2) {
			const redisReply *f = items->element[i], *v = items->element[i + 1];

			if (f->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
				rc = fn(arg, f->str, f->len, v->str, v->len);
		}
		freeReplyObject(rep);
		if (rc != 0)
			return rc;
	} while (strcmp(cursor, "0") != 0);
	return 0;
}
