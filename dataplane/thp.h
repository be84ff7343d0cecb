/*
 * Tables on transparent huge pages.  Without hugetlbfs (--no-huge) EAL's
 * memory is a memfd (shmem), which the kernel backs with 4 KiB pages unless
 * shmem THP is enabled (it is not on the benchmark box: shmem_enabled
 * [never]), so every random probe of a multi-MiB table costs a TLB miss.
 * Anonymous memory with madvise(MADV_HUGEPAGE) gets 2 MiB pages where
 * /sys/kernel/mm/transparent_hugepage/enabled says [madvise] or [always].
 *
 * dp_thp_alloc() maps len bytes (rounded up to 2 MiB) of zeroed anonymous
 * memory aligned to 2 MiB, advises huge pages and touches every page once
 * (no fault in the hot path, as dp_prefault does for EAL memory).  The
 * advice is only a hint: on a kernel without THP the memory is 4 KiB pages
 * and everything still works.  Plain memory: no EAL, usable from any
 * program (chotd's workers and chot-sockbase, so both pay the same).
 */
#ifndef CHOT_DP_THP_H
#define CHOT_DP_THP_H

#include <stdbool.h>
#include <stddef.h>

/* NULL with errno. */
void *dp_thp_alloc(size_t len);
void dp_thp_free(void *p, size_t len);

/* How many bytes of [p, p + len) are on huge pages now (/proc/self/smaps);
 * 0 when unknown.  For tests and start-up logs, not the hot path. */
size_t dp_thp_huge_bytes(const void *p, size_t len);

#endif /* CHOT_DP_THP_H */
