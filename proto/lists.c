/*
 * The checkpoint loop's list encodings and reasons (see lists.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lists.h"

const struct chk_reason chk_reasons[CHK_NREASONS] = {
	[CHK_WATCH_F0]          = { 16, "watch_f0",          CHK_RED },
	[CHK_WATCH_QUARANTINE]  = { 19, "watch_quarantine",  CHK_RED },
	[CHK_WATCH_F1]          = { 17, "watch_f1",          CHK_RED },
	[CHK_ZONE_RED]          = { 33, "zone_red",          CHK_RED },
	[CHK_DECL_SYMPTOMS]     = { 48, "decl_symptoms",     CHK_RED },
	[CHK_WATCH_F2]          = { 18, "watch_f2",          CHK_AMBER },
	[CHK_ZONE_ORANGE]       = { 32, "zone_orange",       CHK_AMBER },
	[CHK_DECL_EXPOSED]      = { 49, "decl_exposed",      CHK_AMBER },
	[CHK_GREENLANE_UNKNOWN] = { 64, "greenlane_unknown", CHK_AMBER },
	[CHK_OFF_ROUTE]         = { 65, "off_route",         CHK_AMBER },
	[CHK_GREENLANE_EXPIRED] = { 66, "greenlane_expired", CHK_AMBER },
	[CHK_PASSENGERS_OVER]   = { 67, "passengers_over",   CHK_AMBER },
};

static const char *const watch_names[] = {
	[WATCH_F2] = "f2", [WATCH_F1] = "f1", [WATCH_QUARANTINE] = "quarantine", [WATCH_F0] = "f0",
};

const char *
lists_watch_name(enum watch_status s)
{
	return s > WATCH_NONE && s <= WATCH_F0 ? watch_names[s] : NULL;
}

int
lists_watch_by_name(const char *name, enum watch_status *s)
{
	for (int i = WATCH_F2; i <= WATCH_F0; i++)
		if (strcmp(name, watch_names[i]) == 0) {
			*s = (enum watch_status)i;
			return 0;
		}
	return -EINVAL;
}

uint64_t
lists_watch_default_ms(enum watch_status s)
{
	return (s == WATCH_F0 || s == WATCH_QUARANTINE ? 21ULL : 14ULL) * 86400000ULL;
}

static const char *const zone_en[] = { NULL, "green", "yellow", "orange", "red" };
static const char *const zone_vi[] = { NULL, "xanh", "vàng", "cam", "đỏ" };
static const char *const zone_vi_plain[] = { NULL, "xanh", "vang", "cam", "do" };

const char *
lists_zone_name(enum zone_level l, bool vi)
{
	if (l < ZONE_GREEN || l > ZONE_RED)
		return NULL;
	return vi ? zone_vi[l] : zone_en[l];
}

int
lists_zone_by_name(const char *name, enum zone_level *l)
{
	for (int i = ZONE_GREEN; i <= ZONE_RED; i++) {
		char digit[2] = { (char)('0' + i), 0 };

		if (strcmp(name, digit) == 0 || strcasecmp(name, zone_en[i]) == 0 ||
		    strcasecmp(name, zone_vi_plain[i]) == 0 || strcmp(name, zone_vi[i]) == 0) {
			*l = (enum zone_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Strict unsigned decimal at *p (no sign, no leading '+', at most 20 digits). */
static int
parse_u64(const char **p, const char *end, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return 0;
}

static int
expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int
lists_watch_encode(char *out, size_t cap, const struct watch_entry *e)
{
	const char *name = lists_watch_name(e->status);
	int n;

	if (name == NULL)
		return -EINVAL;
	n = snprintf(out, cap, "%s %llu %llu%s%s", name, (unsigned long long)e->set_ms,
		     (unsigned long long)e->until_ms, e->note[0] ? " " : "", e->note);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int
lists_watch_decode(const char *v, size_t len, struct watch_entry *e)
{
	const char *p = v, *end = v + len, *sp = memchr(v, ' ', len);
	char name[16];
	size_t nl;

	if (sp == NULL || (nl = (size_t)(sp - v)) >= sizeof(name))
		return -EINVAL;
	memcpy(name, v, nl);
	name[nl] = 0;
	if (lists_watch_by_name(name, &e->status) < 0)
		return -EINVAL;
	p = sp + 1;
	if (parse_u64(&p, end, UINT64_MAX, &e->set_ms) < 0 || expect(&p, end, ' ') < 0 ||
	    parse_u64(&p, end, UINT64_MAX, &e->until_ms) < 0)
		return -EINVAL;
	e->note[0] = 0;
	if (p < end) {
		size_t n;

		if (expect(&p, end, ' ') < 0 || (n = (size_t)(end - p)) > LISTS_NOTE_MAX ||
		    memchr(p, 0, n) != NULL)
			return -EINVAL;
		memcpy(e->note, p, n);
		e->note[n] = 0;
	}
	return 0;
}

int
lists_zone_decode(const char *v, size_t len, enum zone_level *l)
{
	if (len != 1 || v[0] < '1' || v[0] > '4')
		return -EINVAL;
	*l = (enum zone_level)(v[0] - '0');
	return 0;
}

int
lists_greenlane_encode(char *out, size_t cap, const struct greenlane_entry *e)
{
	size_t off;
	int n;

	if (e->nroute == 0 || e->nroute > LISTS_ROUTE_MAX)
		return -EINVAL;
	n = snprintf(out, cap, "%llu %llu %u ", (unsigned long long)e->from_ms,
		     (unsigned long long)e->to_ms, e->passengers);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	off = (size_t)n;
	for (uint32_t i = 0; i < e->nroute; i++) {
		n = snprintf(out + off, cap - off, "%s%u", i ? "," : "", e->route[i]);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}

int
lists_greenlane_decode(const char *v, size_t len, struct greenlane_entry *e)
{
	const char *p = v, *end = v + len;
	uint64_t x;

	if (parse_u64(&p, end, UINT64_MAX, &e->from_ms) < 0 || expect(&p, end, ' ') < 0 ||
	    parse_u64(&p, end, UINT64_MAX, &e->to_ms) < 0 || expect(&p, end, ' ') < 0 ||
	    parse_u64(&p, end, UINT32_MAX, &x) < 0 || expect(&p, end, ' ') < 0)
		return -EINVAL;
	e->passengers = (uint32_t)x;
	e->nroute = 0;
	for (;;) {
		if (e->nroute == LISTS_ROUTE_MAX || parse_u64(&p, end, UINT32_MAX, &x) < 0 || x == 0)
			return -EINVAL;
		e->route[e->nroute++] = (uint32_t)x;
		if (p == end)
			return 0;
		if (expect(&p, end, ',') < 0)
			return -EINVAL;
	}
}

uint16_t
chk_verdict_code(uint16_t mask)
{
	mask &= (1u << CHK_NREASONS) - 1;
	return mask ? chk_reasons[__builtin_ctz(mask)].code : CHK_CLEAR;
}

int
chk_index_by_code(uint16_t code)
{
	for (int i = 0; i < CHK_NREASONS; i++)
		if (chk_reasons[i].code == code)
			return i;
	return -1;
}

int
chk_index_by_name(const char *name)
{
	for (int i = 0; i < CHK_NREASONS; i++)
		if (strcmp(chk_reasons[i].name, name) == 0)
			return i;
	return -1;
}

int
chk_mask_names(char *out, size_t cap, uint16_t mask)
{
	size_t off = 0;

	if (cap == 0)
		return -ENOSPC;
	out[0] = 0;
	for (int i = 0; i < CHK_NREASONS; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(out + off, cap - off, "%s%s", off ? "," : "", chk_reasons[i].name);
		if (n < 0 || (size_t)n >= cap - off)
			return -ENOSPC;
		off += (size_t)n;
	}
	return (int)off;
}
