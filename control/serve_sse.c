/*
 * The alerts feed (DESIGN §9) as server-sent events: GET /api/alerts.
 *
 * Each stream has its own Redis connection, authenticated as the session's
 * user (a blocking XREAD would hold the session's connection for seconds),
 * and its opening is audited ("alerts", as `chotctl alerts --follow` is) as that user.  It
 * sends the last BACKLOG alerts, oldest first, then blocks in
 *   XREAD COUNT 100 BLOCK 5000 STREAMS chot:{alerts} <last id>
 * and sends each new entry as
 *   id: <stream id>
 *   event: alert
 *   data: {"alert_id": ..., "ts_ms": ..., "site": ..., "pid": ..., "scheme": ...,
 *          "reasons": [...], "device": ..., "origin_commune": ...}
 * (the JSON of `chotctl alerts --json`).  A browser that reconnects sends
 * Last-Event-ID and resumes after it, so nothing is lost in between.  A
 * read that times out sends a comment line: it keeps proxies from closing
 * an idle stream, and a browser gone away is noticed within 5 s.  When the
 * session ends (sign-out, idle timeout) the stream says `event: expired`
 * and closes.
 *
 * libmicrohttpd calls the reader from this connection's own thread, so it
 * may block.  Fields are copied as text, escaped for JSON; a value that is
 * not a decimal number where one is expected is sent as a string, never
 * dropped or guessed.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists.h"
#include "serve.h"

#define BACKLOG 50
#define BLOCK_MS "5000"
#define STREAMS_PER_SESSION 4

struct sse {
	struct ctl_redis *r;
	struct serve_session *s;
	char last[48];              /* the last id sent, or "" before the backlog */
	char *buf;                  /* events not yet written to the socket */
	size_t len, off;
	bool first, end;
};

static bool
is_stream_id(const char *s)
{
	size_t a = strspn(s, "0123456789");

	return a > 0 && s[a] == '-' && s[a + 1] != '\0' &&
	       strspn(s + a + 1, "0123456789") == strlen(s + a + 1) && strlen(s) < 48;
}

static bool
is_number(const struct ctl_node *n)
{
	return n->type == CTL_NODE_STR && n->n > 0 && n->n < 20 &&
	       strspn(n->p, "0123456789") == n->n;
}

static const struct ctl_node *
field(const struct ctl_tree *t, size_t fields, const char *name)
{
	const struct ctl_node *v = t->v;
	size_t i = fields + 1;

	for (size_t k = 0; k + 1 < v[fields].n; k += 2) {
		size_t val = v[i].next;

		if (v[i].type == CTL_NODE_STR && strcmp(v[i].p, name) == 0 &&
		    v[val].type == CTL_NODE_STR)
			return &v[val];
		i = v[val].next;
	}
	return NULL;
}

/* One stream entry (an [id, [field, value, ...]] node) as an event. */
static void
emit_entry(struct sse *x, FILE *f, const struct ctl_tree *t, size_t e)
{
	static const char *const nums[] = { "ts_ms", "site", "device", "origin_commune" };
	const struct ctl_node *v = t->v, *id = &v[e + 1], *n;
	size_t fields = id->next;

	if (v[e].type != CTL_NODE_ARR || v[e].n != 2 || id->type != CTL_NODE_STR ||
	    v[fields].type != CTL_NODE_ARR)
		return;
	if (is_stream_id(id->p))
		snprintf(x->last, sizeof(x->last), "%s", id->p);
	fprintf(f, "id: %s\nevent: alert\ndata: {\"alert_id\": ", x->last);
	serve_json_str(f, id->p, id->n);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		fprintf(f, ", \"%s\": ", nums[i]);
		n = field(t, fields, nums[i]);
		if (n == NULL)
			fputs("null", f);
		else if (is_number(n))
			fwrite(n->p, 1, n->n, f);
		else
			serve_json_str(f, n->p, n->n);
	}
	fputs(", \"pid\": ", f);
	n = field(t, fields, "pid");
	serve_json_str(f, n ? n->p : "", n ? n->n : 0);
	fputs(", \"scheme\": ", f);
	n = field(t, fields, "scheme");
	serve_json_str(f, n ? n->p : "", n ? n->n : 0);
	fputs(", \"reasons\": [", f);
	n = field(t, fields, "reasons");
	for (const char *p = n ? n->p : NULL; p != NULL && *p;) {
		size_t k = strcspn(p, ",");

		fputs(p == n->p ? "" : ", ", f);
		serve_json_str(f, p, k);
		p += k + (p[k] == ',');
	}
	fputs("]}\n\n", f);
}

static int
command(struct sse *x, int argc, const char **argv, struct ctl_tree *t, char *err, size_t errlen)
{
	size_t argl[12];
	const char *const *av = argv;
	const size_t *al = argl;
	int rc;

	for (int i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	rc = ctl_redis_pipe_tree(x->r, 1, &argc, &av, &al, t, err, errlen);
	if (rc == 0 && t->v[0].type == CTL_NODE_ERR) {
		snprintf(err, errlen, "%s", t->v[0].p);
		ctl_tree_free(t);
		return -EACCES;
	}
	return rc;
}

/* The last BACKLOG alerts, oldest first.  0 or -errno (err set). */
static int
backlog(struct sse *x, FILE *f, char *err, size_t errlen)
{
	const char *argv[] = { "XREVRANGE", LISTS_ALERTS_STREAM, "+", "-", "COUNT", "50" };
	struct ctl_tree t;
	size_t idx[BACKLOG], n = 0;
	int rc = command(x, 6, argv, &t, err, errlen);

	if (rc != 0)
		return rc;
	if (t.v[0].type == CTL_NODE_ARR)
		for (size_t i = 1, k = 0; k < t.v[0].n && n < BACKLOG; k++, i = t.v[i].next)
			idx[n++] = i;
	while (n > 0)
		emit_entry(x, f, &t, idx[--n]);
	if (x->last[0] == '\0')
		snprintf(x->last, sizeof(x->last), "0-0");  /* empty: everything from the start */
	ctl_tree_free(&t);
	return 0;
}

/* Block for new alerts; comment line on a timeout.  0 or -errno. */
static int
follow(struct sse *x, FILE *f, char *err, size_t errlen)
{
	const char *argv[] = { "XREAD", "COUNT", "100", "BLOCK", BLOCK_MS, "STREAMS",
			       LISTS_ALERTS_STREAM, x->last };
	struct ctl_tree t;
	const struct ctl_node *v;
	int rc = command(x, 8, argv, &t, err, errlen);

	if (rc != 0)
		return rc;
	v = t.v;
	if (v[0].type != CTL_NODE_ARR || v[0].n == 0) {
		fputs(": waiting\n\n", f);
	} else {
		size_t st = 1, entries = v[st + 1].next;  /* [name, [entries...]] */

		if (v[st].type == CTL_NODE_ARR && v[st].n == 2 && v[entries].type == CTL_NODE_ARR)
			for (size_t i = entries + 1, k = 0; k < v[entries].n; k++, i = v[i].next)
				emit_entry(x, f, &t, i);
	}
	ctl_tree_free(&t);
	return 0;
}

static ssize_t
reader(void *cls, uint64_t pos, char *out, size_t max)
{
	struct sse *x = cls;
	char err[256];
	FILE *f;
	int rc;

	(void)pos;
	while (x->off >= x->len) {
		free(x->buf);
		x->buf = NULL;
		x->len = x->off = 0;
		if (x->end)
			return MHD_CONTENT_READER_END_OF_STREAM;
		f = open_memstream(&x->buf, &x->len);
		if (f == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (__atomic_load_n(&x->s->dead, __ATOMIC_RELAXED)) {
			fputs("event: expired\ndata: {}\n\n", f);
			x->end = true;
		} else {
			if (x->first) {
				fputs("retry: 2000\n\n", f);
				x->first = false;
				rc = x->last[0] == '\0' ? backlog(x, f, err, sizeof(err)) : 0;
			} else {
				rc = follow(x, f, err, sizeof(err));
			}
			if (rc != 0) {
				fputs("event: failed\ndata: {\"error\": ", f);
				serve_json_str(f, err, strlen(err));
				fputs("}\n\n", f);
				x->end = true;
			}
		}
		if (fclose(f) != 0)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (max > x->len - x->off)
		max = x->len - x->off;
	memcpy(out, x->buf + x->off, max);
	x->off += max;
	return (ssize_t)max;
}

static void
release(void *cls)
{
	struct sse *x = cls;

	ctl_redis_close(x->r);
	pthread_mutex_lock(&x->s->lock);
	x->s->streams--;
	pthread_mutex_unlock(&x->s->lock);
	serve_session_put(x->s);
	free(x->buf);
	free(x);
}

void
api_alerts(struct serve_req *rq, struct serve_out *o)
{
	const char *resume = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
							 "Last-Event-ID");
	struct ctl_app a = { .user = rq->s->user, .password_file = "(serve)" };
	struct sse *x;
	char err[512];
	bool full;

	pthread_mutex_lock(&rq->s->lock);
	full = rq->s->streams >= STREAMS_PER_SESSION;
	if (!full)
		rq->s->streams++;
	pthread_mutex_unlock(&rq->s->lock);
	if (full) {
		serve_error(o, 429, "too many alert streams open for this session");
		return;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL || (x->r = serve_session_connect(rq->s, err, sizeof(err))) == NULL) {
		if (x == NULL)
			snprintf(err, sizeof(err), "out of memory");
		free(x);
		pthread_mutex_lock(&rq->s->lock);
		rq->s->streams--;
		pthread_mutex_unlock(&rq->s->lock);
		serve_error(o, 503, err);
		return;
	}
	a.redis = x->r;
	if (ctl_audit(&a, "alerts", NULL, "since=0 limit=50 follow=1 reveal=0 via=serve") != 0) {
		ctl_redis_close(x->r);
		free(x);
		pthread_mutex_lock(&rq->s->lock);
		rq->s->streams--;
		pthread_mutex_unlock(&rq->s->lock);
		serve_error(o, 503, a.err);
		return;
	}
	if (resume != NULL && is_stream_id(resume))
		snprintf(x->last, sizeof(x->last), "%s", resume);
	x->first = true;
	x->s = rq->s;           /* the stream holds the session from here on */
	rq->s = NULL;
	o->stream = x;
	o->type = "text/event-stream; charset=utf-8";
}

struct MHD_Response *
serve_sse_response(struct serve_out *o)
{
	struct MHD_Response *r;

	fclose(o->f);
	free(o->buf);
	o->f = NULL;
	o->buf = NULL;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, o->stream, release);
	if (r == NULL) {
		release(o->stream);
		return NULL;
	}
	MHD_add_response_header(r, "X-Accel-Buffering", "no");  /* nginx: pass it through */
	return r;
}
