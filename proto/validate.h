/*
 * Batch decoding and per-event validation (DESIGN §2).
 *
 * wire_batch_decode() unpacks a plaintext body into the arena and checks the
 * batch-level rules (1..64 events).  wire_event_validate() checks one event
 * and normalises its subject per scheme into a plain struct scan_event, the
 * only event representation the rest of chot handles.
 *
 * Subject normalisation:
 *   CCCD              exactly 12 ASCII digits
 *   PLATE, GREEN_LANE upper-cased, ' ', '-', '.' removed, then [A-Z0-9]+ only
 *   PCCOVID, VNEID, PASSPORT   printable ASCII (0x21..0x7e), no spaces
 * All: 1..32 bytes as received, and non-empty after normalisation.  "As
 * received" includes any NUL byte inside the protobuf string: such a
 * subject is refused, never read up to its NUL (see validate.c).
 * A `vehicle`, when present, is normalised like a PLATE.
 */
#ifndef CHOT_VALIDATE_H
#define CHOT_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "wire.h"
#include "reason.h"
#include "scan.pb-c.h"

enum scan_scheme {
	SCHEME_NONE = 0, SCHEME_CCCD = 1, SCHEME_PCCOVID = 2, SCHEME_VNEID = 3,
	SCHEME_PASSPORT = 4, SCHEME_PLATE = 5, SCHEME_GREEN_LANE = 6,
	SCHEME__MAX = SCHEME_GREEN_LANE,
};
enum scan_dir { DIR_NONE = 0, DIR_IN = 1, DIR_OUT = 2, DIR_PASS = 3, DIR__MAX = DIR_PASS };

#define FUTURE_SLACK_MS (5ULL * 60 * 1000)   /* ts may be up to 5 min ahead */

/* A validated, normalised event. */
struct scan_event {
	uint64_t ts_ms;
	uint32_t site_id;
	uint32_t origin_commune;
	uint32_t passengers;
	uint8_t  scheme;       /* enum scan_scheme */
	uint8_t  dir;          /* enum scan_dir */
	uint8_t  decl;
	uint8_t  subject_len;
	uint8_t  vehicle_len;  /* 0 = none */
	char     subject[WIRE_SUBJECT_MAX_NUL];
	char     vehicle[WIRE_SUBJECT_MAX_NUL];
};

/*
 * Unpack body[0..len) into the arena (reset first by the caller).
 * Returns WIRE_OK and *out, or BODY_UNPACK / BODY_ARENA / BODY_EMPTY /
 * BODY_TOO_MANY.  *out lives in the arena until its next reset.
 */
enum chot_reason wire_batch_decode(const uint8_t *body, size_t len, struct wire_arena *a,
				   Chot__V1__ScanBatch **out);

/*
 * Validate one event against now_ms and the retention (ts must lie in
 * [now - retention, now + 5 min]); fill *out.  Returns WIRE_OK or an EV_* reason.
 */
enum chot_reason wire_event_validate(const Chot__V1__ScanEvent *ev, uint64_t now_ms,
				     uint64_t retention_ms, struct scan_event *out);

/*
 * Normalise a subject for a scheme into out (capacity >= 33, NUL-terminated).
 * Returns the normalised length (>= 1), or -(enum chot_reason) on error.
 * Used by validation, by chotctl for the SUBJECT argument and by chot-flood.
 */
int wire_subject_normalise(uint8_t scheme, const char *in, size_t len, char *out);

/* Pack events into a ScanBatch body; returns bytes written or -EMSGSIZE. */
int wire_batch_pack(const Chot__V1__ScanEvent *const *evs, size_t n, uint8_t *out, size_t cap);

/* Scheme names as chotctl spells them ("cccd", "pccovid", ...): parse / print. */
int wire_scheme_from_name(const char *name);   /* SCHEME_* or -1 */
const char *wire_scheme_name(uint8_t scheme);  /* "?" when unknown */
const char *wire_dir_name(uint8_t dir);        /* "IN", "OUT", "PASS", "?" */

#endif /* CHOT_VALIDATE_H */
