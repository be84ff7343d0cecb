/*
 * The site registry, pure part: lookups, the CSV parser and the name rules.
 * In Redis it is chot:{lists}:sites, a hash of site id -> "kind,commune,name" (name
 * last: it may contain commas), written by `sites import` and read once per
 * lookup (source_redis.c) for dwell by kind and names.
 *
 * The parser validates the whole file before the caller writes anything, so
 * an import is all or nothing, and names the line of the first bad row.  A
 * row is one line (RFC 4180 quoting, but no line breaks inside quotes) of
 * exactly four fields, at most CTL_SITES_LINE_MAX bytes before its line
 * ending: a longer line is refused, never split into two rows as fgets
 * once did.  A UTF-8 BOM before the header (spreadsheets write one) is
 * skipped.  ids are 1..2^32-1 and unique in the file; communes are 0
 * (unknown) .. 99999, the five-digit administrative code.
 *
 * Names are printed raw by `sites list` and the tables, so they must be
 * valid UTF-8 without C0 controls (tab, CR, ESC: ANSI escapes), DEL, C1
 * controls (U+0080..U+009F: 0x9B is a one-byte CSI on some terminals) or
 * the bidirectional overrides and isolates (U+202A..U+202E,
 * U+2066..U+2069), which reorder what a terminal shows.  Overlong forms,
 * surrogates and code points above U+10FFFF are invalid UTF-8.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "parse.h"
#include "sites.h"

#define COMMUNE_MAX 99999

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

/*
 * The next code point of a name at s: its length in bytes, or 0 when the
 * bytes there are not an allowed character (why says which rule).
 */
static size_t
name_char(const unsigned char *s, const char **why)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x20 || s[0] == 0x7f) {
		*why = "a control character";
		return 0;
	}
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		*why = "invalid UTF-8";
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*why = "invalid UTF-8";
			return 0;
		}
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff)) {
		*why = "invalid UTF-8";
		return 0;
	}
	if (cp <= 0x9f) {
		*why = "a control character";
		return 0;
	}
	if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) {
		*why = "a bidirectional control";
		return 0;
	}
	return n;
}

int
ctl_site_name_check(const char *name, char *why, size_t whylen)
{
	const unsigned char *s = (const unsigned char *)name;
	const char *reason = NULL;

	for (size_t i = 0; s[i] != '\0';) {
		size_t n = name_char(s + i, &reason);

		if (n == 0) {
			if (why != NULL)
				snprintf(why, whylen, "has %s (byte %zu is 0x%02x)", reason, i + 1,
					 s[i]);
			return -EINVAL;
		}
		i += n;
	}
	return 0;
}

void
ctl_site_name_clean(char *name)
{
	unsigned char *s = (unsigned char *)name;
	const char *reason;

	for (size_t i = 0; s[i] != '\0';) {
		size_t n = name_char(s + i, &reason);

		if (n == 0) {
			/* Replace the lead byte; continuation bytes (now
			 * unattached) fail in turn and are replaced too. */
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

/*
 * One CSV field (RFC 4180 quotes) from *p into out (at least as large as the
 * line); advances past the comma.  1 when a comma followed (more fields), 0
 * at the end of the line, -EINVAL for an unterminated quote or text after
 * the closing quote.
 */
static int
csv_field(const char **p, char *out)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '"') {
		for (s++;; s++) {
			if (*s == '\0')
				return -EINVAL;
			if (*s == '"') {
				if (s[1] != '"')
					break;
				s++;
			}
			out[n++] = *s;
		}
		s++;
		if (*s != ',' && *s != '\0')
			return -EINVAL;
	} else {
		while (*s != ',' && *s != '\0')
			out[n++] = *s++;
	}
	out[n] = '\0';
	*p = *s == ',' ? s + 1 : s;
	return *s == ',';
}

/* A row's four fields into s; 0 or -EINVAL with err set. */
static int
parse_row(const char *line, struct ctl_site *s, char *err, size_t errlen)
{
	static char f[4][CTL_SITES_LINE_MAX + 1];
	const char *p = line;
	char why[96];
	uint64_t v;
	int nf = 0, more = 1, rc;

	while (more == 1) {
		if (nf == 4) {
			snprintf(err, errlen, "more than 4 fields (id,name,kind,commune)");
			return -EINVAL;
		}
		more = csv_field(&p, f[nf]);
		if (more < 0) {
			snprintf(err, errlen, "field %d: unterminated quote or text after the "
				 "closing quote", nf + 1);
			return -EINVAL;
		}
		nf++;
	}
	if (nf < 4) {
		snprintf(err, errlen, "%d field%s, expected 4 (id,name,kind,commune)", nf,
			 nf == 1 ? "" : "s");
		return -EINVAL;
	}
	rc = ctl_parse_u64(f[0], 1, UINT32_MAX, &v);
	if (rc != 0) {
		snprintf(err, errlen, "site id '%.32s' is not a whole number in 1..4294967295",
			 f[0]);
		return -EINVAL;
	}
	s->id = (uint32_t)v;
	if (strlen(f[1]) >= sizeof(s->name)) {
		snprintf(err, errlen, "name is %zu bytes, at most %zu", strlen(f[1]),
			 sizeof(s->name) - 1);
		return -EINVAL;
	}
	if (ctl_site_name_check(f[1], why, sizeof(why)) != 0) {
		snprintf(err, errlen, "name %s", why);
		return -EINVAL;
	}
	memcpy(s->name, f[1], strlen(f[1]) + 1);
	s->kind = rules_kind_from_name(f[2]);
	if (s->kind == KIND_UNKNOWN) {
		snprintf(err, errlen, "kind '%.32s' is not checkpoint, venue, market, testing or "
			 "other", f[2]);
		return -EINVAL;
	}
	if (ctl_parse_u64(f[3], 0, COMMUNE_MAX, &v) != 0) {
		snprintf(err, errlen, "commune '%.32s' is not a whole number in 0..%u", f[3],
			 COMMUNE_MAX);
		return -EINVAL;
	}
	s->commune = (uint32_t)v;
	return 0;
}

struct id_line {
	uint32_t id;
	size_t line;
};

static int
id_line_cmp(const void *a, const void *b)
{
	const struct id_line *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* The first line (in file order) repeating an earlier row's id; 0 if none. */
static int
find_duplicate(const struct id_line *rows, size_t n, char *err, size_t errlen)
{
	struct id_line *v = malloc((n ? n : 1) * sizeof(*v));
	size_t worst = 0;

	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memcpy(v, rows, n * sizeof(*v));
	qsort(v, n, sizeof(*v), id_line_cmp);
	for (size_t i = 1; i < n; i++)
		if (v[i].id == v[i - 1].id && (worst == 0 || v[i].line < v[worst].line))
			worst = i;
	if (worst != 0) {
		size_t first = worst;

		while (first > 0 && v[first - 1].id == v[worst].id)
			first--;
		snprintf(err, errlen, "line %zu: site id %u repeats line %zu", v[worst].line,
			 v[worst].id, v[first].line);
	}
	free(v);
	return worst != 0 ? -EINVAL : 0;
}

int
ctl_sites_parse_csv(FILE *f, struct ctl_site **out, size_t *n, char *err, size_t errlen)
{
	static char line[CTL_SITES_LINE_MAX + 3];
	char why[200];
	size_t cap = 0;
	struct ctl_site *v = NULL;
	struct id_line *rows = NULL;
	struct ctl_csv csv = { .f = f, .header = "id,name,kind,commune", .line_max = CTL_SITES_LINE_MAX };
	int rc;

	*n = 0;
	while ((rc = ctl_csv_next(&csv, line, sizeof(line), err, errlen)) == 0) {
		struct ctl_site s = { 0 };
		if (parse_row(line, &s, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "line %zu: %s", csv.lineno, why);
			goto bad;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			void *nv = realloc(v, ncap * sizeof(*v)), *nr;

			if (nv != NULL)
				v = nv;
			nr = nv != NULL ? realloc(rows, ncap * sizeof(*rows)) : NULL;
			if (nr == NULL) {
				snprintf(err, errlen, "out of memory");
				goto bad;
			}
			rows = nr;
			cap = ncap;
		}
		rows[*n] = (struct id_line){ s.id, csv.lineno };
		v[(*n)++] = s;
	}
	if (rc < 0)
		goto bad;
	if (find_duplicate(rows, *n, err, errlen) != 0)
		goto bad;
	free(rows);
	*out = v;
	return 0;
bad:
	free(rows);
	free(v);
	*n = 0;
	return -EINVAL;
}
