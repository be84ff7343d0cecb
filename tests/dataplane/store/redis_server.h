/*
 * A private redis-server for the store's integration tests.
 *
 * Each test starts its own server on a free loopback port with the shipped
 * configs/redis.conf (placeholder passwords replaced by the test ones below,
 * port and dir given on the command line), in a fresh temporary directory.
 * The server gets PR_SET_PDEATHSIG, so it dies with the test process even
 * when the test crashes; rsrv_cleanup() kills it and removes the directory.
 */
#ifndef CHOT_TEST_REDIS_SERVER_H
#define CHOT_TEST_REDIS_SERVER_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

#define RSRV_ADMIN_PW    "test-admin-pw"
#define RSRV_INGEST_PW   "test-ingest-pw"
#define RSRV_OPERATOR_PW "test-operator-pw"

struct rsrv {
	pid_t pid;
	int port;
	char dir[128];
	char conf[192];
	const char *extra[4];  /* extra "--name value" pairs, NULL-terminated */
	/* Without the chot_audit module: its loadmodule line and the ACL's
	 * +chot.audit / +chot.append left out (a server chot does not ship,
	 * for the fallback to APPEND + EXPIREAT). */
	bool no_module;
};

/* Create the dir + config and start; 0 once the admin user answers PING. */
int rsrv_start(struct rsrv *s);
/* Start again on the same port and dir (AOF reload). */
int rsrv_restart(struct rsrv *s);
/* Send sig and reap. */
void rsrv_kill(struct rsrv *s, int sig);
void rsrv_cleanup(struct rsrv *s);
/* A blocking, authenticated connection (user may be NULL: no AUTH). */
redisContext *rsrv_login(const struct rsrv *s, const char *user, const char *pw);
/* redis://user:pw@127.0.0.1:port into out. */
void rsrv_url(const struct rsrv *s, const char *user, const char *pw, char *out, size_t len);

#endif
