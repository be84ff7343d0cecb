/*
 * chotctl: the operator CLI (DESIGN §5).
 *
 *   chotctl [-r URL] [--keys FILE] [--user U --password-file F]
 *           [--json | --csv] [--lang en|vi] COMMAND ...
 *
 * This file parses the global options and dispatches; each command lives in
 * its own cmd_*.c, output formatting in format.c, Redis in redis.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static const char usage[] =
	"usage: chotctl [-r URL] [--keys FILE] [--user U --password-file F]\n"
	"               [--json | --csv] [--lang en|vi] COMMAND ...\n"
	"\n"
	"commands:\n"
	"  trace SUBJECT|--pid HEX [--scheme S] [--days 14] [--until T] [--depth 1|2]\n"
	"        [--window 15m] [--min-overlap 0] [--limit N]   F0 visits, F1, F2\n"
	"  visits SUBJECT|--pid HEX [--scheme S] [--days 14] [--until T]\n"
	"  site SITE_ID --from T --to T                           who was present\n"
	"  stats [--prefix P] [--watch]                           dataplane counters\n"
	"  sites import FILE.csv | sites list                     site registry\n"
	"  keys init FILE                                         create a keys file\n"
	"  flag, alerts, zone                                     (not implemented in this release)\n"
	"\n"
	"-r defaults to redis://127.0.0.1:6379 ($CHOT_REDIS_URL); --user to chot-operator;\n"
	"--password-file to $CHOT_PASSWORD_FILE.  SUBJECT is pseudonymised with the keys\n"
	"file (--keys, else $CHOT_KEYS, else /etc/chot/keys); raw identifiers are revealed\n"
	"from the vault only with an explicit --keys, and every reveal is audited; the\n"
	"audit records the Redis user (--user) as who.\n"
	"Exit: 0 found, 1 not found, 2 usage, 3 backend unavailable.\n";

int
ctl_fail(struct ctl_app *app, int code, const char *fmt, ...)
{
	va_list ap;

	(void)app;
	fputs("chotctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

static int
read_password(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		snprintf(err, errlen, "--password-file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

int
ctl_connect(struct ctl_app *app)
{
	char pw[256] = "";
	int unavailable = 0;  /* either way the backend is unusable: exit 3 */

	if (app->redis != NULL)
		return 0;
	if (app->password_file != NULL &&
	    read_password(app->password_file, pw, sizeof(pw), app->err, sizeof(app->err)) != 0)
		return ctl_fail(app, CTL_USAGE, "%s", app->err);
	app->redis = ctl_redis_open(app->url, app->user, pw, app->err, sizeof(app->err),
				    &unavailable);
	explicit_bzero(pw, sizeof(pw));
	if (app->redis == NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);  /* down or refusing us */
	return 0;
}

int
ctl_need_keys(struct ctl_app *app, bool pseudonym_only)
{
	char err[300];
	int rc;

	(void)pseudonym_only;
	if (app->keys_loaded)
		return 0;
	rc = keys_load(app->keys_path, &app->keys, err, sizeof(err));
	if (rc != 0)
		return ctl_fail(app, CTL_USAGE, "keys file: %s", err);
	app->keys_loaded = true;
	return 0;
}

int
main(int argc, char **argv)
{
	enum { O_KEYS = 1, O_USER, O_PWF, O_JSON, O_CSV, O_LANG, O_OPER, O_HELP };
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, O_KEYS },
		{ "user", required_argument, NULL, O_USER },
		{ "password-file", required_argument, NULL, O_PWF },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "lang", required_argument, NULL, O_LANG },
		{ "operator", required_argument, NULL, O_OPER },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_app app = { .out = OUT_TABLE, .lang = LANG_EN, .o = stdout };
	const char *cmd;
	int c, rc;

	/* hiredis writes with write(2): Redis closing the connection must come
	 * back as an error chotctl reports (exit 3), not a silent SIGPIPE death. */
	signal(SIGPIPE, SIG_IGN);
	app.url = getenv("CHOT_REDIS_URL") ? getenv("CHOT_REDIS_URL") : "redis://127.0.0.1:6379";
	app.keys_path = getenv("CHOT_KEYS") ? getenv("CHOT_KEYS") : "/etc/chot/keys";
	app.user = "chot-operator";
	app.password_file = getenv("CHOT_PASSWORD_FILE");
	/* Global options stop at the command ('+': POSIX order). */
	while ((c = getopt_long(argc, argv, "+r:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': app.url = optarg; break;
		case O_KEYS: app.keys_path = optarg; app.keys_given = true; break;
		case O_USER: app.user = optarg; break;
		case O_PWF: app.password_file = optarg; break;
		case O_JSON: app.out = OUT_JSON; break;
		case O_CSV: app.out = OUT_CSV; break;
		case O_OPER:  /* removed: "who" is the ACL user (DESIGN §4), not a flag */
			return ctl_fail(&app, CTL_USAGE, "--operator was removed: the audit "
					"records the Redis user chotctl signs in as (--user)");
		case O_LANG:
			if (strcmp(optarg, "en") == 0)
				app.lang = LANG_EN;
			else if (strcmp(optarg, "vi") == 0)
				app.lang = LANG_VI;
			else
				return ctl_fail(&app, CTL_USAGE, "--lang takes en or vi, not '%s'",
						optarg);
			break;
		case 'h':
		case O_HELP:
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage, stderr);
		return CTL_USAGE;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;  /* GNU getopt: 0 re-initialises for the command's options */
	if (strcmp(cmd, "trace") == 0)
		rc = cmd_trace(&app, argc, argv);
	else if (strcmp(cmd, "visits") == 0)
		rc = cmd_visits(&app, argc, argv);
	else if (strcmp(cmd, "site") == 0)
		rc = cmd_site(&app, argc, argv);
	else if (strcmp(cmd, "stats") == 0)
		rc = cmd_stats(&app, argc, argv);
	else if (strcmp(cmd, "sites") == 0)
		rc = cmd_sites(&app, argc, argv);
	else if (strcmp(cmd, "keys") == 0)
		rc = cmd_keys(&app, argc, argv);
	else if (strcmp(cmd, "flag") == 0 || strcmp(cmd, "alerts") == 0 ||
		 strcmp(cmd, "zone") == 0)
		rc = ctl_fail(&app, CTL_USAGE, "'%s': not implemented in this release", cmd);
	else
		rc = ctl_fail(&app, CTL_USAGE, "unknown command '%s' (chotctl --help)", cmd);
	ctl_redis_close(app.redis);
	keys_wipe(&app.keys);
	free(app.sites);
	return rc;
}
