/*
 * Subject pseudonyms: SipHash-2-4 with a 128-bit output
 * (crypto_shorthash_siphashx24) over scheme_byte || normalised subject, keyed
 * with the first 16 bytes of the keys file's pseudonym key (DESIGN §2).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "pseudonym.h"
#include "wire.h"

void
chot_pseudonym(uint8_t pid[PID_LEN], const uint8_t key[32], uint8_t scheme, const char *subject,
               size_t len)
{
	uint8_t msg[1 + WIRE_SUBJECT_MAX];

	if (len > WIRE_SUBJECT_MAX)
		len = WIRE_SUBJECT_MAX;
	msg[0] = scheme;
	memcpy(msg + 1, subject, len);
	crypto_shorthash_siphashx24(pid, msg, 1 + len, key);
}

void
chot_pid_hex(char out[PID_HEX_LEN + 1], const uint8_t pid[PID_LEN])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < PID_LEN; i++) {
		out[2 * i] = hex[pid[i] >> 4];
		out[2 * i + 1] = hex[pid[i] & 15];
	}
	out[PID_HEX_LEN] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
chot_pid_parse(uint8_t pid[PID_LEN], const char *hex)
{
	if (hex == NULL || strlen(hex) != PID_HEX_LEN)
		return -EINVAL;
	for (int i = 0; i < PID_LEN; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		pid[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
