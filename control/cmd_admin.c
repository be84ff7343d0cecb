/*
 * chotctl sites import|list and keys init.
 *
 * sites import parses and validates the whole file (sites.c) before it
 * connects, then writes every row in one HSET, which Redis applies at once:
 * a bad file and a failed write both leave chot:{lists}:sites as it was.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"
#include "layout.h"

/* HSET chot:{lists}:sites id "kind,commune,name" ... for all n sites, one command. */
static int
sites_write(struct ctl_app *app, const struct ctl_site *v, size_t n)
{
	int argc = 2 + 2 * (int)n, rc;
	const char **argv = calloc((size_t)argc, sizeof(*argv));
	size_t *argl = calloc((size_t)argc, sizeof(*argl));
	char (*ids)[16] = calloc(n, 16), (*vals)[200] = calloc(n, 200);
	struct ctl_reply rep;

	if (argv == NULL || argl == NULL || ids == NULL || vals == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "sites import: out of memory");
		goto out;
	}
	argv[0] = "HSET"; argl[0] = 4;
	argv[1] = LAYOUT_SITES_HASH; argl[1] = strlen(LAYOUT_SITES_HASH);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], 16, "%u", v[i].id);
		/* kind <= 10, commune <= 5, name <= 127 bytes: it fits */
		snprintf(vals[i], 200, "%s,%u,%s", rules_kind_name(v[i].kind), v[i].commune,
			 v[i].name);
		argv[2 + 2 * i] = ids[i]; argl[2 + 2 * i] = strlen(ids[i]);
		argv[3 + 2 * i] = vals[i]; argl[3 + 2 * i] = strlen(vals[i]);
	}
	rc = ctl_redis_cmd(app->redis, argc, argv, argl, &rep, app->err, sizeof(app->err));
	if (rc != 0) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
		goto out;
	}
	if (rep.is_error)
		rc = ctl_fail(app, CTL_UNAVAILABLE, "sites import: %s (needs a user that may "
			      "write chot:{lists}:sites, e.g. chot-admin)", rep.err);
	ctl_reply_free(&rep);
out:
	free(argv);
	free(argl);
	free(ids);
	free(vals);
	return rc;
}

int
cmd_sites_import(struct ctl_app *app, int argc, char **argv)
{
	struct ctl_site *v = NULL;
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
	rc = ctl_sites_parse_csv(f, &v, &n, err, sizeof(err));
	fclose(f);
	if (rc != 0)
		return ctl_fail(app, CTL_USAGE, "%s: %s (nothing imported)", path, err);
	rc = ctl_connect(app);
	if (rc == 0 && n > 0)
		rc = sites_write(app, v, n);
	free(v);
	if (rc != 0)
		return rc;
	fprintf(app->o, "imported %zu sites\n", n);
	return 0;
}

int
cmd_sites_list(struct ctl_app *app, int argc, char **argv)
{
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0 || (rc = ctl_connect(app)) != 0)
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

/* Errors in the path the operator gave are usage errors (exit 2); the rest
 * (a full disk, an I/O error) are the backend's (exit 3). */
static bool
path_error(int e)
{
	return e == ENOENT || e == ENOTDIR || e == EACCES || e == EPERM || e == EROFS ||
	       e == EISDIR || e == ENAMETOOLONG || e == ELOOP;
}

int
cmd_keys_init(struct ctl_app *app, int argc, char **argv)
{
	struct chot_keys k;
	const char *path;
	int rc;

	if ((rc = ctl_no_options(app, argc, argv)) != 0)
		return rc;
	path = argv[optind];
	if (wire_init() != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "libsodium failed to initialise");
	keys_generate(&k);
	rc = keys_write(path, &k);
	keys_wipe(&k);
	if (rc == -EEXIST)
		return ctl_fail(app, CTL_USAGE, "%s exists; refusing to overwrite a keys file", path);
	if (rc == -ENOENT)
		return ctl_fail(app, CTL_USAGE, "cannot create %s: %s (the directory must exist)",
				path, strerror(-rc));
	if (rc != 0)
		return ctl_fail(app, path_error(-rc) ? CTL_USAGE : CTL_UNAVAILABLE,
				"cannot create %s: %s", path, strerror(-rc));
	fprintf(app->o, "created %s (mode 0600): master key generation 1, pseudonym and vault "
		"keys\n", path);
	return 0;
}
