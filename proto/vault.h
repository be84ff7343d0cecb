/*
 * The identity vault (DESIGN §4): the only place a raw identifier is stored,
 * sealed with XChaCha20-Poly1305 under the keys file's vault key.
 *
 * The nonce is derived, not random: nonce = BLAKE2b-192 keyed with the vault
 * key over "chotvlt1" || pid.  The same subject therefore always seals to the
 * same bytes, so the dataplane's vault write is idempotent (a replayed batch
 * changes nothing), and a nonce is never reused for a different plaintext
 * (a pid names one scheme+subject).
 *
 * Sealed value: ciphertext of (scheme (1) || subject) || tag (16): 1 + subject
 * + 16 bytes.  The nonce is not stored: whoever opens a value holds the vault
 * key, so it recomputes the nonce from the pid (24 bytes less per subject at
 * rest, where the value sits in every week key of the subject: layout.h).
 * Additional data: the 16-byte pid, so a value cannot be moved to another
 * subject.
 */
#ifndef CHOT_VAULT_H
#define CHOT_VAULT_H

#include <stddef.h>
#include <stdint.h>

#include "pseudonym.h"
#include "wire.h"

#define VAULT_NONCE_LEN 24
#define VAULT_TAG_LEN   16
#define VAULT_MIN_SEALED (1 + VAULT_TAG_LEN)   /* an empty subject */
#define VAULT_MAX_SEALED (1 + WIRE_SUBJECT_MAX + VAULT_TAG_LEN)

/* Returns the sealed length. */
size_t vault_seal(uint8_t out[VAULT_MAX_SEALED], const uint8_t vault_key[32],
		  const uint8_t pid[PID_LEN], uint8_t scheme, const char *subject, size_t len);

/*
 * Open a sealed value; writes the NUL-terminated subject (capacity 33) and
 * scheme.  Returns the subject length, or -EBADMSG / -EINVAL.
 */
int vault_open(const uint8_t *sealed, size_t len, const uint8_t vault_key[32],
	       const uint8_t pid[PID_LEN], uint8_t *scheme, char subject[WIRE_SUBJECT_MAX_NUL]);

#endif /* CHOT_VAULT_H */
