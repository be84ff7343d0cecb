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

_Static_assert(((((LAYOUT_WEEK_MS - 1) << LAYOUT_DIR_BITS) | LAYOUT_DIR_MAX) >> 24) <
		       LAYOUT_UNIT_MARK,
	       "byte 4 of an event record (ms_of_week's top bits) is never a unit's mark");
_Static_assert(((LAYOUT_WEEK_MS - 1) << LAYOUT_DIR_BITS | LAYOUT_DIR_MAX) <= UINT32_MAX,
	       "ms_of_week and dir fit the time word");
_Static_assert(REC == 8 && LAYOUT_UNIT_HEAD_PAYLOAD == 5, "the header: sealed[0..3] mark kind len sealed[4]");
_Static_assert(LAYOUT_VAULT_UNIT_MAX % REC == 0, "a unit is whole records");
_Static_assert(LAYOUT_VAULT_MAX <= 0xFF, "a sealed length fits the header's one length byte");
_Static_assert(LAYOUT_VAULT_MIN > LAYOUT_UNIT_HEAD_PAYLOAD, "the header's payload bytes are all sealed bytes");

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
	pad = unit_pad(len - LAYOUT_UNIT_HEAD_PAYLOAD);
	memset(out, 0, REC + pad);
	memcpy(out, sealed, 4);
	out[4] = LAYOUT_UNIT_MARK;
	out[5] = LAYOUT_UNIT_VAULT;
	out[6] = (uint8_t)len;
	out[7] = sealed[4];
	memcpy(out + REC, sealed + LAYOUT_UNIT_HEAD_PAYLOAD, len - LAYOUT_UNIT_HEAD_PAYLOAD);
	return REC + pad;
}

/* The sealed value of a unit whose header is at h and is sealed_len long (unit_len() checked it). */
static void
unit_sealed(uint8_t *out, const uint8_t *h, size_t sealed_len)
{
	memcpy(out, h, 4);
	out[4] = h[7];
	memcpy(out + LAYOUT_UNIT_HEAD_PAYLOAD, h + REC, sealed_len - LAYOUT_UNIT_HEAD_PAYLOAD);
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
	size_t len = h[6], body, pad;

	if (h[5] != LAYOUT_UNIT_VAULT || len < LAYOUT_VAULT_MIN || len > LAYOUT_VAULT_MAX)
		return 0;
	body = len - LAYOUT_UNIT_HEAD_PAYLOAD;
	pad = unit_pad(body);
	if ((size_t)(end - h) < REC + pad ||
	    memcmp(h + REC + body, zero, pad - body) != 0)  /* the padding is zeros */
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
				unit_sealed(vault, r, sl);
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
