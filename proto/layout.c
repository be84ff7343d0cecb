/*
 * The Redis key layout (see layout.h): key names and binary members.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "wire.h"

size_t
layout_subject_key(char out[LAYOUT_KEY_MAX], const uint8_t pid[PID_LEN], uint32_t week)
{
	char hex[PID_HEX_LEN + 1];

	chot_pid_hex(hex, pid);
	return (size_t)snprintf(out, LAYOUT_KEY_MAX, "s:{%s}:w%u", hex, week);
}

size_t
layout_site_key(char out[LAYOUT_KEY_MAX], uint32_t site_id, uint32_t block)
{
	return (size_t)snprintf(out, LAYOUT_KEY_MAX, "p:{%u}:b%u", site_id, block);
}

size_t
layout_vault_key(char out[LAYOUT_KEY_MAX], const uint8_t pid[PID_LEN])
{
	char hex[PID_HEX_LEN + 1];

	chot_pid_hex(hex, pid);
	return (size_t)snprintf(out, LAYOUT_KEY_MAX, "v:{%s}", hex);
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
	wire_put_be32(out, site_id);
	wire_put_be32(out + 4, (uint32_t)(ts_ms % LAYOUT_WEEK_MS));
	out[8] = dir;
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
	if (ms >= LAYOUT_WEEK_MS)
		return -EINVAL;
	*site_id = wire_get_be32(m);
	*ts_ms = (uint64_t)week * LAYOUT_WEEK_MS + ms;
	*dir = m[8];
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

static int
rec_cmp(const void *a, const void *b, void *len)
{
	return memcmp(a, b, *(const size_t *)len);
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
	for (size_t i = 1; i < n; i++) {        /* often sorted already: check first */
		if (memcmp(recs + (i - 1) * rec_len, recs + i * rec_len, rec_len) >= 0) {
			qsort_r(recs, n, rec_len, rec_cmp, &rec_len);
			break;
		}
	}
	kept = 1;
	for (size_t i = 1; i < n; i++) {
		uint8_t *r = recs + i * rec_len;

		if (memcmp(recs + (kept - 1) * rec_len, r, rec_len) == 0)
			continue;
		if (kept != i)
			memcpy(recs + kept * rec_len, r, rec_len);
		kept++;
	}
	if (dups != NULL)
		*dups += n - kept;
	return (long)kept;
}
