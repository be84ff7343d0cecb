/*
 * Without hugepages EAL memory is faulted in page by page on first touch, in
 * the middle of the hot path (dedupe and device tables).  dp_prefault()
 * touches all of it once at start-up instead, as hugepage memory would be;
 * with hugepages it does nothing.  Used by chotd (ingest.prefault) and by
 * chot-sockbase, so both pay the same.
 */
#ifndef CHOT_DP_PREFAULT_H
#define CHOT_DP_PREFAULT_H

void dp_prefault(void);

#endif /* CHOT_DP_PREFAULT_H */
