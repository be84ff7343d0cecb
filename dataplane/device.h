/*
 * A worker's device table: device_id -> {cached keys, anti-replay window}.
 * Bounded (ingest.max_devices per worker), never evicts: a device's window
 * must outlive any retransmission.  A device is inserted only after one of
 * its datagrams authenticated, so forged device ids cannot fill the table.
 *
 * Keys are cached per key_id (master generation): during a rotation a
 * device's batches and retransmissions may carry either generation, and each
 * ACK must be tagged with the ACK key of the generation of the batch it
 * answers.  DP_DEV_KEYS generations are kept (old and new, the rotation of
 * docs/PROTOCOL.md); a third replaces the older of the two.  Keys enter the
 * cache only through dp_device_keys_commit(), which dataplane/admit.c calls
 * only after a tag verified under them (a forged key_id must not evict the
 * generation the device really uses).
 */
#ifndef CHOT_DP_DEVICE_H
#define CHOT_DP_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "replay.h"
#include "wire.h"

#define DP_DEV_KEYS 2

/* The two keys of one device under one master generation. */
struct dp_devkeys {
	uint16_t key_id;
	bool     valid;
	uint8_t  devkey[WIRE_KEY_LEN];
	uint8_t  ackkey[WIRE_KEY_LEN];
};

struct dp_device {
	uint32_t device_id;
	uint8_t  keys_next;                  /* the slot the next commit replaces */
	struct dp_devkeys keys[DP_DEV_KEYS];
	struct dp_window win;
};

struct dp_devices;

/* NULL with errno. name unique in the process. */
struct dp_devices *dp_devices_create(const char *name, uint32_t max, int socket);
void dp_devices_destroy(struct dp_devices *t);

/* The device, or NULL when unknown. */
struct dp_device *dp_devices_find(struct dp_devices *t, uint32_t device_id);

/* Insert a copy of *proto; the stored device, or NULL (table full). */
struct dp_device *dp_devices_add(struct dp_devices *t, const struct dp_device *proto);

uint32_t dp_devices_count(const struct dp_devices *t);

/* The cached keys of generation key_id, or NULL.  Pure. */
const struct dp_devkeys *dp_device_keys_find(const struct dp_device *d, uint16_t key_id);

/* Derive device_id's keys of generation key_id (master) into *k.  Pure. */
void dp_devkeys_derive(struct dp_devkeys *k, uint32_t device_id, uint16_t key_id,
		       const uint8_t master[WIRE_KEY_LEN]);

/*
 * Cache *k (already verified!) in d: replaces the entry of the same key_id,
 * else a free slot, else the older one.  Returns the cached copy.  Pure.
 */
const struct dp_devkeys *dp_device_keys_commit(struct dp_device *d, const struct dp_devkeys *k);

#endif /* CHOT_DP_DEVICE_H */
