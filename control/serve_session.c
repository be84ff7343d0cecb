/*
 * chotctl serve's sessions.  A browser gets a session at its first API call:
 * signed out, but with a CSRF token, so even the sign-in POST carries one.
 * Signing in opens a Redis connection authenticated as the operator's own
 * ACL user (ctl_redis_open): every lookup then runs, and is audited, as that
 * user, exactly as `chotctl --user U` would.  The session id changes at
 * sign-in (a planted id is worth nothing) and both id and token are 256
 * random bits from libsodium, compared in constant time.
 *
 * The table is a fixed array of SERVE_SESSIONS_MAX slots under one lock;
 * when it is full, a new visitor takes the oldest signed-out slot, never a
 * signed-in one.  A
 * request holds its session (refs) while it runs; an expired or signed-out
 * session is marked dead at once and its connection closed when the last
 * request lets go, so a running trace never loses its connection under it.
 *
 * Idle timeout: only a user action (page load, sign-in, trace, a change)
 * restarts the clock; the page's background polling (counters every second,
 * the alerts stream) does not, or an unattended screen would never time out.
 * The password is kept, in sodium_malloc'd memory wiped on release, only to
 * open the alerts stream's second connection (a blocking XREAD would stall
 * the session's own); it is never written anywhere.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

static struct serve_session table[SERVE_SESSIONS_MAX];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

int
serve_sessions_init(void)
{
	if (sodium_init() < 0)
		return -EIO;
	for (size_t i = 0; i < SERVE_SESSIONS_MAX; i++)
		pthread_mutex_init(&table[i].lock, NULL);
	return 0;
}

static void
token(char out[SERVE_TOKEN_HEX])
{
	unsigned char b[SERVE_SID_BYTES];

	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(out, SERVE_TOKEN_HEX, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
}

/* Release a dead, unheld slot: its connection and password. table_lock held. */
static void
reclaim(struct serve_session *s)
{
	ctl_redis_close(s->redis);
	s->redis = NULL;
	if (s->password != NULL)
		sodium_free(s->password);  /* zeroes it */
	s->password = NULL;
	sodium_memzero(s->sid, sizeof(s->sid));
	sodium_memzero(s->csrf, sizeof(s->csrf));
	s->signed_in = false;
	s->user[0] = '\0';
	s->used = false;
	s->dead = false;
}

/* Mark the expired ones dead and reclaim what nobody holds. table_lock held. */
static void
sweep(uint64_t now)
{
	for (size_t i = 0; i < SERVE_SESSIONS_MAX; i++) {
		struct serve_session *s = &table[i];

		if (!s->used)
			continue;
		if (now - s->last_ms > serve_cf->idle_ms)
			s->dead = true;
		if (s->dead && s->refs == 0)
			reclaim(s);
	}
}

void
serve_sessions_fini(void)
{
	pthread_mutex_lock(&table_lock);
	for (size_t i = 0; i < SERVE_SESSIONS_MAX; i++)
		if (table[i].used) {
			table[i].dead = true;
			if (table[i].refs == 0)
				reclaim(&table[i]);
		}
	pthread_mutex_unlock(&table_lock);
}

struct serve_session *
serve_session_new(void)
{
	struct serve_session *s = NULL;
	uint64_t now = serve_now_ms();

	pthread_mutex_lock(&table_lock);
	sweep(now);
	for (size_t i = 0; i < SERVE_SESSIONS_MAX && s == NULL; i++)
		if (!table[i].used)
			s = &table[i];
	/* Full: the oldest signed-out session nobody holds makes room, so
	 * anonymous visits can never lock the operators out. */
	for (size_t i = 0; i < SERVE_SESSIONS_MAX && s == NULL; i++) {
		struct serve_session *c = &table[i];

		if (!c->signed_in && c->refs == 0) {
			struct serve_session *old = c;

			for (size_t k = i + 1; k < SERVE_SESSIONS_MAX; k++)
				if (!table[k].signed_in && table[k].refs == 0 &&
				    table[k].last_ms < old->last_ms)
					old = &table[k];
			reclaim(old);
			s = old;
		}
	}
	if (s != NULL) {
		s->used = true;
		s->dead = false;
		s->signed_in = false;
		s->streams = 0;
		token(s->sid);
		token(s->csrf);
		s->last_ms = now;
		s->refs = 1;
	}
	pthread_mutex_unlock(&table_lock);
	return s;
}

struct serve_session *
serve_session_get(const char *sid, bool touch)
{
	struct serve_session *found = NULL;
	uint64_t now = serve_now_ms();

	if (sid == NULL || strlen(sid) != SERVE_TOKEN_HEX - 1)
		return NULL;
	pthread_mutex_lock(&table_lock);
	sweep(now);
	for (size_t i = 0; i < SERVE_SESSIONS_MAX; i++) {
		struct serve_session *s = &table[i];

		if (s->used && !s->dead && sodium_memcmp(s->sid, sid, SERVE_TOKEN_HEX - 1) == 0) {
			found = s;
			s->refs++;
			if (touch)
				s->last_ms = now;
		}
	}
	pthread_mutex_unlock(&table_lock);
	return found;
}

void
serve_session_put(struct serve_session *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&table_lock);
	if (--s->refs == 0 && s->dead)
		reclaim(s);
	pthread_mutex_unlock(&table_lock);
}

void
serve_session_end(struct serve_session *s)
{
	pthread_mutex_lock(&table_lock);
	s->dead = true;
	pthread_mutex_unlock(&table_lock);
}

bool
serve_csrf_ok(const struct serve_session *s, const char *t)
{
	return t != NULL && strlen(t) == SERVE_TOKEN_HEX - 1 &&
	       sodium_memcmp(s->csrf, t, SERVE_TOKEN_HEX - 1) == 0;
}

/* The sign-in is a record on the trail too: who opened the page, from where. */
static int
audit_signin(struct ctl_redis *r, const char *user, const char *from, char *err, size_t errlen)
{
	struct ctl_app a = { .redis = r, .user = user, .password_file = "(serve)" };
	char detail[128];
	int rc;

	snprintf(detail, sizeof(detail), "serve from=%s", from);
	rc = ctl_audit(&a, "signin", NULL, detail);
	if (rc != 0)
		snprintf(err, errlen, "%s", a.err);
	return rc;
}

int
serve_session_login(struct serve_session *s, const char *user, const char *password,
		    const char *from, char *err, size_t errlen)
{
	int unavailable = 0;
	struct ctl_redis *r;
	char *pw;

	if (user[0] == '\0' || strlen(user) >= SERVE_USER_MAX || strlen(password) >= SERVE_PASSWORD_MAX) {
		snprintf(err, errlen, "user name or password too long or empty");
		return -EACCES;
	}
	r = ctl_redis_open(serve_cf->url, user, password, err, errlen, &unavailable);
	if (r == NULL)
		return unavailable ? -EIO : -EACCES;
	if (audit_signin(r, user, from, err, errlen) != 0) {
		ctl_redis_close(r);
		return -EACCES;
	}
	pw = sodium_malloc(SERVE_PASSWORD_MAX);
	if (pw == NULL) {
		ctl_redis_close(r);
		snprintf(err, errlen, "out of memory");
		return -EIO;
	}
	snprintf(pw, SERVE_PASSWORD_MAX, "%s", password);
	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&table_lock);
	ctl_redis_close(s->redis);
	s->redis = r;
	if (s->password != NULL)
		sodium_free(s->password);
	s->password = pw;
	snprintf(s->user, sizeof(s->user), "%s", user);
	s->signed_in = true;
	token(s->sid);
	token(s->csrf);
	s->last_ms = serve_now_ms();
	pthread_mutex_unlock(&table_lock);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

struct ctl_redis *
serve_session_connect(struct serve_session *s, char *err, size_t errlen)
{
	int unavailable = 0;
	struct ctl_redis *r;

	pthread_mutex_lock(&s->lock);
	r = s->signed_in && s->password != NULL
		    ? ctl_redis_open(serve_cf->url, s->user, s->password, err, errlen, &unavailable)
		    : NULL;
	if (!s->signed_in)
		snprintf(err, errlen, "not signed in");
	pthread_mutex_unlock(&s->lock);
	return r;
}
