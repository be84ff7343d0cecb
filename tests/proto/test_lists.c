/*
 * The checkpoint loop's list encodings and reasons (proto/lists.h): round
 * trips, strict rejects, the DESIGN §9 codes and their severity order.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proto/lists.h"

/* DESIGN §9's table, most severe first. */
Test(lists, reasons_match_design)
{
	static const struct { uint16_t code; const char *name; } want[] = {
		{16, "watch_f0"}, {19, "watch_quarantine"}, {17, "watch_f1"}, {33, "zone_red"},
		{48, "decl_symptoms"}, {18, "watch_f2"}, {32, "zone_orange"}, {49, "decl_exposed"},
		{64, "greenlane_unknown"}, {65, "off_route"}, {66, "greenlane_expired"},
		{67, "passengers_over"},
	};

	cr_assert_eq(sizeof(want) / sizeof(want[0]), CHK_NREASONS);
	for (int i = 0; i < CHK_NREASONS; i++) {
		cr_expect_eq(chk_reasons[i].code, want[i].code, "row %d", i);
		cr_expect_str_eq(chk_reasons[i].name, want[i].name);
		cr_expect_eq(chk_index_by_code(want[i].code), i);
		cr_expect_eq(chk_index_by_name(want[i].name), i);
	}
	cr_expect_eq(chk_index_by_code(0), -1);
	cr_expect_eq(chk_index_by_name("watch"), -1);
}

Test(lists, verdict_is_most_severe)
{
	char buf[256];

	cr_expect_eq(chk_verdict_code(0), CHK_CLEAR);
	cr_expect_eq(chk_verdict_code(1u << CHK_WATCH_F2 | 1u << CHK_ZONE_RED), 33);
	cr_expect_eq(chk_verdict_code(1u << CHK_PASSENGERS_OVER), 67);
	cr_expect_eq(chk_mask_names(buf, sizeof(buf), 1u << CHK_DECL_EXPOSED | 1u << CHK_WATCH_F0), 21);
	cr_expect_str_eq(buf, "watch_f0,decl_exposed");
	cr_expect_eq(chk_mask_names(buf, 8, 1u << CHK_WATCH_F0 | 1u << CHK_WATCH_F1), -ENOSPC);
}

Test(lists, watch_round_trip)
{
	struct watch_entry e = { .status = WATCH_QUARANTINE, .set_ms = 1633910400000ULL,
				 .until_ms = 1635724800000ULL }, d;
	char buf[LISTS_VALUE_MAX];
	int n;

	strcpy(e.note, "ca 2 phường Bến Nghé");
	n = lists_watch_encode(buf, sizeof(buf), &e);
	cr_assert_gt(n, 0);
	cr_expect_str_eq(buf, "quarantine 1633910400000 1635724800000 ca 2 phường Bến Nghé");
	cr_assert_eq(lists_watch_decode(buf, (size_t)n, &d), 0);
	cr_expect_eq(d.status, WATCH_QUARANTINE);
	cr_expect_eq(d.set_ms, e.set_ms);
	cr_expect_eq(d.until_ms, e.until_ms);
	cr_expect_str_eq(d.note, e.note);
	cr_assert_eq(lists_watch_decode("f1 1 2", 6, &d), 0);
	cr_expect_eq(d.status, WATCH_F1);
	cr_expect_str_eq(d.note, "");
	cr_expect_eq(lists_watch_default_ms(WATCH_F0), 21 * 86400000ULL);
	cr_expect_eq(lists_watch_default_ms(WATCH_F2), 14 * 86400000ULL);
}

Test(lists, watch_rejects)
{
	static const char *bad[] = {
		"", "f1", "f1 ", "f1 1", "f1 1 ", "F1 1 2", "clear 1 2", "f1 -1 2", "f1 1 2x",
		"f1 1  2", "f1 99999999999999999999 2", "f3 1 2", " f1 1 2",
	};
	struct watch_entry d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(lists_watch_decode(bad[i], strlen(bad[i]), &d), -EINVAL, "'%s'", bad[i]);
	cr_expect_eq(lists_watch_decode("f1 1 2 a\0b", 10, &d), -EINVAL, "NUL in the note");
}

Test(lists, zones)
{
	static const struct { const char *name; enum zone_level l; } ok[] = {
		{"1", ZONE_GREEN}, {"green", ZONE_GREEN}, {"XANH", ZONE_GREEN}, {"yellow", ZONE_YELLOW},
		{"vàng", ZONE_YELLOW}, {"vang", ZONE_YELLOW}, {"orange", ZONE_ORANGE}, {"cam", ZONE_ORANGE},
		{"4", ZONE_RED}, {"Red", ZONE_RED}, {"đỏ", ZONE_RED}, {"do", ZONE_RED},
	};
	enum zone_level l;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(lists_zone_by_name(ok[i].name, &l), 0, "%s", ok[i].name);
		cr_expect_eq(l, ok[i].l, "%s", ok[i].name);
	}
	cr_expect_eq(lists_zone_by_name("0", &l), -EINVAL);
	cr_expect_eq(lists_zone_by_name("5", &l), -EINVAL);
	cr_expect_eq(lists_zone_by_name("purple", &l), -EINVAL);
	cr_expect_str_eq(lists_zone_name(ZONE_RED, true), "đỏ");
	cr_expect_str_eq(lists_zone_name(ZONE_ORANGE, false), "orange");
	cr_expect_null(lists_zone_name(ZONE_NONE, false));
	cr_expect_eq(lists_zone_decode("3", 1, &l), 0);
	cr_expect_eq(l, ZONE_ORANGE);
	cr_expect_eq(lists_zone_decode("33", 2, &l), -EINVAL);
	cr_expect_eq(lists_zone_decode("0", 1, &l), -EINVAL);
}

Test(lists, greenlane)
{
	struct greenlane_entry e = { .from_ms = 10, .to_ms = 20, .passengers = 3, .nroute = 3,
				     .route = { 101, 7, 4000000000u } }, d;
	char buf[LISTS_VALUE_MAX];
	int n = lists_greenlane_encode(buf, sizeof(buf), &e);
	static const char *bad[] = {
		"10 20 3", "10 20 3 ", "10 20 3 1,", "10 20 3 ,1", "10 20 3 0", "10 20 x 1",
		"10 20 4294967296 1", "10 20 3 1;2", "10 20 3 4294967296",
	};

	cr_assert_gt(n, 0);
	cr_expect_str_eq(buf, "10 20 3 101,7,4000000000");
	cr_assert_eq(lists_greenlane_decode(buf, (size_t)n, &d), 0);
	cr_expect_eq(d.nroute, 3);
	cr_expect_eq(d.route[2], 4000000000u);
	cr_expect_eq(d.passengers, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(lists_greenlane_decode(bad[i], strlen(bad[i]), &d), -EINVAL, "'%s'", bad[i]);
	e.nroute = 0;
	cr_expect_eq(lists_greenlane_encode(buf, sizeof(buf), &e), -EINVAL);
}
