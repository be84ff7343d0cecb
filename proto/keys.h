/*
 * The keys file (DESIGN §2): text, one entry per line, '#' comments.
 *
 *   master <key_id> <64 hex>      # one or more generations
 *   pseudonym <64 hex>
 *   vault <64 hex>
 *
 * keys_load() refuses a file readable or writable by group or others
 * (-EPERM), so a copied-around keys file fails loudly instead of leaking.
 * keys_write() creates the file with O_EXCL and mode 0600 (-EEXIST when it
 * exists).
 */
#ifndef CHOT_KEYS_H
#define CHOT_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KEYS_MAX_MASTER 16

struct chot_keys {
	unsigned n_master;
	struct {
		uint16_t id;
		uint8_t key[32];
	} master[KEYS_MAX_MASTER];
	uint8_t pseudonym[32];
	uint8_t vault[32];
	unsigned has_pseudonym : 1;
	unsigned has_vault : 1;
};

/*
 * Load path into *k.  Returns 0, or -errno with a one-line reason in err:
 * -ENOENT, -EPERM (mode), -EINVAL (syntax: "line N: ..."), -ENOKEY (a
 * required entry is missing: at least one master and a pseudonym key).
 */
int keys_load(const char *path, struct chot_keys *k, char *err, size_t errlen);

/* Parse keys from a text buffer (same rules, no permission check). */
int keys_parse(const char *text, struct chot_keys *k, char *err, size_t errlen);

/* Fill *k with fresh random keys: master generation 1, pseudonym, vault. */
void keys_generate(struct chot_keys *k);

/* Create path (O_CREAT|O_EXCL, 0600) and write *k.  0 or -errno. */
int keys_write(const char *path, const struct chot_keys *k);

/* Master key of generation key_id, or NULL. */
const uint8_t *keys_master(const struct chot_keys *k, uint16_t key_id);

/* Wipe key material (sodium_memzero). */
void keys_wipe(struct chot_keys *k);

#endif /* CHOT_KEYS_H */
