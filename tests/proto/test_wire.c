/*
 * Wire header, AEAD and ACK tests: every HDR_* and AUTH_* reason from one
 * table row each, starting from the known-good vector datagram and changing
 * one thing; seal/open and ACK round trips.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <sodium.h>

#include "proto/keys.h"
#include "vec.h"

struct hdr_case {
	char name[32];
	int len_delta; /* added to the datagram length */
	int set_off;   /* byte to overwrite, -1 = none */
	int set_n;     /* how many bytes from set_off */
	uint8_t set_val;
	enum chot_reason want;
};

ParameterizedTestParameters(wire, hdr_reasons)
{
	static struct hdr_case cases[] = {
	        {"valid", 0, -1, 0, 0, WIRE_OK},
	        {"flags 0 is valid", 0, 5, 1, 0x00, WIRE_OK},
	        {"25 bytes", -82, -1, 0, 0, HDR_SHORT},
	        {"0 bytes", -107, -1, 0, 0, HDR_SHORT},
	        {"1473 bytes", 1366, -1, 0, 0, HDR_TOO_LONG},
	        {"magic CHT2", 0, 3, 1, '2', HDR_MAGIC},
	        {"version 2", 0, 4, 1, 2, HDR_VERSION},
	        {"version 0", 0, 4, 1, 0, HDR_VERSION},
	        {"flags bit 1 (verdict) is valid", 0, 5, 1, 0x02, WIRE_OK},
	        {"flags bits 0+1 are valid", 0, 5, 1, 0x03, WIRE_OK},
	        {"flags bit 2", 0, 5, 1, 0x04, HDR_FLAGS},
	        {"flags bit 7", 0, 5, 1, 0x81, HDR_FLAGS},
	        {"device 0", 0, 8, 4, 0, HDR_DEVICE_ZERO},
	        {"seq 0", 0, 16, 8, 0, HDR_SEQ_ZERO},
	        {"one byte short", -1, -1, 0, 0, HDR_LENGTH},
	        {"one byte extra", 1, -1, 0, 0, HDR_LENGTH},
	        {"header only", -81, -1, 0, 0, HDR_LENGTH},
	        {"body_len 0xffff", 0, 24, 2, 0xff, HDR_LENGTH},
	};
	return cr_make_param_array(struct hdr_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct hdr_case *c, wire, hdr_reasons)
{
	uint8_t d[2048] = {0};
	struct wire_hdr h;
	int n = vec_datagram(d, sizeof(d));
	enum chot_reason r;

	cr_assert_eq(n, 107, "the vector datagram is 107 bytes, got %d", n);
	if (c->set_off >= 0)
		memset(d + c->set_off, c->set_val, (size_t)c->set_n);
	r = wire_hdr_parse(d, (size_t)(n + c->len_delta), &h);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s", c->name, chot_reason_name(c->want),
	             chot_reason_name(r));
}

Test(wire, hdr_fields)
{
	uint8_t d[WIRE_MAX_DGRAM];
	struct wire_hdr h;
	int n = vec_datagram(d, sizeof(d));

	cr_assert_eq(wire_hdr_parse(d, (size_t)n, &h), WIRE_OK);
	cr_assert_eq(h.version, 1);
	cr_assert_eq(h.flags, WIRE_FLAG_ACK);
	cr_assert_eq(h.key_id, 1);
	cr_assert_eq(h.device_id, VEC_DEVICE);
	cr_assert_eq(h.boot_epoch, 7);
	cr_assert_eq(h.batch_seq, 42);
	cr_assert_eq(h.body_len, n - WIRE_MIN_DGRAM, "body_len = datagram - 42");
}

/*
 * The authentication stage as chotd runs it: key generation lookup, device
 * key derivation, AEAD open.
 */
static enum chot_reason
auth_open(const uint8_t *d, size_t len, const struct chot_keys *k, uint8_t *pt)
{
	struct wire_hdr h;
	uint8_t devkey[32];
	const uint8_t *master;
	enum chot_reason r = wire_hdr_parse(d, len, &h);

	if (r != WIRE_OK)
		return r;
	master = keys_master(k, h.key_id);
	if (master == NULL)
		return AUTH_UNKNOWN_KEY;
	wire_device_key(devkey, master, h.device_id);
	return wire_open(pt, d, &h, devkey);
}

struct auth_case {
	char name[32];
	int flip_off;         /* byte to XOR with 0x01, -1 = none; negative from end: < -1 */
	int key_id;           /* rewrite key_id (then the AD changes too) */
	uint8_t master_first; /* first byte of the receiver's master key */
	enum chot_reason want;
};

ParameterizedTestParameters(wire, auth_reasons)
{
	static struct auth_case cases[] = {
	        {"valid", -1, 1, 0x00, WIRE_OK},
	        {"unknown key_id 2", -1, 2, 0x00, AUTH_UNKNOWN_KEY},
	        {"wrong master", -1, 1, 0x01, AUTH_TAG},
	        {"ciphertext bit", 30, 1, 0x00, AUTH_TAG},
	        {"tag bit", 106, 1, 0x00, AUTH_TAG},
	        {"AD: flags bit 0", 5, 1, 0x00, AUTH_TAG},
	        {"AD: epoch (nonce)", 15, 1, 0x00, AUTH_TAG},
	        {"AD: seq (nonce)", 23, 1, 0x00, AUTH_TAG},
	        {"AD: device (key)", 11, 1, 0x00, AUTH_TAG},
	};
	return cr_make_param_array(struct auth_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct auth_case *c, wire, auth_reasons)
{
	uint8_t d[WIRE_MAX_DGRAM], pt[WIRE_MAX_BODY];
	struct chot_keys k = {.n_master = 1};
	int n = vec_datagram(d, sizeof(d));
	enum chot_reason r;

	k.master[0].id = 1;
	vec_key(k.master[0].key, c->master_first);
	if (c->flip_off >= 0)
		d[c->flip_off] ^= 0x01;
	wire_put_be16(d + 6, (uint16_t)c->key_id);
	r = auth_open(d, (size_t)n, &k, pt);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s", c->name, chot_reason_name(c->want),
	             chot_reason_name(r));
}

Test(wire, seal_open_round_trip)
{
	uint8_t key[32], pt[WIRE_MAX_BODY], back[WIRE_MAX_BODY], d[WIRE_MAX_DGRAM];
	struct wire_hdr h = {.key_id = 3, .device_id = 99, .boot_epoch = 1}, p;

	cr_assert_eq(wire_init(), 0);
	vec_key(key, 0x55);
	for (size_t len = 0; len <= WIRE_MAX_BODY; len += 101) {
		randombytes_buf(pt, len);
		h.batch_seq = len + 1;
		cr_assert_eq(wire_seal(d, sizeof(d), &h, pt, len, key), (int)(len + 42),
		             "a %zu-byte body seals to %zu bytes", len, len + 42);
		cr_assert_eq(wire_hdr_parse(d, len + 42, &p), WIRE_OK, "sealed header parses");
		cr_assert_eq(p.body_len, len);
		cr_assert_eq(wire_open(back, d, &p, key), WIRE_OK, "sealed datagram opens");
		cr_assert(len == 0 || memcmp(back, pt, len) == 0, "plaintext survives");
	}
}

Test(wire, seal_limits)
{
	uint8_t key[32] = {0}, pt[WIRE_MAX_BODY + 1] = {0}, d[WIRE_MAX_DGRAM + 64];
	struct wire_hdr h = {.device_id = 1, .batch_seq = 1};

	cr_assert_eq(wire_init(), 0);
	cr_assert_eq(wire_seal(d, sizeof(d), &h, pt, WIRE_MAX_BODY, key), WIRE_MAX_DGRAM,
	             "a 1430-byte body makes a 1472-byte datagram");
	cr_assert_eq(wire_seal(d, sizeof(d), &h, pt, WIRE_MAX_BODY + 1, key), -EMSGSIZE,
	             "1431 bytes of body do not fit one frame");
	cr_assert_eq(wire_seal(d, 100, &h, pt, 59, key), -EMSGSIZE, "cap is honoured");
	h.device_id = 0;
	cr_assert_eq(wire_seal(d, sizeof(d), &h, pt, 1, key), -EINVAL, "device 0 is refused");
	h.device_id = 1;
	h.batch_seq = 0;
	cr_assert_eq(wire_seal(d, sizeof(d), &h, pt, 1, key), -EINVAL, "seq 0 is refused");
}

Test(wire, ack_round_trip_and_rejects)
{
	uint8_t master[32], ackkey[32], other[32], b[WIRE_ACK_LEN];
	struct wire_ack a = {.key_id = 1,
	                     .device_id = VEC_DEVICE,
	                     .boot_epoch = 7,
	                     .acked_seq = 42},
	                back;

	cr_assert_eq(wire_init(), 0);
	vec_key(master, 0);
	wire_ack_key(ackkey, master, VEC_DEVICE);
	wire_ack_key(other, master, VEC_DEVICE + 1);
	wire_ack_build(b, &a, ackkey);
	cr_assert_eq(wire_ack_verify(b, sizeof(b), ackkey, &back), 0, "own ACK verifies");
	cr_assert_eq(back.acked_seq, 42);
	cr_assert_eq(back.device_id, VEC_DEVICE);
	cr_assert_eq(back.boot_epoch, 7);
	cr_assert_eq(back.key_id, 1);
	cr_assert_eq(wire_ack_verify(b, sizeof(b), other, &back), -EBADMSG,
	             "another device's ACK key must not verify");
	cr_assert_eq(wire_ack_verify(b, sizeof(b) - 1, ackkey, &back), -EINVAL, "39 bytes");
	b[23] ^= 1; /* acked_seq changed: covered by the tag */
	cr_assert_eq(wire_ack_verify(b, sizeof(b), ackkey, &back), -EBADMSG, "forged seq");
	b[23] ^= 1;
	b[0] = 'X';
	cr_assert_eq(wire_ack_parse(b, sizeof(b), &back), -EINVAL, "bad ACK magic");
	b[0] = 'C';
	b[5] = 1;
	cr_assert_eq(wire_ack_parse(b, sizeof(b), &back), -EINVAL, "reserved must be 0");
}

Test(wire, device_and_ack_keys_differ)
{
	uint8_t master[32], d1[32], d2[32], a1[32];

	cr_assert_eq(wire_init(), 0);
	vec_key(master, 0);
	wire_device_key(d1, master, 1);
	wire_device_key(d2, master, 2);
	wire_ack_key(a1, master, 1);
	cr_assert_neq(memcmp(d1, d2, 32), 0, "per-device keys differ");
	cr_assert_neq(memcmp(d1, a1, 32), 0, "device and ACK keys differ");
}
