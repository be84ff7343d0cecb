/*
 * chotctl's changes to the checkpoint lists (DESIGN §9): the one place that
 * writes chot:{lists}:watch, :zones, :greenlane and :plates (proto/lists.h),
 * for every surface of chotctl: the commands, `trace --flag` and the web page.
 *
 * Every change is
 *   1. audited: its CHOT.AUDIT record(s) are written first, and a refused
 *      record refuses the change;
 *   2. applied in one MULTI ... EXEC: the HSET/HDEL(s) and an INCR of
 *      chot:{lists}:version, so chotd (which polls the version) never sees a
 *      change without its bump, nor a bump without its change.
 *
 * Each function connects if needed (ctl_connect) and returns 0 or a CTL_*
 * exit code; on error the one-line reason is in app->err (and on stderr).
 */
#ifndef CHOT_CTL_LISTS_WRITE_H
#define CHOT_CTL_LISTS_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "lists.h"
#include "pseudonym.h"
#include "wire.h"
#include "zones.h"

/*
 * Put pid on the watchlist as status until until_ms (0: now + the default of
 * lists_watch_default_ms), with an optional note (at most LISTS_NOTE_MAX
 * bytes of UTF-8, checked by the caller); status WATCH_NONE clears it (HDEL).
 * This is the operator's explicit word, so it may lower a status.
 * *existed (may be NULL): the pid had an entry before.
 */
int ctl_flag(struct ctl_app *app, const uint8_t pid[PID_LEN], enum watch_status status,
	     uint64_t until_ms, const char *note, bool *existed);

/* Raise each pid to at least its status (trace --flag): never lowers an
 * active higher status; an expired entry is replaced.  One audit record per
 * pid changed (cmd "flag", detail "status=S until=T by=WHY"), then one
 * MULTI under WATCH (retried when the watchlist changed meanwhile). */
struct ctl_raise {
	uint8_t pid[PID_LEN];
	enum watch_status status;
};
struct ctl_raise_result {
	size_t added, raised, kept;   /* new entries, higher statuses, left alone */
};
int ctl_flag_raise(struct ctl_app *app, const struct ctl_raise *v, size_t n, uint64_t now_ms,
		   const char *why, struct ctl_raise_result *res);

/* One commune's level (ZONE_GREEN..ZONE_RED). */
int ctl_zone_set(struct ctl_app *app, uint32_t commune, enum zone_level level);
/* Many at once (zone import), all or nothing; source names them in the audit. */
int ctl_zone_import(struct ctl_app *app, const struct ctl_zone *v, size_t n, const char *source);

/* Register a green-lane vehicle: pid = pseudonym of (GREEN_LANE, the
 * normalised plate); the plate itself is sealed with the vault key (as the
 * vault seals) into chot:{lists}:plates, in the same MULTI as the greenlane
 * entry; never in clear.  Needs app->keys loaded (pseudonym and vault keys).
 * CTL_USAGE when the plate does not normalise.  pid (may be NULL) gets it. */
int ctl_vehicle_register(struct ctl_app *app, const char *plate, const struct greenlane_entry *e,
			 uint8_t pid[PID_LEN]);
/* Remove it and its sealed plate (HDEL both, one MULTI); *existed (may be
 * NULL): it was registered. */
int ctl_vehicle_revoke(struct ctl_app *app, const char *plate, bool *existed);

/* The pid of a plate as the green lane keys it: 0 or CTL_USAGE. */
int ctl_vehicle_pid(struct ctl_app *app, const char *plate, uint8_t pid[PID_LEN],
		    char norm[33]);

/*
 * Read one list hash whole (HGETALL) for a listing: each (field, value) is
 * decoded by decode into the next row of an array of row_size-byte rows
 * (calloc'd into *rows, *n of them; the caller frees it).  An entry that
 * does not decode is skipped and counted in one line on stderr naming what.
 * 0, or an exit code with the message in app->err.
 */
typedef int (*ctl_list_decode_fn)(const struct ctl_str *field, const struct ctl_str *value,
				  void *row);
int ctl_list_read(struct ctl_app *app, const char *hash, const char *what, size_t row_size,
		  ctl_list_decode_fn decode, void **rows, size_t *n);

/*
 * The identities of n rows of row_size bytes, each beginning with its pid,
 * revealed (and audited) from the vault, or from a sealed hash of the
 * lists when hash is not NULL (the plates).  Only with --keys and a vault
 * key; otherwise *ids stays NULL.  0, or an exit code; the caller frees *ids.
 */
int ctl_list_reveal(struct ctl_app *app, const char *hash, const void *rows, size_t row_size,
		    size_t n, char (**ids)[WIRE_SUBJECT_MAX_NUL]);

#endif /* CHOT_CTL_LISTS_WRITE_H */
