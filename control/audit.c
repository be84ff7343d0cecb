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

int
ctl_audit(struct ctl_app *app, const char *cmd, const uint8_t *pid, const char *detail)
{
	char hex[PID_HEX_LEN + 1] = "-";
	const char *argv[4] = { "CHOT.AUDIT", cmd, hex, detail != NULL ? detail : "" };
	size_t argl[4];
	struct ctl_reply rep;
	int rc;

	if (pid != NULL)
		chot_pid_hex(hex, pid);
	for (int i = 0; i < 4; i++)
		argl[i] = strlen(argv[i]);
	rc = ctl_redis_cmd(app->redis, 4, argv, argl, &rep, app->err, sizeof(app->err));
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "audit: %s; lookup refused", app->err);
	if (rep.is_error) {
		rc = audit_refused(app, rep.err);
		ctl_reply_free(&rep);
		return rc;
	}
	ctl_reply_free(&rep);
	return 0;
}

int
ctl_reveal(struct ctl_app *app, const uint8_t (*pids)[PID_LEN], size_t n,
	   char (*ids)[WIRE_SUBJECT_MAX_NUL])
{
	for (size_t i = 0; i < n; i++) {
		char key[LAYOUT_KEY_MAX];
		const char *argv[2] = { "GET", key };
		size_t argl[2] = { 3, 0 };
		struct ctl_reply rep;
		uint8_t scheme;
		int rc;

		ids[i][0] = '\0';
		argl[1] = layout_vault_key(key, pids[i]);
		rc = ctl_audit(app, "reveal", pids[i], NULL);
		if (rc != 0)
			return rc;
		rc = ctl_redis_cmd(app->redis, 2, argv, argl, &rep, app->err, sizeof(app->err));
		if (rc != 0)
			return ctl_fail(app, CTL_UNAVAILABLE, "%s", app->err);
		if (!rep.is_error && rep.n == 1 &&
		    vault_open((const uint8_t *)rep.v[0].p, rep.v[0].len, app->keys.vault, pids[i],
			       &scheme, ids[i]) < 0)
			snprintf(ids[i], WIRE_SUBJECT_MAX_NUL, "?");
		ctl_reply_free(&rep);
	}
	return 0;
}
