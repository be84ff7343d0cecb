/*
 * chotctl vehicle register|revoke|list (DESIGN §9): the green-lane registry
 * in chot:{lists}:greenlane, keyed by the pid of (GREEN_LANE, the normalised
 * plate or sticker code); the plate itself only sealed (vault key) in
 * chot:{lists}:plates.  Writes go through lists_write.c (audited, one MULTI
 * with the version bump); list --keys opens the plates, each reveal audited.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "ctl.h"
#include "lists_args.h"
#include "lists_write.h"

#define PASSENGERS_MAX 1000

int
cmd_vehicle_register(struct ctl_app *app, int argc, char **argv)
{
	enum { O_ROUTE = 1, O_FROM, O_TO, O_PASS };
	static const struct option opts[] = {
		{ "route", required_argument, NULL, O_ROUTE },
		{ "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },
		{ "passengers", required_argument, NULL, O_PASS },
		{ NULL, 0, NULL, 0 },
	};
	struct greenlane_entry e = { 0 };
	bool has_route = false, has_from = false, has_to = false;
	uint64_t pass = 0;
	uint8_t pid[PID_LEN];
	char why[200], hex[PID_HEX_LEN + 1];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case O_ROUTE:
			if (ctl_route_parse(optarg, &e, why, sizeof(why)) != 0)
				return ctl_fail(app, CTL_USAGE, "--route: %s", why);
			has_route = true;
			break;
		case O_FROM: rc = ctl_arg_time(app, "--from", optarg, &e.from_ms); has_from = true; break;
		case O_TO: rc = ctl_arg_time(app, "--to", optarg, &e.to_ms); has_to = true; break;
		case O_PASS:
			rc = ctl_arg_u64(app, "--passengers", optarg, 0, PASSENGERS_MAX, &pass);
			break;
		default: return ctl_opt_error(app, c, argv);
		}
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_args_end(app, argc, argv)) != 0)
		return rc;
	if (!has_route || !has_from || !has_to)
		return ctl_fail(app, CTL_USAGE, "vehicle register: --route, --from and --to are "
				"required (chotctl vehicle register --help)");
	if (e.to_ms < e.from_ms)
		return ctl_fail(app, CTL_USAGE, "vehicle register: --to is before --from");
	e.passengers = (uint32_t)pass;
	if ((rc = ctl_vehicle_register(app, argv[optind], &e, pid)) != 0)
		return rc;
	chot_pid_hex(hex, pid);
	fprintf(app->o, "registered %s: %u site(s), %u passenger(s)\n", hex, e.nroute,
		e.passengers);
	return CTL_FOUND;
}

int
cmd_vehicle_revoke(struct ctl_app *app, int argc, char **argv)
{
	bool existed = false;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0 ||
	    (rc = ctl_vehicle_revoke(app, argv[optind], &existed)) != 0)
		return rc;
	fprintf(app->o, existed ? "revoked %s\n" : "%s was not registered\n", argv[optind]);
	return existed ? CTL_FOUND : CTL_NOT_FOUND;
}

struct vrow {
	uint8_t pid[PID_LEN];
	struct greenlane_entry e;
};

static int
vrow_cmp(const void *a, const void *b)
{
	const struct vrow *x = a, *y = b;

	if (x->e.to_ms != y->e.to_ms)
		return x->e.to_ms > y->e.to_ms ? -1 : 1;
	return memcmp(x->pid, y->pid, PID_LEN);
}

static void
print_route(FILE *f, const struct greenlane_entry *e, bool json)
{
	for (uint32_t i = 0; i < e->nroute; i++)
		fprintf(f, "%s%u", i ? (json ? ", " : ",") : "", e->route[i]);
}

static void
print_vehicles(struct ctl_app *app, const struct vrow *v, size_t n,
	       char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	FILE *f = app->o;
	char hex[PID_HEX_LEN + 1], t1[32], t2[32];

	if (app->out == OUT_JSON) {
		fputs("{\"vehicles\": [", f);
		for (size_t i = 0; i < n; i++) {
			chot_pid_hex(hex, v[i].pid);
			fprintf(f, "%s\n  {\"pid\": \"%s\", ", i ? "," : "", hex);
			if (ids != NULL) {
				fputs("\"plate\": ", f);
				ctl_json_str(f, ids[i]);
				fputs(", ", f);
			}
			fprintf(f, "\"from_ms\": %llu, \"to_ms\": %llu, \"passengers\": %u, "
				"\"route\": [", (unsigned long long)v[i].e.from_ms,
				(unsigned long long)v[i].e.to_ms, v[i].e.passengers);
			print_route(f, &v[i].e, true);
			fputs("]}", f);
		}
		fprintf(f, "%s]}\n", n ? "\n" : "");
		return;
	}
	if (app->out == OUT_CSV) {
		fprintf(f, "pid,%sfrom_ms,to_ms,passengers,route\r\n", ids ? "plate," : "");
		for (size_t i = 0; i < n; i++) {
			chot_pid_hex(hex, v[i].pid);
			fprintf(f, "%s,", hex);
			if (ids != NULL) {
				ctl_csv_str(f, ids[i]);
				fputc(',', f);
			}
			fprintf(f, "%llu,%llu,%u,\"", (unsigned long long)v[i].e.from_ms,
				(unsigned long long)v[i].e.to_ms, v[i].e.passengers);
			print_route(f, &v[i].e, false);
			fputs("\"\r\n", f);
		}
		return;
	}
	fputs("  ", f);
	ctl_pad(f, ids ? ctl_tr(app, "Plate") : "pid", ids ? 14 : 34);
	ctl_pad(f, ctl_tr(app, "From"), 17);
	ctl_pad(f, ctl_tr(app, "To"), 17);
	ctl_pad(f, ctl_tr(app, "Passengers"), 11);
	fprintf(f, "%s\n", ctl_tr(app, "Route"));
	for (size_t i = 0; i < n; i++) {
		chot_pid_hex(hex, v[i].pid);
		ctl_format_time(t1, sizeof(t1), v[i].e.from_ms);
		ctl_format_time(t2, sizeof(t2), v[i].e.to_ms);
		fputs("  ", f);
		ctl_pad(f, ids ? ids[i] : hex, ids ? 14 : 34);
		fprintf(f, "%-16s %-16s %-10u ", t1, t2, v[i].e.passengers);
		print_route(f, &v[i].e, false);
		fputc('\n', f);
	}
	fprintf(f, "(%zu)\n", n);
}

static int
vrow_decode(const struct ctl_str *field, const struct ctl_str *value, void *row)
{
	struct vrow *r = row;

	return field->len == PID_HEX_LEN && chot_pid_parse(r->pid, field->p) == 0 &&
	       lists_greenlane_decode(value->p, value->len, &r->e) == 0 ? 0 : -1;
}

int
cmd_vehicle_list(struct ctl_app *app, int argc, char **argv)
{
	struct vrow *v = NULL;
	char (*ids)[WIRE_SUBJECT_MAX_NUL] = NULL;
	size_t n = 0;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0)
		return rc;
	if (app->keys_given && (rc = ctl_need_keys(app, false)) != 0)
		return rc;
	if ((rc = ctl_connect(app)) != 0 || (rc = ctl_audit(app, "vehicle-list", NULL, NULL)) != 0 ||
	    (rc = ctl_list_read(app, LISTS_GREENLANE_HASH, "vehicle list", sizeof(*v), vrow_decode,
				(void **)&v, &n)) != 0)
		return rc;
	qsort(v, n, sizeof(*v), vrow_cmp);
	if ((rc = ctl_list_reveal(app, LISTS_PLATES_HASH, v, sizeof(*v), n, &ids)) != 0)
		goto out;
	print_vehicles(app, v, n, ids);
	rc = n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
out:
	free(ids);
	free(v);
	return rc;
}
