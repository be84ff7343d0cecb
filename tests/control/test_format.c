/*
 * Golden-file tests of chotctl's output formats (control/format.c): one fixed
 * trace result printed as JSON (DESIGN §5 shape, with and without revealed
 * ids), CSV (RFC 4180: header row, CRLF, quoted fields), and the table in
 * English and Vietnamese, compared byte for byte with tests/control/golden/.
 * The table shows local time: the tests pin TZ=Asia/Ho_Chi_Minh.
 *
 * To re-bless after an intended format change:
 *   CHOT_GOLDEN_UPDATE=1 build-X/tests/control/test_control_format
 * and review the diff of tests/control/golden/ before committing it.
 *
 * Also here: the JSON output parses as the DESIGN §5 shape (checked with a
 * few structural assertions), and JSON/CSV are byte for byte what the
 * fprintf code before control/outbuf.c printed, over generated traces
 * (format_same).  The argument parsers are in test_parse.c.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"
#include "sites.h"
#include "godata.h"

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must be defined by the build"
#endif

#define MIN (60ULL * 1000)
#define T (1627812000000ULL)   /* 2021-08-01 10:00 UTC = 17:00 in Ho Chi Minh City */

static void
pid_n(uint8_t pid[PID_LEN], uint8_t n)
{
	for (int i = 0; i < PID_LEN; i++)
		pid[i] = (uint8_t)(n * 16 + i);
}

static struct ctl_site sites[2];
static struct rules_interval visits[2];
static struct tr_contact contacts[3];
static struct tr_result result;
static uint8_t f0[PID_LEN];
static char ids[3][WIRE_SUBJECT_MAX_NUL] = { "038053540827", "ABC,\"12\"", "" };

static void
setup(void)
{
	setenv("TZ", "Asia/Ho_Chi_Minh", 1);
	tzset();
	memset(sites, 0, sizeof(sites));
	sites[0].id = 17;
	sites[0].kind = KIND_MARKET;
	snprintf(sites[0].name, sizeof(sites[0].name), "Chợ Vinh, cổng A");
	sites[1].id = 42;
	sites[1].kind = KIND_CHECKPOINT;
	snprintf(sites[1].name, sizeof(sites[1].name), "Chốt QL1A Km 5");
	visits[0] = (struct rules_interval){ 17, T, T + 45 * MIN };
	visits[1] = (struct rules_interval){ 42, T + 120 * MIN, T + 125 * MIN };
	memset(contacts, 0, sizeof(contacts));
	pid_n(f0, 0);
	pid_n(contacts[0].pid, 1);
	contacts[0].degree = 1;
	contacts[0].site_id = 17;
	contacts[0].overlap_ms = 30 * MIN;
	contacts[0].first_ms = T + 15 * MIN;
	contacts[0].contact_ms = T + 15 * MIN;
	pid_n(contacts[1].pid, 2);
	pid_n(contacts[1].via, 1);
	contacts[1].degree = 2;
	contacts[1].site_id = 17;
	contacts[1].overlap_ms = 12 * MIN;
	contacts[1].first_ms = T + 50 * MIN;
	contacts[1].contact_ms = T + 55 * MIN;    /* its largest contact came later */
	pid_n(contacts[2].pid, 3);
	contacts[2].degree = 1;
	contacts[2].site_id = 99;   /* not in the registry: shown by id */
	contacts[2].overlap_ms = 0;
	contacts[2].first_ms = T + 126 * MIN;
	contacts[2].contact_ms = T + 126 * MIN;
	result.visits = visits;
	result.n_visits = 2;
	result.contacts = contacts;
	result.n_contacts = 3;
}

typedef void (*format_fn)(struct ctl_app *app, const struct ctl_trace_view *v);

/* Format the fixed trace with fn; returns a malloc'd NUL-terminated buffer. */
static char *
render_with(format_fn fn, enum ctl_output out, enum ctl_lang lang, bool with_ids, size_t limit)
{
	struct ctl_app app;
	struct ctl_trace_view v;
	char *buf = NULL;
	size_t len = 0;

	memset(&app, 0, sizeof(app));
	memset(&v, 0, sizeof(v));
	app.out = out;
	app.lang = lang;
	app.sites = sites;
	app.n_sites = 2;
	app.o = open_memstream(&buf, &len);
	cr_assert_not_null(app.o, "open_memstream failed");
	v.pid = f0;
	v.id = with_ids ? "079201001234" : NULL;
	v.from_ms = T - 14 * 24 * 60 * MIN;
	v.to_ms = T + 24 * 60 * MIN;
	v.r = &result;
	v.ids = with_ids ? ids : NULL;
	v.limit = limit;
	v.elapsed_ms = 12.5;
	v.redis_calls = 7;
	v.dup_records = 3;
	fn(&app, &v);
	fclose(app.o);
	return buf;
}

static char *
render(enum ctl_output out, enum ctl_lang lang, bool with_ids, size_t limit)
{
	return render_with(ctl_format_trace, out, lang, with_ids, limit);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
golden(const char *name, const char *got)
{
	char path[512];
	size_t len = 0;
	char *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (getenv("CHOT_GOLDEN_UPDATE") != NULL) {
		FILE *f = fopen(path, "wb");

		cr_assert_not_null(f, "cannot write %s", path);
		fputs(got, f);
		fclose(f);
		return;
	}
	want = slurp(path, &len);
	cr_assert_not_null(want, "golden file %s missing (CHOT_GOLDEN_UPDATE=1 writes it)", path);
	cr_expect_str_eq(got, want, "output differs from %s:\n--- got ---\n%s\n--- expected ---\n%s",
			 path, got, want);
	free(want);
}

TestSuite(format, .init = setup);

Test(format, json_golden)
{
	char *s = render(OUT_JSON, LANG_EN, false, SIZE_MAX);

	golden("trace.json", s);
	free(s);
}

Test(format, json_with_ids_golden)
{
	char *s = render(OUT_JSON, LANG_EN, true, SIZE_MAX);

	golden("trace_ids.json", s);
	free(s);
}

Test(format, csv_golden)
{
	char *s = render(OUT_CSV, LANG_EN, true, SIZE_MAX);

	golden("trace.csv", s);
	free(s);
}

Test(format, table_en_golden)
{
	char *s = render(OUT_TABLE, LANG_EN, false, 50);

	golden("trace_en.txt", s);
	free(s);
}

Test(format, table_vi_golden)
{
	char *s = render(OUT_TABLE, LANG_VI, false, 50);

	golden("trace_vi.txt", s);
	free(s);
}

Test(format, table_limit_says_more_rows)
{
	char *s = render(OUT_TABLE, LANG_EN, false, 1);

	golden("trace_limit1_en.txt", s);
	cr_expect_not_null(strstr(s, "2 more rows"), "a truncated table must say how many rows are "
			   "hidden; got:\n%s", s);
	free(s);
}

Test(format, json_shape)
{
	char *s = render(OUT_JSON, LANG_EN, false, SIZE_MAX);
	static const char *const keys[] = {
		"\"subject\": {\"pid\": \"000102030405060708090a0b0c0d0e0f\"}",
		"\"window\": {\"from_ms\": ", "\"visits\": [{\"site\": 17, \"from_ms\": 1627812000000",
		"\"contacts\": [", "\"degree\": 2", "\"via\": \"101112131415161718191a1b1c1d1e1f\"",
		"\"overlap_ms\": 1800000", "\"first_ms\": ", "\"stats\": {\"elapsed_ms\": 12.5",
		"\"redis_calls\": 7", "\"dup_records\": 3",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_not_null(strstr(s, keys[i]), "JSON lacks %s; got:\n%s", keys[i], s);
	cr_expect_null(strstr(s, "\"id\""), "no raw id without --keys; got:\n%s", s);
	/* Only the F2 carries via. */
	{
		unsigned n_via = 0;

		for (const char *p = s; (p = strstr(p, "\"via\"")) != NULL; p++)
			n_via++;
		cr_expect_eq(n_via, 1, "exactly one via (the F2's), got %u", n_via);
	}
	free(s);
}

/* ---- --format godata (control/godata.c, docs/CHOTCTL.md "Go.Data export") ---- */

Test(format, godata_golden)
{
	char *s = render_with(ctl_trace_godata, OUT_CSV, LANG_EN, true, SIZE_MAX);

	golden("trace_godata.csv", s);
	free(s);
}

Test(format, godata_rows)
{
	char *s = render_with(ctl_trace_godata, OUT_CSV, LANG_EN, false, SIZE_MAX);
	const char *f1 = strstr(s, "\r\n101112"), *f1b = strstr(s, "\r\n303132"),
		   *f2 = strstr(s, "\r\n202122");
	unsigned rows = 0;

	for (const char *p = s; (p = strstr(p, "\r\n")) != NULL; p++)
		rows++;
	cr_expect_eq(rows, 4, "header + one row per contact, got %u lines:\n%s", rows, s);
	cr_assert(f1 != NULL && f1b != NULL && f2 != NULL, "every contact has a row:\n%s", s);
	cr_expect(f1 < f2 && f1b < f2, "F1 rows come before F2 rows (an F2's source must exist "
		  "when Go.Data imports it):\n%s", s);
	/* F1's source is the F0, the F2's is its via F1; without --keys the name is the pid. */
	cr_expect_not_null(strstr(s, "101112131415161718191a1b1c1d1e1f,101112131415161718191a1b1c1d1e1f,"
				  "2021-08-02T10:00:00.000Z,"), "F1 row: visualId, firstName = pid, "
			   "dateOfReporting = until:\n%s", s);
	cr_expect_not_null(strstr(s, "(chot trace),,,000102030405060708090a0b0c0d0e0f,"),
			   "F1 row: no document without --keys, source = F0 pid:\n%s", s);
	cr_expect_not_null(strstr(s, "(chot trace),,,101112131415161718191a1b1c1d1e1f,"
				  "2021-08-01T11:07:00.000Z,"), "F2 row: source = via F1, contact date "
			   "= end of its largest contact (10:55 + 12 min):\n%s", s);
	free(s);
}

struct overlap_case {
	uint64_t ms;
	char certainty[64], duration[64];
};

static struct overlap_case overlap_cases[] = {
	{ 0, "CERTAINTY_LEVEL_1_LOW", "EXPOSURE_DURATION_VERY_SHORT_SECONDS" },
	{ 1, "CERTAINTY_LEVEL_2_MEDIUM", "EXPOSURE_DURATION_VERY_SHORT_SECONDS" },
	{ MIN - 1, "CERTAINTY_LEVEL_2_MEDIUM", "EXPOSURE_DURATION_VERY_SHORT_SECONDS" },
	{ MIN, "CERTAINTY_LEVEL_2_MEDIUM", "EXPOSURE_DURATION_SHORT_MINUTES" },
	{ 15 * MIN - 1, "CERTAINTY_LEVEL_2_MEDIUM", "EXPOSURE_DURATION_SHORT_MINUTES" },
	{ 15 * MIN, "CERTAINTY_LEVEL_3_HIGH", "EXPOSURE_DURATION_SHORT_MINUTES" },
	{ 60 * MIN, "CERTAINTY_LEVEL_3_HIGH", "EXPOSURE_DURATION_MEDIUM_HOURS" },
	{ 24 * 60 * MIN - 1, "CERTAINTY_LEVEL_3_HIGH", "EXPOSURE_DURATION_MEDIUM_HOURS" },
	{ 24 * 60 * MIN, "CERTAINTY_LEVEL_3_HIGH", "EXPOSURE_DURATION_LONG_DAYS" },
};

ParameterizedTestParameters(godata, overlap)
{
	return cr_make_param_array(struct overlap_case, overlap_cases,
				   sizeof(overlap_cases) / sizeof(overlap_cases[0]));
}

ParameterizedTest(struct overlap_case *c, godata, overlap)
{
	char want[96];

	snprintf(want, sizeof(want), "LNG_REFERENCE_DATA_CATEGORY_%s", c->certainty);
	cr_expect_str_eq(godata_certainty(c->ms), want, "overlap %llu ms: certainty %s, expected %s",
			 (unsigned long long)c->ms, godata_certainty(c->ms), want);
	snprintf(want, sizeof(want), "LNG_REFERENCE_DATA_CATEGORY_%s", c->duration);
	cr_expect_str_eq(godata_exposure_duration(c->ms), want, "overlap %llu ms: duration %s, "
			 "expected %s", (unsigned long long)c->ms, godata_exposure_duration(c->ms),
			 want);
}

/*
 * ---- JSON and CSV, byte for byte the fprintf formats they replaced ----
 *
 * format.c writes the trace through an outbuf (control/outbuf.h) for speed.
 * printf_json/printf_csv below are the fprintf code it replaced, kept as the
 * reference: generated traces (no contacts, F1 only, F2 only, thousands of
 * rows over several 64 KiB flushes, extreme numbers, ids full of escapes,
 * every kind of --limit) must print the same bytes both ways.
 */
static void
printf_json(FILE *f, const struct ctl_trace_view *v)
{
	char hex[PID_HEX_LEN + 1];
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;

	chot_pid_hex(hex, v->pid);
	fprintf(f, "{\"subject\": {\"pid\": \"%s\"", hex);
	if (v->id != NULL) {
		fputs(", \"id\": ", f);
		ctl_json_str(f, v->id);
	}
	fprintf(f, "},\n \"window\": {\"from_ms\": %llu, \"to_ms\": %llu},\n \"visits\": [",
		(unsigned long long)v->from_ms, (unsigned long long)v->to_ms);
	for (size_t i = 0; i < v->r->n_visits; i++) {
		const struct rules_interval *iv = &v->r->visits[i];

		fprintf(f, "%s{\"site\": %u, \"from_ms\": %llu, \"to_ms\": %llu}", i ? ", " : "",
			iv->site_id, (unsigned long long)iv->from_ms, (unsigned long long)iv->to_ms);
	}
	fputs("],\n \"contacts\": [", f);
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &v->r->contacts[i];

		chot_pid_hex(hex, c->pid);
		fprintf(f, "%s\n  {\"pid\": \"%s\"", i ? "," : "", hex);
		if (v->ids != NULL) {
			fputs(", \"id\": ", f);
			ctl_json_str(f, v->ids[i]);
		}
		fprintf(f, ", \"degree\": %d, \"site\": %u, \"overlap_ms\": %llu, \"first_ms\": %llu",
			c->degree, c->site_id, (unsigned long long)c->overlap_ms,
			(unsigned long long)c->first_ms);
		if (c->degree == 2) {
			chot_pid_hex(hex, c->via);
			fprintf(f, ", \"via\": \"%s\"", hex);
		}
		fputc('}', f);
	}
	fprintf(f, "%s],\n \"stats\": {\"elapsed_ms\": %.3f, \"redis_calls\": %llu, "
		"\"dup_records\": %llu}}\n", n ? "\n " : "", v->elapsed_ms,
		(unsigned long long)v->redis_calls, (unsigned long long)v->dup_records);
}

static void
printf_csv(FILE *f, const struct ctl_trace_view *v)
{
	char hex[PID_HEX_LEN + 1];
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;

	fputs("pid,id,degree,site,overlap_ms,first_ms,via\r\n", f);
	for (size_t i = 0; i < n; i++) {
		const struct tr_contact *c = &v->r->contacts[i];

		chot_pid_hex(hex, c->pid);
		fprintf(f, "%s,", hex);
		ctl_csv_str(f, v->ids != NULL ? v->ids[i] : "");
		fprintf(f, ",%d,%u,%llu,%llu,", c->degree, c->site_id,
			(unsigned long long)c->overlap_ms, (unsigned long long)c->first_ms);
		if (c->degree == 2) {
			chot_pid_hex(hex, c->via);
			fputs(hex, f);
		}
		fputs("\r\n", f);
	}
}

/* A small deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t
gen_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A number of a random digit count, now and then an edge. */
static uint64_t
gen_u64(uint64_t *s)
{
	static const uint64_t edges[] = { 0, 9, 10, 99, 100, UINT32_MAX, UINT64_MAX };
	uint64_t r = gen_next(s);

	if (r % 8 == 0)
		return edges[(r >> 8) % (sizeof(edges) / sizeof(edges[0]))];
	return gen_next(s) >> (r >> 8) % 64;
}

struct gen_trace {
	struct rules_interval *visits;
	struct tr_contact *contacts;
	char (*ids)[WIRE_SUBJECT_MAX_NUL];
	struct tr_result r;
};

/* degrees: 1 (F1 only), 2 (F2 only) or 0 (both). */
static void
gen_trace(struct gen_trace *g, uint64_t seed, size_t n_visits, size_t n, int degrees)
{
	static const char id_chars[] = "0123456789ABZ\"\\,\r\n\x01\x1f \xc3\xa1";
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;

	g->visits = calloc(n_visits + 1, sizeof(*g->visits));
	g->contacts = calloc(n + 1, sizeof(*g->contacts));
	g->ids = calloc(n + 1, sizeof(*g->ids));
	cr_assert(g->visits != NULL && g->contacts != NULL && g->ids != NULL);
	for (size_t i = 0; i < n_visits; i++)
		g->visits[i] = (struct rules_interval){ (uint32_t)gen_u64(&s), gen_u64(&s),
							gen_u64(&s) };
	for (size_t i = 0; i < n; i++) {
		struct tr_contact *c = &g->contacts[i];
		size_t id_len = gen_next(&s) % (WIRE_SUBJECT_MAX + 1);

		for (int k = 0; k < PID_LEN; k++) {
			c->pid[k] = (uint8_t)gen_next(&s);
			c->via[k] = (uint8_t)gen_next(&s);
		}
		c->degree = degrees ? degrees : 1 + (int)(gen_next(&s) % 2);
		c->site_id = (uint32_t)gen_u64(&s);
		c->overlap_ms = gen_u64(&s);
		c->first_ms = gen_u64(&s);
		c->contact_ms = c->first_ms;
		for (size_t k = 0; k < id_len; k++)
			g->ids[i][k] = id_chars[gen_next(&s) % (sizeof(id_chars) - 1)];
	}
	g->r = (struct tr_result){ .visits = g->visits, .n_visits = n_visits,
				   .contacts = g->contacts, .n_contacts = n };
}

static void
gen_free(struct gen_trace *g)
{
	free(g->visits);
	free(g->contacts);
	free(g->ids);
}

static char *
print_with(enum ctl_output out, const struct ctl_trace_view *v, bool reference, size_t *len)
{
	struct ctl_app app;
	char *buf = NULL;

	memset(&app, 0, sizeof(app));
	app.out = out;
	app.o = open_memstream(&buf, len);
	cr_assert_not_null(app.o, "open_memstream failed");
	if (!reference)
		ctl_format_trace(&app, v);
	else if (out == OUT_JSON)
		printf_json(app.o, v);
	else
		printf_csv(app.o, v);
	cr_assert_eq(fclose(app.o), 0);
	return buf;
}

struct same_case {
	size_t n_visits, n;
	int degrees;
	uint64_t seed;
};

static struct same_case same_cases[] = {
	{ 0, 0, 0, 1 },         /* no visits, no contacts */
	{ 3, 0, 0, 2 },         /* visits, no contacts */
	{ 1, 1, 1, 3 },
	{ 1, 1, 2, 4 },
	{ 5, 40, 1, 5 },        /* F1 only */
	{ 5, 40, 2, 6 },        /* F2 only */
	{ 2, 3000, 0, 7 },      /* ~500 KiB of JSON: several flushes */
	{ 200, 5000, 0, 8 },
};

ParameterizedTestParameters(format_same, as_fprintf)
{
	return cr_make_param_array(struct same_case, same_cases,
				   sizeof(same_cases) / sizeof(same_cases[0]));
}

ParameterizedTest(struct same_case *c, format_same, as_fprintf)
{
	static const double elapsed[] = { 0.0, 0.0004999, 12.5, 487.12345, 1e9 + 0.5 };
	struct gen_trace g;
	uint8_t f0_pid[PID_LEN];
	size_t limits[] = { SIZE_MAX, c->n, c->n ? c->n - 1 : 0, 1, 0 };

	gen_trace(&g, c->seed, c->n_visits, c->n, c->degrees);
	for (int k = 0; k < PID_LEN; k++)
		f0_pid[k] = (uint8_t)(0xa5 ^ (k * 29) ^ c->seed);
	for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]); li++) {
		for (int with_ids = 0; with_ids < 2; with_ids++) {
			struct ctl_trace_view v = {
				.pid = f0_pid,
				.id = with_ids ? "079\"20\\1\x02" : NULL,
				.from_ms = c->seed * 1000003,
				.to_ms = UINT64_MAX - c->seed,
				.r = &g.r,
				.ids = with_ids ? g.ids : NULL,
				.limit = limits[li],
				.elapsed_ms = elapsed[(li + (size_t)with_ids) % 5],
				.redis_calls = c->seed * 77,
				.dup_records = UINT64_MAX - li,
			};

			for (int j = 0; j < 2; j++) {
				enum ctl_output out = j ? OUT_CSV : OUT_JSON;
				size_t lg = 0, lw = 0, at = 0;
				char *got = print_with(out, &v, false, &lg);
				char *want = print_with(out, &v, true, &lw);

				while (at < lg && at < lw && got[at] == want[at])
					at++;
				cr_expect(lg == lw && at == lw, "%s, seed %llu, %zu contacts, limit %zu, "
					  "%s ids: %zu bytes, fprintf wrote %zu; first difference at "
					  "byte %zu:\n--- got ---\n%.200s\n--- fprintf ---\n%.200s",
					  j ? "CSV" : "JSON", (unsigned long long)c->seed, c->n,
					  limits[li], with_ids ? "with" : "without", lg, lw, at,
					  got + (at > 40 ? at - 40 : 0), want + (at > 40 ? at - 40 : 0));
				free(got);
				free(want);
			}
		}
	}
	gen_free(&g);
}
