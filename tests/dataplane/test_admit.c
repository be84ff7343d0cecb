/*
 * Admission (dataplane/admit.c) with real libsodium and two master
 * generations: a forged datagram changes nothing about its device (keys
 * cache, window, epoch) and is never a replay; each authentic datagram is
 * answered with the ACK key of its own key_id.  The per-device keys cache
 * is pure and tested without EAL; dp_admit() needs the device table (an
 * rte_hash), so those tests bring up a private in-memory EAL.
 */
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <rte_eal.h>

#include "eal.h"

#include "admit.h"

#define HEX1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2 "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
#define HEX3 "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"

static struct chot_keys keys;

static void
keys_up(void)
{
	char err[128];

	cr_assert_eq(wire_init(), 0);
	cr_assert_eq(keys_parse("master 1 " HEX1 "\nmaster 2 " HEX2 "\nmaster 3 " HEX3
				"\npseudonym " HEX1 "\nvault " HEX2 "\n", &keys, err, sizeof(err)),
		     0, "%s", err);
}

/* ---- the keys cache: pure ---- */

static struct dp_devkeys
gen(uint32_t dev, uint16_t key_id)
{
	struct dp_devkeys k;

	dp_devkeys_derive(&k, dev, key_id, keys_master(&keys, key_id));
	return k;
}

TestSuite(device_keys, .init = keys_up);

Test(device_keys, cache_holds_two_generations)
{
	struct dp_device d = { .device_id = 7 };
	struct dp_devkeys k1 = gen(7, 1), k2 = gen(7, 2), k3 = gen(7, 3);
	uint8_t want[WIRE_KEY_LEN];

	cr_assert_null(dp_device_keys_find(&d, 1), "empty cache");
	dp_device_keys_commit(&d, &k1);
	dp_device_keys_commit(&d, &k2);
	cr_assert_not_null(dp_device_keys_find(&d, 1), "generation 1 kept");
	cr_assert_not_null(dp_device_keys_find(&d, 2), "generation 2 kept");
	wire_ack_key(want, keys_master(&keys, 1), 7);
	cr_assert_eq(memcmp(dp_device_keys_find(&d, 1)->ackkey, want, sizeof(want)), 0,
		     "generation 1's ACK key is generation 1's");
	dp_device_keys_commit(&d, &k2);
	cr_assert_not_null(dp_device_keys_find(&d, 1), "re-committing 2 keeps 1");
	dp_device_keys_commit(&d, &k3);
	cr_assert_null(dp_device_keys_find(&d, 1), "a third generation replaces the older");
	cr_assert_not_null(dp_device_keys_find(&d, 2));
	cr_assert_not_null(dp_device_keys_find(&d, 3));
	cr_assert_null(dp_device_keys_find(&d, 9), "an unknown key_id is not cached");
}

/* ---- dp_admit ---- */

static void
eal_up(void)
{
	keys_up();
	test_eal_up("chotadm", "64");
}


TestSuite(admit, .init = eal_up, .fini = test_eal_down, .timeout = 30);

struct dg {
	uint8_t b[WIRE_MAX_DGRAM];
	struct wire_hdr h;
};

/* An honest datagram of dev sealed with generation key_id. */
static struct dg
honest(uint32_t dev, uint16_t key_id, uint32_t epoch, uint64_t seq)
{
	static const uint8_t body[] = { 0x0a, 0x02, 0x10, 0x01 };
	struct dg d = { .h = { .flags = WIRE_FLAG_ACK, .key_id = key_id, .device_id = dev,
			       .boot_epoch = epoch, .batch_seq = seq } };
	uint8_t devkey[WIRE_KEY_LEN];
	int n;

	wire_device_key(devkey, keys_master(&keys, key_id), dev);
	n = wire_seal(d.b, sizeof(d.b), &d.h, body, sizeof(body), devkey);
	cr_assert_gt(n, 0);
	cr_assert_eq(wire_hdr_parse(d.b, (size_t)n, &d.h), WIRE_OK);
	return d;
}

/* What anyone can write: a header, a zeroed body and tag. */
static struct dg
forged(uint32_t dev, uint16_t key_id, uint32_t epoch, uint64_t seq)
{
	struct dg d = { .h = { .version = 1, .flags = WIRE_FLAG_ACK, .key_id = key_id,
			       .device_id = dev, .boot_epoch = epoch, .batch_seq = seq,
			       .body_len = 4 } };

	memset(d.b, 0, sizeof(d.b));
	wire_hdr_write(d.b, &d.h);
	cr_assert_eq(wire_hdr_parse(d.b, WIRE_MIN_DGRAM + 4, &d.h), WIRE_OK);
	return d;
}

static struct dp_devices *devs;
static struct dp_admit a;
static uint8_t pt[WIRE_MAX_BODY];

static enum chot_reason
admit(const struct dg *d)
{
	return dp_admit(devs, &keys, d->b, &d->h, pt, &a);
}

/* a.keys must be generation key_id's keys of dev. */
static void
assert_ackkey(uint32_t dev, uint16_t key_id, const char *what)
{
	uint8_t want[WIRE_KEY_LEN];

	wire_ack_key(want, keys_master(&keys, key_id), dev);
	cr_assert_not_null(a.keys, "%s: keys set", what);
	cr_assert_eq(a.keys->key_id, key_id, "%s: keys of key_id %u, got %u", what, key_id,
		     a.keys->key_id);
	cr_assert_eq(memcmp(a.keys->ackkey, want, sizeof(want)), 0,
		     "%s: the ACK key is generation %u's", what, key_id);
}

#define ASSERT_ADMIT(d, want, what)                                                   \
	do {                                                                          \
		enum chot_reason r_ = admit(d);                                       \
		cr_assert_eq(r_, want, "%s: expected %s, got %s", what,               \
			     chot_reason_name(want), chot_reason_name(r_));           \
	} while (0)

/* Admitting a forgery must leave the device byte for byte as it was. */
static void
assert_forgery_changes_nothing(const struct dg *d, const char *what)
{
	struct dp_device *dev = dp_devices_find(devs, d->h.device_id), before;

	cr_assert_not_null(dev);
	memcpy(&before, dev, sizeof(before));
	ASSERT_ADMIT(d, AUTH_TAG, what);
	cr_assert_null(a.dev, "%s: no device handed out", what);
	cr_assert_eq(memcmp(&before, dev, sizeof(before)), 0,
		     "%s: the device (keys, window, epoch) changed", what);
}

Test(admit, forged_other_generation_changes_nothing)
{
	struct dg h1 = honest(11, 1, 1, 1), f2 = forged(11, 2, 1, 2), f2old = forged(11, 2, 1, 1);

	devs = dp_devices_create("adm1", 64, 0);
	cr_assert_not_null(devs);
	ASSERT_ADMIT(&h1, WIRE_OK, "honest key 1");
	assert_ackkey(11, 1, "honest key 1");
	assert_forgery_changes_nothing(&f2, "forged key 2, new seq");
	assert_forgery_changes_nothing(&f2old, "forged key 2, the stored seq");
	ASSERT_ADMIT(&h1, WIN_REPLAY, "honest re-send");
	assert_ackkey(11, 1, "honest re-send");
	cr_assert_eq(dp_admit_ackkey(a.dev, 1, &keys, &a.scratch), a.keys->ackkey,
		     "generation 1 is cached, no KDF");
	dp_devices_destroy(devs);
}

Test(admit, honest_mixed_generations)
{
	struct dg b1 = honest(12, 1, 1, 1), b2 = honest(12, 2, 1, 2), b3 = honest(12, 3, 1, 3);
	struct dp_devkeys scratch;
	uint8_t want[WIRE_KEY_LEN];

	devs = dp_devices_create("adm2", 64, 0);
	ASSERT_ADMIT(&b1, WIRE_OK, "key 1");
	assert_ackkey(12, 1, "key 1");
	ASSERT_ADMIT(&b2, WIRE_OK, "key 2");
	assert_ackkey(12, 2, "key 2");
	ASSERT_ADMIT(&b1, WIN_REPLAY, "key-1 batch re-sent");
	assert_ackkey(12, 1, "key-1 batch re-sent");
	/* A third generation takes a cache slot; an ACK due later for a key-1
	 * batch still gets generation 1's key (derived again). */
	ASSERT_ADMIT(&b3, WIRE_OK, "key 3");
	wire_ack_key(want, keys_master(&keys, 1), 12);
	cr_assert_eq(memcmp(dp_admit_ackkey(a.dev, 1, &keys, &scratch), want, sizeof(want)), 0,
		     "a completion's ACK for a key-1 batch uses generation 1");
	cr_assert_null(dp_admit_ackkey(a.dev, 9, &keys, &scratch), "unknown key_id: no key");
	dp_devices_destroy(devs);
}

Test(admit, forged_window_outcomes_are_bad_tags)
{
	struct dg e2 = honest(13, 1, 2, 1), far = honest(13, 1, 2, 1000);
	struct dg replay = forged(13, 1, 2, 1), stale = forged(13, 1, 1, 5);
	struct dg too_old = forged(13, 1, 2, 3), stranger = forged(14, 1, 1, 1);
	struct dg unknown = forged(13, 9, 2, 1001);

	devs = dp_devices_create("adm3", 64, 0);
	ASSERT_ADMIT(&e2, WIRE_OK, "honest epoch 2 seq 1");
	ASSERT_ADMIT(&far, WIRE_OK, "honest epoch 2 seq 1000");
	assert_forgery_changes_nothing(&replay, "header of a stored batch, zero body");
	assert_forgery_changes_nothing(&stale, "older epoch, zero body");
	assert_forgery_changes_nothing(&too_old, "seq below the window, zero body");
	ASSERT_ADMIT(&unknown, AUTH_UNKNOWN_KEY, "unknown key_id");
	ASSERT_ADMIT(&stranger, AUTH_TAG, "forged unknown device");
	cr_assert_eq(dp_devices_count(devs), 1, "a forgery adds no device");
	/* The honest ones are classified once authentic. */
	ASSERT_ADMIT(&e2, WIN_TOO_OLD, "honest seq 1, now below the window");
	assert_ackkey(13, 1, "honest too old");
	ASSERT_ADMIT(&far, WIN_REPLAY, "honest seq 1000 again");
	dp_devices_destroy(devs);
}

Test(admit, stale_epoch_once_authentic)
{
	struct dg e2 = honest(15, 1, 2, 1), e1 = honest(15, 2, 1, 7);

	devs = dp_devices_create("adm4", 64, 0);
	ASSERT_ADMIT(&e2, WIRE_OK, "epoch 2");
	ASSERT_ADMIT(&e1, WIN_STALE_EPOCH, "authentic epoch 1 (key 2)");
	assert_ackkey(15, 2, "stale, authentic");
	cr_assert_eq(a.dev->win.epoch, 2, "the window stays on epoch 2");
	dp_devices_destroy(devs);
}
