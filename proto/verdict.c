/*
 * The CHV1 verdict codec (see verdict.h).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "verdict.h"

const uint8_t wire_verdict_magic[4] = {'C', 'H', 'V', '1'};

int
wire_verdict_build(uint8_t *out, size_t cap, const struct wire_verdict *v,
		   const uint8_t ackkey[WIRE_KEY_LEN])
{
	size_t body, len;

	if (v->n == 0 || v->n > WIRE_MAX_EVENTS)
		return -EINVAL;
	len = wire_verdict_len(v->n);
	if (len > cap)
		return -EMSGSIZE;
	body = len - VERDICT_TAG_LEN;
	memcpy(out, wire_verdict_magic, 4);
	out[4] = WIRE_VERSION;
	out[5] = v->n;
	wire_put_be16(out + 6, v->key_id);
	wire_put_be32(out + 8, v->device_id);
	wire_put_be32(out + 12, v->boot_epoch);
	wire_put_be64(out + 16, v->batch_seq);
	for (unsigned i = 0; i < v->n; i++)
		wire_put_be16(out + VERDICT_FIXED_LEN + 2 * i, v->code[i]);
	crypto_generichash(out + body, VERDICT_TAG_LEN, out, body, ackkey, WIRE_KEY_LEN);
	return (int)len;
}

int
wire_verdict_parse(const uint8_t *buf, size_t len, struct wire_verdict *v)
{
	if (len < wire_verdict_len(1) || memcmp(buf, wire_verdict_magic, 4) != 0 ||
	    buf[4] != WIRE_VERSION || buf[5] == 0 || buf[5] > WIRE_MAX_EVENTS ||
	    len != wire_verdict_len(buf[5]))
		return -EINVAL;
	v->n = buf[5];
	v->key_id = wire_get_be16(buf + 6);
	v->device_id = wire_get_be32(buf + 8);
	v->boot_epoch = wire_get_be32(buf + 12);
	v->batch_seq = wire_get_be64(buf + 16);
	for (unsigned i = 0; i < v->n; i++)
		v->code[i] = wire_get_be16(buf + VERDICT_FIXED_LEN + 2 * i);
	return 0;
}

int
wire_verdict_verify(const uint8_t *buf, size_t len, const uint8_t ackkey[WIRE_KEY_LEN],
		    struct wire_verdict *v)
{
	uint8_t tag[VERDICT_TAG_LEN];
	size_t body;

	if (wire_verdict_parse(buf, len, v) != 0)
		return -EINVAL;
	body = len - VERDICT_TAG_LEN;
	crypto_generichash(tag, sizeof(tag), buf, body, ackkey, WIRE_KEY_LEN);
	if (sodium_memcmp(tag, buf + body, sizeof(tag)) != 0)
		return -EBADMSG;
	return 0;
}
