/*
 * Device table (device.h): an rte_hash of device_id -> slot index into a
 * flat array of struct dp_device.  Slots are never freed, so a pointer to a
 * device stays valid for the worker's life (pending batches keep one).
 *
 * In front of the rte_hash, a small direct-mapped cache of device_id ->
 * slot (every datagram looks its device up; the cache is a few lines where
 * the hash's buckets and keys are spread over a table sized for max).
 * Entries are never invalidated: a slot, once given, is the device's for good.
 */
#include <errno.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include <sodium.h>

#include "device.h"

#define DEV_CACHE_BITS 10
#define DEV_CACHE_SIZE (1u << DEV_CACHE_BITS)

struct dev_cache_ent {
	uint32_t device_id;       /* 0: empty (device_id 0 is never valid) */
	uint32_t slot;
};

struct dp_devices {
	struct rte_hash *h;
	uint32_t n, max;
	struct dp_device *slots;
	struct dev_cache_ent cache[DEV_CACHE_SIZE];
};

static inline struct dev_cache_ent *
dev_cache_ent(struct dp_devices *t, uint32_t device_id)
{
	return &t->cache[(device_id * 0x9e3779b1u) >> (32 - DEV_CACHE_BITS)];
}

struct dp_devices *
dp_devices_create(const char *name, uint32_t max, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = max,
		.key_len = sizeof(uint32_t),
		.hash_func = rte_hash_crc,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dp_devices *t = rte_zmalloc_socket("devices", sizeof(*t), 0, socket);

	if (t == NULL)
		goto nomem;
	t->max = max;
	t->slots = rte_zmalloc_socket("device_slots", (size_t)max * sizeof(*t->slots), 0, socket);
	if (t->slots == NULL)
		goto nomem;
	t->h = rte_hash_create(&p);
	if (t->h == NULL)
		goto nomem;
	return t;
nomem:
	if (t != NULL) {
		rte_free(t->slots);
		rte_free(t);
	}
	errno = ENOMEM;
	return NULL;
}

void
dp_devices_destroy(struct dp_devices *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->h);
	sodium_memzero(t->slots, (size_t)t->max * sizeof(*t->slots));
	rte_free(t->slots);
	rte_free(t);
}

struct dp_device *
dp_devices_find(struct dp_devices *t, uint32_t device_id)
{
	struct dev_cache_ent *c = dev_cache_ent(t, device_id);
	void *data;

	if (c->device_id == device_id && device_id != 0)
		return &t->slots[c->slot];
	if (rte_hash_lookup_data(t->h, &device_id, &data) < 0)
		return NULL;
	c->device_id = device_id;
	c->slot = (uint32_t)(uintptr_t)data;
	return &t->slots[(uintptr_t)data];
}

struct dp_device *
dp_devices_add(struct dp_devices *t, const struct dp_device *proto)
{
	struct dp_device *d;

	if (t->n == t->max)
		return NULL;
	if (rte_hash_add_key_data(t->h, &proto->device_id, (void *)(uintptr_t)t->n) < 0)
		return NULL;
	d = &t->slots[t->n];
	*d = *proto;
	dev_cache_ent(t, proto->device_id)->device_id = proto->device_id;
	dev_cache_ent(t, proto->device_id)->slot = t->n++;
	return d;
}

uint32_t
dp_devices_count(const struct dp_devices *t)
{
	return t->n;
}

const struct dp_devkeys *
dp_device_keys_find(const struct dp_device *d, uint16_t key_id)
{
	unsigned i;

	for (i = 0; i < DP_DEV_KEYS; i++)
		if (d->keys[i].valid && d->keys[i].key_id == key_id)
			return &d->keys[i];
	return NULL;
}

void
dp_devkeys_derive(struct dp_devkeys *k, uint32_t device_id, uint16_t key_id,
		  const uint8_t master[WIRE_KEY_LEN])
{
	wire_device_key(k->devkey, master, device_id);
	wire_ack_key(k->ackkey, master, device_id);
	k->key_id = key_id;
	k->valid = true;
}

const struct dp_devkeys *
dp_device_keys_commit(struct dp_device *d, const struct dp_devkeys *k)
{
	struct dp_devkeys *slot = (struct dp_devkeys *)dp_device_keys_find(d, k->key_id);
	unsigned i;

	if (slot == NULL) {
		for (i = 0; i < DP_DEV_KEYS && slot == NULL; i++)
			if (!d->keys[i].valid)
				slot = &d->keys[i];
		if (slot == NULL) {
			slot = &d->keys[d->keys_next];
			d->keys_next = (uint8_t)((d->keys_next + 1) % DP_DEV_KEYS);
		}
	}
	if (slot != k)
		*slot = *k;
	return slot;
}
