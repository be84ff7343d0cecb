/*
 * The Redis store's closed generations (store_redis_int.h): a ring, indexed
 * by generation number, that doubles when full; a generation is formatted
 * once when it closes and completes its batches, in submit order, when its
 * last command is answered.
 */
#include <errno.h>
#include <stdlib.h>

#include "store_redis_int.h"

int
sr_gen_room(struct store_redis *r)
{
	uint32_t n = r->gtail - r->ghead, ncap = r->gcap * 2;
	struct rgen *ng;

	if (n < r->gcap)
		return 0;
	ng = calloc(ncap, sizeof(*ng));
	if (ng == NULL)
		return -ENOMEM;
	for (uint32_t id = r->ghead; id != r->gtail; id++)
		ng[id & (ncap - 1)] = *sr_gen_at(r, id);
	free(r->gens);
	r->gens = ng;
	r->gcap = ncap;
	return 0;
}

int
sr_gen_close(struct store_redis *r)
{
	struct rgen *g;

	if (coalesce_events(r->co) == 0)
		return 0;
	if (sr_gen_room(r) != 0)
		return -ENOMEM;
	g = sr_gen_at(r, r->gtail);
	g->out.len = 0;
	g->out.ncmds = 0;
	g->repair.len = 0;
	g->repair.ncmds = 0;
	g->events = coalesce_events(r->co);
	if (coalesce_flush(r->co, &g->out, &g->repair) != 0)
		return -ENOMEM;
	g->has_wait = r->wait.ncmds != 0 && resp_out_append(&g->out, &r->wait) == 0;
	g->replied = 0;
	g->replied_off = 0;
	g->batch_head = r->open_head;
	g->batch_tail = r->open_tail;
	r->open_head = r->open_tail = NO_BATCH;
	r->gtail++;
	return 0;
}

void
sr_gen_done(struct store_redis *r)
{
	struct rgen *g = sr_gen_at(r, r->ghead);
	uint32_t b = g->batch_head;

	r->ghead++;
	r->events_pending -= g->events;
	if (g->out.cap > GEN_KEEP_BYTES)
		resp_out_free(&g->out);
	if (g->repair.cap > GEN_KEEP_BYTES)
		resp_out_free(&g->repair);
	while (b != NO_BATCH) {
		struct rbatch *rb = &r->batches[b];
		uint32_t next = rb->next;
		uint64_t cookie = rb->cookie;

		r->batches_pending--;
		rb->next = r->free_batch;
		r->free_batch = b;
		r->base.done(r->base.ctx, cookie, 0);
		b = next;
	}
}
