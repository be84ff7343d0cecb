/*
 * The worker's side of the checkpoint loop (checkpoint_tx.h).
 */
#include <errno.h>

#include <rte_cycles.h>
#include <rte_errno.h>

#include "checkpoint_tx.h"
#include "reply.h"

int dp_rx_tsc_off = -1;

int
dp_rx_tsc_register(void)
{
	static const struct rte_mbuf_dynfield f = {
		.name = "chot_rx_tsc",
		.size = sizeof(uint64_t),
		.align = __alignof__(uint64_t),
	};
	int off = rte_mbuf_dynfield_register(&f);

	if (off < 0)
		return -rte_errno;
	dp_rx_tsc_off = off;
	return 0;
}

void
dp_verdict_send(struct dp_counters *c, struct rte_mempool *pool, struct rte_ring *tx,
		const uint8_t *hdr, const struct dp_frame *f, const struct wire_verdict *v,
		const uint8_t *ackkey, uint64_t rx_tsc)
{
	uint8_t buf[VERDICT_MAX_LEN];
	struct rte_mbuf *m;
	int n, len;

	if (ackkey == NULL ||
	    (n = wire_verdict_build(buf, sizeof(buf), v, ackkey)) < 0 ||
	    (m = rte_pktmbuf_alloc(pool)) == NULL) {
		c->verdicts_dropped++;
		return;
	}
	len = dp_reply_udp(rte_pktmbuf_mtod(m, uint8_t *), rte_pktmbuf_tailroom(m), hdr, f, buf,
			   (size_t)n);
	if (len < 0 || rte_pktmbuf_append(m, (uint16_t)len) == NULL ||
	    rte_ring_sp_enqueue(tx, m) != 0) {
		rte_pktmbuf_free(m);
		c->verdicts_dropped++;
		return;
	}
	c->verdicts_sent++;
	if (rx_tsc != 0) {
		uint64_t us = (rte_rdtsc() - rx_tsc) * 1000000 / rte_get_tsc_hz();

		c->verdict_lat[dp_vlat_bucket(us)]++;
	}
}
