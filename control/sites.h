/*
 * chotctl's site registry (DESIGN §5): the row, the sites CSV parser and
 * the name rules (sites.c, pure), and the lookup in the loaded registry.
 * Loading it from Redis is source_redis.c's (ctl.h).
 */
#ifndef CHOT_CTL_SITES_H
#define CHOT_CTL_SITES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "rules.h"

struct ctl_site {
	uint32_t id;
	enum site_kind kind;
	char name[128];
	uint32_t commune;
};

void ctl_sites_sort(struct ctl_site *v, size_t n);
const struct ctl_site *ctl_site_find(const struct ctl_app *app, uint32_t id);
/* Parse a whole sites CSV (sites.c's essay has the rules); on error nothing
 * is returned and err reads "line N: reason". */
#define CTL_SITES_LINE_MAX 1023
int ctl_sites_parse_csv(FILE *f, struct ctl_site **out, size_t *n, char *err, size_t errlen);
/* 0 when a site name may be printed raw, else -EINVAL and why. */
int ctl_site_name_check(const char *name, char *why, size_t whylen);
/* Replace each byte ctl_site_name_check refuses with '?'. */
void ctl_site_name_clean(char *name);

#endif /* CHOT_CTL_SITES_H */
