/*
 * Batch decoding and event validation: one table row per BODY_* and EV_*
 * reason, normalisation tables, pack/decode round trip, and the arena bound
 * (hostile bodies fail cleanly, legitimate maximal batches fit).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "vec.h"

/* ---- events ---- */

struct ev_case {
	char name[40];
	int scheme, site, dir, decl;
	long long ts_off; /* ts = VEC_NOW + ts_off */
	char subject[48];
	char vehicle[48];
	enum chot_reason want;
	char norm[40]; /* expected normalised subject when WIRE_OK */
	char norm_vehicle[40];
};

#define OLD (-(long long)VEC_RETENTION)
#define FUT ((long long)FUTURE_SLACK_MS)

ParameterizedTestParameters(validate, events)
{
	static struct ev_case cases[] = {
	        {"cccd ok", 1, 17, 1, 1, 0, "001203004567", "", WIRE_OK, "001203004567", ""},
	        {"plate normalised", 5, 17, 3, 0, 0, "51g-123.45 ", "", WIRE_OK, "51G12345", ""},
	        {"green lane normalised", 6, 9, 2, 0, 0, "29c 888.88", "", WIRE_OK, "29C88888", ""},
	        {"pccovid printable", 2, 1, 1, 3, 0, "PC-Covid:abc/1", "", WIRE_OK,
	         "PC-Covid:abc/1", ""},
	        {"vneid", 3, 1, 1, 2, 0, "VNEID.x", "", WIRE_OK, "VNEID.x", ""},
	        {"passport 32 bytes", 4, 1, 1, 0, 0, "B1234567B1234567B1234567B1234567", "",
	         WIRE_OK, "B1234567B1234567B1234567B1234567", ""},
	        {"vehicle normalised", 1, 17, 1, 1, 0, "001203004567", "29a-123.45", WIRE_OK,
	         "001203004567", "29A12345"},
	        {"ts = now - retention", 1, 1, 1, 0, OLD, "001203004567", "", WIRE_OK,
	         "001203004567", ""},
	        {"ts = now + 5 min", 1, 1, 1, 0, FUT, "001203004567", "", WIRE_OK, "001203004567",
	         ""},
	        {"scheme 0", 0, 17, 1, 1, 0, "001203004567", "", EV_SCHEME, "", ""},
	        {"scheme 7", 7, 17, 1, 1, 0, "001203004567", "", EV_SCHEME, "", ""},
	        {"scheme 0 beats site 0", 0, 0, 0, 9, 0, "", "", EV_SCHEME, "", ""},
	        {"site 0", 1, 0, 1, 1, 0, "001203004567", "", EV_SITE, "", ""},
	        {"dir 0", 1, 17, 0, 1, 0, "001203004567", "", EV_DIR, "", ""},
	        {"dir 4", 1, 17, 4, 1, 0, "001203004567", "", EV_DIR, "", ""},
	        {"decl 4", 1, 17, 1, 4, 0, "001203004567", "", EV_DECL, "", ""},
	        {"ts 1 ms too old", 1, 17, 1, 1, OLD - 1, "001203004567", "", EV_TS_OLD, "", ""},
	        {"ts 1 ms too far ahead", 1, 17, 1, 1, FUT + 1, "001203004567", "", EV_TS_FUTURE,
	         "", ""},
	        {"subject empty", 1, 17, 1, 1, 0, "", "", EV_SUBJECT_LEN, "", ""},
	        {"subject 33 bytes", 4, 17, 1, 1, 0, "B1234567B1234567B1234567B12345678", "",
	         EV_SUBJECT_LEN, "", ""},
	        {"cccd 11 digits", 1, 17, 1, 1, 0, "00120300456", "", EV_CCCD, "", ""},
	        {"cccd 13 digits", 1, 17, 1, 1, 0, "0012030045678", "", EV_CCCD, "", ""},
	        {"cccd letter", 1, 17, 1, 1, 0, "00120300456A", "", EV_CCCD, "", ""},
	        {"cccd space", 1, 17, 1, 1, 0, "001203 04567", "", EV_CCCD, "", ""},
	        {"plate '#'", 5, 17, 1, 1, 0, "51G-123#", "", EV_PLATE, "", ""},
	        {"plate only separators", 5, 17, 1, 1, 0, " -. ", "", EV_PLATE, "", ""},
	        {"green lane UTF-8", 6, 17, 1, 1, 0, "51\xc4\x90-123", "", EV_PLATE, "", ""},
	        {"passport space", 4, 17, 1, 1, 0, "B12 34567", "", EV_SUBJECT_CHARS, "", ""},
	        {"pccovid DEL", 2, 17, 1, 1, 0, "abc\x7f", "", EV_SUBJECT_CHARS, "", ""},
	        {"vneid tab", 3, 17, 1, 1, 0, "abc\tdef", "", EV_SUBJECT_CHARS, "", ""},
	        {"vehicle '*'", 1, 17, 1, 1, 0, "001203004567", "29A*1", EV_VEHICLE, "", ""},
	        {"vehicle only dashes", 1, 17, 1, 1, 0, "001203004567", "--", EV_VEHICLE, "", ""},
	        {"vehicle 33 bytes", 1, 17, 1, 1, 0, "001203004567",
	         "29A12345629A12345629A12345629A123", EV_VEHICLE, "", ""},
	};
	return cr_make_param_array(struct ev_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct ev_case *c, validate, events)
{
	Chot__V1__ScanEvent ev;
	struct scan_event out;
	enum chot_reason r;

	chot__v1__scan_event__init(&ev);
	ev.scheme = c->scheme;
	ev.site_id = (uint32_t)c->site;
	ev.dir = c->dir;
	ev.decl = c->decl;
	ev.ts_ms = (uint64_t)((long long)VEC_NOW + c->ts_off);
	ev.subject = c->subject;
	ev.vehicle = c->vehicle;
	ev.origin_commune = 4242;
	ev.passengers = 2;
	r = wire_event_validate(&ev, VEC_NOW, VEC_RETENTION, &out);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s", c->name, chot_reason_name(c->want),
	             chot_reason_name(r));
	if (r != WIRE_OK)
		return;
	cr_assert_str_eq(out.subject, c->norm, "%s: normalised subject", c->name);
	cr_assert_eq(out.subject_len, strlen(c->norm));
	cr_assert_str_eq(out.vehicle, c->norm_vehicle, "%s: normalised vehicle", c->name);
	cr_assert_eq(out.vehicle_len, strlen(c->norm_vehicle));
	cr_assert_eq(out.ts_ms, ev.ts_ms);
	cr_assert_eq(out.site_id, ev.site_id);
	cr_assert_eq(out.scheme, c->scheme);
	cr_assert_eq(out.dir, c->dir);
	cr_assert_eq(out.decl, c->decl);
	cr_assert_eq(out.origin_commune, 4242);
	cr_assert_eq(out.passengers, 2);
}

Test(validate, retention_longer_than_now)
{
	Chot__V1__ScanEvent ev;
	struct scan_event out;

	chot__v1__scan_event__init(&ev);
	ev.scheme = 1, ev.site_id = 1, ev.dir = 1, ev.ts_ms = 5;
	ev.subject = (char *)"001203004567";
	cr_assert_eq(wire_event_validate(&ev, 1000, 10000, &out), WIRE_OK,
	             "now < retention must not underflow into EV_TS_OLD");
}

Test(validate, scheme_names)
{
	static const char *names[] = {"cccd", "pccovid", "vneid", "passport", "plate", "greenlane"};

	for (int s = 1; s <= 6; s++) {
		cr_assert_eq(wire_scheme_from_name(names[s - 1]), s, "%s is scheme %d",
		             names[s - 1], s);
		cr_assert_str_eq(wire_scheme_name((uint8_t)s), names[s - 1]);
	}
	cr_assert_eq(wire_scheme_from_name("CCCD"), -1, "names are lower case");
	cr_assert_eq(wire_scheme_from_name(NULL), -1);
	cr_assert_str_eq(wire_scheme_name(7), "?");
	cr_assert_str_eq(wire_dir_name(DIR_IN), "IN");
	cr_assert_str_eq(wire_dir_name(DIR_OUT), "OUT");
	cr_assert_str_eq(wire_dir_name(DIR_PASS), "PASS");
	cr_assert_str_eq(wire_dir_name(0), "?");
}

/* ---- batches ---- */

struct body_case {
	char name[32];
	char hex[64]; /* the body, unless gen > 0 */
	int gen;      /* generate this many valid events instead */
	enum chot_reason want;
};

ParameterizedTestParameters(validate, bodies)
{
	static struct body_case cases[] = {
	        {"one event", "", 1, WIRE_OK},
	        {"64 events", "", 64, WIRE_OK},
	        {"65 events", "", 65, BODY_TOO_MANY},
	        {"empty body", "", 0, BODY_EMPTY},
	        {"only an unknown field", "1001", 0, BODY_EMPTY},
	        {"truncated length", "0a05", 0, BODY_UNPACK},
	        {"wire type 7", "0f", 0, BODY_UNPACK},
	        {"bad varint", "08ffffffffffffffffffff01", 0, BODY_UNPACK},
	        {"event field truncated", "0a0208", 0, BODY_UNPACK},
	        {"field number 0", "0000", 0, BODY_UNPACK},
	};
	return cr_make_param_array(struct body_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct body_case *c, validate, bodies)
{
	static struct wire_arena arena;
	static uint8_t body[65536];
	Chot__V1__ScanEvent ev[2], evs[65];
	const Chot__V1__ScanEvent *pev[65];
	Chot__V1__ScanBatch *b = NULL;
	size_t len;
	enum chot_reason r;

	wire_arena_init(&arena);
	if (c->gen > 0) {
		vec_events(ev);
		for (int i = 0; i < c->gen; i++) {
			evs[i] = ev[i % 2];
			pev[i] = &evs[i];
		}
		len = (size_t)wire_batch_pack(pev, (size_t)c->gen, body, sizeof(body));
	} else {
		len = vec_unhex(body, sizeof(body), c->hex);
	}
	r = wire_batch_decode(body, len, &arena, &b);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s", c->name, chot_reason_name(c->want),
	             chot_reason_name(r));
	cr_assert_eq(b != NULL, r == WIRE_OK, "*out is set exactly on success");
	if (r == WIRE_OK)
		cr_assert_eq(b->n_events, (size_t)c->gen);
	cr_assert_leq(arena.high_water, WIRE_ARENA_SIZE);
}

Test(validate, pack_decode_round_trip)
{
	static struct wire_arena arena;
	Chot__V1__ScanEvent ev[2];
	const Chot__V1__ScanEvent *pev[2] = {&ev[0], &ev[1]};
	Chot__V1__ScanBatch *b;
	uint8_t body[256];
	int n;

	vec_events(ev);
	ev[0].vehicle = (char *)"29A-1";
	n = wire_batch_pack(pev, 2, body, sizeof(body));
	cr_assert_eq(n, 72, "vector batch plus a vehicle packs to 72 bytes, got %d", n);
	cr_assert_eq(wire_batch_pack(pev, 2, body, 10), -EMSGSIZE, "too small a buffer");
	wire_arena_init(&arena);
	cr_assert_eq(wire_batch_decode(body, (size_t)n, &arena, &b), WIRE_OK);
	cr_assert_eq(b->n_events, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(b->events[i]->ts_ms, ev[i].ts_ms);
		cr_assert_eq(b->events[i]->site_id, ev[i].site_id);
		cr_assert_eq(b->events[i]->scheme, ev[i].scheme);
		cr_assert_eq(b->events[i]->dir, ev[i].dir);
		cr_assert_eq(b->events[i]->decl, ev[i].decl);
		cr_assert_eq(b->events[i]->origin_commune, ev[i].origin_commune);
		cr_assert_eq(b->events[i]->passengers, ev[i].passengers);
		cr_assert_str_eq(b->events[i]->subject, ev[i].subject);
	}
	cr_assert_str_eq(b->events[0]->vehicle, "29A-1");
	cr_assert_str_eq(b->events[1]->vehicle, "");
	wire_arena_reset(&arena);
	cr_assert_eq(arena.used, 0, "reset recycles the arena");
	cr_assert_gt(arena.high_water, 0, "high water survives a reset");
}

/* ---- the arena bound ---- */

/* 64 events with 32-byte subjects and vehicles (bigger than one datagram). */
Test(arena, legit_maximal_batch_fits)
{
	static struct wire_arena arena;
	static uint8_t body[16384];
	Chot__V1__ScanEvent evs[WIRE_MAX_EVENTS];
	const Chot__V1__ScanEvent *pev[WIRE_MAX_EVENTS];
	Chot__V1__ScanBatch *b;
	int n;

	for (int i = 0; i < WIRE_MAX_EVENTS; i++) {
		chot__v1__scan_event__init(&evs[i]);
		evs[i].ts_ms = UINT64_MAX;
		evs[i].site_id = UINT32_MAX;
		evs[i].scheme = 4;
		evs[i].subject = (char *)"P1234567P1234567P1234567P1234567";
		evs[i].dir = 3;
		evs[i].decl = 3;
		evs[i].origin_commune = UINT32_MAX;
		evs[i].vehicle = (char *)"29A12345629A12345629A12345629A12";
		evs[i].passengers = UINT32_MAX;
		pev[i] = &evs[i];
	}
	n = wire_batch_pack(pev, WIRE_MAX_EVENTS, body, sizeof(body));
	cr_assert_gt(n, 0);
	wire_arena_init(&arena);
	cr_assert_eq(wire_batch_decode(body, (size_t)n, &arena, &b), WIRE_OK,
	             "64 maximal events (%d bytes) must fit the %d-byte arena", n, WIRE_ARENA_SIZE);
	cr_assert_leq(arena.high_water, WIRE_ARENA_SIZE);
	cr_log_info("64 maximal events: body %d bytes, arena high water %zu of %d", n,
	            arena.high_water, WIRE_ARENA_SIZE);
}

struct hostile_case {
	char name[40];
	char unit[16];         /* hex of one repeated unit */
	int wrap;              /* wrap the units in one event (0a LEN ...) */
	enum chot_reason want; /* WIRE_OK here means "anything but a crash" */
};

ParameterizedTestParameters(arena, hostile)
{
	static struct hostile_case cases[] = {
	        {"715 empty events", "0a00", 0, BODY_ARENA},
	        {"476 events, one varint each", "0a021001", 0, BODY_ARENA},
	        {"357 events with 1-byte subject", "0a03220130", 0, BODY_ARENA},
	        {"unknown fields in one event", "f80100", 1, WIRE_OK},
	        {"476 empty strings in one event", "2200", 1, WIRE_OK},
	        {"unknown fields at top level", "1000", 0, WIRE_OK},
	        {"one 1424-byte subject", "", 2, WIRE_OK},
	};
	return cr_make_param_array(struct hostile_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* Fill a whole 1430-byte body (the most one datagram can carry) with units. */
ParameterizedTest(struct hostile_case *c, arena, hostile)
{
	static struct wire_arena arena;
	uint8_t unit[8], body[WIRE_MAX_BODY];
	size_t ulen = vec_unhex(unit, sizeof(unit), c->unit), len = 0, start = 0;
	Chot__V1__ScanBatch *b;
	enum chot_reason r;

	if (c->wrap == 2) { /* 0a 93 0b 22 90 0b <1424 x A> */
		memcpy(body, "\x0a\x93\x0b\x22\x90\x0b", 6);
		memset(body + 6, 'A', WIRE_MAX_BODY - 6);
		len = WIRE_MAX_BODY;
	} else {
		if (c->wrap)
			start = len = 3; /* 0a LEN(2 bytes) */
		while (len + ulen <= WIRE_MAX_BODY) {
			memcpy(body + len, unit, ulen);
			len += ulen;
		}
		if (c->wrap) {
			size_t inner = len - start;

			body[0] = 0x0a;
			body[1] = (uint8_t)(0x80 | (inner & 0x7f));
			body[2] = (uint8_t)(inner >> 7);
		}
	}
	wire_arena_init(&arena);
	memset(arena.buf, 0, sizeof(arena.buf));
	r = wire_batch_decode(body, len, &arena, &b);
	cr_log_info("%s: %zu bytes -> %s, high water %zu", c->name, len, chot_reason_name(r),
	            arena.high_water);
	if (c->want != WIRE_OK)
		cr_assert(r == c->want || r == BODY_TOO_MANY, "%s: expected %s, got %s", c->name,
		          chot_reason_name(c->want), chot_reason_name(r));
	cr_assert_leq(arena.high_water, WIRE_ARENA_SIZE, "%s: arena bound", c->name);
	cr_assert_leq(arena.used, WIRE_ARENA_SIZE);
}

/* ---- NUL bytes inside strings (protobuf strings may carry them) ---- */

/*
 * A subject or vehicle is a protobuf string of a given length; protobuf-c
 * hands it over NUL-terminated, so a NUL inside it would cut it short
 * (`001203004567\0XX` read as a valid CCCD).  Every scheme refuses it with
 * the reason the full bytes earn; the batch's other events are kept.
 */
struct nul_case {
	char name[40];
	int scheme;
	char subject[48];
	unsigned slen;
	char vehicle[40];
	unsigned vlen;
	enum chot_reason want;
};

ParameterizedTestParameters(validate, nul_bytes)
{
	static struct nul_case cases[] = {
	        {"cccd, NUL then more", 1, "001203004567\0XX", 15, "", 0, EV_CCCD},
	        {"cccd, NUL as 12th byte", 1, "00120300456\0", 12, "", 0, EV_CCCD},
	        {"cccd, NUL only", 1, "\0", 1, "", 0, EV_CCCD},
	        {"pccovid", 2, "PC\0covid", 8, "", 0, EV_SUBJECT_CHARS},
	        {"vneid, trailing NUL", 3, "VNEID.x\0", 8, "", 0, EV_SUBJECT_CHARS},
	        {"passport", 4, "B123\0" "4567", 9, "", 0, EV_SUBJECT_CHARS},
	        {"passport, 33 bytes after the NUL", 4, "B\0" "1234567B1234567B1234567B1234567",
	         33, "", 0, EV_SUBJECT_LEN},
	        {"plate", 5, "51G\0" "12345", 9, "", 0, EV_PLATE},
	        {"green lane", 6, "29C88888\0", 9, "", 0, EV_PLATE},
	        {"vehicle", 1, "001203004567", 12, "29A\0" "12345", 9, EV_VEHICLE},
	        {"control: no NUL", 1, "001203004567", 12, "29A12345", 8, WIRE_OK},
	};
	return cr_make_param_array(struct nul_case, cases, sizeof(cases) / sizeof(cases[0]));
}

static size_t
put_varint(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	do {
		p[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return n;
}

/* One ScanEvent (fields 1..5, 8) with raw string bytes, into out. */
static size_t
put_event(uint8_t *out, int scheme, const char *subj, unsigned slen, const char *veh,
          unsigned vlen)
{
	uint8_t ev[128];
	size_t n = 0, o = 0;

	ev[n++] = 0x08, n += put_varint(ev + n, VEC_NOW);
	ev[n++] = 0x10, n += put_varint(ev + n, 17);
	ev[n++] = 0x18, n += put_varint(ev + n, (uint64_t)scheme);
	ev[n++] = 0x22, n += put_varint(ev + n, slen);
	memcpy(ev + n, subj, slen), n += slen;
	ev[n++] = 0x28, n += put_varint(ev + n, 1);
	if (vlen > 0) {
		ev[n++] = 0x42, n += put_varint(ev + n, vlen);
		memcpy(ev + n, veh, vlen), n += vlen;
	}
	out[o++] = 0x0a;
	o += put_varint(out + o, n);
	memcpy(out + o, ev, n);
	return o + n;
}

ParameterizedTest(struct nul_case *c, validate, nul_bytes)
{
	static struct wire_arena arena;
	uint8_t body[512];
	size_t len = 0;
	Chot__V1__ScanBatch *b;
	struct scan_event out;
	enum chot_reason r;

	len += put_event(body + len, c->scheme, c->subject, c->slen, c->vehicle, c->vlen);
	len += put_event(body + len, 2, "B1234567", 8, "", 0);   /* a good one after it */
	wire_arena_init(&arena);
	cr_assert_eq(wire_batch_decode(body, len, &arena, &b), WIRE_OK, "%s: decodes", c->name);
	cr_assert_eq(b->n_events, 2);
	r = wire_event_validate(b->events[0], VEC_NOW, VEC_RETENTION, &out);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s (subject read as '%s')", c->name,
	             chot_reason_name(c->want), chot_reason_name(r), b->events[0]->subject);
	cr_assert_eq(wire_event_validate(b->events[1], VEC_NOW, VEC_RETENTION, &out), WIRE_OK,
	             "%s: the next event of the batch is kept", c->name);
	cr_assert_str_eq(out.subject, "B1234567");
}
