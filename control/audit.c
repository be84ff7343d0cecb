/*
 * Audit and reveal.  Every lookup appends (operator, command, subject pid,
 * time, detail) to the chot:audit stream BEFORE anything is printed; when
 * the append fails the lookup fails.  Raw identifiers come only from the
 * vault (v:{pid}), opened with the keys file's vault key, and each reveal is
 * itself audited first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "layout.h"
#include "vault.h"

int
ctl_audit(struct ctl_app *app, const char *cmd, const uint8_t *pid, const char *detail)
{
	char hex[PID_HEX_LEN + 1] = "-", ts[24];
	const char *argv[13];
	size_t argl[13];
	struct ctl_reply rep;
	int argc = 0, rc;

	if (pid != NULL)
		chot_pid_hex(hex, pid);
	snprintf(ts, sizeof(ts), "%llu", (unsigned long long)time(NULL) * 1000ULL);
#define A(s) do { argv[argc] = (s); argl[argc] = strlen(s); argc++; } while (0)
	A("XADD"); A(LAYOUT_AUDIT_STREAM); A("*");
	A("operator"); A(app->operator_name);
	A("cmd"); A(cmd);
	A("pid"); A(hex);
	A("ts_ms"); A(ts);
	A("detail"); A(detail != NULL ? detail : "");
#undef A
	rc = ctl_redis_cmd(app->redis, argc, argv, argl, &rep, app->err, sizeof(app->err));
	if (rc != 0)
		return ctl_fail(app, CTL_UNAVAILABLE, "audit: %s; lookup refused", app->err);
	if (rep.is_error) {
		ctl_fail(app, CTL_UNAVAILABLE, "audit record could not be written (%s); "
			 "lookup refused", rep.err);
		ctl_reply_free(&rep);
		return CTL_UNAVAILABLE;
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
