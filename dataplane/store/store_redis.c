/*
 * The Redis store: the only dataplane file that includes hiredis.h.
 *
 * One hiredis 0.14 context in non-blocking mode, driven entirely from the
 * owning worker's loop through dp_store_poll(): it never sleeps and never
 * waits on a socket.  Writes follow proto/layout.h; within a batch, members
 * are grouped per key into one multi-member ZADD plus one EXPIREAT.
 *
 * Commands live in one FIFO.  The first `inflight` of them have been written
 * to the socket and await replies, which Redis returns in order.  When the
 * connection breaks, every in-flight command's outcome is unknown: they all
 * simply become unsent again and go out once more after the reconnect.  That
 * is safe because every write is idempotent (ZADD of a member that exists,
 * EXPIREAT to the same instant, SET of the same sealed vault bytes).
 *
 * A batch completes (done(ctx, cookie, 0)) when the last of its commands got
 * a non-error reply.  An error reply (OOM under noeviction, NOPERM from a
 * wrong ACL, ...) is counted and handled like a broken connection: the
 * failed command stays at the head of the FIFO, the connection is dropped
 * and, after the backoff, everything from the failed command on is sent
 * again in order (the ZADD before its EXPIREAT, always).  A misconfigured
 * ACL or a full Redis thus shows up as a growing redis_errors counter and a
 * growing backlog, never as a false ACK.  The backlog is bounded by max_pending_events; beyond it submit
 * refuses (-ENOBUFS) and the caller drops and counts the batch.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "layout.h"
#include "store_impl.h"
#include "vault.h"

#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 2000000
#define IDLE_READ_US   100000
#define BUSY_READ_US   20      /* replies due: one read() gathers ~20 us of them */

struct rcmd {
	char *buf;         /* RESP-formatted (redisFormatCommandArgv) */
	int len;
	uint32_t batch;    /* slot in batches[] */
};

struct rbatch {
	uint64_t cookie;
	uint32_t cmds_left;
	uint32_t events;
	uint32_t next_free;
	bool used;
};

struct store_redis {
	struct dp_store base;
	struct dp_store_conf conf;
	struct store_url url;
	char user[128], password[256];
	uint8_t vault_key[32];
	bool has_vault;

	redisContext *c;
	bool connecting;        /* TCP connect in progress */
	bool auth_pending;      /* next reply answers AUTH */
	uint64_t retry_at_us;   /* no (re)connect / sending before this */
	uint64_t backoff_us;
	uint64_t now_us;
	uint64_t last_read_us;  /* idle liveness check: read at most every IDLE_READ_US */

	/* FIFO of commands: ring of capacity cap (power of two). */
	struct rcmd *q;
	uint32_t cap, head, count, inflight;
	uint64_t oldest_unsent_us;

	struct rbatch *batches;
	uint32_t n_batches, free_batch;

	uint64_t events_pending, batches_pending;
	uint64_t commands_sent, replies_ok, redis_errors, reconnects;
	unsigned log_budget;
};

static void
rlog(struct store_redis *r, const char *what, const char *why)
{
	/* Rate-limit: a dead Redis must not flood the log. */
	if (r->log_budget == 0)
		return;
	r->log_budget--;
	if (r->url.kind == STORE_UNIX)
		fprintf(stderr, "chotd: store %s: %s: %s\n", r->url.host, what,
			why != NULL ? why : "");
	else
		fprintf(stderr, "chotd: store %s:%d: %s: %s\n", r->url.host, r->url.port, what,
			why != NULL ? why : "");
}

static int
q_grow(struct store_redis *r)
{
	uint32_t ncap = r->cap * 2;
	struct rcmd *nq = calloc(ncap, sizeof(*nq));

	if (nq == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < r->count; i++)
		nq[i] = r->q[(r->head + i) & (r->cap - 1)];
	free(r->q);
	r->q = nq;
	r->cap = ncap;
	r->head = 0;
	return 0;
}

static int
q_push(struct store_redis *r, char *buf, int len, uint32_t batch)
{
	struct rcmd *c;

	if (r->count == r->cap && q_grow(r) != 0)
		return -ENOMEM;
	c = &r->q[(r->head + r->count) & (r->cap - 1)];
	c->buf = buf;
	c->len = len;
	c->batch = batch;
	if (r->count == r->inflight)
		r->oldest_unsent_us = r->now_us;
	r->count++;
	return 0;
}

static struct rcmd *
q_at(struct store_redis *r, uint32_t i)
{
	return &r->q[(r->head + i) & (r->cap - 1)];
}

static void
disconnect(struct store_redis *r, const char *why)
{
	if (r->c != NULL) {
		rlog(r, "connection lost", why);
		redisFree(r->c);
		r->c = NULL;
		r->redis_errors++;
	}
	r->connecting = false;
	r->auth_pending = false;
	r->inflight = 0;             /* outcome unknown: send again */
	r->oldest_unsent_us = r->now_us;
	r->retry_at_us = r->now_us + r->backoff_us;
	r->backoff_us = r->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : r->backoff_us * 2;
}

static void
start_connect(struct store_redis *r)
{
	r->c = r->url.kind == STORE_UNIX ? redisConnectUnixNonBlock(r->url.host)
					 : redisConnectNonBlock(r->url.host, r->url.port);
	if (r->c == NULL || r->c->err) {
		rlog(r, "connect", r->c != NULL ? r->c->errstr : "out of memory");
		if (r->c != NULL) {
			redisFree(r->c);
			r->c = NULL;
		}
		r->redis_errors++;
		r->retry_at_us = r->now_us + r->backoff_us;
		r->backoff_us = r->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : r->backoff_us * 2;
		return;
	}
	r->reconnects++;
	r->connecting = true;
}

/* Is the non-blocking connect done?  1 yes, 0 not yet, -1 failed. */
static int
connect_done(struct store_redis *r)
{
	struct pollfd pfd = { .fd = r->c->fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (getsockopt(r->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		disconnect(r, strerror(err != 0 ? err : errno));
		return -1;
	}
	return 1;
}

static void
send_auth(struct store_redis *r)
{
	if (r->user[0] == '\0' && r->password[0] == '\0')
		return;
	if (r->user[0] != '\0')
		redisAppendCommand(r->c, "AUTH %s %s", r->user, r->password);
	else
		redisAppendCommand(r->c, "AUTH %s", r->password);
	r->auth_pending = true;
}

static void
complete_cmd(struct store_redis *r, struct rcmd *c)
{
	struct rbatch *b = &r->batches[c->batch];

	free(c->buf);
	c->buf = NULL;
	if (--b->cmds_left == 0) {
		uint64_t cookie = b->cookie;

		r->events_pending -= b->events;
		r->batches_pending--;
		b->used = false;
		b->next_free = r->free_batch;
		r->free_batch = c->batch;
		r->base.done(r->base.ctx, cookie, 0);
	}
}

static void
read_replies(struct store_redis *r)
{
	void *reply = NULL;

	if (redisBufferRead(r->c) != REDIS_OK) {
		disconnect(r, r->c->errstr);
		return;
	}
	for (;;) {
		redisReply *rep;

		if (redisGetReplyFromReader(r->c, &reply) != REDIS_OK) {
			disconnect(r, r->c->errstr);
			return;
		}
		if (reply == NULL)
			return;
		rep = reply;
		if (r->auth_pending) {
			r->auth_pending = false;
			if (rep->type == REDIS_REPLY_ERROR) {
				rlog(r, "AUTH refused", rep->str);
				freeReplyObject(rep);
				disconnect(r, "authentication failed");
				return;
			}
			freeReplyObject(rep);
			continue;
		}
		if (r->inflight == 0) {  /* a reply we did not ask for */
			freeReplyObject(rep);
			disconnect(r, "unexpected reply");
			return;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			/*
			 * OOM, NOPERM, ...: keep the failed command at the head and
			 * reset the connection, so everything from it on is sent
			 * again, in order, after a backoff.  Never reorder: a
			 * ZADD retried after its EXPIREAT succeeded (on a missing
			 * key) would leave a key that never expires.
			 */
			rlog(r, "error reply", rep->str);
			freeReplyObject(rep);
			disconnect(r, "error reply: resending from the failed command");
			return;
		}
		{
			struct rcmd c = *q_at(r, 0);

			r->head = (r->head + 1) & (r->cap - 1);
			r->count--;
			r->inflight--;
			r->replies_ok++;
			r->backoff_us = BACKOFF_MIN_US;
			complete_cmd(r, &c);
		}
		freeReplyObject(rep);
	}
}

static void
send_more(struct store_redis *r)
{
	uint32_t unsent = r->count - r->inflight;
	int done = 0;

	if (unsent > 0 && r->now_us >= r->retry_at_us &&
	    (unsent >= r->conf.pipeline || r->now_us - r->oldest_unsent_us >= r->conf.flush_us)) {
		while (r->inflight < r->count && r->inflight < r->conf.pipeline) {
			struct rcmd *c = q_at(r, r->inflight);

			if (redisAppendFormattedCommand(r->c, c->buf, (size_t)c->len) != REDIS_OK) {
				disconnect(r, r->c->errstr);
				return;
			}
			r->inflight++;
			r->commands_sent++;
		}
		/* Commands left over (pipeline full) keep their old timestamp and
		 * go out as soon as replies free room. */
	}
	if (r->c->obuf != NULL && sdslen(r->c->obuf) > 0 &&
	    redisBufferWrite(r->c, &done) != REDIS_OK)
		disconnect(r, r->c->errstr);
}

static void
redis_poll(struct dp_store *s, uint64_t now_us)
{
	struct store_redis *r = (struct store_redis *)s;

	r->now_us = now_us;
	if (r->c == NULL) {
		if (now_us < r->retry_at_us)
			return;
		start_connect(r);
		if (r->c == NULL)
			return;
	}
	if (r->connecting) {
		if (connect_done(r) != 1)
			return;
		r->connecting = false;
		send_auth(r);
		r->oldest_unsent_us = 0;   /* flush what waited at once */
	}
	send_more(r);
	/* Read when replies are due, but not on every loop turn: a read() that
	 * finds nothing costs a syscall, and the profile of a loaded run was
	 * dominated by them.  Idle, read only now and then, to notice a closed
	 * connection. */
	if (r->c != NULL &&
	    now_us - r->last_read_us >= (r->inflight > 0 || r->auth_pending ? BUSY_READ_US
									      : IDLE_READ_US)) {
		r->last_read_us = now_us;
		read_replies(r);
	}
}

/* --- building a batch's commands --- */

struct keygroup {
	char key[LAYOUT_KEY_MAX];
	size_t keylen;
	uint64_t expire_at;
	unsigned n;
	const uint8_t *members[WIRE_MAX_EVENTS];
	size_t mlen;
};

static int
emit_group(struct store_redis *r, const struct keygroup *g, uint32_t batch)
{
	const char *argv[2 + 2 * WIRE_MAX_EVENTS];
	size_t argl[2 + 2 * WIRE_MAX_EVENTS];
	char exp[24];
	char *cmd = NULL;
	int len, argc = 0;

	argv[argc] = "ZADD"; argl[argc++] = 4;
	argv[argc] = g->key; argl[argc++] = g->keylen;
	for (unsigned i = 0; i < g->n; i++) {
		argv[argc] = "0"; argl[argc++] = 1;
		argv[argc] = (const char *)g->members[i]; argl[argc++] = g->mlen;
	}
	len = redisFormatCommandArgv(&cmd, argc, argv, argl);
	if (len < 0)
		return -ENOMEM;
	if (q_push(r, cmd, len, batch) != 0) {
		free(cmd);
		return -ENOMEM;
	}
	snprintf(exp, sizeof(exp), "%llu", (unsigned long long)g->expire_at);
	argv[0] = "EXPIREAT"; argl[0] = 8;
	argv[2] = exp; argl[2] = strlen(exp);
	cmd = NULL;
	len = redisFormatCommandArgv(&cmd, 3, argv, argl);
	if (len < 0)
		return -ENOMEM;
	if (q_push(r, cmd, len, batch) != 0) {
		free(cmd);
		return -ENOMEM;
	}
	return 2;
}

static struct keygroup *
group_for(struct keygroup *g, unsigned *ng, const char *key, size_t keylen, uint64_t exp,
	  size_t mlen)
{
	for (unsigned i = 0; i < *ng; i++)
		if (g[i].keylen == keylen && memcmp(g[i].key, key, keylen) == 0)
			return &g[i];
	memcpy(g[*ng].key, key, keylen + 1);
	g[*ng].keylen = keylen;
	g[*ng].expire_at = exp;
	g[*ng].n = 0;
	g[*ng].mlen = mlen;
	return &g[(*ng)++];
}

static int
redis_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs, unsigned n)
{
	struct store_redis *r = (struct store_redis *)s;
	struct keygroup groups[2 * WIRE_MAX_EVENTS];
	uint8_t smem[WIRE_MAX_EVENTS][LAYOUT_SUBJECT_MEMBER_LEN];
	uint8_t pmem[WIRE_MAX_EVENTS][LAYOUT_SITE_MEMBER_LEN];
	unsigned ng = 0, cmds = 0;
	uint32_t slot;
	struct rbatch *b;

	if (n == 0 || n > WIRE_MAX_EVENTS)
		return -EINVAL;
	if (r->events_pending + n > r->conf.max_pending_events || r->free_batch == UINT32_MAX)
		return -ENOBUFS;
	slot = r->free_batch;
	b = &r->batches[slot];
	r->free_batch = b->next_free;
	b->used = true;
	b->cookie = cookie;
	b->events = n;
	b->cmds_left = UINT32_MAX;   /* until every command is queued */

	for (unsigned i = 0; i < n; i++) {
		const struct scan_event *ev = evs[i].ev;
		char key[LAYOUT_KEY_MAX];
		size_t kl;
		struct keygroup *g;

		kl = layout_subject_key(key, evs[i].pid, layout_week(ev->ts_ms));
		g = group_for(groups, &ng, key, kl,
			      layout_week_expire_at(layout_week(ev->ts_ms), r->conf.retention_days),
			      LAYOUT_SUBJECT_MEMBER_LEN);
		layout_subject_member(smem[i], ev->site_id, ev->ts_ms, ev->dir);
		g->members[g->n++] = smem[i];
		kl = layout_site_key(key, ev->site_id, layout_hour(ev->ts_ms));
		g = group_for(groups, &ng, key, kl,
			      layout_hour_expire_at(layout_hour(ev->ts_ms), r->conf.retention_days),
			      LAYOUT_SITE_MEMBER_LEN);
		layout_site_member(pmem[i], evs[i].pid, ev->ts_ms, ev->dir);
		g->members[g->n++] = pmem[i];
	}
	for (unsigned i = 0; i < ng; i++) {
		int rc = emit_group(r, &groups[i], slot);

		if (rc < 0)
			goto nomem;
		cmds += (unsigned)rc;
	}
	for (unsigned i = 0; i < n && r->has_vault; i++) {
		const struct scan_event *ev = evs[i].ev;
		uint8_t sealed[VAULT_MAX_SEALED];
		char key[LAYOUT_KEY_MAX], ex[24];
		const char *argv[5];
		size_t argl[5];
		char *cmd = NULL;
		int len;

		if (!evs[i].write_vault)
			continue;
		snprintf(ex, sizeof(ex), "%u", r->conf.retention_days * 86400u);
		argv[0] = "SET"; argl[0] = 3;
		argv[1] = key; argl[1] = layout_vault_key(key, evs[i].pid);
		argv[2] = (const char *)sealed;
		argl[2] = vault_seal(sealed, r->vault_key, evs[i].pid, ev->scheme, ev->subject,
				     ev->subject_len);
		argv[3] = "EX"; argl[3] = 2;
		argv[4] = ex; argl[4] = strlen(ex);
		len = redisFormatCommandArgv(&cmd, 5, argv, argl);
		if (len < 0)
			goto nomem;
		if (q_push(r, cmd, len, slot) != 0) {
			free(cmd);
			goto nomem;
		}
		cmds++;
	}
	b->cmds_left = cmds;
	r->events_pending += n;
	r->batches_pending++;
	return 0;
nomem:
	/* Unwind this batch's queued commands (they are at the tail, unsent). */
	while (r->count > r->inflight && q_at(r, r->count - 1)->batch == slot) {
		free(q_at(r, r->count - 1)->buf);
		r->count--;
	}
	b->used = false;
	b->next_free = r->free_batch;
	r->free_batch = slot;
	return -ENOBUFS;
}

static void
redis_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	const struct store_redis *r = (const struct store_redis *)s;

	st->commands_sent = r->commands_sent;
	st->replies_ok = r->replies_ok;
	st->redis_errors = r->redis_errors;
	st->reconnects = r->reconnects;
	st->events_pending = r->events_pending;
	st->batches_pending = r->batches_pending;
	st->connected = r->c != NULL && !r->connecting;
}

static void
redis_destroy(struct dp_store *s)
{
	struct store_redis *r = (struct store_redis *)s;

	if (r->c != NULL)
		redisFree(r->c);
	for (uint32_t i = 0; i < r->count; i++)
		free(q_at(r, i)->buf);
	free(r->q);
	free(r->batches);
	explicit_bzero(r->password, sizeof(r->password));
	explicit_bzero(r->vault_key, sizeof(r->vault_key));
	free(r);
}

static const struct store_ops redis_ops = {
	.submit = redis_submit, .poll = redis_poll, .stats = redis_stats, .destroy = redis_destroy,
};

struct dp_store *
store_redis_create(const struct dp_store_conf *conf, const struct store_url *u)
{
	struct store_redis *r = calloc(1, sizeof(*r));
	uint32_t nb;

	if (r == NULL)
		return NULL;
	r->base.ops = &redis_ops;
	r->conf = *conf;
	r->url = *u;
	if (r->conf.pipeline == 0)
		r->conf.pipeline = 256;
	if (r->conf.max_pending_events == 0)
		r->conf.max_pending_events = 1 << 20;
	snprintf(r->user, sizeof(r->user), "%s", conf->user != NULL ? conf->user : u->user);
	snprintf(r->password, sizeof(r->password), "%s",
		 conf->password != NULL ? conf->password : u->password);
	if (conf->vault_key != NULL) {
		memcpy(r->vault_key, conf->vault_key, 32);
		r->has_vault = true;
	}
	r->cap = 1024;
	r->q = calloc(r->cap, sizeof(*r->q));
	nb = r->conf.max_pending_events < (1u << 20) ? r->conf.max_pending_events : (1u << 20);
	r->batches = calloc(nb, sizeof(*r->batches));
	if (r->q == NULL || r->batches == NULL) {
		free(r->q);
		free(r->batches);
		free(r);
		return NULL;
	}
	r->n_batches = nb;
	for (uint32_t i = 0; i < nb; i++)
		r->batches[i].next_free = i + 1 < nb ? i + 1 : UINT32_MAX;
	r->free_batch = 0;
	r->backoff_us = BACKOFF_MIN_US;
	r->log_budget = 50;
	/* hiredis writes with write(2): a peer that closed would raise SIGPIPE
	 * and kill chotd.  Ignore it unless the program installed a handler;
	 * the write then fails with EPIPE and we reconnect. */
	{
		struct sigaction old;

		if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
			signal(SIGPIPE, SIG_IGN);
	}
	return &r->base;
}
