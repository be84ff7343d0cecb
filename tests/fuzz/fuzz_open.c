/*
 * libFuzzer harness for everything libchotwire reads from the outside.
 *
 * The first input byte selects the entry point, the rest is the input:
 *   0  a datagram: wire_hdr_parse -> key lookup (master 00..1f is key_id 1)
 *      -> wire_open -> wire_batch_decode -> wire_event_validate, as chotd runs it
 *   1  an already-opened body, so the fuzzer reaches the protobuf decoder and
 *      the validators without having to forge a Poly1305 tag
 *   2  an ACK: wire_ack_parse / wire_ack_verify
 *   3  keys file text: keys_parse
 * Seeds come from `chot-vectors --corpus DIR` (tests/fuzz/run-fuzz.sh).
 *
 * Besides the sanitizers, the harness asserts the codec's promises: the arena
 * never reports more than its size, a decoded batch has 1..64 events, and a
 * validated event's subject is NUL-terminated, 1..32 bytes, of the scheme's
 * alphabet.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/keys.h"
#include "proto/pseudonym.h"
#include "proto/validate.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1637971320000ULL
#define RETENTION (21ULL * 86400000)

static struct wire_arena arena;

static void
check(int ok)
{
	if (!ok)
		abort();
}

static void
fuzz_body(const uint8_t *body, size_t len)
{
	static const uint8_t pkey[32] = {0x20};
	Chot__V1__ScanBatch *b = NULL;
	enum chot_reason r;

	wire_arena_reset(&arena);
	r = wire_batch_decode(body, len, &arena, &b);
	check(arena.high_water <= WIRE_ARENA_SIZE);
	check(chot_reason_counter(r) == (r == WIRE_OK ? CTR_NONE : CTR_DECODE_ERRORS));
	if (r != WIRE_OK)
		return;
	check(b->n_events >= 1 && b->n_events <= WIRE_MAX_EVENTS);
	for (size_t i = 0; i < b->n_events; i++) {
		struct scan_event se;
		uint8_t pid[PID_LEN];

		r = wire_event_validate(b->events[i], NOW_MS, RETENTION, &se);
		check(r == WIRE_OK || chot_reason_counter(r) == CTR_BAD_EVENTS);
		if (r != WIRE_OK)
			continue;
		check(se.subject_len >= 1 && se.subject_len <= WIRE_SUBJECT_MAX);
		check(strlen(se.subject) == se.subject_len);
		check(strlen(se.vehicle) == se.vehicle_len);
		check(se.scheme >= 1 && se.scheme <= SCHEME__MAX);
		for (size_t j = 0; j < se.subject_len; j++)
			check(se.subject[j] > 0x20 && se.subject[j] < 0x7f);
		chot_pseudonym(pid, pkey, se.scheme, se.subject, se.subject_len);
	}
}

static void
fuzz_datagram(const uint8_t *d, size_t len)
{
	static uint8_t master[32];
	static uint8_t pt[WIRE_MAX_BODY];
	uint8_t devkey[32];
	struct wire_hdr h;
	enum chot_reason r;

	for (int i = 0; i < 32; i++)
		master[i] = (uint8_t)i;
	r = wire_hdr_parse(d, len, &h);
	check(r == WIRE_OK || chot_reason_counter(r) == CTR_BAD_HEADER);
	if (r != WIRE_OK)
		return;
	check(len == (size_t)WIRE_MIN_DGRAM + h.body_len && len <= WIRE_MAX_DGRAM);
	if (h.key_id != 1)
		return; /* AUTH_UNKNOWN_KEY */
	wire_device_key(devkey, master, h.device_id);
	if (wire_open(pt, d, &h, devkey) != WIRE_OK)
		return;
	fuzz_body(pt, h.body_len);
}

static void
fuzz_ack(const uint8_t *d, size_t len)
{
	static const uint8_t key[32] = {1};
	struct wire_ack a;
	int rc = wire_ack_verify(d, len, key, &a);

	check(rc == 0 || rc == -EINVAL || rc == -EBADMSG);
	check((wire_ack_parse(d, len, &a) == 0) == (len == WIRE_ACK_LEN && rc != -EINVAL));
}

static void
fuzz_keys(const uint8_t *d, size_t len)
{
	static struct chot_keys k;
	char *text = malloc(len + 1), err[256];
	int rc;

	if (text == NULL)
		return;
	memcpy(text, d, len);
	text[len] = '\0';
	rc = keys_parse(text, &k, err, sizeof(err));
	check(rc == 0 || rc == -EINVAL || rc == -ENOKEY);
	check(rc != 0 || (k.n_master >= 1 && k.has_pseudonym));
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		check(wire_init() == 0);
		wire_arena_init(&arena);
		ready = 1;
	}
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fuzz_datagram(data + 1, size - 1);
		break;
	case 1:
		fuzz_body(data + 1, size - 1);
		break;
	case 2:
		fuzz_ack(data + 1, size - 1);
		break;
	default:
		fuzz_keys(data + 1, size - 1);
		break;
	}
	return 0;
}
