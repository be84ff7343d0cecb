/*
 * The list arguments of chotctl's §9 commands, pure (lists_args.c, tested
 * by control-lists): a green-lane route and a reason filter.
 */
#ifndef CHOT_CTL_LISTS_ARGS_H
#define CHOT_CTL_LISTS_ARGS_H

#include <stddef.h>
#include <stdint.h>

#include "lists.h"

/* "17,18,40": 1..LISTS_ROUTE_MAX site ids 1..2^32-1, each once, into
 * e->route/e->nroute.  0, or -EINVAL with why. */
int ctl_route_parse(const char *s, struct greenlane_entry *e, char *why, size_t whylen);

/* "watch_f0,zone_red" (names of lists.h, or their codes "16,33"): the
 * reason mask.  0, or -EINVAL with why. */
int ctl_reasons_parse(const char *s, uint16_t *mask, char *why, size_t whylen);

#endif /* CHOT_CTL_LISTS_ARGS_H */
