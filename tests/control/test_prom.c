/*
 * chotctl stats --prometheus, without a chotd: the telemetry reply parser
 * (control/tel.c) against a table of good and bad replies, and the
 * Prometheus exposition (control/prom.c) of a fixed scrape compared with
 * tests/control/golden/stats.prom — the same file the `prom-promtool` test
 * feeds to `promtool check metrics`, so the golden text is both what we
 * print and what Prometheus accepts.
 *
 * With CHOT_PROM_DP_COUNTERS (the build links dataplane/counters.c), every
 * counter chotd has must be described by prom.c's table: a new counter
 * without HELP text fails here, not in an operator's dashboard.
 *
 * Re-bless: CHOT_GOLDEN_UPDATE=1 build/tests/control/test_control_prom
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "prom.h"
#include "tel.h"

#ifdef CHOT_PROM_DP_COUNTERS
#include "counters.h"
#endif

/* ---- the telemetry reply parser ---- */

/* Arrays, not pointers: Criterion hands parameters to the test process as
 * bytes. */
struct parse_case {
	char json[200];
	int rc;
	size_t n_dicts;      /* dicts in the reply */
	size_t n0;           /* entries of d[0] */
	char name0[8];       /* d[0].name */
	char key[16];        /* a key of d[0] ... */
	uint64_t v;          /* ... and its value */
	size_t skipped;
};

static struct parse_case parse_cases[] = {
	{ "{\"/chot/stats\": {\"rx_packets\": 10, \"not_ours\": 0}}", 0, 1, 2, "", "rx_packets", 10, 0 },
	{ "{\"/chot/stats\":{\"a\":18446744073709551615}}", 0, 1, 1, "", "a", UINT64_MAX, 0 },
	{ " {\n \"/x\" : { \"a\" : 1 , \"b\" : 2 } } \n", 0, 1, 2, "", "b", 2, 0 },
	{ "{\"/chot/workers\": {\"w0\": {\"lcore\": 1, \"rx_packets\": 5}, \"w1\": {\"lcore\": 2}}}",
	  0, 2, 2, "w0", "rx_packets", 5, 0 },
	{ "{\"/chot/alerts\": null}", 0, 0, 0, "", "", 0, 0 },
	{ "{\"/chot/reasons\": {}}", 0, 0, 0, "", "", 0, 0 },
	/* other value kinds are skipped and counted, not fatal */
	{ "{\"/x\": {\"s\": \"str\", \"f\": 1.5, \"n\": -3, \"e\": 2e3, \"a\": 7, \"l\": [1, {\"q\": 2}],"
	  " \"t\": true, \"z\": null}}", 0, 1, 1, "", "a", 7, 7 },
	{ "{\"/x\": {\"big\": 18446744073709551616, \"a\": 1}}", 0, 1, 1, "", "a", 1, 1 },
	{ "{\"/x\": {\"w0\": {\"deep\": {\"a\": 1}, \"b\": 2}}}", 0, 1, 1, "w0", "b", 2, 1 },
	{ "{\"/x\": {\"esc\\\"aped\": 3}}", 0, 1, 1, "", "esc\"aped", 3, 0 },
	/* malformed */
	{ "", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\": 1}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\": 1}} trailing", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\" 1}}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\": 1,}}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\": 1e}}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"a\": nul}}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"\\u0041\": 1}}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": 1}}",
	  -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": 5}", -EINVAL, 0, 0, "", "", 0, 0 },
	{ "{\"/x\": {\"l\": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}", -EINVAL, 0, 0, "", "", 0, 0 },
};

ParameterizedTestParameters(tel, parse)
{
	return cr_make_param_array(struct parse_case, parse_cases,
				   sizeof(parse_cases) / sizeof(parse_cases[0]));
}

ParameterizedTest(struct parse_case *c, tel, parse)
{
	struct ctl_tel_reply r;
	uint64_t v = 0;
	int rc = ctl_tel_parse(c->json, &r);

	cr_assert_eq(rc, c->rc, "reply '%s': expected rc %d, got %d", c->json, c->rc, rc);
	if (rc != 0) {
		cr_expect_eq(r.n, 0, "a failed parse leaves nothing behind");
		return;
	}
	cr_assert_eq(r.n, c->n_dicts, "reply '%s': expected %zu dicts, got %zu", c->json,
		     c->n_dicts, r.n);
	cr_expect_eq(r.skipped, c->skipped, "reply '%s': expected %zu skipped, got %zu", c->json,
		     c->skipped, r.skipped);
	if (c->n_dicts > 0) {
		cr_expect_eq(r.d[0].n, c->n0, "reply '%s': expected %zu entries, got %zu", c->json,
			     c->n0, r.d[0].n);
		cr_expect_str_eq(r.d[0].name, c->name0, "reply '%s': first dict named '%s', not '%s'",
				 c->json, r.d[0].name, c->name0);
		cr_expect_eq(ctl_tel_get(&r.d[0], c->key, &v), 0, "reply '%s': no key %s", c->json,
			     c->key);
		cr_expect_eq(v, c->v, "reply '%s': %s = %llu, expected %llu", c->json, c->key,
			     (unsigned long long)v, (unsigned long long)c->v);
	}
	ctl_tel_free(&r);
}

/* ---- the exposition ---- */

/* A scrape as chotd 2-worker answers it, trimmed: a gauge, an unknown key,
 * a worker lacking a key the other has, reasons, alerts. */
static const char *const scrape_json[4] = {
	"{\"/chot/stats\": {\"rx_packets\": 1200, \"not_ours\": 7, \"bad_header\": 1, \"bad_tag\": 2, "
	"\"stale_epoch\": 0, \"replayed\": 40, \"decode_errors\": 0, \"batches_accepted\": 1150, "
	"\"events_decoded\": 9200, \"bad_events\": 12, \"dup_scans\": 300, \"events_stored\": 8880, "
	"\"events_pending\": 8, \"events_dropped\": 0, \"redis_errors\": 0, \"acks_sent\": 1190, "
	"\"ingest_cycles\": 18446744073709551615, \"future_thing\": 3}}",
	"{\"/chot/workers\": {\"w0\": {\"lcore\": 1, \"events_stored\": 4440, \"events_pending\": 8, "
	"\"redis_connected\": 1, \"redis_reconnects\": 2}, "
	"\"w1\": {\"lcore\": 2, \"events_stored\": 4440, \"events_pending\": 0, \"redis_connected\": 0, "
	"\"rx_ring\": 5}}}",
	"{\"/chot/reasons\": {\"not_ours.ip_fragment\": 7, \"bad_events.cccd_format\": 12, "
	"\"orphan\": 1, \"bad_tag/tag\": 2}}",
	"{\"/chot/alerts\": {\"watch_f0\": 3, \"zone_red\": 1}}",
};

static char *
render_scrape(bool with_alerts)
{
	struct ctl_tel_reply r[4];
	struct prom_input in;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(ctl_tel_parse(scrape_json[i], &r[i]), 0, "fixture %d does not parse", i);
	in = (struct prom_input){ .stats = &r[0].d[0], .workers = r[1].d, .n_workers = r[1].n,
				  .reasons = &r[2].d[0], .alerts = with_alerts ? &r[3].d[0] : NULL };
	f = open_memstream(&buf, &len);
	cr_assert_not_null(f);
	cr_assert_eq(prom_write(f, &in), 0);
	fclose(f);
	for (int i = 0; i < 4; i++)
		ctl_tel_free(&r[i]);
	return buf;
}

Test(prom, golden)
{
	char *s = render_scrape(true);

	golden_check("stats.prom", s);
	free(s);
}

static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

Test(prom, names_types_and_labels)
{
	char *s = render_scrape(false);
	static const char *const want[] = {
		"# TYPE chot_events_stored_total counter",
		"chot_events_stored_total 8880",
		"# TYPE chot_events_pending gauge",      /* a gauge: no _total */
		"chot_events_pending 8",
		"chot_ingest_cycles_total 18446744073709551615",
		"# TYPE chot_future_thing untyped",      /* unknown: untyped, plain name */
		"chot_future_thing 3",
		"chot_worker_events_stored_total{worker=\"w0\"} 4440",
		"chot_worker_events_stored_total{worker=\"w1\"} 4440",
		"# TYPE chot_worker_redis_connected gauge",
		"chot_worker_redis_connected{worker=\"w1\"} 0",
		"chot_worker_redis_reconnects_total{worker=\"w0\"} 2",
		"chot_worker_rx_ring{worker=\"w1\"} 5",
		"chot_reasons_total{counter=\"bad_events\",reason=\"cccd_format\"} 12",
		"chot_reasons_total{counter=\"\",reason=\"orphan\"} 1",
		"chot_reasons_total{counter=\"bad_tag\",reason=\"tag\"} 2",
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_expect(has_line(s, want[i]), "missing line '%s' in:\n%s", want[i], s);
	cr_expect_null(strstr(s, "chot_alert_reasons_total"), "no /chot/alerts, no family:\n%s", s);
	cr_expect_null(strstr(s, "chot_worker_rx_ring{worker=\"w0\"}"),
		       "w0 has no rx_ring: no sample for it:\n%s", s);
	/* Each family's HELP and TYPE exactly once. */
	{
		unsigned n = 0;

		for (const char *p = s; (p = strstr(p, "# TYPE chot_worker_lcore ")) != NULL; p++)
			n++;
		cr_expect_eq(n, 1, "chot_worker_lcore typed %u times", n);
	}
	free(s);
}

struct esc_case {
	char in[16], out[24];
};

static struct esc_case esc_cases[] = {
	{ "plain", "plain" },
	{ "a\"b", "a\\\"b" },
	{ "a\\b", "a\\\\b" },
	{ "line\nnext", "line\\nnext" },
	{ "\\\"\n", "\\\\\\\"\\n" },
	{ "Chợ Vinh", "Chợ Vinh" },   /* UTF-8 passes as is */
	{ "", "" },
};

ParameterizedTestParameters(prom, label_escape)
{
	return cr_make_param_array(struct esc_case, esc_cases, sizeof(esc_cases) / sizeof(esc_cases[0]));
}

ParameterizedTest(struct esc_case *c, prom, label_escape)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	prom_label_value(f, c->in);
	fclose(f);
	cr_expect_str_eq(buf, c->out, "label value '%s' escaped as '%s', expected '%s'", c->in, buf,
			 c->out);
	free(buf);
}

Test(prom, odd_keys_become_valid_names)
{
	struct ctl_tel_reply r;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	cr_assert_eq(ctl_tel_parse("{\"/chot/stats\": {\"a.b-c\": 1, \"x_total\": 2}}", &r), 0);
	f = open_memstream(&buf, &len);
	prom_write(f, &(struct prom_input){ .stats = &r.d[0] });
	fclose(f);
	cr_expect(has_line(buf, "chot_a_b_c 1"), "'a.b-c' must become chot_a_b_c:\n%s", buf);
	cr_expect(has_line(buf, "chot_x_total 2"), "an unknown x_total keeps its name:\n%s", buf);
	free(buf);
	ctl_tel_free(&r);
}

#ifdef CHOT_PROM_DP_COUNTERS
Test(prom, every_chotd_counter_is_described)
{
	for (unsigned i = 0; i < DP_CTR__COUNT; i++)
		cr_expect(prom_known(dp_counter_names[i]), "dataplane counter '%s' has no HELP/TYPE "
			  "row in control/prom.c: add one", dp_counter_names[i]);
}
#endif
