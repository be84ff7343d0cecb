/*
 * Admission of one datagram whose header parsed (DESIGN §2, §3): is it
 * authentic, which device is it, and where does it stand in the device's
 * anti-replay window?  The one copy of this step: chotd's workers
 * (worker.c) and chot-sockbase both call dp_admit().
 *
 * The rule it keeps: nothing about a device changes before a tag verified.
 * Not its cached keys (a forged header naming another key_id must not swap
 * the generation the device uses, or every later ACK would be tagged with
 * the wrong ACK key), not its window or epoch, and nothing is counted as
 * `replayed` / `stale_epoch` or re-ACKed on the strength of a header anyone
 * can write: a replay, a too-old or a stale-epoch datagram is opened first
 * (one AEAD open, the cost of the original batch: see docs/PROTOCOL.md),
 * and only an authentic one is classified by the window.
 *
 * Keys are per (device, key_id): a cache hit costs no KDF; a miss derives
 * into a scratch (struct dp_admit) and commits to the device only once the
 * tag verified under it.
 */
#ifndef CHOT_DP_ADMIT_H
#define CHOT_DP_ADMIT_H

#include <stdint.h>

#include "device.h"
#include "keys.h"
#include "reason.h"
#include "wire.h"

struct dp_admit {
	struct dp_device *dev;             /* set when authentic (not for AUTH_*, DEV_TABLE_FULL) */
	const struct dp_devkeys *keys;     /* the keys of h->key_id, when authentic */
	struct dp_devkeys scratch;         /* a cache miss derives here */
};

/*
 * Admit dgram (header h, already checked by wire_hdr_parse).  pt receives
 * the plaintext (capacity >= h->body_len).  Returns:
 *   WIRE_OK           authentic and new: the window accepted it (the caller
 *                     stores it, or dp_window_forget()s it);
 *   WIN_REPLAY, WIN_TOO_OLD, WIN_STALE_EPOCH
 *                     authentic, not new; nothing changed (but the keys
 *                     cache); a->dev / a->keys are set for a re-ACK;
 *   AUTH_UNKNOWN_KEY, AUTH_TAG
 *                     not authentic: nothing changed at all;
 *   DEV_TABLE_FULL    authentic, new device, no room for it.
 * a->keys points into the device (or into *a) until the next call.
 */
enum chot_reason dp_admit(struct dp_devices *devs, const struct chot_keys *keys,
			  const uint8_t *dgram, const struct wire_hdr *h, uint8_t *pt,
			  struct dp_admit *a);

/*
 * The ACK key of generation key_id for d: from its cache, else derived into
 * *scratch (used for an ACK sent later, on completion, when a newer
 * generation may have taken the cache slot).  NULL when key_id is unknown.
 */
const uint8_t *dp_admit_ackkey(const struct dp_device *d, uint16_t key_id,
			       const struct chot_keys *keys, struct dp_devkeys *scratch);

#endif /* CHOT_DP_ADMIT_H */
