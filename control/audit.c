/*
 * Audit and reveal.  Every lookup appends (command, subject pid, detail) to
 * the chot:audit stream BEFORE anything is printed; when the append fails
 * the lookup fails.  The append is `CHOT.AUDIT cmd pid detail`, the command
 * of the chot_audit Redis module (redismod/chot_audit.c): the server, not
 * chotctl, sets the record's ID, time and "who" (the ACL user this
 * connection authenticated as, --user), and operators hold no other write
 * on the trail (docs/OPERATIONS.md, "The audit trail").  Raw identifiers
 * come only from the vault (v:{pid}), opened with the keys file's vault key,
 * and each reveal is itself audited first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * Every pid's reveal record first (one pipelined round trip per chunk), then
 * every vault GET (another): two round trips per chunk instead of two per
 * row, and no vault value is read before its record is written.
 */
int
ctl_reveal(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n,
	   char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	char (*key)[LAYOUT_KEY_MAX] = calloc(AUDIT_CHUNK, sizeof(*key));
	const char *(*argv)[2] = calloc(AUDIT_CHUNK, sizeof(*argv));
	size_t (*argl)[2] = calloc(AUDIT_CHUNK, sizeof(*argl));
	const char *const **av = calloc(AUDIT_CHUNK, sizeof(*av));
	const size_t **al = calloc(AUDIT_CHUNK, sizeof(*al));
	int *ac = calloc(AUDIT_CHUNK, sizeof(*ac));
	struct ctl_reply *rep = calloc(AUDIT_CHUNK, sizeof(*rep));
	int rc = 0;

	if (key == NULL || argv == NULL || argl == NULL || av == NULL || al == NULL || ac == NULL ||
	    rep == NULL) {
		rc = ctl_fail(app, CTL_UNAVAILABLE, "reveal: out of memory");
		goto out;
	}
	for (size_t base = 0; base < n && rc == 0; base += AUDIT_CHUNK) {
		size_t m = n - base < AUDIT_CHUNK ? n - base : AUDIT_CHUNK;

		rc = ctl_audit_many(app, "reveal", pids + base, m, NULL);
		if (rc != 0)
			break;
		for (size_t i = 0; i < m; i++) {
			ids[base + i][0] = '\0';
			argv[i][0] = "GET";
			argl[i][0] = 3;
			argl[i][1] = layout_vault_key(key[i], pids[base + i]);
			argv[i][1] = key[i];
			av[i] = argv[i];
			al[i] = argl[i];
			ac[i] = 2;
		}
		if (ctl_redis_pipe(app->redis, m, ac, av, al, rep, app->err, sizeof(app->err)) != 0) {
			rc = ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
			break;
		}
		for (size_t i = 0; i < m; i++) {
			uint8_t scheme;

			if (!rep[i].is_error && rep[i].n == 1 &&
			    vault_open((const uint8_t *)rep[i].v[0].p, rep[i].v[0].len,
				       app->keys.vault, pids[base + i], &scheme, ids[base + i]) < 0)
				snprintf(ids[base + i], WIRE_SUBJECT_MAX_NUL, "?");
			ctl_reply_free(&rep[i]);
		}
	}
out:
	free(key);
	free(argv);
	free(argl);
	free(av);
	free(al);
	free(ac);
	free(rep);
	return rc;
}
