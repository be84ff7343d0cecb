/*
 * The identity vault (see vault.h): XChaCha20-Poly1305 with a nonce derived
 * from the pid, so sealing is deterministic and the vault write idempotent.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "vault.h"

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
	uint8_t pt[1 + WIRE_SUBJECT_MAX];
	unsigned long long clen = 0;

	if (len > WIRE_SUBJECT_MAX)
		len = WIRE_SUBJECT_MAX;
	pt[0] = scheme;
	memcpy(pt + 1, subject, len);
	vault_nonce(out, vault_key, pid);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + VAULT_NONCE_LEN, &clen, pt, 1 + len, pid,
	                                           PID_LEN, NULL, out, vault_key);
	sodium_memzero(pt, sizeof(pt));
	return VAULT_NONCE_LEN + (size_t)clen;
}

int
vault_open(const uint8_t *sealed, size_t len, const uint8_t vault_key[32],
           const uint8_t pid[PID_LEN], uint8_t *scheme, char subject[WIRE_SUBJECT_MAX_NUL])
{
	uint8_t pt[1 + WIRE_SUBJECT_MAX];
	unsigned long long plen = 0;

	if (len < VAULT_NONCE_LEN + 1 + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    len > VAULT_MAX_SEALED)
		return -EINVAL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, sealed + VAULT_NONCE_LEN,
	                                               len - VAULT_NONCE_LEN, pid, PID_LEN, sealed,
	                                               vault_key) != 0)
		return -EBADMSG;
	*scheme = pt[0];
	memcpy(subject, pt + 1, plen - 1);
	subject[plen - 1] = '\0';
	sodium_memzero(pt, sizeof(pt));
	return (int)(plen - 1);
}
