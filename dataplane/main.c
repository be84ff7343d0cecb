/*
 * chotd: start-up and shutdown.
 *
 *   chotd [EAL options] -- -c FILE [--set section.key=value ...]
 *
 * Order: EAL -> config (defaults, file, --set) -> keys file -> mempool ->
 * port (1 RX + 1 TX queue) -> workers (each with its device table, dedupe
 * table, store connection, rings) -> telemetry -> lcores.  With at least
 * ingest.workers worker lcores (e.g. `-l 0-2` for 2 workers) every worker
 * gets its own lcore; otherwise all shards run to completion on the main
 * lcore.  SIGINT/SIGTERM (or ingest.exit_on_idle_ms) stop RX; workers drain
 * their stores (bounded by redis.drain_ms); the final counters are printed
 * to stdout, one `name value` line each, and chotd exits 0.
 *
 * Only this file calls rte_exit, and only before the lcores start.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_memory.h>

#include <sodium.h>

#include "app.h"
#include "checkpoint_tx.h"
#include "cplists.h"
#include "prefault.h"
#include "log.h"
#include "wire.h"

#define MBUF_CACHE 256
#define RX_DESC    1024
#define TX_DESC    1024
#define RING_SIZE  4096

/* "user.chotd": what --log-level=user.chotd:LEVEL names (docs/OPERATIONS.md). */
RTE_LOG_REGISTER(dp_logtype, user.chotd, INFO);

struct dp_app dp_app;

void
dp_app_counters(struct dp_counters *out)
{
	const struct dp_counters *in[DP_MAX_WORKERS + 1];
	unsigned i;

	in[0] = &dp_app.rx_ctr;
	for (i = 0; i < dp_app.n_workers; i++)
		in[i + 1] = dp_worker_counters(dp_app.workers[i]);
	dp_counters_sum(out, in, dp_app.n_workers + 1);
	dp_lists_add_counters(out);
}

int
dp_app_counters_snapshot(struct dp_counters *out)
{
	struct dp_worker_snap ws[DP_MAX_WORKERS];
	const struct dp_counters *in[DP_MAX_WORKERS + 1];
	struct dp_counters rx;
	unsigned i;

	if (dp_snap_read(&dp_app.rx_snap_seq, (const uint64_t *)&dp_app.rx_snap, (uint64_t *)&rx,
			 sizeof(rx) / sizeof(uint64_t), 1000) != 0)
		return -EAGAIN;
	in[0] = &rx;
	for (i = 0; i < dp_app.n_workers; i++) {
		if (dp_worker_read_snap(dp_app.workers[i], &ws[i]) != 0)
			return -EAGAIN;
		in[i + 1] = &ws[i].ctr;
	}
	dp_counters_sum(out, in, dp_app.n_workers + 1);
	dp_lists_add_counters(out);
	return 0;
}

void
dp_app_publish_rx(void)
{
	dp_snap_publish(&dp_app.rx_snap_seq, (uint64_t *)&dp_app.rx_snap,
			(const uint64_t *)&dp_app.rx_ctr, sizeof(dp_app.rx_ctr) / sizeof(uint64_t));
}

static void
on_signal(int sig)
{
	(void)sig;
	dp_app_request_quit();
}

/*
 * Signals are the program's business, set here only: SIGINT/SIGTERM stop
 * RX (then the drain and the exit print); SIGPIPE is ignored, so a write
 * to a Redis that hung up fails with EPIPE and the store reconnects.
 */
static void
signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_signal;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
		rte_exit(EXIT_FAILURE, "sigaction: %s\n", strerror(errno));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		rte_exit(EXIT_FAILURE, "sigaction(SIGPIPE): %s\n", strerror(errno));
}

static void
usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [EAL options] -- -c FILE [--set section.key=value ...]\n"
		"  -c, --config FILE   INI configuration (rte_cfgfile), see configs/chotd.conf\n"
		"  -s, --set K=V       override one key, e.g. --set redis.url=null://\n"
		"  -p, --print-config  print the effective configuration and exit\n",
		prog);
}

static void
print_conf_line(void *ctx, const char *name, const char *value)
{
	(void)ctx;
	printf("%s = %s\n", name, value);
}

/* Parse the application arguments into dp_app.conf. 0, 1 (printed), -1. */
static int
parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "print-config", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sets[64];
	unsigned n_sets = 0, i;
	const char *file = NULL;
	char err[512];
	int opt, print = 0;

	dp_conf_defaults(&dp_app.conf);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:s:ph", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			file = optarg;
			break;
		case 's':
			if (n_sets == RTE_DIM(sets)) {
				fprintf(stderr, "chotd: too many --set\n");
				return -1;
			}
			sets[n_sets++] = optarg;
			break;
		case 'p':
			print = 1;
			break;
		default:
			usage(argv[0]);
			return -1;
		}
	}
	if (optind != argc) {
		usage(argv[0]);
		return -1;
	}
	if (file != NULL && dp_conf_load_file(&dp_app.conf, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "chotd: config %s\n", err);
		return -1;
	}
	for (i = 0; i < n_sets; i++)
		if (dp_conf_set_arg(&dp_app.conf, sets[i], err, sizeof(err)) < 0) {
			fprintf(stderr, "chotd: --set %s\n", err);
			return -1;
		}
	if (dp_conf_check(&dp_app.conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "chotd: config: %s\n", err);
		return -1;
	}
	if (print) {
		dp_conf_visit(&dp_app.conf, print_conf_line, NULL);
		return 1;
	}
	return 0;
}

/* Read the first line of the password file into buf. 0 or -errno. */
static int
read_password(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return -errno;
	if (fgets(buf, (int)len, f) == NULL) {
		fclose(f);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n > 0 ? 0 : -EINVAL;
}

static void
port_init(uint16_t port)
{
	struct rte_eth_conf pc = { 0 };
	struct rte_eth_dev_info info;
	struct rte_ether_addr mac;
	uint16_t rxd = RX_DESC, txd = TX_DESC;
	int rc;

	if (!rte_eth_dev_is_valid_port(port))
		rte_exit(EXIT_FAILURE, "ingest.port %u: no such DPDK port (%u available)\n",
			 port, rte_eth_dev_count_avail());
	rc = rte_eth_dev_info_get(port, &info);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "port %u: dev_info: %s\n", port, strerror(-rc));
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		pc.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	rc = rte_eth_dev_configure(port, 1, 1, &pc);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "port %u: configure: %s\n", port, strerror(-rc));
	(void)rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	rc = rte_eth_rx_queue_setup(port, 0, rxd, rte_eth_dev_socket_id(port), NULL, dp_app.pool);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "port %u: rx queue: %s\n", port, strerror(-rc));
	rc = rte_eth_tx_queue_setup(port, 0, txd, rte_eth_dev_socket_id(port), NULL);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "port %u: tx queue: %s\n", port, strerror(-rc));
	rc = rte_eth_dev_start(port);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "port %u: start: %s\n", port, strerror(-rc));
	(void)rte_eth_promiscuous_enable(port);
	rte_eth_macaddr_get(port, &mac);
	memcpy(dp_app.mac, mac.addr_bytes, 6);
	DP_LOG(INFO, "port %u (%s): started, mac " RTE_ETHER_ADDR_PRT_FMT "\n", port,
	       info.driver_name, RTE_ETHER_ADDR_BYTES(&mac));
}

/*
 * Credentials that can never work are a configuration error: say so and
 * refuse to start, rather than retry in silence forever.  Redis down,
 * frozen or loading is not: chotd starts and reconnects by itself.
 */
#define STORE_CHECK_MS 2000

static void
store_check(const char *password)
{
	const struct dp_conf *c = &dp_app.conf;
	struct dp_store_conf sc = {
		.url = c->redis_url,
		.user = c->redis_user[0] ? c->redis_user : NULL,
		.password = password,
		.vault_key = dp_app.keys.has_vault ? dp_app.keys.vault : NULL,
	};
	struct dp_store_caps caps;
	char err[512];
	int rc = dp_store_check_caps(&sc, STORE_CHECK_MS, &caps, err, sizeof(err));

	if (rc == -EACCES || rc == -EPERM || rc == -EINVAL)
		rte_exit(EXIT_FAILURE, "%s: refusing to start\n", err);
	if (rc < 0)
		DP_LOG(WARNING, "%s: starting anyway, the store reconnects by itself\n", err);
	/* The write mode, once, for the life of the process (store.h): an SRE
	 * also sees it per worker as /chot/workers redis_chot_append. */
	dp_app.chot_append = caps.chot_append;
	if (caps.chot_append)
		DP_LOG(INFO, "store: writes with CHOT.APPEND (exact-size values, the expiry in "
		       "the same command): %s\n", caps.why);
	else if (strncmp(c->redis_url, "null:", 5) != 0)
		DP_LOG(NOTICE, "store: writes with APPEND + EXPIREAT (%s)\n",
		       rc < 0 ? "the check did not finish" : caps.why);
}

static void
workers_init(void)
{
	const struct dp_conf *c = &dp_app.conf;
	char password[256] = "";
	unsigned i, lc, n_lcores = 0;

	if (c->redis_password_file[0] != '\0') {
		int rc = read_password(c->redis_password_file, password, sizeof(password));

		if (rc < 0)
			rte_exit(EXIT_FAILURE, "redis.password_file %s: %s\n",
				 c->redis_password_file, strerror(-rc));
	}
	store_check(password[0] ? password : NULL);
	dp_app.n_workers = c->workers;
	RTE_LCORE_FOREACH_WORKER(lc)
		if (n_lcores < dp_app.n_workers)
			dp_app.worker_lcore[n_lcores++] = lc;
	dp_app.rtc = n_lcores < dp_app.n_workers;
	if (dp_app.rtc && rte_lcore_count() > 1)
		DP_LOG(WARNING, "ingest.workers %u but only %u worker lcores: running every "
		       "shard on the main lcore\n", dp_app.n_workers, rte_lcore_count() - 1);
	for (i = 0; i < dp_app.n_workers; i++) {
		struct dp_worker_params p = {
			.id = i,
			.socket = (int)rte_socket_id(),
			.conf = c,
			.keys = &dp_app.keys,
			.redis_password = password[0] ? password : NULL,
			.pool = dp_app.pool,
			.ring_size = RING_SIZE,
			.chot_append = dp_app.chot_append,
		};

		dp_app.workers[i] = dp_worker_create(&p);
		if (dp_app.workers[i] == NULL)
			rte_exit(EXIT_FAILURE, "worker %u: cannot create (see above)\n", i);
	}
	/* The checkpoint lists (DESIGN §9): loaded once now, then by their thread. */
	if (dp_lists_start(c, c->redis_user[0] ? c->redis_user : NULL,
			   password[0] ? password : NULL, dp_app.n_workers) < 0)
		rte_exit(EXIT_FAILURE, "lists: cannot start the loader (see above)\n");
	sodium_memzero(password, sizeof(password));
}

static void
print_counters(void)
{
	struct dp_counters sum;
	struct rte_eth_stats st;
	uint64_t shared = 0, late = 0, lateness = 0;
	struct dp_worker_snap sn;
	unsigned i;

	dp_app_counters(&sum);
	for (i = 0; i < DP_CTR__COUNT; i++)
		printf("%s %lu\n", dp_counter_names[i], (unsigned long)*dp_counter_slot(&sum, i));
	for (i = 1; i < CHOT_REASON__COUNT; i++)
		if (sum.reasons[i] != 0)
			printf("reason.%s.%s %lu\n", chot_counter_name(chot_reason_counter(i)),
			       chot_reason_name(i), (unsigned long)sum.reasons[i]);
	/* What the port itself dropped: ring overflow, no mbuf, bad frames. */
	if (rte_eth_stats_get(dp_app.port, &st) == 0)
		printf("port_imissed %lu\nport_rx_nombuf %lu\nport_ierrors %lu\n",
		       (unsigned long)st.imissed, (unsigned long)st.rx_nombuf,
		       (unsigned long)st.ierrors);
	/* Of ingest_cycles, the part inside dp_admit + dp_ingest (the steps
	 * chot-sockbase shares): the rest is the I/O path (chot-bench's
	 * io_cycles_per_datagram).  Not a telemetry counter: a benchmark figure. */
	for (i = 0; i < dp_app.n_workers; i++)
		shared += dp_worker_shared_cycles(dp_app.workers[i]);
	printf("ingest_shared_cycles %lu\n", (unsigned long)shared);
	/* The dedupe table's own figures (dedupe.h), from the last snapshots. */
	for (i = 0; i < dp_app.n_workers; i++)
		if (dp_worker_read_snap(dp_app.workers[i], &sn) == 0) {
			late += sn.dedupe_late;
			lateness = RTE_MAX(lateness, sn.dedupe_lateness_max_ms);
		}
	printf("dedupe_late %lu\ndedupe_lateness_max_ms %lu\n", (unsigned long)late,
	       (unsigned long)lateness);
	printf("ingest_tx_cycles %lu\n", (unsigned long)dp_app.tx_cycles);
	printf("ingest_rx_burst_cycles %lu\ningest_tx_burst_cycles %lu\n",
	       (unsigned long)dp_app.rx_burst_cycles, (unsigned long)dp_app.tx_burst_cycles);
	/* ingest_cycles are TSC ticks: with this, cycles/event become events/s. */
	printf("tsc_hz %lu\n", (unsigned long)rte_get_tsc_hz());
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	char err[256];
	unsigned i;
	int rc;

	rc = rte_eal_init(argc, argv);
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed: %s\n", rte_strerror(rte_errno));
	argc -= rc;
	argv += rc;
	argv[0] = "chotd";
	rc = parse_args(argc, argv);
	if (rc != 0) {
		rte_eal_cleanup();
		return rc > 0 ? 0 : 2;
	}
	dp_time_init();
	if (wire_init() < 0)
		rte_exit(EXIT_FAILURE, "libsodium init failed\n");
	rc = keys_load(dp_app.conf.keys_file, &dp_app.keys, err, sizeof(err));
	if (rc < 0)
		rte_exit(EXIT_FAILURE, "keys.file %s: %s\n", dp_app.conf.keys_file, err);
	/* keys_load() lets a file without a vault key through (chotctl needs
	 * only some keys); chotd would then store every scan with no identity
	 * in the vault, unrecoverably (DESIGN §4).  Refuse rather than guess. */
	if (!dp_app.keys.has_vault)
		rte_exit(EXIT_FAILURE, "keys.file %s: no 'vault' line: scans would be stored "
			 "without their identity-vault entry; add 'vault <64 hex>' (chotctl "
			 "keys init writes one)\n", dp_app.conf.keys_file);
	signals_init();

	dp_app.pool = rte_pktmbuf_pool_create("chot_mbufs", dp_app.conf.mbufs, MBUF_CACHE, 0,
					      RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (dp_app.pool == NULL)
		rte_exit(EXIT_FAILURE, "mbuf pool: %s\n", rte_strerror(rte_errno));
	if (dp_rx_tsc_register() < 0)
		DP_LOG(WARNING, "mbuf dynfield chot_rx_tsc: %s: no verdict latency figures\n",
		       rte_strerror(rte_errno));
	dp_app.port = (uint16_t)dp_app.conf.port;
	port_init(dp_app.port);
	workers_init();
	if (dp_app.conf.prefault)
		dp_prefault();
	if (dp_telemetry_register() < 0)
		DP_LOG(WARNING, "telemetry: cannot register /chot/ commands\n");
	DP_LOG(INFO, "port %u: udp %u, %u worker(s) %s, store %s\n", dp_app.port,
	       dp_app.conf.udp_port, dp_app.n_workers,
	       dp_app.rtc ? "run-to-completion on the main lcore" : "on their own lcores",
	       strncmp(dp_app.conf.redis_url, "null://", 7) == 0 ? "null://" : "redis");

	if (!dp_app.rtc)
		for (i = 0; i < dp_app.n_workers; i++)
			rte_eal_remote_launch(dp_worker_lcore_main, (void *)(uintptr_t)i,
					      dp_app.worker_lcore[i]);
	dp_rx_loop();

	print_counters();
	(void)rte_eth_dev_stop(dp_app.port);
	(void)rte_eth_dev_close(dp_app.port);
	dp_telemetry_stop();
	dp_lists_stop();
	for (i = 0; i < dp_app.n_workers; i++)
		dp_worker_destroy(dp_app.workers[i]);
	keys_wipe(&dp_app.keys);
	rte_eal_cleanup();
	return 0;
}
