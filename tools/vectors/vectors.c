/*
 * chot-vectors: print the wire protocol v1 test vectors (docs/PROTOCOL.md)
 * and, with --corpus DIR, write the fuzzer's seed corpus.
 *
 * Everything is derived from fixed inputs (master key 00..1f, pseudonym key
 * 20..3f, key_id 1, device 0x01020304, epoch 7, seq 42 and two events), so
 * the output is byte-for-byte stable: PROTOCOL.md quotes it, the
 * proto-vectors-doc test diffs the two, and test_vectors.c checks the same
 * constants through the library.  A scanner vendor can reproduce every line
 * with any libsodium + protobuf implementation.
 *
 * Seed files start with one selector byte that tests/fuzz/fuzz_open.c reads
 * (0 datagram, 1 opened body, 2 ACK, 3 keys file text); the rest is the input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/pseudonym.h"
#include "proto/validate.h"
#include "proto/verdict.h"
#include "proto/wire.h"

#define VEC_KEY_ID 1
#define VEC_DEVICE 0x01020304u
#define VEC_EPOCH 7u
#define VEC_SEQ 42u
#define VEC_TS0 1637971200000ULL /* 2021-11-27T00:00:00Z */

struct vec_out {
	uint8_t master[32];
	uint8_t pkey[32];
	uint8_t devkey[32];
	uint8_t ackkey[32];
	uint8_t body[WIRE_MAX_BODY];
	int body_len;
	uint8_t dgram[WIRE_MAX_DGRAM];
	int dgram_len;
	uint8_t ack[WIRE_ACK_LEN];
	uint8_t dgram_v[WIRE_MAX_DGRAM];   /* the same batch with flags 0x03 */
	int dgram_v_len;
	uint8_t verdict[VERDICT_MAX_LEN];  /* its verdict: event 0 watch_f0, event 1 clear */
	int verdict_len;
};

static void
fill_seq(uint8_t *k, uint8_t first)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(first + i);
}

static void
vec_event_a(Chot__V1__ScanEvent *e)
{
	chot__v1__scan_event__init(e);
	e->ts_ms = VEC_TS0;
	e->site_id = 17;
	e->scheme = CHOT__V1__ID_SCHEME__CCCD;
	e->subject = (char *)"001203004567";
	e->dir = CHOT__V1__DIRECTION__IN;
	e->decl = CHOT__V1__DECLARATION__DECL_OK;
	e->origin_commune = 26734;
}

static void
vec_event_b(Chot__V1__ScanEvent *e)
{
	chot__v1__scan_event__init(e);
	e->ts_ms = VEC_TS0 + 60000;
	e->site_id = 17;
	e->scheme = CHOT__V1__ID_SCHEME__PLATE;
	e->subject = (char *)"51g-123.45 ";
	e->dir = CHOT__V1__DIRECTION__PASS;
	e->passengers = 3;
}

static int
vec_build(struct vec_out *v)
{
	Chot__V1__ScanEvent a, b;
	const Chot__V1__ScanEvent *evs[2] = {&a, &b};
	struct wire_hdr h = {
	        .flags = WIRE_FLAG_ACK,
	        .key_id = VEC_KEY_ID,
	        .device_id = VEC_DEVICE,
	        .boot_epoch = VEC_EPOCH,
	        .batch_seq = VEC_SEQ,
	};
	struct wire_ack ack = {
	        .key_id = VEC_KEY_ID,
	        .device_id = VEC_DEVICE,
	        .boot_epoch = VEC_EPOCH,
	        .acked_seq = VEC_SEQ,
	};
	struct wire_verdict verdict = {
	        .key_id = VEC_KEY_ID,
	        .device_id = VEC_DEVICE,
	        .boot_epoch = VEC_EPOCH,
	        .batch_seq = VEC_SEQ,
	        .n = 2,
	};

	fill_seq(v->master, 0x00);
	fill_seq(v->pkey, 0x20);
	wire_device_key(v->devkey, v->master, VEC_DEVICE);
	wire_ack_key(v->ackkey, v->master, VEC_DEVICE);
	vec_event_a(&a);
	vec_event_b(&b);
	v->body_len = wire_batch_pack(evs, 2, v->body, sizeof(v->body));
	if (v->body_len < 0)
		return v->body_len;
	v->dgram_len =
	        wire_seal(v->dgram, sizeof(v->dgram), &h, v->body, (size_t)v->body_len, v->devkey);
	if (v->dgram_len < 0)
		return v->dgram_len;
	wire_ack_build(v->ack, &ack, v->ackkey);
	h.flags = WIRE_FLAG_ACK | WIRE_FLAG_VERDICT;
	v->dgram_v_len =
	        wire_seal(v->dgram_v, sizeof(v->dgram_v), &h, v->body, (size_t)v->body_len, v->devkey);
	if (v->dgram_v_len < 0)
		return v->dgram_v_len;
	verdict.code[0] = 16;   /* watch_f0 */
	verdict.code[1] = 0;    /* clear */
	v->verdict_len = wire_verdict_build(v->verdict, sizeof(v->verdict), &verdict, v->ackkey);
	return v->verdict_len < 0 ? v->verdict_len : 0;
}

/* "name:" then the bytes as hex, 32 bytes a line, indented. */
static void
put_hex(const char *name, const uint8_t *p, size_t n)
{
	printf("%s: (%zu bytes)\n", name, n);
	for (size_t i = 0; i < n; i++)
		printf("%s%02x%s", i % 32 == 0 ? "  " : "", p[i],
		       i % 32 == 31 || i + 1 == n ? "\n" : "");
}

static int
vec_print(const struct vec_out *v)
{
	Chot__V1__ScanEvent a, b;
	const Chot__V1__ScanEvent *evs[2] = {&a, &b};
	char hex[PID_HEX_LEN + 1];

	vec_event_a(&a);
	vec_event_b(&b);
	printf("key_id: %u\ndevice_id: 0x%08x\nboot_epoch: %u\nbatch_seq: %u\nflags: 0x01\n",
	       VEC_KEY_ID, VEC_DEVICE, VEC_EPOCH, VEC_SEQ);
	put_hex("master_key", v->master, 32);
	put_hex("pseudonym_key", v->pkey, 32);
	put_hex("device_key", v->devkey, 32);
	put_hex("ack_key", v->ackkey, 32);
	for (int i = 0; i < 2; i++) {
		struct scan_event se;
		uint8_t pid[PID_LEN];
		enum chot_reason r =
		        wire_event_validate(evs[i], VEC_TS0 + 120000, 21ULL * 86400000, &se);

		if (r != WIRE_OK) {
			fprintf(stderr, "chot-vectors: event %d invalid: %s\n", i,
			        chot_reason_name(r));
			return -EINVAL;
		}
		chot_pseudonym(pid, v->pkey, se.scheme, se.subject, se.subject_len);
		chot_pid_hex(hex, pid);
		printf("event[%d]: ts_ms=%llu site_id=%u scheme=%s dir=%s subject=\"%s\" "
		       "normalised=\"%s\"\n",
		       i, (unsigned long long)se.ts_ms, se.site_id, wire_scheme_name(se.scheme),
		       wire_dir_name(se.dir), evs[i]->subject, se.subject);
		printf("event[%d].pid: %s\n", i, hex);
	}
	put_hex("nonce", (const uint8_t[]){0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 42}, WIRE_NONCE_LEN);
	put_hex("plaintext_scanbatch", v->body, (size_t)v->body_len);
	put_hex("datagram", v->dgram, (size_t)v->dgram_len);
	put_hex("ack_acked_seq_42", v->ack, WIRE_ACK_LEN);
	put_hex("datagram_flags_0x03", v->dgram_v, (size_t)v->dgram_v_len);
	printf("verdict codes: 16 0\n");
	put_hex("verdict_seq_42", v->verdict, (size_t)v->verdict_len);
	return 0;
}

static int
write_seed(const char *dir, const char *name, uint8_t sel, const void *p, size_t n)
{
	char path[4096];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return -errno;
	if (fwrite(&sel, 1, 1, f) != 1 || (n > 0 && fwrite(p, 1, n, f) != n))
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/* Besides the vector: a one-event datagram, 64- and 65-event bodies. */
static int
vec_corpus(const struct vec_out *v, const char *dir)
{
	static const char keys_txt[] =
	        "# seed\nmaster 1 "
	        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
	        "pseudonym 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n";
	Chot__V1__ScanEvent evs[WIRE_MAX_EVENTS + 1];
	const Chot__V1__ScanEvent *pevs[WIRE_MAX_EVENTS + 1];
	uint8_t body[WIRE_MAX_BODY * 4], dgram[WIRE_MAX_DGRAM];
	struct wire_hdr h = {
	        .key_id = VEC_KEY_ID, .device_id = VEC_DEVICE, .boot_epoch = 1, .batch_seq = 1};
	int n, rc = 0;

	for (int i = 0; i <= WIRE_MAX_EVENTS; i++) {
		vec_event_a(&evs[i]);
		evs[i].ts_ms += (uint64_t)i * 1000;
		evs[i].vehicle = (char *)"29A-999.99";
		pevs[i] = &evs[i];
	}
	rc |= write_seed(dir, "vector-datagram", 0, v->dgram, (size_t)v->dgram_len);
	rc |= write_seed(dir, "vector-body", 1, v->body, (size_t)v->body_len);
	rc |= write_seed(dir, "vector-ack", 2, v->ack, WIRE_ACK_LEN);
	rc |= write_seed(dir, "keys", 3, keys_txt, sizeof(keys_txt) - 1);
	n = wire_batch_pack(pevs, 1, body, sizeof(body));
	if (n > 0) {
		n = wire_seal(dgram, sizeof(dgram), &h, body, (size_t)n, v->devkey);
		if (n > 0)
			rc |= write_seed(dir, "one-event-datagram", 0, dgram, (size_t)n);
	}
	/* 64 and 65 small events: they must stay under the fuzzer's -max_len */
	for (int i = 0; i <= WIRE_MAX_EVENTS; i++) {
		chot__v1__scan_event__init(&evs[i]);
		evs[i].ts_ms = VEC_TS0 + (uint64_t)i;
		evs[i].site_id = 1;
		evs[i].scheme = CHOT__V1__ID_SCHEME__PASSPORT;
		evs[i].subject = (char *)"A";
		evs[i].dir = CHOT__V1__DIRECTION__IN;
	}
	evs[1].vehicle = (char *)"29A12345629A12345629A12345629A123"; /* 33 bytes */
	n = wire_batch_pack(pevs, WIRE_MAX_EVENTS, body, sizeof(body));
	if (n > 0)
		rc |= write_seed(dir, "max-events-body", 1, body, (size_t)n);
	n = wire_batch_pack(pevs, WIRE_MAX_EVENTS + 1, body, sizeof(body));
	if (n > 0)
		rc |= write_seed(dir, "too-many-events-body", 1, body, (size_t)n);
	return rc != 0 || n <= 0 ? -EIO : 0;
}

int
main(int argc, char **argv)
{
	struct vec_out v;
	int rc;

	if (wire_init() != 0) {
		fprintf(stderr, "chot-vectors: sodium_init failed\n");
		return 1;
	}
	if (argc > 1 && !(argc == 3 && strcmp(argv[1], "--corpus") == 0)) {
		fprintf(stderr, "usage: chot-vectors [--corpus DIR]\n");
		return 2;
	}
	rc = vec_build(&v);
	if (rc == 0)
		rc = argc == 3 ? vec_corpus(&v, argv[2]) : vec_print(&v);
	if (rc != 0) {
		fprintf(stderr, "chot-vectors: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
