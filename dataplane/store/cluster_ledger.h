/*
 * The cluster store's bookkeeping, pure logic (no I/O, no hiredis): which
 * batches a generation holds, how many per-shard chunks of it are still
 * unconfirmed, and the chunks themselves (commands in RESP with their slot
 * and a done flag each).
 *
 * Ledger.  Batches enter the open generation in submit order; closing it
 * gives it an id and one "closing hold".  Every chunk the generation is
 * split into (one per shard it touches, plus any a redirection creates
 * later) adds one hold; the chunk's confirmation releases it.  A generation
 * whose holds are all released completes only when every generation before
 * it has completed, so batches complete in submit order -- the guarantee
 * dataplane/worker.c's barrier relies on -- however the shards race.
 *
 * Chunk.  The commands one shard owes one generation, back to back in a
 * struct resp_out (coalesce.h), each with its key's slot (CL_NO_SLOT for
 * WAIT and ASKING, which belong to no key) and a done flag, so a
 * connection reset resends exactly the commands not yet done and a slot
 * map change moves exactly those to their new owner.
 */
#ifndef CHOT_STORE_CLUSTER_LEDGER_H
#define CHOT_STORE_CLUSTER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coalesce.h"

#define CL_NO_SLOT 0xffffu
#define CL_NO_GEN  UINT32_MAX

struct cl_ledger {
	uint64_t *cookies;      /* batches, FIFO ring (capacity bcap, a power of two) */
	uint32_t *bevents;
	uint32_t bcap, bhead, btail;
	uint32_t open_batches;  /* the last ones of the ring, not yet in a generation */
	uint32_t open_events;
	struct cl_gen {
		uint32_t batches, events, holds;
		struct resp_out repair;   /* EXPIREATs the expiry memo left out (coalesce.h) */
	} *gens;                /* ring of capacity gcap (a power of two), by generation id */
	uint32_t gcap, ghead, gtail;
	uint64_t events_pending;/* submitted, not completed */
	uint64_t batches_pending;
};

typedef void (*cl_done_fn)(void *ctx, uint64_t cookie, int status);

/* 0 or -ENOMEM.  max_batches bounds the batch ring (rounded up to 2^k). */
int cl_ledger_init(struct cl_ledger *l, uint32_t max_batches);
void cl_ledger_free(struct cl_ledger *l);

/* Add one batch to the open generation. 0 or -ENOBUFS (the ring is full). */
int cl_ledger_add(struct cl_ledger *l, uint64_t cookie, uint32_t events);

/* Close the open generation (it may be empty of batches, e.g. a repair):
 * returns its id, holding one hold, or CL_NO_GEN on -ENOMEM. */
uint32_t cl_ledger_close(struct cl_ledger *l);

/* The repair buffer of a live generation gen (emptied when it completes). */
struct resp_out *cl_ledger_repair(struct cl_ledger *l, uint32_t gen);

/* Is gen a generation not yet completed? */
bool cl_ledger_live(const struct cl_ledger *l, uint32_t gen);

/* One more hold on gen (a chunk of it). */
void cl_ledger_hold(struct cl_ledger *l, uint32_t gen);

/* Release one hold on gen; completes, in order, every generation from the
 * oldest whose holds are all released (done(ctx, cookie, 0) per batch).
 * Returns the number of batches completed. */
uint32_t cl_ledger_release(struct cl_ledger *l, uint32_t gen, cl_done_fn done, void *ctx);

/* Complete every batch, closed or open, with status (in order); empty the ledger. */
void cl_ledger_abandon(struct cl_ledger *l, int status, cl_done_fn done, void *ctx);

/* Events of the open generation. */
static inline uint32_t
cl_ledger_open_events(const struct cl_ledger *l)
{
	return l->open_events;
}

struct cl_chunk {
	struct resp_out out;
	uint16_t *slot;         /* per command */
	uint8_t *done;          /* per command: 1 when confirmed (or handed on) */
	uint32_t cap;           /* of slot[] and done[] */
	uint32_t ndone;
	uint32_t gen;
	bool sealed;            /* complete: may be sent */
	bool has_wait;          /* its last command is WAIT */
};

/* Append one command of len bytes for slot. 0 or -ENOMEM. */
int cl_chunk_add(struct cl_chunk *ch, const char *cmd, size_t len, uint16_t slot);

/* Reset to empty for gen (keeps the buffers). */
void cl_chunk_reset(struct cl_chunk *ch, uint32_t gen);
void cl_chunk_free(struct cl_chunk *ch);

static inline bool
cl_chunk_complete(const struct cl_chunk *ch)
{
	return ch->sealed && ch->ndone == ch->out.ncmds;
}

/* Byte offset of command i. */
size_t cl_chunk_offset(const struct cl_chunk *ch, uint32_t i);

/*
 * The key of one RESP command (its second bulk string): 0 with *key and
 * *keylen set, or -EINVAL when cmd has no key (fewer than two elements or
 * malformed).
 */
int cl_resp_key(const char *cmd, size_t len, const char **key, size_t *keylen);

/*
 * Split a flushed generation: put(ctx, cmd, len, slot) for every command of
 * flat, in order, with the slot of its key (proto/slot.h; CL_NO_SLOT for a
 * command without a key).  Commands of one key keep their order because
 * they go to the same slot's owner in order.
 */
void cl_split(const struct resp_out *flat,
	      void (*put)(void *ctx, const char *cmd, size_t len, uint16_t slot), void *ctx);

#endif /* CHOT_STORE_CLUSTER_LEDGER_H */
