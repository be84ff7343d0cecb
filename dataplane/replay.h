/*
 * Per-device anti-replay window (DESIGN §2), RFC 6479 style: a ring of
 * DP_WIN_BLOCKS 64-bit blocks; a sequence number is "too old" once it is
 * DP_WIN_SIZE or more below the highest authentic one.  One window per
 * device, for its current boot epoch; a newer epoch starts a fresh window,
 * an older one is stale.
 *
 * Two bitmaps share the ring:
 *   seen    - an authentic batch with this seq was accepted (stored, or in
 *             flight to the store);
 *   stored  - every write of that batch was confirmed (or it had nothing to
 *             store), so it may be ACKed.
 * acked is the cumulative ACK value: the largest seq such that every seq of
 * the epoch up to it is stored.  It starts at 0 on first sight of a
 * (device, epoch), whatever seq is seen first: an epoch starts at seq 1, and
 * an ACK must never cover a batch this process has not seen stored.  (An
 * earlier floor of first_seq - 1 vouched for batches lost in the network or
 * by a restart of chotd: a scanner that had batch 5 outstanding and whose
 * batch 10 arrived first would have dropped 5 unstored.)
 *
 * Consequence, part of the scanner contract (docs/RELIABILITY.md): after a
 * restart of chotd, an epoch that began before it is never ACKed again,
 * because its early batches were ACKed and dropped by the scanner and will
 * not come back.  A scanner that sees no ACK progress for a while starts a
 * new epoch and re-packs its outstanding scans into new batches; storage is
 * idempotent, so scans stored twice change nothing.
 *
 * Protocol of use (admit.c, worker.c):
 *   dp_window_check()   classifies, changes nothing; its verdict counts
 *                       only once the tag verified (a forged header of a
 *                       stored batch is bad_tag, never a re-ACKed replay);
 *   dp_window_accept()  after the tag verifies: moves the window;
 *   dp_window_stored()  when the store confirmed the batch: advances acked;
 *   dp_window_forget()  when the store refused it: a retransmission is
 *                       then accepted again (nothing was stored).
 *
 * Pure: no EAL, no allocation.
 */
#ifndef CHOT_DP_REPLAY_H
#define CHOT_DP_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "reason.h"

#define DP_WIN_BLOCKS 16
#define DP_WIN_BITS   (DP_WIN_BLOCKS * 64)
#define DP_WIN_SIZE   (DP_WIN_BITS - 64)     /* 960 usable sequence numbers */

struct dp_window {
	bool     valid;          /* an epoch has been seen */
	uint32_t epoch;
	uint64_t top;            /* highest accepted seq of the epoch */
	uint64_t acked;          /* cumulative: all seq <= acked are stored */
	uint64_t seen[DP_WIN_BLOCKS];
	uint64_t stored[DP_WIN_BLOCKS];
};

void dp_window_init(struct dp_window *w);

/*
 * Classify (epoch, seq) without changing anything.  WIRE_OK (new),
 * WIN_REPLAY (already accepted), WIN_TOO_OLD (below the window) or
 * WIN_STALE_EPOCH (epoch older than the current one).  seq may reach
 * 2^64 - 1; seq 0 (never valid) is WIN_TOO_OLD.
 */
enum chot_reason dp_window_check(const struct dp_window *w, uint32_t epoch, uint64_t seq);

/* Mark (epoch, seq) accepted; call only after dp_window_check() said WIRE_OK
 * and the tag verified.  A newer epoch resets the window. */
void dp_window_accept(struct dp_window *w, uint32_t epoch, uint64_t seq);

/* Mark (epoch, seq) stored and return the new cumulative acked (for the ACK).
 * A seq of another epoch or outside the window changes nothing. */
uint64_t dp_window_stored(struct dp_window *w, uint32_t epoch, uint64_t seq);

/* Undo dp_window_accept() for a batch the store refused. */
void dp_window_forget(struct dp_window *w, uint32_t epoch, uint64_t seq);

/* Is (epoch, seq) known stored (or at or below acked)? */
bool dp_window_is_stored(const struct dp_window *w, uint32_t epoch, uint64_t seq);

#endif /* CHOT_DP_REPLAY_H */
