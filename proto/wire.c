/*
 * Wire protocol v1 (DESIGN §2): header, sealing, key derivation, ACKs.
 *
 * The header is authenticated as AEAD additional data, so once wire_open()
 * succeeds every header field is the device's own.  wire_hdr_parse() is the
 * only code that looks at an unauthenticated datagram, and it reads nothing
 * beyond `len`.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "wire.h"

const uint8_t wire_magic[4] = {'C', 'H', 'T', '1'};
const uint8_t wire_ack_magic[4] = {'C', 'H', 'A', '1'};

static const char kdf_ctx_dev[crypto_kdf_CONTEXTBYTES] = {'c', 'h', 'o', 't', 'd', 'e', 'v', '1'};
static const char kdf_ctx_ack[crypto_kdf_CONTEXTBYTES] = {'c', 'h', 'o', 't', 'a', 'c', 'k', '1'};

int
wire_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

enum chot_reason
wire_hdr_parse(const uint8_t *d, size_t len, struct wire_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len < WIRE_HDR_LEN)
		return HDR_SHORT;
	h->version = d[4];
	h->flags = d[5];
	h->key_id = wire_get_be16(d + 6);
	h->device_id = wire_get_be32(d + 8);
	h->boot_epoch = wire_get_be32(d + 12);
	h->batch_seq = wire_get_be64(d + 16);
	h->body_len = wire_get_be16(d + 24);
	if (len > WIRE_MAX_DGRAM)
		return HDR_TOO_LONG;
	if (memcmp(d, wire_magic, 4) != 0)
		return HDR_MAGIC;
	if (h->version != WIRE_VERSION)
		return HDR_VERSION;
	if (h->flags & ~WIRE_FLAGS_KNOWN)
		return HDR_FLAGS;
	if (h->device_id == 0)
		return HDR_DEVICE_ZERO;
	if (h->batch_seq == 0)
		return HDR_SEQ_ZERO;
	if (len != (size_t)WIRE_HDR_LEN + h->body_len + WIRE_TAG_LEN)
		return HDR_LENGTH;
	return WIRE_OK;
}

void
wire_hdr_write(uint8_t out[WIRE_HDR_LEN], const struct wire_hdr *h)
{
	memcpy(out, wire_magic, 4);
	out[4] = h->version;
	out[5] = h->flags;
	wire_put_be16(out + 6, h->key_id);
	wire_put_be32(out + 8, h->device_id);
	wire_put_be32(out + 12, h->boot_epoch);
	wire_put_be64(out + 16, h->batch_seq);
	wire_put_be16(out + 24, h->body_len);
}

void
wire_nonce(uint8_t out[WIRE_NONCE_LEN], uint32_t boot_epoch, uint64_t batch_seq)
{
	wire_put_be32(out, boot_epoch);
	wire_put_be64(out + 4, batch_seq);
}

void
wire_device_key(uint8_t out[WIRE_KEY_LEN], const uint8_t master[WIRE_KEY_LEN], uint32_t device_id)
{
	crypto_kdf_derive_from_key(out, WIRE_KEY_LEN, device_id, kdf_ctx_dev, master);
}

void
wire_ack_key(uint8_t out[WIRE_KEY_LEN], const uint8_t master[WIRE_KEY_LEN], uint32_t device_id)
{
	crypto_kdf_derive_from_key(out, WIRE_KEY_LEN, device_id, kdf_ctx_ack, master);
}

int
wire_seal(uint8_t *out, size_t cap, struct wire_hdr *h, const uint8_t *pt, size_t pt_len,
          const uint8_t devkey[WIRE_KEY_LEN])
{
	uint8_t nonce[WIRE_NONCE_LEN];
	unsigned long long clen = 0;
	size_t total = WIRE_HDR_LEN + pt_len + WIRE_TAG_LEN;

	if (h->device_id == 0 || h->batch_seq == 0)
		return -EINVAL;
	if (pt_len > WIRE_MAX_BODY || total > cap)
		return -EMSGSIZE;
	h->version = WIRE_VERSION;
	h->body_len = (uint16_t)pt_len;
	wire_hdr_write(out, h);
	wire_nonce(nonce, h->boot_epoch, h->batch_seq);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + WIRE_HDR_LEN, &clen, pt, pt_len, out,
	                                          WIRE_HDR_LEN, NULL, nonce, devkey);
	return (int)total;
}

enum chot_reason
wire_open(uint8_t *pt, const uint8_t *d, const struct wire_hdr *h,
          const uint8_t devkey[WIRE_KEY_LEN])
{
	uint8_t nonce[WIRE_NONCE_LEN];
	unsigned long long plen = 0;

	wire_nonce(nonce, h->boot_epoch, h->batch_seq);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, &plen, NULL, d + WIRE_HDR_LEN,
	                                              (unsigned long long)h->body_len +
	                                                      WIRE_TAG_LEN,
	                                              d, WIRE_HDR_LEN, nonce, devkey) != 0)
		return AUTH_TAG;
	return WIRE_OK;
}

static void
ack_fields(uint8_t out[24], const struct wire_ack *a)
{
	memcpy(out, wire_ack_magic, 4);
	out[4] = WIRE_VERSION;
	out[5] = 0;
	wire_put_be16(out + 6, a->key_id);
	wire_put_be32(out + 8, a->device_id);
	wire_put_be32(out + 12, a->boot_epoch);
	wire_put_be64(out + 16, a->acked_seq);
}

void
wire_ack_build(uint8_t out[WIRE_ACK_LEN], const struct wire_ack *a,
               const uint8_t ackkey[WIRE_KEY_LEN])
{
	ack_fields(out, a);
	crypto_generichash(out + 24, WIRE_ACK_TAG_LEN, out, 24, ackkey, WIRE_KEY_LEN);
}

int
wire_ack_parse(const uint8_t *buf, size_t len, struct wire_ack *a)
{
	if (len != WIRE_ACK_LEN || memcmp(buf, wire_ack_magic, 4) != 0 || buf[4] != WIRE_VERSION ||
	    buf[5] != 0)
		return -EINVAL;
	a->key_id = wire_get_be16(buf + 6);
	a->device_id = wire_get_be32(buf + 8);
	a->boot_epoch = wire_get_be32(buf + 12);
	a->acked_seq = wire_get_be64(buf + 16);
	return 0;
}

int
wire_ack_verify(const uint8_t *buf, size_t len, const uint8_t ackkey[WIRE_KEY_LEN],
                struct wire_ack *a)
{
	uint8_t tag[WIRE_ACK_TAG_LEN];

	if (wire_ack_parse(buf, len, a) != 0)
		return -EINVAL;
	crypto_generichash(tag, sizeof(tag), buf, 24, ackkey, WIRE_KEY_LEN);
	if (sodium_memcmp(tag, buf + 24, sizeof(tag)) != 0)
		return -EBADMSG;
	return 0;
}
