/*
 * chotctl serve: the duty officers' page (DESIGN §10), shared between its
 * files.
 *
 *   serve.c          the HTTP server (libmicrohttpd), the route table,
 *                    headers, cookies, CSRF, form bodies, static assets
 *   serve_session.c  sessions: ids, CSRF tokens, idle timeout, sign-in
 *   serve_api.c      the JSON endpoints and /metrics
 *   serve_sse.c      the alerts feed as server-sent events
 *   www/             the page (HTML, CSS, JS), built into the binary by
 *                    www/embed.py as serve_assets[]
 *
 * Threads: libmicrohttpd runs one thread per connection, so a handler may
 * block (a trace, a blocking XREAD) without stalling the others.  Shared
 * state is the session table (its own lock), each session's Redis
 * connection (the session's lock), and the CLI code serve reuses, which
 * keeps static state (getopt, the invocation's ctl_app): serve_cli_lock.
 */
#ifndef CHOT_CTL_SERVE_H
#define CHOT_CTL_SERVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "ctl.h"
#include "serve_text.h"

#define SERVE_SID_BYTES 32          /* session id and CSRF token: 256 random bits */
#define SERVE_TOKEN_HEX (2 * SERVE_SID_BYTES + 1)
#define SERVE_USER_MAX 64
#define SERVE_PASSWORD_MAX 256
#define SERVE_SESSIONS_MAX 64
#define SERVE_FIELD_MAX 512         /* longest form value */
#define SERVE_FIELDS_MAX 16

struct serve_asset {
	const char *path;           /* "/app.js" */
	const char *type;           /* Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Generated from control/www/ at build time (www/embed.py). */
extern const struct serve_asset serve_assets[];
extern const size_t serve_n_assets;

/* The server's configuration, fixed at start. */
struct serve_conf {
	const char *url;            /* Redis, for every session */
	const char *prefix;         /* chotd's --file-prefix, for telemetry */
	uint64_t idle_ms;           /* a session ends after this long without a user action */
	struct ctl_app *app;        /* the chotctl invocation: keys, language */
};

struct serve_session {
	bool used;
	char sid[SERVE_TOKEN_HEX];
	char csrf[SERVE_TOKEN_HEX];
	bool signed_in;
	char user[SERVE_USER_MAX];
	char *password;             /* sodium_malloc'd: opens the alerts stream's connection */
	struct ctl_redis *redis;    /* this user's connection; under lock */
	uint64_t last_ms;           /* last user action (CLOCK_MONOTONIC) */
	unsigned refs;              /* requests holding it */
	bool dead;                  /* signed out or expired: freed at refs == 0 */
	int streams;                /* open alert streams */
	pthread_mutex_t lock;
};

extern const struct serve_conf *serve_cf;
extern pthread_mutex_t serve_cli_lock;

uint64_t serve_now_ms(void);        /* monotonic */

/* ---- serve_session.c ---- */
int serve_sessions_init(void);
void serve_sessions_fini(void);
/* A new anonymous session (signed out, with a CSRF token), held; NULL when full. */
struct serve_session *serve_session_new(void);
/* The live session of this id, held, or NULL (unknown or expired).  touch:
 * this request is a user action and restarts the idle clock. */
struct serve_session *serve_session_get(const char *sid, bool touch);
void serve_session_put(struct serve_session *s);
/* Sign s in as user: a Redis connection authenticated as that user, its
 * sign-in audited; the session gets a fresh id and CSRF token (no
 * fixation).  0; -EACCES refused (err says why); -EIO Redis unreachable. */
int serve_session_login(struct serve_session *s, const char *user, const char *password,
			const char *from, char *err, size_t errlen);
/* End s now (sign-out). */
void serve_session_end(struct serve_session *s);
/* 1 when token is s's CSRF token (constant time). */
bool serve_csrf_ok(const struct serve_session *s, const char *token);
/* A second connection as s's user (the blocking alerts read); NULL, err set. */
struct ctl_redis *serve_session_connect(struct serve_session *s, char *err, size_t errlen);

/* ---- serve.c: one request as the handlers see it ---- */
struct serve_field {
	char key[32];
	char val[SERVE_FIELD_MAX];
};

struct serve_req {
	const char *method, *path;
	struct MHD_Connection *conn;
	struct serve_session *s;    /* held, or NULL */
	struct serve_field f[SERVE_FIELDS_MAX];
	size_t nf;
	bool field_too_long;
	char from[64];              /* client address, for the sign-in audit */
};

/* A form field (POST) or query argument (GET), or NULL. */
const char *serve_arg(const struct serve_req *rq, const char *key);

/* A response body in memory (open_memstream), handed to libmicrohttpd. */
struct serve_out {
	char *buf;
	size_t len;
	FILE *f;
	unsigned status;
	const char *type;           /* Content-Type */
	char disposition[96];       /* Content-Disposition, or "" */
	char cookie[160];           /* Set-Cookie, or "" */
	void *stream;               /* serve_sse: an event stream instead of a body */
};

int serve_out_open(struct serve_out *o);
/* Set-Cookie for the session id sid ("" clears it). */
void serve_set_cookie(struct serve_req *rq, struct serve_out *o, const char *sid);
/* A one-line JSON error body {"error": msg} with status. */
void serve_error(struct serve_out *o, unsigned status, const char *msg);

/* ---- serve_api.c: handlers; each fills o (status, type, body) ---- */
void api_session(struct serve_req *rq, struct serve_out *o);
void api_login(struct serve_req *rq, struct serve_out *o);
void api_logout(struct serve_req *rq, struct serve_out *o);
void api_stats(struct serve_req *rq, struct serve_out *o);
void api_metrics(struct serve_req *rq, struct serve_out *o);
void api_sites(struct serve_req *rq, struct serve_out *o);
void api_zones(struct serve_req *rq, struct serve_out *o);
void api_zone_set(struct serve_req *rq, struct serve_out *o);
void api_trace(struct serve_req *rq, struct serve_out *o);
void api_godata(struct serve_req *rq, struct serve_out *o);

/* ---- serve_sse.c ---- */
void api_alerts(struct serve_req *rq, struct serve_out *o);
/* The libmicrohttpd response of an event stream made by api_alerts. */
struct MHD_Response *serve_sse_response(struct serve_out *o);

#endif /* CHOT_CTL_SERVE_H */
