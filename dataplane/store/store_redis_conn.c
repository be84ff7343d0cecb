/*
 * A Redis store connection's life (store_redis_int.h): the non-blocking
 * connect, AUTH, and the break.  When a connection breaks, what was in
 * flight has an unknown outcome: the send cursor goes back to the first
 * unanswered command (counted in redis_resent), a generation whose WAIT did
 * not answer goes again whole, and the EXPIREATs the expiry memo left out
 * are queued again, since Redis may have restarted without them.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "store_redis_int.h"

void
sr_log(struct store_redis *r, const char *what, const char *why)
{
	char ep[300];

	if (r->url.kind == REDIS_URL_UNIX)
		store_log(&r->base, DP_STORE_LOG_WARNING, "store %s: %s: %s", r->url.path, what,
			  why != NULL ? why : "");
	else
		store_log(&r->base, DP_STORE_LOG_WARNING, "store %s: %s: %s",
			  redis_endpoint_format(&r->url.seeds[0], ep, sizeof(ep)), what,
			  why != NULL ? why : "");
}

/*
 * The connection broke: Redis may have restarted and lost keys whose
 * EXPIREAT the memo says went out.  Forget the memo, and queue, after every
 * generation not yet confirmed, the EXPIREATs those generations left out.
 * If that fails (out of memory) the batches must not complete without
 * them: keep the repairs where they are and try again at the next break.
 */
static void
queue_repairs(struct store_redis *r)
{
	uint32_t end = r->gtail, id;
	struct rgen *rg;

	coalesce_forget(r->co);
	for (id = r->ghead; id != end; id++)
		if (sr_gen_at(r, id)->repair.ncmds != 0)
			break;
	if (id == end || sr_gen_room(r) != 0)
		return;
	rg = sr_gen_at(r, r->gtail);
	rg->out.len = 0;
	rg->out.ncmds = 0;
	rg->repair.len = 0;
	rg->repair.ncmds = 0;
	for (id = r->ghead; id != end; id++)
		if (resp_out_append(&rg->out, &sr_gen_at(r, id)->repair) != 0)
			return;
	for (id = r->ghead; id != end; id++) {
		sr_gen_at(r, id)->repair.len = 0;
		sr_gen_at(r, id)->repair.ncmds = 0;
	}
	rg->replied = 0;
	rg->replied_off = 0;
	rg->events = 0;
	rg->has_wait = r->wait.ncmds != 0 && resp_out_append(&rg->out, &r->wait) == 0;
	rg->batch_head = rg->batch_tail = NO_BATCH;
	r->gtail++;
}

/*
 * The oldest generation's WAIT did not answer before the connection broke:
 * send all of it again (its records may then be at rest twice: counted in
 * redis_resent).  WAIT counts the replication offset of the client's last
 * write that changed something; on the new connection every APPEND
 * changes the data (it appends again), so the new WAIT covers what the old
 * connection wrote.  The EXPIREATs the expiry memo left out also go in
 * before the WAIT (an EXPIREAT of an existing key always counts as a
 * change too; a generation without repairs has its own EXPIREATs, or only
 * APPENDs, which always count).  Out of memory: the generation is
 * resent as it is.
 */
static void
wait_gen_resend(struct store_redis *r, struct rgen *g)
{
	struct resp_out n = { 0 }, body;

	g->replied = 0;
	g->replied_off = 0;
	if (g->repair.ncmds == 0 || g->out.ncmds == 0)
		return;
	body = g->out;
	body.ncmds--;
	body.len -= g->out.cmd_len[g->out.ncmds - 1];
	if (resp_out_append(&n, &body) != 0 || resp_out_append(&n, &g->repair) != 0 ||
	    resp_out_append(&n, &r->wait) != 0) {
		resp_out_free(&n);
		return;
	}
	resp_out_free(&g->out);
	g->out = n;
	g->repair.len = 0;
	g->repair.ncmds = 0;
}

/*
 * Count the events whose APPENDs go out again (redis_resent): the commands
 * in flight, and all of a head generation whose WAIT did not answer
 * (wait_gen_resend).  They may have run already: their records may now be
 * at rest twice.
 */
static void
count_resent(struct store_redis *r)
{
	uint32_t id = r->ghead, i;
	const struct rgen *g;
	size_t off;

	if (r->inflight == 0 || id == r->gtail)
		return;
	g = sr_gen_at(r, id);
	i = g->has_wait ? 0 : g->replied;
	off = g->has_wait ? 0 : g->replied_off;
	for (;;) {
		uint32_t end = id == r->s_gen ? r->s_cmd : g->out.ncmds;

		for (; i < end; off += g->out.cmd_len[i], i++)
			r->resent += coalesce_cmd_events(g->out.buf + off, g->out.cmd_len[i]);
		if (id == r->s_gen || ++id == r->gtail)
			return;
		g = sr_gen_at(r, id);
		i = 0;
		off = 0;
	}
}

void
sr_disconnect(struct store_redis *r, const char *why)
{
	if (r->c != NULL) {
		sr_log(r, "connection lost", why);
		redisFree(r->c);
		r->c = NULL;
		r->redis_errors++;
	}
	r->connecting = false;
	r->auth_pending = false;
	/* Outcome of what was in flight unknown: send again from the first
	 * unanswered command. */
	count_resent(r);
	r->inflight = 0;
	/* A generation whose WAIT did not answer has nothing confirmed: all of
	 * it goes again (WAIT counts the writes of its own connection). */
	if (r->ghead != r->gtail && sr_gen_at(r, r->ghead)->has_wait)
		wait_gen_resend(r, sr_gen_at(r, r->ghead));
	queue_repairs(r);
	r->s_gen = r->ghead;
	if (r->ghead != r->gtail) {
		r->s_cmd = sr_gen_at(r, r->ghead)->replied;
		r->s_off = sr_gen_at(r, r->ghead)->replied_off;
	} else {
		r->s_cmd = 0;
		r->s_off = 0;
	}
	r->retry_at_us = r->now_us + r->backoff_us;
	r->backoff_us = r->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : r->backoff_us * 2;
}

void
sr_start_connect(struct store_redis *r)
{
	r->c = r->url.kind == REDIS_URL_UNIX
		       ? redisConnectUnixNonBlock(r->url.path)
		       : redisConnectNonBlock(r->url.seeds[0].host, r->url.seeds[0].port);
	if (r->c == NULL || r->c->err) {
		sr_log(r, "connect", r->c != NULL ? r->c->errstr : "out of memory");
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

int
sr_connect_done(struct store_redis *r)
{
	struct pollfd pfd = { .fd = r->c->fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (getsockopt(r->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		sr_disconnect(r, strerror(err != 0 ? err : errno));
		return -1;
	}
	return 1;
}

void
sr_send_auth(struct store_redis *r)
{
	if (r->user[0] == '\0' && r->password[0] == '\0')
		return;
	if (r->user[0] != '\0')
		redisAppendCommand(r->c, "AUTH %s %s", r->user, r->password);
	else
		redisAppendCommand(r->c, "AUTH %s", r->password);
	r->auth_pending = true;
}
