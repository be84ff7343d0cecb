/*
 * The simulated scanner's delivery rules (tools/flood/sim.h), without a
 * network: batching, retransmission backoff, cumulative ACKs, forged and
 * other-epoch ACKs, and the re-pack of a new epoch.  ACKs are built with
 * the real codec (wire_ack_build) and the device's real ACK key.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "sim.h"
#include "verdict.h"
#include "validate.h"

static const uint8_t master[WIRE_KEY_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
static struct sim_params P = { .batch_events = 4, .window = 8, .rto_us = 100000,
			       .rto_max_us = 400000, .stall_us = 5000000, .key_id = 1 };
static struct sim_event evbuf[256];
static struct sim_events E;
static struct sim_dev D;
static struct sim_stats S;
static struct fl_rng R;

static void
setup(void)
{
	cr_assert_eq(wire_init(), 0);
	memset(evbuf, 0, sizeof(evbuf));
	memset(&S, 0, sizeof(S));
	E.ev = evbuf;
	E.n = 0;
	strcpy(E.prefix, "T");
	fl_rng_seed(&R, 7);
	cr_assert_eq(sim_dev_init(&D, 42, 1000, 256, &P, master), 0);
}

static void
teardown(void)
{
	sim_dev_free(&D);
}

TestSuite(sim_scanner, .init = setup, .fini = teardown);

static void
scans(unsigned n, uint64_t now)
{
	for (unsigned i = 0; i < n; i++) {
		evbuf[E.n].ts_ms = 1700000000000ULL + E.n;
		evbuf[E.n].site_id = 9;
		evbuf[E.n].dir = SIM_DIR_IN;
		sim_dev_enqueue(&D, E.n++, now);
	}
}

static int
ack(uint32_t epoch, uint64_t acked, uint64_t now)
{
	struct wire_ack a = { .key_id = 1, .device_id = 42, .boot_epoch = epoch,
			      .acked_seq = acked };
	uint8_t buf[WIRE_ACK_LEN], k[WIRE_KEY_LEN];

	wire_ack_key(k, master, 42);
	wire_ack_build(buf, &a, k);
	return sim_dev_on_ack(&D, buf, sizeof(buf), &E, now, &S);
}

/* Open a datagram the device sent, as chotd would. */
static void
open_ok(const struct sim_batch *b, uint32_t epoch, uint64_t seq, unsigned n)
{
	uint8_t pt[WIRE_MAX_BODY], k[WIRE_KEY_LEN];
	struct wire_hdr h;

	cr_assert_eq(wire_hdr_parse(b->dg, b->len, &h), WIRE_OK);
	cr_assert_eq(h.boot_epoch, epoch, "epoch %u, expected %u", h.boot_epoch, epoch);
	cr_assert_eq(h.batch_seq, seq, "seq %lu, expected %lu", (unsigned long)h.batch_seq,
		     (unsigned long)seq);
	cr_assert(h.flags & WIRE_FLAG_ACK, "every batch asks for an ACK");
	wire_device_key(k, master, 42);
	cr_assert_eq(wire_open(pt, b->dg, &h, k), WIRE_OK, "the datagram must authenticate");
	cr_assert_eq(b->n, n);
}

Test(sim_scanner, batches_full_or_after_linger)
{
	struct sim_batch *b;

	scans(3, 0);
	cr_assert_null(sim_dev_next_batch(&D, &P, &E, 1000, 50000, false, &R, &S),
		       "3 of 4 scans, linger not over: wait");
	b = sim_dev_next_batch(&D, &P, &E, 60000, 50000, false, &R, &S);
	cr_assert_not_null(b, "linger over: send what is queued");
	open_ok(b, 1000, 1, 3);
	scans(9, 60000);
	b = sim_dev_next_batch(&D, &P, &E, 60001, 50000, false, &R, &S);
	open_ok(b, 1000, 2, 4);
	b = sim_dev_next_batch(&D, &P, &E, 60001, 50000, false, &R, &S);
	open_ok(b, 1000, 3, 4);
	cr_assert_null(sim_dev_next_batch(&D, &P, &E, 60001, 50000, false, &R, &S));
	b = sim_dev_next_batch(&D, &P, &E, 60001, 50000, true, &R, &S);
	open_ok(b, 1000, 4, 1);
	cr_assert_eq(sim_dev_outstanding(&D), 12);
}

Test(sim_scanner, window_bounds_the_outbox)
{
	unsigned sent = 0;

	scans(100, 0);
	while (sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S) != NULL)
		sent++;
	cr_assert_eq(sent, P.window, "at most window (%u) batches outstanding, sent %u",
		     P.window, sent);
	cr_assert_eq(ack(1000, 2, 1), 8, "ACK of 1..2 retires 8 scans");
	cr_assert_not_null(sim_dev_next_batch(&D, &P, &E, 1, 0, true, &R, &S),
			   "room again after the ACK");
}

Test(sim_scanner, backoff_doubles_with_jitter_and_caps)
{
	struct sim_batch *due[8];
	struct sim_batch *b;
	uint64_t now = 0;
	uint32_t rto[] = { 200000, 400000, 400000 };

	scans(4, 0);
	b = sim_dev_next_batch(&D, &P, &E, 0, 0, false, &R, &S);
	cr_assert(b->next_tx_us >= 75000 && b->next_tx_us <= 125000,
		  "first timeout 100 ms +-25%%: %lu", (unsigned long)b->next_tx_us);
	cr_assert_eq(sim_dev_due(&D, &P, b->next_tx_us - 1, due, 8, &R, &S), 0, "not yet due");
	for (unsigned i = 0; i < 3; i++) {
		now = b->next_tx_us;
		cr_assert_eq(sim_dev_due(&D, &P, now, due, 8, &R, &S), 1);
		cr_assert_eq(due[0], b, "the same batch, byte for byte");
		cr_assert_eq(b->rto_us, rto[i], "timeout %u: %u", i, b->rto_us);
		cr_assert(b->next_tx_us - now >= rto[i] - rto[i] / 4 &&
			  b->next_tx_us - now <= rto[i] + rto[i] / 4, "jitter within 25%%");
	}
	cr_assert_eq(S.retransmissions, 3);
}

Test(sim_scanner, acks_cumulative_forged_and_stale)
{
	uint8_t junk[WIRE_ACK_LEN] = { 0 };

	scans(12, 0);
	while (sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S) != NULL)
		;
	cr_assert_eq(D.ob_n, 3);
	cr_assert_eq(ack(999, 3, 1), 0, "an ACK of another epoch retires nothing");
	cr_assert_eq(S.acks_stale_epoch, 1);
	memcpy(junk, "CHA1", 4);
	cr_assert_eq(sim_dev_on_ack(&D, junk, sizeof(junk), &E, 1, &S), -1, "forged tag");
	cr_assert_eq(D.ob_n, 3, "a forged ACK retires nothing");
	cr_assert_eq(ack(1000, 2, 1), 8, "seq 1..2");
	cr_assert_eq(ack(1000, 2, 2), 0, "the same ACK again: no progress");
	cr_assert_eq(S.acks_no_progress, 1);
	cr_assert_eq(ack(1000, 3, 3), 4, "seq 3");
	cr_assert_eq(D.ob_n, 0);
	for (unsigned i = 0; i < 12; i++)
		cr_assert(evbuf[i].acked, "scan %u acked", i);
}

Test(sim_scanner, new_epoch_repacks_oldest_first)
{
	struct sim_batch *b;
	uint8_t pt[WIRE_MAX_BODY], k[WIRE_KEY_LEN];
	struct wire_arena a;
	Chot__V1__ScanBatch *sb;
	struct wire_hdr h;

	scans(8, 0);
	sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S);     /* scans 0..3, seq 1 */
	sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S);     /* scans 4..7, seq 2 */
	cr_assert_eq(ack(1000, 1, 1), 4);
	scans(2, 1);                                            /* scans 8, 9 queued */
	cr_assert(!sim_dev_stalled(&D, &P, 1 + P.stall_us - 1));
	cr_assert(sim_dev_stalled(&D, &P, 1 + P.stall_us), "no progress for stall_us");
	sim_dev_new_epoch(&D, true, &S);
	cr_assert_eq(D.epoch, 1001);
	cr_assert(D.old_armed, "the old epoch's newest datagram is kept for a replay");
	cr_assert_eq(S.events_repacked, 4);
	cr_assert_eq(sim_dev_outstanding(&D), 6);
	b = sim_dev_next_batch(&D, &P, &E, 2, 0, true, &R, &S);
	open_ok(b, 1001, 1, 4);
	wire_hdr_parse(b->dg, b->len, &h);
	wire_device_key(k, master, 42);
	wire_open(pt, b->dg, &h, k);
	wire_arena_init(&a);
	cr_assert_eq(wire_batch_decode(pt, h.body_len, &a, &sb), WIRE_OK);
	/* Scans 4..7 (unacked, oldest first), before 8 and 9. */
	for (unsigned i = 0; i < 4; i++) {
		char want[WIRE_SUBJECT_MAX_NUL];

		sim_subject(want, &E, 4 + i);
		cr_assert_str_eq(sb->events[i]->subject, want);
		cr_assert_eq(sb->events[i]->ts_ms, evbuf[4 + i].ts_ms, "the scan keeps its time");
	}
	cr_assert_eq(ack(1000, 2, 3), 0, "an ACK of the old epoch no longer counts");
	cr_assert(!evbuf[4].acked);
	cr_assert_eq(ack(1001, 1, 3), 4);
	cr_assert(evbuf[4].acked && evbuf[7].acked && !evbuf[8].acked);
}

Test(sim_scanner, reboot_keeps_last_datagram_even_when_all_acked)
{
	struct sim_batch *b;
	uint8_t last[WIRE_MAX_DGRAM];
	uint16_t len;

	scans(8, 0);
	sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S);
	b = sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S);
	memcpy(last, b->dg, b->len);
	len = b->len;
	cr_assert_eq(ack(1000, 2, 1), 8);
	cr_assert_eq(D.ob_n, 0);
	sim_dev_new_epoch(&D, true, &S);
	cr_assert(D.old_armed, "an all-acked epoch still leaves a datagram to replay");
	cr_assert_eq(D.old_len, len);
	cr_assert_eq(memcmp(D.old_dg, last, len), 0, "the newest datagram of the old epoch");
	sim_dev_new_epoch(&D, true, &S);
	cr_assert(D.old_armed && D.old_len == len, "an epoch that sent nothing keeps the old one");
}

/* A CHV1 verdict for batch (epoch, seq) of device 42, built with the real codec. */
static size_t
verdict(uint8_t *buf, uint32_t epoch, uint64_t seq, unsigned n, const uint16_t *codes,
	bool forge)
{
	struct wire_verdict v = { .key_id = 1, .device_id = 42, .boot_epoch = epoch,
				  .batch_seq = seq, .n = (uint8_t)n };
	uint8_t k[WIRE_KEY_LEN];
	int len;

	memcpy(v.code, codes, n * sizeof(*codes));
	wire_ack_key(k, master, 42);
	k[0] ^= forge;
	len = wire_verdict_build(buf, VERDICT_MAX_LEN, &v, k);
	cr_assert_gt(len, 0);
	return (size_t)len;
}

Test(sim_scanner, verdicts_flag_bit_1_tag_latency_codes)
{
	struct sim_params pv = P;
	uint16_t codes[4] = { 0, 16, 65, 1 };
	uint8_t buf[VERDICT_MAX_LEN];
	struct wire_hdr h;
	struct sim_batch *b;
	uint64_t lat = 0;
	size_t len;

	pv.verdict_rate = 1.0;
	scans(8, 0);
	b = sim_dev_next_batch(&D, &pv, &E, 1000, 0, true, &R, &S);
	cr_assert_not_null(b);
	cr_assert_eq(wire_hdr_parse(b->dg, b->len, &h), WIRE_OK);
	cr_assert_eq(h.flags, WIRE_FLAG_ACK | WIRE_FLAG_VERDICT);
	cr_assert_eq(S.verdicts_requested, 1);
	/* A forged verdict is refused and changes nothing. */
	len = verdict(buf, 1000, 1, 4, codes, true);
	cr_assert_eq(sim_dev_on_verdict(&D, buf, len, 5000, &S, &lat), -1);
	cr_assert_eq(S.verdicts_bad, 1);
	cr_assert_eq(S.verdict_code[0], 0);
	/* The real one: latency from the first send, codes counted per reason. */
	len = verdict(buf, 1000, 1, 4, codes, false);
	cr_assert_eq(sim_dev_on_verdict(&D, buf, len, 5000, &S, &lat), 1);
	cr_assert_eq(lat, 4000);
	cr_assert_eq(S.verdict_code[0], 1);
	cr_assert_eq(S.verdict_code[1], 1);
	cr_assert_eq(S.verdict_code[2 + CHK_WATCH_F0], 1);
	cr_assert_eq(S.verdict_code[2 + CHK_OFF_ROUTE], 1);
	/* A second copy of it has nothing left to answer. */
	cr_assert_eq(sim_dev_on_verdict(&D, buf, len, 6000, &S, &lat), 0);
	cr_assert_eq(S.verdicts_unmatched, 1);
	/* An unknown code is bad, even when authentic. */
	codes[0] = 77;
	len = verdict(buf, 1000, 1, 4, codes, false);
	cr_assert_eq(sim_dev_on_verdict(&D, buf, len, 6000, &S, &lat), -1);
	/* The second batch is ACKed without its verdict: missing. */
	b = sim_dev_next_batch(&D, &pv, &E, 7000, 0, true, &R, &S);
	cr_assert_not_null(b);
	cr_assert_eq(ack(1000, 2, 8000), 8);
	cr_assert_eq(S.verdicts_missing, 1);
}

Test(sim_scanner, no_verdicts_by_default)
{
	struct wire_hdr h;
	struct sim_batch *b;

	scans(4, 0);
	b = sim_dev_next_batch(&D, &P, &E, 0, 0, true, &R, &S);
	cr_assert_eq(wire_hdr_parse(b->dg, b->len, &h), WIRE_OK);
	cr_assert_eq(h.flags, WIRE_FLAG_ACK);
	cr_assert_eq(S.verdicts_requested, 0);
}
