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

/*
 * The slot map's longest life: a call that needs routing re-reads it first
 * when it is older (a resharding or a failover is then found without waiting
 * for a MOVED: a node that went away never sends one).  chotd's cluster
 * store refreshes its own map as often (dataplane/store/store_cluster.c,
 * CL_REFRESH_US).  Checked only as a call starts, never inside a stream, and
 * not while a WATCH is open (its EXEC must reach the WATCHed node).
 */
#define CTL_MAP_MAX_AGE_US 10000000ULL

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
	uint64_t map_at_us;             /* when the map was read (chot_mono_us) */
	uint64_t map_max_age_us;        /* CTL_MAP_MAX_AGE_US; 0: never by age (fake nodes) */
	uint64_t map_refreshes;         /* maps read again after the first */
	uint64_t map_errors;            /* refreshes by age that failed (the old map kept) */
	bool watching;                  /* a WATCH is open: reads go to masters too */
	struct ctl_peer nodes[CTL_MAX_NODES];
	unsigned nnodes;
	uint64_t calls;
	bool stream_gets;               /* the tests: values streams with one GET a key, no MGET */
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

/*
 * Refresh the slot map when a MOVED made it stale, or when it is older than
 * map_max_age_us.  0 or -EIO (err set): only a MOVED's refresh fails the
 * call; one by age that fails keeps the old map (still right unless the
 * cluster changed) and is tried again a whole interval later, so a stopped
 * seed costs its timeout once an interval, not once a call.
 */
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
