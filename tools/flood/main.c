/*
 * chot-flood: the synthetic province (DESIGN §6).
 *
 *   chot-flood gen ...     write a pcap of scanner traffic and its truth file
 *   chot-flood keys FILE   create a fresh keys file (mode 0600)
 *   chot-flood sim ...     live scanners with outboxes (sim.c)
 *
 * This file is the command line: it parses options, runs the stages in
 * model.c / scenario.c, emit.c and truth.c, and prints a summary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "flood.h"
#include "sim.h"

static const char gen_usage[] =
	"usage: chot-flood gen --citizens N --sites M --devices D --hours H --seed S\n"
	"                      [--dup-rate R] [--hostile-rate R] [--surge SITE:FACTOR]...\n"
	"                      [--start T] [--f0-samples K] [--sites-csv OUT.csv]\n"
	"                      [--scenario FILE] [--counters-only]\n"
	"                      [--watch N] [--zones N] [--greenlane N] [--lists OUT.json]\n"
	"                      [--verdict-rate R]\n"
	"                      --keys FILE --pcap OUT.pcap --truth OUT.json\n"
	"\n"
	"Writes a deterministic synthetic province: scanner datagrams (DESIGN §2) in a\n"
	"pcap of Ethernet/IPv4/IPv6/VLAN UDP frames with hostile frames mixed in, and a\n"
	"truth file: exact counters, the events that must be stored, and F1/F2 sets for\n"
	"sampled F0s.  T is unix ms or ISO 8601 UTC (default: today's 00:00 UTC minus H\n"
	"hours).  --counters-only leaves the stored events, subjects and F0s out of the\n"
	"truth (params, counters and reasons only: provinces of tens of millions of\n"
	"events for benchmarks).  Defaults: --dup-rate 0.02 --hostile-rate 0.01\n"
	"--f0-samples 5.\n"
	"\n"
	"--watch, --zones and --greenlane draw the checkpoint lists of DESIGN §9 for the\n"
	"province (watchlist entries, commune levels, green-lane vehicles); --lists\n"
	"writes them as the exact Redis values, with the site registry.  The truth then\n"
	"holds the verdict codes of every batch that requests one (flag bit 1, a share\n"
	"--verdict-rate of the batches: default 0.25 with lists, 0 without) and every\n"
	"alert chotd must raise.\n";

static const char top_usage[] =
	"usage: chot-flood gen ...      synthetic province -> pcap + truth (gen --help)\n"
	"       chot-flood keys FILE    create a keys file (mode 0600, never overwrites)\n"
	"       chot-flood sim ...      live scanners with outboxes (sim --help)\n";

static struct fl_province *progress_p;
static uint64_t progress_last_us;

void
fl_progress(const struct fl_province *p, const char *stage, uint64_t done, uint64_t total)
{
	uint64_t now;

	if (!p->o.progress)
		return;
	now = chot_mono_us();
	if (done < total && now - progress_last_us < 200000)
		return;
	progress_last_us = now;
	fprintf(stderr, "\r\033[K%-9s %3llu%% (%llu/%llu)", stage,
		total ? (unsigned long long)(done * 100 / total) : 100ULL,
		(unsigned long long)done, (unsigned long long)total);
	if (done >= total)
		fputc('\n', stderr);
	(void)progress_p;
}

static int
parse_u32(const char *opt, const char *v, uint32_t *out)
{
	char *end = NULL;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x > UINT32_MAX) {
		fprintf(stderr, "chot-flood: --%s: '%s' is not a number\n", opt, v);
		return -EINVAL;
	}
	*out = (uint32_t)x;
	return 0;
}

static int
parse_rate(const char *opt, const char *v, double *out)
{
	char *end = NULL;
	double x = strtod(v, &end);

	if (end == v || *end != '\0' || !(x >= 0.0 && x <= 1.0)) {
		fprintf(stderr, "chot-flood: --%s: '%s' is not a rate in [0, 1]\n", opt, v);
		return -EINVAL;
	}
	*out = x;
	return 0;
}

/* unix ms, or ISO 8601 UTC "2021-09-01T00:00:00Z" / "2021-09-01". */
static int
parse_time(const char *v, uint64_t *out)
{
	struct tm tm;
	char *end = NULL;
	unsigned long long ms = strtoull(v, &end, 10);

	if (end != v && *end == '\0') {
		*out = ms;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(v, "%Y-%m-%d", &tm);
	}
	if (end == NULL || (*end != '\0' && strcmp(end, "Z") != 0)) {
		fprintf(stderr, "chot-flood: --start: '%s' is neither unix ms nor ISO 8601\n", v);
		return -EINVAL;
	}
	*out = (uint64_t)timegm(&tm) * 1000;
	return 0;
}

static int
write_sites_csv(const struct fl_province *p, const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		fprintf(stderr, "chot-flood: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fputs("id,name,kind,commune\n", f);
	for (uint32_t i = 0; i < p->n_sites; i++)
		fprintf(f, "%u,\"%s\",%s,%u\n", p->sites[i].id, p->sites[i].name,
			rules_kind_name(p->sites[i].kind), p->sites[i].commune);
	return fclose(f) == 0 ? 0 : -errno;
}

static int
cmd_keys(int argc, char **argv)
{
	struct chot_keys k;
	int rc;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fputs("usage: chot-flood keys FILE\n", argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	keys_generate(&k);
	rc = keys_write(argv[1], &k);
	keys_wipe(&k);
	if (rc != 0) {
		fprintf(stderr, "chot-flood: %s: %s%s\n", argv[1], strerror(-rc),
			rc == -EEXIST ? " (refusing to overwrite a keys file)" : "");
		return rc == -EEXIST ? 2 : 1;
	}
	return 0;
}

static int
cmd_gen(int argc, char **argv)
{
	enum { O_CIT = 1, O_SITES, O_DEV, O_HOURS, O_SEED, O_DUP, O_HOST, O_SURGE, O_START,
	       O_F0, O_KEYS, O_PCAP, O_TRUTH, O_CSV, O_SCEN, O_COUNTERS, O_WATCH, O_ZONES,
	       O_GREEN, O_LISTS, O_VRATE, O_HELP };
	static const struct option opts[] = {
		{ "citizens", required_argument, NULL, O_CIT },
		{ "sites", required_argument, NULL, O_SITES },
		{ "devices", required_argument, NULL, O_DEV },
		{ "hours", required_argument, NULL, O_HOURS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "dup-rate", required_argument, NULL, O_DUP },
		{ "hostile-rate", required_argument, NULL, O_HOST },
		{ "surge", required_argument, NULL, O_SURGE },
		{ "start", required_argument, NULL, O_START },
		{ "f0-samples", required_argument, NULL, O_F0 },
		{ "keys", required_argument, NULL, O_KEYS },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "truth", required_argument, NULL, O_TRUTH },
		{ "sites-csv", required_argument, NULL, O_CSV },
		{ "scenario", required_argument, NULL, O_SCEN },
		{ "counters-only", no_argument, NULL, O_COUNTERS },
		{ "watch", required_argument, NULL, O_WATCH },
		{ "zones", required_argument, NULL, O_ZONES },
		{ "greenlane", required_argument, NULL, O_GREEN },
		{ "lists", required_argument, NULL, O_LISTS },
		{ "verdict-rate", required_argument, NULL, O_VRATE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	static struct fl_province prov;
	struct fl_province *p = &prov;
	struct fl_opts *o = &p->o;
	char err[256];
	uint32_t seed32 = 0;
	int c, rc = 0;

	o->dup_rate = 0.02;
	o->hostile_rate = 0.01;
	o->f0_samples = 5;
	o->hours = 24;
	o->progress = isatty(2);
	o->verdict_rate = -1;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_CIT: rc = parse_u32("citizens", optarg, &o->citizens); break;
		case O_SITES: rc = parse_u32("sites", optarg, &o->sites); break;
		case O_DEV: rc = parse_u32("devices", optarg, &o->devices); break;
		case O_HOURS: rc = parse_u32("hours", optarg, &o->hours); break;
		case O_SEED: rc = parse_u32("seed", optarg, &seed32); o->seed = seed32; break;
		case O_DUP: rc = parse_rate("dup-rate", optarg, &o->dup_rate); break;
		case O_HOST: rc = parse_rate("hostile-rate", optarg, &o->hostile_rate); break;
		case O_START: rc = parse_time(optarg, &o->start_ms); break;
		case O_F0: rc = parse_u32("f0-samples", optarg, &o->f0_samples); break;
		case O_KEYS: o->keys_path = optarg; break;
		case O_PCAP: o->pcap_path = optarg; break;
		case O_TRUTH: o->truth_path = optarg; break;
		case O_CSV: o->sites_csv = optarg; break;
		case O_SCEN: o->scenario = optarg; break;
		case O_COUNTERS: o->counters_only = true; break;
		case O_WATCH: rc = parse_u32("watch", optarg, &o->watch_n); break;
		case O_ZONES: rc = parse_u32("zones", optarg, &o->zones_n); break;
		case O_GREEN: rc = parse_u32("greenlane", optarg, &o->greenlane_n); break;
		case O_LISTS: o->lists_path = optarg; break;
		case O_VRATE: rc = parse_rate("verdict-rate", optarg, &o->verdict_rate); break;
		case O_SURGE: {
			char *colon = strchr(optarg, ':');
			char *end = NULL;

			if (colon == NULL || o->n_surges == FL_MAX_SURGES) {
				fprintf(stderr, "chot-flood: --surge takes SITE:FACTOR\n");
				return 2;
			}
			*colon = '\0';
			if (parse_u32("surge", optarg, &o->surge[o->n_surges].site) != 0)
				return 2;
			o->surge[o->n_surges].factor = strtod(colon + 1, &end);
			if (end == colon + 1 || *end != '\0' || o->surge[o->n_surges].factor < 1.0) {
				fprintf(stderr, "chot-flood: --surge: factor must be >= 1\n");
				return 2;
			}
			o->n_surges++;
			break;
		}
		case O_HELP:
			fputs(gen_usage, stdout);
			return 0;
		default:
			fputs(gen_usage, stderr);
			return 2;
		}
		if (rc != 0)
			return 2;
	}
	if (optind != argc) {
		fprintf(stderr, "chot-flood: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->keys_path == NULL || o->pcap_path == NULL || o->truth_path == NULL) {
		fprintf(stderr, "chot-flood: gen needs --keys, --pcap and --truth\n%s", gen_usage);
		return 2;
	}
	if (o->scenario == NULL && (o->citizens == 0 || o->sites == 0 || o->devices == 0)) {
		fprintf(stderr, "chot-flood: --citizens, --sites and --devices must be >= 1\n");
		return 2;
	}
	if (o->hours == 0 || o->hours > 20 * 24) {
		fprintf(stderr, "chot-flood: --hours must be 1..480 (chotd keeps 21 days)\n");
		return 2;
	}
	if (wire_init() != 0) {
		fprintf(stderr, "chot-flood: libsodium failed to initialise\n");
		return 1;
	}
	rc = keys_load(o->keys_path, &p->keys, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "chot-flood: %s\n", err);
		return 2;
	}
	if (o->start_ms == 0) {
		uint64_t now = (uint64_t)time(NULL) * 1000;

		o->start_ms = now - now % 86400000ULL - (uint64_t)o->hours * 3600000ULL;
	}
	p->start_ms = o->start_ms;
	p->end_ms = o->start_ms + (uint64_t)o->hours * 3600000ULL;
	fl_rng_seed(&p->rng, o->seed);
	fl_rng_seed(&p->vrng, o->seed ^ 0x76657264ULL);   /* "verd" */
	if (o->verdict_rate < 0)
		o->verdict_rate = o->watch_n || o->zones_n || o->greenlane_n ?
					  FL_VERDICT_RATE_DEFAULT : 0;
	if (o->scenario != NULL) {
		o->dup_rate = 0;
		o->hostile_rate = 0;
		rc = fl_scenario_load(p, o->scenario, err, sizeof(err));
		if (rc != 0) {
			fprintf(stderr, "chot-flood: %s\n", err);
			return 2;
		}
	} else {
		fl_model_build(p);
	}
	if (fl_lists_draw(p) != 0) {
		fprintf(stderr, "chot-flood: out of memory drawing the lists\n");
		return 1;
	}
	if (fl_emit(p) != 0 || fl_write_pcap(p, o->pcap_path) != 0)
		return 1;
	if (o->lists_path != NULL && fl_lists_write(p, o->lists_path) != 0)
		return 1;
	if (o->sites_csv != NULL && write_sites_csv(p, o->sites_csv) != 0)
		return 1;
	printf("chot-flood: %u citizens, %u sites, %u devices, %u h from %llu; %u scans\n",
	       p->n_citizens, p->n_sites, p->n_devs, o->hours, (unsigned long long)p->start_ms,
	       p->n_scans);
	if (fl_truth_write(p, o->truth_path, stdout) != 0)
		return 1;
	keys_wipe(&p->keys);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(top_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "gen") == 0)
		return cmd_gen(argc - 1, argv + 1);
	if (strcmp(argv[1], "keys") == 0)
		return cmd_keys(argc - 1, argv + 1);
	if (strcmp(argv[1], "sim") == 0)
		return fl_cmd_sim(argc - 1, argv + 1);
	fprintf(stderr, "chot-flood: unknown command '%s'\n%s", argv[1], top_usage);
	return 2;
}
