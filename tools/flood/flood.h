/*
 * chot-flood: a synthetic province (DESIGN §6).
 *
 * The generator is a pipeline of plain arrays, each stage in its own file:
 *   model.c    province (communes, citizens, sites, devices, vehicles) and the
 *              movement model -> struct fl_scan[] (raw scans, device-tagged)
 *   scenario.c a hand-written scenario file -> the same arrays (tests)
 *   emit.c     per-device batching, sealing, hostile frames, Ethernet/IP/UDP
 *              framing -> struct fl_frame[] in arrival order, written as pcap
 *   draw.c     the checkpoint lists (watchlist, zones, green lane) drawn for
 *              the province, written as the exact Redis values (lists.h)
 *   truth.c    what chotd must count and store (dedupe replayed in arrival
 *              order), sampled F0s with brute-force F1/F2 -> truth JSON
 *   truth_lists.c  the expected verdicts and alerts (check.c, DESIGN §9)
 * Everything is driven by one seeded PRNG (rng.h): same arguments, same bytes.
 */
#ifndef CHOT_FLOOD_H
#define CHOT_FLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "keys.h"
#include "lists.h"
#include "pseudonym.h"
#include "reason.h"
#include "rules.h"
#include "rng.h"
#include "wire.h"

#define FL_MAX_SURGES 16

/* Flag bit 1 of the header: verdict requested (DESIGN §9). */
#ifndef WIRE_FLAG_VERDICT
#define WIRE_FLAG_VERDICT 0x02
#endif
/* Share of batches that request a verdict when lists are drawn. */
#define FL_VERDICT_RATE_DEFAULT 0.25

struct fl_opts {
	uint32_t citizens, sites, devices, hours;
	uint64_t seed;
	double dup_rate, hostile_rate;
	uint64_t start_ms;          /* 0 = today's UTC midnight - hours */
	unsigned f0_samples;
	bool counters_only;     /* truth without stored / subjects / f0 */
	unsigned n_surges;
	struct { uint32_t site; double factor; } surge[FL_MAX_SURGES];
	uint32_t watch_n, zones_n, greenlane_n;   /* lists to draw (draw.c) */
	double verdict_rate;        /* share of batches with flag bit 1 */
	const char *keys_path, *pcap_path, *truth_path, *sites_csv, *scenario, *lists_path;
	bool progress;
};

struct fl_site {
	uint32_t id;
	uint32_t commune;
	enum site_kind kind;
	char name[96];
	uint32_t first_dev, n_dev;  /* devices serving it: dev index range */
};

struct fl_subject {
	uint8_t scheme;
	char id[WIRE_SUBJECT_MAX_NUL];       /* as printed on the card / QR (raw) */
	char norm[WIRE_SUBJECT_MAX_NUL];     /* normalised */
	uint8_t pid[PID_LEN];
	uint32_t commune;
	bool is_f0;                          /* scenario files name their F0s */
};

/* One scan as a scanner reads it. */
struct fl_scan {
	uint64_t ts_ms;
	uint32_t subject;     /* index into subjects */
	uint32_t site_id;
	uint32_t dev;         /* index into devices */
	uint8_t dir, decl;
	uint16_t passengers;
	int32_t vehicle;      /* subject index of the vehicle (plate), -1 none */
	uint8_t bad;          /* enum chot_reason it must be rejected with, 0 = valid */
	bool injected_dup;
};

struct fl_device {
	uint32_t device_id;
	uint32_t site_idx;
	uint32_t epoch;
	uint64_t seq;
	uint64_t reboot_at_ms;   /* 0 = never */
	bool ipv6, vlan;
};

/* A frame in arrival order, with what chotd must do with it. */
struct fl_frame {
	uint64_t t_ms;
	uint32_t len;
	uint8_t *data;
	enum chot_reason reason;   /* WIRE_OK = accepted batch */
	uint32_t first_scan;       /* accepted batches: scans[first_scan .. +n_scans) in batch order */
	uint32_t n_scans;          /* index into fl_province.batch_scans */
	bool verdict;              /* flag bit 1 set (accepted batches) */
	uint32_t device_id, epoch; /* accepted batches: the header */
	uint64_t seq;
};

/* The checkpoint lists drawn for the province (draw.c). */
struct fl_watch {
	uint8_t pid[PID_LEN];
	int32_t subject;            /* -1: an identifier nobody in the province has */
	struct watch_entry e;
};

struct fl_zone {
	uint32_t commune;
	enum zone_level level;
};

struct fl_green {
	uint8_t pid[PID_LEN];
	int32_t subject;            /* -1: a sticker never scanned */
	char plate[WIRE_SUBJECT_MAX_NUL];
	struct greenlane_entry e;
};

struct fl_lists {
	bool drawn;
	struct fl_watch *watch; uint32_t n_watch;
	struct fl_zone *zones; uint32_t n_zones;      /* sorted by commune */
	struct fl_green *green; uint32_t n_green;
	int32_t *watch_of, *green_of;                 /* per subject: index or -1 */
};

struct fl_province {
	struct fl_opts o;
	struct chot_keys keys;
	uint64_t start_ms, end_ms;
	uint32_t n_communes;
	uint32_t *communes;
	struct fl_site *sites;  uint32_t n_sites;
	struct fl_device *devs; uint32_t n_devs;
	struct fl_subject *subj; uint32_t n_subj, cap_subj;
	uint32_t n_citizens;     /* subjects[0..n_citizens) are people */
	struct fl_scan *scans; uint32_t n_scans, cap_scans;
	struct fl_frame *frames; uint32_t n_frames, cap_frames;
	uint32_t *batch_scans; uint32_t n_batch_scans, cap_batch_scans;
	uint64_t n_batches;     /* legit batches */
	struct fl_rng rng;
	struct fl_rng vrng;     /* flag bit 1 only: the rest stays as without it */
	struct fl_lists lists;
};

/* model.c */
int fl_model_build(struct fl_province *p);
uint32_t fl_subject_add(struct fl_province *p, uint8_t scheme, const char *raw, uint32_t commune);
int fl_scan_push(struct fl_province *p, const struct fl_scan *s);
const struct fl_site *fl_site_by_id(const struct fl_province *p, uint32_t site_id);
enum site_kind fl_site_kind(uint32_t site_id, void *ctx);

/* scenario.c */
int fl_scenario_load(struct fl_province *p, const char *path, char *err, size_t errlen);

/* emit.c */
int fl_emit(struct fl_province *p);
int fl_write_pcap(const struct fl_province *p, const char *path);

/* draw.c */
int fl_lists_draw(struct fl_province *p);
int fl_lists_write(const struct fl_province *p, const char *path);
enum zone_level fl_zone_of(const struct fl_province *p, uint32_t commune);

/* truth.c */
void fl_json_str(FILE *f, const char *s);   /* a JSON string literal */
int fl_truth_write(struct fl_province *p, const char *path, FILE *summary);

/* truth_lists.c: "verdicts" and "alerts" of the truth, given which scans are stored */
int fl_truth_lists_write(const struct fl_province *p, const uint8_t *stored, FILE *f,
			 FILE *summary);

/* progress (main.c) */
void fl_progress(const struct fl_province *p, const char *stage, uint64_t done, uint64_t total);

#endif /* CHOT_FLOOD_H */
