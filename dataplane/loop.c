/*
 * The lcore loops.
 *
 * RX (main lcore): rx_burst -> count rx_packets -> parse the frame ->
 * answer ARP/ND (ingest.address) -> check the chot header -> hand the mbuf
 * to worker device_id % N: directly (run-to-completion) or through that
 * worker's SP/SC ring.  A full ring makes the RX lcore wait for the worker
 * (the NIC then drops and counts imissed): no mbuf is lost uncounted.  The
 * RX lcore also owns the port's only TX queue and transmits what workers
 * put on their tx rings (ACKs) and its own ARP/ND replies.
 *
 * Worker lcores: dequeue burst -> dp_worker_batch() -> drive the store.
 *
 * Periodic work (store polls in run-to-completion, idle check) runs behind
 * a TSC deadline, as in DPDK's l2fwd.  ingest_cycles counts the TSC spent
 * processing non-empty bursts, ingest_events the events decoded, so
 * cycles/event is a benchmark figure; dp_app.tx_cycles the transmit after
 * those bursts (their ACKs), for the I/O cycles per datagram of chot-bench;
 * rx_burst_cycles / tx_burst_cycles the part of both inside the PMD's
 * rte_eth_rx_burst / rte_eth_tx_burst (net_pcap: reading and writing
 * capture files), shown apart.  After each burst every worker hands its
 * ACK frames on and frees its mbufs in bulk (dp_worker_burst_end).
 *
 * Backpressure (ingest.backpressure, for replays and load tests): the RX
 * lcore receives no more datagrams than the fullest worker's store can still
 * take at WIRE_MAX_EVENTS each (counting what waits in its ring, and a burst
 * a worker lcore may have dequeued but not yet counted), and none while that
 * is zero: it then only drives the stores (one worker in run-to-completion:
 * sleeping up to a tick on its Redis socket, dp_worker_wait, instead of
 * spinning).  A capture is paced to what Redis
 * absorbs and nothing is dropped; a live NIC overflows its ring and counts
 * imissed (printed at exit as port_imissed).
 *
 * Shutdown: the RX lcore stops receiving, waits for the worker rings to
 * empty, sets stop_workers; each worker drains its store (bounded by
 * redis.drain_ms; what is still unconfirmed then is dropped and counted,
 * never ACKed) and returns; the RX lcore transmits the last ACKs.
 *
 * Cross-lcore reads: the RX lcore reads only what workers publish for it
 * (dp_worker_room, dp_worker_events_pending: atomics on the worker's own
 * cache line) and ring counts; it publishes its own counters for telemetry
 * every DP_WORKER_SNAP_US.  The stop flags are atomics (app.h).
 */
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_pause.h>

#include "app.h"
#include "checkpoint_tx.h"
#include "log.h"
#include "reply.h"
#include "wire.h"

#define TX_BURST 32

/* TSC inside rte_eth_tx_burst (dp_app.tx_burst_cycles takes the part after
 * bursts that carried datagrams).  RX lcore only. */
static uint64_t loop_tx_tsc;

/* Transmit a burst; what the port does not take is freed and counted. */
static void
loop_tx(struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent = 0;
	uint64_t t0;

	if (n == 0)
		return;
	t0 = rte_rdtsc();
	sent = rte_eth_tx_burst(dp_app.port, 0, pkts, n);
	loop_tx_tsc += rte_rdtsc() - t0;
	if (sent < n) {
		dp_app.rx_ctr.tx_dropped += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

static void
loop_drain_tx_rings(void)
{
	struct rte_mbuf *pkts[TX_BURST];
	unsigned i, n;

	for (i = 0; i < dp_app.n_workers; i++) {
		struct rte_ring *r = dp_worker_tx_ring(dp_app.workers[i]);

		while ((n = rte_ring_sc_dequeue_burst(r, (void **)pkts, TX_BURST, NULL)) > 0)
			loop_tx(pkts, (uint16_t)n);
	}
}

/* ARP request / ICMPv6 NS: answer in place when it is for us, else free. */
static void
loop_control(struct rte_mbuf *m, const struct dp_frame *f)
{
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	const struct dp_addrs *a = &dp_app.conf.addrs;
	int len;

	if (f->ip_ver == 0) {
		len = dp_reply_arp(p, rte_pktmbuf_data_len(m), f, a, dp_app.mac);
		if (len > 0)
			dp_app.rx_ctr.arp_replies++;
	} else {
		len = dp_reply_nd(p, rte_pktmbuf_data_len(m),
				  rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m), f, a,
				  dp_app.mac);
		if (len > 0)
			dp_app.rx_ctr.nd_replies++;
	}
	if (len <= 0) {
		rte_pktmbuf_free(m);
		return;
	}
	m->data_len = (uint16_t)len;
	m->pkt_len = (uint32_t)len;
	loop_tx(&m, 1);
}

static void
loop_hand_to_worker(unsigned wi, struct rte_mbuf *m)
{
	struct rte_ring *r = dp_worker_rx_ring(dp_app.workers[wi]);

	while (rte_ring_sp_enqueue(r, m) != 0) {
		dp_app.rx_ctr.ring_full_spins++;
		loop_drain_tx_rings();
		rte_pause();
	}
}

/* How a checked datagram reaches its worker, chosen once at start-up. */
typedef void (*loop_dispatch_fn)(unsigned wi, struct rte_mbuf *m, const struct dp_frame *f,
				 const struct wire_hdr *h, uint64_t now_ms);

/* Run-to-completion: the shard runs right here. */
static void
loop_dispatch_local(unsigned wi, struct rte_mbuf *m, const struct dp_frame *f,
		    const struct wire_hdr *h, uint64_t now_ms)
{
	dp_worker_batch(dp_app.workers[wi], m, f, h, now_ms);
}

/* Worker lcores: the worker re-parses (a few dozen cycles, cheaper than a
 * side channel for the parse results). */
static void
loop_dispatch_ring(unsigned wi, struct rte_mbuf *m, const struct dp_frame *f,
		   const struct wire_hdr *h, uint64_t now_ms)
{
	(void)f;
	(void)h;
	(void)now_ms;
	loop_hand_to_worker(wi, m);
}

static loop_dispatch_fn loop_dispatch;

/* One received frame: count, parse, answer ARP/ND, check the header, dispatch. */
static void
loop_rx_one(struct rte_mbuf *m, uint64_t now_ms)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	const struct dp_conf *c = &dp_app.conf;
	struct dp_frame f;
	struct wire_hdr h;
	enum chot_reason r;
	unsigned wi;

	dp_app.rx_ctr.rx_packets++;
	r = dp_parse_frame(p, rte_pktmbuf_data_len(m), (uint16_t)c->udp_port, &c->addrs, &f);
	if (r == FRAME_CONTROL) {
		dp_count_reason(&dp_app.rx_ctr, r);
		if (c->addrs.n4 + c->addrs.n6 > 0)
			loop_control(m, &f);
		else
			rte_pktmbuf_free(m);
		return;
	}
	if (r == WIRE_OK)
		r = wire_hdr_parse(p + f.payload_off, f.payload_len, &h);
	if (r != WIRE_OK) {
		dp_count_reason(&dp_app.rx_ctr, r);
		rte_pktmbuf_free(m);
		return;
	}
	wi = h.device_id % dp_app.n_workers;
	loop_dispatch(wi, m, &f, &h, now_ms);
}

static bool
loop_idle(void)
{
	unsigned i;

	for (i = 0; i < dp_app.n_workers; i++) {
		struct dp_worker *w = dp_app.workers[i];

		if (rte_ring_count(dp_worker_rx_ring(w)) > 0 ||
		    rte_ring_count(dp_worker_tx_ring(w)) > 0 ||
		    dp_worker_events_pending(w) > 0)
			return false;
	}
	return true;
}

/* How many datagrams every worker can still take (ingest.backpressure): its
 * room, less what waits in its ring and a burst a worker lcore may have
 * dequeued and not yet submitted. */
static uint16_t
loop_rx_room(uint16_t burst)
{
	unsigned i, room = burst, in_hand = dp_app.rtc ? 0 : burst;

	for (i = 0; i < dp_app.n_workers; i++) {
		struct dp_worker *w = dp_app.workers[i];
		unsigned queued = rte_ring_count(dp_worker_rx_ring(w)), r = dp_worker_room(w);
		bool idle = queued == 0 && dp_worker_events_pending(w) == 0;

		/* An idle worker always takes one: a store smaller than a burst of
		 * full datagrams still moves. */
		r = r > queued + in_hand ? r - queued - in_hand : idle ? 1 : 0;
		room = RTE_MIN(room, r);
	}
	return (uint16_t)room;
}

static void
loop_poll_workers(uint64_t now_us)
{
	unsigned i;

	for (i = 0; i < dp_app.n_workers; i++)
		dp_worker_poll(dp_app.workers[i], now_us);
}

void
dp_rx_loop(void)
{
	const struct dp_conf *c = &dp_app.conf;
	struct rte_mbuf *pkts[512];
	uint64_t hz = rte_get_tsc_hz(), tick = hz / 10000 + 1;   /* 100 us */
	uint64_t last_rx = rte_rdtsc(), next_tick = 0, next_snap = 0, idle_tsc;
	uint64_t snap_tsc = hz / 1000000 * DP_WORKER_SNAP_US + 1;
	/* ingest.exit_after_packets: what may still be received (UINT64_MAX:
	 * no limit).  A burst asks for at most that many, and rte_eth_rx_burst
	 * never returns more than asked, so the count is exact even on a port
	 * that never runs dry (net_pcap infinite_rx). */
	uint64_t rx_left = c->exit_after_packets > 0 ? c->exit_after_packets : UINT64_MAX;
	uint16_t n, i;
	bool paused = false;

	idle_tsc = (uint64_t)c->exit_on_idle_ms * (hz / 1000);
	loop_dispatch = dp_app.rtc ? loop_dispatch_local : loop_dispatch_ring;
	while (!dp_app_quit_requested()) {
		uint64_t t0 = rte_rdtsc(), now_ms = 0, t_rx = 0;

		n = c->backpressure ? loop_rx_room((uint16_t)c->burst) : (uint16_t)c->burst;
		if (rx_left < n)
			n = (uint16_t)rx_left;
		if (rx_left == 0) {
			/* Done receiving: exit once the workers have nothing left. */
			if (loop_idle()) {
				DP_LOG(INFO, "port %u: %" PRIu64 " packets received "
				       "(ingest.exit_after_packets): exiting\n",
				       dp_app.port, c->exit_after_packets);
				dp_app_request_quit();
			}
			paused = true;   /* as held by backpressure: wait below, uncounted */
		} else if (n == 0) {
			if (!paused)
				dp_app.rx_ctr.rx_paused++;
			paused = true;
		} else {
			paused = false;
			t_rx = rte_rdtsc();
			n = rte_eth_rx_burst(dp_app.port, 0, pkts, n);
			t_rx = rte_rdtsc() - t_rx;
			if (rx_left != UINT64_MAX)
				rx_left -= n;
		}
		if (n > 0) {
			uint64_t ev0 = 0, ev1 = 0, tx0 = loop_tx_tsc;

			now_ms = dp_clock_ms(c);
			for (i = 0; i < dp_app.n_workers && dp_app.rtc; i++)
				ev0 += dp_worker_counters(dp_app.workers[i])->ingest_events;
			for (i = 0; i < n; i++) {
				if (i + 4 < n)
					rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
				dp_rx_tsc_set(pkts[i], t0);   /* verdict latency (§9) */
				loop_rx_one(pkts[i], now_ms);
			}
			for (i = 0; i < dp_app.n_workers && dp_app.rtc; i++) {
				dp_worker_burst_end(dp_app.workers[i]);
				ev1 += dp_worker_counters(dp_app.workers[i])->ingest_events;
			}
			last_rx = rte_rdtsc();
			if (ev1 != ev0) {
				dp_app.rx_ctr.ingest_cycles += last_rx - t0;
				dp_app.rx_burst_cycles += t_rx;
			}
			loop_drain_tx_rings();
			dp_app.tx_cycles += rte_rdtsc() - last_rx;
			dp_app.tx_burst_cycles += loop_tx_tsc - tx0;
		} else {
			loop_drain_tx_rings();
		}
		if (t0 >= next_tick || n == 0) {
			if (dp_app.rtc)
				loop_poll_workers(dp_now_us());
			next_tick = t0 + tick;
			if (t0 >= next_snap) {
				dp_app_publish_rx();
				next_snap = t0 + snap_tsc;
			}
			if (idle_tsc > 0 && n == 0 && t0 - last_rx > idle_tsc && loop_idle()) {
				DP_LOG(INFO, "port %u: idle for %u ms with nothing pending: exiting\n",
				       dp_app.port, c->exit_on_idle_ms);
				dp_app_request_quit();
			}
		}
		/* Backpressure holds the port and the one worker runs here: until
		 * Redis answers there is nothing to do, so sleep on its socket for
		 * up to a tick instead of spinning; the core then serves Redis's
		 * helpers and the kernel (the e2e profile: ~20 % of Redis's time
		 * runnable but not running, beside a spinning chotd). */
		if (paused && dp_app.rtc && dp_app.n_workers == 1)
			dp_worker_wait(dp_app.workers[0], 100);
	}
	/* Stop: let workers finish what is queued, then drain the stores. */
	if (!dp_app.rtc) {
		for (i = 0; i < dp_app.n_workers; i++)
			while (rte_ring_count(dp_worker_rx_ring(dp_app.workers[i])) > 0) {
				loop_drain_tx_rings();
				rte_pause();
			}
	}
	dp_app_stop_workers();
	if (dp_app.rtc) {
		for (i = 0; i < dp_app.n_workers; i++)
			dp_worker_drain(dp_app.workers[i], c->redis_drain_ms);
	} else {
		unsigned lc;

		RTE_LCORE_FOREACH_WORKER(lc) {
			while (rte_eal_get_lcore_state(lc) == RUNNING) {
				loop_drain_tx_rings();
				rte_delay_us_sleep(100);
			}
		}
		rte_eal_mp_wait_lcore();
	}
	loop_drain_tx_rings();
	dp_app_publish_rx();
}

int
dp_worker_lcore_main(void *arg)
{
	unsigned wi = (unsigned)(uintptr_t)arg;
	struct dp_worker *w = dp_app.workers[wi];
	struct dp_counters *ctr = dp_worker_counters(w);
	struct rte_ring *r = dp_worker_rx_ring(w);
	const struct dp_conf *c = &dp_app.conf;
	struct rte_mbuf *pkts[512];
	unsigned n, i;

	DP_LOG(INFO, "worker %u: running on lcore %u\n", wi, rte_lcore_id());
	for (;;) {
		uint64_t t0 = rte_rdtsc();

		n = rte_ring_sc_dequeue_burst(r, (void **)pkts, c->burst, NULL);
		if (n > 0) {
			uint64_t now_ms = dp_clock_ms(c), ev0 = ctr->ingest_events;

			for (i = 0; i < n; i++) {
				const uint8_t *p = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
				struct dp_frame f;
				struct wire_hdr h;

				/* Already checked by the RX lcore: cannot fail here. */
				(void)dp_parse_frame(p, rte_pktmbuf_data_len(pkts[i]),
						     (uint16_t)c->udp_port, &c->addrs, &f);
				(void)wire_hdr_parse(p + f.payload_off, f.payload_len, &h);
				dp_worker_batch(w, pkts[i], &f, &h, now_ms);
			}
			dp_worker_burst_end(w);
			if (ctr->ingest_events != ev0)   /* bursts that carried events */
				ctr->ingest_cycles += rte_rdtsc() - t0;
		} else if (dp_app_workers_stopping()) {
			break;
		}
		dp_worker_poll(w, dp_now_us());
	}
	dp_worker_drain(w, c->redis_drain_ms);
	return 0;
}
