/*
 * chotctl alerts, pure part (see alerts.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "format.h"
#include "lists.h"
#include "parse.h"
#include "sites.h"
#include "validate.h"

enum { F_TS, F_SITE, F_PID, F_SCHEME, F_REASONS, F_DEVICE, F_ORIGIN, F_N };
static const char *const field_names[F_N] = {
	"ts_ms", "site", "pid", "scheme", "reasons", "device", "origin_commune",
};

/* A copy of s[0..len) into buf when it fits; else NULL. */
static const char *
cstr(char *buf, size_t cap, const char *s, size_t len)
{
	if (len >= cap || memchr(s, '\0', len) != NULL)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static int
stream_id_ok(const char *id, size_t len)
{
	size_t i = 0, a, b;

	for (a = 0; i < len && id[i] >= '0' && id[i] <= '9'; i++, a++)
		;
	if (a == 0 || a > 20 || i >= len || id[i++] != '-')
		return 0;
	for (b = 0; i < len && id[i] >= '0' && id[i] <= '9'; i++, b++)
		;
	return b > 0 && b <= 20 && i == len;
}

static int
reasons_decode(const char *s, uint16_t *mask)
{
	char item[32];
	uint16_t m = 0;

	while (*s) {
		size_t n = strcspn(s, ",");
		int i;

		if (n == 0 || n >= sizeof(item))
			return -EINVAL;
		memcpy(item, s, n);
		item[n] = '\0';
		if ((i = chk_index_by_name(item)) < 0 || (m & (1u << i)))
			return -EINVAL;
		m |= (uint16_t)(1u << i);
		s += n;
		if (*s == ',' && *++s == '\0')
			return -EINVAL;
	}
	if (m == 0)
		return -EINVAL;
	*mask = m;
	return 0;
}

int
ctl_alert_decode(struct ctl_alert *a, const char *id, size_t idlen, const char *const *f,
		 const size_t *fl, size_t nf, char *why, size_t whylen)
{
	const char *val[F_N] = { 0 };
	size_t vlen[F_N] = { 0 };
	char buf[256];
	const char *s;
	uint64_t v;
	int sc;

	memset(a, 0, sizeof(*a));
	if (!stream_id_ok(id, idlen)) {
		snprintf(why, whylen, "not a stream id");
		return -EINVAL;
	}
	memcpy(a->id, id, idlen);
	a->id[idlen] = '\0';
	if (nf % 2 != 0) {
		snprintf(why, whylen, "%s: odd number of field strings", a->id);
		return -EINVAL;
	}
	for (size_t i = 0; i + 1 < nf; i += 2)
		for (int k = 0; k < F_N; k++)
			if (fl[i] == strlen(field_names[k]) &&
			    memcmp(f[i], field_names[k], fl[i]) == 0) {
				if (val[k] != NULL) {
					snprintf(why, whylen, "%s: field %s twice", a->id,
						 field_names[k]);
					return -EINVAL;
				}
				val[k] = f[i + 1];
				vlen[k] = fl[i + 1];
			}
	for (int k = 0; k < F_N; k++) {
		if (val[k] == NULL) {
			snprintf(why, whylen, "%s: no %s field", a->id, field_names[k]);
			return -EINVAL;
		}
		if ((s = cstr(buf, sizeof(buf), val[k], vlen[k])) == NULL)
			goto bad;
		switch (k) {
		case F_TS:
			if (ctl_parse_u64(s, 0, CTL_TIME_MAX_MS, &a->ts_ms) != 0)
				goto bad;
			break;
		case F_SITE:
		case F_DEVICE:
		case F_ORIGIN:
			if (ctl_parse_u64(s, 0, UINT32_MAX, &v) != 0)
				goto bad;
			*(k == F_SITE ? &a->site : k == F_DEVICE ? &a->device :
			  &a->origin_commune) = (uint32_t)v;
			break;
		case F_PID:
			if (vlen[k] != PID_HEX_LEN || chot_pid_parse(a->pid, s) != 0)
				goto bad;
			break;
		case F_SCHEME:
			sc = wire_scheme_from_name(s);
			if (sc < 0 && ctl_parse_u64(s, 1, SCHEME__MAX, &v) == 0)
				sc = (int)v;
			if (sc <= 0)
				goto bad;
			a->scheme = (uint8_t)sc;
			break;
		case F_REASONS:
			if (reasons_decode(s, &a->mask) != 0)
				goto bad;
			break;
		}
		continue;
bad:
		snprintf(why, whylen, "%s: bad %s", a->id, field_names[k]);
		return -EINVAL;
	}
	return 0;
}

bool
ctl_alert_match(const struct ctl_alert *a, const struct ctl_alert_filter *flt)
{
	if (a->ts_ms < flt->since_ms)
		return false;
	if (flt->reasons != 0 && !(a->mask & flt->reasons))
		return false;
	return !flt->has_site || a->site == flt->site;
}

/* ---- the duplicate set ---- */

struct seen_key {
	uint8_t pid[PID_LEN];
	uint64_t ts_ms;
	uint32_t site;
	uint32_t used;            /* 0: empty slot */
};

struct ctl_seen {
	struct seen_key *gen[2];  /* gen[0] current, gen[1] previous */
	size_t cap, mask, count, keep;
};

static uint64_t
key_hash(const struct ctl_alert *a)
{
	uint64_t h = 1469598103934665603ULL;

	for (int i = 0; i < PID_LEN; i++)
		h = (h ^ a->pid[i]) * 1099511628211ULL;
	h = (h ^ a->ts_ms) * 1099511628211ULL;
	h = (h ^ a->site) * 1099511628211ULL;
	return h ^ (h >> 29);
}

struct ctl_seen *
ctl_seen_new(size_t keep)
{
	struct ctl_seen *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->keep = keep ? keep : 1;
	for (s->cap = 16; s->cap < 2 * s->keep; s->cap *= 2)
		;
	s->mask = s->cap - 1;
	s->gen[0] = calloc(s->cap, sizeof(struct seen_key));
	s->gen[1] = calloc(s->cap, sizeof(struct seen_key));
	if (s->gen[0] == NULL || s->gen[1] == NULL) {
		ctl_seen_free(s);
		return NULL;
	}
	return s;
}

/* The slot of a's key in g: its own, or the empty one where it would go. */
static struct seen_key *
slot(const struct ctl_seen *s, struct seen_key *g, const struct ctl_alert *a, uint64_t h)
{
	for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
		struct seen_key *k = &g[i];

		if (!k->used || (k->ts_ms == a->ts_ms && k->site == a->site &&
				 memcmp(k->pid, a->pid, PID_LEN) == 0))
			return k;
	}
}

bool
ctl_seen_add(struct ctl_seen *s, const struct ctl_alert *a)
{
	uint64_t h = key_hash(a);
	struct seen_key *k;

	if (slot(s, s->gen[1], a, h)->used)
		return false;
	k = slot(s, s->gen[0], a, h);
	if (k->used)
		return false;
	if (s->count == s->keep) {   /* current full (half the table): age it */
		struct seen_key *t = s->gen[1];

		memset(t, 0, s->cap * sizeof(*t));
		s->gen[1] = s->gen[0];
		s->gen[0] = t;
		s->count = 0;
		k = slot(s, s->gen[0], a, h);
	}
	memcpy(k->pid, a->pid, PID_LEN);
	k->ts_ms = a->ts_ms;
	k->site = a->site;
	k->used = 1;
	s->count++;
	return true;
}

bool
ctl_seen_has(const struct ctl_seen *s, const struct ctl_alert *a)
{
	uint64_t h = key_hash(a);

	return slot(s, s->gen[1], a, h)->used || slot(s, s->gen[0], a, h)->used;
}

void
ctl_seen_free(struct ctl_seen *s)
{
	if (s == NULL)
		return;
	free(s->gen[0]);
	free(s->gen[1]);
	free(s);
}

/* ---- output ---- */

void
ctl_alert_header(struct ctl_app *app, bool with_id)
{
	FILE *f = app->o;

	if (app->out == OUT_JSON)
		return;
	if (app->out == OUT_CSV) {
		fprintf(f, "alert_id,ts_ms,site,pid,%sscheme,reasons,device,origin_commune\r\n",
			with_id ? "id," : "");
		return;
	}
	fputs("  ", f);
	ctl_pad(f, ctl_tr(app, "Time"), 17);
	ctl_pad(f, ctl_tr(app, "Site"), 24);
	ctl_pad(f, with_id ? ctl_tr(app, "Identity") : "pid", with_id ? 14 : 34);
	ctl_pad(f, ctl_tr(app, "Scheme"), 10);
	ctl_pad(f, ctl_tr(app, "Device"), 11);
	ctl_pad(f, ctl_tr(app, "Origin"), 8);
	fprintf(f, "%s\n", ctl_tr(app, "Reasons"));
}

void
ctl_alert_print(struct ctl_app *app, const struct ctl_alert *a, const char *id)
{
	FILE *f = app->o;
	char hex[PID_HEX_LEN + 1], names[256], t[32], site[160];
	const struct ctl_site *s;

	chot_pid_hex(hex, a->pid);
	if (chk_mask_names(names, sizeof(names), a->mask) < 0)
		names[0] = '\0';
	if (app->out == OUT_JSON) {
		fprintf(f, "{\"alert_id\": \"%s\", \"ts_ms\": %llu, \"site\": %u, \"pid\": \"%s\", ",
			a->id, (unsigned long long)a->ts_ms, a->site, hex);
		if (id != NULL) {
			fputs("\"id\": ", f);
			ctl_json_str(f, id);
			fputs(", ", f);
		}
		fprintf(f, "\"scheme\": \"%s\", \"reasons\": [", wire_scheme_name(a->scheme));
		for (int i = 0, n = 0; i < CHK_NREASONS; i++)
			if (a->mask & (1u << i))
				fprintf(f, "%s\"%s\"", n++ ? ", " : "", chk_reasons[i].name);
		fprintf(f, "], \"device\": %u, \"origin_commune\": %u}\n", a->device,
			a->origin_commune);
		return;
	}
	if (app->out == OUT_CSV) {
		fprintf(f, "%s,%llu,%u,%s,", a->id, (unsigned long long)a->ts_ms, a->site, hex);
		if (id != NULL) {
			ctl_csv_str(f, id);
			fputc(',', f);
		}
		fprintf(f, "%s,", wire_scheme_name(a->scheme));
		ctl_csv_str(f, names);
		fprintf(f, ",%u,%u\r\n", a->device, a->origin_commune);
		return;
	}
	ctl_format_time(t, sizeof(t), a->ts_ms);
	s = ctl_site_find(app, a->site);
	snprintf(site, sizeof(site), "%u %s", a->site, s != NULL ? s->name : "");
	fprintf(f, "  %-16s ", t);
	ctl_pad(f, site, 24);
	ctl_pad(f, id != NULL ? id : hex, id != NULL ? 14 : 34);
	ctl_pad(f, wire_scheme_name(a->scheme), 10);
	fprintf(f, "%-10u %-7u %s\n", a->device, a->origin_commune, names);
}
