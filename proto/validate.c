/*
 * Batch decoding and per-event validation (DESIGN §2); see validate.h.
 *
 * The body is unpacked by protobuf-c into the caller's arena; nothing here
 * allocates.  Validation copies what survives into a fixed-size struct
 * scan_event, so later stages never touch protobuf-c memory.
 */
#include <errno.h>
#include <string.h>

#include "validate.h"

static const char *const scheme_names[SCHEME__MAX + 1] = {
        [SCHEME_NONE] = "?",
        [SCHEME_CCCD] = "cccd",
        [SCHEME_PCCOVID] = "pccovid",
        [SCHEME_VNEID] = "vneid",
        [SCHEME_PASSPORT] = "passport",
        [SCHEME_PLATE] = "plate",
        [SCHEME_GREEN_LANE] = "greenlane",
};

int
wire_scheme_from_name(const char *name)
{
	for (int s = SCHEME_CCCD; s <= SCHEME__MAX; s++)
		if (name != NULL && strcmp(name, scheme_names[s]) == 0)
			return s;
	return -1;
}

const char *
wire_scheme_name(uint8_t scheme)
{
	return scheme <= SCHEME__MAX ? scheme_names[scheme] : "?";
}

const char *
wire_dir_name(uint8_t dir)
{
	switch (dir) {
	case DIR_IN:
		return "IN";
	case DIR_OUT:
		return "OUT";
	case DIR_PASS:
		return "PASS";
	default:
		return "?";
	}
}

/*
 * NUL bytes inside strings.  protobuf-c copies a string field's bytes and
 * adds a NUL, but keeps no length, so `001203004567\0XX` would read as the
 * valid CCCD `001203004567`.  The body is walked once more (only when it
 * holds a zero byte at all: an honest ScanBatch has none, since every field
 * is a varint or a string and proto3 omits zero values) to find the bytes
 * of each event's subject and vehicle; a NUL inside one is replaced by
 * WIRE_NUL_STANDIN, a byte every scheme refuses exactly as it refuses NUL,
 * so validation sees the string's true length and rejects the event with
 * the reason the full bytes earn.  protobuf-c keeps the last occurrence of
 * a repeated singular field; so does the walk.
 */
#define WIRE_NUL_STANDIN 0x01

static int
pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Skip a field of wire type wt, or (wt 2) return its bytes. 0 or -1. */
static int
pb_field(const uint8_t **p, const uint8_t *end, unsigned wt, const uint8_t **data,
	 size_t *dlen)
{
	uint64_t v;

	switch (wt) {
	case 0:
		return pb_varint(p, end, &v);
	case 1:
	case 5:
		v = wt == 1 ? 8 : 4;
		break;
	case 2:
		if (pb_varint(p, end, &v) < 0)
			return -1;
		break;
	default:
		return -1;            /* groups: protobuf-c refuses them too */
	}
	if (v > (uint64_t)(end - *p))
		return -1;
	*data = *p;
	*dlen = (size_t)v;
	*p += v;
	return 0;
}

/* s is the decoded copy of raw[0..n): make a NUL inside it visible. */
static int
nul_standin(char *s, const uint8_t *raw, size_t n)
{
	if (n == 0 || memchr(raw, 0, n) == NULL)
		return 0;
	if (s == NULL || memcmp(s, raw, n) != 0)
		return -1;            /* not the copy we expect: refuse the batch */
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0')
			s[i] = WIRE_NUL_STANDIN;
	return 0;
}

/* One event's bytes ev[0..len), decoded as e. */
static int
event_mark_nul_strings(const uint8_t *ev, size_t len, Chot__V1__ScanEvent *e)
{
	const uint8_t *p = ev, *end = ev + len, *data, *subj = NULL, *veh = NULL;
	size_t dlen, slen = 0, vlen = 0;
	uint64_t key;

	while (p < end) {
		if (pb_varint(&p, end, &key) < 0 || pb_field(&p, end, key & 7, &data, &dlen) < 0)
			return -1;
		if ((key & 7) != 2)
			continue;
		if (key >> 3 == 4)
			subj = data, slen = dlen;
		else if (key >> 3 == 8)
			veh = data, vlen = dlen;
	}
	if ((subj != NULL && nul_standin(e->subject, subj, slen) < 0) ||
	    (veh != NULL && nul_standin(e->vehicle, veh, vlen) < 0))
		return -1;
	return 0;
}

static enum chot_reason
batch_mark_nul_strings(const uint8_t *body, size_t len, Chot__V1__ScanBatch *b)
{
	const uint8_t *p = body, *end = body + len, *ev;
	size_t n_ev = 0, evlen;
	uint64_t key;

	if (memchr(body, 0, len) == NULL)
		return WIRE_OK;
	while (p < end) {
		if (pb_varint(&p, end, &key) < 0 || pb_field(&p, end, key & 7, &ev, &evlen) < 0)
			return BODY_UNPACK;
		if (key >> 3 != 1)
			continue;
		if ((key & 7) != 2 || n_ev >= b->n_events ||
		    event_mark_nul_strings(ev, evlen, b->events[n_ev]) < 0)
			return BODY_UNPACK;
		n_ev++;
	}
	return n_ev == b->n_events ? WIRE_OK : BODY_UNPACK;
}

/*
 * The batch of a well-formed body: nothing but 1..WIRE_MAX_EVENTS events
 * (field 1, length-delimited) at its top level.  The wrapper is walked here
 * and each event handed to protobuf-c's unpack, the call protobuf-c makes
 * itself for each element of a repeated message field; its unpack of the
 * whole batch would first scan every event's bytes into a member list and
 * then parse them again (~5 % of its decode on the quick province).  NULL
 * with *r BODY_UNPACK / BODY_ARENA when an event fails to unpack; NULL with
 * *r WIRE_OK for any other shape (unknown or malformed top-level fields, no
 * event or too many): protobuf-c's unpack of the batch then judges it, as
 * before, so every reason stays what it was.
 */
static Chot__V1__ScanBatch *
batch_unpack_events(const uint8_t *body, size_t len, struct wire_arena *a, enum chot_reason *r)
{
	static const Chot__V1__ScanBatch init = CHOT__V1__SCAN_BATCH__INIT;
	const uint8_t *p = body, *end = body + len, *ev[WIRE_MAX_EVENTS];
	size_t evlen[WIRE_MAX_EVENTS], n = 0, i;
	Chot__V1__ScanBatch *b;
	Chot__V1__ScanEvent **evs;

	*r = WIRE_OK;
	while (p < end) {
		/* One-byte key 0x0a (field 1, wire type 2), else the slow path. */
		if (*p++ != 0x0a || n == WIRE_MAX_EVENTS ||
		    pb_field(&p, end, 2, &ev[n], &evlen[n]) < 0)
			return NULL;
		n++;
	}
	if (n == 0)
		return NULL;
	b = a->pb.alloc(a, sizeof(*b));
	evs = a->pb.alloc(a, n * sizeof(*evs));
	if (b == NULL || evs == NULL) {
		*r = BODY_ARENA;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		evs[i] = chot__v1__scan_event__unpack(&a->pb, evlen[i], ev[i]);
		if (evs[i] == NULL) {
			*r = a->exhausted ? BODY_ARENA : BODY_UNPACK;
			return NULL;
		}
	}
	*b = init;
	b->n_events = n;
	b->events = evs;
	return b;
}

enum chot_reason
wire_batch_decode(const uint8_t *body, size_t len, struct wire_arena *a, Chot__V1__ScanBatch **out)
{
	Chot__V1__ScanBatch *b;
	enum chot_reason r;

	*out = NULL;
	b = batch_unpack_events(body, len, a, &r);
	if (r != WIRE_OK)
		return r;
	if (b == NULL)   /* nothing was allocated: the whole arena is protobuf-c's */
		b = chot__v1__scan_batch__unpack(&a->pb, len, body);
	if (b == NULL)
		return a->exhausted ? BODY_ARENA : BODY_UNPACK;
	if (b->n_events == 0)
		return BODY_EMPTY;
	if (b->n_events > WIRE_MAX_EVENTS)
		return BODY_TOO_MANY;
	r = batch_mark_nul_strings(body, len, b);
	if (r != WIRE_OK)
		return r;
	*out = b;
	return WIRE_OK;
}

/* Plates: upper-case, drop ' ', '-', '.', then [A-Z0-9]+ only. */
static int
normalise_plate(const char *in, size_t len, char *out)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		if (c == ' ' || c == '-' || c == '.')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return -1;
		out[n++] = c;
	}
	out[n] = '\0';
	return n == 0 ? -1 : (int)n;
}

int
wire_subject_normalise(uint8_t scheme, const char *in, size_t len, char *out)
{
	int n;

	if (len == 0 || len > WIRE_SUBJECT_MAX)
		return -EV_SUBJECT_LEN;
	switch (scheme) {
	case SCHEME_CCCD:
		if (len != 12)
			return -EV_CCCD;
		for (size_t i = 0; i < len; i++)
			if (in[i] < '0' || in[i] > '9')
				return -EV_CCCD;
		memcpy(out, in, len);
		out[len] = '\0';
		return (int)len;
	case SCHEME_PLATE:
	case SCHEME_GREEN_LANE:
		n = normalise_plate(in, len, out);
		return n < 0 ? -EV_PLATE : n;
	case SCHEME_PCCOVID:
	case SCHEME_VNEID:
	case SCHEME_PASSPORT:
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)in[i] <= 0x20 || (unsigned char)in[i] >= 0x7f)
				return -EV_SUBJECT_CHARS;
		memcpy(out, in, len);
		out[len] = '\0';
		return (int)len;
	default:
		return -EV_SCHEME;
	}
}

enum chot_reason
wire_event_validate(const Chot__V1__ScanEvent *ev, uint64_t now_ms, uint64_t retention_ms,
                    struct scan_event *out)
{
	size_t slen, vlen;
	int n;

	if (ev->scheme == 0 || (unsigned)ev->scheme > SCHEME__MAX)
		return EV_SCHEME;
	if (ev->site_id == 0)
		return EV_SITE;
	if (ev->dir == 0 || (unsigned)ev->dir > DIR__MAX)
		return EV_DIR;
	if ((unsigned)ev->decl > 3)
		return EV_DECL;
	if (now_ms > retention_ms && ev->ts_ms < now_ms - retention_ms)
		return EV_TS_OLD;
	if (ev->ts_ms > now_ms + FUTURE_SLACK_MS)
		return EV_TS_FUTURE;
	slen = ev->subject != NULL ? strlen(ev->subject) : 0;
	n = wire_subject_normalise((uint8_t)ev->scheme, ev->subject, slen, out->subject);
	if (n < 0)
		return (enum chot_reason)(-n);
	out->subject_len = (uint8_t)n;
	vlen = ev->vehicle != NULL ? strlen(ev->vehicle) : 0;
	out->vehicle_len = 0;
	out->vehicle[0] = '\0';
	if (vlen > 0) {
		if (vlen > WIRE_SUBJECT_MAX)
			return EV_VEHICLE;
		n = normalise_plate(ev->vehicle, vlen, out->vehicle);
		if (n < 0)
			return EV_VEHICLE;
		out->vehicle_len = (uint8_t)n;
	}
	out->ts_ms = ev->ts_ms;
	out->site_id = ev->site_id;
	out->origin_commune = ev->origin_commune;
	out->passengers = ev->passengers;
	out->scheme = (uint8_t)ev->scheme;
	out->dir = (uint8_t)ev->dir;
	out->decl = (uint8_t)ev->decl;
	return WIRE_OK;
}

int
wire_batch_pack(const Chot__V1__ScanEvent *const *evs, size_t n, uint8_t *out, size_t cap)
{
	Chot__V1__ScanBatch b = CHOT__V1__SCAN_BATCH__INIT;
	size_t need;

	b.n_events = n;
	b.events = (Chot__V1__ScanEvent **)evs;
	need = chot__v1__scan_batch__get_packed_size(&b);
	if (need > cap)
		return -EMSGSIZE;
	return (int)chot__v1__scan_batch__pack(&b, out);
}
