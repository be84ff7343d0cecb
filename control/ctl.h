/*
 * chotctl: everything a command handler uses, in one include.  The pieces
 * live in their own headers so the pure files need not include the world:
 *
 *   app.h      struct ctl_app, exit codes, ctl_fail/ctl_connect/ctl_need_keys
 *   parse.h    the strict argument parsers (pure)
 *   sites.h    the site registry row and CSV parser (pure)
 *   format.h   output helpers and the trace formats (pure)
 *   redis.h    the Redis client (the only one that knows hiredis)
 *   lists_write.h  the audited list changes (DESIGN §9)
 *
 * This file adds what touches Redis: audit, reveal, the Redis trace source,
 * the subject argument and the command handlers.
 */
#ifndef CHOT_CTL_H
#define CHOT_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "format.h"
#include "keys.h"
#include "parse.h"
#include "redis.h"
#include "rules.h"
#include "sites.h"
#include "trace.h"
#include "validate.h"

/* The site registry from Redis into app->sites (source_redis.c). */
int ctl_sites_load(struct ctl_app *app);

/* Audit (audit.c): must succeed before anything is printed. */
int ctl_audit(struct ctl_app *app, const char *cmd, const uint8_t *pid, const char *detail);
/* n records (cmd, pids[i], details[i] or "") in one round trip; 0 only when
 * every one was written.  details may be NULL. */
int ctl_audit_many(struct ctl_app *app, const char *cmd, const uint8_t (*pids)[PID_LEN],
		   size_t n, const char *const *details);

/*
 * Vault (audit.c): raw id of each pid, or "" when absent, "?" when it does
 * not open.  Every reveal is audited first; two round trips in all.  The
 * vault is the unit in the subject's week keys (proto/layout.h): the week
 * keys over [from_ms, to_ms] are read (at most CTL_REVEAL_WEEKS_MAX, newest
 * first), so the window must hold a scan of each pid (a trace's: its
 * contacts were seen in it).  ctl_reveal_now: the weeks a key can still be
 * alive in, from now back CTL_REVEAL_BACK_MS (redis.retention_days's
 * default, 21 days, and the week a key outlives it by).
 */
#define CTL_REVEAL_WEEKS_MAX 8
#define CTL_REVEAL_BACK_MS   ((21 + 7) * 86400000ULL)
int ctl_reveal(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from_ms,
	       uint64_t to_ms, char (*ids)[WIRE_SUBJECT_MAX_NUL]);
int ctl_reveal_now(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n,
		   char (*ids)[WIRE_SUBJECT_MAX_NUL]);
/* The same, the sealed values read from the fields (pid hex) of one hash:
 * the registered plates (chot:{lists}:plates).  Two round trips per 512 pids too. */
int ctl_reveal_hash(struct ctl_app *app, const char *hash, const uint8_t (*pids)[PID_LEN],
		    size_t n, char (*ids)[WIRE_SUBJECT_MAX_NUL]);

/* Source over Redis (source_redis.c). */
void ctl_source_redis(struct ctl_app *app, struct tr_source *src);

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
int cmd_flag(struct ctl_app *app, int argc, char **argv);
int cmd_watchlist(struct ctl_app *app, int argc, char **argv);
int cmd_zone_set(struct ctl_app *app, int argc, char **argv);
int cmd_zone_import(struct ctl_app *app, int argc, char **argv);
int cmd_zone_list(struct ctl_app *app, int argc, char **argv);
int cmd_vehicle_register(struct ctl_app *app, int argc, char **argv);
int cmd_vehicle_revoke(struct ctl_app *app, int argc, char **argv);
int cmd_vehicle_list(struct ctl_app *app, int argc, char **argv);
int cmd_alerts(struct ctl_app *app, int argc, char **argv);
int cmd_serve(struct ctl_app *app, int argc, char **argv);

#endif /* CHOT_CTL_H */
