/*
 * The §9 checkpoint rules as chot-flood's truth applies them: one event and
 * what the lists say about its subject -> the mask of reasons (lists.h).
 *
 * Written from DESIGN §9 and the rules agreed for issue 13, independently of
 * chotd's checker: the caller looks the subject up (the truth keeps its own
 * per-subject tables), this file only decides.  Pure; unit-tested in
 * tests/flood/test_check.c.
 */
#ifndef CHOT_FLOOD_CHECK_H
#define CHOT_FLOOD_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "lists.h"

/* Declaration values of the ScanEvent (DESIGN §2). */
#define FL_DECL_SYMPTOMS 2
#define FL_DECL_EXPOSED  3

struct fl_check_in {
	uint64_t ts_ms;
	uint32_t site_id;
	uint8_t scheme, decl;
	uint32_t passengers;
	bool at_checkpoint;                   /* the site's kind in the registry */
	const struct watch_entry *watch;      /* the subject's entry, NULL none */
	enum zone_level zone;                 /* level of origin_commune, ZONE_NONE unlisted */
	const struct greenlane_entry *gl;     /* GREEN_LANE scans: the registration, NULL none */
};

/* Bit i = chk_reasons[i] for every reason that applies. */
uint16_t fl_check(const struct fl_check_in *in);

/* CCCD, PCCOVID, VNEID, PASSPORT: the schemes zone checks apply to. */
bool fl_check_person(uint8_t scheme);

#endif /* CHOT_FLOOD_CHECK_H */
