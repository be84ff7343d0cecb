/*
 * chot-flood sim: live scanners (DESIGN §6, docs/RELIABILITY.md).
 *
 * A scanner, as this simulator models it (and as docs/RELIABILITY.md asks
 * of a real one):
 *   - every scan goes into a persistent queue and stays there until an ACK
 *     of the current boot epoch covers the batch that carries it;
 *   - batches are numbered 1, 2, ... within an epoch, at most `window` of
 *     them outstanding (the appliance's replay window holds 960);
 *   - an outstanding batch is retransmitted, byte for byte, with
 *     exponential backoff and jitter;
 *   - a share `verdict_rate` of the batches sets flag bit 1 and gets a CHV1
 *     verdict (DESIGN §9) next to the ACKs: its tag is checked with the ACK
 *     key, its codes counted, its latency measured from the first send;
 *   - at boot, and when no ACK has made progress for `stall_us`, the device
 *     starts a new epoch and re-packs its outstanding scans, oldest first,
 *     into new batches of that epoch (the old epoch's batches are never sent
 *     again: chotd rejects them as stale_epoch).
 *
 * sim_scanner.c holds that state machine, pure (no sockets, no clock): unit
 * tested in tests/flood/test_sim_scanner.c.  sim.c drives it from a UDP
 * socket loop.
 */
#ifndef CHOT_FLOOD_SIM_H
#define CHOT_FLOOD_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lists.h"
#include "rng.h"
#include "wire.h"

#define SIM_SUBJECT_PREFIX_MAX 12
#define SIM_DIR_IN 1                     /* Direction IN */

/* The `chot-flood sim` command (sim.c). */
int fl_cmd_sim(int argc, char **argv);

/* One scan, identified by its index: its subject is "<prefix>-<index hex>". */
struct sim_event {
	uint64_t ts_ms;
	uint32_t site_id;
	uint8_t dir;
	uint8_t acked;
};

struct sim_events {
	struct sim_event *ev;
	uint32_t n;                      /* created so far */
	char prefix[SIM_SUBJECT_PREFIX_MAX + 1];
};

/* The scan's subject: a PC-Covid style string, unique per (prefix, index). */
int sim_subject(char out[WIRE_SUBJECT_MAX_NUL], const struct sim_events *e, uint32_t idx);

struct sim_batch {
	uint64_t seq;
	uint64_t next_tx_us;
	uint32_t rto_us;
	uint16_t tx_count;
	uint16_t n;
	uint16_t len;
	bool verdict, verdict_got;       /* flag bit 1 set; its verdict arrived */
	uint64_t first_tx_us;
	uint32_t ev[WIRE_MAX_EVENTS];
	uint8_t dg[WIRE_MAX_DGRAM];
};

struct sim_params {
	unsigned batch_events;           /* events per batch (max) */
	unsigned window;                 /* batches outstanding (max) */
	uint32_t rto_us, rto_max_us;     /* first retransmission timeout, cap */
	uint64_t stall_us;               /* no ACK progress this long: new epoch */
	uint16_t key_id;
	double verdict_rate;             /* share of batches that request a verdict */
};

struct sim_dev {
	uint32_t device_id;
	uint32_t epoch;
	uint64_t next_seq;
	uint64_t acked;                  /* cumulative, this epoch */
	uint8_t devkey[WIRE_KEY_LEN];
	uint8_t ackkey[WIRE_KEY_LEN];
	/* queued scans not yet in a batch: a deque of event indices */
	uint32_t *q;
	uint32_t q_cap, q_head, q_n;
	uint64_t q_since_us;             /* when the oldest queued scan arrived */
	/* outbox: ring of batches in seq order, head = oldest */
	struct sim_batch *ob;
	uint32_t ob_cap, ob_head, ob_n;
	uint64_t progress_us;            /* last ACK progress (or first send) */
	/* an old-epoch datagram kept at reboot, replayed once the new epoch is ACKed */
	uint8_t old_dg[WIRE_MAX_DGRAM];
	uint16_t old_len;
	bool old_armed;
};

struct sim_stats {
	uint64_t batches_sent, retransmissions, events_acked;
	uint64_t acks_received, acks_bad, acks_stale_epoch, acks_no_progress;
	uint64_t reboots, stalls, events_repacked, old_epoch_replays;
	uint64_t pack_errors;
	/* verdicts (§9): [0] clear, [1] invalid, [2 + i] chk_reasons[i] */
	uint64_t verdicts_requested, verdicts_received, verdicts_bad;
	uint64_t verdicts_unmatched;     /* authentic, but its batch is gone (ACKed, re-packed) */
	uint64_t verdicts_missing;       /* a batch ACKed without its verdict */
	uint64_t verdict_code[CHK_NREASONS + 2];
};

/* Allocate queues and outbox; 0 or -ENOMEM. q_cap: most scans the device can hold. */
int sim_dev_init(struct sim_dev *d, uint32_t device_id, uint32_t epoch, uint32_t q_cap,
		 const struct sim_params *p, const uint8_t master[WIRE_KEY_LEN]);
void sim_dev_free(struct sim_dev *d);

/* A new scan for this device. */
void sim_dev_enqueue(struct sim_dev *d, uint32_t ev_idx, uint64_t now_us);

/* Outstanding scans: queued + in outbox. */
uint32_t sim_dev_outstanding(const struct sim_dev *d);

/*
 * Seal the next batch from the queue if the outbox has room and either a
 * full batch is queued or the oldest scan waited `linger_us` (flush: any).
 * Returns the new batch (to send now) or NULL.
 */
struct sim_batch *sim_dev_next_batch(struct sim_dev *d, const struct sim_params *p,
				     const struct sim_events *e, uint64_t now_us,
				     uint64_t linger_us, bool flush, struct fl_rng *rng,
				     struct sim_stats *st);

/*
 * Outstanding batches due for retransmission at now_us, oldest first: up to
 * max of them into out[]; each gets its next timeout (doubled, capped,
 * +-25 % jitter).  Returns how many.
 */
unsigned sim_dev_due(struct sim_dev *d, const struct sim_params *p, uint64_t now_us,
		     struct sim_batch **out, unsigned max, struct fl_rng *rng,
		     struct sim_stats *st);

/*
 * An ACK datagram for this device (the caller found it by device_id).
 * Verifies the tag; a valid ACK of the current epoch retires every batch
 * with seq <= acked_seq and marks its scans acked in e.  Returns the number
 * of scans newly acked, or -1 for a bad ACK.
 */
int sim_dev_on_ack(struct sim_dev *d, const uint8_t *buf, size_t len, struct sim_events *e,
		   uint64_t now_us, struct sim_stats *st);

/*
 * A CHV1 verdict for this device.  Verifies the tag with the ACK key; counts
 * its codes.  Returns 1 and *latency_us (from the batch's first send) when it
 * answers an outstanding batch of this epoch that asked for one, 0 when it is
 * authentic but unmatched, -1 when bad.
 */
int sim_dev_on_verdict(struct sim_dev *d, const uint8_t *buf, size_t len, uint64_t now_us,
		       struct sim_stats *st, uint64_t *latency_us);

/* Index into sim_stats.verdict_code of a verdict code, -1 when unknown. */
int sim_verdict_slot(uint16_t code);

/*
 * New boot epoch: outbox scans go back to the front of the queue, oldest
 * first, seq restarts at 1.  With keep_old, the newest datagram the old
 * epoch sent is kept to be replayed once (old_armed).
 */
void sim_dev_new_epoch(struct sim_dev *d, bool keep_old, struct sim_stats *st);

/* Stalled: outstanding batches and no ACK progress for p->stall_us. */
bool sim_dev_stalled(const struct sim_dev *d, const struct sim_params *p, uint64_t now_us);

#endif /* CHOT_FLOOD_SIM_H */
