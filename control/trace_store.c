/*
 * The trace engine's storage (trace_int.h): big arrays on transparent huge
 * pages, the scan vector, and the subject table.
 *
 * Why huge pages: on the VMs chotctl runs on, a first-touch page fault costs
 * microseconds, and a depth-2 trace touches tens of megabytes once; a 2 MB
 * page takes one fault instead of 512, and growing by mremap moves pages
 * instead of copying and re-faulting them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "trace_int.h"

#define BIG_BYTES TR_MEM_BIG
#define HUGE_PAGE (2UL << 20)

static size_t
big_round(size_t bytes)
{
	return (bytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *
tr_mem_grow(void *p, size_t old_bytes, size_t new_bytes)
{
	void *q;

	if (new_bytes < BIG_BYTES)
		return realloc(p, new_bytes);
	if (old_bytes >= BIG_BYTES) {
		q = mremap(p, big_round(old_bytes), big_round(new_bytes), MREMAP_MAYMOVE);
		return q == MAP_FAILED ? NULL : q;
	}
	q = mmap(NULL, big_round(new_bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (q == MAP_FAILED)
		return NULL;
	(void)madvise(q, big_round(new_bytes), MADV_HUGEPAGE);   /* advice only */
	if (old_bytes > 0)
		memcpy(q, p, old_bytes);
	free(p);
	return q;
}

void
tr_mem_free(void *p, size_t bytes)
{
	if (p == NULL)
		return;
	if (bytes >= BIG_BYTES)
		munmap(p, big_round(bytes));
	else
		free(p);
}

int
tr_scanvec_reserve(struct tr_scanvec *v, size_t n)
{
	size_t cap = v->cap ? v->cap : 256;
	void *nv;

	if (v->n + n <= v->cap)
		return 0;
	while (cap < v->n + n)
		cap *= 2;
	nv = tr_mem_grow(v->v, v->cap * sizeof(*v->v), cap * sizeof(*v->v));
	if (nv == NULL)
		return -ENOMEM;
	v->v = nv;
	v->cap = cap;
	return 0;
}

int
tr_scanvec_push(struct tr_scanvec *v, const struct tr_scan *s)
{
	if (v->n == v->cap && tr_scanvec_reserve(v, 1) != 0)
		return -ENOMEM;
	v->v[v->n++] = *s;
	return 0;
}

void
tr_scanvec_free(struct tr_scanvec *v)
{
	tr_mem_free(v->v, v->cap * sizeof(*v->v));
	memset(v, 0, sizeof(*v));
}

/* --- subjects by pid --- */
/* The slot holding pid, or the empty slot where it would go. */
static size_t
subj_slot(const struct tr_subjmap *m, const uint8_t pid[PID_LEN], uint64_t h)
{
	uint64_t tag = h & 0xffffffff00000000ULL;
	size_t i = (size_t)(h >> 20) & (m->cap - 1);

	for (; m->slot[i] != 0; i = (i + 1) & (m->cap - 1))
		if ((m->slot[i] & 0xffffffff00000000ULL) == tag &&
		    memcmp(m->s[(uint32_t)m->slot[i] - 1].pid, pid, PID_LEN) == 0)
			break;
	return i;
}

struct tr_subj *
tr_subj_get(struct tr_subjmap *m, const uint8_t pid[PID_LEN])
{
	uint64_t h;
	size_t i;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8192;
		uint64_t *slot = tr_mem_grow(NULL, 0, cap * sizeof(*slot));

		if (slot == NULL)
			return NULL;
		memset(slot, 0, cap * sizeof(*slot));
		tr_mem_free(m->slot, m->cap * sizeof(*m->slot));
		m->slot = slot;
		m->cap = cap;
		for (size_t k = 0; k < m->n; k++) {
			uint64_t hk = tr_pid_hash(m->s[k].pid);

			m->slot[subj_slot(m, m->s[k].pid, hk)] =
				(hk & 0xffffffff00000000ULL) | (k + 1);
		}
	}
	h = tr_pid_hash(pid);
	i = subj_slot(m, pid, h);
	if (m->slot[i] != 0)
		return &m->s[(uint32_t)m->slot[i] - 1];
	if (m->n == m->cap_s) {
		size_t cap = m->cap_s ? m->cap_s * 2 : 4096;
		void *ns = tr_mem_grow(m->s, m->cap_s * sizeof(*m->s), cap * sizeof(*m->s));

		if (ns == NULL)
			return NULL;
		m->s = ns;
		m->cap_s = cap;
	}
	memset(&m->s[m->n], 0, sizeof(m->s[m->n]));
	memcpy(m->s[m->n].pid, pid, PID_LEN);
	m->slot[i] = (h & 0xffffffff00000000ULL) | ++m->n;
	return &m->s[m->n - 1];
}

struct tr_subj *
tr_subj_find(const struct tr_subjmap *m, const uint8_t pid[PID_LEN])
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	i = subj_slot(m, pid, tr_pid_hash(pid));
	return m->slot[i] != 0 ? &m->s[(uint32_t)m->slot[i] - 1] : NULL;
}

void
tr_subjmap_free(struct tr_subjmap *m)
{
	tr_mem_free(m->s, m->cap_s * sizeof(*m->s));
	tr_mem_free(m->slot, m->cap * sizeof(*m->slot));
	memset(m, 0, sizeof(*m));
}
