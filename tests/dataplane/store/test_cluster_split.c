/*
 * The cluster store's bookkeeping without a server (dataplane/store/
 * cluster_ledger.c): a coalesced generation split by slot into per-shard
 * chunks, and batches confirmed only when every shard they touched has
 * confirmed -- in submit order, whatever order the shards answer in.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_ledger.h"
#include "coalesce.h"
#include "layout.h"
#include "slot.h"

#define TS0 1795132800000ULL
#define NSH 3

/* --- the ledger --- */

static uint64_t done_cookies[64];
static int done_status[64];
static unsigned ndone;

static void
on_done(void *ctx, uint64_t cookie, int status)
{
	(void)ctx;
	cr_assert_lt(ndone, 64);
	done_cookies[ndone] = cookie;
	done_status[ndone++] = status;
}

static void
ledger_setup(void)
{
	ndone = 0;
}

Test(cluster_ledger, batch_waits_for_every_shard_and_for_older_batches, .init = ledger_setup)
{
	struct cl_ledger l;
	uint32_t g0, g1;

	cr_assert_eq(cl_ledger_init(&l, 16), 0);
	/* Batch 10 (gen 0) touches shards 0, 1, 2; batches 11 and 12 (gen 1)
	 * touch shard 1 only. */
	cr_assert_eq(cl_ledger_add(&l, 10, 8), 0);
	g0 = cl_ledger_close(&l);
	for (int s = 0; s < NSH; s++)
		cl_ledger_hold(&l, g0);
	cl_ledger_release(&l, g0, on_done, NULL);     /* the closing hold */
	cr_assert_eq(cl_ledger_add(&l, 11, 2), 0);
	cr_assert_eq(cl_ledger_add(&l, 12, 3), 0);
	g1 = cl_ledger_close(&l);
	cl_ledger_hold(&l, g1);
	cl_ledger_release(&l, g1, on_done, NULL);
	cr_assert_eq(l.events_pending, 13);

	/* Shard 1 answers gen 1 first: nothing may complete (gen 0 is older). */
	cr_assert_eq(cl_ledger_release(&l, g1, on_done, NULL), 0);
	cr_assert_eq(ndone, 0, "a younger batch completed before an older one");
	/* Shards 0 and 1 confirm gen 0: still waiting for shard 2. */
	cl_ledger_release(&l, g0, on_done, NULL);
	cl_ledger_release(&l, g0, on_done, NULL);
	cr_assert_eq(ndone, 0, "batch 10 completed with shard 2 unconfirmed");
	/* Shard 2: all three batches complete, in submit order. */
	cr_assert_eq(cl_ledger_release(&l, g0, on_done, NULL), 3);
	cr_assert_eq(ndone, 3);
	cr_assert(done_cookies[0] == 10 && done_cookies[1] == 11 && done_cookies[2] == 12,
		  "completion order %lu %lu %lu", (unsigned long)done_cookies[0],
		  (unsigned long)done_cookies[1], (unsigned long)done_cookies[2]);
	cr_assert_eq(done_status[0], 0);
	cr_assert_eq(l.events_pending, 0);
	cr_assert_eq(l.batches_pending, 0);
	/* A stale release (an unknown generation) does nothing. */
	cr_assert_eq(cl_ledger_release(&l, g0, on_done, NULL), 0);
	cl_ledger_free(&l);
}

Test(cluster_ledger, redirect_adds_a_hold, .init = ledger_setup)
{
	struct cl_ledger l;
	uint32_t g;

	cr_assert_eq(cl_ledger_init(&l, 16), 0);
	cl_ledger_add(&l, 7, 1);
	g = cl_ledger_close(&l);
	cl_ledger_hold(&l, g);                     /* the chunk on shard 0 */
	cl_ledger_release(&l, g, on_done, NULL);
	/* A MOVED: the command goes to a new chunk (hold) before the old
	 * chunk's confirmation (release). */
	cl_ledger_hold(&l, g);
	cl_ledger_release(&l, g, on_done, NULL);
	cr_assert_eq(ndone, 0, "completed while the redirected command is unconfirmed");
	cl_ledger_release(&l, g, on_done, NULL);
	cr_assert_eq(ndone, 1);
	cl_ledger_free(&l);
}

Test(cluster_ledger, abandon_completes_in_order_with_status, .init = ledger_setup)
{
	struct cl_ledger l;

	cr_assert_eq(cl_ledger_init(&l, 16), 0);
	cl_ledger_add(&l, 1, 1);
	cl_ledger_close(&l);
	cl_ledger_add(&l, 2, 1);         /* still open */
	cl_ledger_abandon(&l, -125, on_done, NULL);
	cr_assert_eq(ndone, 2);
	cr_assert(done_cookies[0] == 1 && done_cookies[1] == 2);
	cr_assert(done_status[0] == -125 && done_status[1] == -125);
	cr_assert_eq(l.events_pending, 0);
	cl_ledger_free(&l);
}

Test(cluster_ledger, batch_ring_is_bounded)
{
	struct cl_ledger l;
	unsigned ok = 0;

	cr_assert_eq(cl_ledger_init(&l, 16), 0);
	for (unsigned i = 0; i < 40; i++)
		ok += cl_ledger_add(&l, i, 1) == 0;
	cr_assert_eq(ok, 16, "%u batches accepted in a ring of 16", ok);
	cl_ledger_free(&l);
}

/* --- the split --- */

struct split_ctx {
	struct cl_chunk ch[NSH];
	unsigned nokey;
};

/* A fake 3-master map: the default Redis split of 16384 slots. */
static int
shard_of(uint16_t slot)
{
	return slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2;
}

static void
put(void *ctx, const char *cmd, size_t len, uint16_t slot)
{
	struct split_ctx *x = ctx;

	if (slot == CL_NO_SLOT) {
		x->nokey++;
		return;
	}
	cr_assert_eq(cl_chunk_add(&x->ch[shard_of(slot)], cmd, len, slot), 0);
}

Test(cluster_split, every_command_to_the_owner_of_its_key)
{
	static const uint8_t vkey[32] = { 1 };
	struct coalesce *co = coalesce_create(4096, 0, 21, vkey);
	struct resp_out out = { 0 }, rep = { 0 };
	struct split_ctx x;
	struct scan_event ev[300];
	struct dp_store_event se[300];
	unsigned total = 0, nappend = 0, per[NSH] = { 0 };

	memset(&x, 0, sizeof(x));
	cr_assert_not_null(co);
	for (unsigned i = 0; i < 300; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		memset(&se[i], 0, sizeof(se[i]));
		for (unsigned b = 0; b < PID_LEN; b++)
			se[i].pid[b] = (uint8_t)(i * 31 + b * 7);
		ev[i].ts_ms = TS0 + i * 60000ULL;
		ev[i].site_id = 1 + i % 17;
		ev[i].scheme = 1;
		ev[i].dir = 1;
		ev[i].subject_len = 12;
		snprintf(ev[i].subject, sizeof(ev[i].subject), "%012u", i);
		se[i].ev = &ev[i];
		se[i].write_vault = i % 3 == 0;
	}
	for (unsigned i = 0; i < 300; i += 10)
		cr_assert_eq(coalesce_add(co, se + i, 10), 0);
	cr_assert_eq(coalesce_flush(co, &out, &rep), 0);
	cl_split(&out, put, &x);
	cr_assert_eq(x.nokey, 0, "every chot command has a key");
	for (int s = 0; s < NSH; s++) {
		size_t off = 0;

		per[s] = x.ch[s].out.ncmds;
		total += per[s];
		cr_assert_gt(per[s], 0, "shard %d got no command: keys not spread", s);
		for (uint32_t i = 0; i < x.ch[s].out.ncmds; off += x.ch[s].out.cmd_len[i], i++) {
			const char *key;
			size_t kl;

			cr_assert_eq(cl_resp_key(x.ch[s].out.buf + off, x.ch[s].out.cmd_len[i], &key,
						 &kl), 0);
			cr_assert_eq(shard_of(slot_of_key(key, kl)), s, "command %u of shard %d is "
				     "for %.*s, another shard's key", i, s, (int)kl, key);
			cr_assert_eq(x.ch[s].slot[i], slot_of_key(key, kl));
			/* An APPEND is followed by its key's EXPIREAT, in the same chunk. */
			if (memcmp(x.ch[s].out.buf + off, "*3\r\n$6\r\nAPPEND\r\n", 16) == 0) {
				nappend++;
				const char *k2;
				size_t kl2, off2 = off + x.ch[s].out.cmd_len[i];

				cr_assert_lt(i + 1, x.ch[s].out.ncmds, "an APPEND last in its chunk");
				cr_assert_not_null(memmem(x.ch[s].out.buf + off2, 24, "EXPIREAT", 8),
						   "command %u of shard %d: APPEND not followed by "
						   "EXPIREAT", i, s);
				cl_resp_key(x.ch[s].out.buf + off2, x.ch[s].out.cmd_len[i + 1], &k2,
					    &kl2);
				cr_assert(kl2 == kl && memcmp(k2, key, kl) == 0);
			}
		}
	}
	cr_assert_eq(total, out.ncmds, "split %u of %u commands", total, out.ncmds);
	cr_assert_gt(nappend, 0, "the APPENDs were checked");
	for (int s = 0; s < NSH; s++)
		cl_chunk_free(&x.ch[s]);
	resp_out_free(&out);
	resp_out_free(&rep);
	coalesce_destroy(co);
}

Test(cluster_split, resp_key_table)
{
	static const struct {
		const char *cmd;
		const char *key;      /* NULL: no key */
	} t[] = {
		{ "*3\r\n$8\r\nEXPIREAT\r\n$5\r\ns:{a}\r\n$1\r\n1\r\n", "s:{a}" },
		{ "*12\r\n$4\r\nZADD\r\n$3\r\nk{}\r\n", "k{}" },
		{ "*3\r\n$6\r\nAPPEND\r\n$7\r\np:{7}:b\r\n$4\r\n\r\n\r\n\r\n", "p:{7}:b" },
		{ "*1\r\n$6\r\nASKING\r\n", NULL },
		{ "*2\r\n$3\r\nGET\r\n$9\r\nshort\r\n", NULL },       /* length past the end */
		{ "+OK\r\n", NULL },
		{ "*2\r\n$3\r\nGET\r\n", NULL },
		{ "*x\r\n$3\r\nGET\r\n$1\r\na\r\n", NULL },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *key = NULL;
		size_t kl = 0;
		int rc = cl_resp_key(t[i].cmd, strlen(t[i].cmd), &key, &kl);

		if (t[i].key == NULL) {
			cr_assert_neq(rc, 0, "row %zu: a key found in a command without one", i);
		} else {
			cr_assert_eq(rc, 0, "row %zu: no key found", i);
			cr_assert(kl == strlen(t[i].key) && memcmp(key, t[i].key, kl) == 0,
				  "row %zu: key %.*s, expected %s", i, (int)kl, key, t[i].key);
		}
	}
}
