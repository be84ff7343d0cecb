/*
 * The one Redis URL parser (DESIGN §4, §8), shared by chotd (redis.url),
 * chotctl (-r) and the tools.  Forms:
 *
 *   redis://[user[:password]@]host[:port][/db]   one node over TCP
 *   unix:///absolute/path.sock                   one node over a unix socket
 *   cluster://[user[:password]@]h1:p1,h2:p2,...  Redis Cluster seed nodes
 *   null://                                      no Redis (chotd's null store)
 *
 * A host is a name, an IPv4 address or an IPv6 address in brackets
 * ("[::1]:7000"); the port is 1..65535, default 6379, digits only.  The user
 * and the password are percent-decoded ("p%40ss" is "p@ss"); a user with an
 * empty password ("user@host" or "user:@host") has has_password false.  An
 * error names the problem and never the password (redis_url_redact()).
 *
 * Pure: no allocation, no I/O, no hiredis.
 */
#ifndef CHOT_REDIS_URL_H
#define CHOT_REDIS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REDIS_URL_MAX_SEEDS 16
#define REDIS_DEFAULT_PORT 6379

enum redis_url_kind { REDIS_URL_TCP, REDIS_URL_UNIX, REDIS_URL_CLUSTER, REDIS_URL_NULL };

struct redis_endpoint {
	char host[256];      /* without the IPv6 brackets */
	uint16_t port;
};

struct redis_url {
	enum redis_url_kind kind;
	char path[108];                 /* REDIS_URL_UNIX: the socket path */
	unsigned nseeds;                /* TCP: 1; CLUSTER: 1..REDIS_URL_MAX_SEEDS */
	struct redis_endpoint seeds[REDIS_URL_MAX_SEEDS];
	unsigned db;                    /* TCP: the "/db" suffix, default 0 */
	char user[128];
	char password[256];
	bool has_user, has_password;
};

/*
 * Parse url into *u (zeroed first).  0, or -EINVAL with a one-line reason in
 * err (which may quote the URL with its password replaced by "***").
 */
int redis_url_parse(const char *url, struct redis_url *u, char *err, size_t errlen);

/* "redis", "unix", "cluster" or "null". */
const char *redis_url_kind_name(enum redis_url_kind kind);

/*
 * Copy url into out with the password of its userinfo replaced by "***", for
 * logs and error messages.  Always NUL-terminates (truncating if needed).
 */
void redis_url_redact(const char *url, char *out, size_t outlen);

/* "host:port", or "[v6]:port" for an IPv6 address.  Returns out. */
char *redis_endpoint_format(const struct redis_endpoint *ep, char *out, size_t outlen);

/*
 * Parse one "host[:port]" / "[v6][:port]" of len bytes (not NUL-terminated);
 * default_port when there is none.  0 or -EINVAL with a reason in err.
 */
int redis_endpoint_parse(const char *s, size_t len, uint16_t default_port,
			 struct redis_endpoint *ep, char *err, size_t errlen);

/* Same endpoint (host compared case-insensitively)? */
bool redis_endpoint_equal(const struct redis_endpoint *a, const struct redis_endpoint *b);

#endif /* CHOT_REDIS_URL_H */
