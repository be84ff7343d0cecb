/*
 * The Redis store's write coalescer: pure logic, no I/O, no hiredis.
 *
 * Events of many batches are gathered into one *generation*.  Records are
 * grouped by key (proto/layout.h), so a generation becomes one APPEND per
 * distinct key, carrying the key's records of the generation back to back
 * in one bulk string (raw bytes, n x the record size; a subject's vault unit
 * among them), each followed by one EXPIREAT.  With CHOT.APPEND
 * (coalesce_set_chot_append, the server has the module) it is one
 * CHOT.APPEND key expire_at records per key instead, and no EXPIREAT: the
 * expiry memo below is then unused.
 * When Redis keeps up, a generation is whatever arrived since the last
 * flush (often one batch); when Redis is the bottleneck the generation grows
 * while the pipe is full, so the commands per event fall exactly when it
 * matters (group commit).
 *
 * Flushing formats every command in RESP, back to back, into one buffer and
 * records each command's length, so the sender can slice the buffer per
 * command (the in-flight window counts commands) and hand contiguous runs to
 * the socket without a copy per command or a malloc per command.
 *
 * Order inside a flushed generation: for each key in first-seen order, its
 * APPEND then its EXPIREAT (the APPEND creates the key, which must exist
 * when EXPIREAT runs); inside an APPEND the records in submit order; then the
 * alerts (XADD chot:{alerts}, one per event with a reason mask, DESIGN §9)
 * in submit order.  A generation
 * replayed after a reconnect may append its records again and repeat an
 * alert (neither APPEND nor XADD * is idempotent): readers drop exact
 * duplicate records (layout_records_unique) and show each alert's (pid,
 * site, ts_ms) once; the store counts the events it resent (redis_resent).
 *
 * The vault unit (once per subject and week, ingest.h's write_vault) goes
 * into the subject's week key, in the same APPEND as its records, right
 * after the record of the event that carried the hint: the unit's records
 * are added in one go, so they are contiguous in the APPEND (layout.h).  It
 * expires with the week key, so no expiry of its own is needed.
 *
 * Expiry memo (APPEND mode only): a key's expiry is fixed by its bucket, so
 * one EXPIREAT per key is enough.  A direct-mapped table of key hashes remembers the keys
 * whose EXPIREAT went out since coalesce_forget(); their EXPIREAT is then
 * left out of the generation and formatted into a separate *repair* buffer
 * instead.  The store calls coalesce_forget() whenever the connection
 * breaks (Redis may have restarted and lost the key, e.g. the last second
 * under appendfsync everysec) and queues the repair buffers of every
 * generation not yet confirmed, after them: so no key can be left without
 * its expiry, while in steady state each key gets its EXPIREAT once.  A
 * slot collision only costs an extra EXPIREAT; a false hit needs two keys
 * with the same 64-bit hash.
 */
#ifndef CHOT_STORE_COALESCE_H
#define CHOT_STORE_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct coalesce;

/* RESP output of one flush: commands back to back in buf, lengths in cmd_len. */
struct resp_out {
	char *buf;
	size_t len, cap;
	uint32_t *cmd_len;
	uint32_t ncmds, cmd_cap;
};

/*
 * max_events: the most events one generation holds; memo_slots: size of the
 * expiry memo (a power of two, 0 = no memo). vault_key may be NULL.
 */
struct coalesce *coalesce_create(unsigned max_events, unsigned memo_slots,
				 unsigned retention_days, const uint8_t *vault_key);
void coalesce_destroy(struct coalesce *co);

/* The alerts' stream cap (XADD MAXLEN ~ max); default LISTS_ALERTS_MAX_DEFAULT. */
void coalesce_set_alerts_max(struct coalesce *co, unsigned max);

/*
 * Write with CHOT.APPEND key expire_at records (redismod/chot_append.c), one
 * command a key, instead of APPEND and EXPIREAT: the store turns it on when
 * its start-up check found the command on the server (dp_store_conf
 * chot_append).  The expiry memo and the repair buffer are then unused.
 */
void coalesce_set_chot_append(struct coalesce *co, bool on);

/* Events held (added since the last flush). */
unsigned coalesce_events(const struct coalesce *co);

/* Can n more events be added before a flush? */
bool coalesce_room(const struct coalesce *co, unsigned n);

/*
 * Add n events (n <= room).  0, -ENOSPC (no room: flush first) or -ENOMEM;
 * on error nothing was added.
 */
int coalesce_add(struct coalesce *co, const struct dp_store_event *evs, unsigned n);

/*
 * Format the held events' commands into out (appended; out->len and
 * out->ncmds grow), the EXPIREATs the memo left out into repair, and start
 * an empty generation.  0 or -ENOMEM (the events are still held).
 */
int coalesce_flush(struct coalesce *co, struct resp_out *out, struct resp_out *repair);

/*
 * The events one command of a flush carries, for counting resends
 * (redis_resent): the event records of an APPEND or a CHOT.APPEND to a
 * subject timeline (every event has exactly one; a vault unit is none), 0 for
 * any other command.
 */
uint32_t coalesce_cmd_events(const char *cmd, size_t len);

/* Forget every key of the expiry memo: their next EXPIREAT goes out again. */
void coalesce_forget(struct coalesce *co);

/* Append src's commands to dst. 0 or -ENOMEM. */
int resp_out_append(struct resp_out *dst, const struct resp_out *src);

void resp_out_free(struct resp_out *out);

#endif /* CHOT_STORE_COALESCE_H */
