/*
 * Fetch a Redis Cluster slot map without blocking: AUTH + CLUSTER SLOTS on
 * one node's own connection, parsed by proto/slot.h.  One attempt at a
 * time; the caller (store_cluster.c) picks the node and moves to the next
 * one when an attempt fails.
 */
#ifndef CHOT_STORE_CLUSTER_SLOTS_H
#define CHOT_STORE_CLUSTER_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "slot.h"

#define CL_SLOTS_TIMEOUT_US 1000000

struct cl_slots;

struct cl_slots *cl_slots_create(const char *user, const char *password);
void cl_slots_destroy(struct cl_slots *f);

/* Start asking ep (any attempt under way is dropped). 0 or -ECONNREFUSED (err set). */
int cl_slots_start(struct cl_slots *f, const struct redis_endpoint *ep, uint64_t now_us,
		   char *err, size_t errlen);

/* An attempt is under way. */
bool cl_slots_busy(const struct cl_slots *f);

/* 0: still going; 1: *out holds the node's map; -1: the attempt failed (err set). */
int cl_slots_poll(struct cl_slots *f, uint64_t now_us, struct slot_map *out, char *err,
		  size_t errlen);

/* The node of the current (or last) attempt. */
const struct redis_endpoint *cl_slots_endpoint(const struct cl_slots *f);

/*
 * The start-up check's blocking fetch (at most about timeout_ms a step):
 * 0 with *out, -EACCES (AUTH refused), -EPERM (NOPERM), -EIO (not a
 * cluster, bad reply), or -ECONNREFUSED / -ETIMEDOUT; err says why.
 */
int cl_slots_fetch_blocking(const struct redis_endpoint *ep, const char *user,
			    const char *password, unsigned timeout_ms, struct slot_map *out,
			    char *err, size_t errlen);

#endif /* CHOT_STORE_CLUSTER_SLOTS_H */
