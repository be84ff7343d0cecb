/*
 * chotctl's argument errors: the strict parsers of parse.c with a one-line
 * message that names the argument and says what was expected, e.g.
 *
 *   chotctl: --window: 'inf' is not a duration (15m, 90s, 1.5h, 250ms)
 *   chotctl: SITE_ID: '4294967300' is not a whole number in 1..4294967295
 *   chotctl: trace: unexpected argument 'extra' (chotctl trace --help)
 *
 * Each returns 0 or CTL_USAGE (exit 2), so a handler writes
 * `if ((rc = ctl_arg_...(...)) != 0) return rc;` before it touches Redis.
 */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "commands.h"
#include "ctl.h"

int
ctl_arg_u64(struct ctl_app *app, const char *name, const char *s, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	if (ctl_parse_u64(s, min, max, out) == 0)
		return 0;
	return ctl_fail(app, CTL_USAGE, "%s: '%s' is not a whole number in %llu..%llu", name, s,
			(unsigned long long)min, (unsigned long long)max);
}

int
ctl_arg_time(struct ctl_app *app, const char *name, const char *s, uint64_t *ms)
{
	int rc = ctl_parse_time(s, ms);

	if (rc == 0)
		return 0;
	if (rc == -ERANGE)
		return ctl_fail(app, CTL_USAGE, "%s: '%s' is outside 1970-01-01 .. 9999-12-31",
				name, s);
	return ctl_fail(app, CTL_USAGE, "%s: '%s' is not a time (ISO 8601 such as "
			"2021-08-01T17:00:00+07:00, or unix ms)", name, s);
}

int
ctl_arg_duration(struct ctl_app *app, const char *name, const char *s, uint64_t max_ms,
		 uint64_t *ms)
{
	uint64_t v;
	int rc = ctl_parse_duration(s, &v);

	if (rc == -EINVAL)
		return ctl_fail(app, CTL_USAGE, "%s: '%s' is not a duration (15m, 90s, 1.5h, "
				"250ms)", name, s);
	if (rc != 0 || v > max_ms) {
		if (max_ms % 3600000 == 0)
			return ctl_fail(app, CTL_USAGE, "%s: '%s' is longer than %lluh", name, s,
					(unsigned long long)(max_ms / 3600000));
		return ctl_fail(app, CTL_USAGE, "%s: '%s' is longer than %llu ms", name, s,
				(unsigned long long)max_ms);
	}
	*ms = v;
	return 0;
}

int
ctl_opt_error(struct ctl_app *app, int c, char **argv)
{
	const char *cmd = app->cmd != NULL ? app->cmd->name : "chotctl";
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return ctl_fail(app, CTL_USAGE, "%s: %s needs a value (chotctl %s --help)", cmd, arg,
				cmd);
	return ctl_fail(app, CTL_USAGE, "%s: unknown option '%s' (chotctl %s --help)", cmd, arg,
			cmd);
}

int
ctl_args_end(struct ctl_app *app, int argc, char **argv)
{
	const struct ctl_command *c = app->cmd;
	int n = argc - optind;

	if (c == NULL)
		return 0;
	if (n > c->max_args)
		return ctl_fail(app, CTL_USAGE, "%s: unexpected argument '%s' (chotctl %s --help)",
				c->name, argv[optind + c->max_args], c->name);
	if (n < c->min_args)
		return ctl_fail(app, CTL_USAGE, "%s: missing %s (chotctl %s --help)", c->name,
				c->args != NULL ? c->args : "argument", c->name);
	return 0;
}

int
ctl_no_options(struct ctl_app *app, int argc, char **argv)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };
	int c = getopt_long(argc, argv, ":", none, NULL);

	if (c != -1)
		return ctl_opt_error(app, c, argv);
	return ctl_args_end(app, argc, argv);
}
