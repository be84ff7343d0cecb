/*
 * Wire protocol v1 (DESIGN §2): the 26-byte header, ChaCha20-Poly1305-IETF
 * sealing with the header as additional data, device/ACK key derivation and
 * the 40-byte ACK with its keyed BLAKE2b-128 tag.
 *
 * Everything here is pure: plain buffers in, plain buffers out, no allocation,
 * no EAL.  The dataplane, chot-flood and chotctl all link this one copy, so a
 * scanner vendor's reading of docs/PROTOCOL.md and ours cannot drift apart.
 *
 * Call sodium_init() (or wire_init()) once before using any of it.
 */
#ifndef CHOT_WIRE_H
#define CHOT_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"

#define WIRE_UDP_PORT      7311
#define WIRE_VERSION       1
#define WIRE_HDR_LEN       26
#define WIRE_TAG_LEN       16
#define WIRE_KEY_LEN       32
#define WIRE_MAX_DGRAM     1472                     /* one Ethernet frame */
#define WIRE_MIN_DGRAM     (WIRE_HDR_LEN + WIRE_TAG_LEN)
#define WIRE_MAX_BODY      (WIRE_MAX_DGRAM - WIRE_MIN_DGRAM)
#define WIRE_MAX_EVENTS    64
#define WIRE_SUBJECT_MAX   32
#define WIRE_SUBJECT_MAX_NUL 33
#define WIRE_FLAG_ACK      0x01
#define WIRE_FLAG_VERDICT  0x02                     /* CHV1 verdict requested (§9) */
#define WIRE_FLAGS_KNOWN   (WIRE_FLAG_ACK | WIRE_FLAG_VERDICT)
#define WIRE_ACK_LEN       40
#define WIRE_ACK_TAG_LEN   16
#define WIRE_NONCE_LEN     12

extern const uint8_t wire_magic[4];      /* "CHT1" */
extern const uint8_t wire_ack_magic[4];  /* "CHA1" */

struct wire_hdr {
	uint8_t  version;
	uint8_t  flags;
	uint16_t key_id;
	uint32_t device_id;
	uint32_t boot_epoch;
	uint64_t batch_seq;
	uint16_t body_len;   /* ciphertext bytes, tag excluded */
};

struct wire_ack {
	uint16_t key_id;
	uint32_t device_id;
	uint32_t boot_epoch;
	uint64_t acked_seq;
};

/* sodium_init(); returns 0 or -1. Safe to call more than once. */
int wire_init(void);

/*
 * Check a whole datagram's header: length bounds, magic, version, flags,
 * device_id != 0, batch_seq >= 1 and len == 26 + body_len + 16.
 * Fills *h (also on some errors, as far as it could parse).
 * Returns WIRE_OK or an HDR_* reason.  Reads no more than len bytes.
 */
enum chot_reason wire_hdr_parse(const uint8_t *dgram, size_t len, struct wire_hdr *h);

/* Serialise h into out[0..26). */
void wire_hdr_write(uint8_t out[WIRE_HDR_LEN], const struct wire_hdr *h);

/* nonce = boot_epoch (4, BE) || batch_seq (8, BE). */
void wire_nonce(uint8_t out[WIRE_NONCE_LEN], uint32_t boot_epoch, uint64_t batch_seq);

/* crypto_kdf_derive_from_key(32, device_id, "chotdev1" / "chotack1", master). */
void wire_device_key(uint8_t out[WIRE_KEY_LEN], const uint8_t master[WIRE_KEY_LEN],
		     uint32_t device_id);
void wire_ack_key(uint8_t out[WIRE_KEY_LEN], const uint8_t master[WIRE_KEY_LEN],
		  uint32_t device_id);

/*
 * Build a datagram: header from h (h->body_len is set to pt_len, version to 1),
 * then the sealed body and tag.  Returns the datagram length, or -EMSGSIZE
 * when it does not fit cap or WIRE_MAX_DGRAM, -EINVAL on a bad header.
 */
int wire_seal(uint8_t *out, size_t cap, struct wire_hdr *h,
	      const uint8_t *pt, size_t pt_len, const uint8_t devkey[WIRE_KEY_LEN]);

/*
 * Open a datagram whose header already passed wire_hdr_parse().  Writes
 * h->body_len plaintext bytes to pt (capacity >= h->body_len).
 * Returns WIRE_OK or AUTH_TAG.  pt content is undefined on failure.
 */
enum chot_reason wire_open(uint8_t *pt, const uint8_t *dgram, const struct wire_hdr *h,
			   const uint8_t devkey[WIRE_KEY_LEN]);

/* Build the 40-byte ACK. */
void wire_ack_build(uint8_t out[WIRE_ACK_LEN], const struct wire_ack *a,
		    const uint8_t ackkey[WIRE_KEY_LEN]);

/* Parse an ACK's fields without checking the tag (to find the key). 0 or -EINVAL. */
int wire_ack_parse(const uint8_t *buf, size_t len, struct wire_ack *a);

/* Parse and verify an ACK; 0 when well formed and authentic, else -EINVAL / -EBADMSG. */
int wire_ack_verify(const uint8_t *buf, size_t len, const uint8_t ackkey[WIRE_KEY_LEN],
		    struct wire_ack *a);

/* Big-endian helpers shared by the codec users. */
static inline void
wire_put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static inline void
wire_put_be32(uint8_t *p, uint32_t v)
{ p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }
static inline void
wire_put_be64(uint8_t *p, uint64_t v)
{ wire_put_be32(p, (uint32_t)(v >> 32)); wire_put_be32(p + 4, (uint32_t)v); }
static inline uint16_t
wire_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t
wire_get_be32(const uint8_t *p)
{ return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline uint64_t
wire_get_be64(const uint8_t *p)
{ return (uint64_t)wire_get_be32(p) << 32 | wire_get_be32(p + 4); }

#endif /* CHOT_WIRE_H */
