/*
 * The truth's checkpoint rules (tools/flood/check.c, DESIGN §9), by hand:
 * one event and its lookups -> the reason mask and the verdict code.  Every
 * edge the agreement names: ts_ms == until_ms still applies, one ms later it
 * does not; zones only for people at a checkpoint; declarations for any
 * scheme; the green lane only for GREEN_LANE scans, its window inclusive.
 */
#include <criterion/criterion.h>

#include "check.h"
#include "validate.h"

#define B(i) ((uint16_t)(1u << (i)))

static struct fl_check_in
person(uint64_t ts)
{
	return (struct fl_check_in){ .ts_ms = ts, .site_id = 7, .scheme = SCHEME_CCCD,
				     .decl = 1, .at_checkpoint = true };
}

Test(check, clear_without_lists)
{
	struct fl_check_in in = person(1000);

	cr_assert_eq(fl_check(&in), 0);
	cr_assert_eq(chk_verdict_code(fl_check(&in)), CHK_CLEAR);
	in.decl = 0;   /* DECL_NONE is no reason */
	cr_assert_eq(fl_check(&in), 0);
}

Test(check, watch_until_inclusive)
{
	struct watch_entry w = { .status = WATCH_F1, .set_ms = 5000, .until_ms = 2000 };
	struct fl_check_in in = person(2000);

	in.watch = &w;
	cr_assert_eq(fl_check(&in), B(CHK_WATCH_F1));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 17);
	in.ts_ms = 2001;
	cr_assert_eq(fl_check(&in), 0, "past until_ms the entry is inert");
	in.ts_ms = 1;   /* before set_ms: set_ms is informational */
	cr_assert_eq(fl_check(&in), B(CHK_WATCH_F1));
}

Test(check, watch_statuses_and_codes)
{
	static const struct { enum watch_status s; enum chk_index i; uint16_t code; } t[] = {
		{ WATCH_F0, CHK_WATCH_F0, 16 }, { WATCH_QUARANTINE, CHK_WATCH_QUARANTINE, 19 },
		{ WATCH_F1, CHK_WATCH_F1, 17 }, { WATCH_F2, CHK_WATCH_F2, 18 },
	};

	for (unsigned k = 0; k < 4; k++) {
		struct watch_entry w = { .status = t[k].s, .until_ms = 10 };
		struct fl_check_in in = person(10);

		in.watch = &w;
		in.scheme = SCHEME_PLATE;   /* the watchlist is any scheme */
		in.at_checkpoint = false;
		cr_assert_eq(fl_check(&in), B(t[k].i));
		cr_assert_eq(chk_verdict_code(fl_check(&in)), t[k].code);
	}
}

Test(check, zones_people_at_checkpoints_only)
{
	struct fl_check_in in = person(10);

	in.zone = ZONE_RED;
	cr_assert_eq(fl_check(&in), B(CHK_ZONE_RED));
	in.zone = ZONE_ORANGE;
	cr_assert_eq(fl_check(&in), B(CHK_ZONE_ORANGE));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 32);
	in.zone = ZONE_YELLOW;
	cr_assert_eq(fl_check(&in), 0);
	in.zone = ZONE_GREEN;
	cr_assert_eq(fl_check(&in), 0);
	in.zone = ZONE_RED;
	in.at_checkpoint = false;
	cr_assert_eq(fl_check(&in), 0, "a red commune at a market is no reason");
	in.at_checkpoint = true;
	for (uint8_t s = SCHEME_CCCD; s <= SCHEME_PASSPORT; s++) {
		in.scheme = s;
		cr_assert_eq(fl_check(&in), B(CHK_ZONE_RED), "scheme %u", s);
	}
	in.scheme = SCHEME_PLATE;
	cr_assert_eq(fl_check(&in), 0, "a plate is not a person");
}

Test(check, declarations_any_scheme)
{
	struct fl_check_in in = person(10);

	in.decl = FL_DECL_SYMPTOMS;
	in.scheme = SCHEME_PLATE;
	in.at_checkpoint = false;
	cr_assert_eq(fl_check(&in), B(CHK_DECL_SYMPTOMS));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 48);
	in.decl = FL_DECL_EXPOSED;
	cr_assert_eq(fl_check(&in), B(CHK_DECL_EXPOSED));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 49);
}

Test(check, greenlane)
{
	struct greenlane_entry g = { .from_ms = 100, .to_ms = 200, .passengers = 2, .nroute = 2,
				     .route = { 7, 9 } };
	struct fl_check_in in = { .ts_ms = 100, .site_id = 7, .scheme = SCHEME_GREEN_LANE,
				  .passengers = 2, .at_checkpoint = true };

	cr_assert_eq(fl_check(&in), B(CHK_GREENLANE_UNKNOWN), "unregistered");
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 64);
	in.gl = &g;
	cr_assert_eq(fl_check(&in), 0, "on route, from_ms inclusive, passengers == allowed");
	in.ts_ms = 200;
	cr_assert_eq(fl_check(&in), 0, "to_ms inclusive");
	in.ts_ms = 201;
	cr_assert_eq(fl_check(&in), B(CHK_GREENLANE_EXPIRED));
	in.ts_ms = 99;
	cr_assert_eq(fl_check(&in), B(CHK_GREENLANE_EXPIRED));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 66);
	in.ts_ms = 150;
	in.passengers = 3;
	cr_assert_eq(fl_check(&in), B(CHK_PASSENGERS_OVER));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 67);
	in.site_id = 8;
	cr_assert_eq(fl_check(&in), B(CHK_OFF_ROUTE) | B(CHK_PASSENGERS_OVER));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 65);
	in.at_checkpoint = false;
	cr_assert_eq(fl_check(&in), B(CHK_PASSENGERS_OVER), "off route only at a checkpoint");
	/* A plate with the same pid registered is not a green-lane scan. */
	in.scheme = SCHEME_PLATE;
	cr_assert_eq(fl_check(&in), 0);
	/* Zones never apply to a green-lane scan. */
	in.scheme = SCHEME_GREEN_LANE;
	in.at_checkpoint = true;
	in.site_id = 9;
	in.passengers = 0;
	in.zone = ZONE_RED;
	cr_assert_eq(fl_check(&in), 0);
}

Test(check, all_reasons_most_severe_first)
{
	struct watch_entry w = { .status = WATCH_F2, .until_ms = 10 };
	struct fl_check_in in = person(10);
	char names[256];

	in.watch = &w;
	in.zone = ZONE_ORANGE;
	in.decl = FL_DECL_EXPOSED;
	cr_assert_eq(fl_check(&in), B(CHK_WATCH_F2) | B(CHK_ZONE_ORANGE) | B(CHK_DECL_EXPOSED));
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 18);
	cr_assert_gt(chk_mask_names(names, sizeof(names), fl_check(&in)), 0);
	cr_assert_str_eq(names, "watch_f2,zone_orange,decl_exposed");
	in.zone = ZONE_RED;
	in.decl = FL_DECL_SYMPTOMS;
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 33, "zone_red outranks watch_f2");
	w.status = WATCH_QUARANTINE;
	cr_assert_eq(chk_verdict_code(fl_check(&in)), 19);
	cr_assert_gt(chk_mask_names(names, sizeof(names), fl_check(&in)), 0);
	cr_assert_str_eq(names, "watch_quarantine,zone_red,decl_symptoms");
}
