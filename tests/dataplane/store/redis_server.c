/*
 * A private redis-server for the store tests (see redis_server.h).  The
 * config is the shipped one with only the placeholder passwords swapped, so
 * the ACL rules the tests check are exactly the ones that ship.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_server.h"

static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static void
put_replaced(FILE *out, const char *line, bool no_module)
{
	/* The placeholder passwords, and the audit module's installed path
	 * (configs/redis.conf) for this build's copy; without the module, the
	 * commands it adds. */
	static const char *const from[] = { "CHANGE-ME-admin", "CHANGE-ME-ingest",
					    "CHANGE-ME-operator", "/usr/lib/chot/chot_audit.so",
					    " +chot.append", " +chot.audit" };
	static const char *const to[] = { RSRV_ADMIN_PW, RSRV_INGEST_PW, RSRV_OPERATOR_PW,
					  CHOT_AUDIT_MODULE, "", "" };
	size_t nfrom = no_module ? 6 : 4;

	if (no_module && strncmp(line, "loadmodule ", 11) == 0)
		return;
	while (*line != '\0') {
		size_t i;

		for (i = 0; i < nfrom; i++)
			if (strncmp(line, from[i], strlen(from[i])) == 0)
				break;
		if (i < nfrom) {
			fputs(to[i], out);
			line += strlen(from[i]);
		} else {
			fputc(*line++, out);
		}
	}
}

static int
write_conf(struct rsrv *s)
{
	char path[256], line[1024];
	FILE *in, *out;

	snprintf(path, sizeof(path), "%s/configs/redis.conf", CHOT_SOURCE_ROOT);
	in = fopen(path, "r");
	if (in == NULL)
		return -errno;
	snprintf(s->conf, sizeof(s->conf), "%s/redis.conf", s->dir);
	out = fopen(s->conf, "w");
	if (out == NULL) {
		fclose(in);
		return -errno;
	}
	while (fgets(line, sizeof(line), in) != NULL)
		put_replaced(out, line, s->no_module);
	fclose(in);
	return fclose(out) == 0 ? 0 : -EIO;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

redisContext *
rsrv_login(const struct rsrv *s, const char *user, const char *pw)
{
	struct timeval tv = { 2, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *r;

	if (c == NULL || c->err) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	redisSetTimeout(c, tv);
	if (user == NULL)
		return c;
	r = redisCommand(c, "AUTH %s %s", user, pw);
	if (r == NULL || r->type == REDIS_REPLY_ERROR) {
		if (r != NULL)
			freeReplyObject(r);
		redisFree(c);
		return NULL;
	}
	freeReplyObject(r);
	return c;
}

int
rsrv_restart(struct rsrv *s)
{
	char port[16], dir[160], log[200];
	const char *argv[24];
	int argc = 0;

	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(dir, sizeof(dir), "%s", s->dir);
	snprintf(log, sizeof(log), "%s/redis.log", s->dir);
	argv[argc++] = "redis-server";
	argv[argc++] = s->conf;
	argv[argc++] = "--port";
	argv[argc++] = port;
	argv[argc++] = "--dir";
	argv[argc++] = dir;
	argv[argc++] = "--logfile";
	argv[argc++] = log;
	argv[argc++] = "--bind";
	argv[argc++] = "127.0.0.1";
	for (int i = 0; i < 4 && s->extra[i] != NULL; i++)
		argv[argc++] = s->extra[i];
	argv[argc] = NULL;

	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {  /* up to 5 s */
		redisContext *c = rsrv_login(s, "chot-admin", RSRV_ADMIN_PW);

		if (c != NULL) {
			redisReply *r = redisCommand(c, "PING");
			bool ok = r != NULL && r->type == REDIS_REPLY_STATUS;

			if (r != NULL)
				freeReplyObject(r);
			redisFree(c);
			if (ok)
				return 0;
		}
		if (waitpid(s->pid, NULL, WNOHANG) == s->pid) {
			s->pid = 0;
			return -ECHILD;
		}
		sleep_ms(50);
	}
	return -ETIMEDOUT;
}

int
rsrv_start(struct rsrv *s)
{
	int rc;

	/* As chotd's main.c does: the store's writes to a server that died must
	 * fail with EPIPE, not kill the test (the store leaves signals alone). */
	signal(SIGPIPE, SIG_IGN);
	snprintf(s->dir, sizeof(s->dir), "/tmp/chot-store-test-XXXXXX");
	if (mkdtemp(s->dir) == NULL)
		return -errno;
	rc = write_conf(s);
	if (rc != 0)
		return rc;
	for (int attempt = 0; attempt < 5; attempt++) {
		s->port = free_port();
		if (s->port < 0)
			return -EADDRNOTAVAIL;
		rc = rsrv_restart(s);
		if (rc != -ECHILD)  /* ECHILD: exited, maybe lost the port race */
			return rc;
	}
	return rc;
}

void
rsrv_kill(struct rsrv *s, int sig)
{
	if (s->pid > 0) {
		kill(s->pid, sig);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

void
rsrv_cleanup(struct rsrv *s)
{
	char cmd[200];

	rsrv_kill(s, SIGKILL);
	if (strncmp(s->dir, "/tmp/chot-store-test-", 21) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", s->dir);
	}
}

void
rsrv_url(const struct rsrv *s, const char *user, const char *pw, char *out, size_t len)
{
	if (user != NULL)
		snprintf(out, len, "redis://%s:%s@127.0.0.1:%d", user, pw, s->port);
	else
		snprintf(out, len, "redis://127.0.0.1:%d", s->port);
}
