/*
 * One simulated scanner's delivery state machine (sim.h): queue, outbox,
 * sealing, retransmission timers, ACK handling and epochs.  Pure: the
 * caller passes the clock and the PRNG; nothing here touches a socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "scan.pb-c.h"
#include "sim.h"
#include "verdict.h"
#include "validate.h"

int
sim_subject(char out[WIRE_SUBJECT_MAX_NUL], const struct sim_events *e, uint32_t idx)
{
	return snprintf(out, WIRE_SUBJECT_MAX_NUL, "%s-%x", e->prefix, idx);
}

int
sim_dev_init(struct sim_dev *d, uint32_t device_id, uint32_t epoch, uint32_t q_cap,
	     const struct sim_params *p, const uint8_t master[WIRE_KEY_LEN])
{
	memset(d, 0, sizeof(*d));
	d->device_id = device_id;
	d->epoch = epoch;
	d->next_seq = 1;
	d->q_cap = q_cap + 1;
	d->q = calloc(d->q_cap, sizeof(*d->q));
	d->ob_cap = p->window;
	d->ob = calloc(d->ob_cap, sizeof(*d->ob));
	if (d->q == NULL || d->ob == NULL) {
		sim_dev_free(d);
		return -ENOMEM;
	}
	wire_device_key(d->devkey, master, device_id);
	wire_ack_key(d->ackkey, master, device_id);
	return 0;
}

void
sim_dev_free(struct sim_dev *d)
{
	free(d->q);
	free(d->ob);
	d->q = NULL;
	d->ob = NULL;
}

static uint32_t
q_at(const struct sim_dev *d, uint32_t i)
{
	return d->q[(d->q_head + i) % d->q_cap];
}

void
sim_dev_enqueue(struct sim_dev *d, uint32_t ev_idx, uint64_t now_us)
{
	if (d->q_n == 0)
		d->q_since_us = now_us;
	d->q[(d->q_head + d->q_n) % d->q_cap] = ev_idx;
	d->q_n++;
}

static void
q_push_front(struct sim_dev *d, uint32_t ev_idx)
{
	d->q_head = (d->q_head + d->q_cap - 1) % d->q_cap;
	d->q[d->q_head] = ev_idx;
	d->q_n++;
}

uint32_t
sim_dev_outstanding(const struct sim_dev *d)
{
	uint32_t n = d->q_n, i;

	for (i = 0; i < d->ob_n; i++)
		n += d->ob[(d->ob_head + i) % d->ob_cap].n;
	return n;
}

/* +-25 % jitter around t. */
static uint32_t
jitter(uint32_t t, struct fl_rng *rng)
{
	return (uint32_t)fl_rng_range(rng, t - t / 4, t + t / 4);
}

/* Pack and seal events q[0..n) as batch seq into b; 0 or -EMSGSIZE. */
static int
seal_batch(struct sim_dev *d, const struct sim_params *p, const struct sim_events *e,
	   struct sim_batch *b, unsigned n, bool verdict)
{
	Chot__V1__ScanEvent evs[WIRE_MAX_EVENTS];
	const Chot__V1__ScanEvent *ptr[WIRE_MAX_EVENTS];
	char subj[WIRE_MAX_EVENTS][WIRE_SUBJECT_MAX_NUL];
	uint8_t body[WIRE_MAX_BODY];
	struct wire_hdr h = { .flags = WIRE_FLAG_ACK | (verdict ? WIRE_FLAG_VERDICT : 0),
			      .key_id = p->key_id,
			      .device_id = d->device_id, .boot_epoch = d->epoch,
			      .batch_seq = d->next_seq };
	int blen, len;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t idx = q_at(d, i);
		const struct sim_event *ev = &e->ev[idx];

		chot__v1__scan_event__init(&evs[i]);
		sim_subject(subj[i], e, idx);
		evs[i].ts_ms = ev->ts_ms;
		evs[i].site_id = ev->site_id;
		evs[i].scheme = CHOT__V1__ID_SCHEME__PCCOVID;
		evs[i].subject = subj[i];
		evs[i].dir = (Chot__V1__Direction)ev->dir;
		evs[i].decl = CHOT__V1__DECLARATION__DECL_OK;
		ptr[i] = &evs[i];
		b->ev[i] = idx;
	}
	blen = wire_batch_pack(ptr, n, body, sizeof(body));
	if (blen < 0)
		return -EMSGSIZE;
	len = wire_seal(b->dg, sizeof(b->dg), &h, body, (size_t)blen, d->devkey);
	if (len < 0)
		return -EMSGSIZE;
	b->len = (uint16_t)len;
	b->n = (uint16_t)n;
	b->seq = d->next_seq;
	b->verdict = verdict;
	b->verdict_got = false;
	return 0;
}

struct sim_batch *
sim_dev_next_batch(struct sim_dev *d, const struct sim_params *p, const struct sim_events *e,
		   uint64_t now_us, uint64_t linger_us, bool flush, struct fl_rng *rng,
		   struct sim_stats *st)
{
	struct sim_batch *b;
	unsigned n;
	bool verdict;

	if (d->q_n == 0 || d->ob_n >= p->window)
		return NULL;
	if (d->q_n < p->batch_events && !flush && now_us - d->q_since_us < linger_us)
		return NULL;
	/* Drawn only when asked for: without verdicts the jitter stream is as before. */
	verdict = p->verdict_rate > 0 && fl_rng_chance(rng, p->verdict_rate);
	n = d->q_n < p->batch_events ? d->q_n : p->batch_events;
	b = &d->ob[(d->ob_head + d->ob_n) % d->ob_cap];
	/* A batch too large for one datagram is split: fewer events. */
	while (seal_batch(d, p, e, b, n, verdict) != 0) {
		st->pack_errors++;
		if (n == 1)
			return NULL;
		n /= 2;
	}
	d->next_seq++;
	d->q_head = (d->q_head + n) % d->q_cap;
	d->q_n -= n;
	d->q_since_us = now_us;
	if (d->ob_n == 0)
		d->progress_us = now_us;     /* the stall clock starts with the first batch out */
	d->ob_n++;
	b->tx_count = 1;
	b->first_tx_us = now_us;
	st->verdicts_requested += verdict;
	b->rto_us = p->rto_us;
	b->next_tx_us = now_us + jitter(b->rto_us, rng);
	st->batches_sent++;
	return b;
}

unsigned
sim_dev_due(struct sim_dev *d, const struct sim_params *p, uint64_t now_us,
	    struct sim_batch **out, unsigned max, struct fl_rng *rng, struct sim_stats *st)
{
	unsigned k = 0;
	uint32_t i;

	for (i = 0; i < d->ob_n && k < max; i++) {
		struct sim_batch *b = &d->ob[(d->ob_head + i) % d->ob_cap];

		if (b->next_tx_us > now_us)
			continue;
		b->rto_us = b->rto_us * 2 > p->rto_max_us ? p->rto_max_us : b->rto_us * 2;
		b->next_tx_us = now_us + jitter(b->rto_us, rng);
		b->tx_count++;
		st->retransmissions++;
		out[k++] = b;
	}
	return k;
}

int
sim_dev_on_ack(struct sim_dev *d, const uint8_t *buf, size_t len, struct sim_events *e,
	       uint64_t now_us, struct sim_stats *st)
{
	struct wire_ack a;
	int n = 0;

	if (wire_ack_verify(buf, len, d->ackkey, &a) != 0 || a.device_id != d->device_id) {
		st->acks_bad++;
		return -1;
	}
	st->acks_received++;
	if (a.boot_epoch != d->epoch) {
		st->acks_stale_epoch++;
		return 0;
	}
	if (a.acked_seq <= d->acked) {
		st->acks_no_progress++;
		return 0;
	}
	/* The outbox holds consecutive seqs from its head. */
	while (d->ob_n > 0) {
		struct sim_batch *b = &d->ob[d->ob_head];

		if (b->seq > a.acked_seq)
			break;
		st->verdicts_missing += b->verdict && !b->verdict_got;
		for (unsigned i = 0; i < b->n; i++) {
			if (!e->ev[b->ev[i]].acked) {
				e->ev[b->ev[i]].acked = 1;
				n++;
			}
		}
		d->ob_n--;
		d->ob_head = (d->ob_head + 1) % d->ob_cap;
	}
	d->acked = a.acked_seq;
	d->progress_us = now_us;
	st->events_acked += (uint64_t)n;
	return n;
}

int
sim_verdict_slot(uint16_t code)
{
	int i;

	if (code == CHK_CLEAR || code == CHK_INVALID)
		return code;
	i = chk_index_by_code(code);
	return i < 0 ? -1 : 2 + i;
}

int
sim_dev_on_verdict(struct sim_dev *d, const uint8_t *buf, size_t len, uint64_t now_us,
		   struct sim_stats *st, uint64_t *latency_us)
{
	struct wire_verdict v;

	if (wire_verdict_verify(buf, len, d->ackkey, &v) != 0 || v.device_id != d->device_id) {
		st->verdicts_bad++;
		return -1;
	}
	st->verdicts_received++;
	for (unsigned i = 0; i < v.n; i++) {
		int slot = sim_verdict_slot(v.code[i]);

		if (slot < 0) {
			st->verdicts_bad++;   /* authentic, but a code §9 does not know */
			return -1;
		}
		st->verdict_code[slot]++;
	}
	if (v.boot_epoch != d->epoch)
		goto unmatched;
	for (uint32_t i = 0; i < d->ob_n; i++) {
		struct sim_batch *b = &d->ob[(d->ob_head + i) % d->ob_cap];

		if (b->seq != v.batch_seq)
			continue;
		if (!b->verdict || b->verdict_got || b->n != v.n)
			break;
		b->verdict_got = true;
		*latency_us = now_us - b->first_tx_us;
		return 1;
	}
unmatched:
	st->verdicts_unmatched++;
	return 0;
}

void
sim_dev_new_epoch(struct sim_dev *d, bool keep_old, struct sim_stats *st)
{
	uint32_t i;

	/* The newest datagram of the old epoch: the newest outstanding batch,
	 * or, with the outbox empty, the last one retired (its slot is just
	 * before the head and untouched since). */
	if (keep_old && d->next_seq > 1) {
		uint32_t slot = d->ob_n > 0 ? (d->ob_head + d->ob_n - 1) % d->ob_cap
					    : (d->ob_head + d->ob_cap - 1) % d->ob_cap;
		const struct sim_batch *b = &d->ob[slot];

		memcpy(d->old_dg, b->dg, b->len);
		d->old_len = b->len;
		d->old_armed = true;
	}
	/* Newest batch first, last event first: the queue ends up oldest first,
	 * ahead of the scans that were never batched. */
	for (i = d->ob_n; i-- > 0;) {
		const struct sim_batch *b = &d->ob[(d->ob_head + i) % d->ob_cap];

		for (unsigned j = b->n; j-- > 0;)
			q_push_front(d, b->ev[j]);
		st->events_repacked += b->n;
	}
	d->ob_head = 0;
	d->ob_n = 0;
	d->epoch++;
	d->next_seq = 1;
	d->acked = 0;
}

bool
sim_dev_stalled(const struct sim_dev *d, const struct sim_params *p, uint64_t now_us)
{
	return d->ob_n > 0 && now_us - d->progress_us >= p->stall_us;
}
