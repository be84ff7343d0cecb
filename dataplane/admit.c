/*
 * dp_admit() (see admit.h), in order:
 *
 *   device lookup -> window classification (read only) -> keys of h->key_id
 *   (cache, or derive into the scratch) -> AEAD open -> only now: commit the
 *   keys, insert a new device, move the window (new batches only).
 *
 * The window is classified before the open only to know what to do after
 * it; a datagram that fails the tag is AUTH_TAG whatever the window says.
 */
#include <string.h>

#include "admit.h"

enum chot_reason
dp_admit(struct dp_devices *devs, const struct chot_keys *keys, const uint8_t *dgram,
	 const struct wire_hdr *h, uint8_t *pt, struct dp_admit *a)
{
	struct dp_device *dev = dp_devices_find(devs, h->device_id), fresh;
	enum chot_reason win = WIRE_OK;
	const struct dp_devkeys *k = NULL;
	const uint8_t *master;

	a->dev = NULL;
	a->keys = NULL;
	if (dev != NULL) {
		win = dp_window_check(&dev->win, h->boot_epoch, h->batch_seq);
		k = dp_device_keys_find(dev, h->key_id);
	}
	if (k == NULL) {
		master = keys_master(keys, h->key_id);
		if (master == NULL)
			return AUTH_UNKNOWN_KEY;
		dp_devkeys_derive(&a->scratch, h->device_id, h->key_id, master);
		k = &a->scratch;
	}
	if (wire_open(pt, dgram, h, k->devkey) != WIRE_OK)
		return AUTH_TAG;
	/* Authentic from here on. */
	if (dev == NULL) {
		memset(&fresh, 0, sizeof(fresh));
		fresh.device_id = h->device_id;
		dp_window_init(&fresh.win);
		dp_device_keys_commit(&fresh, k);
		dev = dp_devices_add(devs, &fresh);
		if (dev == NULL)
			return DEV_TABLE_FULL;
		k = &dev->keys[0];
	} else if (k == &a->scratch) {
		k = dp_device_keys_commit(dev, k);
	}
	a->dev = dev;
	a->keys = k;
	if (win != WIRE_OK)
		return win;
	dp_window_accept(&dev->win, h->boot_epoch, h->batch_seq);
	return WIRE_OK;
}

const uint8_t *
dp_admit_ackkey(const struct dp_device *d, uint16_t key_id, const struct chot_keys *keys,
		struct dp_devkeys *scratch)
{
	const struct dp_devkeys *k = dp_device_keys_find(d, key_id);
	const uint8_t *master;

	if (k != NULL)
		return k->ackkey;
	master = keys_master(keys, key_id);
	if (master == NULL)
		return NULL;
	dp_devkeys_derive(scratch, d->device_id, key_id, master);
	return scratch->ackkey;
}
