/*
 * chotctl: shared state of one invocation (redis-cli's shape: one options
 * struct; parse -> connect -> dispatch -> format).
 */
#ifndef CHOT_CTL_H
#define CHOT_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "keys.h"
#include "redis.h"
#include "rules.h"
#include "trace.h"
#include "validate.h"

/* Exit codes (DESIGN §5). */
enum { CTL_FOUND = 0, CTL_NOT_FOUND = 1, CTL_USAGE = 2, CTL_UNAVAILABLE = 3 };

enum ctl_output { OUT_TABLE, OUT_JSON, OUT_CSV };
enum ctl_lang { LANG_EN, LANG_VI };

struct ctl_site {
	uint32_t id;
	enum site_kind kind;
	char name[128];
	uint32_t commune;
};

struct ctl_command;

struct ctl_app {
	const char *url, *keys_path, *user, *password_file;
	enum ctl_output out;
	enum ctl_lang lang;
	bool keys_given;          /* --keys: reveal identities from the vault */
	struct chot_keys keys;
	bool keys_loaded;
	struct ctl_redis_opts ropts;  /* --replicas, --timeout */
	struct ctl_redis *redis;
	struct ctl_site *sites;   /* sorted by id */
	size_t n_sites;
	FILE *o;                  /* stdout, or a memory stream in tests */
	const struct ctl_command *cmd;  /* the row being run (commands.h) */
	char err[512];
};

/* main.c helpers */
int ctl_connect(struct ctl_app *app);
int ctl_need_keys(struct ctl_app *app, bool pseudonym_only);
int ctl_fail(struct ctl_app *app, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parsing (parse.c), strict and pure: the whole string or nothing; 0, -EINVAL
 * (not of the form) or -ERANGE (out of range); *out is left alone on error.
 * A whole number: decimal digits only (no sign, blank, hex or exponent) in
 * [min, max].  TIME: unix ms or ISO 8601 (a real calendar date, offset
 * within +-14:00), in [1970, CTL_TIME_MAX_MS].  DURATION: "15m", "1.5h",
 * "90s", "250ms", "1d", bare ms; whole milliseconds, no overflow. */
#define CTL_TIME_MAX_MS 253402300799999ULL  /* 9999-12-31T23:59:59.999Z */
int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ctl_parse_time(const char *s, uint64_t *ms);
int ctl_parse_duration(const char *s, uint64_t *ms);
/* SUBJECT + scheme -> pid, using the pseudonym key. 0 or -reason (chot_reason). */
int ctl_subject_pid(const struct chot_keys *k, const char *scheme_name, const char *subject,
		    uint8_t pid[PID_LEN], uint8_t *scheme);

/* Site registry (sites.c) */
int ctl_sites_load(struct ctl_app *app);
void ctl_sites_sort(struct ctl_site *v, size_t n);
const struct ctl_site *ctl_site_find(const struct ctl_app *app, uint32_t id);
/* Parse a whole sites CSV (sites.c's essay has the rules); on error nothing
 * is returned and err reads "line N: reason". */
#define CTL_SITES_LINE_MAX 1023
int ctl_sites_parse_csv(FILE *f, struct ctl_site **out, size_t *n, char *err, size_t errlen);
/* 0 when a site name may be printed raw, else -EINVAL and why. */
int ctl_site_name_check(const char *name, char *why, size_t whylen);
/* Replace each byte ctl_site_name_check refuses with '?'. */
void ctl_site_name_clean(char *name);

/* Audit (audit.c): must succeed before anything is printed. */
int ctl_audit(struct ctl_app *app, const char *cmd, const uint8_t *pid, const char *detail);

/* Vault (reveal.c): raw id of a pid, or "" when absent. */
int ctl_reveal(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n,
	       char (*ids)[WIRE_SUBJECT_MAX_NUL]);

/* Source over Redis (source_redis.c). */
void ctl_source_redis(struct ctl_app *app, struct tr_source *src);

/* Output (format.c): the trace in the three forms. ids may be NULL. */
struct ctl_trace_view {
	const uint8_t *pid;
	const char *id;                  /* F0's raw id, or NULL */
	uint64_t from_ms, to_ms;
	const struct tr_result *r;
	char (*ids)[WIRE_SUBJECT_MAX_NUL];  /* per contact, or NULL */
	size_t limit;                    /* rows to show */
	double elapsed_ms;
	uint64_t redis_calls;
};
void ctl_format_trace(struct ctl_app *app, const struct ctl_trace_view *v);
void ctl_format_time(char *out, size_t len, uint64_t ms);  /* local time */
void ctl_pad(FILE *f, const char *s, int width);  /* pad by columns, not bytes */
const char *ctl_tr(const struct ctl_app *app, const char *en);  /* --lang vi */
void ctl_json_str(FILE *f, const char *s);
void ctl_csv_str(FILE *f, const char *s);

/* SUBJECT (with --scheme) or --pid -> pid; a one-line usage error otherwise. */
int ctl_subject_arg(struct ctl_app *app, const char *subject, const char *scheme,
		    const char *pidhex, uint8_t pid[PID_LEN]);

/* Commands: the handlers of the command table (commands.h). */
int cmd_trace(struct ctl_app *app, int argc, char **argv);
int cmd_visits(struct ctl_app *app, int argc, char **argv);
int cmd_site(struct ctl_app *app, int argc, char **argv);
int cmd_stats(struct ctl_app *app, int argc, char **argv);
int cmd_sites_import(struct ctl_app *app, int argc, char **argv);
int cmd_sites_list(struct ctl_app *app, int argc, char **argv);
int cmd_keys_init(struct ctl_app *app, int argc, char **argv);

#endif /* CHOT_CTL_H */
