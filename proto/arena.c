/*
 * Bounded bump allocator for protobuf-c (see arena.h).  Allocations are
 * 16-byte aligned; the arena never grows, so the worst a hostile datagram
 * can do is make one unpack fail.
 *
 * Under AddressSanitizer (the fuzz build) the unused part of the buffer is
 * poisoned and each allocation unpoisoned, so a decoder that wrote past the
 * block it was given is caught even though the arena is one static array.
 */
#include <string.h>

#include "arena.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define arena_poison(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define arena_unpoison(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define arena_poison(p, n) ((void)(p), (void)(n))
#define arena_unpoison(p, n) ((void)(p), (void)(n))
#endif

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
	arena_unpoison(a->buf + off, size);
	return a->buf + off;
}

static void
arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr; /* freed all at once by wire_arena_reset() */
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
	arena_poison(a->buf, sizeof(a->buf));
}

void
wire_arena_reset(struct wire_arena *a)
{
	a->used = 0;
	a->exhausted = 0;
	arena_poison(a->buf, sizeof(a->buf));
}
