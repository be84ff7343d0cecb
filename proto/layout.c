/*
 * The Redis key layout (see layout.h): key names and binary members.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "resp.h"
#include "wire.h"

_Static_assert(LAYOUT_WEEK_MS <= (1ULL << (32 - LAYOUT_DIR_BITS)), "ms_of_week fits above dir");
_Static_assert(LAYOUT_DIR_MAX == (1u << LAYOUT_DIR_BITS) - 1, "dir is the time word's low 2 bits");

size_t
layout_subject_key(char out[LAYOUT_KEY_MAX], const uint8_t pid[PID_LEN], uint32_t week)
{
	size_t n = 0;

	out[n++] = 's';
	out[n++] = ':';
	out[n++] = '{';
	memcpy(out + n, pid, PID_LEN);
	n += PID_LEN;
	out[n++] = '}';
	if (week > UINT16_MAX) {   /* after 3226: never written (layout.h), found empty */
		out[n++] = (char)(week >> 24);
		out[n++] = (char)(week >> 16);
	}
	out[n++] = (char)(week >> 8);
	out[n++] = (char)week;
	out[n] = '\0';   /* for safety only: the key is binary, never read as a C string */
	return n;
}

size_t
layout_key_text(char out[LAYOUT_KEY_TEXT_MAX], const char *key, size_t len)
{
	const uint8_t *k = (const uint8_t *)key;
	char hex[PID_HEX_LEN + 1];
	size_t n;

	if (len == LAYOUT_SUBJECT_KEY_LEN && memcmp(k, "s:{", 3) == 0 && k[3 + PID_LEN] == '}') {
		chot_pid_hex(hex, k + 3);
		return (size_t)snprintf(out, LAYOUT_KEY_TEXT_MAX, "s:{%s}:w%u", hex,
					(unsigned)(k[20] << 8 | k[21]));
	}
	n = 0;
	for (size_t i = 0; i < len && n + 5 <= LAYOUT_KEY_TEXT_MAX; i++) {  /* printable as is */
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\')
			out[n++] = (char)k[i];
		else
			n += (size_t)snprintf(out + n, 5, "\\x%02x", k[i]);
	}
	out[n] = '\0';
	return n;
}

/*
 * "p:{%u}:b%u", without snprintf: a depth-2 trace builds ~100k of these
 * keys, and vfprintf was a few per cent of its reading thread.
 */
size_t
layout_site_key(char out[LAYOUT_KEY_MAX], uint32_t site_id, uint32_t block)
{
	char *p = out;

	memcpy(p, "p:{", 3);
	p = resp_put_u64(p + 3, site_id);
	memcpy(p, "}:b", 3);
	p = resp_put_u64(p + 3, block);
	*p = '\0';
	return (size_t)(p - out);
}

uint64_t
layout_week_expire_at(uint32_t week, uint32_t retention_days)
{
	return ((uint64_t)week + 1) * (LAYOUT_WEEK_MS / 1000) +
	       (uint64_t)retention_days * (LAYOUT_DAY_MS / 1000);
}

uint64_t
layout_block_expire_at(uint32_t block, uint32_t retention_days)
{
	return ((uint64_t)block + 1) * (LAYOUT_BLOCK_MS / 1000) +
	       (uint64_t)retention_days * (LAYOUT_DAY_MS / 1000);
}

void
layout_subject_member(uint8_t out[LAYOUT_SUBJECT_MEMBER_LEN], uint32_t site_id, uint64_t ts_ms,
                      uint8_t dir)
{
	/* dir has 2 bits (layout.h); validate.c refuses any other before it gets here. */
	assert(dir <= LAYOUT_DIR_MAX);
	wire_put_be32(out, site_id);
	wire_put_be32(out + 4, (uint32_t)(ts_ms % LAYOUT_WEEK_MS) << LAYOUT_DIR_BITS |
				       (uint32_t)(dir & LAYOUT_DIR_MAX));
}

void
layout_site_member(uint8_t out[LAYOUT_SITE_MEMBER_LEN], const uint8_t pid[PID_LEN], uint64_t ts_ms,
                   uint8_t dir)
{
	uint32_t ms = (uint32_t)(ts_ms % LAYOUT_BLOCK_MS);

	memcpy(out, pid, PID_LEN);
	out[16] = (uint8_t)(ms >> 16);
	out[17] = (uint8_t)(ms >> 8);
	out[18] = (uint8_t)ms;
	out[19] = dir;
}

int
layout_subject_member_decode(const uint8_t *m, size_t len, uint32_t week, uint32_t *site_id,
                             uint64_t *ts_ms, uint8_t *dir)
{
	uint32_t ms;

	if (len != LAYOUT_SUBJECT_MEMBER_LEN)
		return -EINVAL;
	ms = wire_get_be32(m + 4);
	*dir = (uint8_t)(ms & LAYOUT_DIR_MAX);
	ms >>= LAYOUT_DIR_BITS;
	if (ms >= LAYOUT_WEEK_MS)
		return -EINVAL;
	*site_id = wire_get_be32(m);
	*ts_ms = (uint64_t)week * LAYOUT_WEEK_MS + ms;
	return 0;
}

int
layout_site_member_decode(const uint8_t *m, size_t len, uint32_t block, uint8_t pid[PID_LEN],
                          uint64_t *ts_ms, uint8_t *dir)
{
	uint32_t ms;

	if (len != LAYOUT_SITE_MEMBER_LEN)
		return -EINVAL;
	ms = (uint32_t)m[16] << 16 | (uint32_t)m[17] << 8 | m[18];
	if (ms >= LAYOUT_BLOCK_MS)
		return -EINVAL;
	memcpy(pid, m, PID_LEN);
	*ts_ms = (uint64_t)block * LAYOUT_BLOCK_MS + ms;
	*dir = m[19];
	return 0;
}


/*
 * The readers' sort (layout_records_unique).  A depth-2 trace sorts tens of
 * millions of records, a few to a few hundred per key, so the comparison is
 * what costs: for the two record sizes of this file it is inlined as
 * big-endian word loads (bytewise order is the order of those words), not a
 * memcmp call through a qsort callback; and glibc's qsort, a merge sort,
 * mallocs a copy of every array over 1 kB.  Here: an in-place quicksort
 * (median of three, insertion sort under 16 records, heapsort past a depth
 * limit so no input is quadratic), one copy of it per record size.
 */
static inline __attribute__((always_inline)) uint64_t
be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return __builtin_bswap64(v);
}

static inline __attribute__((always_inline)) int
rec_cmp_len(const uint8_t *a, const uint8_t *b, size_t len)
{
	if (len == LAYOUT_SUBJECT_RECORD_LEN) {   /* bytewise: site, time, dir (layout.h) */
		uint64_t x = be64_at(a), y = be64_at(b);

		return x < y ? -1 : x > y;
	}
	if (len == LAYOUT_SITE_RECORD_LEN) {
		uint64_t x = be64_at(a), y = be64_at(b);

		if (x != y)
			return x < y ? -1 : 1;
		x = be64_at(a + 8);
		y = be64_at(b + 8);
		if (x != y)
			return x < y ? -1 : 1;
		x = (uint64_t)wire_get_be32(a + 16);
		y = (uint64_t)wire_get_be32(b + 16);
		return x < y ? -1 : x > y;
	}
	return memcmp(a, b, len);
}

#define REC_SWAP_MAX 32             /* records sorted here; longer ones go to qsort_r */

static inline __attribute__((always_inline)) void
rec_swap(uint8_t *a, uint8_t *b, size_t len)
{
	uint8_t t[REC_SWAP_MAX];

	memcpy(t, a, len);
	memcpy(a, b, len);
	memcpy(b, t, len);
}

static inline __attribute__((always_inline)) void
rec_insertion(uint8_t *v, size_t n, size_t len)
{
	for (size_t i = 1; i < n; i++) {
		uint8_t t[REC_SWAP_MAX];
		size_t j = i;

		if (rec_cmp_len(v + (i - 1) * len, v + i * len, len) <= 0)
			continue;
		memcpy(t, v + i * len, len);
		do {
			memcpy(v + j * len, v + (j - 1) * len, len);
			j--;
		} while (j > 0 && rec_cmp_len(v + (j - 1) * len, t, len) > 0);
		memcpy(v + j * len, t, len);
	}
}

static inline __attribute__((always_inline)) void
rec_sift(uint8_t *v, size_t root, size_t n, size_t len)
{
	for (;;) {
		size_t c = 2 * root + 1;

		if (c >= n)
			return;
		if (c + 1 < n && rec_cmp_len(v + c * len, v + (c + 1) * len, len) < 0)
			c++;
		if (rec_cmp_len(v + root * len, v + c * len, len) >= 0)
			return;
		rec_swap(v + root * len, v + c * len, len);
		root = c;
	}
}

static inline __attribute__((always_inline)) void
rec_heapsort(uint8_t *v, size_t n, size_t len)
{
	for (size_t i = n / 2; i-- > 0;)
		rec_sift(v, i, n, len);
	for (size_t i = n - 1; i > 0; i--) {
		rec_swap(v, v + i * len, len);
		rec_sift(v, 0, i, len);
	}
}

/* Quicksort: push the larger side, go on with the smaller, so the stack holds <= log2 n. */
static inline __attribute__((always_inline)) void
rec_sort_len(uint8_t *v, size_t n, size_t len)
{
	struct { uint8_t *v; size_t n; unsigned depth; } st[64];
	unsigned top = 0, depth = 0;

	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	for (;;) {
		while (n > 16) {
			uint8_t *lo = v, *mid = v + (n / 2) * len, *hi = v + (n - 1) * len;
			size_t i = 0, j = n - 1;

			if (depth == 0) {
				rec_heapsort(v, n, len);
				n = 0;
				break;
			}
			depth--;
			/* Median of three to v[0], with v[n-1] >= it: the scans' sentinels. */
			if (rec_cmp_len(mid, lo, len) < 0)
				rec_swap(mid, lo, len);
			if (rec_cmp_len(hi, mid, len) < 0) {
				rec_swap(hi, mid, len);
				if (rec_cmp_len(mid, lo, len) < 0)
					rec_swap(mid, lo, len);
			}
			rec_swap(lo, mid, len);
			for (;;) {      /* Hoare: equal keys stop both scans, so runs of them split */
				do
					i++;
				while (rec_cmp_len(v + i * len, v, len) < 0);
				do
					j--;
				while (rec_cmp_len(v + j * len, v, len) > 0);
				if (i >= j)
					break;
				rec_swap(v + i * len, v + j * len, len);
			}
			rec_swap(v, v + j * len, len);  /* [0, j) <= v[j] <= (j, n) */
			if (j < n - 1 - j) {
				st[top].v = v + (j + 1) * len;
				st[top].n = n - 1 - j;
				st[top++].depth = depth;
				n = j;
			} else {
				st[top].v = v;
				st[top].n = j;
				st[top++].depth = depth;
				v += (j + 1) * len;
				n -= j + 1;
			}
		}
		rec_insertion(v, n, len);
		if (top == 0)
			return;
		top--;
		v = st[top].v;
		n = st[top].n;
		depth = st[top].depth;
	}
}

/* Sort, then squeeze out exact duplicates: the number of records kept. */
static inline __attribute__((always_inline)) size_t
records_unique_len(uint8_t *recs, size_t n, size_t len)
{
	size_t kept = 1;

	for (size_t i = 1; i < n; i++) {        /* often sorted already: check first */
		if (rec_cmp_len(recs + (i - 1) * len, recs + i * len, len) > 0) {
			rec_sort_len(recs, n, len);
			break;
		}
	}
	for (size_t i = 1; i < n; i++) {
		uint8_t *r = recs + i * len;

		if (rec_cmp_len(recs + (kept - 1) * len, r, len) == 0)
			continue;
		if (kept != i)
			memcpy(recs + kept * len, r, len);
		kept++;
	}
	return kept;
}

static inline __attribute__((always_inline)) bool
records_ascending_len(const uint8_t *recs, size_t n, size_t len)
{
	for (size_t i = 1; i < n; i++)
		if (rec_cmp_len(recs + (i - 1) * len, recs + i * len, len) >= 0)
			return false;
	return true;
}

static int
rec_cmp(const void *a, const void *b, void *len)
{
	return memcmp(a, b, *(const size_t *)len);
}

bool
layout_records_ascending(const uint8_t *recs, size_t n, size_t rec_len)
{
	switch (rec_len) {
	case LAYOUT_SUBJECT_RECORD_LEN:
		return records_ascending_len(recs, n, LAYOUT_SUBJECT_RECORD_LEN);
	case LAYOUT_SITE_RECORD_LEN:
		return records_ascending_len(recs, n, LAYOUT_SITE_RECORD_LEN);
	default:
		return records_ascending_len(recs, n, rec_len);
	}
}

long
layout_records_unique(uint8_t *recs, size_t len, size_t rec_len, uint64_t *dups)
{
	size_t n, kept;

	if (rec_len == 0 || len % rec_len != 0)
		return -EINVAL;
	n = len / rec_len;
	if (n < 2)
		return (long)n;
	switch (rec_len) {
	case LAYOUT_SUBJECT_RECORD_LEN:
		kept = records_unique_len(recs, n, LAYOUT_SUBJECT_RECORD_LEN);
		break;
	case LAYOUT_SITE_RECORD_LEN:
		kept = records_unique_len(recs, n, LAYOUT_SITE_RECORD_LEN);
		break;
	default:
		if (rec_len <= REC_SWAP_MAX) {
			kept = records_unique_len(recs, n, rec_len);
			break;
		}
		qsort_r(recs, n, rec_len, rec_cmp, &rec_len);
		kept = 1;
		for (size_t i = 1; i < n; i++) {
			uint8_t *r = recs + i * rec_len;

			if (memcmp(recs + (kept - 1) * rec_len, r, rec_len) == 0)
				continue;
			if (kept != i)
				memcpy(recs + kept * rec_len, r, rec_len);
			kept++;
		}
	}
	if (dups != NULL)
		*dups += n - kept;
	return (long)kept;
}
