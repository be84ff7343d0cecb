/*
 * A worker's device table: device_id -> {cached keys, anti-replay window}.
 * Bounded (ingest.max_devices per worker), never evicts: a device's window
 * must outlive any retransmission.  A device is inserted only after one of
 * its datagrams authenticated, so forged device ids cannot fill the table.
 * Keys are derived on first sight (and again if the key generation
 * changes) with wire_device_key / wire_ack_key.
 */
#ifndef CHOT_DP_DEVICE_H
#define CHOT_DP_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "replay.h"
#include "wire.h"

struct dp_device {
	uint32_t device_id;
	uint16_t key_id;
	bool     has_key;
	uint8_t  devkey[WIRE_KEY_LEN];
	uint8_t  ackkey[WIRE_KEY_LEN];
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

/* Make sure d->devkey / ackkey are those of master generation key_id. */
void dp_device_keys(struct dp_device *d, uint16_t key_id, const uint8_t master[WIRE_KEY_LEN]);

#endif /* CHOT_DP_DEVICE_H */
