/*
 * The checkpoint lists' read-only table (cptable.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "cptable.h"

/*
 * A one-hash filter in front of the watchlist: 2^20 bits (128 KiB, stays in
 * L2), bit = pid bytes 8..11.  pids are SipHash outputs, so with 100,000
 * entries about 9 % of the scans not on the list reach the rte_hash (a
 * lookup there costs cache and TLB misses on a 100k table); the rest stop
 * after one cached load.
 */
#define FILTER_BITS   (1u << 20)

struct dp_lists_table {
	struct rte_hash *watch;           /* pid -> (until_ms << 3 | status) */
	struct rte_hash *greenlane;       /* pid -> &gl[i] */
	struct rte_hash *sites;           /* checkpoint site ids */
	struct greenlane_entry *gl;
	uint64_t filter[FILTER_BITS / 64];/* watchlist pre-filter */
	uint8_t zone[CPT_COMMUNES];       /* enum zone_level */
	struct cpt_sizes sizes;
};

/* What a load gathers before the tables are built. */
struct cpt_builder {
	struct { uint8_t pid[PID_LEN]; uint64_t packed; } *watch;
	size_t nwatch, capwatch;
	struct { uint8_t pid[PID_LEN]; struct greenlane_entry e; } *gl;
	size_t ngl, capgl;
	uint32_t *sites;
	size_t nsites, capsites;
	uint64_t bad;
	uint8_t zone[CPT_COMMUNES];
};

/* --- lookups --- */

static bool
lk_watch(const void *tp, const uint8_t pid[PID_LEN], struct chk_watch *out)
{
	const struct dp_lists_table *t = tp;
	uint32_t bit;
	void *data;

	memcpy(&bit, pid + 8, sizeof(bit));
	bit &= FILTER_BITS - 1;
	if (!(t->filter[bit / 64] >> (bit % 64) & 1) ||
	    rte_hash_lookup_data(t->watch, pid, &data) < 0)
		return false;
	out->status = (uint8_t)((uintptr_t)data & 7);
	out->until_ms = (uint64_t)(uintptr_t)data >> 3;
	return true;
}

static const struct greenlane_entry *
lk_greenlane(const void *tp, const uint8_t pid[PID_LEN])
{
	const struct dp_lists_table *t = tp;
	void *data;

	if (t->greenlane == NULL || rte_hash_lookup_data(t->greenlane, pid, &data) < 0)
		return NULL;
	return data;
}

static bool
lk_checkpoint(const void *tp, uint32_t site)
{
	const struct dp_lists_table *t = tp;

	return t->sites != NULL && rte_hash_lookup(t->sites, &site) >= 0;
}

static enum zone_level
lk_zone(const void *tp, uint32_t commune)
{
	const struct dp_lists_table *t = tp;

	return commune < CPT_COMMUNES ? (enum zone_level)t->zone[commune] : ZONE_NONE;
}

/* The filter word watch() tests: out of cache between batches (the
 * dedupe and vault tables' random reads evict it), a miss per event
 * unless fetched early. */
static void
lk_prefetch(const void *tp, const uint8_t pid[PID_LEN])
{
	const struct dp_lists_table *t = tp;
	uint32_t bit;

	memcpy(&bit, pid + 8, sizeof(bit));
	bit &= FILTER_BITS - 1;
	__builtin_prefetch(&t->filter[bit / 64]);
}

const struct chk_lookup cpt_lookup = { lk_watch, lk_greenlane, lk_checkpoint, lk_zone,
				       lk_prefetch };

/* --- building --- */

void
cpt_free(struct dp_lists_table *t)
{
	if (t == NULL)
		return;
	rte_hash_free(t->watch);
	rte_hash_free(t->greenlane);
	rte_hash_free(t->sites);
	free(t->gl);
	rte_free(t);
}

static struct rte_hash *
hash_make(const char *what, uint64_t gen, size_t n, uint32_t key_len)
{
	char name[RTE_HASH_NAMESIZE];
	struct rte_hash_parameters p = {
		.name = name,
		.entries = (uint32_t)(n + n / 4 + 64),
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = 0x6c697374,
		.socket_id = (int)rte_socket_id(),
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};

	snprintf(name, sizeof(name), "chot_l%s%lu", what, (unsigned long)(gen % 100000000));
	return rte_hash_create(&p);
}

static void *
grow(void *p, size_t *cap, size_t n, size_t size)
{
	void *np;

	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 1024;
	np = realloc(p, *cap * size);
	if (np == NULL)
		free(p);
	return np;
}

static int
unhex_pid(uint8_t pid[PID_LEN], const char *s, size_t len)
{
	if (len != PID_HEX_LEN)
		return -1;
	for (size_t i = 0; i < PID_LEN; i++) {
		int hi = s[2 * i], lo = s[2 * i + 1];

		hi = hi >= '0' && hi <= '9' ? hi - '0' : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
		lo = lo >= '0' && lo <= '9' ? lo - '0' : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		pid[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* "<decimal>" in 1..max, or 0. */
static uint64_t
field_u32(const char *f, size_t fl, uint64_t max)
{
	uint64_t v = 0;

	if (fl == 0 || fl > 10)
		return 0;
	for (size_t i = 0; i < fl; i++) {
		if (f[i] < '0' || f[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(f[i] - '0');
	}
	return v <= max ? v : 0;
}

static int
add_watch(struct cpt_builder *b, const char *f, size_t fl, const char *v, size_t vl)
{
	struct watch_entry e;
	uint8_t pid[PID_LEN];

	if (unhex_pid(pid, f, fl) != 0 || lists_watch_decode(v, vl, &e) != 0 ||
	    e.until_ms >= (1ULL << 60))
		return 1;
	b->watch = grow(b->watch, &b->capwatch, b->nwatch, sizeof(*b->watch));
	if (b->watch == NULL)
		return -ENOMEM;
	memcpy(b->watch[b->nwatch].pid, pid, PID_LEN);
	b->watch[b->nwatch++].packed = e.until_ms << 3 | (uint64_t)e.status;
	return 0;
}

static int
add_greenlane(struct cpt_builder *b, const char *f, size_t fl, const char *v, size_t vl)
{
	struct greenlane_entry e;
	uint8_t pid[PID_LEN];

	if (unhex_pid(pid, f, fl) != 0 || lists_greenlane_decode(v, vl, &e) != 0)
		return 1;
	b->gl = grow(b->gl, &b->capgl, b->ngl, sizeof(*b->gl));
	if (b->gl == NULL)
		return -ENOMEM;
	memcpy(b->gl[b->ngl].pid, pid, PID_LEN);
	b->gl[b->ngl++].e = e;
	return 0;
}

static int
add_zone(struct cpt_builder *b, const char *f, size_t fl, const char *v, size_t vl)
{
	uint64_t commune = field_u32(f, fl, CPT_COMMUNES - 1);
	enum zone_level z;

	if (commune == 0 || lists_zone_decode(v, vl, &z) != 0)
		return 1;
	b->zone[commune] = (uint8_t)z;
	return 0;
}

/* The registry of §5: site id -> "kind,commune,name"; only checkpoints matter here. */
static int
add_site(struct cpt_builder *b, const char *f, size_t fl, const char *v, size_t vl)
{
	static const char cp[] = "checkpoint,";
	uint64_t site = field_u32(f, fl, UINT32_MAX);

	if (site == 0 || memchr(v, ',', vl) == NULL)
		return 1;
	if (vl < sizeof(cp) - 1 || memcmp(v, cp, sizeof(cp) - 1) != 0)
		return 0;
	b->sites = grow(b->sites, &b->capsites, b->nsites, sizeof(*b->sites));
	if (b->sites == NULL)
		return -ENOMEM;
	b->sites[b->nsites++] = (uint32_t)site;
	return 0;
}

int
cpt_builder_add(struct cpt_builder *b, enum cpt_list l, const char *f, size_t fl,
		const char *v, size_t vl)
{
	int rc;

	switch (l) {
	case CPT_WATCH:     rc = add_watch(b, f, fl, v, vl); break;
	case CPT_ZONES:     rc = add_zone(b, f, fl, v, vl); break;
	case CPT_GREENLANE: rc = add_greenlane(b, f, fl, v, vl); break;
	case CPT_SITES:     rc = add_site(b, f, fl, v, vl); break;
	default:            rc = 1; break;
	}
	if (rc == 1)
		b->bad++;
	return rc;
}

uint64_t
cpt_builder_bad(const struct cpt_builder *b)
{
	return b->bad;
}

struct cpt_builder *
cpt_builder_create(void)
{
	return calloc(1, sizeof(struct cpt_builder));
}

void
cpt_builder_destroy(struct cpt_builder *b)
{
	if (b == NULL)
		return;
	free(b->watch);
	free(b->gl);
	free(b->sites);
	free(b);
}

struct dp_lists_table *
cpt_empty(void)
{
	return rte_zmalloc("chot_lists", sizeof(struct dp_lists_table), RTE_CACHE_LINE_SIZE);
}

static int
build(struct dp_lists_table *t, const struct cpt_builder *b, uint64_t gen)
{
	size_t i;

	if (b->nwatch > 0) {
		t->watch = hash_make("w", gen, b->nwatch, PID_LEN);
		if (t->watch == NULL)
			return -ENOMEM;
		for (i = 0; i < b->nwatch; i++) {
			uint32_t bit;

			if (rte_hash_add_key_data(t->watch, b->watch[i].pid,
						  (void *)(uintptr_t)b->watch[i].packed) < 0)
				return -ENOSPC;
			memcpy(&bit, b->watch[i].pid + 8, sizeof(bit));
			bit &= FILTER_BITS - 1;
			t->filter[bit / 64] |= 1ull << (bit % 64);
		}
	}
	if (b->ngl > 0) {
		t->greenlane = hash_make("g", gen, b->ngl, PID_LEN);
		t->gl = malloc(b->ngl * sizeof(*t->gl));
		if (t->greenlane == NULL || t->gl == NULL)
			return -ENOMEM;
		for (i = 0; i < b->ngl; i++) {
			t->gl[i] = b->gl[i].e;
			if (rte_hash_add_key_data(t->greenlane, b->gl[i].pid, &t->gl[i]) < 0)
				return -ENOSPC;
		}
	}
	if (b->nsites > 0) {
		t->sites = hash_make("s", gen, b->nsites, sizeof(uint32_t));
		if (t->sites == NULL)
			return -ENOMEM;
		for (i = 0; i < b->nsites; i++)
			if (rte_hash_add_key(t->sites, &b->sites[i]) < 0)
				return -ENOSPC;
	}
	memcpy(t->zone, b->zone, sizeof(t->zone));
	t->sizes.watch = t->watch ? (uint64_t)rte_hash_count(t->watch) : 0;
	t->sizes.greenlane = t->greenlane ? (uint64_t)rte_hash_count(t->greenlane) : 0;
	t->sizes.checkpoints = t->sites ? (uint64_t)rte_hash_count(t->sites) : 0;
	for (i = 1; i < CPT_COMMUNES; i++)
		t->sizes.zones += t->zone[i] != ZONE_NONE;
	return 0;
}

struct dp_lists_table *
cpt_build(const struct cpt_builder *b, uint64_t gen)
{
	struct dp_lists_table *t = cpt_empty();
	int rc;

	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	rc = build(t, b, gen);
	if (rc != 0) {
		cpt_free(t);
		errno = -rc;
		return NULL;
	}
	return t;
}

void
cpt_get_sizes(const struct dp_lists_table *t, struct cpt_sizes *out)
{
	*out = t->sizes;
}
