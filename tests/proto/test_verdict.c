/*
 * The CHV1 verdict codec (proto/verdict.c): layout, tag, and every way a
 * scanner must refuse one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "proto/lists.h"
#include "proto/verdict.h"

static const uint8_t key[WIRE_KEY_LEN] = {1, 2, 3};

static struct wire_verdict
sample(uint8_t n)
{
	struct wire_verdict v = {.key_id = 1, .device_id = 0x01020304, .boot_epoch = 7,
				 .batch_seq = 42, .n = n};

	for (unsigned i = 0; i < n; i++)
		v.code[i] = i % 3 == 0 ? CHK_CLEAR : i % 3 == 1 ? 16 : CHK_INVALID;
	return v;
}

Test(verdict, layout_and_roundtrip)
{
	struct wire_verdict v = sample(3), d;
	uint8_t buf[VERDICT_MAX_LEN], tag[16];
	int n;

	cr_assert_eq(wire_init(), 0);
	n = wire_verdict_build(buf, sizeof(buf), &v, key);
	cr_assert_eq(n, 24 + 6 + 16);
	cr_expect_eq(memcmp(buf, "CHV1\x01\x03\x00\x01\x01\x02\x03\x04\x00\x00\x00\x07", 16), 0);
	cr_expect_eq(wire_get_be64(buf + 16), 42);
	cr_expect_eq(wire_get_be16(buf + 24), 0);
	cr_expect_eq(wire_get_be16(buf + 26), 16);
	cr_expect_eq(wire_get_be16(buf + 28), 1);
	crypto_generichash(tag, 16, buf, 30, key, WIRE_KEY_LEN);
	cr_expect_eq(memcmp(buf + 30, tag, 16), 0, "tag = BLAKE2b-128(ACK key, [0, 24+2n))");
	cr_assert_eq(wire_verdict_verify(buf, (size_t)n, key, &d), 0);
	cr_expect_eq(d.n, 3);
	cr_expect_eq(d.device_id, v.device_id);
	cr_expect_eq(d.boot_epoch, 7);
	cr_expect_eq(d.batch_seq, 42);
	cr_expect_eq(d.key_id, 1);
	cr_expect_eq(memcmp(d.code, v.code, 6), 0);
}

Test(verdict, sizes)
{
	struct wire_verdict v = sample(WIRE_MAX_EVENTS), d;
	uint8_t buf[VERDICT_MAX_LEN + 8];

	cr_assert_eq(wire_init(), 0);
	cr_expect_eq(wire_verdict_build(buf, sizeof(buf), &v, key), VERDICT_MAX_LEN);
	cr_expect_eq(wire_verdict_verify(buf, VERDICT_MAX_LEN, key, &d), 0);
	cr_expect_eq(wire_verdict_build(buf, VERDICT_MAX_LEN - 1, &v, key), -EMSGSIZE);
	v.n = 0;
	cr_expect_eq(wire_verdict_build(buf, sizeof(buf), &v, key), -EINVAL);
	v.n = WIRE_MAX_EVENTS + 1;
	cr_expect_eq(wire_verdict_build(buf, sizeof(buf), &v, key), -EINVAL);
}

Test(verdict, refusals)
{
	struct wire_verdict v = sample(2), d;
	uint8_t buf[VERDICT_MAX_LEN], m[VERDICT_MAX_LEN], other[WIRE_KEY_LEN] = {9};
	int n;

	cr_assert_eq(wire_init(), 0);
	n = wire_verdict_build(buf, sizeof(buf), &v, key);
	cr_assert_gt(n, 0);
	cr_expect_eq(wire_verdict_verify(buf, (size_t)n, other, &d), -EBADMSG, "wrong key");
	for (int i = 0; i < n; i++) {
		memcpy(m, buf, (size_t)n);
		m[i] ^= 0x01;
		cr_expect_neq(wire_verdict_verify(m, (size_t)n, key, &d), 0, "bit flip at %d", i);
	}
	cr_expect_eq(wire_verdict_verify(buf, (size_t)n - 1, key, &d), -EINVAL, "short");
	cr_expect_eq(wire_verdict_verify(buf, 20, key, &d), -EINVAL, "header only");
	memcpy(m, buf, (size_t)n);
	m[5] = 3;   /* n says 3 events, length says 2 */
	cr_expect_eq(wire_verdict_parse(m, (size_t)n, &d), -EINVAL);
	m[5] = 0;
	cr_expect_eq(wire_verdict_parse(m, 24 + 16, &d), -EINVAL, "n = 0");
	memcpy(m, "CHA1", 4);
	cr_expect_eq(wire_verdict_parse(m, (size_t)n, &d), -EINVAL, "an ACK is not a verdict");
	memcpy(m, buf, (size_t)n);
	m[4] = 2;
	cr_expect_eq(wire_verdict_parse(m, (size_t)n, &d), -EINVAL, "version 2");
}
