/*
 * The checkpoint rules (dataplane/checkpoint.c) against a tiny in-test list
 * set: every reason, the time rules, the scheme and checkpoint conditions,
 * and the severity order of the verdict code.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "checkpoint.h"

#define SITE_CP   17     /* a checkpoint */
#define SITE_MKT  18     /* a market */
#define T0        1637971200000ULL

struct tiny {
	uint8_t watch_pid[4][PID_LEN];
	struct chk_watch watch[4];
	unsigned nwatch;
	uint8_t gl_pid[PID_LEN];
	struct greenlane_entry gl;
	enum zone_level zone[100];
};

static bool
t_watch(const void *t, const uint8_t pid[PID_LEN], struct chk_watch *out)
{
	const struct tiny *x = t;

	for (unsigned i = 0; i < x->nwatch; i++)
		if (memcmp(x->watch_pid[i], pid, PID_LEN) == 0) {
			*out = x->watch[i];
			return true;
		}
	return false;
}

static const struct greenlane_entry *
t_gl(const void *t, const uint8_t pid[PID_LEN])
{
	const struct tiny *x = t;

	return memcmp(x->gl_pid, pid, PID_LEN) == 0 ? &x->gl : NULL;
}

static bool
t_cp(const void *t, uint32_t site)
{
	(void)t;
	return site == SITE_CP;
}

static enum zone_level
t_zone(const void *t, uint32_t c)
{
	const struct tiny *x = t;

	return c < 100 ? x->zone[c] : ZONE_NONE;
}

static const struct chk_lookup ops = { t_watch, t_gl, t_cp, t_zone };
static struct tiny lists;

static void
setup(void)
{
	memset(&lists, 0, sizeof(lists));
	for (unsigned i = 0; i < 4; i++) {
		memset(lists.watch_pid[i], 0x10 + (int)i, PID_LEN);
		lists.watch[i].until_ms = T0 + 1000;
	}
	lists.watch[0].status = WATCH_F0;
	lists.watch[1].status = WATCH_QUARANTINE;
	lists.watch[2].status = WATCH_F1;
	lists.watch[3].status = WATCH_F2;
	lists.nwatch = 4;
	memset(lists.gl_pid, 0x77, PID_LEN);
	lists.gl = (struct greenlane_entry){ .from_ms = T0 - 1000, .to_ms = T0 + 1000,
					     .passengers = 2, .nroute = 2, .route = { 5, SITE_CP } };
	lists.zone[33] = ZONE_RED;
	lists.zone[32] = ZONE_ORANGE;
	lists.zone[31] = ZONE_YELLOW;
}

static struct scan_event
ev(uint8_t scheme, uint32_t site, uint32_t commune, uint8_t decl)
{
	struct scan_event e = { .ts_ms = T0, .site_id = site, .origin_commune = commune,
				.scheme = scheme, .dir = DIR_IN, .decl = decl };
	return e;
}

static uint8_t pid_none[PID_LEN];

TestSuite(checkpoint, .init = setup);

Test(checkpoint, clear)
{
	struct scan_event e = ev(SCHEME_CCCD, SITE_CP, 31, 1);

	cr_expect_eq(chk_event(&ops, &lists, &e, pid_none), 0);
	cr_expect_eq(chk_verdict_code(0), CHK_CLEAR);
}

Test(checkpoint, watchlist_and_until)
{
	static const unsigned bit[4] = { CHK_WATCH_F0, CHK_WATCH_QUARANTINE, CHK_WATCH_F1,
					 CHK_WATCH_F2 };
	static const uint16_t code[4] = { 16, 19, 17, 18 };

	for (unsigned i = 0; i < 4; i++) {
		struct scan_event e = ev(SCHEME_PASSPORT, SITE_MKT, 0, 0);
		uint16_t m = chk_event(&ops, &lists, &e, lists.watch_pid[i]);

		cr_expect_eq(m, 1u << bit[i], "status %u", lists.watch[i].status);
		cr_expect_eq(chk_verdict_code(m), code[i]);
		e.ts_ms = T0 + 1000;     /* until is inclusive */
		cr_expect_eq(chk_event(&ops, &lists, &e, lists.watch_pid[i]), 1u << bit[i]);
		e.ts_ms = T0 + 1001;     /* after until: inert */
		cr_expect_eq(chk_event(&ops, &lists, &e, lists.watch_pid[i]), 0);
	}
	/* any scheme: a plate on the watchlist is a hit too */
	struct scan_event p = ev(SCHEME_PLATE, SITE_CP, 33, 0);
	cr_expect_eq(chk_event(&ops, &lists, &p, lists.watch_pid[0]), 1u << CHK_WATCH_F0);
}

Test(checkpoint, zones_only_people_at_checkpoints)
{
	static const uint8_t people[] = { SCHEME_CCCD, SCHEME_PCCOVID, SCHEME_VNEID,
					  SCHEME_PASSPORT };

	for (unsigned i = 0; i < sizeof(people); i++) {
		struct scan_event r = ev(people[i], SITE_CP, 33, 0), o = ev(people[i], SITE_CP, 32, 0);

		cr_expect_eq(chk_event(&ops, &lists, &r, pid_none), 1u << CHK_ZONE_RED);
		cr_expect_eq(chk_event(&ops, &lists, &o, pid_none), 1u << CHK_ZONE_ORANGE);
		r.site_id = SITE_MKT;
		cr_expect_eq(chk_event(&ops, &lists, &r, pid_none), 0, "not a checkpoint");
	}
	struct scan_event y = ev(SCHEME_CCCD, SITE_CP, 31, 0), u = ev(SCHEME_CCCD, SITE_CP, 0, 0);
	struct scan_event pl = ev(SCHEME_PLATE, SITE_CP, 33, 0);

	cr_expect_eq(chk_event(&ops, &lists, &y, pid_none), 0, "yellow");
	cr_expect_eq(chk_event(&ops, &lists, &u, pid_none), 0, "unknown commune");
	cr_expect_eq(chk_event(&ops, &lists, &pl, pid_none), 0, "a plate has no origin zone");
}

Test(checkpoint, declarations_any_site)
{
	struct scan_event s = ev(SCHEME_VNEID, SITE_MKT, 0, CHOT__V1__DECLARATION__DECL_SYMPTOMS);
	struct scan_event x = ev(SCHEME_PLATE, SITE_MKT, 0, CHOT__V1__DECLARATION__DECL_EXPOSED);

	cr_expect_eq(chk_event(&ops, &lists, &s, pid_none), 1u << CHK_DECL_SYMPTOMS);
	cr_expect_eq(chk_event(&ops, &lists, &x, pid_none), 1u << CHK_DECL_EXPOSED);
	cr_expect_eq(chk_verdict_code(1u << CHK_DECL_EXPOSED), 49);
}

Test(checkpoint, green_lane)
{
	struct scan_event g = ev(SCHEME_GREEN_LANE, SITE_CP, 0, 0);

	g.passengers = 2;
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid), 0, "registered, on route, in time");
	cr_expect_eq(chk_event(&ops, &lists, &g, pid_none), 1u << CHK_GREENLANE_UNKNOWN);
	g.site_id = 99;        /* not a checkpoint: the route does not matter */
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid), 0);
	g.site_id = SITE_CP;
	lists.gl.route[1] = 6; /* the checkpoint is off its route */
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid), 1u << CHK_OFF_ROUTE);
	g.ts_ms = T0 + 1001;
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid),
		     1u << CHK_OFF_ROUTE | 1u << CHK_GREENLANE_EXPIRED);
	g.ts_ms = T0 - 1001;
	g.passengers = 3;
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid),
		     1u << CHK_OFF_ROUTE | 1u << CHK_GREENLANE_EXPIRED | 1u << CHK_PASSENGERS_OVER);
	g.ts_ms = T0 - 1000;   /* from is inclusive */
	lists.gl.route[1] = SITE_CP;
	cr_expect_eq(chk_event(&ops, &lists, &g, lists.gl_pid), 1u << CHK_PASSENGERS_OVER);
	cr_expect_eq(chk_verdict_code(1u << CHK_PASSENGERS_OVER), 67);
	/* a PLATE scan of the same code is not a green-lane scan */
	struct scan_event p = ev(SCHEME_PLATE, SITE_CP, 0, 0);
	cr_expect_eq(chk_event(&ops, &lists, &p, pid_none), 0);
}

Test(checkpoint, severity_order)
{
	/* f2 + zone red + exposed: zone_red (33) wins over watch_f2 (18) */
	struct scan_event e = ev(SCHEME_CCCD, SITE_CP, 33, CHOT__V1__DECLARATION__DECL_EXPOSED);
	uint16_t m = chk_event(&ops, &lists, &e, lists.watch_pid[3]);
	char names[128];

	cr_expect_eq(m, 1u << CHK_ZONE_RED | 1u << CHK_WATCH_F2 | 1u << CHK_DECL_EXPOSED);
	cr_expect_eq(chk_verdict_code(m), 33);
	cr_assert_gt(chk_mask_names(names, sizeof(names), m), 0);
	cr_expect_str_eq(names, "zone_red,watch_f2,decl_exposed");
	/* f1 + symptoms + orange: watch_f1 */
	e = ev(SCHEME_CCCD, SITE_CP, 32, CHOT__V1__DECLARATION__DECL_SYMPTOMS);
	m = chk_event(&ops, &lists, &e, lists.watch_pid[2]);
	cr_expect_eq(chk_verdict_code(m), 17);
	cr_assert_gt(chk_mask_names(names, sizeof(names), m), 0);
	cr_expect_str_eq(names, "watch_f1,decl_symptoms,zone_orange");
}
