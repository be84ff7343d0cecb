/*
 * redis.url parsing (DESIGN §3): redis://[user[:password]@]host[:port],
 * unix://PATH, null://.  cluster:// is recognised and refused with a clear
 * reason: slot routing is not built yet.  Pure; unit-tested.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

int
store_url_parse(const char *url, struct store_url *u, char *err, size_t errlen)
{
	const char *rest, *at, *colon;
	char *end = NULL;
	long port;

	memset(u, 0, sizeof(*u));
	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "redis.url is empty");
		return -EINVAL;
	}
	if (strcmp(url, "null://") == 0) {
		u->kind = STORE_NULL;
		return 0;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		if (url[7] != '/' || strlen(url + 7) >= sizeof(u->host)) {
			snprintf(err, errlen, "%s: unix:// needs an absolute socket path", url);
			return -EINVAL;
		}
		u->kind = STORE_UNIX;
		snprintf(u->host, sizeof(u->host), "%s", url + 7);
		return 0;
	}
	if (strncmp(url, "cluster://", 10) == 0) {
		snprintf(err, errlen, "%s: Redis Cluster routing is not implemented yet; "
			 "use redis:// to one node", url);
		return -EINVAL;
	}
	if (strncmp(url, "redis://", 8) != 0) {
		snprintf(err, errlen, "%s: expected redis://, unix://, cluster:// or null://", url);
		return -EINVAL;
	}
	u->kind = STORE_TCP;
	rest = url + 8;
	at = strrchr(rest, '@');
	if (at != NULL) {
		const char *c = memchr(rest, ':', (size_t)(at - rest));
		size_t ul = (size_t)((c != NULL ? c : at) - rest);

		if (ul >= sizeof(u->user) || (c != NULL && (size_t)(at - c - 1) >= sizeof(u->password))) {
			snprintf(err, errlen, "redis.url: credentials too long");
			return -EINVAL;
		}
		memcpy(u->user, rest, ul);
		if (c != NULL)
			memcpy(u->password, c + 1, (size_t)(at - c - 1));
		rest = at + 1;
	}
	colon = strrchr(rest, ':');
	port = 6379;
	if (colon != NULL) {
		errno = 0;
		port = strtol(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || (*end != '\0' && *end != '/') || port < 1 ||
		    port > 65535) {
			snprintf(err, errlen, "%s: bad port", url);
			return -EINVAL;
		}
	} else {
		colon = rest + strcspn(rest, "/");
	}
	if (colon == rest || (size_t)(colon - rest) >= sizeof(u->host)) {
		snprintf(err, errlen, "%s: missing host", url);
		return -EINVAL;
	}
	memcpy(u->host, rest, (size_t)(colon - rest));
	u->port = (int)port;
	return 0;
}
