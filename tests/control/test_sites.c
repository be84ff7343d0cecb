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

#include "ctl.h"

struct csv_case {
	char text[256];
	int rc;
	size_t n;            /* sites parsed when rc == 0 */
	char err_has[32];    /* substring of the error when rc != 0 */
	/* first site, when n > 0 */
	uint32_t id;
	char name[64];
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
