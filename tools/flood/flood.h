/*
 * chot-flood: a synthetic province (DESIGN §6).
 *
 * The generator is a pipeline of plain arrays, each stage in its own file:
 *   model.c    province (communes, citizens, sites, devices, vehicles) and the
 *              movement model -> struct fl_scan[] (raw scans, device-tagged)
 *   scenario.c a hand-written scenario file -> the same arrays (tests)
 *   emit.c     per-device batching, sealing, hostile frames, Ethernet/IP/UDP
 *              framing -> struct fl_frame[] in arrival order, written as pcap
 *   truth.c    what chotd must count and store (dedupe replayed in arrival
 *              order), sampled F0s with brute-force F1/F2 -> truth JSON
 * Everything is driven by one seeded PRNG (rng.h): same arguments, same bytes.
 */
#ifndef CHOT_FLOOD_H
#define CHOT_FLOOD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keys.h"
#include "pseudonym.h"
#include "reason.h"
#include "rules.h"
#include "rng.h"
#include "wire.h"

#define FL_MAX_SURGES 16

struct fl_opts {
	uint32_t citizens, sites, devices, hours;
	uint64_t seed;
	double dup_rate, hostile_rate;
	uint64_t start_ms;          /* 0 = today's UTC midnight - hours */
	unsigned f0_samples;
	bool counters_only;     /* truth without stored / subjects / f0 */
	unsigned n_surges;
	struct { uint32_t site; double factor; } surge[FL_MAX_SURGES];
	const char *keys_path, *pcap_path, *truth_path, *sites_csv, *scenario;
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

/* truth.c */
int fl_truth_write(struct fl_province *p, const char *path, FILE *summary);

/* progress (main.c) */
void fl_progress(const struct fl_province *p, const char *stage, uint64_t done, uint64_t total);

#endif /* CHOT_FLOOD_H */
