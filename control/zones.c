/*
 * The zones CSV parser (see zones.h).  Like the sites parser, it reads and
 * checks the whole file before the caller writes anything, so `zone import`
 * is all or nothing and names the line of the first bad row.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "zones.h"

int
ctl_zone_commune(const char *s, uint32_t *commune)
{
	uint64_t v;

	if (ctl_parse_u64(s, CTL_COMMUNE_MIN, CTL_COMMUNE_MAX, &v) != 0)
		return -EINVAL;
	*commune = (uint32_t)v;
	return 0;
}

/* One line without its ending: 1 at EOF, 0, -E2BIG, -EILSEQ (NUL), -EIO. */
static int
read_line(FILE *f, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	bool nul = false, big = false;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n + 1 >= cap) {
			big = true;   /* read on to the line's end, so the count stays right */
			continue;
		}
		nul |= c == '\0';
		buf[n++] = (char)c;
	}
	if (ferror(f))
		return -EIO;
	if (c == EOF && n == 0 && !big)
		return 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (big || n > CTL_ZONES_LINE_MAX)
		return -E2BIG;
	if (nul)
		return -EILSEQ;
	*len = n;
	return 0;
}

/* A field up to ',' or the end, optionally quoted (no quote inside): 1 when a
 * comma followed (more fields), 0 at the end of the line, -EINVAL. */
static int
field(char **p, char **out)
{
	char *s = *p, *e;

	if (*s == '"') {
		e = strchr(s + 1, '"');
		if (e == NULL)
			return -EINVAL;
		*e = '\0';
		*out = s + 1;
		s = e + 1;
		if (*s != ',' && *s != '\0')
			return -EINVAL;
	} else {
		*out = s;
		s += strcspn(s, ",");
		if (memchr(*out, '"', (size_t)(s - *out)) != NULL)
			return -EINVAL;
	}
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	*s++ = '\0';
	*p = s;
	return 1;
}

static int
parse_row(char *line, struct ctl_zone *z, char *why, size_t whylen)
{
	char *p = line, *commune, *level;
	int a, b = -1;

	if ((a = field(&p, &commune)) < 0 || (a == 1 && (b = field(&p, &level)) < 0)) {
		snprintf(why, whylen, "a quote out of place");
		return -EINVAL;
	}
	if (a != 1 || b != 0) {
		snprintf(why, whylen, "expected 2 fields (commune,level)");
		return -EINVAL;
	}
	if (ctl_zone_commune(commune, &z->commune) != 0) {
		snprintf(why, whylen, "commune '%.40s' is not a whole number in %u..%u", commune,
			 CTL_COMMUNE_MIN, CTL_COMMUNE_MAX);
		return -EINVAL;
	}
	if (lists_zone_by_name(level, &z->level) != 0) {
		snprintf(why, whylen, "level '%.40s' is not 1..4, green, yellow, orange, red, "
			 "xanh, vàng, cam or đỏ", level);
		return -EINVAL;
	}
	return 0;
}

int
ctl_zones_parse_csv(FILE *f, struct ctl_zone **out, size_t *n, char *err, size_t errlen)
{
	char line[CTL_ZONES_LINE_MAX + 3], why[200];
	size_t cap = 0, lineno = 0, len;
	struct ctl_zone *v = NULL;
	uint32_t *first = NULL;   /* line of each commune's first row, 0 = none */
	int rc;

	*n = 0;
	first = calloc(CTL_COMMUNE_MAX + 1, sizeof(*first));
	if (first == NULL) {
		snprintf(err, errlen, "out of memory");
		return -EINVAL;
	}
	while ((rc = read_line(f, line, sizeof(line), &len)) != 1) {
		struct ctl_zone z = { 0 };
		char *p = line;

		lineno++;
		if (rc == -E2BIG) {
			snprintf(err, errlen, "line %zu: longer than %d bytes", lineno,
				 CTL_ZONES_LINE_MAX);
			goto bad;
		}
		if (rc == -EILSEQ) {
			snprintf(err, errlen, "line %zu: holds a NUL byte", lineno);
			goto bad;
		}
		if (rc != 0) {
			snprintf(err, errlen, "line %zu: read error: %s", lineno, strerror(-rc));
			goto bad;
		}
		if (lineno == 1) {
			if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
				p += 3;
			if (strcmp(p, "commune,level") != 0) {
				snprintf(err, errlen, "line 1: header must be commune,level");
				goto bad;
			}
			continue;
		}
		if (line[strspn(line, " \t")] == '\0')
			continue;
		if (parse_row(line, &z, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "line %zu: %s", lineno, why);
			goto bad;
		}
		if (first[z.commune] != 0) {
			snprintf(err, errlen, "line %zu: commune %u again (first on line %u)", lineno,
				 z.commune, first[z.commune]);
			goto bad;
		}
		first[z.commune] = (uint32_t)lineno;
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct ctl_zone *nv = realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			v = nv;
			cap = ncap;
		}
		v[(*n)++] = z;
	}
	if (lineno == 0) {
		snprintf(err, errlen, "line 1: empty file, expected the header commune,level");
		goto bad;
	}
	free(first);
	*out = v;
	return 0;
bad:
	free(first);
	free(v);
	*n = 0;
	return -EINVAL;
}
