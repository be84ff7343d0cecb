/*
 * The CHV1 verdict (DESIGN §9): appliance -> scanner, one 16-bit code per
 * event of a batch that set flag bit 1, tagged with keyed BLAKE2b-128 under
 * the device's ACK key over bytes [0, 24 + 2n).
 *
 *   0  4  magic "CHV1"        12  4  boot_epoch
 *   4  1  version = 1         16  8  batch_seq
 *   5  1  n = events          24 2n  per event: most severe reason code,
 *   6  2  key_id                     0 = clear, 1 = invalid event
 *   8  4  device_id        24+2n 16  tag
 *
 * Pure: plain buffers, no allocation, no EAL.  Codes are carried as given;
 * what they mean is proto/lists.h (chk_reasons[]).
 */
#ifndef CHOT_VERDICT_H
#define CHOT_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define VERDICT_FIXED_LEN 24
#define VERDICT_TAG_LEN   16
#define VERDICT_MAX_LEN   (VERDICT_FIXED_LEN + 2 * WIRE_MAX_EVENTS + VERDICT_TAG_LEN)

extern const uint8_t wire_verdict_magic[4];   /* "CHV1" */

struct wire_verdict {
	uint16_t key_id;
	uint32_t device_id;
	uint32_t boot_epoch;
	uint64_t batch_seq;
	uint8_t  n;                          /* 1..WIRE_MAX_EVENTS */
	uint16_t code[WIRE_MAX_EVENTS];
};

/* Bytes of a verdict for n events: 24 + 2n + 16. */
static inline size_t
wire_verdict_len(unsigned n)
{
	return VERDICT_FIXED_LEN + 2u * n + VERDICT_TAG_LEN;
}

/* Build a verdict into out; its length, or -EINVAL (n out of 1..64), -EMSGSIZE (cap). */
int wire_verdict_build(uint8_t *out, size_t cap, const struct wire_verdict *v,
		       const uint8_t ackkey[WIRE_KEY_LEN]);

/* Parse the fields without checking the tag (to find the key).  0 or -EINVAL. */
int wire_verdict_parse(const uint8_t *buf, size_t len, struct wire_verdict *v);

/* Parse and verify; 0 when well formed and authentic, else -EINVAL / -EBADMSG. */
int wire_verdict_verify(const uint8_t *buf, size_t len, const uint8_t ackkey[WIRE_KEY_LEN],
			struct wire_verdict *v);

#endif /* CHOT_VERDICT_H */
