/*
 * Redis Cluster routing (DESIGN §8), the one copy chotd and chotctl share.
 *
 * A key's slot is CRC16-XMODEM of its hash tag mod 16384 (the Redis Cluster
 * spec): when the key holds a '{' followed later by a '}' with at least one
 * byte between them, only the bytes between the first '{' and the first '}'
 * after it are hashed; otherwise the whole key is.
 *
 * The slot map is built from a CLUSTER SLOTS reply (hiredis 0.14, RESP2):
 *
 *   1) 1) (integer) start  2) (integer) end
 *      3) 1) "host" 2) (integer) port 3) "node id" [4) metadata]   master
 *      4) ... replicas, same shape
 *
 * One *shard* per distinct master; several ranges of one master are one
 * shard.  owner[] gives each of the 16384 slots its shard index, or -1 when
 * no range covers it (a hole: the cluster answers CLUSTERDOWN there).  A
 * reply that is not that shape, or whose ranges overlap, is refused whole;
 * the caller keeps its old map.  A refresh builds a new map, compares it with
 * slot_map_equal() and swaps.
 *
 * Also here: the MOVED/ASK error text ("MOVED 3999 127.0.0.1:6381").
 * Pure: no I/O; the map is a plain struct (about 100 kB: allocate it).
 */
#ifndef CHOT_SLOT_H
#define CHOT_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "redis_url.h"

#define SLOT_COUNT 16384
#define SLOT_MAX_SHARDS 64
#define SLOT_MAX_REPLICAS 4

struct redisReply;

/* CRC16-XMODEM (poly 0x1021, init 0): crc16("123456789") = 0x31C3. */
uint16_t slot_crc16(const void *buf, size_t len);

/* The cluster slot of a key, honouring its hash tag. */
uint16_t slot_of_key(const void *key, size_t len);

struct slot_node {
	struct redis_endpoint ep;
	char id[41];            /* the node id (40 hex), "" if the reply had none */
};

struct slot_shard {
	struct slot_node master;
	unsigned nreplicas;
	struct slot_node replicas[SLOT_MAX_REPLICAS];
	unsigned nslots;        /* slots it owns */
};

struct slot_map {
	unsigned nshards;
	struct slot_shard shards[SLOT_MAX_SHARDS];
	int8_t owner[SLOT_COUNT];       /* shard index, -1 = not covered */
	unsigned holes;                 /* slots not covered */
};

/*
 * Build *m from a CLUSTER SLOTS reply.  A node with an empty or nil host
 * ("the address you asked") gets default_host (NULL: refused).  0, or
 * -EINVAL with the problem in err (m is then unspecified).
 */
int slot_map_parse(const struct redisReply *r, const char *default_host, struct slot_map *m,
		   char *err, size_t errlen);

/* The shard owning slot, or NULL for a hole. */
const struct slot_shard *slot_map_owner(const struct slot_map *m, uint16_t slot);

/* The shard index owning key's slot, or -1. */
int slot_map_shard_of_key(const struct slot_map *m, const void *key, size_t len);

/* The index of the shard whose master is ep, or -1. */
int slot_map_find_master(const struct slot_map *m, const struct redis_endpoint *ep);

/* The first uncovered slot at or after from, or -1 when none. */
int slot_map_next_hole(const struct slot_map *m, unsigned from);

/* Same shards (masters, replicas, in order) and same owner of every slot? */
bool slot_map_equal(const struct slot_map *a, const struct slot_map *b);

/*
 * After "MOVED slot host:port": give slot to the shard of that master,
 * adding a shard (no replicas known) if the map has none.  0, or -ENOSPC
 * when the map is full (refresh the whole map instead).
 */
int slot_map_move(struct slot_map *m, uint16_t slot, const struct redis_endpoint *ep);

enum slot_redirect_kind { SLOT_REDIRECT_NONE, SLOT_REDIRECT_MOVED, SLOT_REDIRECT_ASK };

struct slot_redirect {
	enum slot_redirect_kind kind;
	uint16_t slot;
	struct redis_endpoint ep;
};

/*
 * Parse an error reply's text (len bytes): "MOVED <slot> <host:port>" or
 * "ASK <slot> <host:port>".  Returns the kind (NONE for any other error or a
 * malformed redirect) and fills *out for MOVED/ASK.
 */
enum slot_redirect_kind slot_redirect_parse(const char *s, size_t len, struct slot_redirect *out);

#endif /* CHOT_SLOT_H */
