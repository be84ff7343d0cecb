/*
 * chotctl serve [--listen ADDR:PORT] [--prefix P] [--idle 15m]: the duty
 * officers' page (DESIGN §10) over libmicrohttpd, which parses HTTP; this
 * file owns what the page's security rests on, in one place:
 *
 *   - the route table: each path's method, handler and what it requires
 *     (a session, a signed-in one, a CSRF token, whether it is a user action
 *     for the idle clock).  Changes are POSTs; a POST without the session's
 *     CSRF token (header X-CSRF-Token) is refused with 403 before its
 *     handler runs, whatever it is;
 *   - the session cookie: chot_sid, HttpOnly, SameSite=Strict, Path=/, and
 *     Secure when the TLS proxy says the page was reached over https
 *     (X-Forwarded-Proto); never a cookie readable by the page's script;
 *   - response headers: a Content-Security-Policy that allows the page's own
 *     script and style only (no inline script, no eval, nothing from
 *     elsewhere), nosniff, no framing, no referrer, no caching of API
 *     answers.  The page escapes every value itself (textContent); the
 *     policy is the second wall, not the first;
 *   - form bodies (application/x-www-form-urlencoded, libmicrohttpd's post
 *     processor), at most SERVE_FIELDS_MAX fields of SERVE_FIELD_MAX bytes:
 *     anything longer is refused, never truncated into a different value.
 *
 * It binds 127.0.0.1:8311 unless told otherwise: the command centre's TLS
 * proxy (docs/OPERATIONS.md) is what the network sees.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "clock.h"
#include "commands.h"
#include "serve.h"

#define IDLE_DEFAULT_MS (15 * 60 * 1000ULL)
#define IDLE_MIN_MS 1000ULL              /* tests use seconds; operators minutes */
#define IDLE_MAX_MS (12 * 3600 * 1000ULL)

const struct serve_conf *serve_cf;
pthread_mutex_t serve_cli_lock = PTHREAD_MUTEX_INITIALIZER;

enum {
	R_SESSION = 1 << 0,   /* a session (signed in or not) */
	R_SIGNED = 1 << 1,    /* a signed-in session */
	R_CSRF = 1 << 2,      /* the session's CSRF token in X-CSRF-Token */
	R_TOUCH = 1 << 3,     /* a user action: restarts the idle clock */
};

static const struct route {
	const char *method, *path;
	void (*fn)(struct serve_req *rq, struct serve_out *o);
	unsigned flags;
} routes[] = {
	{ "GET", "/api/session", api_session, R_TOUCH },  /* makes one when missing */
	{ "POST", "/api/login", api_login, R_SESSION | R_CSRF | R_TOUCH },
	{ "POST", "/api/logout", api_logout, R_SESSION | R_CSRF },
	{ "GET", "/api/stats", api_stats, R_SIGNED },
	{ "GET", "/api/sites", api_sites, R_SIGNED },
	{ "GET", "/api/zones", api_zones, R_SIGNED },
	{ "POST", "/api/zone", api_zone_set, R_SIGNED | R_CSRF | R_TOUCH },
	{ "POST", "/api/trace", api_trace, R_SIGNED | R_CSRF | R_TOUCH },
	{ "POST", "/api/godata", api_godata, R_SIGNED | R_CSRF | R_TOUCH },
	{ "GET", "/api/alerts", api_alerts, R_SIGNED },
	{ "GET", "/metrics", api_metrics, 0 },  /* for Prometheus: no personal data */
};

static const char csp[] =
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

uint64_t
serve_now_ms(void)
{
	return chot_mono_us() / 1000;
}

/* ------------------------------------------------------------ bodies */

int
serve_out_open(struct serve_out *o)
{
	o->f = open_memstream(&o->buf, &o->len);
	o->status = 200;
	o->type = "application/json";
	return o->f != NULL ? 0 : -ENOMEM;
}

void
serve_error(struct serve_out *o, unsigned status, const char *msg)
{
	o->status = status;
	o->type = "application/json";
	rewind(o->f);
	fputs("{\"error\": ", o->f);
	serve_json_str(o->f, msg, strlen(msg));
	fputs("}\n", o->f);
}

/* ------------------------------------------------------------ requests */

struct req_ctx {
	struct serve_req rq;
	struct MHD_PostProcessor *pp;
};

const char *
serve_arg(const struct serve_req *rq, const char *key)
{
	for (size_t i = 0; i < rq->nf; i++)
		if (strcmp(rq->f[i].key, key) == 0)
			return rq->f[i].val;
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

static enum MHD_Result
post_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
	   const char *content_type, const char *transfer_encoding, const char *data, uint64_t off,
	   size_t size)
{
	struct serve_req *rq = cls;
	struct serve_field *f;
	size_t have;

	(void)kind, (void)filename, (void)content_type, (void)transfer_encoding;
	if (off > 0 && rq->nf > 0 && strcmp(rq->f[rq->nf - 1].key, key) == 0) {
		f = &rq->f[rq->nf - 1];     /* the same value, continued */
	} else {
		if (rq->nf == SERVE_FIELDS_MAX || strlen(key) >= sizeof(f->key)) {
			rq->field_too_long = true;
			return MHD_NO;
		}
		f = &rq->f[rq->nf++];
		snprintf(f->key, sizeof(f->key), "%s", key);
		f->val[0] = '\0';
	}
	have = strlen(f->val);
	if (have + size >= sizeof(f->val) || memchr(data, '\0', size) != NULL) {
		rq->field_too_long = true;
		return MHD_NO;
	}
	memcpy(f->val + have, data, size);
	f->val[have + size] = '\0';
	return MHD_YES;
}

static void
client_from(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const char *xff = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Forwarded-For");
	char addr[INET6_ADDRSTRLEN] = "?";
	size_t n;

	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr,
				  sizeof(addr));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
				  sizeof(addr));
	}
	n = (size_t)snprintf(out, len, "%s", addr);
	if (xff != NULL && n + 6 < len) {
		/* The proxy's word for the browser's address: addresses only. */
		n += (size_t)snprintf(out + n, len - n, ",xff=");
		for (; *xff && n + 1 < len; xff++)
			if (strchr("0123456789abcdefABCDEF.:, ", *xff) != NULL)
				out[n++] = *xff == ' ' ? '_' : *xff;
		out[n] = '\0';
	}
}

static const struct route *
route_find(const char *path, bool *path_known, const char *method)
{
	*path_known = false;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(routes[i].path, path) == 0) {
			*path_known = true;
			if (strcmp(routes[i].method, method) == 0)
				return &routes[i];
		}
	return NULL;
}

static const struct serve_asset *
asset_find(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (size_t i = 0; i < serve_n_assets; i++)
		if (strcmp(serve_assets[i].path, path) == 0)
			return &serve_assets[i];
	return NULL;
}

static void
common_headers(struct MHD_Response *r, bool api)
{
	MHD_add_response_header(r, "Content-Security-Policy", csp);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", api ? "no-store" : "no-cache");
}

static enum MHD_Result
send_out(struct MHD_Connection *conn, struct serve_out *o)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (o->stream != NULL) {
		r = serve_sse_response(o);
	} else {
		fclose(o->f);
		o->f = NULL;
		r = MHD_create_response_from_buffer(o->len, o->buf, MHD_RESPMEM_MUST_FREE);
	}
	if (r == NULL) {
		free(o->buf);
		return MHD_NO;
	}
	common_headers(r, true);
	MHD_add_response_header(r, "Content-Type", o->type);
	if (o->disposition[0] != '\0')
		MHD_add_response_header(r, "Content-Disposition", o->disposition);
	if (o->cookie[0] != '\0')
		MHD_add_response_header(r, "Set-Cookie", o->cookie);
	ret = MHD_queue_response(conn, o->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
send_asset(struct MHD_Connection *conn, const struct serve_asset *a)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(a->len, (void *)a->data,
								 MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL)
		return MHD_NO;
	common_headers(r, false);
	MHD_add_response_header(r, "Content-Type", a->type);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

void
serve_set_cookie(struct serve_req *rq, struct serve_out *o, const char *sid)
{
	const char *proto = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
							"X-Forwarded-Proto");
	bool secure = proto != NULL && strcmp(proto, "https") == 0;

	snprintf(o->cookie, sizeof(o->cookie), "chot_sid=%s; Path=/; HttpOnly; SameSite=Strict%s%s",
		 sid, sid[0] == '\0' ? "; Max-Age=0" : "", secure ? "; Secure" : "");
}

static enum MHD_Result
dispatch(struct req_ctx *c)
{
	struct serve_req *rq = &c->rq;
	const struct route *rt;
	struct serve_out o = { 0 };
	bool known;
	enum MHD_Result ret;

	rt = route_find(rq->path, &known, rq->method);
	if (rt == NULL && strcmp(rq->method, "GET") == 0) {
		const struct serve_asset *a = asset_find(rq->path);

		if (a != NULL)
			return send_asset(rq->conn, a);
	}
	if (serve_out_open(&o) != 0)
		return MHD_NO;
	if (rt == NULL) {
		serve_error(&o, known ? 405 : 404, known ? "method not allowed" : "not found");
		return send_out(rq->conn, &o);
	}
	rq->s = serve_session_get(MHD_lookup_connection_value(rq->conn, MHD_COOKIE_KIND,
							      "chot_sid"),
				  (rt->flags & R_TOUCH) != 0);
	if ((rt->flags & (R_SESSION | R_SIGNED)) && rq->s == NULL)
		serve_error(&o, 401, "no session (expired or never signed in): sign in");
	else if ((rt->flags & R_CSRF) &&
		 !serve_csrf_ok(rq->s, MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
								   "X-CSRF-Token")))
		serve_error(&o, 403, "missing or wrong CSRF token");
	else if ((rt->flags & R_SIGNED) && !rq->s->signed_in)
		serve_error(&o, 401, "sign in first");
	else if (strcmp(rq->method, "POST") == 0 && c->pp == NULL)
		serve_error(&o, 415, "send application/x-www-form-urlencoded");
	else if (rq->field_too_long)
		serve_error(&o, 413, "a form field is too long, or too many fields");
	else
		rt->fn(rq, &o);
	ret = send_out(rq->conn, &o);
	return ret;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct req_ctx *c = *con_cls;

	(void)cls, (void)version;
	if (c == NULL) {
		if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
		    strcmp(method, "HEAD") != 0)
			return MHD_NO;   /* closes the connection */
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return MHD_NO;
		c->rq.method = method;
		c->rq.path = url;
		c->rq.conn = conn;
		client_from(conn, c->rq.from, sizeof(c->rq.from));
		if (strcmp(method, "POST") == 0)
			c->pp = MHD_create_post_processor(conn, 4096, post_field, &c->rq);
		*con_cls = c;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (c->pp != NULL && !c->rq.field_too_long &&
		    MHD_post_process(c->pp, upload, *upload_size) != MHD_YES)
			c->rq.field_too_long = true;
		*upload_size = 0;   /* consumed (or dropped: refused at the end) */
		return MHD_YES;
	}
	return dispatch(c);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct req_ctx *c = *con_cls;

	(void)cls, (void)conn, (void)toe;
	if (c == NULL)
		return;
	if (c->pp != NULL)
		MHD_destroy_post_processor(c->pp);
	serve_session_put(c->rq.s);
	free(c);
	*con_cls = NULL;
}

/* ------------------------------------------------------------ the command */

int
cmd_serve(struct ctl_app *app, int argc, char **argv)
{
	enum { O_LISTEN = 1, O_PREFIX, O_IDLE };
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, O_LISTEN },
		{ "prefix", required_argument, NULL, O_PREFIX },
		{ "idle", required_argument, NULL, O_IDLE },
		{ NULL, 0, NULL, 0 },
	};
	static struct serve_conf cf;
	const char *listen = "127.0.0.1:8311";
	struct sockaddr_storage ss;
	socklen_t sl;
	struct MHD_Daemon *d;
	sigset_t sigs;
	int c, sig, rc = 0;

	cf = (struct serve_conf){ .url = app->url, .prefix = "rte", .idle_ms = IDLE_DEFAULT_MS,
				  .app = app };
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case O_LISTEN: listen = optarg; break;
		case O_PREFIX: cf.prefix = optarg; break;
		case O_IDLE:
			rc = ctl_arg_duration(app, "--idle", optarg, IDLE_MAX_MS, &cf.idle_ms);
			if (rc == 0 && cf.idle_ms < IDLE_MIN_MS)
				rc = ctl_fail(app, CTL_USAGE, "--idle: at least 1s");
			break;
		default: return ctl_opt_error(app, c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (serve_parse_listen(listen, &ss, &sl) != 0)
		return ctl_fail(app, CTL_USAGE, "--listen: '%s' is not ADDR:PORT (127.0.0.1:8311, "
				"[::1]:8311)", listen);
	/* The keys file turns a SUBJECT into its pid; without it a trace takes a pid. */
	if (!app->keys_loaded) {
		char err[300];

		if (keys_load(app->keys_path, &app->keys, err, sizeof(err)) == 0)
			app->keys_loaded = true;
		else
			fprintf(stderr, "chotctl serve: no keys file (%s): traces by pid only\n", err);
	}
	serve_cf = &cf;
	if (serve_sessions_init() != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "libsodium failed to initialise");
	/* The server's threads inherit this mask; the signals come to sigwait. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				     MHD_USE_ERROR_LOG | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
			     0, NULL, NULL, on_request, NULL,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
			     MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)128,
			     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)64,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
			     MHD_OPTION_END);
	(void)sl;
	if (d == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "serve: cannot listen on %s: %s", listen,
				strerror(errno));
	printf("chotctl serve: http://%s/ (Redis %s, chotd prefix %s, idle %llu s)\n", listen,
	       cf.url, cf.prefix, (unsigned long long)(cf.idle_ms / 1000));
	fflush(stdout);
	sigwait(&sigs, &sig);
	MHD_stop_daemon(d);
	serve_sessions_fini();
	printf("chotctl serve: stopped (%s)\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
	return 0;
}
