/*
 * Reject reasons: every way a frame, a datagram or an event can be wrong has
 * exactly one name here, and every name maps to exactly one /chot/stats
 * counter (DESIGN §3).  The dataplane keeps a per-reason counter so operators
 * see *why* (`bad_header.bad_magic`), and sums reasons into the contract
 * counters (`bad_header`) for the accounting identities.
 *
 * Pure data; no allocation, no EAL.
 */
#ifndef CHOT_REASON_H
#define CHOT_REASON_H

#include <stddef.h>

/* The contract counters a reason can land in. */
enum chot_counter {
	CTR_NONE = 0,        /* not a reject (WIRE_OK) */
	CTR_NOT_OURS,        /* frame is not a chot datagram for us */
	CTR_BAD_HEADER,      /* chot header malformed */
	CTR_BAD_TAG,         /* AEAD failed or key unknown */
	CTR_STALE_EPOCH,     /* older boot epoch than the device's current */
	CTR_REPLAYED,        /* batch already seen (re-ACKed if stored) */
	CTR_DECODE_ERRORS,   /* authentic, but the body is not a valid ScanBatch */
	CTR_BAD_EVENTS,      /* one event invalid (rest of the batch kept) */
	CTR_DUP_SCANS,       /* semantic duplicate within dedupe.window_s */
	CTR__COUNT,
};

#define CHOT_REASONS(X) \
	X(WIRE_OK,                 CTR_NONE,          "ok") \
	/* frame level: not_ours */ \
	X(FRAME_TRUNCATED,         CTR_NOT_OURS,      "frame_truncated") \
	X(FRAME_ETHERTYPE,         CTR_NOT_OURS,      "ethertype") \
	X(FRAME_IP_HEADER,         CTR_NOT_OURS,      "ip_header") \
	X(FRAME_FRAGMENT,          CTR_NOT_OURS,      "ip_fragment") \
	X(FRAME_NOT_UDP,           CTR_NOT_OURS,      "not_udp") \
	X(FRAME_UDP_PORT,          CTR_NOT_OURS,      "udp_port") \
	X(FRAME_UDP_LENGTH,        CTR_NOT_OURS,      "udp_length") \
	X(FRAME_DST_ADDR,          CTR_NOT_OURS,      "dst_address") \
	X(FRAME_CONTROL,           CTR_NOT_OURS,      "arp_nd") \
	/* header: bad_header */ \
	X(HDR_SHORT,               CTR_BAD_HEADER,    "short") \
	X(HDR_TOO_LONG,            CTR_BAD_HEADER,    "too_long") \
	X(HDR_MAGIC,               CTR_BAD_HEADER,    "magic") \
	X(HDR_VERSION,             CTR_BAD_HEADER,    "version") \
	X(HDR_FLAGS,               CTR_BAD_HEADER,    "flags") \
	X(HDR_DEVICE_ZERO,         CTR_BAD_HEADER,    "device_zero") \
	X(HDR_SEQ_ZERO,            CTR_BAD_HEADER,    "seq_zero") \
	X(HDR_LENGTH,              CTR_BAD_HEADER,    "length_mismatch") \
	/* authentication: bad_tag */ \
	X(AUTH_UNKNOWN_KEY,        CTR_BAD_TAG,       "unknown_key_id") \
	X(AUTH_TAG,                CTR_BAD_TAG,       "tag") \
	/* window: stale_epoch / replayed */ \
	X(WIN_STALE_EPOCH,         CTR_STALE_EPOCH,   "stale_epoch") \
	X(WIN_REPLAY,              CTR_REPLAYED,      "replay") \
	X(WIN_TOO_OLD,             CTR_REPLAYED,      "too_old") \
	/* body: decode_errors */ \
	X(BODY_UNPACK,             CTR_DECODE_ERRORS, "unpack") \
	X(BODY_ARENA,              CTR_DECODE_ERRORS, "arena_exhausted") \
	X(BODY_EMPTY,              CTR_DECODE_ERRORS, "empty_batch") \
	X(BODY_TOO_MANY,           CTR_DECODE_ERRORS, "too_many_events") \
	/* event: bad_events */ \
	X(EV_SCHEME,               CTR_BAD_EVENTS,    "scheme") \
	X(EV_SITE,                 CTR_BAD_EVENTS,    "site_zero") \
	X(EV_DIR,                  CTR_BAD_EVENTS,    "direction") \
	X(EV_DECL,                 CTR_BAD_EVENTS,    "declaration") \
	X(EV_TS_OLD,               CTR_BAD_EVENTS,    "ts_too_old") \
	X(EV_TS_FUTURE,            CTR_BAD_EVENTS,    "ts_future") \
	X(EV_SUBJECT_LEN,          CTR_BAD_EVENTS,    "subject_length") \
	X(EV_SUBJECT_CHARS,        CTR_BAD_EVENTS,    "subject_chars") \
	X(EV_CCCD,                 CTR_BAD_EVENTS,    "cccd_format") \
	X(EV_PLATE,                CTR_BAD_EVENTS,    "plate_format") \
	X(EV_VEHICLE,              CTR_BAD_EVENTS,    "vehicle_format") \
	/* dedupe */ \
	X(EV_DUPLICATE,            CTR_DUP_SCANS,     "duplicate") \
	/* chotd: an authentic device that the full device table cannot hold */ \
	X(DEV_TABLE_FULL,          CTR_NOT_OURS,      "device_table_full") \
	/* frame level: a source no reply may go to (broadcast, multicast, \
	 * unspecified address, port 0): answering would reflect an ACK */ \
	X(FRAME_SRC_ADDR,          CTR_NOT_OURS,      "src_address")

enum chot_reason {
#define X(id, ctr, name) id,
	CHOT_REASONS(X)
#undef X
	CHOT_REASON__COUNT,
};

/* Contract counter name ("bad_header"), or NULL for CTR_NONE / out of range. */
const char *chot_counter_name(enum chot_counter c);

/* Reason short name ("magic"). Never NULL; "?" when out of range. */
const char *chot_reason_name(enum chot_reason r);

/* Counter a reason lands in. */
enum chot_counter chot_reason_counter(enum chot_reason r);

/* Parse a counter name back; returns CTR_NONE when unknown. */
enum chot_counter chot_counter_from_name(const char *name);

#endif /* CHOT_REASON_H */
