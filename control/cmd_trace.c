/*
 * chotctl trace: F0's visits, F1 and F2 (DESIGN §5), from the indexes chotd
 * writes, with pipelined Redis calls; audited before it prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "commands.h"
#include "ctl.h"
#include "godata.h"
#include "layout.h"
#include "lists_write.h"

/* The widest --window / --min-overlap: a day is far past any contact rule,
 * and each hour of window widens every presence read (trace.h). */
#define WINDOW_MAX_MS (24 * 3600000ULL)

/*
 * trace --flag (DESIGN §5): every F1 as f1 and, at depth 2, every F2 as f2,
 * all of them (not only the rows --limit shows), never lowering a higher
 * active status; one audit record per entry changed, one MULTI.
 */
static int
flag_contacts(struct ctl_app *app, const struct tr_query *q, const struct tr_result *r)
{
	struct ctl_raise *v = calloc(r->n_contacts + 1, sizeof(*v));
	struct ctl_raise_result res;
	char hex[PID_HEX_LEN + 1], why[64];
	size_t n = 0;
	int rc;

	if (v == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	for (size_t i = 0; i < r->n_contacts; i++) {
		if (r->contacts[i].degree != 1 && (r->contacts[i].degree != 2 || q->depth < 2))
			continue;
		memcpy(v[n].pid, r->contacts[i].pid, PID_LEN);
		v[n++].status = r->contacts[i].degree == 1 ? WATCH_F1 : WATCH_F2;
	}
	chot_pid_hex(hex, q->pid);
	snprintf(why, sizeof(why), "trace %s", hex);
	rc = ctl_flag_raise(app, v, n, (uint64_t)time(NULL) * 1000, why, &res);
	free(v);
	if (rc == 0)
		fprintf(stderr, "chotctl: trace --flag: %zu added, %zu raised, %zu kept (already as "
			"high or higher)\n", res.added, res.raised, res.kept);
	return rc;
}

int
ctl_subject_arg(struct ctl_app *app, const char *subject, const char *scheme, const char *pidhex,
		uint8_t pid[PID_LEN])
{
	const char *cmd = app->cmd != NULL ? app->cmd->name : "chotctl";
	uint8_t s;
	int rc;

	if (subject == NULL && pidhex == NULL)
		return ctl_fail(app, CTL_USAGE, "%s: give SUBJECT or --pid HEX (chotctl %s --help)",
				cmd, cmd);
	if (subject != NULL && pidhex != NULL)
		return ctl_fail(app, CTL_USAGE, "%s: give SUBJECT or --pid, not both (SUBJECT '%s', "
				"--pid %s)", cmd, subject, pidhex);
	if (pidhex != NULL) {
		if (chot_pid_parse(pid, pidhex) != 0)
			return ctl_fail(app, CTL_USAGE, "--pid: '%s' is not 32 hex digits", pidhex);
		return 0;
	}
	if (wire_scheme_from_name(scheme) < 0)
		return ctl_fail(app, CTL_USAGE, "unknown scheme '%s' (cccd, pccovid, vneid, "
			       "passport, plate, greenlane)", scheme);
	rc = ctl_need_keys(app, true);
	if (rc != 0)
		return rc;
	rc = ctl_subject_pid(&app->keys, scheme, subject, pid, &s);
	if (rc != 0)
		return ctl_fail(app, CTL_USAGE, "malformed %s subject '%s' (%s)", scheme, subject,
				chot_reason_name((enum chot_reason)-rc));
	return 0;
}

int
cmd_trace(struct ctl_app *app, int argc, char **argv)
{
	enum { O_SCHEME = 1, O_DAYS, O_UNTIL, O_DEPTH, O_WINDOW, O_MINOV, O_LIMIT, O_PID, O_FORMAT,
	       O_FLAG };
	static const struct option opts[] = {
		{ "scheme", required_argument, NULL, O_SCHEME },
		{ "days", required_argument, NULL, O_DAYS },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "min-overlap", required_argument, NULL, O_MINOV },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "pid", required_argument, NULL, O_PID },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "flag", no_argument, NULL, O_FLAG },
		{ NULL, 0, NULL, 0 },
	};
	bool godata = false, flag = false;
	const char *scheme = "cccd", *pidhex = NULL, *subject = NULL;
	struct tr_query q = { .window_ms = RULES_WINDOW_DEFAULT_MS, .depth = 2 };
	uint64_t days = 14, until = (uint64_t)time(NULL) * 1000, calls0, depth = 2, limit = 0;
	uint64_t dups0;
	bool has_limit = false;
	struct tr_source src;
	struct tr_result r;
	struct ctl_trace_view v = { 0 };
	char (*ids)[WIRE_SUBJECT_MAX_NUL] = NULL, id0[WIRE_SUBJECT_MAX_NUL], detail[160];
	double t0;
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case O_SCHEME: scheme = optarg; break;
		case O_PID: pidhex = optarg; break;
		case O_FLAG: flag = true; break;
		case O_DAYS: rc = ctl_arg_u64(app, "--days", optarg, 1, 365, &days); break;
		case O_UNTIL: rc = ctl_arg_time(app, "--until", optarg, &until); break;
		case O_DEPTH: rc = ctl_arg_u64(app, "--depth", optarg, 1, 2, &depth); break;
		case O_WINDOW:
			rc = ctl_arg_duration(app, "--window", optarg, WINDOW_MAX_MS, &q.window_ms);
			break;
		case O_MINOV:
			rc = ctl_arg_duration(app, "--min-overlap", optarg, WINDOW_MAX_MS,
					      &q.min_overlap_ms);
			break;
		case O_LIMIT:
			rc = ctl_arg_u64(app, "--limit", optarg, 0, UINT32_MAX, &limit);
			has_limit = true;
			break;
		case O_FORMAT:
			/* --format X is the global --json / --csv, plus godata. */
			godata = strcmp(optarg, "godata") == 0;
			if (strcmp(optarg, "table") == 0)
				app->out = OUT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				app->out = OUT_JSON;
			else if (strcmp(optarg, "csv") == 0 || godata)
				app->out = OUT_CSV;  /* godata: all rows by default, like --csv */
			else
				return ctl_fail(app, CTL_USAGE, "--format: table, json, csv or godata, "
						"not '%s'", optarg);
			break;
		default: return ctl_opt_error(app, c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (optind < argc)
		subject = argv[optind];
	q.depth = (int)depth;
	rc = ctl_subject_arg(app, subject, scheme, pidhex, q.pid);
	if (rc != 0)
		return rc;
	if (app->keys_given && (rc = ctl_need_keys(app, false)) != 0)
		return rc;
	q.to_ms = until;
	q.from_ms = until > days * 86400000ULL ? until - days * 86400000ULL : 0;
	rc = ctl_connect(app);
	if (rc != 0)
		return rc;
	snprintf(detail, sizeof(detail), "depth=%d days=%llu until=%llu window=%llu min_overlap=%llu%s",
		 q.depth, (unsigned long long)days, (unsigned long long)until,
		 (unsigned long long)q.window_ms, (unsigned long long)q.min_overlap_ms,
		 flag ? " flag=1" : "");
	rc = ctl_audit(app, "trace", q.pid, detail);
	if (rc != 0)
		return rc;
	t0 = ((double)chot_mono_us() / 1000.0);
	calls0 = ctl_redis_calls(app->redis);
	dups0 = ctl_redis_dup_records(app->redis);
	ctl_source_redis(app, &src);   /* reads the kinds and names of the sites it meets */
	rc = tr_run(&src, &q, &r);
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "trace failed: %s",
				app->err[0] ? app->err : "out of memory");
	if (flag && (rc = flag_contacts(app, &q, &r)) != 0) {
		tr_result_free(&r);
		return rc;
	}
	v.pid = q.pid;
	v.from_ms = q.from_ms;
	v.to_ms = q.to_ms;
	v.r = &r;
	v.limit = has_limit ? (size_t)limit : app->out == OUT_TABLE ? 50 : r.n_contacts;
	v.elapsed_ms = ((double)chot_mono_us() / 1000.0) - t0;
	v.redis_calls = ctl_redis_calls(app->redis) - calls0;
	v.dup_records = ctl_redis_dup_records(app->redis) - dups0 + r.dup_scans;
	if (app->keys_given && app->keys.has_vault) {
		size_t n = r.n_contacts < v.limit ? r.n_contacts : v.limit;
		uint8_t (*pids)[PID_LEN] = malloc((n + 1) * PID_LEN);

		ids = calloc(n + 1, sizeof(*ids));
		if (pids == NULL || ids == NULL) {
			free(pids);
			free(ids);
			tr_result_free(&r);
			return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
		}
		for (size_t i = 0; i < n; i++)
			memcpy(pids[i], r.contacts[i].pid, PID_LEN);
		/* The vault units of the trace's weeks: every contact scanned in them
		 * (a day either side: the contact window reaches past the edges). */
		uint64_t vfrom = q.from_ms > LAYOUT_DAY_MS ? q.from_ms - LAYOUT_DAY_MS : 0;
		uint64_t vto = q.to_ms + LAYOUT_DAY_MS;

		rc = ctl_reveal(app, (const uint8_t (*)[PID_LEN])q.pid, 1, vfrom, vto, &id0);
		if (rc == 0)
			rc = ctl_reveal(app, (const uint8_t (*)[PID_LEN])pids, n, vfrom, vto, ids);
		free(pids);
		if (rc != 0) {
			free(ids);
			tr_result_free(&r);
			return rc;
		}
		v.id = id0;
		v.ids = ids;
	}
	if (godata)
		ctl_trace_godata(app, &v);
	else
		ctl_format_trace(app, &v);
	rc = r.n_visits > 0 ? CTL_FOUND : CTL_NOT_FOUND;
	free(ids);
	tr_result_free(&r);
	return rc;
}
