/*
 * chotd's one registered log type, "user.chotd" (RTE_LOG_REGISTER in main.c).
 * Every log line names the object (port, worker, device, file) and the
 * reason, so an operator can grep for it.  Pure modules (parse, replay,
 * dedupe, config) never log: they return reasons and the caller logs.
 */
#ifndef CHOT_DP_LOG_H
#define CHOT_DP_LOG_H

#include <rte_log.h>

extern int dp_logtype;

#define DP_LOG(level, ...) \
	rte_log(RTE_LOG_ ## level, dp_logtype, "chotd: " __VA_ARGS__)

#endif /* CHOT_DP_LOG_H */
