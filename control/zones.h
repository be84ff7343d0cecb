/*
 * Commune risk levels (DESIGN §9): the `zone import` CSV parser and the
 * commune code rule, pure (zones.c, unit-tested by control-lists).
 */
#ifndef CHOT_CTL_ZONES_H
#define CHOT_CTL_ZONES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lists.h"

#define CTL_COMMUNE_MIN 1u
#define CTL_COMMUNE_MAX 99999u     /* the five-digit administrative code */
#define CTL_ZONES_LINE_MAX 1023

struct ctl_zone {
	uint32_t commune;
	enum zone_level level;
};

/*
 * A whole zones CSV: header "commune,level" (a UTF-8 BOM before it is
 * fine), then one row per line: commune 1..99999, level one of 1..4,
 * green/yellow/orange/red, xanh/vàng/cam/đỏ (lists_zone_by_name), each
 * field optionally in double quotes; each commune once; blank lines
 * skipped; "\n" or "\r\n"; lines at most CTL_ZONES_LINE_MAX bytes.
 * 0 with *out (malloc'd, file order) and *n, or -EINVAL with nothing
 * returned and err reading "line N: reason".
 */
int ctl_zones_parse_csv(FILE *f, struct ctl_zone **out, size_t *n, char *err, size_t errlen);

/* COMMUNE or LEVEL as typed on the command line: 0 or -EINVAL. */
int ctl_zone_commune(const char *s, uint32_t *commune);

#endif /* CHOT_CTL_ZONES_H */
