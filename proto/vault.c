/*
 * The identity vault (see vault.h): XChaCha20-Poly1305 with a nonce derived
 * from the pid, so sealing is deterministic and the vault write idempotent.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "layout.h"
#include "vault.h"

_Static_assert(VAULT_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "the AEAD's tag");
_Static_assert(VAULT_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "its nonce");
_Static_assert(VAULT_MAX_SEALED == LAYOUT_VAULT_MAX, "a vault unit holds any sealed value");
_Static_assert(VAULT_MIN_SEALED == LAYOUT_VAULT_MIN, "... and nothing shorter");

static void
vault_nonce(uint8_t nonce[VAULT_NONCE_LEN], const uint8_t key[32], const uint8_t pid[PID_LEN])
{
	uint8_t msg[8 + PID_LEN] = {'c', 'h', 'o', 't', 'v', 'l', 't', '1'};

	memcpy(msg + 8, pid, PID_LEN);
	crypto_generichash(nonce, VAULT_NONCE_LEN, msg, sizeof(msg), key, 32);
}

size_t
vault_seal(uint8_t out[VAULT_MAX_SEALED], const uint8_t vault_key[32], const uint8_t pid[PID_LEN],
           uint8_t scheme, const char *subject, size_t len)
{
	uint8_t pt[1 + WIRE_SUBJECT_MAX], nonce[VAULT_NONCE_LEN];
	unsigned long long clen = 0;

	if (len > WIRE_SUBJECT_MAX)
		len = WIRE_SUBJECT_MAX;
	pt[0] = scheme;
	memcpy(pt + 1, subject, len);
	vault_nonce(nonce, vault_key, pid);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, &clen, pt, 1 + len, pid, PID_LEN, NULL,
	                                           nonce, vault_key);
	sodium_memzero(pt, sizeof(pt));
	return (size_t)clen;
}

int
vault_open(const uint8_t *sealed, size_t len, const uint8_t vault_key[32],
           const uint8_t pid[PID_LEN], uint8_t *scheme, char subject[WIRE_SUBJECT_MAX_NUL])
{
	uint8_t pt[1 + WIRE_SUBJECT_MAX], nonce[VAULT_NONCE_LEN];
	unsigned long long plen = 0;

	if (len < VAULT_MIN_SEALED || len > VAULT_MAX_SEALED)
		return -EINVAL;
	vault_nonce(nonce, vault_key, pid);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, sealed, len, pid, PID_LEN,
	                                               nonce, vault_key) != 0)
		return -EBADMSG;
	*scheme = pt[0];
	memcpy(subject, pt + 1, plen - 1);
	subject[plen - 1] = '\0';
	sodium_memzero(pt, sizeof(pt));
	return (int)(plen - 1);
}
