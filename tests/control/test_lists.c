/*
 * chotctl's checkpoint-list parsers and alert formatting, pure (no Redis):
 *   - zone import's CSV (control/zones.c): header, levels in English,
 *     Vietnamese and digits, quoting, duplicates and bad rows named by line,
 *     all or nothing;
 *   - the --route and --reason arguments (control/lists_args.c);
 *   - an alerts-stream entry decoded and checked (control/alerts.c), the
 *     filters, the (pid, site, ts_ms) duplicate set and its bound, and the
 *     JSON Lines / CSV forms, byte for byte in the DESIGN §9 shape.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alerts.h"
#include "lists_args.h"
#include "zones.h"

static int
parse_text(const char *text, struct ctl_zone **v, size_t *n, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	cr_assert_not_null(f);
	rc = ctl_zones_parse_csv(f, v, n, err, errlen);
	fclose(f);
	return rc;
}

static void
expect_bad(const char *text, const char *err_has)
{
	struct ctl_zone *v = (struct ctl_zone *)1;
	size_t n = 99;
	char err[256] = "";

	cr_assert_eq(parse_text(text, &v, &n, err, sizeof(err)), -EINVAL, "accepted: %s", text);
	cr_assert_eq(n, 0);
	cr_assert(strstr(err, err_has) != NULL, "error '%s' lacks '%s' for %s", err, err_has, text);
}

Test(zones_csv, good_file_every_spelling)
{
	const char *text = "\xef\xbb\xbf" "commune,level\r\n"
			   "16005,red\r\n"
			   "16006,đỏ\r\n"
			   "16007,do\r\n"
			   "16008,4\r\n"
			   "\r\n"
			   "1,xanh\r\n"
			   "2,\"vàng\"\r\n"
			   "\"3\",ORANGE\r\n"
			   "99999,yellow\r\n";
	enum zone_level want[] = { ZONE_RED, ZONE_RED, ZONE_RED, ZONE_RED, ZONE_GREEN, ZONE_YELLOW,
				   ZONE_ORANGE, ZONE_YELLOW };
	uint32_t communes[] = { 16005, 16006, 16007, 16008, 1, 2, 3, 99999 };
	struct ctl_zone *v = NULL;
	size_t n = 0;
	char err[256] = "";

	cr_assert_eq(parse_text(text, &v, &n, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 8);
	for (size_t i = 0; i < n; i++) {
		cr_expect_eq(v[i].commune, communes[i], "row %zu", i);
		cr_expect_eq(v[i].level, want[i], "row %zu", i);
	}
	free(v);
}

Test(zones_csv, header_only_is_empty)
{
	struct ctl_zone *v = NULL;
	size_t n = 5;
	char err[256];

	cr_assert_eq(parse_text("commune,level\n", &v, &n, err, sizeof(err)), 0);
	cr_assert_eq(n, 0);
	free(v);
}

Test(zones_csv, bad_rows_named_by_line)
{
	expect_bad("", "line 1: empty");
	expect_bad("level,commune\n1,red\n", "line 1: header");
	expect_bad("commune,level,x\n1,red\n", "line 1: header");
	expect_bad("commune,level\n1,red\n2,purple\n", "line 3: level 'purple'");
	expect_bad("commune,level\n1,red\n2,5\n", "line 3: level '5'");
	expect_bad("commune,level\n1,red\n2,0\n", "line 3");
	expect_bad("commune,level\n0,red\n", "line 2: commune '0'");
	expect_bad("commune,level\n100000,red\n", "line 2: commune '100000'");
	expect_bad("commune,level\n-1,red\n", "line 2");
	expect_bad("commune,level\n 1,red\n", "line 2");
	expect_bad("commune,level\n1,red \n", "line 2");
	expect_bad("commune,level\n1\n", "line 2: expected 2 fields");
	expect_bad("commune,level\n1,red,x\n", "line 2: expected 2 fields");
	expect_bad("commune,level\n1,\"red\n", "line 2: a quote");
	expect_bad("commune,level\n1,re\"d\n", "line 2: a quote");
	expect_bad("commune,level\n\n\n7,red\n8,cam\n7,xanh\n", "line 6: commune 7 again (first "
		   "on line 4)");
	expect_bad("commune,level\n1,red\n2,\xef\xbb\xbfred\n", "line 3");
}

Test(zones_csv, long_line_and_nul_refused)
{
	char *big = malloc(3000);

	strcpy(big, "commune,level\n1,red\n2,");
	memset(big + strlen(big), 'r', 2000);
	strcpy(big + 23 + 2000 - 1, "\n3,red\n");
	expect_bad(big, "line 3: longer than 1023");
	free(big);
	{
		static const char nul[] = "commune,level\n1,r\0ed\n";
		struct ctl_zone *v;
		size_t n;
		char err[256] = "";
		FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");

		cr_assert_eq(ctl_zones_parse_csv(f, &v, &n, err, sizeof(err)), -EINVAL);
		cr_assert(strstr(err, "line 2: holds a NUL") != NULL, "%s", err);
		fclose(f);
	}
}

Test(zone_args, commune)
{
	uint32_t c = 7;

	cr_assert_eq(ctl_zone_commune("16005", &c), 0);
	cr_assert_eq(c, 16005);
	cr_assert_eq(ctl_zone_commune("0", &c), -EINVAL);
	cr_assert_eq(ctl_zone_commune("100000", &c), -EINVAL);
	cr_assert_eq(ctl_zone_commune("+5", &c), -EINVAL);
	cr_assert_eq(ctl_zone_commune("", &c), -EINVAL);
	cr_assert_eq(c, 16005);
}

Test(route_args, good_and_bad)
{
	struct greenlane_entry e = { 0 };
	char why[200], s[400];

	cr_assert_eq(ctl_route_parse("17", &e, why, sizeof(why)), 0);
	cr_assert_eq(e.nroute, 1);
	cr_assert_eq(e.route[0], 17);
	cr_assert_eq(ctl_route_parse("1,4294967295,40", &e, why, sizeof(why)), 0);
	cr_assert_eq(e.nroute, 3);
	cr_assert_eq(e.route[1], 4294967295u);
	cr_assert_eq(e.route[2], 40);
	cr_assert_eq(ctl_route_parse("", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("1,,2", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("1,2,", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse(",1", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("0", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("4294967296", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("1, 2", &e, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_route_parse("5,6,5", &e, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "site 5 twice") != NULL, "%s", why);
	s[0] = '\0';
	for (int i = 1; i <= LISTS_ROUTE_MAX; i++)
		sprintf(s + strlen(s), "%s%d", i > 1 ? "," : "", i);
	cr_assert_eq(ctl_route_parse(s, &e, why, sizeof(why)), 0);
	cr_assert_eq(e.nroute, LISTS_ROUTE_MAX);
	strcat(s, ",99");
	cr_assert_eq(ctl_route_parse(s, &e, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "more than 32") != NULL, "%s", why);
	cr_assert_eq(e.nroute, LISTS_ROUTE_MAX, "a refused route leaves the entry alone");
}

Test(reason_args, names_and_codes)
{
	uint16_t m = 0;
	char why[400];

	cr_assert_eq(ctl_reasons_parse("watch_f0", &m, why, sizeof(why)), 0);
	cr_assert_eq(m, 1u << CHK_WATCH_F0);
	cr_assert_eq(ctl_reasons_parse("zone_red,off_route,17", &m, why, sizeof(why)), 0);
	cr_assert_eq(m, (1u << CHK_ZONE_RED) | (1u << CHK_OFF_ROUTE) | (1u << CHK_WATCH_F1));
	m = 7;
	cr_assert_eq(ctl_reasons_parse("watch_f9", &m, why, sizeof(why)), -EINVAL);
	cr_assert(strstr(why, "'watch_f9' is not a reason") != NULL, "%s", why);
	cr_assert_eq(ctl_reasons_parse("", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_reasons_parse("zone_red,", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_reasons_parse("Zone_red", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_reasons_parse("0", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(ctl_reasons_parse("1", &m, why, sizeof(why)), -EINVAL);
	cr_assert_eq(m, 7);
}

/* ---- alerts ---- */

#define PIDHEX "00112233445566778899aabbccddeeff"

static int
decode(struct ctl_alert *a, const char *id, const char *const *kv, size_t n)
{
	size_t fl[32];
	char why[128];

	for (size_t i = 0; i < n; i++)
		fl[i] = strlen(kv[i]);
	return ctl_alert_decode(a, id, strlen(id), kv, fl, n, why, sizeof(why));
}

static const char *const good_kv[] = {
	"ts_ms", "1627808400000", "site", "17", "pid", PIDHEX, "scheme", "cccd",
	"reasons", "zone_red,watch_f0", "device", "5001", "origin_commune", "16005",
};

Test(alerts, decode_good)
{
	struct ctl_alert a;
	const char *kv[16];

	cr_assert_eq(decode(&a, "1627808400123-4", good_kv, 14), 0);
	cr_assert_str_eq(a.id, "1627808400123-4");
	cr_assert_eq(a.ts_ms, 1627808400000ULL);
	cr_assert_eq(a.site, 17);
	cr_assert_eq(a.device, 5001);
	cr_assert_eq(a.origin_commune, 16005);
	cr_assert_eq(a.scheme, 1);
	cr_assert_eq(a.pid[0], 0x00);
	cr_assert_eq(a.pid[15], 0xff);
	cr_assert_eq(a.mask, (1u << CHK_WATCH_F0) | (1u << CHK_ZONE_RED));
	/* the scheme as a number, and unknown extra fields, are fine */
	memcpy(kv, good_kv, sizeof(good_kv));
	kv[7] = "6";
	kv[14] = "verdict";
	kv[15] = "16";
	cr_assert_eq(decode(&a, "1-0", kv, 16), 0);
	cr_assert_eq(a.scheme, 6);
}

Test(alerts, decode_bad)
{
	struct ctl_alert a;
	const char *kv[16];
	static const struct {
		int field;
		const char *value;
	} bad[] = {
		{ 1, "" }, { 1, "x" }, { 1, "-1" }, { 3, "4294967296" }, { 5, "00112233" },
		{ 5, PIDHEX "00" }, { 5, "00112233445566778899AABBCCDDEEFG" }, { 7, "klingon" },
		{ 7, "0" }, { 7, "7" }, { 9, "" }, { 9, "watch_f0," }, { 9, "watch_f0,,zone_red" },
		{ 9, "bogus" }, { 9, "watch_f0,watch_f0" }, { 11, "5001x" }, { 13, " 1" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(kv, good_kv, sizeof(good_kv));
		kv[bad[i].field] = bad[i].value;
		cr_expect_eq(decode(&a, "1-0", kv, 14), -EINVAL, "field %s = '%s' accepted",
			     kv[bad[i].field - 1], bad[i].value);
	}
	cr_expect_eq(decode(&a, "1-0", good_kv, 12), -EINVAL, "a missing field");
	cr_expect_eq(decode(&a, "1-0", good_kv, 13), -EINVAL, "an odd count");
	memcpy(kv, good_kv, sizeof(good_kv));
	kv[14] = "site";
	kv[15] = "18";
	cr_expect_eq(decode(&a, "1-0", kv, 16), -EINVAL, "a field twice");
	cr_expect_eq(decode(&a, "1", good_kv, 14), -EINVAL, "an id without its sequence");
	cr_expect_eq(decode(&a, "x-1", good_kv, 14), -EINVAL);
	cr_expect_eq(decode(&a, "1-", good_kv, 14), -EINVAL);
}

Test(alerts, filter)
{
	struct ctl_alert a;
	struct ctl_alert_filter f = { 0 };

	cr_assert_eq(decode(&a, "1-0", good_kv, 14), 0);
	cr_assert(ctl_alert_match(&a, &f));
	f.since_ms = a.ts_ms;
	cr_assert(ctl_alert_match(&a, &f));
	f.since_ms = a.ts_ms + 1;
	cr_assert(!ctl_alert_match(&a, &f));
	f.since_ms = 0;
	f.reasons = 1u << CHK_OFF_ROUTE;
	cr_assert(!ctl_alert_match(&a, &f));
	f.reasons |= 1u << CHK_ZONE_RED;
	cr_assert(ctl_alert_match(&a, &f), "any of the reasons");
	f.has_site = true;
	f.site = 18;
	cr_assert(!ctl_alert_match(&a, &f));
	f.site = 17;
	cr_assert(ctl_alert_match(&a, &f));
}

Test(alerts, seen_once_and_bounded)
{
	struct ctl_seen *s = ctl_seen_new(100);
	struct ctl_alert a, b;

	cr_assert_not_null(s);
	cr_assert_eq(decode(&a, "1-0", good_kv, 14), 0);
	b = a;
	strcpy(b.id, "2-0");             /* a repeat after a fault: another id */
	cr_assert(!ctl_seen_has(s, &a));
	cr_assert(ctl_seen_add(s, &a));
	cr_assert(ctl_seen_has(s, &b));
	cr_assert(!ctl_seen_add(s, &b), "the same (pid, site, ts_ms) twice");
	b.ts_ms++;
	cr_assert(ctl_seen_add(s, &b));
	b.ts_ms--;
	b.site++;
	cr_assert(ctl_seen_add(s, &b));
	b.site--;
	b.pid[3] ^= 1;
	cr_assert(ctl_seen_add(s, &b));
	/* 150 more keys: a stays remembered (previous generation) ... */
	for (int i = 0; i < 150; i++) {
		b = a;
		b.ts_ms = 1000 + (uint64_t)i;
		cr_assert(ctl_seen_add(s, &b));
	}
	cr_assert(!ctl_seen_add(s, &a), "within 2 generations");
	/* ... and after 10,000 the set has not grown past its bound: a is forgotten */
	for (int i = 0; i < 10000; i++) {
		b = a;
		b.ts_ms = 100000 + (uint64_t)i;
		ctl_seen_add(s, &b);
	}
	cr_assert(ctl_seen_add(s, &a));
	ctl_seen_free(s);
}

static char *
print_one(const struct ctl_alert *a, const char *id, enum ctl_output out)
{
	static char buf[1024];
	struct ctl_app app = { .out = out };

	memset(buf, 0, sizeof(buf));
	app.o = fmemopen(buf, sizeof(buf) - 1, "w");
	ctl_alert_header(&app, id != NULL);
	ctl_alert_print(&app, a, id);
	fclose(app.o);
	return buf;
}

Test(alerts, json_lines_exact_shape)
{
	struct ctl_alert a;

	cr_assert_eq(decode(&a, "1627808400123-4", good_kv, 14), 0);
	cr_assert_str_eq(print_one(&a, NULL, OUT_JSON),
			 "{\"alert_id\": \"1627808400123-4\", \"ts_ms\": 1627808400000, "
			 "\"site\": 17, \"pid\": \"" PIDHEX "\", \"scheme\": \"cccd\", "
			 "\"reasons\": [\"watch_f0\", \"zone_red\"], \"device\": 5001, "
			 "\"origin_commune\": 16005}\n");
	cr_assert_str_eq(print_one(&a, "079201001234", OUT_JSON),
			 "{\"alert_id\": \"1627808400123-4\", \"ts_ms\": 1627808400000, "
			 "\"site\": 17, \"pid\": \"" PIDHEX "\", \"id\": \"079201001234\", "
			 "\"scheme\": \"cccd\", \"reasons\": [\"watch_f0\", \"zone_red\"], "
			 "\"device\": 5001, \"origin_commune\": 16005}\n");
	cr_assert_str_eq(print_one(&a, NULL, OUT_CSV),
			 "alert_id,ts_ms,site,pid,scheme,reasons,device,origin_commune\r\n"
			 "1627808400123-4,1627808400000,17," PIDHEX ",cccd,"
			 "\"watch_f0,zone_red\",5001,16005\r\n");
}
