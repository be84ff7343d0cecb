/*
 * A bounded bump allocator behind a ProtobufCAllocator, so that unpacking a
 * hostile datagram can never allocate without limit: when the arena is
 * exhausted the allocation fails, protobuf-c's unpack returns NULL, and the
 * batch is counted as decode_errors (BODY_ARENA).  free() is a no-op;
 * wire_arena_reset() recycles the whole arena for the next datagram, so the
 * dataplane allocates nothing per packet.
 */
#ifndef CHOT_ARENA_H
#define CHOT_ARENA_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Enough for 64 maximal events; a 1472-byte datagram of tiny events hits it. */
#define WIRE_ARENA_SIZE (24 * 1024)

struct wire_arena {
	ProtobufCAllocator pb;    /* hand &arena->pb to protobuf-c */
	size_t used;
	size_t high_water;        /* largest `used` seen since init */
	unsigned exhausted;       /* an allocation failed since the last reset */
	_Alignas(16) uint8_t buf[WIRE_ARENA_SIZE];
};

void wire_arena_init(struct wire_arena *a);
void wire_arena_reset(struct wire_arena *a);

#endif /* CHOT_ARENA_H */
