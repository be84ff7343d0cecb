/*
 * The worker's side of the checkpoint loop (DESIGN §9), kept out of
 * worker.c: the CHV1 verdict frame on the worker's TX path, the RX TSC stamp
 * its latency is measured from, and the tally of a batch's alerts that its
 * store completion turns into alerts_raised / alerts_dropped.
 */
#ifndef CHOT_DP_CHECKPOINT_TX_H
#define CHOT_DP_CHECKPOINT_TX_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>
#include <rte_ring.h>

#include "counters.h"
#include "cplists.h"
#include "parse.h"
#include "verdict.h"

/* The mbuf field the RX lcore stamps with rte_rdtsc() (-1: not registered). */
extern int dp_rx_tsc_off;

/* Register the field; once, at start-up.  0 or -errno. */
int dp_rx_tsc_register(void);

static inline void
dp_rx_tsc_set(struct rte_mbuf *m, uint64_t tsc)
{
	if (dp_rx_tsc_off >= 0)
		*RTE_MBUF_DYNFIELD(m, dp_rx_tsc_off, uint64_t *) = tsc;
}

static inline uint64_t
dp_rx_tsc_get(const struct rte_mbuf *m)
{
	return dp_rx_tsc_off >= 0 ? *RTE_MBUF_DYNFIELD(m, dp_rx_tsc_off, const uint64_t *) : 0;
}

/*
 * Build v (tagged with ackkey) as a UDP reply to the datagram (hdr, f) in a
 * new mbuf of pool and queue it on tx.  Counts verdicts_sent or
 * verdicts_dropped, and the RX -> TX latency from rx_tsc (0: not stamped).
 */
void dp_verdict_send(struct dp_counters *c, struct rte_mempool *pool, struct rte_ring *tx,
		     const uint8_t *hdr, const struct dp_frame *f, const struct wire_verdict *v,
		     const uint8_t *ackkey, uint64_t rx_tsc);

/* A batch's alerts, by reason, until the store says stored or dropped. */
struct dp_alert_tally {
	uint16_t n;
	uint8_t by[CHK_NREASONS];     /* at most 64 events a batch */
};

static inline void
dp_alert_tally_add(struct dp_alert_tally *t, uint16_t mask)
{
	if (mask == 0)
		return;
	t->n++;
	for (unsigned i = 0; i < CHK_NREASONS; i++)
		t->by[i] += (mask >> i) & 1;
}

static inline void
dp_alert_tally_count(struct dp_counters *c, const struct dp_alert_tally *t, bool stored)
{
	if (t->n == 0)
		return;
	if (!stored) {
		c->alerts_dropped += t->n;
		return;
	}
	c->alerts_raised += t->n;
	for (unsigned i = 0; i < CHK_NREASONS; i++)
		c->alert_reasons[i] += t->by[i];
}

#endif /* CHOT_DP_CHECKPOINT_TX_H */
