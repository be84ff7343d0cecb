/*
 * chotctl sites import|list and keys init.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "layout.h"

static const char sites_usage[] = "usage: chotctl sites import FILE.csv | chotctl sites list\n"
				  "CSV header: id,name,kind,commune; kind: checkpoint, venue, "
				  "market, testing, other\n";
static const char keys_usage[] = "usage: chotctl keys init FILE   (mode 0600, never overwrites)\n";

static int
sites_import(struct ctl_app *app, const char *path)
{
	struct ctl_site *v = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "r");
	char err[256];
	int rc;

	if (f == NULL)
		return ctl_fail(app, CTL_USAGE, "%s: %s", path, strerror(errno));
	rc = ctl_sites_parse_csv(f, &v, &n, err, sizeof(err));
	fclose(f);
	if (rc != 0)
		return ctl_fail(app, CTL_USAGE, "%s: %s (nothing imported)", path, err);
	if ((rc = ctl_connect(app)) != 0) {
		free(v);
		return rc;
	}
	for (size_t base = 0; base < n; base += 256) {
		size_t m = n - base < 256 ? n - base : 256;
		int argc = 2 + 2 * (int)m;
		const char **argv = calloc((size_t)argc, sizeof(*argv));
		size_t *argl = calloc((size_t)argc, sizeof(*argl));
		char (*ids)[16] = calloc(m, 16), (*vals)[200] = calloc(m, 200);
		struct ctl_reply rep;

		argv[0] = "HSET"; argl[0] = 4;
		argv[1] = LAYOUT_SITES_HASH; argl[1] = strlen(LAYOUT_SITES_HASH);
		for (size_t i = 0; i < m; i++) {
			const struct ctl_site *s = &v[base + i];

			snprintf(ids[i], 16, "%u", s->id);
			snprintf(vals[i], 200, "%s,%u,%s", rules_kind_name(s->kind), s->commune, s->name);
			argv[2 + 2 * i] = ids[i]; argl[2 + 2 * i] = strlen(ids[i]);
			argv[3 + 2 * i] = vals[i]; argl[3 + 2 * i] = strlen(vals[i]);
		}
		rc = ctl_redis_cmd(app->redis, argc, argv, argl, &rep, app->err, sizeof(app->err));
		free(argv);
		free(argl);
		free(ids);
		free(vals);
		if (rc != 0) {
			free(v);
			return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
		}
		if (rep.is_error) {
			ctl_fail(app, CTL_UNAVAILABLE, "sites import: %s (needs a user that may "
				 "write chot:sites, e.g. chot-admin)", rep.err);
			ctl_reply_free(&rep);
			free(v);
			return CTL_UNAVAILABLE;
		}
		ctl_reply_free(&rep);
	}
	fprintf(app->o, "imported %zu sites\n", n);
	free(v);
	return 0;
}

static int
sites_list(struct ctl_app *app)
{
	int rc = ctl_connect(app);

	if (rc != 0)
		return rc;
	if (ctl_sites_load(app) != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
	if (app->out == OUT_JSON) {
		fputs("{\"sites\": [", app->o);
		for (size_t i = 0; i < app->n_sites; i++) {
			fprintf(app->o, "%s\n  {\"id\": %u, \"name\": ", i ? "," : "", app->sites[i].id);
			ctl_json_str(app->o, app->sites[i].name);
			fprintf(app->o, ", \"kind\": \"%s\", \"commune\": %u}",
				rules_kind_name(app->sites[i].kind), app->sites[i].commune);
		}
		fprintf(app->o, "%s]}\n", app->n_sites ? "\n" : "");
	} else {
		fputs("id,name,kind,commune\r\n", app->o);
		for (size_t i = 0; i < app->n_sites; i++) {
			fprintf(app->o, "%u,", app->sites[i].id);
			ctl_csv_str(app->o, app->sites[i].name);
			fprintf(app->o, ",%s,%u\r\n", rules_kind_name(app->sites[i].kind),
				app->sites[i].commune);
		}
	}
	return app->n_sites > 0 ? CTL_FOUND : CTL_NOT_FOUND;
}

int
cmd_sites(struct ctl_app *app, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(sites_usage, stdout);
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return sites_import(app, argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return sites_list(app);
	fputs(sites_usage, stderr);
	return CTL_USAGE;
}

int
cmd_keys(struct ctl_app *app, int argc, char **argv)
{
	struct chot_keys k;
	int rc;

	if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
		fputs(keys_usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "init") != 0) {
		fputs(keys_usage, stderr);
		return CTL_USAGE;
	}
	if (wire_init() != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "libsodium failed to initialise");
	keys_generate(&k);
	rc = keys_write(argv[2], &k);
	keys_wipe(&k);
	if (rc == -EEXIST)
		return ctl_fail(app, CTL_USAGE, "%s exists; refusing to overwrite a keys file",
				argv[2]);
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s: %s", argv[2], strerror(-rc));
	fprintf(app->o, "created %s (mode 0600): master key generation 1, pseudonym and vault "
		"keys\n", argv[2]);
	return 0;
}
