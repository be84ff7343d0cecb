/*
 * The province and its movement model.
 *
 * Communes (6-digit-ish codes of a Thanh Hoa-like province), citizens with a
 * home commune and one identifier they are always scanned with (chip CCCD for
 * most, PC-Covid or VNeID for some, a passport for a few visitors), sites of
 * five kinds spread over the communes, scanners (devices) at the sites, and
 * vehicles with plates and regular passengers.
 *
 * Every citizen lives a day at a time: a morning market (IN, OUT 10-90 min
 * later), venues during the day (IN/OUT, sometimes a forgotten OUT), commutes
 * through road checkpoints (PASS), now and then a testing site; vehicles pass
 * checkpoints with their passengers scanned alongside (PERSON scans carry the
 * plate in `vehicle`).  --surge SITE:FACTOR multiplies testing-site visits to
 * one site during a 10-hour mass-testing drive on the middle day.
 *
 * Two natural scans of the same (subject, site, dir) never fall within the
 * dedupe window unless they come from the same device: duplicates are
 * injected on purpose (--dup-rate), by the device that made the first scan,
 * so chotd's per-worker dedupe stores the same whatever the worker count.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "validate.h"

#define MIN_MS (60ULL * 1000)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)
#define DEDUPE_GUARD_MS 120000ULL

static const char *const market_names[] = {
	"Chợ Đầu Mối", "Chợ Trung Tâm", "Chợ Phiên", "Chợ Cá", "Chợ Nông Sản",
};
static const char *const venue_names[] = {
	"Siêu thị", "Nhà hàng", "Quán cà phê", "Bệnh viện Đa khoa", "Trường THPT",
	"UBND xã", "Bưu điện", "Ngân hàng Agribank", "Nhà văn hóa", "Khu công nghiệp",
};
static const char *const place_names[] = {
	"Triệu Sơn", "Thọ Xuân", "Nông Cống", "Quảng Xương", "Đông Sơn", "Hoằng Hóa",
	"Hậu Lộc", "Nga Sơn", "Yên Định", "Thiệu Hóa", "Vĩnh Lộc", "Cẩm Thủy",
	"Ngọc Lặc", "Như Thanh", "Tĩnh Gia", "Sầm Sơn",
};
static const char *const road_names[] = { "QL1A", "QL45", "QL47", "QL217", "Đường HCM", "TL506" };
static const char plate_prefix[][5] = { "36A", "36B", "36C", "36H", "36LD", "29A", "30E", "37C" };

int
fl_scan_push(struct fl_province *p, const struct fl_scan *s)
{
	if (p->n_scans == p->cap_scans) {
		uint32_t cap = p->cap_scans ? p->cap_scans * 2 : 1 << 16;
		void *n = realloc(p->scans, (size_t)cap * sizeof(*p->scans));

		if (n == NULL)
			return -ENOMEM;
		p->scans = n;
		p->cap_scans = cap;
	}
	p->scans[p->n_scans++] = *s;
	return 0;
}

uint32_t
fl_subject_add(struct fl_province *p, uint8_t scheme, const char *raw, uint32_t commune)
{
	struct fl_subject *s;
	int n;

	if (p->n_subj == p->cap_subj) {
		uint32_t cap = p->cap_subj ? p->cap_subj * 2 : 1024;
		void *m = realloc(p->subj, (size_t)cap * sizeof(*p->subj));

		if (m == NULL) {
			perror("chot-flood");
			exit(1);
		}
		p->subj = m;
		p->cap_subj = cap;
	}
	s = &p->subj[p->n_subj];
	memset(s, 0, sizeof(*s));
	s->scheme = scheme;
	s->commune = commune;
	snprintf(s->id, sizeof(s->id), "%s", raw);
	n = wire_subject_normalise(scheme, s->id, strlen(s->id), s->norm);
	if (n > 0)
		chot_pseudonym(s->pid, p->keys.pseudonym, scheme, s->norm, (size_t)n);
	return p->n_subj++;
}

const struct fl_site *
fl_site_by_id(const struct fl_province *p, uint32_t site_id)
{
	/* Site ids are dense from 1 in generated provinces; scenarios search. */
	if (site_id >= 1 && site_id <= p->n_sites && p->sites[site_id - 1].id == site_id)
		return &p->sites[site_id - 1];
	for (uint32_t i = 0; i < p->n_sites; i++)
		if (p->sites[i].id == site_id)
			return &p->sites[i];
	return NULL;
}

enum site_kind
fl_site_kind(uint32_t site_id, void *ctx)
{
	const struct fl_site *s = fl_site_by_id(ctx, site_id);

	return s != NULL ? s->kind : KIND_UNKNOWN;
}

static void
build_sites(struct fl_province *p)
{
	struct fl_rng *r = &p->rng;
	uint32_t counts[KIND__COUNT] = { 0 };

	p->n_sites = p->o.sites;
	p->sites = calloc(p->n_sites, sizeof(*p->sites));
	for (uint32_t i = 0; i < p->n_sites; i++) {
		struct fl_site *s = &p->sites[i];
		uint64_t x = fl_rng_below(r, 100);
		const char *place;

		s->id = i + 1;
		s->commune = p->communes[fl_rng_below(r, p->n_communes)];
		/* Every province has at least one of each kind when it can. */
		if (i < 4)
			s->kind = (enum site_kind)(KIND_CHECKPOINT + i);
		else
			s->kind = x < 20 ? KIND_CHECKPOINT : x < 35 ? KIND_MARKET :
				  x < 80 ? KIND_VENUE : x < 90 ? KIND_TESTING : KIND_OTHER;
		counts[s->kind]++;
		place = place_names[fl_rng_below(r, sizeof(place_names) / sizeof(*place_names))];
		switch (s->kind) {
		case KIND_CHECKPOINT:
			snprintf(s->name, sizeof(s->name), "Chốt kiểm soát %s Km%u %s",
				 road_names[fl_rng_below(r, 6)], (unsigned)fl_rng_range(r, 2, 380),
				 place);
			break;
		case KIND_MARKET:
			snprintf(s->name, sizeof(s->name), "%s %s",
				 market_names[fl_rng_below(r, 5)], place);
			break;
		case KIND_VENUE:
			snprintf(s->name, sizeof(s->name), "%s %s %u",
				 venue_names[fl_rng_below(r, 10)], place, counts[s->kind]);
			break;
		case KIND_TESTING:
			snprintf(s->name, sizeof(s->name), "Điểm xét nghiệm %s %u", place,
				 counts[s->kind]);
			break;
		default:
			snprintf(s->name, sizeof(s->name), "Cơ sở %s %u", place, counts[s->kind]);
			break;
		}
	}
}

static void
build_devices(struct fl_province *p)
{
	struct fl_rng *r = &p->rng;
	uint32_t n = p->o.devices;
	uint64_t span = p->end_ms - p->start_ms;

	if (n == 0)
		n = 1;
	p->n_devs = n;
	p->devs = calloc(n, sizeof(*p->devs));
	for (uint32_t d = 0; d < n; d++) {
		struct fl_device *dv = &p->devs[d];
		uint32_t site = d % p->n_sites;

		dv->device_id = 0x00010000u + d * 7 + 1;
		dv->site_idx = site;
		dv->epoch = 1 + (uint32_t)fl_rng_below(r, 3);
		dv->seq = 0;
		dv->ipv6 = fl_rng_chance(r, 0.1);
		dv->vlan = fl_rng_chance(r, 0.1);
		if (fl_rng_chance(r, 0.15) && span > 4 * HOUR_MS)
			dv->reboot_at_ms = p->start_ms + fl_rng_range(r, span / 4, span * 3 / 4);
		if (p->sites[site].n_dev == 0)
			p->sites[site].first_dev = d;
		p->sites[site].n_dev++;
	}
}

/*
 * CCCD: province 038, century/gender digit, birth year, a 6-digit serial.  The
 * serial is a bijection of the citizen index (486187 is coprime to 10^6), so
 * two citizens never share an identifier (below a million citizens).
 */
static void
make_cccd(struct fl_rng *r, uint32_t i, char out[13])
{
	unsigned year = (unsigned)fl_rng_range(r, 1940, 2015);
	unsigned gender = (unsigned)fl_rng_below(r, 2);
	unsigned century = year >= 2000 ? 2 + gender : gender;

	snprintf(out, 13, "038%u%02u%06u", century, year % 100,
		 (unsigned)(((uint64_t)i * 486187u) % 1000000u));
}

static void
build_people(struct fl_province *p)
{
	struct fl_rng *r = &p->rng;
	char raw[WIRE_SUBJECT_MAX_NUL];

	for (uint32_t i = 0; i < p->o.citizens; i++) {
		uint32_t commune = p->communes[fl_rng_below(r, p->n_communes)];
		uint64_t x = fl_rng_below(r, 100);
		uint8_t scheme;

		if (x < 80) {
			scheme = SCHEME_CCCD;
			make_cccd(r, i, raw);
		} else if (x < 92) {
			scheme = SCHEME_PCCOVID;
			snprintf(raw, sizeof(raw), "PC%08u-%04x", i,
				 (unsigned)fl_rng_below(r, 65536));
		} else if (x < 99) {
			scheme = SCHEME_VNEID;
			snprintf(raw, sizeof(raw), "VNEID:%06llu%06u",
				 (unsigned long long)fl_rng_below(r, 1000000), i);
		} else {
			scheme = SCHEME_PASSPORT;
			snprintf(raw, sizeof(raw), "%c%08u", (char)('B' + fl_rng_below(r, 20)), i);
		}
		fl_subject_add(p, scheme, raw, commune);
	}
	p->n_citizens = p->n_subj;
}

/* A messy plate as painted/stuck: "36A-123.45", "36A 12345", "36a-12345". */
static void
make_plate(struct fl_rng *r, uint32_t v, char out[WIRE_SUBJECT_MAX_NUL])
{
	/* Unique per vehicle index: prefix and digits are a bijection of v. */
	const char *pre = plate_prefix[v % 8];
	unsigned a = (v / 8) % 1000, b = (v / 8000) % 100;

	switch (fl_rng_below(r, 4)) {
	case 0: snprintf(out, WIRE_SUBJECT_MAX_NUL, "%s-%03u.%02u", pre, a, b); break;
	case 1: snprintf(out, WIRE_SUBJECT_MAX_NUL, "%s %03u%02u", pre, a, b); break;
	case 2: snprintf(out, WIRE_SUBJECT_MAX_NUL, "%s%03u%02u", pre, a, b); break;
	default:
		snprintf(out, WIRE_SUBJECT_MAX_NUL, "%c%c%c-%03u%02u", pre[0], pre[1],
			 pre[2] | 0x20, a, b);
		break;
	}
}

struct fl_pick {
	uint32_t *idx;
	uint32_t n;
};

static void
by_kind(const struct fl_province *p, enum site_kind k, struct fl_pick *out)
{
	out->idx = calloc(p->n_sites, sizeof(uint32_t));
	out->n = 0;
	for (uint32_t i = 0; i < p->n_sites; i++)
		if (p->sites[i].kind == k && p->sites[i].n_dev > 0)
			out->idx[out->n++] = i;
}

/* A site of kind k, preferably in the commune. -1 when there is none. */
static int64_t
pick_site(struct fl_province *p, const struct fl_pick *k, uint32_t commune)
{
	if (k->n == 0)
		return -1;
	for (int tries = 0; tries < 4; tries++) {
		uint32_t s = k->idx[fl_rng_below(&p->rng, k->n)];

		if (p->sites[s].commune == commune)
			return s;
	}
	return k->idx[fl_rng_below(&p->rng, k->n)];
}

static uint8_t
pick_decl(struct fl_rng *r)
{
	uint64_t x = fl_rng_below(r, 1000);

	return x < 900 ? 1 : x < 960 ? 0 : x < 990 ? 2 : 3;
}

static void
scan(struct fl_province *p, uint32_t subject, uint32_t site_idx, uint64_t ts, uint8_t dir,
     int32_t vehicle, uint16_t passengers)
{
	const struct fl_site *s = &p->sites[site_idx];
	struct fl_scan sc = {
		.ts_ms = ts, .subject = subject, .site_id = s->id, .dir = dir,
		.decl = pick_decl(&p->rng), .vehicle = vehicle, .passengers = passengers,
	};

	if (ts < p->start_ms || ts >= p->end_ms)
		return;
	/* Entrance and exit scanners: IN on the first device, OUT on the last. */
	sc.dev = s->first_dev + (dir == DIR_OUT ? s->n_dev - 1 : 0);
	if (dir == DIR_PASS)
		sc.dev = s->first_dev + (uint32_t)(subject % s->n_dev);
	fl_scan_push(p, &sc);
}

static void
visit(struct fl_province *p, uint32_t subject, int64_t site, uint64_t t_in, uint64_t stay,
      bool forget_out)
{
	if (site < 0)
		return;
	scan(p, subject, (uint32_t)site, t_in, DIR_IN, -1, 0);
	if (!forget_out)
		scan(p, subject, (uint32_t)site, t_in + stay, DIR_OUT, -1, 0);
}

static double
surge_factor(const struct fl_province *p, uint32_t site_id)
{
	for (unsigned i = 0; i < p->o.n_surges; i++)
		if (p->o.surge[i].site == site_id)
			return p->o.surge[i].factor;
	return 1.0;
}

static void
live_days(struct fl_province *p)
{
	struct fl_rng *r = &p->rng;
	struct fl_pick markets, venues, checkpoints, testing;
	uint64_t day0 = p->start_ms - p->start_ms % DAY_MS;
	uint64_t surge_day = day0 + ((p->end_ms - day0) / DAY_MS / 2) * DAY_MS;
	uint32_t n_veh = p->n_citizens / 40 + 1;

	by_kind(p, KIND_MARKET, &markets);
	by_kind(p, KIND_VENUE, &venues);
	by_kind(p, KIND_CHECKPOINT, &checkpoints);
	by_kind(p, KIND_TESTING, &testing);

	for (uint64_t day = day0; day < p->end_ms; day += DAY_MS) {
		for (uint32_t c = 0; c < p->n_citizens; c++) {
			uint32_t home = p->subj[c].commune;
			uint64_t hour = 0;

			/* Vietnamese local time is UTC+7: 06:00 local = 23:00 UTC. */
			if (fl_rng_chance(r, 0.35))
				visit(p, c, pick_site(p, &markets, home),
				      day + 6 * HOUR_MS - 7 * HOUR_MS + fl_rng_below(r, 3 * HOUR_MS) + DAY_MS,
				      fl_rng_range(r, 10, 90) * MIN_MS, false);
			if (fl_rng_chance(r, 0.30)) {
				int64_t cp = pick_site(p, &checkpoints, home);

				hour = day + fl_rng_range(r, 0, 2 * HOUR_MS) + DAY_MS - 7 * HOUR_MS + 6 * HOUR_MS;
				if (cp >= 0) {
					scan(p, c, (uint32_t)cp, hour, DIR_PASS, -1, 0);
					scan(p, c, (uint32_t)cp, hour + fl_rng_range(r, 9, 11) * HOUR_MS,
					     DIR_PASS, -1, 0);
				}
			}
			for (int v = 0; v < 2; v++) {
				if (!fl_rng_chance(r, v == 0 ? 0.5 : 0.2))
					continue;
				visit(p, c, pick_site(p, &venues, home),
				      day + 1 * HOUR_MS + (uint64_t)v * 6 * HOUR_MS +
					      fl_rng_below(r, 5 * HOUR_MS),
				      fl_rng_range(r, 15, 120) * MIN_MS, fl_rng_chance(r, 0.15));
			}
			if (testing.n > 0) {
				int64_t t = testing.idx[fl_rng_below(r, testing.n)];
				double f = surge_factor(p, p->sites[t].id);
				bool surging = f > 1.0 && day == surge_day;
				double pr = 0.03 * (surging ? f : 1.0);

				if (fl_rng_chance(r, pr > 1.0 ? 1.0 : pr))
					visit(p, c, t,
					      day + (surging ? 0 : 2 * HOUR_MS) +
						      fl_rng_below(r, 10 * HOUR_MS),
					      fl_rng_range(r, 5, 30) * MIN_MS, false);
			}
		}
		/* Vehicles: plates at checkpoints, passengers scanned alongside. */
		for (uint32_t v = 0; v < n_veh && checkpoints.n > 0; v++) {
			uint32_t vs = p->n_citizens + v;   /* vehicle subjects follow people */
			uint64_t t = day + fl_rng_below(r, 14 * HOUR_MS);
			uint32_t cp = checkpoints.idx[fl_rng_below(r, checkpoints.n)];
			uint16_t np = (uint16_t)fl_rng_range(r, 0, 3);

			if (!fl_rng_chance(r, 0.5))
				continue;
			scan(p, vs, cp, t, DIR_PASS, -1, (uint16_t)(np + 1));
			for (uint16_t k = 0; k < np; k++) {
				uint32_t who = (uint32_t)((v * 7919ULL + k * 104729ULL) % p->n_citizens);

				scan(p, who, cp, t + 1000 * (k + 1), DIR_PASS, (int32_t)vs, 0);
			}
		}
		fl_progress(p, "movement", (day - day0) / DAY_MS + 1,
			    (p->end_ms - day0 + DAY_MS - 1) / DAY_MS);
	}
	free(markets.idx);
	free(venues.idx);
	free(checkpoints.idx);
	free(testing.idx);
}

static void
build_vehicles(struct fl_province *p)
{
	char plate[WIRE_SUBJECT_MAX_NUL];
	uint32_t n_veh = p->n_citizens / 40 + 1;

	for (uint32_t v = 0; v < n_veh; v++) {
		make_plate(&p->rng, v, plate);
		fl_subject_add(p, fl_rng_chance(&p->rng, 0.3) ? SCHEME_GREEN_LANE : SCHEME_PLATE,
			       plate, 0);
	}
}

static int
key_cmp(const void *a, const void *b)
{
	const struct fl_scan *x = a, *y = b;

	if (x->subject != y->subject)
		return x->subject < y->subject ? -1 : 1;
	if (x->site_id != y->site_id)
		return x->site_id < y->site_id ? -1 : 1;
	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return x->dev < y->dev ? -1 : x->dev > y->dev;
}

/*
 * Drop natural scans that would collide with an earlier one of the same
 * (subject, site, dir) within the dedupe window: those would be duplicates
 * whose fate depends on which worker sees them first.
 */
static void
drop_collisions(struct fl_province *p)
{
	uint32_t w = 0;

	qsort(p->scans, p->n_scans, sizeof(*p->scans), key_cmp);
	for (uint32_t i = 0; i < p->n_scans; i++) {
		const struct fl_scan *s = &p->scans[i];

		if (w > 0) {
			const struct fl_scan *q = &p->scans[w - 1];

			if (q->subject == s->subject && q->site_id == s->site_id &&
			    q->dir == s->dir && s->ts_ms - q->ts_ms < DEDUPE_GUARD_MS)
				continue;
		}
		p->scans[w++] = *s;
	}
	p->n_scans = w;
}

static void
inject_dups(struct fl_province *p)
{
	uint32_t n = p->n_scans;

	for (uint32_t i = 0; i < n; i++) {
		struct fl_scan d;

		if (!fl_rng_chance(&p->rng, p->o.dup_rate))
			continue;
		d = p->scans[i];
		d.ts_ms += fl_rng_range(&p->rng, 5000, 100000);
		d.injected_dup = true;
		if (d.ts_ms < p->end_ms)
			fl_scan_push(p, &d);
	}
}

int
fl_model_build(struct fl_province *p)
{
	p->n_communes = p->o.citizens / 2000 + 4;
	p->communes = calloc(p->n_communes, sizeof(uint32_t));
	for (uint32_t i = 0; i < p->n_communes; i++)
		p->communes[i] = 14800 + 7 * i + 1;   /* Thanh Hoa-like commune codes */
	build_sites(p);
	build_devices(p);
	build_people(p);
	build_vehicles(p);
	live_days(p);
	drop_collisions(p);
	inject_dups(p);
	return 0;
}
