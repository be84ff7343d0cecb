/*
 * The checkpoint lists drawn for a province (DESIGN §9): --watch N watchlist
 * entries, --zones N commune levels, --greenlane N green-lane vehicles, and
 * the JSON file (--lists) that holds them as the exact Redis values of
 * lists.h, so a test loads them with HSET and one INCR of the version key.
 *
 * The lists are drawn after the movement model, from their own PRNG (seed
 * mixed with a constant): the scans are the same with or without lists, and
 * the lists fit the scans.
 *   - watchlist: distinct citizens, f0 10 %, quarantine 15 %, f1 45 %, f2
 *     30 %; 10 % already expired before the province starts, 15 % expiring
 *     during it (half of those exactly at one of the subject's scans, so the
 *     truth checks the ts_ms <= until_ms edge), the rest with the default
 *     validity.  Beyond the citizens: CCCDs of province 099, never scanned.
 *   - zones: the model's communes first (the first four get levels 1..4, so
 *     every level is present; then green 40 %, yellow 30 %, orange 20 %, red
 *     10 %), then codes above the model's, never seen.
 *   - green lane: three quarters of the province's GREEN_LANE vehicles at
 *     most (the others are unregistered stickers), each route holding each
 *     checkpoint the vehicle passes with probability 1/2 plus up to two
 *     others, never one it passes and left out (so some passes are off
 *     route); validity covering the province
 *     for 50 %, starting during it for 25 %, ending during it for 25 % (half
 *     of those at a scan's exact ts_ms); 1..3 passengers allowed where the
 *     vehicles carry 1..3.  Beyond them: stickers 99Z000000.. never scanned.
 *   - green-lane traffic: with --greenlane, every GREEN_LANE vehicle of the
 *     province (registered or not) also drives deliveries, one checkpoint
 *     pass every 2..5 hours, on one of its route's checkpoints 70 % of the
 *     time and anywhere else otherwise, with 1..4 aboard and a declaration
 *     of OK.  These are the only scans the lists add: the movement model's
 *     scans stay as they are without lists.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "layout.h"
#include "validate.h"

#define DAY_MS (86400000ULL)
#define HOUR_MS (3600000ULL)

struct by_subject {
	uint32_t *off;     /* n_subj + 1 */
	uint32_t *scan;    /* scan indexes grouped by subject, in scan order */
};

static void
group_scans(const struct fl_province *p, struct by_subject *g)
{
	uint32_t *fill;

	g->off = calloc((size_t)p->n_subj + 1, sizeof(uint32_t));
	g->scan = malloc(((size_t)p->n_scans + 1) * sizeof(uint32_t));
	fill = calloc((size_t)p->n_subj + 1, sizeof(uint32_t));
	if (g->off == NULL || g->scan == NULL || fill == NULL) {
		perror("chot-flood");
		exit(1);
	}
	for (uint32_t i = 0; i < p->n_scans; i++)
		if (!p->scans[i].bad)
			g->off[p->scans[i].subject + 1]++;
	for (uint32_t s = 0; s < p->n_subj; s++)
		g->off[s + 1] += g->off[s];
	for (uint32_t i = 0; i < p->n_scans; i++) {
		uint32_t s = p->scans[i].subject;

		if (!p->scans[i].bad)
			g->scan[g->off[s] + fill[s]++] = i;
	}
	free(fill);
}

/* A scan time of subject s, or 0 when it has none. */
static uint64_t
some_scan_ts(const struct fl_province *p, const struct by_subject *g, struct fl_rng *r, uint32_t s)
{
	uint32_t n = g->off[s + 1] - g->off[s];

	return n ? p->scans[g->scan[g->off[s] + fl_rng_below(r, n)]].ts_ms : 0;
}

static uint32_t *
shuffled(struct fl_rng *r, uint32_t n, const uint32_t *from)
{
	uint32_t *v = malloc(((size_t)n + 1) * sizeof(uint32_t));

	if (v == NULL) {
		perror("chot-flood");
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++)
		v[i] = from != NULL ? from[i] : i;
	for (uint32_t i = n; i > 1; i--) {
		uint32_t j = (uint32_t)fl_rng_below(r, i), t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
	return v;
}

static void
draw_watch(struct fl_province *p, struct fl_rng *r, const struct by_subject *g)
{
	struct fl_lists *l = &p->lists;
	uint64_t span = p->end_ms - p->start_ms;
	uint32_t *perm = shuffled(r, p->n_citizens, NULL);

	l->watch = calloc((size_t)p->o.watch_n + 1, sizeof(*l->watch));
	for (uint32_t k = 0; k < p->o.watch_n; k++) {
		struct fl_watch *w = &l->watch[l->n_watch++];
		uint64_t x = fl_rng_below(r, 100), y = fl_rng_below(r, 100);

		w->e.status = x < 10 ? WATCH_F0 : x < 25 ? WATCH_QUARANTINE : x < 70 ? WATCH_F1 :
			      WATCH_F2;
		if (k < p->n_citizens) {
			w->subject = (int32_t)perm[k];
			memcpy(w->pid, p->subj[perm[k]].pid, PID_LEN);
			l->watch_of[perm[k]] = (int32_t)k;
		} else {
			char raw[16];

			w->subject = -1;
			snprintf(raw, sizeof(raw), "0990%08u", k);
			chot_pseudonym(w->pid, p->keys.pseudonym, SCHEME_CCCD, raw, 12);
		}
		w->e.set_ms = p->start_ms - fl_rng_below(r, 3 * DAY_MS);
		if (y < 10) {
			w->e.until_ms = p->start_ms - 1 - fl_rng_below(r, 2 * DAY_MS);
		} else if (y < 25) {
			uint64_t ts = w->subject >= 0 && fl_rng_chance(r, 0.5) ?
					      some_scan_ts(p, g, r, (uint32_t)w->subject) : 0;

			w->e.until_ms = ts ? ts : p->start_ms + fl_rng_below(r, span);
		} else {
			w->e.until_ms = w->e.set_ms + lists_watch_default_ms(w->e.status);
		}
		if (w->e.set_ms > w->e.until_ms)
			w->e.set_ms = w->e.until_ms;
		if (k % 3 == 0)
			snprintf(w->e.note, sizeof(w->e.note), "chot-flood seed %llu",
				 (unsigned long long)p->o.seed);
	}
	free(perm);
}

static int
zone_cmp(const void *a, const void *b)
{
	const struct fl_zone *x = a, *y = b;

	return x->commune < y->commune ? -1 : x->commune > y->commune;
}

static void
draw_zones(struct fl_province *p, struct fl_rng *r)
{
	struct fl_lists *l = &p->lists;
	uint32_t *perm = shuffled(r, p->n_communes, p->communes), top = 0;

	for (uint32_t i = 0; i < p->n_communes; i++)
		top = p->communes[i] > top ? p->communes[i] : top;
	for (uint32_t s = 0; s < p->n_subj; s++)
		top = p->subj[s].commune > top ? p->subj[s].commune : top;
	l->zones = calloc((size_t)p->o.zones_n + 1, sizeof(*l->zones));
	for (uint32_t k = 0; k < p->o.zones_n; k++) {
		struct fl_zone *z = &l->zones[l->n_zones++];
		uint64_t x = fl_rng_below(r, 100);

		z->commune = k < p->n_communes ? perm[k] : top + 1 + (k - p->n_communes);
		z->level = k < 4 ? (enum zone_level)(ZONE_GREEN + k) :
			   x < 40 ? ZONE_GREEN : x < 70 ? ZONE_YELLOW : x < 90 ? ZONE_ORANGE :
			   ZONE_RED;
	}
	qsort(l->zones, l->n_zones, sizeof(*l->zones), zone_cmp);
	free(perm);
}

enum zone_level
fl_zone_of(const struct fl_province *p, uint32_t commune)
{
	const struct fl_zone key = { .commune = commune };
	const struct fl_zone *z = bsearch(&key, p->lists.zones, p->lists.n_zones,
					  sizeof(key), zone_cmp);

	return z != NULL ? z->level : ZONE_NONE;
}

static bool
in_set(const uint32_t *v, uint32_t n, uint32_t x)
{
	for (uint32_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void
route_add(struct greenlane_entry *e, uint32_t site)
{
	if (!in_set(e->route, e->nroute, site) && e->nroute < LISTS_ROUTE_MAX)
		e->route[e->nroute++] = site;
}

static void
draw_green(struct fl_province *p, struct fl_rng *r, const struct by_subject *g)
{
	struct fl_lists *l = &p->lists;
	uint64_t span = p->end_ms - p->start_ms;
	uint32_t *cps = calloc((size_t)p->n_sites + 1, sizeof(uint32_t)), n_cp = 0;
	uint32_t *gl = calloc((size_t)p->n_subj + 1, sizeof(uint32_t)), n_gl = 0, n_real, *perm;

	for (uint32_t i = 0; i < p->n_sites; i++)
		if (p->sites[i].kind == KIND_CHECKPOINT)
			cps[n_cp++] = p->sites[i].id;
	if (n_cp == 0 && p->n_sites > 0)
		cps[n_cp++] = p->sites[0].id;
	for (uint32_t s = 0; s < p->n_subj; s++)
		if (p->subj[s].scheme == SCHEME_GREEN_LANE)
			gl[n_gl++] = s;
	perm = shuffled(r, n_gl, gl);
	n_real = p->o.greenlane_n < n_gl ? p->o.greenlane_n : (n_gl * 3 + 3) / 4;
	l->green = calloc((size_t)p->o.greenlane_n + 1, sizeof(*l->green));
	for (uint32_t k = 0; k < p->o.greenlane_n; k++) {
		struct fl_green *v = &l->green[l->n_green++];
		struct greenlane_entry *e = &v->e;
		uint64_t z = fl_rng_below(r, 100);
		uint32_t left_out[LISTS_ROUTE_MAX], n_out = 0;

		v->subject = -1;
		if (k < n_real) {
			uint32_t s = perm[k];

			v->subject = (int32_t)s;
			memcpy(v->pid, p->subj[s].pid, PID_LEN);
			snprintf(v->plate, sizeof(v->plate), "%s", p->subj[s].norm);
			l->green_of[s] = (int32_t)k;
			for (uint32_t i = g->off[s]; i < g->off[s + 1]; i++) {
				uint32_t site = p->scans[g->scan[i]].site_id;

				if (fl_site_kind(site, p) != KIND_CHECKPOINT ||
				    in_set(left_out, n_out, site) || in_set(e->route, e->nroute, site))
					continue;
				if (fl_rng_chance(r, 0.5))
					route_add(e, site);
				else if (n_out < LISTS_ROUTE_MAX)
					left_out[n_out++] = site;
			}
		} else {
			snprintf(v->plate, sizeof(v->plate), "99Z%06u", k);
			chot_pseudonym(v->pid, p->keys.pseudonym, SCHEME_GREEN_LANE, v->plate,
				       strlen(v->plate));
		}
		for (uint64_t extra = fl_rng_below(r, 3); extra > 0 && n_cp > 0; extra--) {
			uint32_t site = cps[fl_rng_below(r, n_cp)];

			if (!in_set(left_out, n_out, site))
				route_add(e, site);
		}
		for (uint32_t i = 0; e->nroute == 0 && i < n_cp; i++)
			if (!in_set(left_out, n_out, cps[i]))
				route_add(e, cps[i]);
		if (e->nroute == 0)   /* every checkpoint passed and left out: a non-checkpoint */
			route_add(e, p->n_sites > 0 ? p->sites[p->n_sites - 1].id : 1);
		if (z < 50) {
			e->from_ms = p->start_ms - HOUR_MS - fl_rng_below(r, 2 * DAY_MS);
			e->to_ms = p->end_ms + DAY_MS + fl_rng_below(r, 7 * DAY_MS);
		} else {
			uint64_t ts = v->subject >= 0 && fl_rng_chance(r, 0.5) ?
					      some_scan_ts(p, g, r, (uint32_t)v->subject) : 0;
			uint64_t t = ts ? ts : p->start_ms + fl_rng_below(r, span);

			if (z < 75) {
				e->from_ms = t;
				e->to_ms = p->end_ms + 7 * DAY_MS;
			} else {
				e->from_ms = p->start_ms - DAY_MS;
				e->to_ms = t;
			}
		}
		e->passengers = (uint32_t)fl_rng_range(r, 1, 3);
	}
	free(perm);
	free(gl);
	free(cps);
}

/* One checkpoint site index with scanners: a route site 70 % of the time. */
static int64_t
delivery_site(const struct fl_province *p, struct fl_rng *r, const struct fl_green *v,
	      const uint32_t *cps, uint32_t n_cp)
{
	if (v != NULL && fl_rng_chance(r, 0.7)) {
		uint32_t site = v->e.route[fl_rng_below(r, v->e.nroute)];
		const struct fl_site *st = fl_site_by_id(p, site);

		if (st != NULL && st->n_dev > 0)
			return st - p->sites;
	}
	return n_cp > 0 ? (int64_t)cps[fl_rng_below(r, n_cp)] : -1;
}

static void
drive_green(struct fl_province *p, struct fl_rng *r)
{
	uint32_t *cps = calloc((size_t)p->n_sites + 1, sizeof(uint32_t)), n_cp = 0;

	for (uint32_t i = 0; i < p->n_sites; i++)
		if (p->sites[i].kind == KIND_CHECKPOINT && p->sites[i].n_dev > 0)
			cps[n_cp++] = i;
	for (uint32_t s = 0; s < p->n_subj && n_cp > 0; s++) {
		const struct fl_green *v = p->lists.green_of[s] >= 0 ?
						   &p->lists.green[p->lists.green_of[s]] : NULL;
		uint64_t t;

		if (p->subj[s].scheme != SCHEME_GREEN_LANE)
			continue;
		for (t = p->start_ms + fl_rng_below(r, 3 * HOUR_MS); t < p->end_ms;
		     t += fl_rng_range(r, 2 * HOUR_MS, 5 * HOUR_MS)) {
			int64_t si = delivery_site(p, r, v, cps, n_cp);
			const struct fl_site *st;
			struct fl_scan sc = { .ts_ms = t, .subject = s, .dir = DIR_PASS, .decl = 1,
					      .vehicle = -1 };

			if (si < 0)
				break;
			st = &p->sites[si];
			sc.site_id = st->id;
			sc.passengers = (uint16_t)fl_rng_range(r, 1, 4);
			/* The model's rule for PASS scans: one device per (subject, site). */
			sc.dev = st->first_dev + s % st->n_dev;
			if (fl_scan_push(p, &sc) != 0)
				break;
		}
	}
	free(cps);
}

int
fl_lists_draw(struct fl_province *p)
{
	struct fl_lists *l = &p->lists;
	struct by_subject g;
	struct fl_rng r;

	if (p->o.watch_n == 0 && p->o.zones_n == 0 && p->o.greenlane_n == 0)
		return 0;
	l->drawn = true;
	l->watch_of = malloc(((size_t)p->n_subj + 1) * sizeof(int32_t));
	l->green_of = malloc(((size_t)p->n_subj + 1) * sizeof(int32_t));
	if (l->watch_of == NULL || l->green_of == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < p->n_subj; s++)
		l->watch_of[s] = l->green_of[s] = -1;
	group_scans(p, &g);
	fl_rng_seed(&r, p->o.seed ^ 0x6c69737473ULL);   /* "lists" */
	draw_watch(p, &r, &g);
	draw_zones(p, &r);
	draw_green(p, &r, &g);
	free(g.off);
	free(g.scan);
	if (p->o.greenlane_n > 0)
		drive_green(p, &r);
	return 0;
}

static void
hash_open(FILE *f, const char *key, bool first)
{
	fprintf(f, "%s\n  \"%s\": {", first ? "" : ",", key);
}

int
fl_lists_write(const struct fl_province *p, const char *path)
{
	const struct fl_lists *l = &p->lists;
	char hex[PID_HEX_LEN + 1], val[LISTS_VALUE_MAX];
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "chot-flood: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fprintf(f, "{\n \"version_key\": \"%s\",\n \"hashes\": {", LISTS_VERSION_KEY);
	hash_open(f, LISTS_WATCH_HASH, true);
	for (uint32_t i = 0; i < l->n_watch; i++) {
		if (lists_watch_encode(val, sizeof(val), &l->watch[i].e) < 0)
			goto bad;
		chot_pid_hex(hex, l->watch[i].pid);
		fprintf(f, "%s\n   \"%s\": ", i ? "," : "", hex);
		fl_json_str(f, val);
	}
	fprintf(f, "}");
	hash_open(f, LISTS_ZONES_HASH, false);
	for (uint32_t i = 0; i < l->n_zones; i++)
		fprintf(f, "%s\n   \"%u\": \"%d\"", i ? "," : "", l->zones[i].commune,
			(int)l->zones[i].level);
	fprintf(f, "}");
	hash_open(f, LISTS_GREENLANE_HASH, false);
	for (uint32_t i = 0; i < l->n_green; i++) {
		if (lists_greenlane_encode(val, sizeof(val), &l->green[i].e) < 0)
			goto bad;
		chot_pid_hex(hex, l->green[i].pid);
		fprintf(f, "%s\n   \"%s\": \"%s\"", i ? "," : "", hex, val);
	}
	fprintf(f, "}");
	hash_open(f, LAYOUT_SITES_HASH, false);
	for (uint32_t i = 0; i < p->n_sites; i++) {
		snprintf(val, sizeof(val), "%s,%u,%s", rules_kind_name(p->sites[i].kind),
			 p->sites[i].commune, p->sites[i].name);
		fprintf(f, "%s\n   \"%u\": ", i ? "," : "", p->sites[i].id);
		fl_json_str(f, val);
	}
	fprintf(f, "}\n },\n \"watch\": [");
	/* The same lists, readable: raw identifiers for tests and the demo. */
	for (uint32_t i = 0; i < l->n_watch; i++) {
		const struct fl_watch *w = &l->watch[i];

		chot_pid_hex(hex, w->pid);
		fprintf(f, "%s\n  {\"pid\": \"%s\", \"scheme\": \"%s\", \"id\": ", i ? "," : "", hex,
			w->subject >= 0 ? wire_scheme_name(p->subj[w->subject].scheme) : "cccd");
		if (w->subject >= 0) {
			fl_json_str(f, p->subj[w->subject].id);
		} else {
			char raw[16];

			snprintf(raw, sizeof(raw), "0990%08u", i);
			fl_json_str(f, raw);
		}
		fprintf(f, ", \"status\": \"%s\", \"set_ms\": %llu, \"until_ms\": %llu}",
			lists_watch_name(w->e.status), (unsigned long long)w->e.set_ms,
			(unsigned long long)w->e.until_ms);
	}
	fprintf(f, "\n ],\n \"zones\": [");
	for (uint32_t i = 0; i < l->n_zones; i++)
		fprintf(f, "%s\n  {\"commune\": %u, \"level\": \"%s\"}", i ? "," : "",
			l->zones[i].commune, lists_zone_name(l->zones[i].level, false));
	fprintf(f, "\n ],\n \"greenlane\": [");
	for (uint32_t i = 0; i < l->n_green; i++) {
		const struct greenlane_entry *e = &l->green[i].e;

		chot_pid_hex(hex, l->green[i].pid);
		fprintf(f, "%s\n  {\"pid\": \"%s\", \"plate\": \"%s\", \"from_ms\": %llu, "
			   "\"to_ms\": %llu, \"passengers\": %u, \"route\": [",
			i ? "," : "", hex, l->green[i].plate, (unsigned long long)e->from_ms,
			(unsigned long long)e->to_ms, e->passengers);
		for (uint32_t k = 0; k < e->nroute; k++)
			fprintf(f, "%s%u", k ? ", " : "", e->route[k]);
		fprintf(f, "]}");
	}
	fprintf(f, "\n ]\n}\n");
	return fclose(f) == 0 ? 0 : -errno;
bad:
	fclose(f);
	fprintf(stderr, "chot-flood: %s: a list value does not encode\n", path);
	return -EINVAL;
}
