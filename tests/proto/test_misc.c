/*
 * Reasons -> counters, the Redis layout's keys and members, the identity
 * vault and pseudonyms: round trips and the rejects each one promises.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include "proto/clock.h"
#include "proto/layout.h"
#include "proto/reason.h"
#include "proto/vault.h"
#include "vec.h"

/* DESIGN §3 names, verbatim. */
Test(reason, counter_names_match_design)
{
	static const struct {
		enum chot_counter c;
		const char *name;
	} want[] = {
	        {CTR_NOT_OURS, "not_ours"},     {CTR_BAD_HEADER, "bad_header"},
	        {CTR_BAD_TAG, "bad_tag"},       {CTR_STALE_EPOCH, "stale_epoch"},
	        {CTR_REPLAYED, "replayed"},     {CTR_DECODE_ERRORS, "decode_errors"},
	        {CTR_BAD_EVENTS, "bad_events"}, {CTR_DUP_SCANS, "dup_scans"},
	};

	cr_assert_eq(sizeof(want) / sizeof(want[0]), CTR__COUNT - 1, "one row per counter");
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_str_eq(chot_counter_name(want[i].c), want[i].name);
		cr_assert_eq(chot_counter_from_name(want[i].name), want[i].c);
	}
	cr_assert_null(chot_counter_name(CTR_NONE));
	cr_assert_null(chot_counter_name(CTR__COUNT));
	cr_assert_eq(chot_counter_from_name("rx_packets"), CTR_NONE);
	cr_assert_eq(chot_counter_from_name(NULL), CTR_NONE);
}

Test(reason, every_reason_maps)
{
	static const struct {
		enum chot_reason first, last;
		enum chot_counter c;
	} ranges[] = {
	        {FRAME_TRUNCATED, FRAME_CONTROL, CTR_NOT_OURS},
	        {HDR_SHORT, HDR_LENGTH, CTR_BAD_HEADER},
	        {AUTH_UNKNOWN_KEY, AUTH_TAG, CTR_BAD_TAG},
	        {WIN_STALE_EPOCH, WIN_STALE_EPOCH, CTR_STALE_EPOCH},
	        {WIN_REPLAY, WIN_TOO_OLD, CTR_REPLAYED},
	        {BODY_UNPACK, BODY_TOO_MANY, CTR_DECODE_ERRORS},
	        {EV_SCHEME, EV_VEHICLE, CTR_BAD_EVENTS},
	        {EV_DUPLICATE, EV_DUPLICATE, CTR_DUP_SCANS},
	        {DEV_TABLE_FULL, DEV_TABLE_FULL, CTR_NOT_OURS},
	        {FRAME_SRC_ADDR, FRAME_SRC_ADDR, CTR_NOT_OURS},
	};
	unsigned seen = 1; /* WIRE_OK */

	cr_assert_eq(chot_reason_counter(WIRE_OK), CTR_NONE);
	cr_assert_str_eq(chot_reason_name(WIRE_OK), "ok");
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		for (unsigned r = ranges[i].first; r <= ranges[i].last; r++, seen++)
			cr_assert_eq(chot_reason_counter(r), ranges[i].c, "%s lands in %s",
			             chot_reason_name(r), chot_counter_name(ranges[i].c));
	cr_assert_eq(seen, CHOT_REASON__COUNT, "the table covers every reason");
	for (unsigned r = 0; r < CHOT_REASON__COUNT; r++) {
		cr_assert_str_neq(chot_reason_name(r), "?", "reason %u has a name", r);
		for (unsigned s = r + 1; s < CHOT_REASON__COUNT; s++)
			cr_assert(strcmp(chot_reason_name(r), chot_reason_name(s)) != 0 ||
			                  chot_reason_counter(r) != chot_reason_counter(s),
			          "counter.reason names are unique: %s", chot_reason_name(r));
	}
	cr_assert_str_eq(chot_reason_name(CHOT_REASON__COUNT), "?");
	cr_assert_eq(chot_reason_counter(CHOT_REASON__COUNT), CTR_NONE);
}

Test(pseudonym, hex_round_trip_and_scheme_separation)
{
	uint8_t key[32], a[PID_LEN], b[PID_LEN], back[PID_LEN];
	char hex[PID_HEX_LEN + 1];

	cr_assert_eq(wire_init(), 0);
	vec_key(key, 0x20);
	chot_pseudonym(a, key, 2, "ABC123", 6);
	chot_pseudonym(b, key, 4, "ABC123", 6);
	cr_assert_neq(memcmp(a, b, PID_LEN), 0, "the scheme byte separates equal subjects");
	chot_pid_hex(hex, a);
	cr_assert_eq(strlen(hex), 32);
	for (int i = 0; i < 32; i++)
		cr_assert(strchr("0123456789abcdef", hex[i]) != NULL, "lowercase hex: %s", hex);
	cr_assert_eq(chot_pid_parse(back, hex), 0);
	cr_assert_eq(memcmp(a, back, PID_LEN), 0);
	cr_assert_eq(chot_pid_parse(back, "00"), -EINVAL, "short");
	cr_assert_eq(chot_pid_parse(back, "0123456789abcdef0123456789abcdeg"), -EINVAL, "not hex");
	cr_assert_eq(chot_pid_parse(back, NULL), -EINVAL);
	cr_assert_eq(chot_pid_parse(back, "0123456789ABCDEF0123456789ABCDEF"), 0,
	             "upper case is accepted on input");
}

Test(vault, seal_open_round_trip_and_rejects)
{
	uint8_t key[32], other[32], pid[PID_LEN], pid2[PID_LEN];
	uint8_t s1[VAULT_MAX_SEALED], s2[VAULT_MAX_SEALED], scheme = 0;
	char subj[WIRE_SUBJECT_MAX_NUL];
	size_t n1, n2;

	cr_assert_eq(wire_init(), 0);
	vec_key(key, 0x40);
	vec_key(other, 0x41);
	vec_bytes(pid, PID_LEN, 0x60);
	memcpy(pid2, pid, PID_LEN);
	pid2[0] ^= 1;
	n1 = vault_seal(s1, key, pid, 1, "001203004567", 12);
	n2 = vault_seal(s2, key, pid, 1, "001203004567", 12);
	cr_assert_eq(n1, 1 + 12 + 16, "no nonce stored: scheme, subject, tag");
	cr_assert(n1 == n2 && memcmp(s1, s2, n1) == 0, "sealing is deterministic (idempotent)");
	cr_assert_eq(vault_open(s1, n1, key, pid, &scheme, subj), 12);
	cr_assert_eq(scheme, 1);
	cr_assert_str_eq(subj, "001203004567");
	cr_assert_eq(vault_open(s1, n1, other, pid, &scheme, subj), -EBADMSG, "wrong key");
	cr_assert_eq(vault_open(s1, n1, key, pid2, &scheme, subj), -EBADMSG,
	             "a value moved to another pid does not open");
	s1[5] ^= 1;
	cr_assert_eq(vault_open(s1, n1, key, pid, &scheme, subj), -EBADMSG, "tampered");
	cr_assert_eq(vault_open(s1, 10, key, pid, &scheme, subj), -EINVAL, "short");
	n1 = vault_seal(s1, key, pid, 4, "B1234567B1234567B1234567B1234567", 32);
	cr_assert_eq(n1, VAULT_MAX_SEALED);
	cr_assert_eq(vault_open(s1, n1, key, pid, &scheme, subj), 32);
	cr_assert_eq(vault_open(s1, n1 + 1, key, pid, &scheme, subj), -EINVAL, "too long");
}

Test(layout, keys)
{
	uint8_t pid[PID_LEN];
	char k[LAYOUT_KEY_MAX], text[LAYOUT_KEY_TEXT_MAX];

	vec_bytes(pid, PID_LEN, 0);
	cr_assert_eq(layout_subject_key(k, pid, 2708), LAYOUT_SUBJECT_KEY_LEN);
	cr_assert_eq(LAYOUT_SUBJECT_KEY_LEN, 22, "under 32 bytes: Redis's 1-byte sds header");
	cr_assert_eq(memcmp(k, "s:{\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
			    "\x0e\x0f}\x0a\x94", 23), 0, "raw pid, week 2708 BE16, a NUL after");
	cr_assert_eq(layout_key_text(text, k, 22), 42);
	cr_assert_str_eq(text, "s:{000102030405060708090a0b0c0d0e0f}:w2708");
	/* Any pid byte, NUL, '{' and '}' included: the length says where the key ends. */
	memset(pid, '}', PID_LEN);
	pid[0] = 0;
	pid[5] = '{';
	cr_assert_eq(layout_subject_key(k, pid, 0xffff), 22);
	cr_assert_eq(memcmp(k + 3, pid, PID_LEN), 0);
	cr_assert_eq((uint8_t)k[20], 0xff);
	cr_assert_eq((uint8_t)k[21], 0xff);
	cr_assert_eq(layout_key_text(text, k, 22), 43);
	cr_assert_str_eq(text, "s:{007d7d7d7d7b7d7d7d7d7d7d7d7d7d7d}:w65535");
	/* Past 16 bits (the year 3226; chotd never writes one): 4 bytes, no other week's key. */
	cr_assert_eq(layout_subject_key(k, pid, 0x10000), 24);
	cr_assert_eq(memcmp(k + 20, "\x00\x01\x00\x00", 4), 0);
	cr_assert_eq(layout_key_text(text, "p:{7}\x01\\", 7), 13);
	cr_assert_str_eq(text, "p:{7}\\x01\\x5c");
	cr_assert_eq(layout_site_key(k, 17, 113748), 14);
	cr_assert_str_eq(k, "p:{17}:b113748");
	cr_assert_eq(layout_site_key(k, 0, 0), 8);
	cr_assert_str_eq(k, "p:{0}:b0");
	cr_assert_eq(layout_site_key(k, UINT32_MAX, UINT32_MAX), 26);
	cr_assert_str_eq(k, "p:{4294967295}:b4294967295");
	cr_assert_eq(layout_site_key(k, 1000000000, 9), 17);
	cr_assert_str_eq(k, "p:{1000000000}:b9");
	cr_assert_eq(layout_day(VEC_TS0), 18958);
	cr_assert_eq(layout_week(VEC_TS0), 2708);
	cr_assert_eq(layout_week(2709ULL * 604800000 - 1), 2708);
	cr_assert_eq(layout_week(2709ULL * 604800000), 2709);
	cr_assert_eq(layout_block(VEC_TS0 + 4 * 3600000 - 1), 113748);
	cr_assert_eq(layout_block(VEC_TS0 + 4 * 3600000), 113749);
	cr_assert_eq(layout_week_expire_at(2708, 21), 2709ULL * 604800 + 21 * 86400,
	             "a week key lives retention after the week ends");
	cr_assert_eq(layout_block_expire_at(113748, 21), 113749ULL * 4 * 3600 + 21 * 86400,
	             "a block key lives retention after the block ends");
}

Test(layout, members_round_trip)
{
	uint8_t pid[PID_LEN], back[PID_LEN], m[LAYOUT_SITE_MEMBER_LEN], dir;
	uint32_t site;
	uint64_t ts;
	static const uint64_t tss[] = {VEC_TS0, VEC_TS0 + 86399999, VEC_TS0 + 3599999,
				       VEC_TS0 + 14399999, VEC_TS0 + 14400000, 0,
				       2709ULL * 604800000 - 1, 2709ULL * 604800000};

	vec_bytes(pid, PID_LEN, 0x70);
	for (size_t i = 0; i < sizeof(tss) / sizeof(tss[0]); i++) {
		layout_subject_member(m, 0xdeadbeef, tss[i], DIR_OUT);
		cr_assert_eq(layout_subject_member_decode(m, LAYOUT_SUBJECT_MEMBER_LEN,
		                                          layout_week(tss[i]), &site, &ts, &dir),
		             0);
		cr_assert_eq(site, 0xdeadbeef);
		cr_assert_eq(ts, tss[i], "subject member keeps ts %llu",
		             (unsigned long long)tss[i]);
		cr_assert_eq(dir, DIR_OUT);
		layout_site_member(m, pid, tss[i], DIR_PASS);
		cr_assert_eq(layout_site_member_decode(m, LAYOUT_SITE_MEMBER_LEN,
		                                       layout_block(tss[i]), back, &ts, &dir),
		             0);
		cr_assert_eq(memcmp(back, pid, PID_LEN), 0);
		cr_assert_eq(ts, tss[i], "site member keeps ts %llu", (unsigned long long)tss[i]);
		cr_assert_eq(dir, DIR_PASS);
	}
	cr_assert_eq(layout_subject_member_decode(m, 7, 0, &site, &ts, &dir), -EINVAL);
	cr_assert_eq(layout_subject_member_decode(m, 9, 0, &site, &ts, &dir), -EINVAL);
	cr_assert_eq(layout_site_member_decode(m, 19, 0, back, &ts, &dir), -EINVAL);
	/* Every dir with the largest ms_of_week: dir in the low 2 bits, the time untouched. */
	for (uint8_t d = 0; d <= LAYOUT_DIR_MAX; d++) {
		layout_subject_member(m, 1, LAYOUT_WEEK_MS - 1, d);
		cr_assert_eq(m[7] & 3, d, "dir %u in the low bits", d);
		cr_assert_leq(m[4], 0x90, "byte 4 at most 0x90");
		cr_assert_eq(layout_subject_member_decode(m, 8, 0, &site, &ts, &dir), 0);
		cr_assert_eq(dir, d);
		cr_assert_eq(ts, LAYOUT_WEEK_MS - 1);
	}
	memset(m, 0xff, sizeof(m));
	cr_assert_eq(layout_subject_member_decode(m, 8, 0, &site, &ts, &dir), -EINVAL,
	             "ms of week out of range");
	{   /* dir 0, ms one past the week */
		uint32_t w = (uint32_t)LAYOUT_WEEK_MS << 2;

		m[4] = (uint8_t)(w >> 24), m[5] = (uint8_t)(w >> 16), m[6] = (uint8_t)(w >> 8);
		m[7] = (uint8_t)w;
	}
	cr_assert_eq(layout_subject_member_decode(m, 8, 0, &site, &ts, &dir), -EINVAL,
	             "ms of week out of range, dir 0");
	cr_assert_eq(layout_site_member_decode(m, 20, 0, back, &ts, &dir), -EINVAL,
	             "ms of block out of range");
}

/* A week key as chotd writes it: records, a vault unit in an APPEND, more records. */
Test(layout, subject_split_takes_the_vault_unit_out)
{
	uint8_t key[32], pid[PID_LEN], sealed[VAULT_MAX_SEALED], unit[LAYOUT_VAULT_UNIT_MAX];
	uint8_t val[20 * LAYOUT_VAULT_UNIT_MAX], got[LAYOUT_VAULT_MAX], want[4][8], scheme;
	char subj[WIRE_SUBJECT_MAX_NUL];
	size_t sl, ul, len = 0, gl = 99;
	uint64_t dups = 0;
	long n;

	cr_assert_eq(wire_init(), 0);
	vec_key(key, 0x40);
	vec_bytes(pid, PID_LEN, 0x60);
	sl = vault_seal(sealed, key, pid, 1, "001203004567", 12);
	ul = layout_vault_unit(unit, sealed, sl);
	cr_assert_eq(ul, 8 + 24, "header with 5 sealed bytes, 24 more: a 32-byte unit");
	cr_assert_eq(unit[4], 0xff, "byte 4 of the header: impossible in an event record");
	cr_assert_eq(layout_vault_unit(unit, sealed, 16), 0, "too short for a sealed value");
	cr_assert_eq(layout_vault_unit(unit, sealed, LAYOUT_VAULT_MAX + 1), 0);
	/* The largest dir and ms_of_week have byte 4 0x90: never the mark. */
	layout_subject_member(want[0], 0xffffffff, LAYOUT_WEEK_MS - 1, LAYOUT_DIR_MAX);
	cr_assert_eq(want[0][4], 0x90);
	cr_assert_lt(want[0][4], LAYOUT_UNIT_MARK);
	layout_subject_member(want[1], 7, 1000, 1);
	layout_subject_member(want[2], 0, 0, 0);
	layout_subject_member(want[3], 7, 1000, 1);   /* a resent record */
	/* record, unit, record, record, unit again (a resend), record */
	memcpy(val + len, want[0], 8), len += 8;
	memcpy(val + len, unit, ul), len += ul;
	memcpy(val + len, want[1], 8), len += 8;
	memcpy(val + len, want[2], 8), len += 8;
	memcpy(val + len, unit, ul), len += ul;
	memcpy(val + len, want[3], 8), len += 8;
	cr_assert_not(layout_subject_plain(val, len));
	cr_assert_eq(layout_subject_count(val, len), 4, "units are no events");
	n = layout_subject_split(val, len, got, &gl);
	cr_assert_eq(n, 4 * 8, "the four records, compacted");
	cr_assert_eq(gl, sl);
	cr_assert_eq(memcmp(got, sealed, sl), 0, "the sealed value comes out whole");
	cr_assert_eq(vault_open(got, gl, key, pid, &scheme, subj), 12);
	cr_assert_str_eq(subj, "001203004567");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(memcmp(val + 8 * i, want[i], 8), 0, "record %d in its order", i);
	cr_assert(layout_subject_plain(val, (size_t)n));
	cr_assert_eq(layout_records_unique(val, (size_t)n, 8, &dups), 3);
	cr_assert_eq(dups, 1, "the resent record is a duplicate, the resent unit is not");

	/* A value without a unit is left alone. */
	memcpy(val, want, sizeof(want));
	cr_assert(layout_subject_plain(val, sizeof(want)));
	cr_assert_eq(layout_subject_split(val, sizeof(want), got, &gl), (long)sizeof(want));
	cr_assert_eq(gl, 0);
	cr_assert_eq(memcmp(val, want, sizeof(want)), 0);
	cr_assert_eq(layout_subject_split(val, 0, NULL, NULL), 0, "an empty value");

	/* Corrupt: off the grid, a bad header, a unit cut short. */
	cr_assert_eq(layout_subject_split(val, 10, got, &gl), -EINVAL);
	cr_assert_eq(layout_subject_count(val, 10), -EINVAL);
	memcpy(val, want[0], 8);
	memcpy(val + 8, unit, ul);
	cr_assert_eq(layout_subject_split(val, 8 + ul - 8, got, &gl), -EINVAL, "unit cut short");
	cr_assert_eq(layout_subject_count(val, 8 + ul - 8), -EINVAL);
	static const struct { int at; uint8_t v; const char *what; } bad[] = {
		{ 6, 0, "length 0" },
		{ 6, 16, "length 16: too short" }, { 6, 50, "length 50: too long" },
		{ 6, 0xff, "length 255: too long" }, { 5, 'x', "unknown kind" },
		{ 5, 0, "no kind" },   /* 29 - 5 = 24: no padding here (vault_unit_every_length) */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(val, unit, ul);
		val[bad[i].at] = bad[i].v;
		cr_assert_eq(layout_subject_split(val, ul, got, &gl), -EINVAL, "%s", bad[i].what);
	}
	memcpy(val, unit, ul);
	cr_assert_eq(layout_subject_split(val, ul, got, &gl), 0, "a unit alone: no records");
	cr_assert_eq(gl, sl);
	/* The largest sealed value: 49 bytes, 6 records of payload. */
	sl = vault_seal(sealed, key, pid, 4, "B1234567B1234567B1234567B1234567", 32);
	cr_assert_eq(layout_vault_unit(unit, sealed, sl), LAYOUT_VAULT_UNIT_MAX);
	cr_assert_eq(LAYOUT_VAULT_UNIT_MAX, 56, "8 + 44 padded to 48");
}

/* Subject records sort by site, then time, then dir (layout.h), bytewise, as the 9-byte ones did. */
Test(layout, subject_records_sort_by_time_before_dir)
{
	uint8_t v[4 * LAYOUT_SUBJECT_RECORD_LEN], want[4 * LAYOUT_SUBJECT_RECORD_LEN];
	uint64_t dups = 0;

	layout_subject_member(v, 7, 2000, DIR_IN);
	layout_subject_member(v + 8, 7, 1000, DIR_PASS);
	layout_subject_member(v + 16, 6, 3000, DIR_IN);
	layout_subject_member(v + 24, 7, 1000, DIR_OUT);
	layout_subject_member(want, 6, 3000, DIR_IN);
	layout_subject_member(want + 8, 7, 1000, DIR_OUT);
	layout_subject_member(want + 16, 7, 1000, DIR_PASS);
	layout_subject_member(want + 24, 7, 2000, DIR_IN);
	cr_assert_not(layout_records_ascending(v, 4, LAYOUT_SUBJECT_RECORD_LEN));
	cr_assert_eq(layout_records_unique(v, sizeof(v), LAYOUT_SUBJECT_RECORD_LEN, &dups), 4);
	cr_assert_eq(memcmp(v, want, sizeof(v)), 0, "site, time, dir: not dir before time");
	cr_assert(layout_records_ascending(v, 4, LAYOUT_SUBJECT_RECORD_LEN));
	cr_assert_eq(dups, 0);
}

/* Every sealed length round-trips, alone and among records; its header bytes are sealed bytes. */
Test(layout, vault_unit_every_length)
{
	uint8_t sealed[LAYOUT_VAULT_MAX + 1], unit[LAYOUT_VAULT_UNIT_MAX], got[LAYOUT_VAULT_MAX];
	uint8_t val[2 * 8 + LAYOUT_VAULT_UNIT_MAX + 8], rec[2][8];
	size_t gl;

	layout_subject_member(rec[0], 0x01020304, 5000, 1);
	layout_subject_member(rec[1], 0xffffffff, LAYOUT_WEEK_MS - 1, LAYOUT_DIR_MAX);
	for (size_t sl = LAYOUT_VAULT_MIN; sl <= LAYOUT_VAULT_MAX; sl++) {
		size_t ul, body = sl - LAYOUT_UNIT_HEAD_PAYLOAD, len = 0;

		for (size_t i = 0; i < sl; i++)
			sealed[i] = (uint8_t)(0xa0 + i);   /* nonzero everywhere */
		ul = layout_vault_unit(unit, sealed, sl);
		cr_assert_eq(ul, 8 + (body + 7) / 8 * 8, "length %zu", sl);
		cr_assert_eq(ul % 8, 0);
		cr_assert_leq(ul, LAYOUT_VAULT_UNIT_MAX);
		cr_assert_eq(memcmp(unit, sealed, 4), 0, "header bytes 0-3: sealed[0..3]");
		cr_assert_eq(unit[4], LAYOUT_UNIT_MARK);
		cr_assert_eq(unit[5], LAYOUT_UNIT_VAULT);
		cr_assert_eq(unit[6], sl);
		cr_assert_eq(unit[7], sealed[4], "header byte 7: sealed[4]");
		for (size_t i = 8 + body; i < ul; i++)
			cr_assert_eq(unit[i], 0, "padding at %zu", i);

		gl = 0;
		memcpy(val, unit, ul);
		cr_assert_eq(layout_subject_split(val, ul, got, &gl), 0, "a unit alone, length %zu", sl);
		cr_assert_eq(gl, sl);
		cr_assert_eq(memcmp(got, sealed, sl), 0, "length %zu comes out whole", sl);

		/* record, unit, record, unit again: two events, the first unit's value */
		memcpy(val + len, rec[0], 8), len += 8;
		memcpy(val + len, unit, ul), len += ul;
		memcpy(val + len, rec[1], 8), len += 8;
		cr_assert_eq(layout_subject_count(val, len), 2);
		memset(got, 0, sizeof(got));
		cr_assert_eq(layout_subject_split(val, len, got, &gl), 16);
		cr_assert_eq(gl, sl);
		cr_assert_eq(memcmp(got, sealed, sl), 0);
		cr_assert_eq(memcmp(val, rec[0], 8), 0);
		cr_assert_eq(memcmp(val + 8, rec[1], 8), 0);

		/* truncated: every cut inside the unit, on the grid, is refused */
		for (size_t cut = 8; cut < ul; cut += 8) {
			memcpy(val, unit, ul);
			cr_assert_eq(layout_subject_split(val, cut, got, &gl), -EINVAL,
				     "length %zu cut at %zu", sl, cut);
			cr_assert_eq(layout_subject_count(val, cut), -EINVAL);
		}
		/* the last padding byte, when there is padding, must be zero */
		if (ul > 8 + body) {
			memcpy(val, unit, ul);
			val[ul - 1] = 1;
			cr_assert_eq(layout_subject_split(val, ul, got, &gl), -EINVAL);
			cr_assert_eq(layout_subject_count(val, ul), -EINVAL);
		}
	}
	cr_assert_eq(layout_vault_unit(unit, sealed, LAYOUT_VAULT_MIN - 1), 0);
	cr_assert_eq(layout_vault_unit(unit, sealed, LAYOUT_VAULT_MAX + 1), 0);
}

/* proto/clock.h: the cycle-counter clock follows the counter from its anchor. */
Test(clock, anchored_counter_follows_both_clocks)
{
	struct chot_clock c;
	uint64_t hz = 2400000000ull, base = 1ull << 40;

	chot_clock_anchor_at(&c, base, hz, 5000000, 1700000000000ull);
	cr_expect_eq(chot_clock_mono_us(&c, base), 5000000);
	cr_expect_eq(chot_clock_real_ms(&c, base), 1700000000000ull);
	cr_expect_eq(chot_clock_mono_us(&c, base + hz), 6000000, "one second of cycles");
	cr_expect_eq(chot_clock_real_ms(&c, base + hz / 2), 1700000000500ull);
	cr_expect_eq(chot_clock_mono_us(&c, base + 2399), 5000000, "below a microsecond");
	cr_expect_eq(chot_clock_mono_us(&c, base + 2400), 5000001);
	chot_clock_anchor_at(&c, 0, 999999, 0, 0);     /* slower than 1 MHz: no division by 0 */
	cr_expect_eq(chot_clock_mono_us(&c, 7), 7);
	cr_expect_geq(chot_mono_us(), 1, "the system clock reads");
	cr_expect_gt(chot_real_ms(), 1600000000000ull, "unix milliseconds");
}

/* Readers of the append-only layout: sort bytewise, drop exact duplicates. */
Test(layout, records_unique)
{
	static const struct {
		const char *in, *out;   /* records of 3 bytes, as text */
		size_t rec;
		long kept;
		uint64_t dups;
	} cases[] = {
		{ "", "", 3, 0, 0 },
		{ "abc", "abc", 3, 1, 0 },
		{ "abcabc", "abc", 3, 1, 1 },
		{ "xyzabcxyz", "abcxyz", 3, 2, 1 },
		{ "ccbbbaccbaaa", "aaabbaccb", 3, 3, 1 },
		{ "ccbbbaacbaaa", "aaaacbbbaccb", 3, 4, 0 },
		{ "cccbbbaaacccbbbaaa", "aaabbbccc", 3, 3, 3 },
		{ "abab", "ab", 2, 1, 1 },
		{ "ab", NULL, 3, -EINVAL, 0 },     /* a torn record: refused whole */
		{ "abcd", NULL, 3, -EINVAL, 0 },
		{ "abc", NULL, 0, -EINVAL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[64];
		size_t len = strlen(cases[i].in);
		uint64_t dups = 0;
		long kept;

		memcpy(buf, cases[i].in, len);
		kept = layout_records_unique(buf, len, cases[i].rec, &dups);
		cr_assert_eq(kept, cases[i].kept, "case %zu: kept %ld", i, kept);
		cr_assert_eq(dups, cases[i].dups, "case %zu: dups %llu", i,
		             (unsigned long long)dups);
		if (kept < 0) {
			cr_assert_eq(memcmp(buf, cases[i].in, len), 0, "case %zu: untouched", i);
			continue;
		}
		cr_assert_eq((size_t)kept * cases[i].rec, strlen(cases[i].out), "case %zu", i);
		cr_assert_eq(memcmp(buf, cases[i].out, strlen(cases[i].out)), 0, "case %zu: %.*s", i,
		             (int)strlen(cases[i].out), buf);
	}
}

static int
ref_cmp(const void *a, const void *b, void *len)
{
	return memcmp(a, b, *(const size_t *)len);   /* records sort bytewise (layout.h) */
}

/* Byte k of record i of n for a test shape (x: a random word). */
static uint8_t
shaped(int shape, uint64_t x, size_t i, size_t k, size_t n, size_t len)
{
	switch (shape) {
	case 0: return (uint8_t)(x % 3);                              /* many duplicates */
	case 1: return (uint8_t)x;                                    /* random */
	case 2: return k == 0 ? (uint8_t)(i >> 4) : (uint8_t)((i & 15) + k); /* sorted */
	case 3: return k == len - 1 ? (uint8_t)(255 - i % 256) : (uint8_t)((n - i) / 256);
	case 4: return 7;                                             /* all equal */
	default: return k == len - 2 ? (uint8_t)(i % 37) : (uint8_t)(x % 2); /* sawtooth */
	}
}

static void
rec_swap_test(uint8_t *a, size_t len)
{
	uint8_t t[64];

	memcpy(t, a, len);
	memcpy(a, a + len, len);
	memcpy(a + len, t, len);
}

/*
 * The records' own sort (inlined comparisons for 8- and 20-byte records, a
 * quicksort with heapsort fallback) against qsort + memcmp (for 8 bytes a
 * subject record's order, written out here): random values
 * with many duplicates, already sorted, reversed, all equal, sawtooth runs
 * (generations appended one after another), from 0 to 3000 records.
 */
Test(layout, records_unique_matches_qsort)
{
	static const size_t lens[] = { LAYOUT_SUBJECT_RECORD_LEN, LAYOUT_SITE_RECORD_LEN, 3, 40 };
	static const size_t counts[] = { 0, 1, 2, 15, 16, 17, 33, 100, 1000, 3000 };
	uint64_t x = 88172645463325252ull;

	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++)
		for (size_t ci = 0; ci < sizeof(counts) / sizeof(counts[0]); ci++)
			for (int shape = 0; shape < 6; shape++) {
				size_t len = lens[li], n = counts[ci];
				uint8_t *a = malloc(n * len + 1), *b = malloc(n * len + 1);
				uint64_t dups = 0;
				size_t kept = 0;
				long got;

				cr_assert(a != NULL && b != NULL);
				for (size_t i = 0; i < n; i++)
					for (size_t k = 0; k < len; k++) {
						x ^= x << 13;
						x ^= x >> 7;
						x ^= x << 17;
						a[i * len + k] = shaped(shape, x, i, k, n, len);
					}
				memcpy(b, a, n * len);
				if (n > 0)
					qsort_r(b, n, len, ref_cmp, &len);
				for (size_t i = 0; i < n; i++)
					if (kept == 0 || memcmp(b + (kept - 1) * len, b + i * len, len) != 0)
						memmove(b + kept++ * len, b + i * len, len);
				got = layout_records_unique(a, n * len, len, &dups);
				cr_assert_eq(got, (long)kept, "%zu-byte records, n %zu, shape %d: kept "
					     "%ld, qsort %zu", len, n, shape, got, kept);
				cr_assert_eq(dups, n - kept, "%zu-byte, n %zu, shape %d: dups", len, n,
					     shape);
				cr_assert_eq(memcmp(a, b, kept * len), 0, "%zu-byte records, n %zu, "
					     "shape %d: order differs from qsort's", len, n, shape);
				cr_assert(layout_records_ascending(a, kept, len), "ascending after");
				cr_assert(kept < 3 || !layout_records_ascending(a + len, 2, len) ||
					  ref_cmp(a + len, a + 2 * len, &len) < 0);
				if (kept > 1) {        /* a pair out of order is not ascending */
					rec_swap_test(a, len);
					cr_assert(!layout_records_ascending(a, 2, len));
				}
				free(a);
				free(b);
			}
}
