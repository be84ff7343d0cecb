/*
 * The Redis store (one server), in three files over store_redis_int.h:
 * this one (the store's ops, the sender and the reply reader),
 * store_redis_gen.c (the FIFO of closed generations) and store_redis_conn.c
 * (connect, AUTH, and what a broken connection sends again).
 *
 * One hiredis 0.14 context in non-blocking mode, driven entirely from the
 * owning worker's loop through dp_store_poll(): it never sleeps and never
 * waits on a socket.  Writes follow proto/layout.h.
 *
 * Submitted batches go into the open *generation* of the coalescer
 * (coalesce.h), which groups members by key across batches.  A generation
 * is closed -- formatted into one RESP buffer -- when everything closed
 * before it has been written to the socket and either nothing is in flight
 * or it is flush_us old (or it is full).  So when Redis keeps up a batch
 * goes out at once, and when Redis is the bottleneck the generation grows
 * while the pipe is busy and commands per event fall (group commit).
 *
 * Closed generations form a FIFO.  At most `pipeline` commands are in
 * flight; Redis answers them in order, so a send cursor and a reply cursor
 * over the FIFO are all the bookkeeping there is.  The window is sized in
 * time, not memory: it must hold more Redis work than the longest gap
 * between two polls (formatting a generation, a descheduled lcore), or
 * Redis sits idle with work queued here.  When the window is full and the
 * lcore has nothing else to do, dp_store_wait sleeps on the socket.
 *
 * When the connection breaks, every in-flight command's outcome is
 * unknown: the send cursor moves back to the reply cursor and they go out
 * once more after the reconnect.  That is safe: EXPIREAT to the same instant
 * is idempotent, and an APPEND that ran twice leaves exact duplicate
 * records (and vault units), which every reader drops (proto/layout.h);
 * the events of the APPENDs sent again are counted (redis_resent).
 *
 * A generation's batches complete (done(ctx, cookie, 0), in submit order)
 * when the last of its commands got a non-error reply; generations complete
 * in order, so completions are FIFO.  An error reply (OOM under noeviction,
 * NOPERM from a wrong ACL, ...) is counted and handled like a broken
 * connection: the failed command is the first unanswered one, so after the
 * backoff everything from it on is sent again in order (an APPEND before its
 * EXPIREAT, always).  A misconfigured ACL or a full Redis thus shows up as a
 * growing redis_errors counter and a growing backlog, never as a false ACK.
 * The backlog is bounded by max_pending_events; beyond it submit refuses
 * (-ENOBUFS) and the caller drops and counts the batch.
 *
 * With conf.chot_append (the start-up check found the chot_audit module's
 * CHOT.APPEND) each key is one CHOT.APPEND key expire_at records: the
 * value kept at its exact size, the expiry set in the same command, so no
 * EXPIREAT, no expiry memo and no repairs (coalesce.h).  Resending one is
 * as safe as resending an APPEND: the same expiry, records appended twice.
 * A server restarted without the module answers "unknown command": an
 * error reply like any other, counted, the batch never ACKed, until chotd
 * is restarted (and its check picks APPEND + EXPIREAT).
 *
 * Buffers are reused: a generation's slot keeps its RESP buffer for the
 * next generation, so the steady state allocates nothing per command.
 *
 * Logging goes through store_log (store.c): the caller's hook (chotd's
 * logtype), rate limited per second, never silenced for good.  At shutdown
 * dp_store_abandon completes whatever Redis has not confirmed with
 * -ECANCELED.  Before any of this, chotd's main.c runs store_redis_check
 * (store_check.c): a blocking, data-neutral probe of the
 * credentials and the ACL, so a configuration that can never work stops
 * chotd at start instead of retrying in silence.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coalesce.h"
#include "store_redis_int.h"

#define IDLE_READ_US   100000
#define BUSY_READ_US   20      /* replies due: one read() gathers ~20 us of them */
#define PIPELINE_DEFAULT 4096  /* redis.pipeline unset (configs/chotd.conf says why) */
/*
 * Events one generation holds at most: a quarter of the backlog bound
 * (redis.max_pending_events), between GEN_MIN and GEN_MAX.  Under overload
 * generations are full, and a bigger one shares more keys (one APPEND and
 * one EXPIREAT per key): 8,192 events made 1.72 commands an event on the
 * 100k-citizen province, 65,536 made 1.38, and Redis's CPU per event fell
 * with it.  A quarter keeps three closed generations queued behind the one
 * on the wire, so Redis never waits for the next one to be formatted.
 */
#define GEN_MIN_EVENTS 64
#define GEN_MAX_EVENTS 65536
#define MEMO_SLOTS     (1u << 20)  /* expiry memo: 8 MiB a worker */


static void
read_replies(struct store_redis *r)
{
	void *reply = NULL;

	if (redisBufferRead(r->c) != REDIS_OK) {
		sr_disconnect(r, r->c->errstr);
		return;
	}
	for (;;) {
		redisReply *rep;

		if (redisGetReplyFromReader(r->c, &reply) != REDIS_OK) {
			sr_disconnect(r, r->c->errstr);
			return;
		}
		if (reply == NULL)
			return;
		rep = reply;
		if (r->auth_pending) {
			r->auth_pending = false;
			if (rep->type == REDIS_REPLY_ERROR) {
				sr_log(r, "AUTH refused", rep->str);
				freeReplyObject(rep);
				sr_disconnect(r, "authentication failed");
				return;
			}
			freeReplyObject(rep);
			continue;
		}
		if (r->inflight == 0) {  /* a reply we did not ask for */
			freeReplyObject(rep);
			sr_disconnect(r, "unexpected reply");
			return;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			/*
			 * OOM, NOPERM, ...: keep the failed command at the head and
			 * reset the connection, so everything from it on is sent
			 * again, in order, after a backoff.  Never reorder: an
			 * APPEND retried after its EXPIREAT succeeded (on a missing
			 * key) would leave a key that never expires.
			 */
			sr_log(r, "error reply", rep->str);
			freeReplyObject(rep);
			sr_disconnect(r, "error reply: resending from the failed command");
			return;
		}
		{
			struct rgen *g = sr_gen_at(r, r->ghead);

			if (g->has_wait && g->replied + 1 == g->out.ncmds &&
			    (rep->type != REDIS_REPLY_INTEGER ||
			     rep->integer < (long long)r->conf.wait_replicas)) {
				/* Short: ask again, on this connection, for the same writes. */
				freeReplyObject(rep);
				r->wait_short++;
				r->inflight--;
				r->s_gen = r->ghead;
				r->s_cmd = g->replied;
				r->s_off = g->replied_off;
				continue;
			}
			freeReplyObject(rep);

			g->replied_off += g->out.cmd_len[g->replied];
			r->inflight--;
			r->replies_ok++;
			r->backoff_us = BACKOFF_MIN_US;
			if (++g->replied == g->out.ncmds)
				sr_gen_done(r);
		}
	}
}

static void
send_more(struct store_redis *r)
{
	int done = 0;

	if (r->now_us >= r->retry_at_us) {
		/* With WAIT, only the oldest generation is on the wire: a short WAIT
		 * is then simply sent again, the only command in flight. */
		while (r->inflight < r->conf.pipeline && r->s_gen != r->gtail &&
		       (r->wait.ncmds == 0 || r->s_gen == r->ghead)) {
			struct rgen *g = sr_gen_at(r, r->s_gen);
			uint32_t k = g->out.ncmds - r->s_cmd;
			size_t bytes = 0;

			if (k > r->conf.pipeline - r->inflight)
				k = r->conf.pipeline - r->inflight;
			for (uint32_t i = 0; i < k; i++)
				bytes += g->out.cmd_len[r->s_cmd + i];
			/* One contiguous run of commands, one copy into hiredis. */
			if (redisAppendFormattedCommand(r->c, g->out.buf + r->s_off, bytes) !=
			    REDIS_OK) {
				sr_disconnect(r, r->c->errstr);
				return;
			}
			r->inflight += k;
			r->commands_sent += k;
			r->s_cmd += k;
			r->s_off += bytes;
			if (r->s_cmd == g->out.ncmds) {
				r->s_gen++;
				r->s_cmd = 0;
				r->s_off = 0;
			}
		}
	}
	if (r->c->obuf != NULL && sdslen(r->c->obuf) > 0 &&
	    redisBufferWrite(r->c, &done) != REDIS_OK)
		sr_disconnect(r, r->c->errstr);
}

static void
redis_poll(struct dp_store *s, uint64_t now_us)
{
	struct store_redis *r = (struct store_redis *)s;

	r->now_us = now_us;
	if (r->c == NULL) {
		if (now_us < r->retry_at_us)
			return;
		sr_start_connect(r);
		if (r->c == NULL)
			return;
	}
	if (r->connecting) {
		if (sr_connect_done(r) != 1)
			return;
		r->connecting = false;
		sr_send_auth(r);
	}
	/* Close the open generation once everything before it is written and
	 * either the pipe is idle or it has waited flush_us. */
	if (coalesce_events(r->co) > 0 && r->s_gen == r->gtail &&
	    (r->inflight == 0 || now_us - r->open_since_us >= r->conf.flush_us))
		sr_gen_close(r);
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

/*
 * Sleep until Redis answers or the socket takes more, when nothing else can
 * make progress: the window is full (or nothing closed is left to send) and
 * no reconnect is due.  A reply that wakes us is read at the next poll.
 */
static void
redis_wait(struct dp_store *s, unsigned max_us)
{
	struct store_redis *r = (struct store_redis *)s;
	struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)max_us * 1000 };
	struct pollfd pfd = { .events = 0 };

	if (r->c == NULL || r->connecting || r->now_us < r->retry_at_us)
		return;
	if (r->inflight < r->conf.pipeline && r->s_gen != r->gtail)
		return;
	if (r->inflight > 0 || r->auth_pending)
		pfd.events |= POLLIN;
	if (r->c->obuf != NULL && sdslen(r->c->obuf) > 0)
		pfd.events |= POLLOUT;
	if (pfd.events == 0)
		return;
	pfd.fd = r->c->fd;
	if (ppoll(&pfd, 1, &ts, NULL) > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)))
		r->last_read_us = 0;
}

static int
redis_submit(struct dp_store *s, uint64_t cookie, const struct dp_store_event *evs, unsigned n)
{
	struct store_redis *r = (struct store_redis *)s;
	struct rbatch *b;
	uint32_t slot;

	if (n == 0 || n > WIRE_MAX_EVENTS)
		return -EINVAL;
	if (r->events_pending + n > r->conf.max_pending_events || r->free_batch == NO_BATCH)
		return -ENOBUFS;
	if (!coalesce_room(r->co, n) && sr_gen_close(r) != 0)
		return -ENOBUFS;
	if (coalesce_add(r->co, evs, n) != 0)
		return -ENOBUFS;
	if (r->open_head == NO_BATCH)
		r->open_since_us = r->now_us;
	slot = r->free_batch;
	b = &r->batches[slot];
	r->free_batch = b->next;
	b->cookie = cookie;
	b->events = n;
	b->next = NO_BATCH;
	if (r->open_head == NO_BATCH)
		r->open_head = slot;
	else
		r->batches[r->open_tail].next = slot;
	r->open_tail = slot;
	r->events_pending += n;
	r->batches_pending++;
	return 0;
}

static void
redis_stats(const struct dp_store *s, struct dp_store_stats *st)
{
	const struct store_redis *r = (const struct store_redis *)s;

	st->commands_sent = r->commands_sent;
	st->replies_ok = r->replies_ok;
	st->redis_errors = r->redis_errors;
	st->reconnects = r->reconnects;
	st->wait_short = r->wait_short;
	st->resent = r->resent;
	st->events_pending = r->events_pending;
	st->batches_pending = r->batches_pending;
	st->connected = r->c != NULL && !r->connecting;
	st->chot_append = r->conf.chot_append;
}

/* Complete the batches of the list starting at b with -ECANCELED, in order. */
static void
abandon_batches(struct store_redis *r, uint32_t b)
{
	while (b != NO_BATCH) {
		struct rbatch *rb = &r->batches[b];
		uint32_t next = rb->next;
		uint64_t cookie = rb->cookie;

		rb->next = r->free_batch;
		r->free_batch = b;
		r->base.done(r->base.ctx, cookie, -ECANCELED);
		b = next;
	}
}

static void
redis_abandon(struct dp_store *s)
{
	struct store_redis *r = (struct store_redis *)s;
	uint32_t id;

	/* The open generation joins the FIFO, so completions stay in submit
	 * order; if that fails (out of memory) its batches go last anyway. */
	(void)sr_gen_close(r);
	for (id = r->ghead; id != r->gtail; id++) {
		abandon_batches(r, sr_gen_at(r, id)->batch_head);
		sr_gen_at(r, id)->batch_head = sr_gen_at(r, id)->batch_tail = NO_BATCH;
	}
	abandon_batches(r, r->open_head);
	r->open_head = r->open_tail = NO_BATCH;
	r->ghead = r->gtail;
	r->s_gen = r->gtail;
	r->s_cmd = 0;
	r->s_off = 0;
	r->inflight = 0;
	r->events_pending = 0;
	r->batches_pending = 0;
	/* Replies still due answer commands nobody waits for any more. */
	if (r->c != NULL) {
		redisFree(r->c);
		r->c = NULL;
	}
	r->connecting = false;
	r->auth_pending = false;
}

static void
redis_destroy(struct dp_store *s)
{
	struct store_redis *r = (struct store_redis *)s;

	if (r->c != NULL)
		redisFree(r->c);
	for (uint32_t i = 0; i < r->gcap; i++) {
		resp_out_free(&r->gens[i].out);
		resp_out_free(&r->gens[i].repair);
	}
	free(r->gens);
	coalesce_destroy(r->co);
	free(r->batches);
	resp_out_free(&r->wait);
	explicit_bzero(r->password, sizeof(r->password));
	free(r);
}

static const struct store_ops redis_ops = {
	.submit = redis_submit, .poll = redis_poll, .wait = redis_wait, .stats = redis_stats,
	.abandon = redis_abandon, .destroy = redis_destroy,
};

struct dp_store *
store_redis_create(const struct dp_store_conf *conf, const struct redis_url *u)
{
	struct store_redis *r = calloc(1, sizeof(*r));
	uint32_t nb, gen_max;

	if (r == NULL)
		return NULL;
	r->base.ops = &redis_ops;
	r->conf = *conf;
	r->url = *u;
	if (r->conf.pipeline == 0)
		r->conf.pipeline = PIPELINE_DEFAULT;
	if (r->conf.max_pending_events == 0)
		r->conf.max_pending_events = 1 << 20;
	gen_max = r->conf.max_pending_events / 4;
	gen_max = gen_max < GEN_MIN_EVENTS ? GEN_MIN_EVENTS
		  : gen_max > GEN_MAX_EVENTS ? GEN_MAX_EVENTS : gen_max;
	snprintf(r->user, sizeof(r->user), "%s", conf->user != NULL ? conf->user : u->user);
	snprintf(r->password, sizeof(r->password), "%s",
		 conf->password != NULL ? conf->password : u->password);
	r->gcap = 64;
	r->gens = calloc(r->gcap, sizeof(*r->gens));
	r->co = coalesce_create(gen_max, MEMO_SLOTS, r->conf.retention_days,
				conf->vault_key);
	if (r->co != NULL) {
		coalesce_set_alerts_max(r->co, conf->alerts_max);
		coalesce_set_chot_append(r->co, conf->chot_append);
	}
	nb = r->conf.max_pending_events < (1u << 20) ? r->conf.max_pending_events : (1u << 20);
	r->batches = calloc(nb, sizeof(*r->batches));
	if (r->gens == NULL || r->co == NULL || r->batches == NULL) {
		free(r->gens);
		coalesce_destroy(r->co);
		free(r->batches);
		free(r);
		return NULL;
	}
	if (conf->wait_replicas > 0) {
		char cmd[96];
		int n = snprintf(cmd, sizeof(cmd), "*3\r\n$4\r\nWAIT\r\n$%d\r\n%u\r\n$%d\r\n%u\r\n",
				 snprintf(NULL, 0, "%u", conf->wait_replicas), conf->wait_replicas,
				 snprintf(NULL, 0, "%u", conf->wait_timeout_ms), conf->wait_timeout_ms);
		struct resp_out one = { .buf = cmd, .len = (size_t)n, .cap = (size_t)n,
					.cmd_len = &(uint32_t){ (uint32_t)n }, .ncmds = 1, .cmd_cap = 1 };

		if (resp_out_append(&r->wait, &one) != 0) {
			redis_destroy(&r->base);
			return NULL;
		}
	}
	r->n_batches = nb;
	for (uint32_t i = 0; i < nb; i++)
		r->batches[i].next = i + 1 < nb ? i + 1 : NO_BATCH;
	r->free_batch = 0;
	r->open_head = r->open_tail = NO_BATCH;
	r->backoff_us = BACKOFF_MIN_US;
	/* hiredis writes with write(2): a peer that closed raises SIGPIPE.  The
	 * program ignores it (chotd's main.c), so the write fails with EPIPE
	 * and we reconnect; a library does not touch signal dispositions. */
	return &r->base;
}

