/*
 * The RFC 6479 window (see replay.h).  Bit i of the ring stands for the
 * sequence number whose (seq / 64) % DP_WIN_BLOCKS block and seq % 64 bit it
 * is; moving `top` forward clears the blocks it passes over (at most all of
 * them), so a far jump costs DP_WIN_BLOCKS stores, never a loop per seq.
 * Only seq in (top - DP_WIN_SIZE, top] have meaningful bits.
 *
 * Distances are always taken as top - seq with seq <= top, never as
 * seq + DP_WIN_SIZE: a scanner may legitimately reach seq 2^64 - 1, and the
 * sum would wrap there (seq 2^64 - 2 after 2^64 - 1 would look too old).
 * seq 0 is never valid (wire_hdr_parse refuses it); here it is below every
 * window.
 */
#include <string.h>

#include "replay.h"

static inline unsigned
win_block(uint64_t seq)
{
	return (unsigned)((seq >> 6) % DP_WIN_BLOCKS);
}

static inline uint64_t
win_bit(uint64_t seq)
{
	return 1ULL << (seq & 63);
}

static inline bool
win_in_range(const struct dp_window *w, uint64_t seq)
{
	return seq != 0 && seq <= w->top && w->top - seq < DP_WIN_SIZE;
}

void
dp_window_init(struct dp_window *w)
{
	memset(w, 0, sizeof(*w));
}

enum chot_reason
dp_window_check(const struct dp_window *w, uint32_t epoch, uint64_t seq)
{
	if (seq == 0)
		return WIN_TOO_OLD;
	if (!w->valid || epoch > w->epoch)
		return WIRE_OK;
	if (epoch < w->epoch)
		return WIN_STALE_EPOCH;
	if (seq > w->top)
		return WIRE_OK;
	if (w->top - seq >= DP_WIN_SIZE)
		return WIN_TOO_OLD;
	return (w->seen[win_block(seq)] & win_bit(seq)) ? WIN_REPLAY : WIRE_OK;
}

static void
win_advance(struct dp_window *w, uint64_t seq)
{
	uint64_t from = w->top >> 6, to = seq >> 6, b;

	if (to - from >= DP_WIN_BLOCKS) {
		memset(w->seen, 0, sizeof(w->seen));
		memset(w->stored, 0, sizeof(w->stored));
	} else {
		for (b = from + 1; b <= to; b++) {
			w->seen[b % DP_WIN_BLOCKS] = 0;
			w->stored[b % DP_WIN_BLOCKS] = 0;
		}
	}
	w->top = seq;
}

void
dp_window_accept(struct dp_window *w, uint32_t epoch, uint64_t seq)
{
	if (!w->valid || epoch > w->epoch) {
		dp_window_init(w);
		w->valid = true;
		w->epoch = epoch;
		/* Floor 0: every epoch starts at seq 1, and nothing is vouched
		 * for below the first batch seen (see replay.h). */
	}
	if (epoch != w->epoch)
		return;
	if (seq > w->top)
		win_advance(w, seq);
	if (win_in_range(w, seq))
		w->seen[win_block(seq)] |= win_bit(seq);
}

uint64_t
dp_window_stored(struct dp_window *w, uint32_t epoch, uint64_t seq)
{
	if (!w->valid || epoch != w->epoch)
		return w->acked;
	if (win_in_range(w, seq))
		w->stored[win_block(seq)] |= win_bit(seq);
	while (w->acked < w->top) {
		uint64_t next = w->acked + 1;

		if (!win_in_range(w, next) ||
		    !(w->stored[win_block(next)] & win_bit(next)))
			break;
		w->acked = next;
	}
	return w->acked;
}

void
dp_window_forget(struct dp_window *w, uint32_t epoch, uint64_t seq)
{
	if (!w->valid || epoch != w->epoch || !win_in_range(w, seq))
		return;
	w->seen[win_block(seq)] &= ~win_bit(seq);
	w->stored[win_block(seq)] &= ~win_bit(seq);
}

bool
dp_window_is_stored(const struct dp_window *w, uint32_t epoch, uint64_t seq)
{
	if (!w->valid || epoch != w->epoch)
		return false;
	if (seq <= w->acked)
		return true;
	return win_in_range(w, seq) && (w->stored[win_block(seq)] & win_bit(seq));
}
