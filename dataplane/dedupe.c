/*
 * The dedupe table (see dedupe.h): an rte_hash keyed by struct
 * dp_dedupe_key whose data pointer holds the stored event's ts_ms (this is
 * a 64-bit-only build, as DPDK 22.11 on x86-64 is).  The table is created
 * with the extendable-bucket flag so it really holds `capacity` keys before
 * refusing; it is per worker and only its lcore touches it, so the default
 * (single-writer, no lock) mode is right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "dedupe.h"

#define DEDUPE_SWEEP_CHUNK 256

struct dedupe_undo {
	struct dp_dedupe_key key;
	uint64_t old_ts;
	bool existed;
};

struct dp_dedupe {
	struct rte_hash *h;
	uint64_t window_ms;
	uint64_t newest_ts;
	uint64_t last_sweep_ts;
	bool swept;
	unsigned n_undo;
	struct dedupe_undo undo[WIRE_MAX_EVENTS];
	struct dp_dedupe_stats st;
};

struct dp_dedupe *
dp_dedupe_create(const char *name, uint32_t capacity, uint32_t window_s, int socket)
{
	struct rte_hash_parameters p = {
		.name = name,
		.entries = capacity,
		.key_len = sizeof(struct dp_dedupe_key),
		.hash_func = rte_hash_crc,     /* the pid is already a keyed hash */
		.hash_func_init_val = 0x63686f74,
		.socket_id = socket,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	struct dp_dedupe *d = rte_zmalloc_socket("dedupe", sizeof(*d), 0, socket);

	if (d == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	d->window_ms = (uint64_t)window_s * 1000;
	if (d->window_ms > 0) {
		d->h = rte_hash_create(&p);
		if (d->h == NULL) {
			int e = rte_errno ? rte_errno : ENOMEM;

			rte_free(d);
			errno = e;
			return NULL;
		}
	}
	return d;
}

void
dp_dedupe_destroy(struct dp_dedupe *d)
{
	if (d == NULL)
		return;
	rte_hash_free(d->h);
	rte_free(d);
}

void
dp_dedupe_begin(struct dp_dedupe *d)
{
	d->n_undo = 0;
}

/* Remove every entry stale relative to newest_ts; returns how many. */
static uint64_t
dedupe_sweep(struct dp_dedupe *d)
{
	struct dp_dedupe_key victims[DEDUPE_SWEEP_CHUNK];
	uint64_t removed = 0;
	uint32_t it = 0;
	const void *key;
	void *data;
	unsigned n;

	d->st.sweeps++;
	d->swept = true;
	d->last_sweep_ts = d->newest_ts;
	for (;;) {
		n = 0;
		while (n < DEDUPE_SWEEP_CHUNK && rte_hash_iterate(d->h, &key, &data, &it) >= 0)
			if (dp_dedupe_is_stale((uint64_t)(uintptr_t)data, d->newest_ts, d->window_ms))
				memcpy(&victims[n++], key, sizeof(victims[0]));
		if (n == 0)
			break;
		for (unsigned i = 0; i < n; i++)
			if (rte_hash_del_key(d->h, &victims[i]) >= 0)
				removed++;
		/* Deleting moved nothing we have not visited: keep iterating. */
	}
	d->st.reclaimed += removed;
	return removed;
}

static int
dedupe_add(struct dp_dedupe *d, const struct dp_dedupe_key *k, hash_sig_t sig, uint64_t ts)
{
	int rc = rte_hash_add_key_with_hash_data(d->h, k, sig, (void *)(uintptr_t)ts);

	if (rc != -ENOSPC)
		return rc;
	if (d->swept && d->newest_ts < d->last_sweep_ts + d->window_ms / 4)
		return rc;
	if (dedupe_sweep(d) == 0)
		return rc;
	return rte_hash_add_key_with_hash_data(d->h, k, sig, (void *)(uintptr_t)ts);
}

bool
dp_dedupe_check_insert(struct dp_dedupe *d, const struct dp_dedupe_key *k, uint64_t ts)
{
	struct dedupe_undo *u;
	hash_sig_t sig;
	void *data;
	bool existed;

	if (d->window_ms == 0)
		return false;
	if (ts > d->newest_ts)
		d->newest_ts = ts;
	sig = rte_hash_hash(d->h, k);     /* once for the lookup and the insert */
	existed = rte_hash_lookup_with_hash_data(d->h, k, sig, &data) >= 0;
	if (existed && dp_dedupe_is_dup((uint64_t)(uintptr_t)data, ts, d->window_ms))
		return true;
	if (dedupe_add(d, k, sig, ts) < 0) {
		d->st.full++;
		return false;
	}
	if (d->n_undo < WIRE_MAX_EVENTS) {
		u = &d->undo[d->n_undo++];
		u->key = *k;
		u->existed = existed;
		u->old_ts = existed ? (uint64_t)(uintptr_t)data : 0;
	}
	return false;
}

void
dp_dedupe_rollback(struct dp_dedupe *d)
{
	while (d->n_undo > 0) {
		struct dedupe_undo *u = &d->undo[--d->n_undo];

		if (u->existed)
			(void)rte_hash_add_key_data(d->h, &u->key, (void *)(uintptr_t)u->old_ts);
		else
			(void)rte_hash_del_key(d->h, &u->key);
	}
}

uint64_t
dp_dedupe_full(const struct dp_dedupe *d)
{
	return d->st.full;
}

void
dp_dedupe_get_stats(const struct dp_dedupe *d, struct dp_dedupe_stats *st)
{
	*st = d->st;
	st->entries = d->h ? (uint64_t)rte_hash_count(d->h) : 0;
}
