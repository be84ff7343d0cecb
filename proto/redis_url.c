/*
 * The one Redis URL parser (redis_url.h).  A URL is split once, left to
 * right: scheme, userinfo (up to the last '@'), then the authority, which is
 * one endpoint (redis://), a comma-separated list (cluster://) or a path
 * (unix://).  Every refusal says which part is wrong; the URL it quotes has
 * gone through redis_url_redact() first.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "redis_url.h"

static const char *const kind_names[] = {
	[REDIS_URL_TCP] = "redis",
	[REDIS_URL_UNIX] = "unix",
	[REDIS_URL_CLUSTER] = "cluster",
	[REDIS_URL_NULL] = "null",
};

const char *
redis_url_kind_name(enum redis_url_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
		return "?";
	return kind_names[kind];
}

void
redis_url_redact(const char *url, char *out, size_t outlen)
{
	const char *auth, *at, *colon;

	if (outlen == 0)
		return;
	if (url == NULL) {
		out[0] = '\0';
		return;
	}
	auth = strstr(url, "://");
	at = auth != NULL ? strrchr(auth + 3, '@') : NULL;
	colon = at != NULL ? memchr(auth + 3, ':', (size_t)(at - auth - 3)) : NULL;
	if (colon == NULL) {
		snprintf(out, outlen, "%s", url);
		return;
	}
	snprintf(out, outlen, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

char *
redis_endpoint_format(const struct redis_endpoint *ep, char *out, size_t outlen)
{
	if (strchr(ep->host, ':') != NULL)
		snprintf(out, outlen, "[%s]:%u", ep->host, (unsigned)ep->port);
	else
		snprintf(out, outlen, "%s:%u", ep->host, (unsigned)ep->port);
	return out;
}

bool
redis_endpoint_equal(const struct redis_endpoint *a, const struct redis_endpoint *b)
{
	return a->port == b->port && strcasecmp(a->host, b->host) == 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into out (outlen with the NUL). 0 or -EINVAL. */
static int
pct_decode(const char *s, size_t len, char *out, size_t outlen, const char *what,
	   char *err, size_t errlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi = i + 2 < len ? hexval(s[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(s[i + 2]) : -1;

			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
				snprintf(err, errlen, "bad percent-encoding in the %s "
					 "(want %%XX, two hex digits, not %%00)", what);
				return -EINVAL;
			}
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (o + 1 >= outlen) {
			snprintf(err, errlen, "the %s is too long (at most %zu bytes)", what,
				 outlen - 1);
			return -EINVAL;
		}
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

static bool
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static bool
v6_char(char c)
{
	return hexval(c) >= 0 || c == ':' || c == '.' || c == '%' ||
	       (c >= 'g' && c <= 'z') || (c >= 'G' && c <= 'Z');   /* zone ids: %eth0 */
}

int
redis_endpoint_parse(const char *s, size_t len, uint16_t default_port, struct redis_endpoint *ep,
		     char *err, size_t errlen)
{
	const char *h, *he, *p, *end = s + len;
	unsigned long port = default_port;

	memset(ep, 0, sizeof(*ep));
	if (len == 0) {
		snprintf(err, errlen, "missing host");
		return -EINVAL;
	}
	if (s[0] == '[') {
		h = s + 1;
		he = memchr(h, ']', len - 1);
		if (he == NULL) {
			snprintf(err, errlen, "'[' without ']' around an IPv6 address");
			return -EINVAL;
		}
		if (he == h || memchr(h, ':', (size_t)(he - h)) == NULL) {
			snprintf(err, errlen, "'[%.*s]' is not an IPv6 address", (int)(he - h), h);
			return -EINVAL;
		}
		for (const char *c = h; c < he; c++)
			if (!v6_char(*c)) {
				snprintf(err, errlen, "bad character '%c' in IPv6 address", *c);
				return -EINVAL;
			}
		p = he + 1;
		if (p < end && *p != ':') {
			snprintf(err, errlen, "unexpected '%.*s' after ']' (want :PORT)",
				 (int)(end - p), p);
			return -EINVAL;
		}
	} else {
		h = s;
		he = memchr(s, ':', len);
		if (he == NULL)
			he = end;
		if (he < end && memchr(he + 1, ':', (size_t)(end - he - 1)) != NULL) {
			snprintf(err, errlen, "'%.*s': an IPv6 address needs brackets, "
				 "e.g. [::1]:6379", (int)len, s);
			return -EINVAL;
		}
		if (he == h) {
			snprintf(err, errlen, "missing host before ':'");
			return -EINVAL;
		}
		for (const char *c = h; c < he; c++)
			if (!host_char(*c)) {
				snprintf(err, errlen, "bad character '%c' in host '%.*s'", *c,
					 (int)(he - h), h);
				return -EINVAL;
			}
		p = he;
	}
	if ((size_t)(he - h) >= sizeof(ep->host)) {
		snprintf(err, errlen, "host name too long (at most %zu bytes)",
			 sizeof(ep->host) - 1);
		return -EINVAL;
	}
	if (p < end) {          /* *p == ':' */
		const char *d = p + 1;

		if (d == end) {
			snprintf(err, errlen, "missing port after ':'");
			return -EINVAL;
		}
		port = 0;
		for (const char *c = d; c < end; c++) {
			if (*c < '0' || *c > '9' || c - d >= 5) {
				snprintf(err, errlen, "bad port '%.*s' (want 1..65535)",
					 (int)(end - d), d);
				return -EINVAL;
			}
			port = port * 10 + (unsigned long)(*c - '0');
		}
		if (port < 1 || port > 65535) {
			snprintf(err, errlen, "bad port '%.*s' (want 1..65535)", (int)(end - d), d);
			return -EINVAL;
		}
	}
	memcpy(ep->host, h, (size_t)(he - h));
	ep->port = (uint16_t)port;
	return 0;
}

/* userinfo s[0..len): "user", "user:password" or ":password". */
static int
parse_userinfo(const char *s, size_t len, struct redis_url *u, char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', len);
	size_t ul = colon != NULL ? (size_t)(colon - s) : len;

	if (pct_decode(s, ul, u->user, sizeof(u->user), "user name", err, errlen) != 0)
		return -EINVAL;
	if (colon != NULL && pct_decode(colon + 1, len - ul - 1, u->password, sizeof(u->password),
					"password", err, errlen) != 0)
		return -EINVAL;
	u->has_user = u->user[0] != '\0';
	u->has_password = u->password[0] != '\0';
	return 0;
}

static int
parse_db(const char *s, size_t len, struct redis_url *u, char *err, size_t errlen)
{
	unsigned long db = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 6) {
			snprintf(err, errlen, "bad database '/%.*s' (want /N, a number)", (int)len, s);
			return -EINVAL;
		}
		db = db * 10 + (unsigned long)(s[i] - '0');
	}
	u->db = (unsigned)db;
	return 0;
}

static int
fail(char *err, size_t errlen, const char *shown, const char *why)
{
	snprintf(err, errlen, "%s: %s", shown, why);
	return -EINVAL;
}

int
redis_url_parse(const char *url, struct redis_url *u, char *err, size_t errlen)
{
	char shown[320], why[256];
	const char *rest, *at, *auth, *end, *slash;
	bool cluster;

	memset(u, 0, sizeof(*u));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "the Redis URL is empty");
		return -EINVAL;
	}
	redis_url_redact(url, shown, sizeof(shown));
	if (strncmp(url, "null://", 7) == 0) {
		if (url[7] != '\0')
			return fail(err, errlen, shown, "null:// takes nothing after it");
		u->kind = REDIS_URL_NULL;
		return 0;
	}
	if (strncmp(url, "unix://", 7) == 0) {
		rest = url + 7;
		if (rest[0] != '/')
			return fail(err, errlen, shown,
				    "unix:// needs an absolute socket path, e.g. unix:///run/redis.sock");
		if (strlen(rest) >= sizeof(u->path))
			return fail(err, errlen, shown, "unix socket path too long (at most 107 bytes)");
		u->kind = REDIS_URL_UNIX;
		snprintf(u->path, sizeof(u->path), "%s", rest);
		return 0;
	}
	if (strncmp(url, "redis://", 8) == 0) {
		cluster = false;
		rest = url + 8;
	} else if (strncmp(url, "cluster://", 10) == 0) {
		cluster = true;
		rest = url + 10;
	} else {
		return fail(err, errlen, shown,
			    "unknown scheme (want redis://, unix://, cluster:// or null://)");
	}
	u->kind = cluster ? REDIS_URL_CLUSTER : REDIS_URL_TCP;
	at = strrchr(rest, '@');
	auth = rest;
	if (at != NULL) {
		if (parse_userinfo(rest, (size_t)(at - rest), u, why, sizeof(why)) != 0)
			return fail(err, errlen, shown, why);
		auth = at + 1;
	}
	end = auth + strlen(auth);
	slash = strchr(auth, '/');
	if (slash != NULL) {
		if (cluster)
			return fail(err, errlen, shown,
				    "cluster:// takes no /database (a cluster has only db 0)");
		if (parse_db(slash + 1, (size_t)(end - slash - 1), u, why, sizeof(why)) != 0)
			return fail(err, errlen, shown, why);
		end = slash;
	}
	if (!cluster) {
		if (memchr(auth, ',', (size_t)(end - auth)) != NULL)
			return fail(err, errlen, shown,
				    "redis:// takes one host; several seeds need cluster://");
		if (redis_endpoint_parse(auth, (size_t)(end - auth), REDIS_DEFAULT_PORT,
					 &u->seeds[0], why, sizeof(why)) != 0)
			return fail(err, errlen, shown, why);
		u->nseeds = 1;
		return 0;
	}
	for (const char *s = auth;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *se = comma != NULL ? comma : end;
		char w2[200];

		if (u->nseeds == REDIS_URL_MAX_SEEDS) {
			snprintf(why, sizeof(why), "too many seed nodes (at most %d)",
				 REDIS_URL_MAX_SEEDS);
			return fail(err, errlen, shown, why);
		}
		if (se == s) {
			snprintf(why, sizeof(why), "seed %u is empty", u->nseeds + 1);
			return fail(err, errlen, shown, why);
		}
		if (redis_endpoint_parse(s, (size_t)(se - s), REDIS_DEFAULT_PORT,
					 &u->seeds[u->nseeds], w2, sizeof(w2)) != 0) {
			snprintf(why, sizeof(why), "seed %u: %s", u->nseeds + 1, w2);
			return fail(err, errlen, shown, why);
		}
		u->nseeds++;
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	return 0;
}
