/*
 * chotctl visits (a subject's timeline) and site (who was present at a site
 * between two times).  Both read only the layout.h indexes, audit first,
 * and print local time in the table and unix ms in JSON/CSV.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "ctl.h"
#include "layout.h"

static int
scan_cmp(const void *a, const void *b)
{
	const struct tr_scan *x = a, *y = b;

	int c;

	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	c = memcmp(x->pid, y->pid, PID_LEN);
	return c != 0 ? c : (int)x->dir - (int)y->dir;
}

static void
print_scans(struct ctl_app *app, const struct tr_scanvec *v, bool with_pid)
{
	FILE *f = app->o;
	char hex[PID_HEX_LEN + 1], t[32];

	if (app->out == OUT_JSON) {
		fputs("{\"scans\": [", f);
		for (size_t i = 0; i < v->n; i++) {
			chot_pid_hex(hex, v->v[i].pid);
			fprintf(f, "%s\n  {%s%s%s\"site\": %u, \"ts_ms\": %llu, \"dir\": \"%s\"}",
				i ? "," : "", with_pid ? "\"pid\": \"" : "", with_pid ? hex : "",
				with_pid ? "\", " : "", v->v[i].site_id,
				(unsigned long long)v->v[i].ts_ms, wire_dir_name(v->v[i].dir));
		}
		fprintf(f, "%s]}\n", v->n ? "\n" : "");
		return;
	}
	if (app->out == OUT_CSV) {
		fputs(with_pid ? "pid,site,ts_ms,dir\r\n" : "site,ts_ms,dir\r\n", f);
		for (size_t i = 0; i < v->n; i++) {
			chot_pid_hex(hex, v->v[i].pid);
			fprintf(f, "%s%s%u,%llu,%s\r\n", with_pid ? hex : "", with_pid ? "," : "",
				v->v[i].site_id, (unsigned long long)v->v[i].ts_ms,
				wire_dir_name(v->v[i].dir));
		}
		return;
	}
	fputs("  ", f);
	ctl_pad(f, ctl_tr(app, "Time"), 16);
	fprintf(f, " %-5s %s%s\n", "", with_pid ? "pid  " : "", ctl_tr(app, "Site"));
	for (size_t i = 0; i < v->n; i++) {
		const struct ctl_site *s = ctl_site_find(app, v->v[i].site_id);

		ctl_format_time(t, sizeof(t), v->v[i].ts_ms);
		chot_pid_hex(hex, v->v[i].pid);
		fprintf(f, "  %-16s %-5s %s%s%u %s\n", t, wire_dir_name(v->v[i].dir),
			with_pid ? hex : "", with_pid ? "  " : "", v->v[i].site_id,
			s != NULL ? s->name : "");
	}
	fprintf(f, "(%zu)\n", v->n);
}

int
cmd_visits(struct ctl_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "scheme", required_argument, NULL, 's' }, { "days", required_argument, NULL, 'd' },
		{ "until", required_argument, NULL, 'u' }, { "pid", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *scheme = "cccd", *pidhex = NULL, *subject = NULL;
	uint64_t days = 14, until = (uint64_t)time(NULL) * 1000;
	uint8_t pid[PID_LEN];
	struct tr_source src;
	struct tr_scanvec v = { 0 };
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 's': scheme = optarg; break;
		case 'p': pidhex = optarg; break;
		case 'd': rc = ctl_arg_u64(app, "--days", optarg, 1, 365, &days); break;
		case 'u': rc = ctl_arg_time(app, "--until", optarg, &until); break;
		default: return ctl_opt_error(app, c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (optind < argc)
		subject = argv[optind];
	rc = ctl_subject_arg(app, subject, scheme, pidhex, pid);
	if (rc != 0 || (rc = ctl_connect(app)) != 0 || (rc = ctl_audit(app, "visits", pid, NULL)) != 0)
		return rc;
	ctl_sites_load(app);
	ctl_source_redis(app, &src);
	rc = src.timelines(src.ctx, (const uint8_t (*)[PID_LEN])pid, 1,
			   until > days * 86400000ULL ? until - days * 86400000ULL : 0, until, &v);
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
	qsort(v.v, v.n, sizeof(*v.v), scan_cmp);
	print_scans(app, &v, false);
	rc = v.n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
	tr_scanvec_free(&v);
	return rc;
}

int
cmd_site(struct ctl_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t from = 0, to = 0, site_arg;
	bool has_from = false, has_to = false;
	struct tr_source src;
	struct tr_scanvec v = { 0 }, keep = { 0 };
	struct tr_bucket *b;
	uint32_t site, nb;
	char detail[64];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'f': rc = ctl_arg_time(app, "--from", optarg, &from); has_from = true; break;
		case 't': rc = ctl_arg_time(app, "--to", optarg, &to); has_to = true; break;
		default: return ctl_opt_error(app, c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0 ||
	    (rc = ctl_arg_u64(app, "SITE_ID", argv[optind], 1, UINT32_MAX, &site_arg)) != 0)
		return rc;
	site = (uint32_t)site_arg;
	if (!has_from || !has_to)
		return ctl_fail(app, CTL_USAGE, "site: --from and --to are required "
				"(chotctl site --help)");
	if (to < from)
		return ctl_fail(app, CTL_USAGE, "site: --to is before --from");
	if (to - from > 31 * 86400000ULL)
		return ctl_fail(app, CTL_USAGE, "site: at most 31 days at a time");
	if ((rc = ctl_connect(app)) != 0)
		return rc;
	snprintf(detail, sizeof(detail), "site=%u", site);
	if ((rc = ctl_audit(app, "site", NULL, detail)) != 0)
		return rc;
	ctl_sites_load(app);
	nb = layout_block(to) - layout_block(from) + 1;
	b = calloc(nb, sizeof(*b));
	if (b == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "out of memory");
	for (uint32_t i = 0; i < nb; i++)
		b[i] = (struct tr_bucket){ .site_id = site, .block = layout_block(from) + i };
	ctl_source_redis(app, &src);
	rc = src.site_blocks(src.ctx, b, nb, &v, NULL, NULL);
	free(b);
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
	for (size_t i = 0; i < v.n; i++)
		if (v.v[i].ts_ms >= from && v.v[i].ts_ms <= to)
			tr_scanvec_push(&keep, &v.v[i]);
	/* Stored records come in append order, a resent generation's twice:
	 * sorted, then each scan once. */
	qsort(keep.v, keep.n, sizeof(*keep.v), scan_cmp);
	if (keep.n > 0) {
		size_t m = 1;

		for (size_t i = 1; i < keep.n; i++)
			if (scan_cmp(&keep.v[m - 1], &keep.v[i]) != 0)
				keep.v[m++] = keep.v[i];
		keep.n = m;
	}
	print_scans(app, &keep, true);
	rc = keep.n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
	tr_scanvec_free(&v);
	tr_scanvec_free(&keep);
	return rc;
}
