/*
 * Parsers for the list arguments (see lists_args.h): the whole string or
 * nothing, like parse.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lists_args.h"
#include "parse.h"

/* The next comma-separated item of *p into buf; 1, 0 at the end, -EINVAL
 * for an empty or too long item. */
static int
next_item(const char **p, char *buf, size_t cap)
{
	const char *s = *p;
	size_t n;

	if (s == NULL)
		return 0;
	n = strcspn(s, ",");
	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*p = s[n] == ',' ? s + n + 1 : NULL;
	return 1;
}

int
ctl_route_parse(const char *s, struct greenlane_entry *e, char *why, size_t whylen)
{
	char item[32];
	uint32_t n = 0;
	int rc;

	while ((rc = next_item(&s, item, sizeof(item))) == 1) {
		uint64_t v;

		if (ctl_parse_u64(item, 1, UINT32_MAX, &v) != 0) {
			snprintf(why, whylen, "'%s' is not a site id in 1..4294967295", item);
			return -EINVAL;
		}
		if (n == LISTS_ROUTE_MAX) {
			snprintf(why, whylen, "more than %d sites", LISTS_ROUTE_MAX);
			return -EINVAL;
		}
		for (uint32_t i = 0; i < n; i++)
			if (e->route[i] == v) {
				snprintf(why, whylen, "site %llu twice", (unsigned long long)v);
				return -EINVAL;
			}
		e->route[n++] = (uint32_t)v;
	}
	if (rc < 0 || n == 0) {
		snprintf(why, whylen, "expected SITE[,SITE...] (an empty item?)");
		return -EINVAL;
	}
	e->nroute = n;
	return 0;
}

int
ctl_reasons_parse(const char *s, uint16_t *mask, char *why, size_t whylen)
{
	char item[32];
	uint16_t m = 0;
	int rc;

	while ((rc = next_item(&s, item, sizeof(item))) == 1) {
		int i = chk_index_by_name(item);
		uint64_t code;

		if (i < 0 && ctl_parse_u64(item, 0, UINT16_MAX, &code) == 0)
			i = chk_index_by_code((uint16_t)code);
		if (i < 0) {
			snprintf(why, whylen, "'%s' is not a reason (watch_f0, watch_quarantine, "
				 "watch_f1, zone_red, decl_symptoms, watch_f2, zone_orange, "
				 "decl_exposed, greenlane_unknown, off_route, greenlane_expired, "
				 "passengers_over, or their codes)", item);
			return -EINVAL;
		}
		m |= (uint16_t)(1u << i);
	}
	if (rc < 0 || m == 0) {
		snprintf(why, whylen, "expected R[,R...] (an empty item?)");
		return -EINVAL;
	}
	*mask = m;
	return 0;
}
