/*
 * chotctl flag and watchlist (DESIGN §5, §9): the watchlist in
 * chot:{lists}:watch.  flag writes through lists_write.c (audited, one
 * MULTI with the version bump); watchlist reads the whole hash, audits the
 * lookup and every identity it reveals (--keys), then prints.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "commands.h"
#include "ctl.h"
#include "lists_write.h"

int
cmd_flag(struct ctl_app *app, int argc, char **argv)
{
	enum { O_SCHEME = 1, O_STATUS, O_UNTIL, O_NOTE, O_PID };
	static const struct option opts[] = {
		{ "scheme", required_argument, NULL, O_SCHEME },
		{ "status", required_argument, NULL, O_STATUS },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "note", required_argument, NULL, O_NOTE },
		{ "pid", required_argument, NULL, O_PID },
		{ NULL, 0, NULL, 0 },
	};
	const char *scheme = "cccd", *pidhex = NULL, *subject = NULL, *status_s = NULL;
	const char *note = NULL, *until_s = NULL;
	enum watch_status status = WATCH_NONE;
	uint64_t until = 0;
	bool has_until = false, existed = false;
	uint8_t pid[PID_LEN];
	char hex[PID_HEX_LEN + 1], why[160], t[32];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case O_SCHEME: scheme = optarg; break;
		case O_PID: pidhex = optarg; break;
		case O_STATUS: status_s = optarg; break;
		case O_NOTE: note = optarg; break;
		case O_UNTIL:
			until_s = optarg;
			rc = ctl_arg_time(app, "--until", optarg, &until);
			has_until = true;
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
	if (status_s == NULL)
		return ctl_fail(app, CTL_USAGE, "flag: --status is required (f0, f1, f2, "
				"quarantine or clear)");
	if (strcmp(status_s, "clear") != 0 && lists_watch_by_name(status_s, &status) != 0)
		return ctl_fail(app, CTL_USAGE, "--status: '%s' is not f0, f1, f2, quarantine or "
				"clear", status_s);
	if (status == WATCH_NONE && (has_until || note != NULL))
		return ctl_fail(app, CTL_USAGE, "flag: --status clear takes no --until or --note");
	if (has_until && until <= chot_real_ms())
		return ctl_fail(app, CTL_USAGE, "--until: '%s' is not in the future (an entry past "
				"its end is inert)", until_s);
	if (note != NULL) {
		if (strlen(note) > LISTS_NOTE_MAX)
			return ctl_fail(app, CTL_USAGE, "--note: longer than %d bytes",
					LISTS_NOTE_MAX);
		if (ctl_site_name_check(note, why, sizeof(why)) != 0)
			return ctl_fail(app, CTL_USAGE, "--note: %s", why);
	}
	if ((rc = ctl_subject_arg(app, subject, scheme, pidhex, pid)) != 0)
		return rc;
	if ((rc = ctl_flag(app, pid, status, until, note, &existed)) != 0)
		return rc;
	chot_pid_hex(hex, pid);
	if (status == WATCH_NONE) {
		fprintf(app->o, existed ? "cleared %s\n" : "%s was not on the watchlist\n", hex);
		return existed ? CTL_FOUND : CTL_NOT_FOUND;
	}
	ctl_format_time(t, sizeof(t), has_until ? until : chot_real_ms() + lists_watch_default_ms(status));
	fprintf(app->o, "%s %s: %s until %s\n", existed ? "updated" : "flagged", hex,
		lists_watch_name(status), t);
	return CTL_FOUND;
}

struct wrow {
	uint8_t pid[PID_LEN];
	struct watch_entry e;
};

static int
wrow_cmp(const void *a, const void *b)
{
	const struct wrow *x = a, *y = b;

	if (x->e.status != y->e.status)
		return x->e.status > y->e.status ? -1 : 1;
	if (x->e.until_ms != y->e.until_ms)
		return x->e.until_ms > y->e.until_ms ? -1 : 1;
	return memcmp(x->pid, y->pid, PID_LEN);
}

static void
print_watchlist(struct ctl_app *app, const struct wrow *v, size_t n,
		char (*ids)[WIRE_SUBJECT_MAX_NUL], uint64_t now)
{
	FILE *f = app->o;
	char hex[PID_HEX_LEN + 1], t1[32], t2[32], note[LISTS_NOTE_MAX + 1];

	if (app->out == OUT_JSON) {
		fputs("{\"watchlist\": [", f);
		for (size_t i = 0; i < n; i++) {
			chot_pid_hex(hex, v[i].pid);
			fprintf(f, "%s\n  {\"pid\": \"%s\", ", i ? "," : "", hex);
			if (ids != NULL) {
				fputs("\"id\": ", f);
				ctl_json_str(f, ids[i]);
				fputs(", ", f);
			}
			fprintf(f, "\"status\": \"%s\", \"set_ms\": %llu, \"until_ms\": %llu, "
				"\"active\": %s, \"note\": ", lists_watch_name(v[i].e.status),
				(unsigned long long)v[i].e.set_ms, (unsigned long long)v[i].e.until_ms,
				v[i].e.until_ms > now ? "true" : "false");
			ctl_json_str(f, v[i].e.note);
			fputc('}', f);
		}
		fprintf(f, "%s]}\n", n ? "\n" : "");
		return;
	}
	if (app->out == OUT_CSV) {
		fprintf(f, "pid,%sstatus,set_ms,until_ms,active,note\r\n", ids ? "id," : "");
		for (size_t i = 0; i < n; i++) {
			chot_pid_hex(hex, v[i].pid);
			fprintf(f, "%s,", hex);
			if (ids != NULL) {
				ctl_csv_str(f, ids[i]);
				fputc(',', f);
			}
			fprintf(f, "%s,%llu,%llu,%s,", lists_watch_name(v[i].e.status),
				(unsigned long long)v[i].e.set_ms, (unsigned long long)v[i].e.until_ms,
				v[i].e.until_ms > now ? "true" : "false");
			ctl_csv_str(f, v[i].e.note);
			fputs("\r\n", f);
		}
		return;
	}
	fputs("  ", f);
	ctl_pad(f, ctl_tr(app, "Status"), 11);
	ctl_pad(f, ctl_tr(app, "Until"), 17);
	ctl_pad(f, ctl_tr(app, "Set"), 17);
	ctl_pad(f, ids ? ctl_tr(app, "Identity") : "pid", ids ? 14 : 34);
	fprintf(f, "%s\n", ctl_tr(app, "Note"));
	for (size_t i = 0; i < n; i++) {
		chot_pid_hex(hex, v[i].pid);
		ctl_format_time(t1, sizeof(t1), v[i].e.until_ms);
		ctl_format_time(t2, sizeof(t2), v[i].e.set_ms);
		snprintf(note, sizeof(note), "%s", v[i].e.note);
		ctl_site_name_clean(note);
		fputs("  ", f);
		ctl_pad(f, lists_watch_name(v[i].e.status), 11);
		fprintf(f, "%-16s %-16s ", t1, t2);
		ctl_pad(f, ids ? ids[i] : hex, ids ? 14 : 34);
		fprintf(f, "%s%s%s%s\n", note, v[i].e.until_ms > now ? "" : " (",
			v[i].e.until_ms > now ? "" : ctl_tr(app, "expired"),
			v[i].e.until_ms > now ? "" : ")");
	}
	fprintf(f, "(%zu)\n", n);
}

static int
wrow_decode(const struct ctl_str *field, const struct ctl_str *value, void *row)
{
	struct wrow *w = row;

	return field->len == PID_HEX_LEN && chot_pid_parse(w->pid, field->p) == 0 &&
	       lists_watch_decode(value->p, value->len, &w->e) == 0 ? 0 : -1;
}

int
cmd_watchlist(struct ctl_app *app, int argc, char **argv)
{
	struct wrow *v = NULL;
	char (*ids)[WIRE_SUBJECT_MAX_NUL] = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0)
		return rc;
	if (app->keys_given && (rc = ctl_need_keys(app, false)) != 0)
		return rc;
	if ((rc = ctl_connect(app)) != 0 || (rc = ctl_audit(app, "watchlist", NULL, NULL)) != 0 ||
	    (rc = ctl_list_read(app, LISTS_WATCH_HASH, "watchlist", sizeof(*v), wrow_decode,
				(void **)&v, &n)) != 0)
		return rc;
	qsort(v, n, sizeof(*v), wrow_cmp);
	if ((rc = ctl_list_reveal(app, NULL, v, sizeof(*v), n, &ids)) != 0)
		goto out;
	print_watchlist(app, v, n, ids, chot_real_ms());
	rc = n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
out:
	free(ids);
	free(v);
	return rc;
}
