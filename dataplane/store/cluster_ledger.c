/*
 * The cluster store's ledger and chunks (cluster_ledger.h): pure logic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_ledger.h"
#include "slot.h"

static uint32_t
pow2_at_least(uint32_t n)
{
	uint32_t p = 16;

	while (p < n)
		p <<= 1;
	return p;
}

int
cl_ledger_init(struct cl_ledger *l, uint32_t max_batches)
{
	memset(l, 0, sizeof(*l));
	l->bcap = pow2_at_least(max_batches);
	l->gcap = 64;
	l->cookies = calloc(l->bcap, sizeof(*l->cookies));
	l->bevents = calloc(l->bcap, sizeof(*l->bevents));
	l->gens = calloc(l->gcap, sizeof(*l->gens));
	if (l->cookies == NULL || l->bevents == NULL || l->gens == NULL) {
		cl_ledger_free(l);
		return -ENOMEM;
	}
	return 0;
}

void
cl_ledger_free(struct cl_ledger *l)
{
	for (uint32_t i = 0; l->gens != NULL && i < l->gcap; i++)
		resp_out_free(&l->gens[i].repair);
	free(l->cookies);
	free(l->bevents);
	free(l->gens);
	memset(l, 0, sizeof(*l));
}

int
cl_ledger_add(struct cl_ledger *l, uint64_t cookie, uint32_t events)
{
	uint32_t i;

	if (l->btail - l->bhead >= l->bcap)
		return -ENOBUFS;
	i = l->btail++ & (l->bcap - 1);
	l->cookies[i] = cookie;
	l->bevents[i] = events;
	l->open_batches++;
	l->open_events += events;
	l->events_pending += events;
	l->batches_pending++;
	return 0;
}

static struct cl_gen *
gen_at(struct cl_ledger *l, uint32_t id)
{
	return &l->gens[id & (l->gcap - 1)];
}

uint32_t
cl_ledger_close(struct cl_ledger *l)
{
	struct cl_gen *g;

	if (l->gtail - l->ghead >= l->gcap) {
		uint32_t ncap = l->gcap * 2;
		struct cl_gen *ng = calloc(ncap, sizeof(*ng));

		if (ng == NULL)
			return CL_NO_GEN;
		for (uint32_t id = l->ghead; id != l->gtail; id++)
			ng[id & (ncap - 1)] = *gen_at(l, id);
		free(l->gens);
		l->gens = ng;
		l->gcap = ncap;
	}
	g = gen_at(l, l->gtail);
	g->repair.len = 0;
	g->repair.ncmds = 0;
	g->batches = l->open_batches;
	g->events = l->open_events;
	g->holds = 1;
	l->open_batches = 0;
	l->open_events = 0;
	return l->gtail++;
}

struct resp_out *
cl_ledger_repair(struct cl_ledger *l, uint32_t gen)
{
	return &gen_at(l, gen)->repair;
}

bool
cl_ledger_live(const struct cl_ledger *l, uint32_t gen)
{
	return gen != CL_NO_GEN && gen - l->ghead < l->gtail - l->ghead;
}

void
cl_ledger_hold(struct cl_ledger *l, uint32_t gen)
{
	gen_at(l, gen)->holds++;
}

/* Complete the oldest generation's batches with status. */
static uint32_t
complete_head(struct cl_ledger *l, int status, cl_done_fn done, void *ctx)
{
	struct cl_gen *g = gen_at(l, l->ghead);
	uint32_t n = g->batches;

	l->ghead++;
	if (g->repair.cap > 256 * 1024)
		resp_out_free(&g->repair);
	g->repair.len = 0;
	g->repair.ncmds = 0;
	l->events_pending -= g->events;
	l->batches_pending -= n;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t cookie = l->cookies[l->bhead++ & (l->bcap - 1)];

		done(ctx, cookie, status);
	}
	return n;
}

uint32_t
cl_ledger_release(struct cl_ledger *l, uint32_t gen, cl_done_fn done, void *ctx)
{
	uint32_t n = 0;

	if (gen == CL_NO_GEN || gen - l->ghead >= l->gtail - l->ghead)
		return 0;          /* not a live generation: nothing to release */
	if (gen_at(l, gen)->holds > 0)
		gen_at(l, gen)->holds--;
	while (l->ghead != l->gtail && gen_at(l, l->ghead)->holds == 0)
		n += complete_head(l, 0, done, ctx);
	return n;
}

void
cl_ledger_abandon(struct cl_ledger *l, int status, cl_done_fn done, void *ctx)
{
	while (l->ghead != l->gtail)
		complete_head(l, status, done, ctx);
	while (l->bhead != l->btail)
		done(ctx, l->cookies[l->bhead++ & (l->bcap - 1)], status);
	l->open_batches = 0;
	l->open_events = 0;
	l->events_pending = 0;
	l->batches_pending = 0;
}

/* --- chunks --- */

int
cl_chunk_add(struct cl_chunk *ch, const char *cmd, size_t len, uint16_t slot)
{
	struct resp_out one = { .buf = (char *)cmd, .len = len, .cap = len,
				.cmd_len = &(uint32_t){ (uint32_t)len }, .ncmds = 1, .cmd_cap = 1 };

	if (ch->out.ncmds + 1 > ch->cap) {
		uint32_t ncap = ch->cap != 0 ? ch->cap * 2 : 64;
		uint16_t *ns = realloc(ch->slot, ncap * sizeof(*ns));
		uint8_t *nd;

		if (ns == NULL)
			return -ENOMEM;
		ch->slot = ns;
		nd = realloc(ch->done, ncap * sizeof(*nd));
		if (nd == NULL)
			return -ENOMEM;
		ch->done = nd;
		ch->cap = ncap;
	}
	if (resp_out_append(&ch->out, &one) != 0)
		return -ENOMEM;
	ch->slot[ch->out.ncmds - 1] = slot;
	ch->done[ch->out.ncmds - 1] = 0;
	return 0;
}

void
cl_chunk_reset(struct cl_chunk *ch, uint32_t gen)
{
	ch->out.len = 0;
	ch->out.ncmds = 0;
	ch->ndone = 0;
	ch->gen = gen;
	ch->sealed = false;
	ch->has_wait = false;
}

void
cl_chunk_free(struct cl_chunk *ch)
{
	resp_out_free(&ch->out);
	free(ch->slot);
	free(ch->done);
	memset(ch, 0, sizeof(*ch));
}

size_t
cl_chunk_offset(const struct cl_chunk *ch, uint32_t i)
{
	size_t off = 0;

	for (uint32_t k = 0; k < i; k++)
		off += ch->out.cmd_len[k];
	return off;
}

/* Parse "$<n>\r\n" at p (end e): the length, and p moved past it; -1 if malformed. */
static long
bulk_len(const char **p, const char *e)
{
	const char *q = *p;
	long n = 0;

	if (q >= e || *q != '$')
		return -1;
	for (q++; q < e && *q >= '0' && *q <= '9'; q++)
		n = n * 10 + (*q - '0');
	if (e - q < 2 || q[0] != '\r' || q[1] != '\n' || n > 1 << 20)
		return -1;
	*p = q + 2;
	return n;
}

int
cl_resp_key(const char *cmd, size_t len, const char **key, size_t *keylen)
{
	const char *p = cmd + 1, *e = cmd + len;
	long n = 0;

	if (len < 4 || *cmd != '*')
		return -EINVAL;
	for (; p < e && *p >= '0' && *p <= '9'; p++)
		n = n * 10 + (*p - '0');
	if (n < 2 || e - p < 2 || p[0] != '\r' || p[1] != '\n')
		return -EINVAL;       /* fewer than 2 elements, or malformed */
	p += 2;
	n = bulk_len(&p, e);      /* the command name */
	if (n < 0 || e - p < n + 2)
		return -EINVAL;
	p += n + 2;
	n = bulk_len(&p, e);      /* the key */
	if (n < 0 || e - p < n + 2)
		return -EINVAL;
	*key = p;
	*keylen = (size_t)n;
	return 0;
}

void
cl_split(const struct resp_out *flat,
	 void (*put)(void *ctx, const char *cmd, size_t len, uint16_t slot), void *ctx)
{
	size_t off = 0;

	for (uint32_t i = 0; i < flat->ncmds; off += flat->cmd_len[i], i++) {
		const char *key;
		size_t kl;
		uint16_t slot = CL_NO_SLOT;

		if (cl_resp_key(flat->buf + off, flat->cmd_len[i], &key, &kl) == 0)
			slot = slot_of_key(key, kl);
		put(ctx, flat->buf + off, flat->cmd_len[i], slot);
	}
}
