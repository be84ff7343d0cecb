/*
 * chotctl: the state of one invocation (redis-cli's shape: one options
 * struct; parse -> connect -> dispatch -> format), the exit codes and the
 * error helper.  No Redis, trace or dataplane types: the pure files
 * (format, parse, sites, zones, alerts) include this and nothing bigger.
 */
#ifndef CHOT_CTL_APP_H
#define CHOT_CTL_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keys.h"

/* Exit codes (DESIGN §5). */
enum { CTL_FOUND = 0, CTL_NOT_FOUND = 1, CTL_USAGE = 2, CTL_UNAVAILABLE = 3 };

enum ctl_output { OUT_TABLE, OUT_JSON, OUT_CSV };
enum ctl_lang { LANG_EN, LANG_VI };

struct ctl_command;
struct ctl_redis;
struct ctl_site;

struct ctl_app {
	const char *url, *keys_path, *user, *password_file;
	enum ctl_output out;
	enum ctl_lang lang;
	bool keys_given;          /* --keys: reveal identities from the vault */
	struct chot_keys keys;
	bool keys_loaded;
	struct ctl_redis *redis;
	struct ctl_site *sites;   /* sorted by id */
	size_t n_sites;
	FILE *o;                  /* stdout, or a memory stream in tests */
	const struct ctl_command *cmd;  /* the row being run (commands.h) */
	char err[512];            /* the last ctl_fail message, without "chotctl: " */
};

/*
 * Print "chotctl: MESSAGE" on stderr, keep MESSAGE in app->err (callers
 * without a terminal, such as the web page, read it there) and return code.
 */
int ctl_fail(struct ctl_app *app, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* main.c.  Both check that the running command's row declares the need
 * (commands.h: CTL_NEED_REDIS*, CTL_NEED_KEYS); a row that lies is a bug
 * reported as exit 3, never a silent success. */
int ctl_connect(struct ctl_app *app);
int ctl_need_keys(struct ctl_app *app, bool pseudonym_only);

#endif /* CHOT_CTL_APP_H */
