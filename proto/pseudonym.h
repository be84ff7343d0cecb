/*
 * Subject pseudonyms (DESIGN §2): pid = SipHash-2-4 128-bit
 * (crypto_shorthash_siphashx24) of scheme_byte || normalised_subject under
 * pseudonym_key[0..16).  Raw identifiers never reach Redis; the pid does.
 */
#ifndef CHOT_PSEUDONYM_H
#define CHOT_PSEUDONYM_H

#include <stddef.h>
#include <stdint.h>

#define PID_LEN 16
#define PID_HEX_LEN 32

void chot_pseudonym(uint8_t pid[PID_LEN], const uint8_t key[32], uint8_t scheme,
		    const char *subject, size_t len);

/* 32 lowercase hex digits + NUL. */
void chot_pid_hex(char out[PID_HEX_LEN + 1], const uint8_t pid[PID_LEN]);

/* Parse 32 hex digits; 0 or -EINVAL. */
int chot_pid_parse(uint8_t pid[PID_LEN], const char *hex);

#endif /* CHOT_PSEUDONYM_H */
