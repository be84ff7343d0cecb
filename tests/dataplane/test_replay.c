/*
 * The anti-replay window (dataplane/replay.c): boundaries of the RFC 6479
 * bitmap, epochs, and the cumulative acked value.  Pure, no EAL.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "replay.h"

static struct dp_window w;

static void
setup(void)
{
	dp_window_init(&w);
}

TestSuite(replay, .init = setup);

static void
accept_stored(uint32_t epoch, uint64_t seq)
{
	cr_assert_eq(dp_window_check(&w, epoch, seq), WIRE_OK,
		     "expected epoch %u seq %lu to be new", epoch, (unsigned long)seq);
	dp_window_accept(&w, epoch, seq);
	dp_window_stored(&w, epoch, seq);
}

Test(replay, first_sight_vouches_for_nothing_below)
{
	cr_assert_eq(dp_window_check(&w, 7, 100), WIRE_OK, "empty window accepts anything");
	dp_window_accept(&w, 7, 100);
	cr_assert_eq(w.acked, 0, "floor is 0 whatever seq comes first, got %lu",
		     (unsigned long)w.acked);
	cr_assert_eq(dp_window_stored(&w, 7, 100), 0,
		     "seq 100 stored says nothing about 1..99: no ACK");
	cr_assert(!dp_window_is_stored(&w, 7, 5), "an unseen seq below the first is not stored");
	cr_assert_eq(dp_window_check(&w, 7, 99), WIRE_OK, "seq 99, never seen, is accepted");
}

Test(replay, reordered_start_of_epoch)
{
	/* seq 2 arrives before seq 1 (reordering, or 1 was lost once). */
	accept_stored(3, 2);
	cr_assert_eq(w.acked, 0, "seq 1 missing: nothing acked");
	accept_stored(3, 1);
	cr_assert_eq(w.acked, 2, "seq 1 fills the gap: 1..2 acked, got %lu",
		     (unsigned long)w.acked);
}

Test(replay, replay_in_window)
{
	accept_stored(1, 1);
	accept_stored(1, 2);
	cr_assert_eq(dp_window_check(&w, 1, 2), WIN_REPLAY, "seq 2 again is a replay");
	cr_assert_eq(dp_window_check(&w, 1, 1), WIN_REPLAY, "seq 1 again is a replay");
	cr_assert_eq(dp_window_check(&w, 1, 3), WIRE_OK, "seq 3 is new");
}

Test(replay, out_of_order_inside_window)
{
	uint64_t s;

	for (s = 1; s <= 10; s++)
		accept_stored(1, s);
	accept_stored(1, 15);
	cr_assert_eq(w.acked, 10, "gap 11..14 holds acked at 10");
	cr_assert_eq(dp_window_check(&w, 1, 12), WIRE_OK, "a late seq inside the window is new");
	accept_stored(1, 12);
	accept_stored(1, 11);
	accept_stored(1, 13);
	cr_assert_eq(w.acked, 13, "acked advances over stored seqs, got %lu",
		     (unsigned long)w.acked);
	accept_stored(1, 14);
	cr_assert_eq(w.acked, 15, "filling the gap acks up to the top");
}

Test(replay, too_old_boundary)
{
	uint64_t top = 5000;

	accept_stored(1, top);
	/* Exactly DP_WIN_SIZE below top is outside; one less is inside. */
	cr_assert_eq(dp_window_check(&w, 1, top - DP_WIN_SIZE), WIN_TOO_OLD,
		     "top - %d must be too old", DP_WIN_SIZE);
	cr_assert_eq(dp_window_check(&w, 1, top - DP_WIN_SIZE + 1), WIRE_OK,
		     "top - %d + 1 must be inside and new", DP_WIN_SIZE);
	cr_assert_eq(dp_window_check(&w, 1, 1), WIN_TOO_OLD, "seq 1 is far too old");
}

Test(replay, far_ahead_clears_window)
{
	accept_stored(1, 1);
	accept_stored(1, 2);
	dp_window_accept(&w, 1, 1000000);
	cr_assert_eq(dp_window_check(&w, 1, 1000000), WIN_REPLAY, "the new top is seen");
	cr_assert_eq(dp_window_check(&w, 1, 999999), WIRE_OK,
		     "nothing below the new top is marked after a far jump");
	cr_assert_eq(dp_window_check(&w, 1, 2), WIN_TOO_OLD, "old seqs fall out");
	cr_assert_eq(w.acked, 2, "acked does not jump over unstored seqs");
}

Test(replay, block_wrap)
{
	uint64_t s;

	/* Walk well past several ring wraps one seq at a time. */
	for (s = 1; s <= 5 * DP_WIN_BITS + 17; s++)
		accept_stored(1, s);
	cr_assert_eq(w.acked, 5 * DP_WIN_BITS + 17, "every seq stored: acked is the top");
	for (s = w.top - DP_WIN_SIZE + 1; s <= w.top; s++)
		cr_assert_eq(dp_window_check(&w, 1, s), WIN_REPLAY,
			     "seq %lu inside the window must be a replay", (unsigned long)s);
	cr_assert_eq(dp_window_check(&w, 1, w.top + 1), WIRE_OK, "top + 1 is new");
	/* A block boundary: 64-aligned seqs after a jump of exactly 64. */
	dp_window_accept(&w, 1, w.top + 64);
	cr_assert_eq(dp_window_check(&w, 1, w.top - 1), WIRE_OK,
		     "seqs skipped by the jump are new");
}

Test(replay, epoch_change)
{
	accept_stored(3, 50);
	cr_assert_eq(dp_window_check(&w, 2, 51), WIN_STALE_EPOCH, "older epoch is stale");
	cr_assert_eq(dp_window_check(&w, 4, 1), WIRE_OK, "newer epoch is accepted");
	dp_window_accept(&w, 4, 1);
	cr_assert_eq(w.epoch, 4, "the window moved to epoch 4");
	cr_assert_eq(w.acked, 0, "fresh window: floor 0");
	cr_assert_eq(dp_window_check(&w, 3, 51), WIN_STALE_EPOCH, "epoch 3 is now stale");
	cr_assert_eq(dp_window_check(&w, 4, 1), WIN_REPLAY, "seq 1 of epoch 4 was seen");
	cr_assert_eq(dp_window_stored(&w, 4, 1), 1, "acked is per epoch");
}

Test(replay, forget_allows_retransmission)
{
	accept_stored(1, 1);
	dp_window_accept(&w, 1, 2);
	cr_assert_eq(dp_window_check(&w, 1, 2), WIN_REPLAY, "accepted seq 2 is a replay");
	dp_window_forget(&w, 1, 2);
	cr_assert_eq(dp_window_check(&w, 1, 2), WIRE_OK, "a refused batch can come again");
	cr_assert_not(dp_window_is_stored(&w, 1, 2), "a refused batch is not stored");
	accept_stored(1, 2);
	cr_assert(dp_window_is_stored(&w, 1, 2), "stored after the retransmission");
	cr_assert_eq(w.acked, 2, "and acked");
}

Test(replay, stored_wrong_epoch_ignored)
{
	accept_stored(2, 1);
	cr_assert_eq(dp_window_stored(&w, 1, 2), 1, "a completion of an old epoch changes nothing");
	cr_assert_not(dp_window_is_stored(&w, 1, 1), "epoch 1 is not this window's");
}

/*
 * The window at the edges of the sequence space: seq 1 (the first of an
 * epoch), the window size itself, and seq near 2^64 where `seq + size`
 * wraps.  Each row accepts and stores `accepted` in order, then classifies
 * `probe`; when the probe is new it is accepted and must then be a replay
 * (the window did mark it) and count as stored.
 */
#define MAX64 UINT64_MAX

struct edge_case {
	char name[48];
	uint64_t accepted[3];   /* 0 ends the list */
	uint64_t probe;
	enum chot_reason want;
};

ParameterizedTestParameters(replay, edges)
{
	static struct edge_case cases[] = {
		{ "seq 1 first", { 0 }, 1, WIRE_OK },
		{ "seq 1 again", { 1 }, 1, WIN_REPLAY },
		{ "seq 2 after 1", { 1 }, 2, WIRE_OK },
		{ "seq 1 after 2", { 2 }, 1, WIRE_OK },
		{ "seq 1, top = size", { DP_WIN_SIZE }, 1, WIRE_OK },
		{ "seq 1, top = size + 1", { DP_WIN_SIZE + 1 }, 1, WIN_TOO_OLD },
		{ "seq 0 is below every window", { 5 }, 0, WIN_TOO_OLD },
		{ "2^64-1 first", { 0 }, MAX64, WIRE_OK },
		{ "2^64-1 after 2^64-2", { MAX64 - 1 }, MAX64, WIRE_OK },
		{ "2^64-2 after 2^64-1", { MAX64 }, MAX64 - 1, WIRE_OK },
		{ "2^64-1 again", { MAX64 }, MAX64, WIN_REPLAY },
		{ "2^64-2 again after 2^64-1", { MAX64 - 1, MAX64 }, MAX64 - 1, WIN_REPLAY },
		{ "top 2^64-1, lowest in window", { MAX64 }, MAX64 - DP_WIN_SIZE + 1, WIRE_OK },
		{ "top 2^64-1, just below window", { MAX64 }, MAX64 - DP_WIN_SIZE, WIN_TOO_OLD },
		{ "top 2^64-1, seq 1", { MAX64 }, 1, WIN_TOO_OLD },
		{ "jump 1 -> 2^64-1, then 2", { 1, MAX64 }, 2, WIN_TOO_OLD },
		{ "top 2^64-2, 64-block edge", { MAX64 - 1 }, MAX64 - 64, WIRE_OK },
	};
	return cr_make_param_array(struct edge_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct edge_case *c, replay, edges)
{
	enum chot_reason r;
	unsigned i;

	dp_window_init(&w);
	for (i = 0; i < 3 && c->accepted[i] != 0; i++)
		accept_stored(9, c->accepted[i]);
	r = dp_window_check(&w, 9, c->probe);
	cr_assert_eq(r, c->want, "%s: seq %lu: expected %s, got %s", c->name,
		     (unsigned long)c->probe, chot_reason_name(c->want), chot_reason_name(r));
	if (r != WIRE_OK)
		return;
	dp_window_accept(&w, 9, c->probe);
	dp_window_stored(&w, 9, c->probe);
	cr_assert_eq(dp_window_check(&w, 9, c->probe), WIN_REPLAY,
		     "%s: seq %lu accepted, must now be a replay", c->name,
		     (unsigned long)c->probe);
	cr_assert(dp_window_is_stored(&w, 9, c->probe), "%s: seq %lu must be stored", c->name,
		  (unsigned long)c->probe);
}
