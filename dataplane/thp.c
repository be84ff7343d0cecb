/*
 * Anonymous 2 MiB-aligned mappings with MADV_HUGEPAGE (thp.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <sys/mman.h>

#include "thp.h"

#define THP_SIZE ((size_t)2 << 20)

static size_t
thp_round(size_t len)
{
	return (len + THP_SIZE - 1) & ~(THP_SIZE - 1);
}

void *
dp_thp_alloc(size_t len)
{
	size_t n = thp_round(len), over = n + THP_SIZE, head, tail;
	uint8_t *raw, *p;
	size_t off;

	if (len == 0) {
		errno = EINVAL;
		return NULL;
	}
	raw = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	/* Keep the 2 MiB-aligned n bytes, give back the rest. */
	p = (uint8_t *)(((uintptr_t)raw + THP_SIZE - 1) & ~(uintptr_t)(THP_SIZE - 1));
	head = (size_t)(p - raw);
	tail = over - head - n;
	if (head > 0)
		munmap(raw, head);
	if (tail > 0)
		munmap(p + n, tail);
#ifdef MADV_HUGEPAGE
	(void)madvise(p, n, MADV_HUGEPAGE);
#endif
	for (off = 0; off < n; off += 4096)
		p[off] = 0;     /* fault it in now: a huge page per 2 MiB when granted */
	return p;
}

void
dp_thp_free(void *p, size_t len)
{
	if (p != NULL)
		munmap(p, thp_round(len));
}

size_t
dp_thp_huge_bytes(const void *p, size_t len)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + thp_round(len), a, b;
	char line[256];
	bool in = false;
	size_t huge = 0, kb;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
			in = a < hi && b > lo;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %zu kB", &kb) == 1)
			huge += kb * 1024;
	}
	fclose(f);
	return huge;
}
