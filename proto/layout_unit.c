/*
 * The vault unit of a week key (layout.h): building one, finding and taking
 * units out of a value.  A file of its own, with no dependency beyond the
 * C library, so that the Redis module (redismod/chot_append.c) reads units
 * with the very code chotctl does.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "layout.h"

#define REC LAYOUT_SUBJECT_RECORD_LEN

_Static_assert(((LAYOUT_WEEK_MS - 1) >> 24) < LAYOUT_UNIT_MARK,
	       "byte 4 of an event record (ms_of_week's top byte) is never a unit's mark");
_Static_assert(LAYOUT_VAULT_UNIT_MAX % REC == 0, "a unit is whole records");

static size_t
unit_pad(size_t len)
{
	return (len + REC - 1) / REC * REC;
}

size_t
layout_vault_unit(uint8_t out[LAYOUT_VAULT_UNIT_MAX], const uint8_t *sealed, size_t len)
{
	size_t pad;

	if (len < LAYOUT_VAULT_MIN || len > LAYOUT_VAULT_MAX)
		return 0;
	pad = unit_pad(len);
	memset(out, 0, REC + pad);
	out[4] = LAYOUT_UNIT_MARK;
	out[5] = LAYOUT_UNIT_VAULT;
	out[6] = (uint8_t)(len >> 8);
	out[7] = (uint8_t)len;
	memcpy(out + REC, sealed, len);
	return REC + pad;
}

bool
layout_subject_plain(const uint8_t *val, size_t len)
{
	for (size_t i = 4; i < len; i += REC)
		if (val[i] == LAYOUT_UNIT_MARK)
			return false;
	return true;
}

/* The unit whose header is at h, with end - h bytes left: its length in bytes, or 0 if corrupt. */
static size_t
unit_len(const uint8_t *h, const uint8_t *end, size_t *sealed_len)
{
	static const uint8_t zero[REC];
	size_t len = (size_t)h[6] << 8 | h[7], pad;

	if (h[0] != 0 || h[1] != 0 || h[2] != 0 || h[3] != 0 || h[5] != LAYOUT_UNIT_VAULT ||
	    h[8] != 0 || len < LAYOUT_VAULT_MIN || len > LAYOUT_VAULT_MAX)
		return 0;
	pad = unit_pad(len);
	if ((size_t)(end - h) < REC + pad ||
	    memcmp(h + REC + len, zero, pad - len) != 0)  /* the padding is zeros */
		return 0;
	*sealed_len = len;
	return REC + pad;
}

long
layout_subject_split(uint8_t *val, size_t len, uint8_t vault[LAYOUT_VAULT_MAX], size_t *vault_len)
{
	uint8_t *end = val + len, *w = val;
	bool have = false;

	if (len % REC != 0)
		return -EINVAL;
	if (vault_len != NULL)
		*vault_len = 0;
	for (uint8_t *r = val; r < end;) {
		size_t ul, sl;

		if (r[4] != LAYOUT_UNIT_MARK) {         /* an event record */
			if (w != r)
				memmove(w, r, REC);
			w += REC;
			r += REC;
			continue;
		}
		ul = unit_len(r, end, &sl);
		if (ul == 0)
			return -EINVAL;
		if (!have) {
			have = true;
			if (vault != NULL)
				memcpy(vault, r + REC, sl);
			if (vault_len != NULL)
				*vault_len = sl;
		}
		r += ul;
	}
	return (long)(w - val);
}

long
layout_subject_count(const uint8_t *val, size_t len)
{
	const uint8_t *end = val + len;
	long n = 0;

	if (len % REC != 0)
		return -EINVAL;
	for (const uint8_t *r = val; r < end;) {
		size_t ul, sl;

		if (r[4] != LAYOUT_UNIT_MARK) {
			n++;
			r += REC;
			continue;
		}
		ul = unit_len(r, end, &sl);
		if (ul == 0)
			return -EINVAL;
		r += ul;
	}
	return n;
}

#undef REC
