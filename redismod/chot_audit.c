/*
 * chot_audit: a Redis module, the only way an operator writes the audit
 * trail (DESIGN §4, §5; docs/OPERATIONS.md "The audit trail").
 *
 *   CHOT.AUDIT <cmd> <pid> <detail>   ->  the new record's stream ID
 *
 * appends one record to chot:audit:
 *
 *   operator  the ACL user of the calling connection (who)
 *   cmd       what: trace, visits, site, reveal (checked, audit_args.h)
 *   pid       the subject's pid in hex, or "-"
 *   ts_ms     the server's clock (when); the stream ID carries it too
 *   detail    the lookup's parameters
 *
 * Why a module: in Redis 7.0 a script or a Function runs every redis.call()
 * with the *caller's* ACL, so an operator allowed to FCALL an XADD-ing
 * function must hold XADD on the key and can then XADD MAXLEN 0 or an
 * explicit last ID directly.  A module command's RedisModule_Call() without
 * the "C" flag is not ACL-checked: operators hold +chot.audit and no write
 * command at all, and this file decides every argument of the XADD: the
 * key, the ID ("*", server-assigned), no MAXLEN unless the administrator set
 * one at load time, and "who", which no argument can name.
 *
 * The XADD is propagated ("!") to the AOF and replicas with the ID it got,
 * so a restart or a replica replays the stream, not this command: the trail
 * survives even a server started without the module.
 *
 * Load: `loadmodule /usr/lib/chot/chot_audit.so [maxlen N]` in redis.conf.
 * maxlen N (default 0: never trim) makes each append trim the stream to
 * about N records (XADD MAXLEN ~ N); the number comes only from here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <redismodule.h>

#include "audit_args.h"
#include "chot_append.h"
#include "layout.h"

static long long audit_maxlen;  /* 0: never trim; set once, at load */

static int
audit_cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	RedisModuleCallReply *rep;
	RedisModuleString *who;
	const char *cmd, *pid, *detail, *why;
	size_t cl, pl, dl;
	long long now;

	if (argc != 4)
		return RedisModule_WrongArity(ctx);
	RedisModule_AutoMemory(ctx);
	cmd = RedisModule_StringPtrLen(argv[1], &cl);
	pid = RedisModule_StringPtrLen(argv[2], &pl);
	detail = RedisModule_StringPtrLen(argv[3], &dl);
	why = audit_args_check(cmd, cl, pid, pl, detail, dl);
	if (why != NULL)
		return RedisModule_ReplyWithError(ctx, why);
	/* NULL for a connection without a user (the AOF loader, a master link):
	 * there is nobody to name, so nothing is written. */
	who = RedisModule_GetClientUserNameById(ctx, RedisModule_GetClientId(ctx));
	if (who == NULL)
		return RedisModule_ReplyWithError(ctx, "ERR chot.audit: the connection has no user");
	now = RedisModule_Milliseconds();
	if (audit_maxlen > 0)
		rep = RedisModule_Call(ctx, "XADD", "!ccclccscscsclcs", LAYOUT_AUDIT_STREAM,
				       "MAXLEN", "~", audit_maxlen, "*", "operator", who,
				       "cmd", argv[1], "pid", argv[2], "ts_ms", now,
				       "detail", argv[3]);
	else
		rep = RedisModule_Call(ctx, "XADD", "!cccscscsclcs", LAYOUT_AUDIT_STREAM, "*",
				       "operator", who, "cmd", argv[1], "pid", argv[2],
				       "ts_ms", now, "detail", argv[3]);
	if (rep == NULL) {
		char msg[96];

		snprintf(msg, sizeof(msg), "ERR chot.audit: XADD could not run (%s)",
			 strerror(errno));
		return RedisModule_ReplyWithError(ctx, msg);
	}
	/* The ID, or XADD's own error (wrong type, OOM, an exhausted ID space
	 * left by an administrator) for the caller to report. */
	return RedisModule_ReplyWithCallReply(ctx, rep);
}

/* Module arguments: nothing, or "maxlen N" with N >= 0. */
static int
audit_parse_args(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	if (argc == 0)
		return REDISMODULE_OK;
	if (argc == 2 && strcasecmp(RedisModule_StringPtrLen(argv[0], NULL), "maxlen") == 0 &&
	    RedisModule_StringToLongLong(argv[1], &audit_maxlen) == REDISMODULE_OK &&
	    audit_maxlen >= 0)
		return REDISMODULE_OK;
	RedisModule_Log(ctx, "warning", "chot_audit: arguments are 'maxlen N' (N >= 0) or none");
	return REDISMODULE_ERR;
}

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);

int
RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	if (RedisModule_Init(ctx, "chot_audit", 1, REDISMODULE_APIVER_1) == REDISMODULE_ERR)
		return REDISMODULE_ERR;
	if (RedisModule_GetClientUserNameById == NULL) {
		RedisModule_Log(ctx, "warning", "chot_audit: needs Redis >= 7.0");
		return REDISMODULE_ERR;
	}
	if (audit_parse_args(ctx, argv, argc) != REDISMODULE_OK)
		return REDISMODULE_ERR;
	/* write: refused on a read-only replica; deny-oom: at maxmemory the
	 * record is refused, so is the lookup; deny-script: only a client's own
	 * connection names the user.  No keys are declared: the key is fixed
	 * here, and an operator needs no key permission on it. */
	if (RedisModule_CreateCommand(ctx, "chot.audit", audit_cmd, "write deny-oom deny-script",
				      0, 0, 0) == REDISMODULE_ERR)
		return REDISMODULE_ERR;
	/* chotd's writes (chot_append.c): in this module so that the one
	 * loadmodule line of every redis.conf brings it. */
	if (chot_append_register(ctx) != REDISMODULE_OK)
		return REDISMODULE_ERR;
	if (audit_maxlen > 0)
		RedisModule_Log(ctx, "notice", "chot_audit: CHOT.AUDIT appends to %s, trimmed to "
				"about %lld records", LAYOUT_AUDIT_STREAM, audit_maxlen);
	else
		RedisModule_Log(ctx, "notice", "chot_audit: CHOT.AUDIT appends to %s, never trimmed",
				LAYOUT_AUDIT_STREAM);
	return REDISMODULE_OK;
}
