/*
 * Inside chotctl's Redis client (redis.c: opening, signing in, the node pool
 * and the slot map; redis_pipe.c: routing and pipelines; redis_stream.c: the
 * streamed reads).
 */
#ifndef CHOT_CTL_REDIS_INT_H
#define CHOT_CTL_REDIS_INT_H

#include <stdbool.h>

#include "redis.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "slot.h"

#define CTL_MAX_NODES (2 * SLOT_MAX_SHARDS + 16)

struct ctl_peer {
	struct redis_endpoint ep;
	struct ctl_conn *c;
	bool side;              /* for redirections met inside a stream */
};

struct ctl_redis {
	struct redis_url url;
	char user[128], password[256];
	bool cluster, replicas;
	unsigned timeout_ms;
	struct ctl_conn *single;        /* redis://, unix://, or the tests' fd */
	struct slot_map *map;           /* cluster:// */
	bool map_stale;                 /* a MOVED was seen: refresh before the next use */
	bool watching;                  /* a WATCH is open: reads go to masters too */
	struct ctl_peer nodes[CTL_MAX_NODES];
	unsigned nnodes;
	uint64_t calls;
	uint64_t dup_records;           /* ctl_redis_records_stream's counters */
	uint64_t corrupt_values;
};

/*
 * The pooled connection to ep (connected and signed in on first use;
 * READONLY first when readonly).  side: a connection of its own, never one
 * a stream is using.  NULL with the reason in err.
 */
struct ctl_conn *ctl_redis_node(struct ctl_redis *r, const struct redis_endpoint *ep,
				bool readonly, bool side, char *err, size_t errlen);

/* Close c and forget it (its replies are out of step after a failure). */
void ctl_redis_drop(struct ctl_redis *r, struct ctl_conn *c);

/* Where reads of shard si go: its master, or with --replicas its first replica. */
const struct redis_endpoint *ctl_redis_read_ep(const struct ctl_redis *r, int si, bool *readonly);

/* Refresh the slot map when a MOVED made it stale. 0 or -EIO (err set). */
int ctl_redis_refresh_if_stale(struct ctl_redis *r, char *err, size_t errlen);

/* The slot's owner for a read, or an error naming the slot when no master has it. */
int ctl_redis_read_conn(struct ctl_redis *r, uint16_t slot, struct ctl_conn **out, char *err,
			size_t errlen);

/*
 * A cluster client over already connected sockets, fds[i] being shard i's
 * master (the tests' fake nodes); m is copied.  NULL on ENOMEM.
 */
struct ctl_redis *ctl_redis_from_map(const struct slot_map *m, const int *fds);

#endif /* CHOT_CTL_REDIS_INT_H */
