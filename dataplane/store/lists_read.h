/*
 * Reading the checkpoint lists (DESIGN §9, proto/lists.h) from Redis: a
 * blocking hiredis connection with timeouts, for chotd's lists loader
 * thread (dataplane/lists.c), never for a worker.
 *
 * It talks to the server of redis.url (redis://, unix://) as redis.user.
 * cluster://: it connects to the first seed and follows MOVED replies (all
 * list keys share the {lists} hash tag, so one node answers every read);
 * while the {lists} slot is being migrated, an ASK sends that one command
 * to the target, after ASKING, on a side connection, and the next command
 * goes to the owner again; when a node cannot be reached the next call
 * tries the next seed.
 * A broken connection is closed and reopened by the next call.
 *
 * EAL-free; the only other file besides store_redis.c that includes hiredis.
 */
#ifndef CHOT_STORE_LISTS_READ_H
#define CHOT_STORE_LISTS_READ_H

#include <stddef.h>
#include <stdint.h>

struct lists_reader;

/* NULL with errno: EINVAL (bad or null:// URL, err says why), ENOMEM.  Does not connect. */
struct lists_reader *lists_reader_create(const char *url, const char *user,
					 const char *password, unsigned timeout_ms,
					 char *err, size_t errlen);
void lists_reader_destroy(struct lists_reader *r);

/* GET LISTS_VERSION_KEY: 0 and *ver (0 when missing or not a number), or -errno. */
int lists_reader_version(struct lists_reader *r, uint64_t *ver, char *err, size_t errlen);

/* Called for every field of a hash; a non-zero return stops the scan with it. */
typedef int (*lists_entry_fn)(void *arg, const char *field, size_t flen, const char *val,
			      size_t vlen);

/* HSCAN key (COUNT 1000) to the end, fn for every entry (HSCAN may repeat one). 0 or -errno. */
int lists_reader_hash(struct lists_reader *r, const char *key, lists_entry_fn fn, void *arg,
		      char *err, size_t errlen);

#endif /* CHOT_STORE_LISTS_READ_H */
