/*
 * Shared fixtures for the codec tests: the fixed inputs of the protocol test
 * vectors (docs/PROTOCOL.md) and a helper that builds the vector datagram, so
 * every table can start from a known-good datagram and change one thing.
 */
#ifndef CHOT_TEST_VEC_H
#define CHOT_TEST_VEC_H

#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>

#include "proto/validate.h"
#include "proto/wire.h"

#define VEC_DEVICE 0x01020304u
#define VEC_TS0 1637971200000ULL
#define VEC_NOW (VEC_TS0 + 120000)
#define VEC_RETENTION (21ULL * 86400000)

static inline void
vec_bytes(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

/* A 32-byte key first, first + 1, ... (the vectors: master 00.., pseudonym 20..). */
static inline void
vec_key(uint8_t k[32], uint8_t first)
{
	vec_bytes(k, 32, first);
}

static inline void
vec_events(Chot__V1__ScanEvent ev[2])
{
	chot__v1__scan_event__init(&ev[0]);
	ev[0].ts_ms = VEC_TS0;
	ev[0].site_id = 17;
	ev[0].scheme = CHOT__V1__ID_SCHEME__CCCD;
	ev[0].subject = (char *)"001203004567";
	ev[0].dir = CHOT__V1__DIRECTION__IN;
	ev[0].decl = CHOT__V1__DECLARATION__DECL_OK;
	ev[0].origin_commune = 26734;
	chot__v1__scan_event__init(&ev[1]);
	ev[1].ts_ms = VEC_TS0 + 60000;
	ev[1].site_id = 17;
	ev[1].scheme = CHOT__V1__ID_SCHEME__PLATE;
	ev[1].subject = (char *)"51g-123.45 ";
	ev[1].dir = CHOT__V1__DIRECTION__PASS;
	ev[1].passengers = 3;
}

/* The vector datagram (key_id 1, device 0x01020304, epoch 7, seq 42, ACK flag). */
static inline int
vec_datagram(uint8_t *out, size_t cap)
{
	Chot__V1__ScanEvent ev[2];
	const Chot__V1__ScanEvent *pev[2] = {&ev[0], &ev[1]};
	uint8_t body[WIRE_MAX_BODY], master[32], devkey[32];
	struct wire_hdr h = {.flags = WIRE_FLAG_ACK,
	                     .key_id = 1,
	                     .device_id = VEC_DEVICE,
	                     .boot_epoch = 7,
	                     .batch_seq = 42};
	int n;

	cr_assert_eq(wire_init(), 0, "sodium_init must succeed");
	vec_events(ev);
	n = wire_batch_pack(pev, 2, body, sizeof(body));
	cr_assert_gt(n, 0, "packing the vector batch must succeed, got %d", n);
	vec_key(master, 0);
	wire_device_key(devkey, master, VEC_DEVICE);
	n = wire_seal(out, cap, &h, body, (size_t)n, devkey);
	cr_assert_gt(n, 0, "sealing the vector batch must succeed, got %d", n);
	return n;
}

/* Parse a hex string (whitespace ignored) into out; returns the byte count. */
static inline size_t
vec_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t n = 0;
	int hi = -1;

	for (; *hex != '\0'; hex++) {
		int v;

		if (*hex >= '0' && *hex <= '9')
			v = *hex - '0';
		else if (*hex >= 'a' && *hex <= 'f')
			v = *hex - 'a' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
		} else {
			cr_assert_lt(n, cap, "hex constant larger than its buffer");
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

#endif /* CHOT_TEST_VEC_H */
