/*
 * Audit and reveal.  Every lookup appends (command, subject pid, detail) to
 * the chot:audit stream BEFORE anything is printed; when the append fails
 * the lookup fails.  The append is `CHOT.AUDIT cmd pid detail`, the command
 * of the chot_audit Redis module (redismod/chot_audit.c): the server, not
 * chotctl, sets the record's ID, time and "who" (the ACL user this
 * connection authenticated as, --user), and operators hold no other write
 * on the trail (docs/OPERATIONS.md, "The audit trail").  Raw identifiers
 * come only from sealed values opened with the keys file's vault key: the
 * vault unit in the subject's week keys (s:{pid}:w<week>, proto/layout.h),
 * or for a registered green-lane plate chot:{lists}:plates; each reveal is
 * itself audited first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl.h"
#include "layout.h"
#include "vault.h"

/* A refused append, explained: the two set-up mistakes get their fix. */
static int
audit_refused(struct ctl_app *app, const char *err)
{
	if (strstr(err, "unknown command") != NULL)
		return ctl_fail(app, CTL_UNAVAILABLE, "audit record could not be written: this "
				"Redis has no CHOT.AUDIT (load the chot_audit module: loadmodule "
				"/usr/lib/chot/chot_audit.so in redis.conf, see docs/OPERATIONS.md); "
				"lookup refused");
	if (strncmp(err, "NOPERM", 6) == 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "audit record could not be written: Redis "
				"user '%s' may not run CHOT.AUDIT (make operators with "
				"tools/chot-operator-add.sh); lookup refused",
				app->password_file != NULL ? app->user : "default");
	return ctl_fail(app, CTL_UNAVAILABLE, "audit record could not be written (%s); "
			"lookup refused", err);
}

/* Records and reads go in chunks: one round trip each, bounded memory. */
#define AUDIT_CHUNK 512

int
ctl_audit_many(struct ctl_app *app, const char *cmd, const uint8_t (*pids)[PID_LEN], size_t n,
	       const char *const *details)
{
	char (*hex)[PID_HEX_LEN + 1] = calloc(AUDIT_CHUNK, sizeof(*hex));
	const char *(*argv)[4] = calloc(AUDIT_CHUNK, sizeof(*argv));
	size_t (*argl)[4] = calloc(AUDIT_CHUNK, sizeof(*argl));
	const char *const **av = calloc(AUDIT_CHUNK, sizeof(*av));
	const size_t **al = calloc(AUDIT_CHUNK, sizeof(*al));
	int *ac = calloc(AUDIT_CHUNK, sizeof(*ac));
	struct ctl_reply *rep = calloc(AUDIT_CHUNK, sizeof(*rep));
	int rc = 0;

	if (hex == NULL || argv == NULL || argl == NULL || av == NULL || al == NULL || ac == NULL ||
	    rep == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "audit: out of memory; lookup refused");
		goto out;
	}
	for (size_t base = 0; base < n && rc == 0; base += AUDIT_CHUNK) {
		size_t m = n - base < AUDIT_CHUNK ? n - base : AUDIT_CHUNK;

		for (size_t i = 0; i < m; i++) {
			const char *d = details != NULL && details[base + i] != NULL ?
					details[base + i] : "";

			if (pids != NULL)
				chot_pid_hex(hex[i], pids[base + i]);
			else
				strcpy(hex[i], "-");
			argv[i][0] = "CHOT.AUDIT";
			argv[i][1] = cmd;
			argv[i][2] = hex[i];
			argv[i][3] = d;
			for (int k = 0; k < 4; k++)
				argl[i][k] = strlen(argv[i][k]);
			av[i] = argv[i];
			al[i] = argl[i];
			ac[i] = 4;
		}
		if (ctl_redis_pipe(app->redis, m, ac, av, al, rep, app->err, sizeof(app->err)) != 0) {
			rc = ctl_fail(app, CTL_UNAVAILABLE, "audit: %s; lookup refused", app->err);
			break;
		}
		for (size_t i = 0; i < m; i++) {
			if (rep[i].is_error && rc == 0)
				rc = audit_refused(app, rep[i].err);
			ctl_reply_free(&rep[i]);
		}
	}
out:
	free(hex);
	free(argv);
	free(argl);
	free(av);
	free(al);
	free(ac);
	free(rep);
	return rc;
}

int
ctl_audit(struct ctl_app *app, const char *cmd, const uint8_t *pid, const char *detail)
{
	return ctl_audit_many(app, cmd, pid != NULL ? (const uint8_t (*)[PID_LEN])pid : NULL, 1,
			      &detail);
}

/* ids[i] from a sealed value: "" when absent, "?" when it does not open. */
static void
open_sealed(const struct ctl_app *app, const uint8_t pid[PID_LEN], const char *p, size_t len,
	    char id[WIRE_SUBJECT_MAX_NUL])
{
	uint8_t scheme;

	id[0] = '\0';
	if (len > 0 && vault_open((const uint8_t *)p, len, app->keys.vault, pid, &scheme, id) < 0)
		snprintf(id, WIRE_SUBJECT_MAX_NUL, "?");
}

/*
 * pid's id from the GETs of its week keys, newest first (rep[0..nw)): the
 * first vault unit that opens; "" when no key holds one, "?" when none of
 * those held opens (or a key is corrupt).  *tmp (capacity *cap) is scratch.
 */
static int
open_weeks(const struct ctl_app *app, const uint8_t pid[PID_LEN], const struct ctl_reply *rep,
	   size_t nw, uint8_t **tmp, size_t *cap, char id[WIRE_SUBJECT_MAX_NUL])
{
	uint8_t sealed[LAYOUT_VAULT_MAX], scheme;
	bool seen = false;

	id[0] = '\0';
	for (size_t w = 0; w < nw; w++) {
		size_t len, sl = 0;

		if (rep[w].is_error || rep[w].n != 1 || rep[w].v[0].len == 0)
			continue;
		len = rep[w].v[0].len;
		if (len > *cap) {
			uint8_t *nt = realloc(*tmp, len);

			if (nt == NULL)
				return -ENOMEM;
			*tmp = nt;
			*cap = len;
		}
		memcpy(*tmp, rep[w].v[0].p, len);
		if (layout_subject_split(*tmp, len, sealed, &sl) < 0) {
			seen = true;    /* corrupt: another week may still open */
			continue;
		}
		if (sl == 0)
			continue;
		seen = true;
		if (vault_open(sealed, sl, app->keys.vault, pid, &scheme, id) >= 0)
			return 0;
	}
	if (seen)
		snprintf(id, WIRE_SUBJECT_MAX_NUL, "?");
	else
		id[0] = '\0';
	return 0;
}

/*
 * Every pid's reveal record first (one pipelined round trip per chunk), then
 * the sealed values (another: a pipeline of GETs of the pids' week keys
 * over [from_ms, to_ms], or one HMGET of hash): two round trips per chunk
 * instead of two per row, and no sealed value is read before its record is
 * written.
 */
static int
reveal(struct ctl_app *app, const char *hash, const uint8_t (*pids)[PID_LEN], size_t n,
       uint64_t from_ms, uint64_t to_ms, char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	uint32_t w1 = layout_week(to_ms), w0 = layout_week(from_ms < to_ms ? from_ms : to_ms);
	size_t nw = w1 - w0 + 1 < CTL_REVEAL_WEEKS_MAX ? w1 - w0 + 1 : CTL_REVEAL_WEEKS_MAX;
	size_t slots = AUDIT_CHUNK * nw;
	char (*key)[LAYOUT_KEY_MAX] = calloc(slots, sizeof(*key));
	const char *(*argv)[2] = calloc(slots, sizeof(*argv));
	size_t (*argl)[2] = calloc(slots, sizeof(*argl));
	const char **hargv = calloc(AUDIT_CHUNK + 2, sizeof(*hargv));
	size_t *hargl = calloc(AUDIT_CHUNK + 2, sizeof(*hargl));
	const char *const **av = calloc(slots, sizeof(*av));
	const size_t **al = calloc(slots, sizeof(*al));
	int *ac = calloc(slots, sizeof(*ac));
	struct ctl_reply *rep = calloc(slots, sizeof(*rep));
	uint8_t *tmp = NULL;
	size_t tmpcap = 0;
	int rc = 0;

	if (key == NULL || argv == NULL || argl == NULL || hargv == NULL || hargl == NULL ||
	    av == NULL || al == NULL || ac == NULL || rep == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "reveal: out of memory");
		goto out;
	}
	for (size_t base = 0; base < n && rc == 0; base += AUDIT_CHUNK) {
		size_t m = n - base < AUDIT_CHUNK ? n - base : AUDIT_CHUNK;

		rc = ctl_audit_many(app, "reveal", pids + base, m, NULL);
		if (rc != 0)
			break;
		if (hash != NULL) {
			/* HMGET hash hex...: key[] holds the hex fields. */
			hargv[0] = "HMGET", hargl[0] = 5;
			hargv[1] = hash, hargl[1] = strlen(hash);
			for (size_t i = 0; i < m; i++) {
				chot_pid_hex(key[i], pids[base + i]);
				hargv[2 + i] = key[i], hargl[2 + i] = PID_HEX_LEN;
			}
			if (ctl_redis_cmd(app->redis, (int)m + 2, hargv, hargl, &rep[0], app->err,
					  sizeof(app->err)) != 0) {
				rc = ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
				break;
			}
			if (rep[0].is_error || rep[0].n != m)
				rc = ctl_fail(app, CTL_UNAVAILABLE, "reveal from %s: %s", hash,
					      rep[0].is_error ? rep[0].err : "unexpected HMGET reply");
			for (size_t i = 0; i < m; i++)
				open_sealed(app, pids[base + i], rc == 0 ? rep[0].v[i].p : NULL,
					    rc == 0 ? rep[0].v[i].len : 0, ids[base + i]);
			ctl_reply_free(&rep[0]);
			continue;
		}
		/* GET s:{pid}:w<week> for each pid, newest week first (layout.h's vault unit) */
		for (size_t i = 0; i < m * nw; i++) {
			argv[i][0] = "GET";
			argl[i][0] = 3;
			argl[i][1] = layout_subject_key(key[i], pids[base + i / nw],
							w1 - (uint32_t)(i % nw));
			argv[i][1] = key[i];
			av[i] = argv[i];
			al[i] = argl[i];
			ac[i] = 2;
		}
		if (ctl_redis_pipe(app->redis, m * nw, ac, av, al, rep, app->err,
				   sizeof(app->err)) != 0) {
			rc = ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
			break;
		}
		for (size_t i = 0; i < m; i++)
			if (rc == 0 && open_weeks(app, pids[base + i], rep + i * nw, nw, &tmp,
						  &tmpcap, ids[base + i]) != 0)
				rc = ctl_fail(app, CTL_UNAVAILABLE, "reveal: out of memory");
		for (size_t i = 0; i < m * nw; i++)
			ctl_reply_free(&rep[i]);
	}
out:
	free(tmp);
	free(key);
	free(argv);
	free(argl);
	free(hargv);
	free(hargl);
	free(av);
	free(al);
	free(ac);
	free(rep);
	return rc;
}

int
ctl_reveal(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from_ms,
	   uint64_t to_ms, char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	return reveal(app, NULL, pids, n, from_ms, to_ms, ids);
}

int
ctl_reveal_now(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n,
	       char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	uint64_t now = chot_real_ms();

	return reveal(app, NULL, pids, n, now - CTL_REVEAL_BACK_MS, now + LAYOUT_DAY_MS, ids);
}

int
ctl_reveal_hash(struct ctl_app *app, const char *hash, const uint8_t (*pids)[PID_LEN], size_t n,
		char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	return reveal(app, hash, pids, n, 0, 0, ids);
}
