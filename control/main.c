/*
 * chotctl: the operator CLI (DESIGN §5).
 *
 *   chotctl [-r URL] [--keys FILE] [--user U --password-file F]
 *           [--json | --csv] [--lang en|vi] COMMAND ...
 *
 * This file parses the global options and hands the rest to the command
 * table (commands.c); each command lives in its own cmd_*.c, output
 * formatting in format.c, Redis in redis.c.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "ctl.h"

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
	app->redis = ctl_redis_open_opts(app->url, app->user, pw, &app->ropts, app->err,
					 sizeof(app->err), &unavailable);
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
	enum { O_KEYS = 1, O_USER, O_PWF, O_JSON, O_CSV, O_LANG, O_OPER, O_HELP, O_REPLICAS,
	       O_TIMEOUT };
	static const struct option opts[] = {
		{ "keys", required_argument, NULL, O_KEYS },
		{ "user", required_argument, NULL, O_USER },
		{ "password-file", required_argument, NULL, O_PWF },
		{ "json", no_argument, NULL, O_JSON },
		{ "csv", no_argument, NULL, O_CSV },
		{ "lang", required_argument, NULL, O_LANG },
		{ "operator", required_argument, NULL, O_OPER },
		{ "help", no_argument, NULL, O_HELP },
		{ "replicas", no_argument, NULL, O_REPLICAS },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_app app = { .out = OUT_TABLE, .lang = LANG_EN, .o = stdout };
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
		case O_REPLICAS: app.ropts.replicas = true; break;
		case O_TIMEOUT: {
			uint64_t ms;

			if (ctl_parse_duration(optarg, &ms) != 0 || ms < 100 || ms > 600000)
				return ctl_fail(&app, CTL_USAGE, "--timeout takes a duration from "
						"100ms to 10m (e.g. 5s), not '%s'", optarg);
			app.ropts.timeout_ms = (unsigned)ms;
			break;
		}
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
			ctl_usage(stdout);
			return 0;
		default:
			ctl_usage(stderr);
			return CTL_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_USAGE;
	}
	rc = ctl_dispatch(&app, argc - optind, argv + optind);
	ctl_redis_close(app.redis);
	keys_wipe(&app.keys);
	free(app.sites);
	return rc;
}
