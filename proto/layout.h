/*
 * The Redis key layout shared by chotd (writer) and chotctl (reader)
 * (DESIGN §4).  One place decides every key name and record encoding, so the
 * two sides cannot disagree.
 *
 *   s:{<pid[16]>}<week BE16>  STRING a subject's timeline for one week
 *                                (week = ts_ms / 604800000, Unix weeks):
 *                                8-byte records, site_id BE32 ||
 *                                (ms_of_week << 2 | dir) BE32,
 *                                and the subject's vault unit (below)
 *   p:{<site_id>}:b<block> STRING a site's presence for one 4-hour block
 *                                (block = ts_ms / 14400000, UTC):
 *                                20-byte records, pid[16] || ms_of_block BE24 || dir
 *
 * A subject key is binary, exactly 22 bytes: "s:{", the 16 raw pid bytes,
 * "}", the week as a big-endian uint16.  Redis keeps the fixed cost of a key
 * at ~112 bytes of its own: the key's sds, its dictEntry (24), robj (16) and
 * expires dictEntry (24).  The readable name s:{<32 hex>}:w<week> was 42
 * bytes, an sds8 (3-byte header) + 42 + NUL = 46 -> jemalloc's 48 class; 22
 * bytes is under 32, an sds5 (1-byte header) + 22 + NUL = 24 -> the 32
 * class (jemalloc's 16-byte quantum has no 24): 16 bytes a key saved, ~2.3
 * bytes an event on the quick province (~6.9 events a key).  No name of a
 * 16-byte pid fits the 16 class, so 32 is the floor.  Measured on the quick
 * bench (MEMORY USAGE over all 20,234 week keys): 209.7 -> 183.9 bytes a
 * key with the unit below; redis_bytes_per_event 68.2 -> 64.5.
 * The pid bytes may be anything, NUL, '{' and '}' included,
 * so every user takes the length layout_subject_key() returns and never
 * reads the key as a C string (layout_key_text() names one in messages as
 * s:{<pid hex>}:w<week>).  A '}' inside the pid ends the hash tag early:
 * the tag is then a prefix of the pid (or, for a leading '}', empty, and the
 * whole key is hashed), which both chotd and chotctl compute alike with
 * slot_of_key() on the exact bytes; no command touches two keys, so any
 * slot is as good.  The week's bytes come after the tag, '{' or '}' or not.
 * Weeks since 1970 are ~2,900 in 2026: 16 bits last until the year 3226.
 * chotd never stores a later one (events are refused beyond a few minutes
 * ahead of its clock); a reader asking for one (chotctl takes dates up to
 * 9999) gets a 24-byte key with the week BE32, which no writer makes: found
 * empty, never another week's key.  Presence keys stay readable text: they
 * are few (sites x 6 a day), and their cost spreads over many more events.
 * A key written by an older chotd (the hex name) is simply not found.
 *
 * Append-only binary records.  The writer sends one append per key and
 * generation, carrying that generation's records for the key back to back
 * (the "members" of this file are those records).  An append is O(1) where
 * a ZADD into a listpack was a sorted insert, linear in the key's length:
 * that is what Redis spent its time on at 1M citizens (issue 14, DESIGN §7).
 * The bytes at rest are the raw records (and a week key's vault unit,
 * below), nothing else.
 *
 * The append is `CHOT.APPEND key expire_at records` (the chot_audit
 * module's, redismod/chot_append.c) when every master runs it, which chotd
 * finds at start: the value reallocated at its exact size (up to 4 KiB;
 * beyond, growth bounded to 1/8), and the key's expiry set in the same
 * command.  Otherwise plain APPEND, whose doubling growth Redis never trims
 * while running (a ~1.35 KB presence key held ~2.2 KB), and EXPIREAT.  The
 * bytes at rest are the same either way; readers cannot tell.
 *
 * Idempotence moves to the readers (DESIGN §4): a generation sent again
 * after a broken connection appends its records a second time, so a key may
 * hold exact duplicates.  They are bounded by what was in flight when the
 * connection broke (redis.pipeline commands), chotd counts the resends
 * (redis_resent), and every reader drops them with layout_records_unique(),
 * which also sorts a key's records bytewise: the very order ZRANGE gave the
 * score-0 members of the sorted-set layout (for a subject's: site, time,
 * dir, below), so readers see what they saw.
 * A key whose length is not a multiple of its record size is refused as
 * corrupt, never half-read.
 *
 * A subject record is 8 bytes, not 9: dir (1..3, validate.h) rides in the
 * low two bits of the time word, ms_of_week << 2 | dir, which fits 32 bits
 * since ms_of_week < 604,800,000 < 2^30.  So bytewise the records still sort
 * by site, then time, then dir, the order the 9-byte records had, and every
 * reader sees them in the order it always did, with the plain bytewise
 * sort (dir in the top bits would have sorted dir before the time and
 * needed a sort of its own).  ~7 records a week key save 7 bytes, the unit 4 more (below),
 * which jemalloc's 16-byte classes turn into 0 or 16 a key; measured on the
 * quick bench: redis_bytes_per_event 64.5 -> 63.2.
 *
 * A subject scans a few times a day, so a key per subject and *week* rather
 * than per day spreads the fixed cost of a key (its name, dict and expiry
 * entries: 96 bytes with the binary name) over ~7x more events, and a
 * 14-day trace reads 3 keys per subject instead of 15.  Likewise a presence key spans 4 hours,
 * not one: a trace asks for ~16 hours of presence around each visit (the
 * contact window, the longest stay and dwell), 5 keys instead of 17; the 4
 * hours fit the record's 24-bit offset.  Each key is one hash tag; no
 * command touches two keys, so the layout is Redis Cluster safe.
 *
 * Expiry: a week/block key expires retention after the end of its bucket,
 * so data lives at least `redis.retention_days`: with CHOT.APPEND every
 * append carries it (set when the key has none or another); with APPEND,
 * an EXPIREAT once per key (the writer's expiry memo, repaired after a
 * reconnect).
 *
 * The vault unit: the subject's sealed identity (vault.h: ciphertext of
 * scheme || subject, then the tag; the nonce is derived from the pid and the
 * vault key, so it is not stored) lives inside the subject's week keys, not
 * in a key of its own.  The writer appends it once per subject and week
 * (ingest.h's vault memo: the first scan of the week) in the same append as
 * that generation's records for the key, on the same 8-byte grid, so every
 * APPEND is still whole records:
 *
 *   header   sealed[0..3] || 0xFF || 'v' || len || sealed[4]   (8 bytes)
 *   payload  sealed[5..len), zero-padded to a multiple of 8 bytes
 *
 * (len, one byte, is the sealed length, 17 to 49.)  The header carries 5 of
 * the sealed bytes rather than zeros: a 12-digit CCCD seals to 29 bytes,
 * 8 + 24 = 32 bytes a unit (on the old 9-byte grid it took 9 + 27 = 36;
 * a header of zeros and the whole value padded, 8 + 32 = 40).  Bytes of a
 * week key's value go in jemalloc's 16-byte classes (the value is an sds8
 * of len + 4 bytes), so 4 bytes saved are 0 or 16 a key.
 *
 * Byte 4 of an event record is the top byte of (ms_of_week << 2 | dir):
 * ms_of_week < 604,800,000, so the word is below 2,419,200,000 < 0x90300000
 * and the byte at most 0x90: a record whose byte 4 is 0xFF is a unit header, never
 * an event.  A unit's records are contiguous (the writer
 * adds them in one go, and an APPEND's records are the key's in order), so
 * its payload is skipped by its length and never read as records.  A unit
 * appended again (a resent generation, a restarted chotd whose memo is
 * empty, a memo slot collision) is the same bytes, since sealing is
 * deterministic: readers take the first and ignore the rest.  CHOT.APPEND
 * does not store it again: it leaves a unit out of an append to a week key
 * that exists (the append that created the key carried one: it came from a
 * miss of the memo).  The memo is a cache (ingest.h), and at 1 M citizens it
 * forgot most subjects within a week: with plain APPEND each miss leaves
 * one more copy (~600 bytes a week key on the full province).
 * layout_subject_split() is the one parser: it takes the unit out and
 * compacts the event records, which then go through layout_records_unique()
 * as before; a unit is never counted as an event nor as a duplicate.  A
 * header whose kind, length, reserved or padding bytes are not the above, or
 * a unit running past the value's end, makes the value corrupt (-EINVAL).
 * The binary name and the 8-byte records reached main together (stop 15):
 * every earlier chotd wrote hex names, which this layout never reads
 * (docs/OPERATIONS.md, "Upgrading across a layout change").
 *
 * Why not a `vault` key (DESIGN §4 has one, written once per subject and
 * day): a key costs its name, dict and expiry entries (~60 bytes) on top of
 * its value (~150 bytes as a separate SET v:{pid}), and a subject's key per
 * week already exists; inside it the unit costs 24 to 56 bytes (32 for a
 * 12-digit CCCD), and no command of its own (it rides the append).  The
 * entry lives exactly as long as the records that need it: it expires with its week key, each
 * week key of a subject carries one, and no late scan can cut a separate
 * entry's expiry short.  Revealing a subject reads its week keys newest
 * first back to the retention and opens the first unit that opens.
 */
#ifndef CHOT_LAYOUT_H
#define CHOT_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pseudonym.h"

#define LAYOUT_DAY_MS        86400000ULL
#define LAYOUT_HOUR_MS       3600000ULL
#define LAYOUT_BLOCK_MS      (4 * LAYOUT_HOUR_MS)   /* presence key span, < 2^24 ms */
#define LAYOUT_WEEK_MS       (7 * LAYOUT_DAY_MS)
#define LAYOUT_SUBJECT_MEMBER_LEN 8
#define LAYOUT_DIR_MAX       3      /* dir is 2 bits of a subject record (validate.h DIR__MAX) */
#define LAYOUT_DIR_BITS      2      /* the low bits of a subject record's time word */
#define LAYOUT_SITE_MEMBER_LEN    20
#define LAYOUT_KEY_MAX       64
#define LAYOUT_SUBJECT_KEY_LEN 22    /* "s:{" pid[16] "}" week BE16 */
#define LAYOUT_KEY_TEXT_MAX  (4 * LAYOUT_KEY_MAX + 1)

/* Other keys. */
#define LAYOUT_AUDIT_STREAM  "chot:audit"     /* appended by CHOT.AUDIT (redismod/) */
#define LAYOUT_SITES_HASH    "chot:{lists}:sites" /* site_id -> "kind,commune,name" (lists.h) */

/* Key builders: write a NUL-terminated key into out, return its length. */
size_t layout_subject_key(char out[LAYOUT_KEY_MAX], const uint8_t pid[PID_LEN], uint32_t week);
size_t layout_site_key(char out[LAYOUT_KEY_MAX], uint32_t site_id, uint32_t block);
/*
 * A key as text for messages: a subject key as s:{<pid hex>}:w<week>, any
 * other with its unprintable bytes as \xNN.  NUL-terminated; its length.
 */
size_t layout_key_text(char out[LAYOUT_KEY_TEXT_MAX], const char *key, size_t len);

static inline uint32_t layout_day(uint64_t ts_ms) { return (uint32_t)(ts_ms / LAYOUT_DAY_MS); }
static inline uint32_t layout_week(uint64_t ts_ms) { return (uint32_t)(ts_ms / LAYOUT_WEEK_MS); }
static inline uint32_t layout_block(uint64_t ts_ms) { return (uint32_t)(ts_ms / LAYOUT_BLOCK_MS); }

/* Unix seconds at which a week / block bucket's key expires. */
uint64_t layout_week_expire_at(uint32_t week, uint32_t retention_days);
uint64_t layout_block_expire_at(uint32_t block, uint32_t retention_days);

/* Members. */
void layout_subject_member(uint8_t out[LAYOUT_SUBJECT_MEMBER_LEN], uint32_t site_id,
			   uint64_t ts_ms, uint8_t dir);
void layout_site_member(uint8_t out[LAYOUT_SITE_MEMBER_LEN], const uint8_t pid[PID_LEN],
			uint64_t ts_ms, uint8_t dir);

/* Records at rest are the members above, back to back in a STRING. */
#define LAYOUT_SUBJECT_RECORD_LEN LAYOUT_SUBJECT_MEMBER_LEN
#define LAYOUT_SITE_RECORD_LEN    LAYOUT_SITE_MEMBER_LEN

/*
 * A key's value as read (GET): n = len / rec_len records of rec_len bytes.
 * Sorts them bytewise in place and drops exact duplicates; returns the number
 * kept (the first that many records of recs), and adds the number dropped to
 * *dups when dups is not NULL.  -EINVAL (nothing touched) when len is not a
 * multiple of rec_len or rec_len is 0.
 */
long layout_records_unique(uint8_t *recs, size_t len, size_t rec_len, uint64_t *dups);
/* n records in strictly ascending order (so none is a duplicate): readable as they are. */
bool layout_records_ascending(const uint8_t *recs, size_t n, size_t rec_len);

/* Decoders: the bucket number comes from the key the member was read from. 0 or -EINVAL. */
int layout_subject_member_decode(const uint8_t *m, size_t len, uint32_t week,
				 uint32_t *site_id, uint64_t *ts_ms, uint8_t *dir);
int layout_site_member_decode(const uint8_t *m, size_t len, uint32_t block,
			      uint8_t pid[PID_LEN], uint64_t *ts_ms, uint8_t *dir);

/* The vault unit of a week key (above). */
#define LAYOUT_UNIT_MARK     0xFF    /* byte 4 of a unit header */
#define LAYOUT_UNIT_VAULT    'v'     /* byte 5: the unit's kind */
#define LAYOUT_VAULT_MIN     17      /* sealed lengths (vault.h): 1 + subject + 16 */
#define LAYOUT_VAULT_MAX     49
#define LAYOUT_UNIT_HEAD_PAYLOAD 5  /* sealed bytes in the header: 0-3 and 7 */
#define LAYOUT_VAULT_UNIT_MAX                                                             \
	(LAYOUT_SUBJECT_RECORD_LEN +                                                      \
	 (LAYOUT_VAULT_MAX - LAYOUT_UNIT_HEAD_PAYLOAD + LAYOUT_SUBJECT_RECORD_LEN - 1) /  \
	 LAYOUT_SUBJECT_RECORD_LEN * LAYOUT_SUBJECT_RECORD_LEN)

/*
 * The vault unit carrying a sealed value of len bytes (LAYOUT_VAULT_MIN ..
 * LAYOUT_VAULT_MAX): its length in bytes, a multiple of the record length,
 * or 0 when len is out of range.
 */
size_t layout_vault_unit(uint8_t out[LAYOUT_VAULT_UNIT_MAX], const uint8_t *sealed, size_t len);

/* A week key's value is event records only (no unit header): readable as they are. */
bool layout_subject_plain(const uint8_t *val, size_t len);

/*
 * A week key's value as read (GET), len bytes: takes out its vault units,
 * copying the first one's sealed value into vault (when not NULL) and its
 * length into *vault_len (0 when the value has none), and moves the event
 * records, in their order, to the start of val.  Returns their length in
 * bytes (a multiple of LAYOUT_SUBJECT_RECORD_LEN, for
 * layout_records_unique()), or -EINVAL when the value is corrupt: len not a
 * multiple of the record length, or a unit header not as layout.h says
 * (val may then be partly compacted).
 */
long layout_subject_split(uint8_t *val, size_t len, uint8_t vault[LAYOUT_VAULT_MAX],
			  size_t *vault_len);
/* The event records of such a value (its units skipped), read only: a count, or -EINVAL. */
long layout_subject_count(const uint8_t *val, size_t len);

#endif /* CHOT_LAYOUT_H */
