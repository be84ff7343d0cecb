/*
 * chotctl zone set|import|list (DESIGN §9): commune risk levels 1..4 of
 * Resolution 128/NQ-CP in chot:{lists}:zones.  Writes go through
 * lists_write.c (audited, one MULTI with the version bump); import parses
 * and checks the whole file (zones.c) before it connects.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"
#include "lists_write.h"

int
cmd_zone_set(struct ctl_app *app, int argc, char **argv)
{
	uint32_t commune;
	enum zone_level level;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0)
		return rc;
	if (ctl_zone_commune(argv[optind], &commune) != 0)
		return ctl_fail(app, CTL_USAGE, "COMMUNE: '%s' is not a whole number in %u..%u",
				argv[optind], CTL_COMMUNE_MIN, CTL_COMMUNE_MAX);
	if (lists_zone_by_name(argv[optind + 1], &level) != 0)
		return ctl_fail(app, CTL_USAGE, "LEVEL: '%s' is not 1..4, green, yellow, orange, "
				"red, xanh, vàng, cam or đỏ", argv[optind + 1]);
	if ((rc = ctl_zone_set(app, commune, level)) != 0)
		return rc;
	fprintf(app->o, "commune %u: %s (%d)\n", commune,
		lists_zone_name(level, app->lang == LANG_VI), (int)level);
	return CTL_FOUND;
}

int
cmd_zone_import(struct ctl_app *app, int argc, char **argv)
{
	struct ctl_zone *v = NULL;
	size_t n = 0;
	const char *path;
	char err[256];
	FILE *f;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0)
		return rc;
	path = argv[optind];
	f = fopen(path, "r");
	if (f == NULL)
		return ctl_fail(app, CTL_USAGE, "%s: %s", path, strerror(errno));
	rc = ctl_zones_parse_csv(f, &v, &n, err, sizeof(err));
	fclose(f);
	if (rc != 0)
		return ctl_fail(app, CTL_USAGE, "%s: %s (nothing imported)", path, err);
	rc = ctl_zone_import(app, v, n, path);
	free(v);
	if (rc != 0)
		return rc;
	fprintf(app->o, "imported %zu communes\n", n);
	return CTL_FOUND;
}

static int
zone_cmp(const void *a, const void *b)
{
	const struct ctl_zone *x = a, *y = b;

	return x->commune < y->commune ? -1 : x->commune > y->commune;
}

static int
zone_decode(const struct ctl_str *field, const struct ctl_str *value, void *row)
{
	struct ctl_zone *z = row;

	return ctl_zone_commune(field->p, &z->commune) == 0 &&
	       lists_zone_decode(value->p, value->len, &z->level) == 0 ? 0 : -1;
}

int
cmd_zone_list(struct ctl_app *app, int argc, char **argv)
{
	bool vi = app->lang == LANG_VI;
	struct ctl_zone *v = NULL;
	size_t n = 0;
	FILE *f = app->o;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0 ||
	    (rc = ctl_list_read(app, LISTS_ZONES_HASH, "zone list", sizeof(*v), zone_decode,
				(void **)&v, &n)) != 0)
		return rc;
	qsort(v, n, sizeof(*v), zone_cmp);
	if (app->out == OUT_JSON) {
		fputs("{\"zones\": [", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s\n  {\"commune\": %u, \"level\": %d, \"name\": \"%s\"}",
				i ? "," : "", v[i].commune, (int)v[i].level,
				lists_zone_name(v[i].level, vi));
		fprintf(f, "%s]}\n", n ? "\n" : "");
	} else if (app->out == OUT_CSV) {
		/* What zone import reads back. */
		fputs("commune,level\r\n", f);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%u,%s\r\n", v[i].commune, lists_zone_name(v[i].level, vi));
	} else {
		fputs("  ", f);
		ctl_pad(f, ctl_tr(app, "Commune"), 10);
		fprintf(f, "%s\n", ctl_tr(app, "Level"));
		for (size_t i = 0; i < n; i++) {
			fprintf(f, "  %-10u", v[i].commune);
			fprintf(f, "%d %s\n", (int)v[i].level, lists_zone_name(v[i].level, vi));
		}
		fprintf(f, "(%zu)\n", n);
	}
	free(v);
	return n > 0 ? CTL_FOUND : CTL_NOT_FOUND;
}
