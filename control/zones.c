/*
 * The zones CSV parser (see zones.h).  Like the sites parser, it reads and
 * checks the whole file before the caller writes anything, so `zone import`
 * is all or nothing and names the line of the first bad row.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
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
	size_t cap = 0;
	struct ctl_zone *v = NULL;
	uint32_t *first = NULL;   /* line of each commune's first row, 0 = none */
	struct ctl_csv csv = { .f = f, .header = "commune,level", .line_max = CTL_ZONES_LINE_MAX };
	int rc;

	*n = 0;
	first = calloc(CTL_COMMUNE_MAX + 1, sizeof(*first));
	if (first == NULL) {
		snprintf(err, errlen, "out of memory");
		return -EINVAL;
	}
	while ((rc = ctl_csv_next(&csv, line, sizeof(line), err, errlen)) == 0) {
		struct ctl_zone z = { 0 };
		if (parse_row(line, &z, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "line %zu: %s", csv.lineno, why);
			goto bad;
		}
		if (first[z.commune] != 0) {
			snprintf(err, errlen, "line %zu: commune %u again (first on line %u)", csv.lineno,
				 z.commune, first[z.commune]);
			goto bad;
		}
		first[z.commune] = (uint32_t)csv.lineno;
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
	if (rc < 0)
		goto bad;
	free(first);
	*out = v;
	return 0;
bad:
	free(first);
	free(v);
	*n = 0;
	return -EINVAL;
}
