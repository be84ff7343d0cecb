/*
 * chotctl's command table (commands.c) and the argument helpers every
 * handler uses (args.c).
 *
 * A command is one row: its name ("trace", or a group and a verb such as
 * "sites import"), its handler, what it needs, how many positional arguments
 * it takes and its usage.  main.c parses the global options and calls
 * ctl_dispatch(); the table answers --help, unknown commands and the
 * commands not implemented yet (a row without a handler), so a new command
 * is a row and a handler, never another strcmp.
 *
 * A handler is called with argv[0] = the command's last word, optind = 0
 * (GNU getopt: start afresh) and app->cmd = its row: it parses its options
 * with getopt_long(argc, argv, ":", ...) (the ':' keeps getopt quiet and
 * tells a missing value from an unknown option), sends any error to
 * ctl_opt_error(), then calls ctl_args_end() to check the positional count
 * before it touches a backend, so every usage error is exit 2 and one line.
 */
#ifndef CHOT_CTL_COMMANDS_H
#define CHOT_CTL_COMMANDS_H

#include <stdint.h>
#include <stdio.h>

struct ctl_app;

/* What a command needs; shown by --help (the operator's checklist) and
 * enforced: ctl_connect() refuses a row without a CTL_NEED_REDIS* bit,
 * ctl_need_keys() one without CTL_NEED_KEYS (exit 3, "internal: ..."). */
enum ctl_need {
	CTL_NEED_REDIS = 1 << 0,       /* Redis, read (chot-operator) */
	CTL_NEED_REDIS_ADMIN = 1 << 1, /* Redis, write (chot-admin) */
	CTL_NEED_KEYS = 1 << 2,        /* the keys file: a SUBJECT, a PLATE, --keys reveals */
	CTL_NEED_TELEMETRY = 1 << 3,   /* a running chotd's telemetry socket */
};

struct ctl_command {
	const char *name;      /* one word, or "group verb" */
	int (*run)(struct ctl_app *app, int argc, char **argv);  /* NULL: not implemented */
	unsigned needs;        /* enum ctl_need bits */
	int min_args, max_args;  /* positional arguments after the options */
	const char *args;      /* their names, for "missing ..." */
	const char *synopsis;  /* after "chotctl NAME ", may hold "\n" */
	const char *summary;   /* one line */
	const char *help;      /* more, for NAME --help, or NULL */
};

/* Run argv[0] (argc >= 1: the command and its arguments).  Exit code. */
int ctl_dispatch(struct ctl_app *app, int argc, char **argv);
/* The global usage with every command of the table. */
void ctl_usage(FILE *f);

/* ---- args.c: one-line usage errors that name the argument (exit 2) ---- */

/* 0, or CTL_USAGE after "chotctl: NAME: 'S' is not ...". */
int ctl_arg_u64(struct ctl_app *app, const char *name, const char *s, uint64_t min,
		uint64_t max, uint64_t *out);
int ctl_arg_time(struct ctl_app *app, const char *name, const char *s, uint64_t *ms);
int ctl_arg_duration(struct ctl_app *app, const char *name, const char *s, uint64_t max_ms,
		     uint64_t *ms);
/* getopt_long returned c ('?' unknown option, ':' missing value). */
int ctl_opt_error(struct ctl_app *app, int c, char **argv);
/* After the options: the positional count against app->cmd.  0 or CTL_USAGE. */
int ctl_args_end(struct ctl_app *app, int argc, char **argv);
/* For a command without options: refuse any, then ctl_args_end. */
int ctl_no_options(struct ctl_app *app, int argc, char **argv);

#endif /* CHOT_CTL_COMMANDS_H */
