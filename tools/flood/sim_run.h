/*
 * chot-flood sim's run state, shared by its socket loop (sim.c) and its
 * reports (sim_report.c).  Private to the sim command.
 */
#ifndef CHOT_FLOOD_SIM_RUN_H
#define CHOT_FLOOD_SIM_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "rng.h"
#include "sim.h"

#define SEND_MAX 1024

struct sim_opts {
	uint32_t devices, sites, first_device, epoch_base;
	double rate, duration, reboot_rate, deadline_s, progress_s;
	uint64_t events, seed;
	struct sim_params p;
	uint64_t linger_us;
	const char *to, *keys_path, *report, *events_out, *prefix;
};

struct sender {
	int fd;
	unsigned n;
	struct mmsghdr msg[SEND_MAX];
	struct iovec iov[SEND_MAX];
	uint64_t datagrams, errors;
};

struct sim_run {
	struct sim_opts *o;
	struct sim_dev *devs;
	uint64_t *next_reboot_us;
	struct sim_events ev;
	struct sim_stats st;
	struct sender tx;
	struct fl_rng rng;
	uint64_t t0_us, gen_done_us, all_acked_us, acked;
	uint64_t *lat_us;                /* verdict latencies */
	size_t n_lat, cap_lat;
};

/* sim_report.c */
void sim_progress(struct sim_run *R, uint64_t now, bool tty, bool last);
void sim_verdict_summary(struct sim_run *R);
int sim_write_report(struct sim_run *R, const char *path, uint64_t end, bool ok);
int sim_write_events(const struct sim_run *R, const char *path);

#endif /* CHOT_FLOOD_SIM_RUN_H */
