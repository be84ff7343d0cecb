/*
 * The single-node start-up check (store_impl.h: store_redis_check, behind
 * dp_store_check of store.h; cluster_check.c runs it on every master).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

#include "store_impl.h"

/*
 * The start-up check (dp_store_check, store.h): one blocking connection,
 * AUTH, then each write command chotd uses, on a key of each family of
 * proto/layout.h (s:, p:; the vault unit rides the s: APPEND), leaving no
 * data behind: EXPIREAT of a missing key does nothing; APPEND of nothing
 * creates an empty string, which the EXPIREAT 1 right after deletes (a time
 * in the past), so a key's EXPIREAT is probed before its APPEND: once the
 * APPEND ran, the EXPIREAT that removes the key cannot be refused.  (Only a
 * crash between the two leaves an empty probe key.)
 * The hash tag "chot-start-probe" is not hex, so no chot key ever has it.
 * Redis checks the ACL (command and key) before it runs a command, so a
 * NOPERM here is exactly the NOPERM the first real write would get.
 *
 * Then CHOT.APPEND (redismod/chot_append.c), which chotd uses only when this
 * server has it (dp_store_caps): CHOT.APPEND <probe key> 1 "" on each
 * family; an expiry in the past deletes the key, which does not exist, and
 * 0 bytes create nothing.  An integer (or a redirection) says yes; "unknown
 * command" (no module), NOPERM (an ACL without +chot.append) or anything
 * else says no, and chotd writes with APPEND and EXPIREAT: never a reason
 * to refuse to start.
 */
static const struct probe {
	const char *argv[6];
	/* An error reply that proves the ACL let the command through (Redis
	 * checks the ACL first): the probe's own harmless refusal. */
	const char *passed_acl;
} check_cmds[] = {
	{ { "EXPIREAT", "s:{chot-start-probe}:w0", "1" }, NULL },
	{ { "APPEND", "s:{chot-start-probe}:w0", "" }, NULL },
	{ { "EXPIREAT", "s:{chot-start-probe}:w0", "1" }, NULL },
	{ { "EXPIREAT", "p:{chot-start-probe}:b0", "1" }, NULL },
	{ { "APPEND", "p:{chot-start-probe}:b0", "" }, NULL },
	{ { "EXPIREAT", "p:{chot-start-probe}:b0", "1" }, NULL },
	/* The alerts stream (DESIGN §9): ID 0-0 is refused after the ACL check. */
	{ { "XADD", "chot:{alerts}", "NOMKSTREAM", "0-0", "probe", "1" }, "0-0" },
};

static const char *const append_probes[][4] = {
	{ "CHOT.APPEND", "s:{chot-start-probe}:w0", "1", "" },
	{ "CHOT.APPEND", "p:{chot-start-probe}:b0", "1", "" },
};

/* Does this server run CHOT.APPEND for us?  Clears caps->chot_append if not. */
static void
probe_chot_append(redisContext *c, const char *server, struct dp_store_caps *caps)
{
	for (unsigned i = 0; i < 2 && caps->chot_append; i++) {
		const char *const *argv = append_probes[i];
		redisReply *rep = redisCommandArgv(c, 4, (const char **)argv, NULL);
		bool yes = rep != NULL &&
			   (rep->type == REDIS_REPLY_INTEGER ||
			    (rep->type == REDIS_REPLY_ERROR &&
			     (strncmp(rep->str, "MOVED ", 6) == 0 ||
			      strncmp(rep->str, "ASK ", 4) == 0)));

		if (!yes) {
			snprintf(caps->why, sizeof(caps->why), "redis %.300s: CHOT.APPEND %s: %.150s",
				 server, argv[1],
				 rep == NULL ? c->errstr
				 : rep->type == REDIS_REPLY_ERROR ? rep->str : "an unexpected reply");
			caps->chot_append = false;
		}
		freeReplyObject(rep);
	}
}

static int
check_argc(const char *const *argv)
{
	int n = 0;

	while (n < 6 && argv[n] != NULL)
		n++;
	return n;
}

/* An error reply that still shows the ACL allowed the command: the probe's
 * own refusal, or a cluster redirection (a master that does not own the
 * probe's slot redirects only after the ACL let the command through). */
static bool
passed_acl(const struct probe *p, const char *err)
{
	return (p->passed_acl != NULL && strstr(err, p->passed_acl) != NULL) ||
	       strncmp(err, "MOVED ", 6) == 0 || strncmp(err, "ASK ", 4) == 0;
}

int
store_redis_check(const struct dp_store_conf *conf, const struct redis_url *u,
		  unsigned timeout_ms, struct dp_store_caps *caps, char *err, size_t errlen)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000,
			      .tv_usec = (long)(timeout_ms % 1000) * 1000 };
	const char *user = conf->user != NULL ? conf->user : u->user;
	const char *pw = conf->password != NULL ? conf->password : u->password;
	char server[300], who[160];
	redisContext *c;
	redisReply *rep;
	unsigned i, n = sizeof(check_cmds) / sizeof(check_cmds[0]);
	int rc = 0;

	if (u->kind == REDIS_URL_UNIX)
		snprintf(server, sizeof(server), "unix://%s", u->path);
	else
		redis_endpoint_format(&u->seeds[0], server, sizeof(server));
	if (user[0] != '\0')
		snprintf(who, sizeof(who), "user '%s'", user);
	else
		snprintf(who, sizeof(who), "the default user (no redis.user)");
	c = u->kind == REDIS_URL_UNIX
		    ? redisConnectUnixWithTimeout(u->path, tv)
		    : redisConnectWithTimeout(u->seeds[0].host, u->seeds[0].port, tv);
	if (c == NULL || c->err) {
		snprintf(err, errlen, "redis %s: cannot connect: %s", server,
			 c != NULL ? c->errstr : "out of memory");
		redisFree(c);
		return -ECONNREFUSED;
	}
	(void)redisSetTimeout(c, tv);
	if (pw[0] != '\0') {
		rep = user[0] != '\0' ? redisCommand(c, "AUTH %s %s", user, pw)
				      : redisCommand(c, "AUTH %s", pw);
		if (rep == NULL) {
			snprintf(err, errlen, "redis %s: no answer to AUTH within %u ms: %s", server,
				 timeout_ms, c->errstr);
			redisFree(c);
			return -ETIMEDOUT;
		}
		if (rep->type == REDIS_REPLY_ERROR) {
			snprintf(err, errlen, "redis %s: authentication failed for %s: %s "
				 "(check redis.user and redis.password_file)", server, who, rep->str);
			freeReplyObject(rep);
			redisFree(c);
			return -EACCES;
		}
		freeReplyObject(rep);
	}
	for (i = 0; i < n && rc == 0; i++) {
		const char *const *argv = check_cmds[i].argv;

		rep = redisCommandArgv(c, check_argc(argv), (const char **)argv, NULL);
		if (rep == NULL) {
			snprintf(err, errlen, "redis %s: no answer to %s within %u ms: %s", server,
				 argv[0], timeout_ms, c->errstr);
			rc = -ETIMEDOUT;
			break;
		}
		if (rep->type == REDIS_REPLY_ERROR && !passed_acl(&check_cmds[i], rep->str)) {
			if (strncmp(rep->str, "NOAUTH", 6) == 0 || strncmp(rep->str, "WRONGPASS", 9) == 0) {
				snprintf(err, errlen, "redis %s: authentication failed for %s: %s "
					 "(set redis.user and redis.password_file)", server, who,
					 rep->str);
				rc = -EACCES;
			} else if (strncmp(rep->str, "NOPERM", 6) == 0) {
				snprintf(err, errlen, "redis %s: %s may not run %s on %s: %s (the ACL "
					 "of configs/redis.conf's chot-ingest is what chotd needs)",
					 server, who, argv[0], argv[1], rep->str);
				rc = -EPERM;
			} else {
				snprintf(err, errlen, "redis %s: %s %s: %s", server, argv[0], argv[1],
					 rep->str);
				rc = -EIO;
			}
		}
		freeReplyObject(rep);
	}
	if (rc == 0)
		probe_chot_append(c, server, caps);
	redisFree(c);
	return rc;
}
