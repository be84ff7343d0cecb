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

enum chot_reason
wire_batch_decode(const uint8_t *body, size_t len, struct wire_arena *a, Chot__V1__ScanBatch **out)
{
	Chot__V1__ScanBatch *b;

	*out = NULL;
	b = chot__v1__scan_batch__unpack(&a->pb, len, body);
	if (b == NULL)
		return a->exhausted ? BODY_ARENA : BODY_UNPACK;
	if (b->n_events == 0)
		return BODY_EMPTY;
	if (b->n_events > WIRE_MAX_EVENTS)
		return BODY_TOO_MANY;
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
