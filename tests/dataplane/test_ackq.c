/*
 * The ACK queue (dataplane/ackq.c), pure, no EAL: a table of
 * submit / complete / duplicate-only sequences and the ACKs each must give,
 * in order.  A tiny driver plays worker.c's part: a store that completes in
 * submission order, duplicate-only batches that are ACKed at once when
 * nothing is in flight and otherwise wait behind a barrier.
 *
 * Ops (space separated), batch names are one letter:
 *   sX   batch X submitted to the store
 *   rX   batch X refused by the store at submission (not ACKed: "X:X")
 *   dX   batch X of duplicates only
 *   c+   the store completes its oldest batch: stored
 *   c-   the store completes its oldest batch: failed
 * Output: "A:X" for an ACK of X, "X:X" for X forgotten without an ACK
 * (dropped, or a barrier that found no slot).
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "ackq.h"

#define MAX_SLOTS 8

struct drv {
	struct dp_ackq q;
	struct dp_ackq_link mem[MAX_SLOTS];
	char name[MAX_SLOTS];            /* per slot */
	uint32_t fifo[64];               /* the store's submissions, in order */
	unsigned fifo_head, fifo_tail;
	char out[256];
};

static void
emit(struct drv *d, char kind, char name)
{
	size_t l = strlen(d->out);

	snprintf(d->out + l, sizeof(d->out) - l, "%s%c:%c", l ? " " : "", kind, name);
}

static void
play(struct drv *d, uint32_t slots, const char *ops)
{
	const char *p = ops;
	uint32_t s;

	memset(d, 0, sizeof(*d));
	dp_ackq_init(&d->q, d->mem, slots);
	while (*p != '\0') {
		char op = p[0], arg = p[1];

		cr_assert(arg != '\0', "bad op string '%s'", ops);
		switch (op) {
		case 's':
		case 'r':
			s = dp_ackq_take(&d->q);
			if (s == DP_ACKQ_NONE) {
				emit(d, 'X', arg);
				break;
			}
			d->name[s] = arg;
			dp_ackq_submit(&d->q, s);
			if (op == 'r') {
				dp_ackq_unsubmit(&d->q, s);
				dp_ackq_free(&d->q, s);
				emit(d, 'X', arg);
			} else {
				d->fifo[d->fifo_tail++] = s;
			}
			break;
		case 'd':
			if (dp_ackq_settled(&d->q)) {
				emit(d, 'A', arg);
				break;
			}
			s = dp_ackq_take(&d->q);
			if (s == DP_ACKQ_NONE) {
				emit(d, 'X', arg);
				break;
			}
			d->name[s] = arg;
			dp_ackq_barrier(&d->q, s);
			break;
		case 'c':
			cr_assert(d->fifo_head < d->fifo_tail, "'%s': nothing to complete", ops);
			s = d->fifo[d->fifo_head++];
			dp_ackq_complete(&d->q, s);
			emit(d, arg == '+' ? 'A' : 'X', d->name[s]);
			dp_ackq_free(&d->q, s);
			if (arg == '+') {
				while ((s = dp_ackq_pop_released(&d->q)) != DP_ACKQ_NONE) {
					emit(d, 'A', d->name[s]);
					dp_ackq_free(&d->q, s);
				}
			} else {
				while ((s = dp_ackq_pop_barrier(&d->q)) != DP_ACKQ_NONE) {
					emit(d, 'X', d->name[s]);
					dp_ackq_free(&d->q, s);
				}
			}
			break;
		default:
			cr_assert_fail("bad op '%c' in '%s'", op, ops);
		}
		p += 2;
		while (*p == ' ')
			p++;
	}
}

/* Arrays, not pointers: Criterion hands parameters to a test running in
 * another process. */
struct ackq_case {
	char what[72];
	uint32_t slots;
	char ops[48];
	char want[48];
};

static const struct ackq_case cases[] = {
	{ "a stored batch is ACKed on completion", 4, "sa c+", "A:a" },
	{ "duplicates with nothing in flight: ACKed at once", 4, "da", "A:a" },
	{ "duplicates wait behind the batch in flight", 4, "sa db", "" },
	{ "... and follow it once it completes", 4, "sa db c+", "A:a A:b" },
	{ "a barrier waits for every batch before it", 4, "sa sb dc c+", "A:a" },
	{ "... and goes right after the last of them", 4, "sa sb dc c+ c+", "A:a A:b A:c" },
	{ "a barrier does not wait for batches after it", 4, "sa db sc c+", "A:a A:b" },
	{ "barriers keep their order", 4, "sa db dc c+", "A:a A:b A:c" },
	{ "interleaved barriers, each behind its own predecessors", 6,
	  "sa dx sb dy c+ c+", "A:a A:x A:b A:y" },
	{ "settled again after the completion: at once", 4, "sa c+ db", "A:a A:b" },
	{ "a failed batch drops the barriers behind it", 4, "sa db c-", "X:a X:b" },
	{ "a failure drops every barrier, even one behind a later batch", 4,
	  "sa sb dc c- c+", "X:a X:c A:b" },
	{ "a refused submission is not waited for", 4, "sa rb dc c+", "X:b A:a A:c" },
	{ "refused alone: duplicates after it are ACKed at once", 4, "ra db", "X:a A:b" },
	{ "no free slot for a barrier: forgotten, not ACKed", 2, "sa db dc c+", "X:c A:a A:b" },
	{ "no free slot for a batch", 1, "sa sb c+", "X:b A:a" },
	{ "slots come back: a long run in 2 slots", 2,
	  "sa db c+ sc dd c+ se df c+ sg c+", "A:a A:b A:c A:d A:e A:f A:g" },
};

ParameterizedTestParameters(ackq, sequences)
{
	return cr_make_param_array(struct ackq_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(const struct ackq_case *c, ackq, sequences)
{
	static struct drv d;
	uint32_t i, s;

	play(&d, c->slots, c->ops);
	cr_expect_str_eq(d.out, c->want, "%s: '%s' gave '%s'", c->what, c->ops, d.out);
	/* Once the store has completed everything, nothing is left waiting. */
	if (d.fifo_head == d.fifo_tail) {
		cr_expect_eq(d.q.n_busy, 0, "%s: busy %u", c->what, d.q.n_busy);
		cr_expect_eq(d.q.n_barriers, 0, "%s: barriers %u", c->what, d.q.n_barriers);
		for (i = 0; i < c->slots; i++) {
			s = dp_ackq_take(&d.q);
			cr_expect_neq(s, DP_ACKQ_NONE, "%s: slot %u leaked", c->what, i);
		}
		cr_expect_eq(dp_ackq_take(&d.q), DP_ACKQ_NONE, "%s: more slots than %u",
			     c->what, c->slots);
	}
}

Test(ackq, empty_queue_has_no_slots)
{
	struct dp_ackq q;

	dp_ackq_init(&q, NULL, 0);
	cr_expect_eq(dp_ackq_take(&q), DP_ACKQ_NONE);
	cr_expect(dp_ackq_settled(&q));
	cr_expect_eq(dp_ackq_pop_released(&q), DP_ACKQ_NONE);
	cr_expect_eq(dp_ackq_pop_barrier(&q), DP_ACKQ_NONE);
}
