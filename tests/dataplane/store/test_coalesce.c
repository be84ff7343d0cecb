/*
 * The store's write coalescer (dataplane/store/coalesce.c), without Redis:
 * the RESP it formats is parsed back and checked command by command.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "layout.h"
#include "lists.h"
#include "pseudonym.h"
#include "vault.h"

#define TS0 1795132800000ULL    /* midnight UTC, a day into a Unix week */

struct cmd {
	unsigned argc;
	const char *argv[64];
	size_t argl[64];
};

/* Parse one RESP array of bulk strings at p; returns its length in bytes. */
static size_t
parse_cmd(const char *p, size_t len, struct cmd *c)
{
	const char *s = p, *end = p + len;
	char *e;

	cr_assert_eq(*s, '*');
	c->argc = (unsigned)strtoul(s + 1, &e, 10);
	cr_assert(e[0] == '\r' && e[1] == '\n');
	s = e + 2;
	cr_assert_leq(c->argc, 64);
	for (unsigned i = 0; i < c->argc; i++) {
		cr_assert_eq(*s, '$');
		c->argl[i] = strtoul(s + 1, &e, 10);
		cr_assert(e[0] == '\r' && e[1] == '\n');
		c->argv[i] = e + 2;
		s = e + 2 + c->argl[i];
		cr_assert(s + 2 <= end && s[0] == '\r' && s[1] == '\n', "bulk %u ends in CRLF", i);
		s += 2;
	}
	return (size_t)(s - p);
}

/* Split out into commands, checking cmd_len[] against the parse. */
static unsigned
parse_all(const struct resp_out *out, struct cmd *cmds, unsigned max)
{
	size_t off = 0;

	cr_assert_leq(out->ncmds, max);
	for (uint32_t i = 0; i < out->ncmds; i++) {
		size_t n = parse_cmd(out->buf + off, out->len - off, &cmds[i]);

		cr_assert_eq(n, out->cmd_len[i], "command %u: parsed %zu bytes, cmd_len %u", i, n,
			     out->cmd_len[i]);
		off += n;
	}
	cr_assert_eq(off, out->len, "the commands fill the buffer exactly");
	return out->ncmds;
}

static bool
is(const struct cmd *c, unsigned i, const char *s)
{
	return c->argl[i] == strlen(s) && memcmp(c->argv[i], s, c->argl[i]) == 0;
}

/* Argument i is the key of kl bytes (a subject key is binary: layout.h). */
static bool
is_key(const struct cmd *c, unsigned i, const char *key, size_t kl)
{
	return c->argl[i] == kl && memcmp(c->argv[i], key, kl) == 0;
}

struct ev {
	struct dp_store_event se;
	struct scan_event ev;
};

static void
mk(struct ev *e, unsigned subj, uint32_t site, uint64_t ts, bool vault)
{
	memset(e, 0, sizeof(*e));
	memset(e->se.pid, 0x5a, PID_LEN);
	memcpy(e->se.pid, &subj, sizeof(subj));
	e->ev.ts_ms = ts;
	e->ev.site_id = site;
	e->ev.scheme = 1;
	e->ev.dir = 1;
	e->ev.subject_len = 12;
	snprintf(e->ev.subject, sizeof(e->ev.subject), "%012u", subj);
	e->se.ev = &e->ev;
	e->se.write_vault = vault;
}

static void
add(struct coalesce *co, struct ev *e, unsigned n)
{
	struct dp_store_event se[WIRE_MAX_EVENTS];

	for (unsigned i = 0; i < n; i++) {
		se[i] = e[i].se;
		se[i].ev = &e[i].ev;
	}
	cr_assert_eq(coalesce_add(co, se, n), 0);
}

static const uint8_t vkey[32] = { 1 };

Test(coalesce, groups_members_by_key_across_batches)
{
	struct coalesce *co = coalesce_create(64, 0, 21, vkey);
	struct resp_out out = { 0 }, rep = { 0 };
	struct cmd c[64];
	struct ev a[2], b[2];
	char key[LAYOUT_KEY_MAX];
	size_t kl;
	unsigned n;

	cr_assert_not_null(co);
	/* Two batches; subjects 1 and 2 at site 7 in the same hour, subject 1
	 * twice in the same week. */
	mk(&a[0], 1, 7, TS0 + 1000, true);
	mk(&a[1], 2, 7, TS0 + 2000, true);
	mk(&b[0], 1, 7, TS0 + 3000, false);
	mk(&b[1], 1, 9, TS0 + 4 * LAYOUT_HOUR_MS, false);
	add(co, a, 2);
	add(co, b, 2);
	cr_assert_eq(coalesce_events(co), 4);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cr_assert_eq(coalesce_events(co), 0, "a flush empties the generation");
	cr_assert_eq(rep.ncmds, 0, "no memo, no repair");
	n = parse_all(&out, c, 64);
	/* keys in first-seen order: s:1, p:7:h, s:2, p:9:h+4 -> 4 x (APPEND, EXPIREAT);
	 * the vault units ride the s: APPENDs, no command of their own */
	cr_assert_eq(n, 8, "got %u commands", n);
	kl = layout_subject_key(key, a[0].se.pid, layout_week(TS0));
	cr_assert(is(&c[0], 0, "APPEND") && is_key(&c[0], 1, key, kl));
	cr_assert_eq(c[0].argc, 3);
	cr_assert_eq(c[0].argl[2], 3 * LAYOUT_SUBJECT_RECORD_LEN + 32,
		     "subject 1's three scans and its vault unit in one APPEND");
	{
		uint8_t rec[LAYOUT_SUBJECT_RECORD_LEN], val[128], sealed[LAYOUT_VAULT_MAX], scheme;
		uint8_t unit[LAYOUT_VAULT_UNIT_MAX];
		const struct ev *order[3] = { &a[0], &b[0], &b[1] };
		char subj[WIRE_SUBJECT_MAX_NUL];
		size_t sl = 0, at[3] = { 0, 8 + 32, 16 + 32 };

		for (unsigned i = 0; i < 3; i++) {
			layout_subject_member(rec, order[i]->ev.site_id, order[i]->ev.ts_ms, 1);
			cr_assert(memcmp(c[0].argv[2] + at[i], rec, sizeof(rec)) == 0,
				  "record %u in submit order", i);
		}
		sl = vault_seal(sealed, vkey, a[0].se.pid, 1, a[0].ev.subject, 12);
		cr_assert_eq(layout_vault_unit(unit, sealed, sl), 32);
		cr_assert(memcmp(c[0].argv[2] + 8, unit, 32) == 0,
			  "the unit whole, right after the record of the event with the hint");
		memcpy(val, c[0].argv[2], c[0].argl[2]);
		cr_assert_eq(layout_subject_split(val, c[0].argl[2], sealed, &sl),
			     3 * LAYOUT_SUBJECT_RECORD_LEN);
		cr_assert_eq(vault_open(sealed, sl, vkey, a[0].se.pid, &scheme, subj), 12);
		cr_assert_str_eq(subj, a[0].ev.subject);
		cr_assert_eq(coalesce_cmd_events(out.buf, out.cmd_len[0]), 3, "the unit is no event");
	}
	cr_assert(is(&c[1], 0, "EXPIREAT") && is_key(&c[1], 1, key, kl),
		  "EXPIREAT right after its APPEND");
	layout_site_key(key, 7, layout_block(TS0));
	cr_assert(is(&c[2], 0, "APPEND") && is(&c[2], 1, key));
	cr_assert_eq(c[2].argl[2], 3 * LAYOUT_SITE_RECORD_LEN, "site 7's three scans in one APPEND");
	{
		char ts[24];

		snprintf(ts, sizeof(ts), "%llu",
			 (unsigned long long)layout_block_expire_at(layout_block(TS0), 21));
		cr_assert(is(&c[3], 2, ts), "site key expiry from layout.h");
	}
	cr_assert_eq(c[4].argl[2], LAYOUT_SUBJECT_RECORD_LEN + 32, "subject 2: a record, a unit");
	cr_assert_eq(c[6].argl[2], LAYOUT_SITE_RECORD_LEN, "site 9: one record");
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}

/* The exact bytes of one key's APPEND: one bulk holding the raw records. */
static size_t
want_append(char *w, const char *key, size_t kl, const uint8_t *recs, size_t len, uint64_t exp)
{
	int n = sprintf(w, "*3\r\n$6\r\nAPPEND\r\n$%zu\r\n", kl);

	memcpy(w + n, key, kl);     /* binary: a subject key's pid bytes may hold a NUL */
	n += (int)kl;
	n += sprintf(w + n, "\r\n$%zu\r\n", len);
	memcpy(w + n, recs, len);
	n += (int)len;
	n += sprintf(w + n, "\r\n*3\r\n$8\r\nEXPIREAT\r\n$%zu\r\n", kl);
	memcpy(w + n, key, kl);
	n += (int)kl;
	n += sprintf(w + n, "\r\n$%d\r\n%llu\r\n",
		     snprintf(NULL, 0, "%llu", (unsigned long long)exp), (unsigned long long)exp);
	return (size_t)n;
}

Test(coalesce, append_exact_resp)
{
	struct coalesce *co = coalesce_create(64, 0, 21, NULL);
	struct resp_out out = { 0 }, rep = { 0 };
	struct ev e[2];
	uint8_t recs[2 * LAYOUT_SITE_RECORD_LEN];
	char key[LAYOUT_KEY_MAX], want[1024];
	size_t wl, kl;

	cr_assert_not_null(co);
	/* subject 1 twice at site 7: the records are the raw members, no CRLF
	 * or score between them */
	mk(&e[0], 1, 7, TS0 + 1000, false);
	mk(&e[1], 1, 7, TS0 + 2000, false);
	add(co, e, 2);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cr_assert_eq(out.ncmds, 4);
	kl = layout_subject_key(key, e[0].se.pid, layout_week(TS0));
	layout_subject_member(recs, 7, TS0 + 1000, 1);
	layout_subject_member(recs + LAYOUT_SUBJECT_RECORD_LEN, 7, TS0 + 2000, 1);
	wl = want_append(want, key, kl, recs, 2 * LAYOUT_SUBJECT_RECORD_LEN,
			 layout_week_expire_at(layout_week(TS0), 21));
	kl = layout_site_key(key, 7, layout_block(TS0));
	layout_site_member(recs, e[0].se.pid, TS0 + 1000, 1);
	layout_site_member(recs + LAYOUT_SITE_RECORD_LEN, e[1].se.pid, TS0 + 2000, 1);
	wl += want_append(want + wl, key, kl, recs, 2 * LAYOUT_SITE_RECORD_LEN,
			  layout_block_expire_at(layout_block(TS0), 21));
	cr_assert_eq(out.len, wl, "%zu bytes, want %zu", out.len, wl);
	cr_assert(memcmp(out.buf, want, wl) == 0, "byte for byte");
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}

/* A late scan's unit goes into its own (older) week key and lives with it;
 * without a vault key there is no unit at all. */
Test(coalesce, vault_unit_goes_into_the_scans_week_key)
{
	struct coalesce *co = coalesce_create(64, 0, 21, vkey);
	struct coalesce *nov = coalesce_create(64, 0, 21, NULL);
	struct resp_out out = { 0 }, rep = { 0 };
	struct cmd c[64];
	struct ev e[2];
	char key[LAYOUT_KEY_MAX], ts[24];
	size_t kl;
	unsigned n;

	cr_assert(co != NULL && nov != NULL);
	mk(&e[0], 1, 7, TS0 + 1000, true);
	mk(&e[1], 2, 7, TS0 - 2 * LAYOUT_WEEK_MS, true);     /* two weeks late */
	add(co, e, 2);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	n = parse_all(&out, c, 64);
	cr_assert_eq(n, 8, "4 keys, no SET: got %u", n);
	kl = layout_subject_key(key, e[1].se.pid, layout_week(TS0) - 2);
	cr_assert(is(&c[4], 0, "APPEND") && is_key(&c[4], 1, key, kl));
	cr_assert_eq(c[4].argl[2], LAYOUT_SUBJECT_RECORD_LEN + 32, "its record and its unit");
	snprintf(ts, sizeof(ts), "%llu",
		 (unsigned long long)layout_week_expire_at(layout_week(TS0) - 2, 21));
	cr_assert(is(&c[5], 0, "EXPIREAT") && is(&c[5], 2, ts),
		  "the key, and so its unit, keeps its own week's expiry");
	out.len = out.ncmds = 0;
	add(nov, e, 2);
	cr_assert_eq(coalesce_flush(nov, &out, &rep), 0);
	n = parse_all(&out, c, 64);
	cr_assert_eq(c[0].argl[2], LAYOUT_SUBJECT_RECORD_LEN, "no vault key: records only");
	coalesce_destroy(co);
	coalesce_destroy(nov);
	resp_out_free(&out);
	resp_out_free(&rep);
}

/* redis_resent counts events: the records of a subject timeline's APPEND. */
Test(coalesce, cmd_events)
{
	struct coalesce *co = coalesce_create(64, 0, 21, vkey);
	struct resp_out out = { 0 }, rep = { 0 };
	struct ev e[3];
	size_t off = 0;
	unsigned sum = 0;
	static const char *const bad[] = {
		"*3\r\n$6\r\nAPPEND\r\n$4\r\ns:{a\r\n",           /* truncated */
		"*3\r\n$6\r\nAPPEND\r\n$5\r\np:{a}\r\n$9\r\n123456789\r\n",
		"*3\r\n$8\r\nEXPIREAT\r\n$5\r\ns:{a}\r\n$1\r\n1\r\n",
		"*3\r\n$6\r\nAPPEND\r\n$5\r\ns:{a}\r\n$x\r\n",
		"",
	};

	cr_assert_not_null(co);
	mk(&e[0], 1, 7, TS0 + 1000, true);
	mk(&e[1], 1, 8, TS0 + 2000, false);
	mk(&e[2], 2, 7, TS0 + 3000, false);
	e[2].se.reasons = 1;
	add(co, e, 3);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	for (uint32_t i = 0; i < out.ncmds; off += out.cmd_len[i], i++)
		sum += coalesce_cmd_events(out.buf + off, out.cmd_len[i]);
	cr_assert_eq(sum, 3, "one event per timeline record, the rest 0: got %u", sum);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(coalesce_cmd_events(bad[i], strlen(bad[i])), 0, "row %zu", i);
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}

Test(coalesce, room_is_bounded)
{
	struct coalesce *co = coalesce_create(10, 0, 21, NULL);
	struct ev e[8];
	struct dp_store_event se[8];

	for (unsigned i = 0; i < 8; i++) {
		mk(&e[i], i, 1, TS0 + i, false);
		se[i] = e[i].se;
		se[i].ev = &e[i].ev;
	}
	cr_assert_eq(coalesce_add(co, se, 8), 0);
	cr_assert(!coalesce_room(co, 3));
	cr_assert_eq(coalesce_add(co, se, 3), -ENOSPC, "over max_events");
	cr_assert_eq(coalesce_events(co), 8, "nothing added on refusal");
	coalesce_destroy(co);
}

/* With the memo, a key's EXPIREAT goes out once; later ones go to repair
 * until coalesce_forget(). */
Test(coalesce, expiry_memo_and_repair)
{
	struct coalesce *co = coalesce_create(64, 1024, 21, NULL);
	struct resp_out out = { 0 }, rep = { 0 };
	struct cmd c[64];
	struct ev e[2];
	unsigned n;

	mk(&e[0], 1, 7, TS0 + 1000, false);
	mk(&e[1], 2, 7, TS0 + 2000, false);
	add(co, e, 2);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cr_assert_eq(parse_all(&out, c, 64), 6, "3 keys: APPEND + EXPIREAT each");
	cr_assert_eq(rep.ncmds, 0);

	out.len = out.ncmds = 0;
	add(co, e, 2);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	n = parse_all(&out, c, 64);
	cr_assert_eq(n, 3, "the same keys again: APPENDs only (%u commands)", n);
	for (unsigned i = 0; i < n; i++)
		cr_assert(is(&c[i], 0, "APPEND"));
	n = parse_all(&rep, c, 64);
	cr_assert_eq(n, 3, "their EXPIREATs wait in the repair buffer");
	for (unsigned i = 0; i < n; i++)
		cr_assert(is(&c[i], 0, "EXPIREAT"));

	coalesce_forget(co);
	out.len = out.ncmds = 0;
	rep.len = rep.ncmds = 0;
	add(co, e, 1);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cr_assert_eq(parse_all(&out, c, 64), 4, "after forget: EXPIREATs go out again");
	cr_assert_eq(rep.ncmds, 0);
	{
		struct resp_out all = { 0 };

		cr_assert_eq(resp_out_append(&all, &out), 0);
		cr_assert_eq(resp_out_append(&all, &out), 0);
		cr_assert_eq(parse_all(&all, c, 64), 8, "append concatenates commands");
		resp_out_free(&all);
	}
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}

/* DESIGN §9: an event with a reason mask appends its alert, after the
 * batch's other writes of the generation, with the fields chotctl reads. */
Test(coalesce, alerts_xadd)
{
	struct coalesce *co = coalesce_create(64, 0, 21, vkey);
	struct resp_out out = { 0 }, rep = { 0 };
	struct cmd c[64];
	struct ev e[3];
	char pid[PID_HEX_LEN + 1];
	static const char *const want[] = {
		"XADD", "chot:{alerts}", "MAXLEN", "~", "5000", "*", "ts_ms", NULL, "site", "7",
		"pid", NULL, "scheme", "cccd", "reasons", "watch_f0,zone_red,decl_exposed",
		"device", "5001", "origin_commune", "16005",
	};
	unsigned n;

	cr_assert_not_null(co);
	coalesce_set_alerts_max(co, 5000);
	mk(&e[0], 1, 7, TS0 + 1000, true);
	mk(&e[1], 2, 7, TS0 + 2000, false);   /* clear: no alert */
	mk(&e[2], 3, 7, TS0 + 3000, false);
	e[0].se.reasons = 1u << CHK_WATCH_F0 | 1u << CHK_ZONE_RED | 1u << CHK_DECL_EXPOSED;
	e[0].se.device_id = 5001;
	e[0].ev.origin_commune = 16005;
	e[2].se.reasons = 1u << CHK_GREENLANE_UNKNOWN;
	e[2].se.device_id = 5002;
	add(co, e, 3);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	n = parse_all(&out, c, 64);
	/* s:1 s:2 s:3 p:7 -> 8, two XADDs last */
	cr_assert_eq(n, 10, "got %u commands", n);
	cr_assert_eq(c[8].argc, 20);
	chot_pid_hex(pid, e[0].se.pid);
	for (unsigned i = 0; i < 20; i++) {
		char ts[24];

		snprintf(ts, sizeof(ts), "%llu", TS0 + 1000);
		cr_expect(is(&c[8], i, want[i] ? want[i] : i == 7 ? ts : pid), "argument %u: %.*s", i,
			  (int)c[8].argl[i], c[8].argv[i]);
	}
	cr_assert(is(&c[9], 0, "XADD") && is(&c[9], 15, "greenlane_unknown") &&
		  is(&c[9], 17, "5002"));
	/* and the next generation starts without them */
	out.len = out.ncmds = 0;
	e[0].se.reasons = 0;
	e[2].se.reasons = 0;
	add(co, e, 3);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cr_assert_eq(parse_all(&out, c, 64), 8);
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}

/*
 * With CHOT.APPEND (coalesce_set_chot_append): one command a key, byte for
 * byte CHOT.APPEND key <expire_at> <records>; no EXPIREAT, nothing for the
 * memo, nothing to repair, however often the same keys come back; vault
 * SETs and alerts after them as before; resends counted the same.
 */
Test(coalesce, chot_append_exact_resp)
{
	struct coalesce *co = coalesce_create(64, 1024, 21, vkey);
	struct resp_out out = { 0 }, rep = { 0 };
	struct cmd c[64];
	struct ev e[3];
	uint8_t recs[2 * LAYOUT_SUBJECT_RECORD_LEN + LAYOUT_VAULT_UNIT_MAX];
	uint8_t sealed[VAULT_MAX_SEALED], unit[LAYOUT_VAULT_UNIT_MAX];
	char key[LAYOUT_KEY_MAX], want[1024], ts[24];
	size_t off = 0, wl, sl, ul, rl, kl;
	unsigned n, sum = 0;
	int hl;

	cr_assert_not_null(co);
	coalesce_set_chot_append(co, true);
	mk(&e[0], 1, 7, TS0 + 1000, true);
	mk(&e[1], 1, 7, TS0 + 2000, false);
	mk(&e[2], 2, 7, TS0 + 3000, false);
	e[2].se.reasons = 1;
	for (unsigned round = 0; round < 2; round++) {
		out.len = out.ncmds = 0;
		add(co, e, 3);
		cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
		cr_assert_eq(rep.ncmds, 0, "round %u: nothing for the repair buffer", round);
		n = parse_all(&out, c, 64);
		/* s:1 (its vault unit inside), p:7, s:2, then the alert */
		cr_assert_eq(n, 4, "round %u: got %u commands", round, n);
		for (unsigned i = 0; i < 3; i++)
			cr_assert(is(&c[i], 0, "CHOT.APPEND") && c[i].argc == 4,
				  "round %u: command %u is a CHOT.APPEND", round, i);
		cr_assert(is(&c[3], 0, "XADD"));
	}
	/* Byte for byte, the first key's command: a record, the vault unit of
	 * the event that carried the hint right after it, the next record. */
	kl = layout_subject_key(key, e[0].se.pid, layout_week(TS0));
	sl = vault_seal(sealed, vkey, e[0].se.pid, 1, e[0].ev.subject, 12);
	ul = layout_vault_unit(unit, sealed, sl);
	layout_subject_member(recs, 7, TS0 + 1000, 1);
	memcpy(recs + LAYOUT_SUBJECT_RECORD_LEN, unit, ul);
	layout_subject_member(recs + LAYOUT_SUBJECT_RECORD_LEN + ul, 7, TS0 + 2000, 1);
	rl = 2 * LAYOUT_SUBJECT_RECORD_LEN + ul;
	snprintf(ts, sizeof(ts), "%llu",
		 (unsigned long long)layout_week_expire_at(layout_week(TS0), 21));
	hl = sprintf(want, "*4\r\n$11\r\nCHOT.APPEND\r\n$%zu\r\n", kl);
	memcpy(want + hl, key, kl);   /* binary */
	hl += (int)kl;
	hl += sprintf(want + hl, "\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(ts), ts, rl);
	memcpy(want + hl, recs, rl);
	wl = (size_t)hl + rl;
	memcpy(want + wl, "\r\n", 2);
	wl += 2;
	cr_assert_eq(out.cmd_len[0], wl, "%u bytes, want %zu", out.cmd_len[0], wl);
	cr_assert(memcmp(out.buf, want, wl) == 0, "byte for byte");
	layout_site_key(key, 7, layout_block(TS0));
	snprintf(ts, sizeof(ts), "%llu",
		 (unsigned long long)layout_block_expire_at(layout_block(TS0), 21));
	cr_assert(is(&c[1], 1, key) && is(&c[1], 2, ts), "the site key with its block's expiry");
	cr_assert_eq(c[1].argl[3], 3 * LAYOUT_SITE_RECORD_LEN, "site 7's three scans");
	for (uint32_t i = 0; i < out.ncmds; off += out.cmd_len[i], i++)
		sum += coalesce_cmd_events(out.buf + off, out.cmd_len[i]);
	cr_assert_eq(sum, 3, "one event per timeline record: got %u", sum);
	{
		static const char *const bad[] = {
			"*4\r\n$11\r\nCHOT.APPEND\r\n$5\r\ns:{a}\r\n$1\r\n1\r\n",   /* no records */
			"*4\r\n$11\r\nCHOT.APPEND\r\n$5\r\np:{a}\r\n$1\r\n1\r\n$9\r\n123456789\r\n",
			"*4\r\n$11\r\nCHOT.APPEND\r\n$5\r\ns:{a}\r\n$9\r\n1\r\n",    /* truncated */
			"*3\r\n$11\r\nCHOT.APPEND\r\n$5\r\ns:{a}\r\n$8\r\n12345678\r\n",
		};
		const char *good = "*4\r\n$11\r\nCHOT.APPEND\r\n$5\r\ns:{a}\r\n$1\r\n1\r\n"
				   "$16\r\n1234567812345678\r\n";

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			cr_assert_eq(coalesce_cmd_events(bad[i], strlen(bad[i])), 0, "row %zu", i);
		cr_assert_eq(coalesce_cmd_events(good, strlen(good)), 2);
	}
	coalesce_destroy(co);
	resp_out_free(&out);
	resp_out_free(&rep);
}
