/*
 * chotctl's strict, pure argument parsers (parse.c): the whole string or
 * nothing; 0, -EINVAL (not of the form) or -ERANGE (out of range); *out is
 * left alone on error.  A whole number: decimal digits only (no sign, blank,
 * hex or exponent) in [min, max].  TIME: unix ms or ISO 8601 (a real
 * calendar date, offset within +-14:00), in [1970, CTL_TIME_MAX_MS].
 * DURATION: "15m", "1.5h", "90s", "250ms", "1d", bare ms; whole
 * milliseconds, no overflow.
 */
#ifndef CHOT_CTL_PARSE_H
#define CHOT_CTL_PARSE_H

#include <stdint.h>

#include "keys.h"
#include "pseudonym.h"

#define CTL_TIME_MAX_MS 253402300799999ULL  /* 9999-12-31T23:59:59.999Z */
int ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int ctl_parse_time(const char *s, uint64_t *ms);
int ctl_parse_duration(const char *s, uint64_t *ms);
/* SUBJECT + scheme -> pid, using the pseudonym key. 0 or -reason (chot_reason). */
int ctl_subject_pid(const struct chot_keys *k, const char *scheme_name, const char *subject,
		    uint8_t pid[PID_LEN], uint8_t *scheme);

#endif /* CHOT_CTL_PARSE_H */
