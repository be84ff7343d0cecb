/*
 * chotctl alerts [--since T] [--limit N] [--reason R,...] [--site ID] [--follow]
 * (DESIGN §9): the chot:{alerts} stream, newest last, each (pid, site,
 * ts_ms) once.
 *
 * The backlog is read newest first (XREVRANGE, pages of ALERTS_PAGE) until
 * --limit matching alerts are found or --since is passed, then printed
 * oldest first; --since reads from the stream id FUTURE_SLACK_MS before T
 * (a scan's ts may run that far ahead of its alert's id) and keeps ts_ms
 * >= T.  --follow then blocks in XREAD (ALERTS_BLOCK_MS at a time, so
 * SIGINT/SIGTERM end it within that, exit 0) from the newest id seen.
 * With --keys each identity shown is revealed from the vault, audited
 * first (pipelined: two round trips per page).  The lookup itself is
 * audited before anything prints.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "commands.h"
#include "ctl.h"
#include "lists.h"
#include "lists_args.h"

#define ALERTS_PAGE      1000
#define ALERTS_BLOCK_MS  "500"
#define ALERTS_SEEN_KEEP 65536

static volatile sig_atomic_t stop_follow;

static void
on_stop(int sig)
{
	(void)sig;
	stop_follow = 1;
}

struct alist {
	struct ctl_alert *v;
	size_t n, cap;
};

static int
alist_push(struct alist *l, const struct ctl_alert *a)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 256;
		struct ctl_alert *nv = realloc(l->v, nc * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		l->v = nv;
		l->cap = nc;
	}
	l->v[l->n++] = *a;
	return 0;
}

struct actx {
	struct ctl_app *app;
	struct ctl_alert_filter flt;
	struct ctl_seen *seen;      /* keys shown */
	struct ctl_seen *window;    /* keys in the backlog read so far */
	size_t uniq;                /* distinct keys in the backlog */
	bool reveal;
	size_t bad;
	char last_id[CTL_ALERT_ID_MAX];   /* newest id read */
};

/*
 * The entries of an XRANGE-shaped array at t->v[k] (each [id, [f, v, ...]]):
 * decode, filter and de-duplicate into out; note the first entry's id when
 * *first is empty.  Returns the number of entries read, or -1 when the shape
 * is wrong.  *last gets the last entry's id.
 */
static long
take_entries(struct actx *c, const struct ctl_tree *t, size_t k, struct alist *out, size_t limit,
	     char *first, char *last)
{
	const struct ctl_node *arr = &t->v[k];
	const char *f[64];
	size_t fl[64];
	long n = 0;

	if (arr->type != CTL_NODE_ARR)
		return -1;
	for (size_t i = k + 1, e = 0; e < arr->n; e++, i = t->v[i].next) {
		const struct ctl_node *ent = &t->v[i], *idn, *fields;
		struct ctl_alert a;
		char why[128];
		size_t nf = 0;

		if (ent->type != CTL_NODE_ARR || ent->n != 2)
			return -1;
		idn = &t->v[i + 1];
		fields = &t->v[idn->next];
		if (idn->type != CTL_NODE_STR || idn->n >= CTL_ALERT_ID_MAX)
			return -1;
		n++;
		if (first != NULL && first[0] == '\0')
			memcpy(first, idn->p, idn->n + 1);
		memcpy(last, idn->p, idn->n + 1);
		if (fields->type != CTL_NODE_ARR) {
			c->bad++;
			continue;
		}
		for (size_t j = idn->next + 1, q = 0; q < fields->n && nf < 64;
		     q++, j = t->v[j].next) {
			f[nf] = t->v[j].type == CTL_NODE_STR ? t->v[j].p : "";
			fl[nf++] = t->v[j].type == CTL_NODE_STR ? t->v[j].n : 0;
		}
		if (ctl_alert_decode(&a, idn->p, idn->n, f, fl, nf, why, sizeof(why)) != 0) {
			c->bad++;
			continue;
		}
		if (!ctl_alert_match(&a, &c->flt))
			continue;
		if (c->window != NULL) {
			/* The backlog, newest first: keep every copy of a key (the
			 * oldest is the one shown), up to limit distinct keys. */
			if (!ctl_seen_has(c->window, &a)) {
				if (c->uniq >= limit)
					continue;
				ctl_seen_add(c->window, &a);
				c->uniq++;
			}
		} else if (!ctl_seen_add(c->seen, &a)) {
			continue;
		}
		if (alist_push(out, &a) != 0)
			return -1;
	}
	return n;
}

/* Reveal (audited) and print l->v[from..to) in order. */
static int
print_range(struct actx *c, const struct alist *l, size_t from, size_t to)
{
	struct ctl_app *app = c->app;
	size_t n = to - from;
	char (*ids)[WIRE_SUBJECT_MAX_NUL] = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	if (c->reveal) {
		uint8_t (*pids)[PID_LEN] = calloc(n, PID_LEN);

		ids = calloc(n, sizeof(*ids));
		if (pids == NULL || ids == NULL) {
			free(pids);
			free(ids);
			return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			memcpy(pids[i], l->v[from + i].pid, PID_LEN);
		rc = ctl_reveal_now(app, (const uint8_t (*)[PID_LEN])pids, n, ids);
		free(pids);
		if (rc != 0) {
			free(ids);
			return rc;
		}
	}
	for (size_t i = 0; i < n; i++)
		ctl_alert_print(app, &l->v[from + i], ids ? ids[i] : NULL);
	fflush(app->o);
	free(ids);
	return 0;
}

static int
redis_tree(struct ctl_app *app, int argc, const char *const *argv, struct ctl_tree *t)
{
	size_t argl[16];
	const size_t *al = argl;

	for (int i = 0; i < argc; i++)
		argl[i] = strlen(argv[i]);
	if (ctl_redis_pipe_tree(app->redis, 1, &argc, &argv, &al, t, app->err,
				sizeof(app->err)) != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
	if (t->v[0].type == CTL_NODE_ERR) {
		int rc = ctl_fail(app, CTL_UNAVAILABLE, "alerts: %s%s", t->v[0].p,
				  strncmp(t->v[0].p, "NOPERM", 6) == 0 ?
				  " (chot-operator may read chot:{alerts}: configs/redis.conf)" : "");

		ctl_tree_free(t);
		return rc;
	}
	return 0;
}

/* The backlog: newest first down to lower, until limit distinct keys; then
 * out holds them oldest first, each key once (its oldest copy). */
static int
backlog(struct actx *c, const char *lower, size_t limit, struct alist *out)
{
	char end[CTL_ALERT_ID_MAX + 1] = "+", last[CTL_ALERT_ID_MAX] = "", count[16];
	int rc;

	snprintf(count, sizeof(count), "%d", ALERTS_PAGE);
	while (c->uniq < limit) {
		const char *argv[] = { "XREVRANGE", LISTS_ALERTS_STREAM, end, lower, "COUNT", count };
		struct ctl_tree t;
		long got;

		if ((rc = redis_tree(c->app, 6, argv, &t)) != 0)
			return rc;
		got = take_entries(c, &t, 0, out, limit, c->last_id, last);
		ctl_tree_free(&t);
		if (got < 0)
			return ctl_fail(c->app, CTL_UNAVAILABLE, "alerts: unexpected XREVRANGE reply");
		if (got < ALERTS_PAGE)
			break;
		snprintf(end, sizeof(end), "(%s", last);
	}
	{
		struct alist old = *out;

		*out = (struct alist){ 0 };
		for (size_t i = old.n; i-- > 0;)
			if (ctl_seen_add(c->seen, &old.v[i]) && alist_push(out, &old.v[i]) != 0) {
				free(old.v);
				return ctl_fail(c->app, CTL_UNAVAILABLE, "out of memory");
			}
		free(old.v);
	}
	return 0;
}

static int
follow(struct actx *c)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct alist l = { 0 };
	char count[16];
	int rc = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	snprintf(count, sizeof(count), "%d", ALERTS_PAGE);
	if (c->last_id[0] == '\0') {
		/* Start after the newest alert now in the stream (0-0 when none). */
		const char *argv[] = { "XREVRANGE", LISTS_ALERTS_STREAM, "+", "-", "COUNT", "1" };
		struct ctl_tree t;

		if ((rc = redis_tree(c->app, 6, argv, &t)) != 0)
			return rc;
		if (t.v[0].type == CTL_NODE_ARR && t.v[0].n == 1 && t.v[2].type == CTL_NODE_STR &&
		    t.v[2].n < CTL_ALERT_ID_MAX)
			memcpy(c->last_id, t.v[2].p, t.v[2].n + 1);
		else
			strcpy(c->last_id, "0-0");
		ctl_tree_free(&t);
	}
	while (!stop_follow) {
		const char *argv[] = { "XREAD", "COUNT", count, "BLOCK", ALERTS_BLOCK_MS,
				       "STREAMS", LISTS_ALERTS_STREAM, c->last_id };
		char last[CTL_ALERT_ID_MAX];
		struct ctl_tree t;
		long got;

		if ((rc = redis_tree(c->app, 8, argv, &t)) != 0)
			break;
		/* nil on timeout; else [[key, [entries]]] */
		if (t.v[0].type == CTL_NODE_ARR && t.v[0].n == 1 && t.v[1].type == CTL_NODE_ARR &&
		    t.v[1].n == 2) {
			l.n = 0;
			got = take_entries(c, &t, t.v[2].next, &l, SIZE_MAX, NULL, last);
			if (got < 0) {
				ctl_tree_free(&t);
				rc = ctl_fail(c->app, CTL_UNAVAILABLE, "alerts: unexpected XREAD reply");
				break;
			}
			if (got > 0)
				memcpy(c->last_id, last, sizeof(last));
			rc = print_range(c, &l, 0, l.n);
		} else if (t.v[0].type != CTL_NODE_NIL) {
			rc = ctl_fail(c->app, CTL_UNAVAILABLE, "alerts: unexpected XREAD reply");
		}
		ctl_tree_free(&t);
		if (rc != 0)
			break;
	}
	free(l.v);
	return rc;
}

int
cmd_alerts(struct ctl_app *app, int argc, char **argv)
{
	enum { O_SINCE = 1, O_LIMIT, O_REASON, O_SITE, O_FOLLOW };
	static const struct option opts[] = {
		{ "since", required_argument, NULL, O_SINCE },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "reason", required_argument, NULL, O_REASON },
		{ "site", required_argument, NULL, O_SITE },
		{ "follow", no_argument, NULL, O_FOLLOW },
		{ NULL, 0, NULL, 0 },
	};
	struct actx c = { .app = app };
	struct alist l = { 0 };
	bool has_since = false, has_limit = false, do_follow = false;
	uint64_t limit = 0, site = 0;
	char why[300], detail[256], lower[32] = "-";
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case O_SINCE:
			rc = ctl_arg_time(app, "--since", optarg, &c.flt.since_ms);
			has_since = true;
			break;
		case O_LIMIT:
			rc = ctl_arg_u64(app, "--limit", optarg, 0, UINT32_MAX, &limit);
			has_limit = true;
			break;
		case O_REASON:
			if (ctl_reasons_parse(optarg, &c.flt.reasons, why, sizeof(why)) != 0)
				return ctl_fail(app, CTL_USAGE, "--reason: %s", why);
			break;
		case O_SITE:
			rc = ctl_arg_u64(app, "--site", optarg, 1, UINT32_MAX, &site);
			c.flt.has_site = true;
			c.flt.site = (uint32_t)site;
			break;
		case O_FOLLOW: do_follow = true; break;
		default: return ctl_opt_error(app, ch, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (!has_limit)  /* like trace: 50 rows in the table, all for machines; none to follow */
		limit = do_follow && !has_since ? 0 : app->out == OUT_TABLE ? 50 : UINT32_MAX;
	c.reveal = app->keys_given;
	if (c.reveal && ((rc = ctl_need_keys(app, false)) != 0))
		return rc;
	if (c.reveal && !app->keys.has_vault)
		return ctl_fail(app, CTL_USAGE, "keys file %s has no vault key: nothing to reveal "
				"with", app->keys_path);
	if ((rc = ctl_connect(app)) != 0)
		return rc;
	snprintf(detail, sizeof(detail), "since=%llu limit=%llu reasons=%u site=%u follow=%d "
		 "reveal=%d", (unsigned long long)c.flt.since_ms, (unsigned long long)limit,
		 c.flt.reasons, c.flt.site, do_follow, c.reveal);
	if ((rc = ctl_audit(app, "alerts", NULL, detail)) != 0)
		return rc;
	c.seen = ctl_seen_new(ALERTS_SEEN_KEEP);
	if (c.seen == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	ctl_sites_load(app);   /* names for the table; none is fine */
	if (has_since)
		snprintf(lower, sizeof(lower), "%llu", (unsigned long long)(
			 c.flt.since_ms > FUTURE_SLACK_MS ? c.flt.since_ms - FUTURE_SLACK_MS : 0));
	ctl_alert_header(app, c.reveal);
	c.window = ctl_seen_new(ALERTS_SEEN_KEEP);
	if (c.window == NULL) {
		ctl_seen_free(c.seen);
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	}
	if (limit > 0 && (rc = backlog(&c, lower, (size_t)limit, &l)) == 0)
		rc = print_range(&c, &l, 0, l.n);
	ctl_seen_free(c.window);
	c.window = NULL;
	if (rc == 0 && do_follow)
		rc = follow(&c);
	if (app->out == OUT_TABLE && !do_follow && rc == 0)
		fprintf(app->o, "(%zu)\n", l.n);
	if (c.bad > 0)
		fprintf(stderr, "chotctl: alerts: %zu stream entries do not decode (skipped; "
			"proto/lists.h has the fields)\n", c.bad);
	ctl_seen_free(c.seen);
	if (rc == 0)
		rc = do_follow || l.n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
	free(l.v);
	return rc;
}
