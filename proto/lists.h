/*
 * The checkpoint loop's lists and reasons (DESIGN §9): the Redis keys, the
 * text encoding of every list value, and the reason codes with their
 * severity order.  chotctl writes the lists, chotd reads them, chot-flood
 * draws them; all three encode and decode here, so they cannot disagree.
 *
 *   chot:{lists}:watch      HASH  <pid hex> -> "<status> <set_ms> <until_ms>[ <note>]"
 *                                 status: f0 | quarantine | f1 | f2
 *                                 ("clear" is HDEL; an entry past until_ms is inert)
 *   chot:{lists}:zones      HASH  <commune> -> "<level>", level 1..4
 *                                 (green, yellow, orange, red; green may be absent)
 *   chot:{lists}:greenlane  HASH  <pid hex of (GREEN_LANE, plate)> ->
 *                                 "<from_ms> <to_ms> <passengers> <site>[,<site>...]"
 *                                 (the sealed plate in chot:{lists}:plates)
 *   chot:{lists}:plates     HASH  <pid hex> -> the plate sealed as the vault seals (vault.h),
 *                                 written and removed with its greenlane entry
 *   chot:{lists}:sites      HASH  the site registry of §5 (layout.h LAYOUT_SITES_HASH)
 *   chot:{lists}:version    STRING an integer, INCR'd in the same MULTI as every
 *                                 change to any list: chotd polls it and reloads
 *                                 when it moves
 *   chot:{alerts}           STREAM the alerts (§9): fields ts_ms site pid scheme
 *                                 reasons device origin_commune, XADD MAXLEN ~
 *
 * All list keys share the hash tag {lists}: one slot, so a change and its
 * version bump go in one MULTI on a cluster too.  No raw identifier is stored.
 *
 * Pure C; no allocation, no I/O.
 */
#ifndef CHOT_LISTS_H
#define CHOT_LISTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LISTS_WATCH_HASH     "chot:{lists}:watch"
#define LISTS_ZONES_HASH     "chot:{lists}:zones"
#define LISTS_GREENLANE_HASH "chot:{lists}:greenlane"
#define LISTS_PLATES_HASH    "chot:{lists}:plates"
#define LISTS_VERSION_KEY    "chot:{lists}:version"
#define LISTS_ALERTS_STREAM  "chot:{alerts}"
#define LISTS_ALERTS_MAX_DEFAULT 1000000u

#define LISTS_NOTE_MAX  200    /* bytes of a watchlist note */
#define LISTS_ROUTE_MAX 32     /* sites on a green-lane route */
#define LISTS_VALUE_MAX 512    /* longest encoded value, with the note */

/* Watchlist status, ordered by rank: a higher status is never lowered. */
enum watch_status {
	WATCH_NONE = 0,
	WATCH_F2,
	WATCH_F1,
	WATCH_QUARANTINE,
	WATCH_F0,
};

struct watch_entry {
	enum watch_status status;
	uint64_t set_ms, until_ms;
	char note[LISTS_NOTE_MAX + 1];
};

struct greenlane_entry {
	uint64_t from_ms, to_ms;
	uint32_t passengers;
	uint32_t nroute;
	uint32_t route[LISTS_ROUTE_MAX];
};

/* Zone levels of Resolution 128/NQ-CP. */
enum zone_level { ZONE_NONE = 0, ZONE_GREEN = 1, ZONE_YELLOW, ZONE_ORANGE, ZONE_RED };

/* Names: "f0" "quarantine" "f1" "f2"; NULL for WATCH_NONE. */
const char *lists_watch_name(enum watch_status s);
/* 0 and *s, or -EINVAL.  Accepts exactly the names above. */
int lists_watch_by_name(const char *name, enum watch_status *s);
/* Default validity (DESIGN §9): f0, quarantine 21 days; f1, f2 14 days. */
uint64_t lists_watch_default_ms(enum watch_status s);

/* "green".."red", or with vi "xanh" "vàng" "cam" "đỏ"; NULL if out of range. */
const char *lists_zone_name(enum zone_level l, bool vi);
/* Accepts 1..4, the English and the Vietnamese names (UTF-8, and the
 * unaccented "vang" "do"), case-insensitive for ASCII.  0 or -EINVAL. */
int lists_zone_by_name(const char *name, enum zone_level *l);

/*
 * Encoders write a NUL-terminated value and return its length, or -ENOSPC.
 * Decoders take the value as read from Redis (not NUL-terminated), are
 * strict (every field present, decimal, in range, no trailing bytes except
 * the note) and return 0 or -EINVAL.
 */
int lists_watch_encode(char *out, size_t cap, const struct watch_entry *e);
int lists_watch_decode(const char *v, size_t len, struct watch_entry *e);
int lists_zone_decode(const char *v, size_t len, enum zone_level *l);
int lists_greenlane_encode(char *out, size_t cap, const struct greenlane_entry *e);
int lists_greenlane_decode(const char *v, size_t len, struct greenlane_entry *e);

/*
 * Reasons (DESIGN §9), in severity order: index 0 is the most severe.  An
 * event's reasons are a mask over these indexes (bit i = chk_reasons[i]),
 * so the most severe is the lowest set bit.  Verdict codes 0 (clear) and
 * 1 (invalid event) are not reasons.
 */
#define CHK_CLEAR   0
#define CHK_INVALID 1

enum chk_colour { CHK_GREEN, CHK_AMBER, CHK_RED };

struct chk_reason {
	uint16_t code;
	const char *name;
	enum chk_colour colour;   /* what a scanner shows: red stop, amber check */
};

#define CHK_NREASONS 12
extern const struct chk_reason chk_reasons[CHK_NREASONS];

enum chk_index {
	CHK_WATCH_F0, CHK_WATCH_QUARANTINE, CHK_WATCH_F1, CHK_ZONE_RED,
	CHK_DECL_SYMPTOMS, CHK_WATCH_F2, CHK_ZONE_ORANGE, CHK_DECL_EXPOSED,
	CHK_GREENLANE_UNKNOWN, CHK_OFF_ROUTE, CHK_GREENLANE_EXPIRED, CHK_PASSENGERS_OVER,
};

/* The verdict code of a mask: the most severe reason's code, or CHK_CLEAR. */
uint16_t chk_verdict_code(uint16_t mask);
/* Index of a reason code or name, or -1. */
int chk_index_by_code(uint16_t code);
int chk_index_by_name(const char *name);
/* "watch_f0,zone_red": every reason of mask, most severe first.  Length or -ENOSPC. */
int chk_mask_names(char *out, size_t cap, uint16_t mask);

#endif /* CHOT_LISTS_H */
