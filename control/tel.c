/*
 * chotd's telemetry socket and its replies (see tel.h).
 *
 * The socket is SOCK_SEQPACKET: one read returns one whole message.  DPDK
 * first sends a greeting ({"version": ..., "max_output_len": 16384}), then
 * one reply per command written.
 *
 * The parser is a small recursive descent over the JSON DPDK writes: two
 * levels of dicts are kept (a top dict of counters, or a dict of dicts of
 * counters), anything deeper or of another type is skipped whole and
 * counted, so a newer chotd that adds a string field does not break an
 * older chotctl.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "tel.h"

#define TEL_SKIP_DEPTH 16

int
ctl_tel_query(const char *prefix, const char *cmd, char *buf, size_t len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	ssize_t n;
	int fd, e;

	if (len < 2)
		return -EINVAL;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "/var/run/dpdk/%s/dpdk_telemetry.v2",
			     prefix) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    read(fd, buf, len - 1) < 0 ||          /* the greeting */
	    write(fd, cmd, strlen(cmd)) < 0 || (n = read(fd, buf, len - 1)) <= 0) {
		e = errno ? errno : EIO;
		close(fd);
		return -e;
	}
	buf[n] = '\0';
	close(fd);
	return 0;
}

struct tel_parser {
	const char *p;
	struct ctl_tel_reply *out;
};

static void
ws(struct tel_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
		ps->p++;
}

static bool
eat(struct tel_parser *ps, char c)
{
	ws(ps);
	if (*ps->p != c)
		return false;
	ps->p++;
	return true;
}

/* A JSON string into out (capacity cap), or skipped when out is NULL. */
static int
string(struct tel_parser *ps, char *out, size_t cap)
{
	size_t n = 0;

	if (!eat(ps, '"'))
		return -EINVAL;
	for (;;) {
		char c = *ps->p++;

		if (c == '\0' || (unsigned char)c < 0x20)
			return -EINVAL;
		if (c == '"')
			break;
		if (c == '\\') {
			c = *ps->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			default: return -EINVAL;  /* \u: DPDK never writes it in keys */
			}
		}
		if (out != NULL) {
			if (n + 1 >= cap)
				return -EINVAL;
			out[n++] = c;
		}
	}
	if (out != NULL)
		out[n] = '\0';
	return 0;
}

/* An unsigned integer, or 1 when the value is a number of another kind. */
static int
number(struct tel_parser *ps, uint64_t *v)
{
	const char *s = ps->p;
	bool plain = true;
	char *end;

	if (*s == '-') {
		plain = false;
		s++;
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '.' || *s == 'e' || *s == 'E') {
		plain = false;
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++)
				;
		if (*s == 'e' || *s == 'E') {
			s++;
			if (*s == '+' || *s == '-')
				s++;
			if (*s < '0' || *s > '9')
				return -EINVAL;
			while (*s >= '0' && *s <= '9')
				s++;
		}
	}
	if (plain) {
		errno = 0;
		*v = strtoull(ps->p, &end, 10);
		if (errno == ERANGE)
			plain = false;
	}
	ps->p = s;
	return plain ? 0 : 1;
}

static int
word(struct tel_parser *ps, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(ps->p, w, n) != 0)
		return -EINVAL;
	ps->p += n;
	return 0;
}

/* Skip any JSON value. */
static int
skip(struct tel_parser *ps, int depth)
{
	uint64_t v;
	char open;
	int rc;

	if (depth > TEL_SKIP_DEPTH)
		return -EINVAL;
	ws(ps);
	switch (*ps->p) {
	case '"': return string(ps, NULL, 0);
	case 't': return word(ps, "true");
	case 'f': return word(ps, "false");
	case 'n': return word(ps, "null");
	case '{':
	case '[':
		open = *ps->p++;
		if (eat(ps, open == '{' ? '}' : ']'))
			return 0;
		do {
			if (open == '{' && ((rc = string(ps, NULL, 0)) != 0 || !eat(ps, ':')))
				return -EINVAL;
			if ((rc = skip(ps, depth + 1)) != 0)
				return rc;
		} while (eat(ps, ','));
		return eat(ps, open == '{' ? '}' : ']') ? 0 : -EINVAL;
	default:
		rc = number(ps, &v);
		return rc < 0 ? rc : 0;
	}
}

static int
dict_push(struct ctl_tel_dict *d, const char *key, uint64_t v)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 32;
		struct ctl_tel_kv *kv = realloc(d->kv, cap * sizeof(*kv));

		if (kv == NULL)
			return -ENOMEM;
		d->kv = kv;
		d->cap = cap;
	}
	snprintf(d->kv[d->n].key, sizeof(d->kv[d->n].key), "%s", key);
	d->kv[d->n++].v = v;
	return 0;
}

/* A new dict in the reply; NULL on -ENOMEM. */
static struct ctl_tel_dict *
reply_push(struct ctl_tel_reply *r, const char *name)
{
	struct ctl_tel_dict *d;

	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;

		d = realloc(r->d, cap * sizeof(*d));
		if (d == NULL)
			return NULL;
		r->d = d;
		r->cap = cap;
	}
	d = &r->d[r->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	return d;
}

/*
 * A dict's members: numbers go into *flat (created on first use, named
 * `name`), inner dicts become dicts of their own when `nest`, anything else
 * is skipped and counted.
 */
static int
members(struct tel_parser *ps, const char *name, bool nest)
{
	struct ctl_tel_dict *flat = NULL;
	size_t flat_i = 0;
	char key[CTL_TEL_KEY_MAX];
	uint64_t v;
	int rc;

	if (!eat(ps, '{'))
		return -EINVAL;
	if (eat(ps, '}'))
		return 0;
	do {
		if ((rc = string(ps, key, sizeof(key))) != 0 || !eat(ps, ':'))
			return -EINVAL;
		ws(ps);
		if ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '-') {
			rc = number(ps, &v);
			if (rc < 0)
				return rc;
			if (rc > 0) {
				ps->out->skipped++;
				continue;
			}
			if (flat == NULL) {
				if (reply_push(ps->out, name) == NULL)
					return -ENOMEM;
				flat_i = ps->out->n - 1;
				flat = &ps->out->d[flat_i];
			}
			/* reply_push may move the array: index, not pointer. */
			if ((rc = dict_push(&ps->out->d[flat_i], key, v)) != 0)
				return rc;
		} else if (*ps->p == '{' && nest) {
			if ((rc = members(ps, key, false)) != 0)
				return rc;
			flat = flat ? &ps->out->d[flat_i] : NULL;
		} else {
			if ((rc = skip(ps, 0)) != 0)
				return rc;
			ps->out->skipped++;
		}
	} while (eat(ps, ','));
	return eat(ps, '}') ? 0 : -EINVAL;
}

int
ctl_tel_parse(const char *json, struct ctl_tel_reply *out)
{
	struct tel_parser ps = { .p = json, .out = out };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!eat(&ps, '{') || string(&ps, NULL, 0) != 0 || !eat(&ps, ':')) {
		rc = -EINVAL;
		goto fail;
	}
	ws(&ps);
	if (*ps.p == 'n')
		rc = word(&ps, "null");
	else
		rc = members(&ps, "", true);
	if (rc == 0 && (!eat(&ps, '}') || (ws(&ps), *ps.p != '\0')))
		rc = -EINVAL;
	if (rc == 0)
		return 0;
fail:
	ctl_tel_free(out);
	return rc;
}

void
ctl_tel_free(struct ctl_tel_reply *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->d[i].kv);
	free(r->d);
	memset(r, 0, sizeof(*r));
}

int
ctl_tel_get(const struct ctl_tel_dict *d, const char *key, uint64_t *v)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->kv[i].key, key) == 0) {
			*v = d->kv[i].v;
			return 0;
		}
	return -ENOENT;
}
