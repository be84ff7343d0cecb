/*
 * Touch every EAL memory page once (prefault.h).
 */
#include <stddef.h>
#include <stdint.h>

#include <rte_eal.h>
#include <rte_memory.h>

#include "prefault.h"

static int
prefault_seg(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	volatile const uint8_t *p = ms->addr;
	size_t off;

	(void)msl;
	(void)arg;
	for (off = 0; off < ms->len; off += 4096)
		(void)p[off];
	return 0;
}

void
dp_prefault(void)
{
	if (!rte_eal_has_hugepages())
		rte_memseg_walk(prefault_seg, NULL);
}
