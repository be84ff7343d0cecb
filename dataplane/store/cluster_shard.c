/*
 * One cluster master's connection and chunk FIFO (cluster_shard.h).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "cluster_shard.h"
#include "coalesce.h"
#include "slot.h"

#define BACKOFF_MIN_US 50000
#define BACKOFF_MAX_US 1000000
#define IDLE_READ_US   100000
#define BUSY_READ_US   20
#define KEEP_BYTES     (256 * 1024)   /* a reused chunk keeps a buffer up to this */
#define CONNECT_TIMEOUT_US 2000000    /* connect + AUTH */
#define REPLY_TIMEOUT_US   5000000    /* no answer to what is in flight (plus WAIT's own) */

enum { D_NOT = 0, D_HERE = 1, D_HANDED = 2 };

struct cl_exp {
	uint32_t chunk, cmd;
};

struct cl_shard {
	char host[256];
	int port;
	struct cl_shard_conf conf;
	char user[128], password[256];
	struct cl_shard_hooks h;
	char wait_cmd[96];
	size_t wait_len;

	redisContext *c;
	bool connecting, auth_pending;
	uint64_t now_us, retry_at_us, backoff_us, last_read_us;
	uint64_t progress_us;           /* last connect start or reply */
	uint64_t stall_us;              /* no progress for this long with work due: reset */

	struct cl_chunk *ch;            /* ring by chunk id, capacity ccap (2^k) */
	uint32_t ccap, chead, ctail;
	uint32_t s_chunk, s_cmd;        /* send cursor */
	size_t s_off;

	struct cl_exp *exp;             /* ring, capacity ecap (2^k) */
	uint32_t ecap, ehead, etail;

	struct cl_shard_stats st;
};

static struct cl_chunk *
chunk_at(const struct cl_shard *s, uint32_t id)
{
	return &s->ch[id & (s->ccap - 1)];
}

struct cl_shard *
cl_shard_create(const char *host, int port, const struct cl_shard_conf *conf,
		const struct cl_shard_hooks *hooks)
{
	struct cl_shard *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	snprintf(s->host, sizeof(s->host), "%s", host);
	s->port = port;
	s->conf = *conf;
	snprintf(s->user, sizeof(s->user), "%s", conf->user != NULL ? conf->user : "");
	snprintf(s->password, sizeof(s->password), "%s",
		 conf->password != NULL ? conf->password : "");
	s->conf.user = s->user;
	s->conf.password = s->password;
	if (s->conf.pipeline == 0)
		s->conf.pipeline = 256;
	s->h = *hooks;
	if (conf->wait_replicas > 0) {
		char n[16], t[16];
		int ln = snprintf(n, sizeof(n), "%u", conf->wait_replicas);
		int lt = snprintf(t, sizeof(t), "%u", conf->wait_timeout_ms);

		s->wait_len = (size_t)snprintf(s->wait_cmd, sizeof(s->wait_cmd),
					       "*3\r\n$4\r\nWAIT\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n",
					       ln, n, lt, t);
	}
	s->ccap = 16;
	s->ch = calloc(s->ccap, sizeof(*s->ch));
	for (s->ecap = 16; s->ecap < 2 * s->conf.pipeline + 16; s->ecap <<= 1)
		;
	s->exp = calloc(s->ecap, sizeof(*s->exp));
	if (s->ch == NULL || s->exp == NULL) {
		free(s->ch);
		free(s->exp);
		free(s);
		return NULL;
	}
	s->backoff_us = BACKOFF_MIN_US;
	s->stall_us = REPLY_TIMEOUT_US + 2ull * 1000 * conf->wait_timeout_ms;
	return s;
}

void
cl_shard_destroy(struct cl_shard *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL)
		redisFree(s->c);
	for (uint32_t i = 0; i < s->ccap; i++)
		cl_chunk_free(&s->ch[i]);
	free(s->ch);
	free(s->exp);
	explicit_bzero(s->password, sizeof(s->password));
	free(s);
}

const char *
cl_shard_host(const struct cl_shard *s)
{
	return s->host;
}

int
cl_shard_port(const struct cl_shard *s)
{
	return s->port;
}

struct cl_chunk *
cl_shard_chunk(struct cl_shard *s, uint32_t gen, bool *created)
{
	struct cl_chunk *ch;

	*created = false;
	if (s->chead != s->ctail) {
		ch = chunk_at(s, s->ctail - 1);
		if (!ch->sealed && ch->gen == gen)
			return ch;
	}
	if (s->ctail - s->chead >= s->ccap) {
		uint32_t ncap = s->ccap * 2;
		struct cl_chunk *nc = calloc(ncap, sizeof(*nc));

		if (nc == NULL)
			return NULL;
		/* Live chunks move; the free slots keep their buffers where they fall. */
		for (uint32_t id = s->chead; id != s->ctail; id++)
			nc[id & (ncap - 1)] = *chunk_at(s, id);
		free(s->ch);
		s->ch = nc;
		s->ccap = ncap;
	}
	ch = chunk_at(s, s->ctail++);
	cl_chunk_reset(ch, gen);
	*created = true;
	return ch;
}

void
cl_shard_seal(struct cl_shard *s)
{
	for (uint32_t id = s->chead; id != s->ctail; id++) {
		struct cl_chunk *ch = chunk_at(s, id);

		if (ch->sealed)
			continue;
		if (s->wait_len > 0 && ch->out.ncmds > 0 &&
		    cl_chunk_add(ch, s->wait_cmd, s->wait_len, CL_NO_SLOT) == 0)
			ch->has_wait = true;
		ch->sealed = true;
	}
}

/* Pop complete chunks off the head (they fired chunk_done already). */
static void
pop_complete(struct cl_shard *s)
{
	while (s->chead != s->ctail && cl_chunk_complete(chunk_at(s, s->chead))) {
		struct cl_chunk *ch = chunk_at(s, s->chead);

		if (ch->out.cap > KEEP_BYTES)
			cl_chunk_free(ch);
		if (s->s_chunk == s->chead) {
			s->s_chunk++;
			s->s_cmd = 0;
			s->s_off = 0;
		}
		s->chead++;
	}
}

/* Mark command i of chunk id done (how: D_HERE or D_HANDED). */
static void
mark_done(struct cl_shard *s, uint32_t id, uint32_t i, uint8_t how)
{
	struct cl_chunk *ch = chunk_at(s, id);

	if (ch->done[i] != D_NOT)
		return;
	ch->done[i] = how;
	if (++ch->ndone == ch->out.ncmds && ch->sealed)
		s->h.chunk_done(s->h.ctx, ch->gen);
}

/*
 * The commands in flight go out again after a reset (or to another master):
 * count the events of their APPENDs (redis_resent), whose records may now
 * be at rest twice.  The expectations are in send order, so one walk over
 * each chunk's commands finds their offsets.
 */
static void
count_inflight(struct cl_shard *s)
{
	uint32_t chunk = 0, cmd = 0;
	size_t off = 0;
	bool have = false;

	for (uint32_t e = s->ehead; e != s->etail; e++) {
		struct cl_exp x = s->exp[e & (s->ecap - 1)];
		const struct cl_chunk *ch = chunk_at(s, x.chunk);

		if (!have || x.chunk != chunk || x.cmd < cmd) {
			chunk = x.chunk;
			cmd = 0;
			off = 0;
			have = true;
		}
		for (; cmd < x.cmd; cmd++)
			off += ch->out.cmd_len[cmd];
		s->st.resent += coalesce_cmd_events(ch->out.buf + off, ch->out.cmd_len[cmd]);
	}
}

static void
reset(struct cl_shard *s, const char *why)
{
	if (s->c != NULL) {
		s->h.log(s->h.ctx, s, "connection reset", why);
		redisFree(s->c);
		s->c = NULL;
	}
	s->connecting = false;
	s->auth_pending = false;
	count_inflight(s);
	s->ehead = s->etail = 0;
	/* A chunk whose WAIT did not answer has nothing confirmed: what ran
	 * here goes again (and counts as resent). */
	for (uint32_t id = s->chead; id != s->ctail; id++) {
		struct cl_chunk *ch = chunk_at(s, id);
		size_t off = 0;

		if (!ch->has_wait || ch->done[ch->out.ncmds - 1] != D_NOT)
			continue;
		for (uint32_t i = 0; i + 1 < ch->out.ncmds; off += ch->out.cmd_len[i], i++)
			if (ch->done[i] == D_HERE) {
				ch->done[i] = D_NOT;
				ch->ndone--;
				s->st.resent += coalesce_cmd_events(ch->out.buf + off,
								    ch->out.cmd_len[i]);
			}
	}
	s->s_chunk = s->chead;
	s->s_cmd = 0;
	s->s_off = 0;
	s->retry_at_us = s->now_us + s->backoff_us;
	s->backoff_us = s->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : s->backoff_us * 2;
	s->h.lost(s->h.ctx, s);
}

static void
start_connect(struct cl_shard *s)
{
	s->c = redisConnectNonBlock(s->host, s->port);
	if (s->c == NULL || s->c->err) {
		s->h.log(s->h.ctx, s, "connect", s->c != NULL ? s->c->errstr : "out of memory");
		if (s->c != NULL)
			redisFree(s->c);
		s->c = NULL;
		s->st.redis_errors++;
		reset(s, "connect failed");
		return;
	}
	s->st.reconnects++;
	s->connecting = true;
	s->progress_us = s->now_us;
}

static int
connect_done(struct cl_shard *s)
{
	struct pollfd pfd = { .fd = s->c->fd, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof(err);

	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (getsockopt(s->c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
		s->st.redis_errors++;
		reset(s, strerror(err != 0 ? err : errno));
		return -1;
	}
	return 1;
}

/* One reply for expectation e.  false: the connection was reset. */
static bool
on_reply(struct cl_shard *s, struct cl_exp e, redisReply *rep)
{
	struct cl_chunk *ch = chunk_at(s, e.chunk);
	bool is_wait = ch->has_wait && e.cmd == ch->out.ncmds - 1;

	if (rep->type != REDIS_REPLY_ERROR) {
		if (is_wait && (rep->type != REDIS_REPLY_INTEGER ||
				rep->integer < (long long)s->conf.wait_replicas)) {
			/* Short: ask again on this connection (same write offset). */
			s->st.wait_short++;
			if (redisAppendFormattedCommand(s->c, s->wait_cmd, s->wait_len) != REDIS_OK) {
				reset(s, s->c->errstr);
				return false;
			}
			s->exp[s->etail++ & (s->ecap - 1)] = e;
			s->st.commands_sent++;
			return true;
		}
		s->st.replies_ok++;
		s->backoff_us = BACKOFF_MIN_US;
		mark_done(s, e.chunk, e.cmd, D_HERE);
		return true;
	}
	{
		struct slot_redirect rd;
		enum slot_redirect_kind k = slot_redirect_parse(rep->str, rep->len, &rd);

		if (k != SLOT_REDIRECT_NONE) {
			const char *cmd = ch->out.buf + cl_chunk_offset(ch, e.cmd);
			bool ask = k == SLOT_REDIRECT_ASK;

			if (ask)
				s->st.ask++;
			else
				s->st.moved++;
			s->h.redirect(s->h.ctx, s, ch->gen, cmd, ch->out.cmd_len[e.cmd],
				      ch->slot[e.cmd], ask, rd.ep.host, rd.ep.port);
			mark_done(s, e.chunk, e.cmd, D_HANDED);
			return true;
		}
	}
	if (strncmp(rep->str, "TRYAGAIN", 8) == 0)
		s->st.tryagain++;
	else if (strncmp(rep->str, "CLUSTERDOWN", 11) == 0)
		s->st.clusterdown++;
	else
		s->st.redis_errors++;
	s->h.log(s->h.ctx, s, "error reply", rep->str);
	reset(s, "error reply: held, resent after a backoff");
	return false;
}

static void
read_replies(struct cl_shard *s)
{
	void *reply = NULL;

	if (redisBufferRead(s->c) != REDIS_OK) {
		s->st.redis_errors++;
		reset(s, s->c->errstr);
		return;
	}
	for (;;) {
		redisReply *rep;
		struct cl_exp e;
		bool ok;

		if (redisGetReplyFromReader(s->c, &reply) != REDIS_OK) {
			s->st.redis_errors++;
			reset(s, s->c->errstr);
			return;
		}
		if (reply == NULL)
			return;
		rep = reply;
		s->progress_us = s->now_us;
		if (s->auth_pending) {
			s->auth_pending = false;
			if (rep->type == REDIS_REPLY_ERROR) {
				s->h.log(s->h.ctx, s, "AUTH refused", rep->str);
				freeReplyObject(rep);
				s->st.redis_errors++;
				reset(s, "authentication failed");
				return;
			}
			freeReplyObject(rep);
			continue;
		}
		if (s->ehead == s->etail) {
			freeReplyObject(rep);
			s->st.redis_errors++;
			reset(s, "unexpected reply");
			return;
		}
		e = s->exp[s->ehead++ & (s->ecap - 1)];
		ok = on_reply(s, e, rep);
		freeReplyObject(rep);
		if (!ok)
			return;
	}
}

static void
send_more(struct cl_shard *s)
{
	int done = 0;

	while (s->etail - s->ehead < s->conf.pipeline && s->s_chunk != s->ctail) {
		struct cl_chunk *ch = chunk_at(s, s->s_chunk);
		uint32_t room = s->conf.pipeline - (s->etail - s->ehead), k = 0;
		size_t bytes = 0;

		if (!ch->sealed)
			break;
		if (s->etail == s->ehead)
			s->progress_us = s->now_us;   /* the reply clock starts now */
		while (s->s_cmd < ch->out.ncmds && ch->done[s->s_cmd] != D_NOT) {
			s->s_off += ch->out.cmd_len[s->s_cmd];
			s->s_cmd++;
		}
		while (s->s_cmd + k < ch->out.ncmds && k < room && ch->done[s->s_cmd + k] == D_NOT) {
			s->exp[s->etail++ & (s->ecap - 1)] = (struct cl_exp){ s->s_chunk, s->s_cmd + k };
			bytes += ch->out.cmd_len[s->s_cmd + k];
			k++;
		}
		if (k > 0 && redisAppendFormattedCommand(s->c, ch->out.buf + s->s_off, bytes) !=
		    REDIS_OK) {
			reset(s, s->c->errstr);
			return;
		}
		s->st.commands_sent += k;
		s->s_cmd += k;
		s->s_off += bytes;
		if (s->s_cmd >= ch->out.ncmds) {
			s->s_chunk++;
			s->s_cmd = 0;
			s->s_off = 0;
		}
	}
	if (s->c->obuf != NULL && sdslen(s->c->obuf) > 0 && redisBufferWrite(s->c, &done) != REDIS_OK) {
		s->st.redis_errors++;
		reset(s, s->c->errstr);
	}
}

void
cl_shard_poll(struct cl_shard *s, uint64_t now_us)
{
	s->now_us = now_us;
	if (s->c == NULL) {
		if (now_us < s->retry_at_us || s->chead == s->ctail)
			return;        /* connect only when there is something to send */
		start_connect(s);
		if (s->c == NULL)
			return;
	}
	/* A node that vanished without a reset (box lost, partition) or a
	 * frozen one: nothing ever fails, so a stall is a failure too.  After a
	 * reset the writes are held (and moved, if the map moves the slots). */
	if ((s->connecting || s->auth_pending || s->etail != s->ehead) &&
	    now_us - s->progress_us > (s->connecting || s->auth_pending ? CONNECT_TIMEOUT_US
									   : s->stall_us)) {
		s->st.redis_errors++;
		reset(s, s->connecting ? "connect timed out" : "no answer in time");
		return;
	}
	if (s->connecting) {
		if (connect_done(s) != 1)
			return;
		s->connecting = false;
		if (s->user[0] != '\0' || s->password[0] != '\0') {
			if (s->user[0] != '\0')
				redisAppendCommand(s->c, "AUTH %s %s", s->user, s->password);
			else
				redisAppendCommand(s->c, "AUTH %s", s->password);
			s->auth_pending = true;
		}
	}
	send_more(s);
	if (s->c != NULL &&
	    now_us - s->last_read_us >= (s->etail != s->ehead || s->auth_pending ? BUSY_READ_US
										 : IDLE_READ_US)) {
		s->last_read_us = now_us;
		read_replies(s);
	}
	pop_complete(s);
}

bool
cl_shard_unsent(const struct cl_shard *s)
{
	return s->s_chunk != s->ctail && chunk_at(s, s->s_chunk)->sealed;
}

uint32_t
cl_shard_inflight(const struct cl_shard *s)
{
	return s->etail - s->ehead;
}

uint32_t
cl_shard_chunks(const struct cl_shard *s)
{
	return s->ctail - s->chead;
}

bool
cl_shard_connected(const struct cl_shard *s)
{
	return s->c != NULL && !s->connecting;
}

bool
cl_shard_down(const struct cl_shard *s)
{
	return s->c == NULL;
}

void
cl_shard_reroute(struct cl_shard *s, bool (*mine)(void *ctx, struct cl_shard *s, uint16_t slot),
		 void *ctx)
{
	if (s->c != NULL)
		return;
	for (uint32_t id = s->chead; id != s->ctail; id++) {
		struct cl_chunk *ch = chunk_at(s, id);
		uint32_t left = 0, n = ch->out.ncmds - (ch->has_wait ? 1 : 0);
		size_t off = 0;

		if (!ch->sealed)
			continue;
		for (uint32_t i = 0; i < n; off += ch->out.cmd_len[i], i++) {
			if (ch->done[i] != D_NOT)
				continue;
			if (ch->slot[i] == CL_NO_SLOT) {     /* an ASKING: the map decides now */
				mark_done(s, id, i, D_HANDED);
				continue;
			}
			if (mine(ctx, s, ch->slot[i])) {
				left++;
				continue;
			}
			s->h.redirect(s->h.ctx, s, ch->gen, ch->out.buf + off, ch->out.cmd_len[i],
				      ch->slot[i], false, NULL, 0);
			mark_done(s, id, i, D_HANDED);
		}
		if (ch->has_wait && left == 0)
			mark_done(s, id, ch->out.ncmds - 1, D_HANDED);
	}
	pop_complete(s);
}

void
cl_shard_abandon(struct cl_shard *s)
{
	if (s->c != NULL)
		redisFree(s->c);
	s->c = NULL;
	s->connecting = false;
	s->auth_pending = false;
	s->ehead = s->etail = 0;
	s->chead = s->ctail = s->s_chunk = 0;
	s->s_cmd = 0;
	s->s_off = 0;
}

void
cl_shard_get_stats(const struct cl_shard *s, struct cl_shard_stats *st)
{
	*st = s->st;
}
