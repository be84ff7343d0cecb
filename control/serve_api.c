/*
 * chotctl serve's JSON endpoints (routes in serve.c).  Nothing here is a
 * second implementation of a CLI command: a trace is cmd_trace itself, run
 * on the session's Redis connection with its output captured (so it parses
 * the same options, audits the same record as the same ACL user before it
 * prints, and a Go.Data download is `trace --format godata`); /metrics is
 * ctl_stats_prometheus, byte for byte `chotctl stats --prometheus`; the
 * counters come from the same telemetry reader (tel.c); the site registry
 * from ctl_sites_load.
 *
 * The CLI code keeps process-wide state (getopt's, the chotctl
 * invocation's ctl_app with the keys), so those calls run one at a time
 * under serve_cli_lock; /metrics has its own lock for stats_prom.c's scrape
 * buffer; a session's connection is used under its own lock.  Lock order: serve_cli_lock, then a session's lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "commands.h"
#include "lists.h"
#include "lists_write.h"
#include "serve.h"
#include "stats_prom.h"
#include "tel.h"

static void
session_json(struct serve_out *o, const struct serve_session *s)
{
	fprintf(o->f, "{\"signed_in\": %s, \"user\": ", s->signed_in ? "true" : "false");
	serve_json_str(o->f, s->user, strlen(s->user));
	fprintf(o->f, ", \"csrf\": \"%s\", \"idle_s\": %llu, \"lang\": \"%s\"}\n", s->csrf,
		(unsigned long long)(serve_cf->idle_ms / 1000),
		serve_cf->app->lang == LANG_VI ? "vi" : "en");
}

void
api_session(struct serve_req *rq, struct serve_out *o)
{
	if (rq->s == NULL) {
		rq->s = serve_session_new();
		if (rq->s == NULL) {
			serve_error(o, 503, "too many sessions; try again later");
			return;
		}
		serve_set_cookie(rq, o, rq->s->sid);
	}
	session_json(o, rq->s);
}

void
api_login(struct serve_req *rq, struct serve_out *o)
{
	const char *user = serve_arg(rq, "user"), *pw = serve_arg(rq, "password");
	char err[512] = "";
	int rc;

	if (user == NULL || pw == NULL) {
		serve_error(o, 400, "give user and password");
		return;
	}
	rc = serve_session_login(rq->s, user, pw, rq->from, err, sizeof(err));
	if (rc == -EIO) {
		serve_error(o, 503, err);
		return;
	}
	if (rc != 0) {
		fprintf(stderr, "chotctl serve: sign-in refused for '%.64s' from %s: %s\n", user,
			rq->from, err);
		sleep(1);   /* one guess a second per connection */
		serve_error(o, 401, err);
		return;
	}
	fprintf(stderr, "chotctl serve: '%s' signed in from %s\n", rq->s->user, rq->from);
	serve_set_cookie(rq, o, rq->s->sid);
	session_json(o, rq->s);
}

void
api_logout(struct serve_req *rq, struct serve_out *o)
{
	serve_session_end(rq->s);
	serve_set_cookie(rq, o, "");
	fputs("{\"signed_in\": false}\n", o->f);
}

void
api_stats(struct serve_req *rq, struct serve_out *o)
{
	struct ctl_tel_reply r = { 0 };
	char *buf = malloc(CTL_TEL_REPLY_MAX), msg[160];
	int rc;

	(void)rq;
	if (buf == NULL) {
		serve_error(o, 503, "out of memory");
		return;
	}
	rc = ctl_tel_query(serve_cf->prefix, "/chot/stats", buf, CTL_TEL_REPLY_MAX);
	if (rc == 0)
		rc = ctl_tel_parse(buf, &r);
	free(buf);
	if (rc != 0 || r.n != 1) {
		snprintf(msg, sizeof(msg), "no chotd telemetry at /var/run/dpdk/%s/dpdk_telemetry.v2: %s",
			 serve_cf->prefix, strerror(rc ? -rc : EINVAL));
		serve_error(o, 503, msg);
		ctl_tel_free(&r);
		return;
	}
	fprintf(o->f, "{\"ts_ms\": %llu, \"prefix\": ", (unsigned long long)chot_real_ms());
	serve_json_str(o->f, serve_cf->prefix, strlen(serve_cf->prefix));
	fputs(", \"stats\": {", o->f);
	for (size_t i = 0; i < r.d[0].n; i++) {
		fprintf(o->f, "%s", i ? ", " : "");
		serve_json_str(o->f, r.d[0].kv[i].key, strlen(r.d[0].kv[i].key));
		fprintf(o->f, ": %llu", (unsigned long long)r.d[0].kv[i].v);
	}
	fputs("}}\n", o->f);
	ctl_tel_free(&r);
}

void
api_metrics(struct serve_req *rq, struct serve_out *o)
{
	struct ctl_app a = { .o = o->f };
	int rc;

	/* Its own lock (stats_prom.c keeps a static scrape buffer), not the
	 * CLI's: a long trace must not stall Prometheus. */
	static pthread_mutex_t scrape_lock = PTHREAD_MUTEX_INITIALIZER;

	(void)rq;
	pthread_mutex_lock(&scrape_lock);
	rc = ctl_stats_prometheus(&a, serve_cf->prefix, NULL);
	pthread_mutex_unlock(&scrape_lock);
	o->type = "text/plain; version=0.0.4; charset=utf-8";
	if (rc != 0) {
		o->status = 503;
		rewind(o->f);
		fprintf(o->f, "# %s\n", a.err);
	}
}

/*
 * Borrow the chotctl invocation's ctl_app (keys, language) for one CLI call
 * on the session's connection, output into o.  serve_cli_lock and the
 * session's lock are held from here to app_return.
 */
static struct ctl_app *
app_borrow(struct serve_req *rq, struct serve_out *o, enum ctl_output out)
{
	struct ctl_app *a = serve_cf->app;

	pthread_mutex_lock(&serve_cli_lock);
	pthread_mutex_lock(&rq->s->lock);
	a->redis = rq->s->redis;
	a->user = rq->s->user;
	a->password_file = "(serve)";
	a->o = o->f;
	a->out = out;
	a->keys_given = false;      /* the page never reveals raw identities */
	a->err[0] = '\0';
	return a;
}

static void
app_return(struct serve_req *rq, struct ctl_app *a)
{
	a->redis = NULL;
	a->o = stdout;
	free(a->sites);
	a->sites = NULL;
	a->n_sites = 0;
	pthread_mutex_unlock(&rq->s->lock);
	pthread_mutex_unlock(&serve_cli_lock);
}

/*
 * After a 503: is the session's own connection still there?  When Redis
 * went away (a restart, a failover) the connection is gone for good; the
 * session ends so the page asks the operator to sign in again, rather than
 * failing every request until the idle timeout.
 */
static void
check_connection(struct serve_req *rq)
{
	const char *argv[] = { "PING" };
	size_t argl[] = { 4 };
	struct ctl_reply rep;
	char err[128];
	int rc;

	pthread_mutex_lock(&rq->s->lock);
	rc = ctl_redis_cmd(rq->s->redis, 1, argv, argl, &rep, err, sizeof(err));
	pthread_mutex_unlock(&rq->s->lock);
	if (rc == 0) {
		ctl_reply_free(&rep);
		return;
	}
	fprintf(stderr, "chotctl serve: '%s' lost their Redis connection (%s): session ended\n",
		rq->s->user, err);
	serve_session_end(rq->s);
}

void
api_sites(struct serve_req *rq, struct serve_out *o)
{
	struct ctl_app *a = app_borrow(rq, o, OUT_JSON);

	bool lost = false;

	if (ctl_sites_load(a) != 0) {
		serve_error(o, 503, a->err);
		lost = true;
	} else {
		fputs("{\"sites\": [", o->f);
		for (size_t i = 0; i < a->n_sites; i++) {
			const struct ctl_site *s = &a->sites[i];

			fprintf(o->f, "%s\n {\"id\": %u, \"name\": ", i ? "," : "", s->id);
			serve_json_str(o->f, s->name, strlen(s->name));
			fprintf(o->f, ", \"kind\": \"%s\", \"commune\": %u}", rules_kind_name(s->kind),
				s->commune);
		}
		fputs("]}\n", o->f);
	}
	app_return(rq, a);
	if (lost)
		check_connection(rq);
}

static int
zone_cmp(const void *x, const void *y)
{
	const uint32_t *a = x, *b = y;

	return a[0] < b[0] ? -1 : a[0] > b[0];
}

void
api_zones(struct serve_req *rq, struct serve_out *o)
{
	const char *argv[] = { "HGETALL", LISTS_ZONES_HASH };
	size_t argl[] = { 7, strlen(LISTS_ZONES_HASH) };
	struct ctl_reply rep;
	char err[256];
	uint32_t (*z)[2] = NULL;
	size_t n = 0, bad = 0;
	int rc;

	pthread_mutex_lock(&rq->s->lock);
	rc = ctl_redis_cmd(rq->s->redis, 2, argv, argl, &rep, err, sizeof(err));
	pthread_mutex_unlock(&rq->s->lock);
	if (rc != 0) {
		serve_error(o, 503, err);
		check_connection(rq);
		return;
	}
	if (rep.is_error) {
		serve_error(o, strncmp(rep.err, "NOPERM", 6) == 0 ? 403 : 503, rep.err);
		ctl_reply_free(&rep);
		return;
	}
	z = calloc(rep.n / 2 + 1, sizeof(*z));
	for (size_t i = 0; z != NULL && i + 1 < rep.n; i += 2) {
		enum zone_level l;
		uint64_t commune;

		if (ctl_parse_u64(rep.v[i].p, 0, 99999, &commune) != 0 ||
		    lists_zone_decode(rep.v[i + 1].p, rep.v[i + 1].len, &l) != 0) {
			bad++;      /* not chotctl's writing: shown as a count, never guessed */
			continue;
		}
		z[n][0] = (uint32_t)commune;
		z[n++][1] = (uint32_t)l;
	}
	ctl_reply_free(&rep);
	if (z == NULL) {
		serve_error(o, 503, "out of memory");
		return;
	}
	qsort(z, n, sizeof(*z), zone_cmp);
	fputs("{\"zones\": [", o->f);
	for (size_t i = 0; i < n; i++)
		fprintf(o->f, "%s{\"commune\": %u, \"level\": %u}", i ? ", " : "", z[i][0], z[i][1]);
	fprintf(o->f, "], \"unreadable\": %zu}\n", bad);
	free(z);
}

/*
 * POST /api/zone (commune, level): ctl_zone_set of lists_write.h, the same
 * function as `chotctl zone set`: audited as the session's user, then one
 * MULTI with the lists' version bump.  Whether this user may is Redis's
 * answer (ACL), shown as 403; the page offers the change to everyone.
 */
void
api_zone_set(struct serve_req *rq, struct serve_out *o)
{
	const char *cs = serve_arg(rq, "commune"), *ls = serve_arg(rq, "level");
	uint64_t commune;
	enum zone_level level;
	struct ctl_app *a;
	int rc;

	if (cs == NULL || ctl_parse_u64(cs, CTL_COMMUNE_MIN, CTL_COMMUNE_MAX, &commune) != 0) {
		serve_error(o, 400, "commune: a code 1..99999");
		return;
	}
	if (ls == NULL || lists_zone_by_name(ls, &level) != 0) {
		serve_error(o, 400, "level: 1..4, green, yellow, orange, red, xanh, vàng, cam, đỏ");
		return;
	}
	a = app_borrow(rq, o, OUT_JSON);
	a->cmd = ctl_command_find("zone set");
	rc = ctl_zone_set(a, (uint32_t)commune, level);
	if (rc == CTL_USAGE)
		serve_error(o, 400, a->err);
	else if (rc != 0)
		serve_error(o, strstr(a->err, "NOPERM") != NULL ? 403 : 503, a->err);
	else
		fprintf(o->f, "{\"commune\": %u, \"level\": %d}\n", (unsigned)commune, (int)level);
	app_return(rq, a);
	if (o->status == 503)
		check_connection(rq);
}

/*
 * The trace form -> cmd_trace's argv.  Only the form's known fields, each
 * as the option it is; cmd_trace validates every value as it does on the
 * command line, so the page cannot ask for more than the CLI can.
 */
static int
trace_argv(struct serve_req *rq, bool godata, const char **argv, size_t cap)
{
	static const struct {
		const char *field, *opt;
	} map[] = {
		{ "pid", "--pid" }, { "scheme", "--scheme" }, { "days", "--days" },
		{ "until", "--until" }, { "depth", "--depth" }, { "window", "--window" },
		{ "min_overlap", "--min-overlap" },
	};
	const char *subject = serve_arg(rq, "subject");
	int n = 0;

	argv[n++] = "trace";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		const char *v = serve_arg(rq, map[i].field);

		if (v != NULL && v[0] != '\0' && (size_t)n + 2 < cap) {
			argv[n++] = map[i].opt;
			argv[n++] = v;
		}
	}
	if (godata) {
		argv[n++] = "--format";
		argv[n++] = "godata";
	}
	if (subject != NULL && subject[0] != '\0') {
		argv[n++] = "--";       /* a subject is never an option */
		argv[n++] = subject;
	}
	argv[n] = NULL;
	return n;
}

static void
run_trace(struct serve_req *rq, struct serve_out *o, bool godata)
{
	const char *argv[24];
	int argc = trace_argv(rq, godata, argv, sizeof(argv) / sizeof(argv[0]) - 1);
	struct ctl_app *a = app_borrow(rq, o, godata ? OUT_CSV : OUT_JSON);
	int rc;

	a->cmd = ctl_command_find("trace");
	optind = 0;    /* GNU getopt: start afresh, as ctl_dispatch does */
	rc = cmd_trace(a, argc, (char **)argv);
	if (rc == CTL_USAGE)
		serve_error(o, 400, a->err);
	else if (rc == CTL_UNAVAILABLE)
		serve_error(o, 503, a->err);
	else if (godata) {
		const char *pid = serve_arg(rq, "pid");

		o->type = "text/csv; charset=utf-8";
		snprintf(o->disposition, sizeof(o->disposition),
			 "attachment; filename=\"chot-godata-%.8s.csv\"",
			 pid != NULL && strspn(pid, "0123456789abcdef") >= 8 ? pid : "trace");
	}
	app_return(rq, a);
	if (rc == CTL_UNAVAILABLE)
		check_connection(rq);
}

void
api_trace(struct serve_req *rq, struct serve_out *o)
{
	run_trace(rq, o, false);
}

void
api_godata(struct serve_req *rq, struct serve_out *o)
{
	run_trace(rq, o, true);
}
