/*
 * The site registry, pure part: lookups and the CSV parser.  In Redis it is
 * chot:sites, a hash of site id -> "kind,commune,name" (name last: it may
 * contain commas), written by `sites import` and read once per lookup
 * (source_redis.c) for dwell by kind and names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int
site_cmp(const void *a, const void *b)
{
	const struct ctl_site *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void
ctl_sites_sort(struct ctl_site *v, size_t n)
{
	qsort(v, n, sizeof(*v), site_cmp);
}

const struct ctl_site *
ctl_site_find(const struct ctl_app *app, uint32_t id)
{
	struct ctl_site key = { .id = id };

	if (app->n_sites == 0)
		return NULL;
	return bsearch(&key, app->sites, app->n_sites, sizeof(key), site_cmp);
}

/* One CSV field (RFC 4180 quotes) from *p; advances past the comma. */
static int
csv_field(char **p, char *out, size_t len)
{
	char *s = *p;
	size_t n = 0;

	if (*s == '"') {
		s++;
		for (;;) {
			if (*s == '\0')
				return -1;
			if (*s == '"' && s[1] == '"') {
				s++;
			} else if (*s == '"') {
				s++;
				break;
			}
			if (n + 1 < len)
				out[n++] = *s;
			s++;
		}
	} else {
		while (*s != ',' && *s != '\0' && *s != '\n' && *s != '\r') {
			if (n + 1 < len)
				out[n++] = *s;
			s++;
		}
	}
	out[n] = '\0';
	if (*s == ',')
		s++;
	*p = s;
	return 0;
}

int
ctl_sites_parse_csv(FILE *f, struct ctl_site **out, size_t *n, char *err, size_t errlen)
{
	char line[1024];
	size_t cap = 0, lineno = 0;
	struct ctl_site *v = NULL;

	*n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char id[32], name[256], kind[32], commune[32], *p = line, *end = NULL;
		struct ctl_site s = { 0 };

		lineno++;
		if (lineno == 1) {
			if (strncmp(line, "id,name,kind,commune", 20) != 0) {
				snprintf(err, errlen, "line 1: header must be id,name,kind,commune");
				goto bad;
			}
			continue;
		}
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (csv_field(&p, id, sizeof(id)) || csv_field(&p, name, sizeof(name)) ||
		    csv_field(&p, kind, sizeof(kind)) || csv_field(&p, commune, sizeof(commune))) {
			snprintf(err, errlen, "line %zu: unterminated quote", lineno);
			goto bad;
		}
		s.id = (uint32_t)strtoul(id, &end, 10);
		if (end == id || *end != '\0' || s.id == 0) {
			snprintf(err, errlen, "line %zu: site id '%s' is not a number >= 1", lineno, id);
			goto bad;
		}
		s.kind = rules_kind_from_name(kind);
		if (s.kind == KIND_UNKNOWN) {
			snprintf(err, errlen, "line %zu: kind '%s' is not checkpoint, venue, market, "
				 "testing or other", lineno, kind);
			goto bad;
		}
		s.commune = (uint32_t)strtoul(commune, NULL, 10);
		snprintf(s.name, sizeof(s.name), "%.*s", (int)sizeof(s.name) - 1, name);
		if (*n == cap) {
			void *nv = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (nv == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			v = nv;
		}
		v[(*n)++] = s;
	}
	*out = v;
	return 0;
bad:
	free(v);
	*n = 0;
	return -EINVAL;
}
