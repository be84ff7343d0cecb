/*
 * The protocol test vectors of docs/PROTOCOL.md as hex constants, recomputed
 * through libchotwire.  If any of these change, every deployed scanner
 * breaks: update the doc, the vectors tool and this file together, on purpose.
 */
#include <criterion/criterion.h>

#include "proto/pseudonym.h"
#include "proto/verdict.h"
#include "vec.h"

#define DEVICE_KEY "fb429125108b7f44cd58a4c112a0e2a18fd4801785b70e4e757333f3615a8e86"
#define ACK_KEY "8469c50396224d6ed100d9f7388778c8dedeaf5026d012fe29021e045712e5e9"
#define PID_CCCD "294ebd1234323414904729f25a266a3d"
#define PID_PLATE "6a376dfeff23483c128b95b9c9217315"
#define PLAINTEXT                                                                                  \
	"0a21088090c4f5d52f10111801220c3030313230333030343536372801300138"                         \
	"eed0010a1c08e0e4c7f5d52f10111805220b3531672d3132332e343520280348"                         \
	"03"
#define DATAGRAM                                                                                   \
	"43485431010100010102030400000007000000000000002a00413f99066d81ef"                         \
	"a400ff31768d7a86fd47bd8c2e9d1be60469eefb38d34912631baa0cd3860380"                         \
	"202f929381c3fe5d4e8100adc1fec411b64d557ee09fac2aac8ff591241d365b"                         \
	"0c09b665b8dd07cad11731"
#define ACK                                                                                        \
	"43484131010000010102030400000007000000000000002ae3230a71832b3914"                         \
	"5ad0d3deccdd0965"
#define VERDICT                                                                                    \
	"43485631010200010102030400000007000000000000002a00100000b523b9ec"                         \
	"16639987425bdf0539b6c0ea"

static void
assert_hex(const uint8_t *got, size_t n, const char *want_hex, const char *what)
{
	uint8_t want[WIRE_MAX_DGRAM];
	size_t wn = vec_unhex(want, sizeof(want), want_hex);

	cr_assert_eq(n, wn, "%s: expected %zu bytes, got %zu", what, wn, n);
	cr_assert_eq(memcmp(got, want, n), 0, "%s differs from the documented vector", what);
}

Test(vectors, keys)
{
	uint8_t master[32], k[32];

	cr_assert_eq(wire_init(), 0);
	vec_key(master, 0);
	wire_device_key(k, master, VEC_DEVICE);
	assert_hex(k, 32, DEVICE_KEY, "device key");
	wire_ack_key(k, master, VEC_DEVICE);
	assert_hex(k, 32, ACK_KEY, "ACK key");
}

Test(vectors, pseudonyms)
{
	Chot__V1__ScanEvent ev[2];
	static const char *want[2] = {PID_CCCD, PID_PLATE};
	uint8_t pkey[32], pid[PID_LEN];
	char hex[PID_HEX_LEN + 1];

	cr_assert_eq(wire_init(), 0);
	vec_key(pkey, 0x20);
	vec_events(ev);
	for (int i = 0; i < 2; i++) {
		struct scan_event se;

		cr_assert_eq(wire_event_validate(&ev[i], VEC_NOW, VEC_RETENTION, &se), WIRE_OK);
		chot_pseudonym(pid, pkey, se.scheme, se.subject, se.subject_len);
		chot_pid_hex(hex, pid);
		cr_assert_str_eq(hex, want[i], "pid of event %d", i);
	}
}

Test(vectors, plaintext_datagram_and_ack)
{
	Chot__V1__ScanEvent ev[2];
	const Chot__V1__ScanEvent *pev[2] = {&ev[0], &ev[1]};
	uint8_t body[256], d[WIRE_MAX_DGRAM], master[32], ackkey[32], devkey[32];
	uint8_t ack[WIRE_ACK_LEN], pt[256];
	struct wire_ack a = {
	        .key_id = 1, .device_id = VEC_DEVICE, .boot_epoch = 7, .acked_seq = 42};
	struct wire_hdr h;
	int n;

	vec_events(ev);
	n = wire_batch_pack(pev, 2, body, sizeof(body));
	assert_hex(body, (size_t)n, PLAINTEXT, "plaintext ScanBatch");
	n = vec_datagram(d, sizeof(d));
	assert_hex(d, (size_t)n, DATAGRAM, "datagram");
	vec_key(master, 0);
	wire_ack_key(ackkey, master, VEC_DEVICE);
	wire_ack_build(ack, &a, ackkey);
	assert_hex(ack, sizeof(ack), ACK, "ACK");

	/* and the documented datagram opens back to the documented plaintext */
	n = (int)vec_unhex(d, sizeof(d), DATAGRAM);
	cr_assert_eq(wire_hdr_parse(d, (size_t)n, &h), WIRE_OK);
	wire_device_key(devkey, master, h.device_id);
	cr_assert_eq(wire_open(pt, d, &h, devkey), WIRE_OK);
	assert_hex(pt, h.body_len, PLAINTEXT, "opened plaintext");
}

Test(vectors, verdict)
{
	uint8_t master[32], ackkey[32], buf[VERDICT_MAX_LEN];
	struct wire_verdict v = {.key_id = 1, .device_id = VEC_DEVICE, .boot_epoch = 7,
				 .batch_seq = 42, .n = 2, .code = {16, 0}}, d;
	int n;

	cr_assert_eq(wire_init(), 0);
	vec_key(master, 0);
	wire_ack_key(ackkey, master, VEC_DEVICE);
	n = wire_verdict_build(buf, sizeof(buf), &v, ackkey);
	assert_hex(buf, (size_t)n, VERDICT, "verdict");
	cr_assert_eq(wire_verdict_verify(buf, (size_t)n, ackkey, &d), 0);
	cr_expect_eq(d.code[0], 16);
}
