/*
 * The site-registry CSV parser behind `chotctl sites import`
 * (control/sites.c, ctl_sites_parse_csv): header id,name,kind,commune, kind
 * one of checkpoint/venue/market/testing/other, RFC 4180 quoting (names
 * hold commas and Vietnamese text).  A bad row fails the whole file with an
 * error naming its line, so nothing is written.  Table-driven, no Redis.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sites.h"

struct csv_case {
	char text[320];
	int rc;
	size_t n;            /* sites parsed when rc == 0 */
	char err_has[32];    /* substring of the error when rc != 0 */
	/* first site, when n > 0 */
	uint32_t id;
	char name[128];
	enum site_kind kind;
	uint32_t commune;
};

static struct csv_case csv_cases[] = {
	{ "id,name,kind,commune\n1,Chợ Vinh,market,14808\n", 0, 1, "", 1, "Chợ Vinh", KIND_MARKET,
	  14808 },
	{ "id,name,kind,commune\r\n7,\"Chốt QL1A, Km 5\",checkpoint,1\r\n2,B,venue,2\r\n", 0, 2, "",
	  7, "Chốt QL1A, Km 5", KIND_CHECKPOINT, 1 },
	{ "id,name,kind,commune\n3,\"say \"\"hi\"\"\",testing,0\n", 0, 1, "", 3, "say \"hi\"",
	  KIND_TESTING, 0 },
	{ "id,name,kind,commune\n\n4,D,other,9\n\n", 0, 1, "", 4, "D", KIND_OTHER, 9 },
	{ "id,name,kind,commune\n", 0, 0, "", 0, "", KIND_UNKNOWN, 0 },
	{ "name,id,kind,commune\n1,A,market,1\n", -EINVAL, 0, "line 1" },
	{ "", -EINVAL, 0, "" },
	{ "id,name,kind,commune\n1,A,market,1\n2,B,spaceport,1\n", -EINVAL, 0, "line 3" },
	{ "id,name,kind,commune\n1,A,Market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\nx,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n0,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n1,A,market,1\n9,\"open quote,market,1\n", -EINVAL, 0, "line 3" },
	/* a UTF-8 BOM, as spreadsheets export it, before the header only */
	{ "\xef\xbb\xbf" "id,name,kind,commune\r\n5,Chợ Vinh,market,14808\r\n", 0, 1, "", 5,
	  "Chợ Vinh", KIND_MARKET, 14808 },
	{ "id,name,kind,commune\n\xef\xbb\xbf" "5,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,communeX\n5,A,market,1\n", -EINVAL, 0, "line 1" },
	{ " id,name,kind,commune\n5,A,market,1\n", -EINVAL, 0, "line 1" },
	/* duplicate ids: once the last row won */
	{ "id,name,kind,commune\n7,A,market,1\n8,B,venue,1\n7,C,market,1\n", -EINVAL, 0,
	  "line 4: site id 7" },
	{ "id,name,kind,commune\n7,A,market,1\n007,C,market,1\n", -EINVAL, 0, "line 3" },
	/* ids: u32, >= 1, digits only; 4294967300 once wrapped to site 4 */
	{ "id,name,kind,commune\n4294967295,A,market,1\n", 0, 1, "", 4294967295u, "A",
	  KIND_MARKET, 1 },
	{ "id,name,kind,commune\n4,A,market,1\n4294967300,B,market,1\n", -EINVAL, 0, "line 3" },
	{ "id,name,kind,commune\n4294967296,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n-1,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n+1,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n 1,A,market,1\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n1e3,A,market,1\n", -EINVAL, 0, "line 2" },
	/* commune: 0 (unknown) .. 99999, digits only, present */
	{ "id,name,kind,commune\n1,A,market,99999\n", 0, 1, "", 1, "A", KIND_MARKET, 99999 },
	{ "id,name,kind,commune\n1,A,market,x\n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market,100000\n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market,4294967297\n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market,-1\n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market,14808 \n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market,\n", -EINVAL, 0, "line 2: commune" },
	{ "id,name,kind,commune\n1,A,market\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n1,A\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n1,A,market,1,extra\n", -EINVAL, 0, "line 2" },
	{ "id,name,kind,commune\n1,\"A\"x,market,1\n", -EINVAL, 0, "line 2" },
	/* names: no control characters, ANSI escapes or invalid UTF-8 */
	{ "id,name,kind,commune\n1,\x1b[31mRed\x1b[0m,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\tB,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\x7f,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\x01,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,\"A\rB\",market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xc2\x9b" "31m,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xff,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xc0\xaf,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xed\xa0\x80,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xe1\xba,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xf4\x90\x80\x80,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,A\xe2\x80\xae" "B,market,1\n", -EINVAL, 0, "line 2: name" },
	{ "id,name,kind,commune\n1,Ch\xf0\x9f\x98\x80,market,1\n", 0, 1, "", 1,
	  "Ch\xf0\x9f\x98\x80", KIND_MARKET, 1 },
	/* names fit in 127 bytes, never cut */
	{ "id,name,kind,commune\n1,"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,market,1\n", 0, 1, "", 1,
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", KIND_MARKET, 1 },
	{ "id,name,kind,commune\n1,"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA,market,1\n", -EINVAL, 0, "line 2: name" },
};

ParameterizedTestParameters(sites, csv)
{
	return cr_make_param_array(struct csv_case, csv_cases,
				   sizeof(csv_cases) / sizeof(csv_cases[0]));
}

ParameterizedTest(struct csv_case *c, sites, csv)
{
	FILE *f = fmemopen(c->text, strlen(c->text) ? strlen(c->text) : 1, "r");
	struct ctl_site *v = NULL;
	size_t n = 99;
	char err[256] = "";
	int rc;

	cr_assert_not_null(f, "fmemopen failed");
	if (c->text[0] == '\0')
		fgetc(f);  /* an empty file: consume the placeholder byte */
	rc = ctl_sites_parse_csv(f, &v, &n, err, sizeof(err));
	fclose(f);
	if (c->text[0] == '\0') {
		/* An empty file has no header: either an error or zero sites, never sites. */
		cr_expect(rc != 0 || n == 0, "empty file: expected no sites, got %zu", n);
		free(v);
		return;
	}
	cr_assert_eq(rc, c->rc, "CSV %s: expected rc %d, got %d (%s)", c->text, c->rc, rc, err);
	if (rc != 0) {
		cr_expect_not_null(strstr(err, c->err_has), "CSV %s: error '%s' should mention '%s'",
				   c->text, err, c->err_has);
		cr_expect_eq(n, 0, "a bad file must yield no sites, got %zu", n);
		return;
	}
	cr_assert_eq(n, c->n, "CSV %s: expected %zu sites, got %zu", c->text, c->n, n);
	if (n > 0) {
		cr_expect_eq(v[0].id, c->id, "expected id %u, got %u", c->id, v[0].id);
		cr_expect_str_eq(v[0].name, c->name, "expected name '%s', got '%s'", c->name,
				 v[0].name);
		cr_expect_eq(v[0].kind, c->kind, "expected kind %d, got %d", c->kind, v[0].kind);
		cr_expect_eq(v[0].commune, c->commune, "expected commune %u, got %u", c->commune,
			     v[0].commune);
	}
	free(v);
}

Test(sites, find_after_sort)
{
	struct ctl_site s[3];
	struct ctl_app app;

	memset(s, 0, sizeof(s));
	memset(&app, 0, sizeof(app));
	s[0].id = 30;
	s[1].id = 10;
	s[2].id = 20;
	ctl_sites_sort(s, 3);
	app.sites = s;
	app.n_sites = 3;
	cr_expect_not_null(ctl_site_find(&app, 20), "site 20 must be found after sorting");
	cr_expect_eq(ctl_site_find(&app, 20)->id, 20, "ctl_site_find(20) must return site 20");
	cr_expect_null(ctl_site_find(&app, 25), "site 25 is not registered");
}

/* Parse a buffer of known length (it may hold NUL bytes). */
static int
parse_buf(const char *buf, size_t len, size_t *n, char *err, size_t errlen)
{
	FILE *f = fmemopen((void *)buf, len, "r");
	struct ctl_site *v = NULL;
	int rc;

	cr_assert_not_null(f, "fmemopen failed");
	*n = 99;
	rc = ctl_sites_parse_csv(f, &v, n, err, errlen);
	fclose(f);
	free(v);
	return rc;
}

/* One 1023-byte row is fine (commune padded with leading zeros); 1024 bytes
 * is refused, and so is a row whose first 1023 bytes are a valid row: fgets
 * once cut it there and imported the rest as a hidden second site. */
Test(sites, long_lines)
{
	static const char hdr[] = "id,name,kind,commune\n";
	char buf[4096], err[256];
	size_t n, len;
	int rc;

	for (int eol = 0; eol < 2; eol++) {
		len = (size_t)snprintf(buf, sizeof(buf), "%s1,A,market,", hdr);
		memset(buf + len, '0', 1023 - 11 - 1);
		len += 1023 - 11 - 1;
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "1%s", eol ? "\r\n" : "\n");
		rc = parse_buf(buf, len, &n, err, sizeof(err));
		cr_expect_eq(rc, 0, "a 1023-byte row must be accepted, got %d (%s)", rc, err);
		cr_expect_eq(n, 1, "a 1023-byte row is one site, got %zu", n);
	}

	len = (size_t)snprintf(buf, sizeof(buf), "%s1,A,market,", hdr);
	memset(buf + len, '0', 1024 - 11 - 1);
	len += 1024 - 11 - 1;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "1\n");
	rc = parse_buf(buf, len, &n, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "a 1024-byte row must be refused, got %d", rc);
	cr_expect_not_null(strstr(err, "line 2"), "error '%s' should name line 2", err);
	cr_expect_eq(n, 0, "a refused file yields no sites, got %zu", n);

	len = (size_t)snprintf(buf, sizeof(buf), "%s1,A,market,1", hdr);
	memset(buf + len, ' ', sizeof(hdr) - 1 + 1023 - len);
	len = sizeof(hdr) - 1 + 1023;
	len += (size_t)snprintf(buf + len, sizeof(buf) - len, "666,Evil,checkpoint,1\n");
	rc = parse_buf(buf, len, &n, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "a row over 1023 bytes must be refused, not split; got %d, "
		     "%zu sites", rc, n);
	cr_expect_not_null(strstr(err, "line 2"), "error '%s' should name line 2", err);
	cr_expect_not_null(strstr(err, "1023"), "error '%s' should give the limit", err);

	/* the same at the end of a file without a final newline */
	len = (size_t)snprintf(buf, sizeof(buf), "%s1,A,market,", hdr);
	memset(buf + len, '0', 1100);
	len += 1100;
	buf[len++] = '1';
	rc = parse_buf(buf, len, &n, err, sizeof(err));
	cr_expect_eq(rc, -EINVAL, "an unterminated last row over 1023 bytes must be refused");
}

Test(sites, nul_byte)
{
	static const char csv[] = "id,name,kind,commune\n1,A\0B,market,1\n";
	char err[256] = "";
	size_t n;
	int rc = parse_buf(csv, sizeof(csv) - 1, &n, err, sizeof(err));

	cr_expect_eq(rc, -EINVAL, "a NUL byte in a row must be refused, got %d", rc);
	cr_expect_not_null(strstr(err, "line 2"), "error '%s' should name line 2", err);
	cr_expect_eq(n, 0, "a refused file yields no sites, got %zu", n);
}

/* Names read back from Redis (written by an older chotctl or by hand) are
 * made printable before a table shows them. */
Test(sites, name_clean)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "Chợ Vinh", "Chợ Vinh" },
		{ "\x1b[31mRed", "?[31mRed" },
		{ "A\tB\x7f", "A?B?" },
		{ "A\xc2\x9b" "B", "A??B" },
		{ "A\xff\xc0\xaf", "A???" },
		{ "A\xe2\x80\xae" "B", "A???B" },
		{ "A\xe1\xba", "A??" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		ctl_site_name_clean(buf);
		cr_expect_str_eq(buf, cases[i].out, "clean('%s'): expected '%s', got '%s'",
				 cases[i].in, cases[i].out, buf);
		cr_expect_eq(ctl_site_name_check(buf, NULL, 0), 0, "a cleaned name must pass the "
			     "check: '%s'", buf);
	}
}
