/*
 * CHOT.APPEND: chotd's write of proto/layout.h's append-only records, in the
 * chot_audit module (chot_audit.c's OnLoad registers it).
 *
 *   CHOT.APPEND <key> <expire_at unix s> <records>  ->  the key's new length
 *
 * is APPEND key records, then EXPIREAT key expire_at, in one command, with
 * two differences that are the reason for it:
 *
 * - Size.  Redis 7.0's APPEND grows the string with sdsMakeRoomFor's greedy
 *   doubling and never gives the room back: a presence key of ~1,350 B of
 *   records held ~2,180 B.  Here a value up to APPEND_EXACT_MAX bytes is
 *   reallocated at its exact new length on every call (the copy of the old
 *   bytes is the price; measured in redismod/README.md), and a longer one
 *   grows to the next rung of a ladder of 8 rungs per doubling (at most
 *   1/8 of the length unused), so a big key is copied a bounded number of
 *   times per doubling rather than at every call.
 * - Expiry.  The key's expiry is set to expire_at unless it already is that
 *   instant: the writer sends it with every append and needs no EXPIREAT,
 *   no memo of the keys it set, no repair after a reconnect.
 *
 * Like APPEND: WRONGTYPE on a key that is not a string; the reply is the new
 * length.  Like EXPIREAT: an expire_at already past deletes the key (reply 0)
 * on a master, and is kept as an expiry in the past while loading the AOF or
 * on a replica (the master's DEL will follow), as Redis's own
 * checkAlreadyExpired() does.  Records of 0 bytes on a missing key create
 * nothing (reply 0): the start-up probe of chotd runs it that way, data
 * neutral.
 *
 * Flags "write deny-oom", one key at argv[1] declared RW INSERT (APPEND's
 * key spec; no ACCESS: nothing of the value is returned), so an ACL
 * write-only key pattern (%W~s:*) allows it, as it allows APPEND, and Redis
 * Cluster routes it by that key (MOVED, ASK).
 * Replication and the AOF get the command verbatim: replicas and an AOF
 * load need the module too (configs/redis.conf loads it everywhere); the
 * past-expiry deletion goes out as a DEL instead.  AOF rewrite and RDB hold
 * plain strings with their expiry: a server without the module reads them.
 */
#include <limits.h>
#include <string.h>

#include <redismodule.h>

#include "chot_append.h"
#include "layout.h"

/*
 * Values up to this length are reallocated exact at every append: the
 * realloc costs ~0.5 us more than APPEND's in-place append up to 4 KiB, and
 * grows with the length beyond (redismod/README.md has the table).  Week
 * keys are < 1 KiB, quick-bench presence keys ~1.4 KiB.  Beyond, the
 * ladder: a realloc only when a rung is crossed (every 1/8 of the length,
 * a fixed number per doubling), the unused room at most 1/8.
 */
#define APPEND_EXACT_MAX 4096
#define APPEND_LADDER_SHIFT 3           /* 2^3 = 8 rungs per doubling */
#define APPEND_SDS_OVERHEAD 16          /* >= an sds header (<= 9 bytes) and its NUL */
#define APPEND_MAX_LEN (512ULL * 1024 * 1024)   /* Redis's proto-max-bulk-len cap */

/* The room a value of len bytes is given: exact, or its ladder rung. */
static size_t
append_capacity(size_t len)
{
	size_t step;
	int top;

	if (len <= APPEND_EXACT_MAX)
		return len;
	/* The rung is the allocation, the sds header and NUL included: rungs
	 * are multiples of jemalloc's size classes' spacing, so a rung that is
	 * a class is used to the byte, not rounded up into the next class. */
	len += APPEND_SDS_OVERHEAD;
	top = 63 - __builtin_clzll((unsigned long long)len);
	step = (size_t)1 << (top - APPEND_LADDER_SHIFT);
	return ((len + step - 1) & ~(step - 1)) - APPEND_SDS_OVERHEAD;
}

/* Is the key being written by the master's stream or the AOF, not a client? */
static int
append_replaying(RedisModuleCtx *ctx)
{
	return (RedisModule_GetContextFlags(ctx) &
		(REDISMODULE_CTX_FLAGS_LOADING | REDISMODULE_CTX_FLAGS_SLAVE)) != 0;
}

/*
 * Grow the string at key from old to old + n bytes, its room exactly
 * append_capacity(old + n) when it must move.  Returns the value's bytes
 * (old of them kept), or NULL if StringTruncate refused (not a string, or
 * past 512 MB: both checked before, so never).
 */
static char *
append_grow(RedisModuleKey *key, size_t old, size_t n)
{
	size_t len = old + n, cap = append_capacity(len);

	/* A ladder-sized value already has the room: grow in place (no copy;
	 * StringTruncate's sdsMakeRoomFor finds the room free).  A value this
	 * module did not size (an RDB load, a plain APPEND) may lack it, and then
	 * gets sdsMakeRoomFor's doubling once: correct, only roomier. */
	if (old > APPEND_EXACT_MAX && cap == append_capacity(old)) {
		if (RedisModule_StringTruncate(key, len) != REDISMODULE_OK)
			return NULL;
		return RedisModule_StringDMA(key, &len, REDISMODULE_WRITE);
	}
	/* Exact, with the allocator's own room first: a value's sds records
	 * the usable size of its allocation (jemalloc's class, up to 1/4 more
	 * than asked), so growing into it is in place and costs no copy; when it
	 * does not fit, sdsMakeRoomFor moves the value to twice its length, and
	 * it is shrunk back to exact.  Up to APPEND_EXACT_MAX these are small
	 * jemalloc classes, which never grow or shrink in place: the value's
	 * address says whether it moved.  (A value growing past it goes to its
	 * rung below, so a ladder-sized value always has its rung's room.) */
	if (old > 0 && len <= APPEND_EXACT_MAX) {
		char *p0 = RedisModule_StringDMA(key, &old, REDISMODULE_READ), *p;
		size_t l = len;

		if (RedisModule_StringTruncate(key, len) != REDISMODULE_OK)
			return NULL;
		p = RedisModule_StringDMA(key, &l, REDISMODULE_WRITE);
		if (p == p0)
			return p;
		/* Moved, with room for 2 len: the shrink to len reallocates exact
		 * (room > 2 len) unless the room is exactly 2 len (the address
		 * stays): then back to old, and the sure way below. */
		if (RedisModule_StringTruncate(key, len + 1) != REDISMODULE_OK ||
		    RedisModule_StringTruncate(key, len) != REDISMODULE_OK)
			return NULL;
		p0 = p;
		p = RedisModule_StringDMA(key, &l, REDISMODULE_WRITE);
		if (p != p0)
			return p;
		if (RedisModule_StringTruncate(key, old) != REDISMODULE_OK)
			return NULL;
	}
	/* Reallocate at cap: the module API cannot size a string's room, but
	 * StringTruncate shrinking a string to less than half its room
	 * reallocates it at its new length (sdsRemoveFreeSpace).  Growing by
	 * one past cap doubles the room (sdsMakeRoomFor), so the shrink to cap
	 * right after always reallocates exact.  The key, its dict entry and its
	 * expiry stay: only the value's buffer moves (realloc). */
	if (old == 0) {         /* a new key: created at cap */
		if (RedisModule_StringTruncate(key, cap) != REDISMODULE_OK)
			return NULL;
	} else if (RedisModule_StringTruncate(key, cap + 1) != REDISMODULE_OK ||
		   RedisModule_StringTruncate(key, cap) != REDISMODULE_OK) {
		return NULL;
	}
	/* Down to len; the room up to cap stays (less than len: no realloc). */
	if (cap != len && RedisModule_StringTruncate(key, len) != REDISMODULE_OK)
		return NULL;
	return RedisModule_StringDMA(key, &len, REDISMODULE_WRITE);
}

/*
 * The records to append to an existing week key: the vault unit left out
 * (proto/layout.h).  chotd sends a subject's unit with its first records of
 * the week that it sees, and a worker's memo of those is a cache: at a
 * million subjects it forgot most, so the unit went out again and again and
 * each copy stayed, ~600 bytes a week key at 1 M citizens x 14 days.  The key
 * got its unit when it was created (the first append of a week key comes
 * from a miss, so it carries one), so a unit for a key that exists is left
 * out here.  Returns the bytes to append (recs itself, or *tmp, which the
 * caller frees), or NULL with *n unchanged when recs is not a valid value.
 */
static const char *
append_drop_unit(const char *key, size_t keylen, const char *recs, size_t *n, char **tmp)
{
	long m;

	*tmp = NULL;
	if (keylen < 2 || key[0] != 's' || key[1] != ':' ||
	    layout_subject_plain((const uint8_t *)recs, *n))
		return recs;
	*tmp = RedisModule_Alloc(*n);
	memcpy(*tmp, recs, *n);
	m = layout_subject_split((uint8_t *)*tmp, *n, NULL, NULL);
	if (m < 0) {
		RedisModule_Free(*tmp);
		*tmp = NULL;
		return recs;   /* not ours to judge: appended as sent, readers refuse it */
	}
	*n = (size_t)m;
	return *tmp;
}

static int
append_cmd(RedisModuleCtx *ctx, RedisModuleString **argv, int argc)
{
	RedisModuleKey *key;
	const char *recs;
	long long at_s;
	mstime_t at_ms;
	size_t n, old = 0;
	char *p, *tmp = NULL;   /* recs without its vault unit (append_drop_unit) */
	int type;

	if (argc != 4)
		return RedisModule_WrongArity(ctx);
	if (RedisModule_StringToLongLong(argv[2], &at_s) != REDISMODULE_OK ||
	    at_s > LLONG_MAX / 1000 || at_s < LLONG_MIN / 1000)
		return RedisModule_ReplyWithError(ctx, "ERR invalid expire time in 'chot.append' "
						  "command");
	at_ms = at_s * 1000;
	recs = RedisModule_StringPtrLen(argv[3], &n);
	key = RedisModule_OpenKey(ctx, argv[1], REDISMODULE_READ | REDISMODULE_WRITE);
	type = RedisModule_KeyType(key);
	if (type != REDISMODULE_KEYTYPE_EMPTY && type != REDISMODULE_KEYTYPE_STRING) {
		RedisModule_CloseKey(key);
		return RedisModule_ReplyWithError(ctx, REDISMODULE_ERRORMSG_WRONGTYPE);
	}
	if (type == REDISMODULE_KEYTYPE_STRING)
		(void)RedisModule_StringDMA(key, &old, REDISMODULE_READ);
	if (at_ms <= RedisModule_Milliseconds() && !append_replaying(ctx)) {
		/* Already expired: what EXPIREAT does, delete it. */
		if (type != REDISMODULE_KEYTYPE_EMPTY) {
			RedisModule_DeleteKey(key);
			RedisModule_NotifyKeyspaceEvent(ctx, REDISMODULE_NOTIFY_GENERIC, "del",
							argv[1]);
			RedisModule_Replicate(ctx, "DEL", "s", argv[1]);
		}
		RedisModule_CloseKey(key);
		return RedisModule_ReplyWithLongLong(ctx, 0);
	}
	if (n == 0 && type == REDISMODULE_KEYTYPE_EMPTY) {
		RedisModule_CloseKey(key);
		return RedisModule_ReplyWithLongLong(ctx, 0);
	}
	if (old + n > APPEND_MAX_LEN) {
		RedisModule_CloseKey(key);
		return RedisModule_ReplyWithError(ctx, "ERR string exceeds maximum allowed size "
						  "(proto-max-bulk-len)");
	}
	if (n > 0 && type == REDISMODULE_KEYTYPE_STRING) {
		size_t kl;
		const char *kn = RedisModule_StringPtrLen(argv[1], &kl);

		recs = append_drop_unit(kn, kl, recs, &n, &tmp);
	}
	if (n > 0) {
		p = append_grow(key, old, n);
		if (p == NULL) {
			RedisModule_Free(tmp);
			RedisModule_CloseKey(key);
			return RedisModule_ReplyWithError(ctx, "ERR chot.append: cannot resize");
		}
		memcpy(p + old, recs, n);
		RedisModule_NotifyKeyspaceEvent(ctx, REDISMODULE_NOTIFY_STRING, "append", argv[1]);
	}
	RedisModule_Free(tmp);
	/* A reallocated key lost its expiry with the old value: set again. */
	if (RedisModule_GetAbsExpire(key) != at_ms) {
		RedisModule_SetAbsExpire(key, at_ms);
		RedisModule_NotifyKeyspaceEvent(ctx, REDISMODULE_NOTIFY_GENERIC, "expire", argv[1]);
	}
	RedisModule_CloseKey(key);
	RedisModule_ReplicateVerbatim(ctx);
	return RedisModule_ReplyWithLongLong(ctx, (long long)(old + n));
}

int
chot_append_register(RedisModuleCtx *ctx)
{
	RedisModuleCommand *cmd;
	/* APPEND's "RW INSERT" (Redis refuses INSERT with UPDATE, EXPIREAT's,
	 * in one spec; for the ACL both are write permission): write permission
	 * on the key, no read permission (the legacy triple alone would make it
	 * "RW ACCESS UPDATE" and need %R too). */
	static RedisModuleCommandKeySpec specs[] = {
		{ .flags = REDISMODULE_CMD_KEY_RW | REDISMODULE_CMD_KEY_INSERT,
		  .begin_search_type = REDISMODULE_KSPEC_BS_INDEX,
		  .bs.index.pos = 1,
		  .find_keys_type = REDISMODULE_KSPEC_FK_RANGE,
		  .fk.range = { .lastkey = 0, .keystep = 1, .limit = 0 } },
		{ 0 }
	};
	static const RedisModuleCommandInfo info = {
		.version = REDISMODULE_COMMAND_INFO_VERSION,
		.summary = "Appends records to a string at its exact size and sets its expiry "
			   "(chot's proto/layout.h)",
		.since = "1.0.0",
		.arity = 4,
		.key_specs = specs,
	};

	if (RedisModule_SetAbsExpire == NULL || RedisModule_SetCommandInfo == NULL) {
		RedisModule_Log(ctx, "warning", "chot_audit: CHOT.APPEND needs Redis >= 7.0");
		return REDISMODULE_ERR;
	}
	if (RedisModule_CreateCommand(ctx, "chot.append", append_cmd, "write deny-oom",
				      1, 1, 1) == REDISMODULE_ERR)
		return REDISMODULE_ERR;
	cmd = RedisModule_GetCommand(ctx, "chot.append");
	if (cmd == NULL || RedisModule_SetCommandInfo(cmd, &info) == REDISMODULE_ERR)
		return REDISMODULE_ERR;
	return REDISMODULE_OK;
}
