/*
 * chotctl argument parsing that is pure logic: times, durations, subjects.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "validate.h"

int
ctl_parse_time(const char *s, uint64_t *ms)
{
	struct tm tm;
	char *end = NULL;
	unsigned long long v;
	long off = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == 0 && end != s && *end == '\0') {
		*ms = v;
		return 0;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (end == NULL) {   /* minutes precision: 2021-09-01T10:00Z */
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%dT%H:%M", &tm);
	}
	if (end == NULL) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (end == NULL)
		return -EINVAL;
	if (*end == '.') {  /* fractional seconds are accepted and dropped */
		end++;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if (strcmp(end, "Z") == 0 || *end == '\0') {
		off = 0;
	} else if ((end[0] == '+' || end[0] == '-') && strlen(end) == 6 && end[3] == ':') {
		off = (atol(end + 1) * 60 + atol(end + 4)) * 60;
		if (end[0] == '-')
			off = -off;
	} else {
		return -EINVAL;
	}
	*ms = (uint64_t)((long long)timegm(&tm) - off) * 1000;
	return 0;
}

int
ctl_parse_duration(const char *s, uint64_t *ms)
{
	char *end = NULL;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return -EINVAL;
	if (*end == '\0' || strcmp(end, "ms") == 0)
		*ms = (uint64_t)v;
	else if (strcmp(end, "s") == 0)
		*ms = (uint64_t)(v * 1000);
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		*ms = (uint64_t)(v * 60000);
	else if (strcmp(end, "h") == 0)
		*ms = (uint64_t)(v * 3600000);
	else if (strcmp(end, "d") == 0)
		*ms = (uint64_t)(v * 86400000);
	else
		return -EINVAL;
	return 0;
}

int
ctl_subject_pid(const struct chot_keys *k, const char *scheme_name, const char *subject,
		uint8_t pid[PID_LEN], uint8_t *scheme)
{
	char norm[WIRE_SUBJECT_MAX_NUL];
	int s = wire_scheme_from_name(scheme_name), n;

	if (s < 0)
		return -EV_SCHEME;
	n = wire_subject_normalise((uint8_t)s, subject, strlen(subject), norm);
	if (n < 0)
		return n;
	chot_pseudonym(pid, k->pseudonym, (uint8_t)s, norm, (size_t)n);
	*scheme = (uint8_t)s;
	return 0;
}
