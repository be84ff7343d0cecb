/*
 * Bounded bump allocator for protobuf-c (see arena.h).  Allocations are
 * 16-byte aligned; the arena never grows, so the worst a hostile datagram
 * can do is make one unpack fail.
 */
#include <string.h>

#include "arena.h"

static void *
arena_alloc(void *data, size_t size)
{
	struct wire_arena *a = data;
	size_t off = (a->used + 15) & ~(size_t)15;

	if (size > sizeof(a->buf) || off > sizeof(a->buf) - size) {
		a->exhausted = 1;
		return NULL;
	}
	a->used = off + size;
	if (a->used > a->high_water)
		a->high_water = a->used;
	return a->buf + off;
}

static void
arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;  /* freed all at once by wire_arena_reset() */
}

void
wire_arena_init(struct wire_arena *a)
{
	a->pb.alloc = arena_alloc;
	a->pb.free = arena_free;
	a->pb.allocator_data = a;
	a->used = 0;
	a->high_water = 0;
	a->exhausted = 0;
}

void
wire_arena_reset(struct wire_arena *a)
{
	a->used = 0;
	a->exhausted = 0;
}
