/*
 * chotctl argument parsing that is pure logic: whole numbers, times,
 * durations, subjects.
 *
 * Every parser here reads the whole string or rejects it: no sign, no white
 * space, no hex, no exponent, no inf/nan, and a number that does not fit is
 * -ERANGE, never a wrapped or saturated value.  strtoull and strtod are
 * not used: strtoull takes "-5" as 2^64 - 5 and skips leading blanks,
 * strtod takes "inf", "nan" and "0x1p70", and both accept trailing junk
 * unless each caller remembers to look at endptr.  A rejected input leaves
 * the output untouched.  Callers (args.c) turn the error into a message
 * that names the argument.
 *
 * TIME is unix ms or ISO 8601 / RFC 3339: YYYY-MM-DD, optionally followed by
 * 'T' (or a space) HH:MM[:SS[.fraction]], optionally followed by 'Z' or an
 * offset ±HH:MM / ±HHMM of at most 14:00 (the widest in use, Kiribati).
 * The date must exist (leap years by the Gregorian rule); 24:00 and leap
 * seconds are refused.  Without an offset the time is UTC.  The result is
 * in [1970-01-01, 9999-12-31T23:59:59.999Z]; fractions below 1 ms are
 * dropped.
 *
 * DURATION is a decimal number with a unit: ms, s, m (or min), h, d; a bare
 * number is milliseconds.  A fraction is allowed ("1.5m") as long as the
 * result is a whole number of milliseconds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "validate.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Exactly n digits at s, as a number. */
static bool
digits(const char *s, int n, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* A run of decimal digits at *p (at least one), advancing *p.  -ERANGE on
 * overflow (the rest of the digits are still consumed). */
static int
digit_run(const char **p, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	bool over = false;

	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			over = true;
		else
			v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return over ? -ERANGE : 0;
}

int
ctl_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	const char *p = s;
	uint64_t v;
	int rc = digit_run(&p, &v);

	if (rc == -EINVAL || *p != '\0')
		return -EINVAL;
	if (rc != 0 || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

static bool
leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
month_days(unsigned y, unsigned m)
{
	static const unsigned char d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days from 1970-01-01 to a valid proleptic Gregorian date (H. Hinnant's
 * days_from_civil); negative before 1970. */
static int64_t
days_from_civil(unsigned y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t)y - (m <= 2);
	int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
	unsigned yoe = (unsigned)(yy - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int
parse_iso(const char *s, uint64_t *ms)
{
	unsigned y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, oh, om;
	int64_t t, off = 0;
	const char *p = s;

	if (!digits(p, 4, &y) || p[4] != '-' || !digits(p + 5, 2, &mo) || p[7] != '-' ||
	    !digits(p + 8, 2, &d))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo))
		return -EINVAL;
	p += 10;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		if (!digits(p + 1, 2, &h) || p[3] != ':' || !digits(p + 4, 2, &mi))
			return -EINVAL;
		p += 6;
		if (*p == ':') {
			if (!digits(p + 1, 2, &sec))
				return -EINVAL;
			p += 3;
			if (*p == '.') {
				unsigned scale = 100;

				if (!is_digit(*++p))
					return -EINVAL;
				for (; is_digit(*p); p++, scale /= 10)
					frac += (unsigned)(*p - '0') * scale;
			}
		}
		if (h > 23 || mi > 59 || sec > 59)
			return -EINVAL;
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p == '-' ? -1 : 1;

			if (!digits(p + 1, 2, &oh))
				return -EINVAL;
			if (p[3] == ':' && digits(p + 4, 2, &om))
				p += 6;
			else if (digits(p + 3, 2, &om))
				p += 5;
			else
				return -EINVAL;
			if (om > 59 || oh * 60 + om > 14 * 60)
				return -EINVAL;
			off = sign * (int64_t)(oh * 60 + om) * 60000;
		}
	}
	if (*p != '\0')
		return -EINVAL;
	t = days_from_civil(y, mo, d) * 86400000 + (int64_t)(h * 3600 + mi * 60 + sec) * 1000 +
	    frac - off;
	if (t < 0 || (uint64_t)t > CTL_TIME_MAX_MS)
		return -ERANGE;
	*ms = (uint64_t)t;
	return 0;
}

int
ctl_parse_time(const char *s, uint64_t *ms)
{
	const char *p = s;
	uint64_t v;
	int rc = digit_run(&p, &v);

	if (rc != -EINVAL && *p == '\0') {  /* all digits: unix ms */
		if (rc != 0 || v > CTL_TIME_MAX_MS)
			return -ERANGE;
		*ms = v;
		return 0;
	}
	return parse_iso(s, ms);
}

int
ctl_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "min", 60000 },
		{ "h", 3600000 }, { "d", 86400000 },
	};
	const char *p = s;
	uint64_t whole, frac = 0, scale = 1, unit = 0, v;
	int rc = digit_run(&p, &whole);

	if (rc == -EINVAL)
		return -EINVAL;
	if (*p == '.') {
		const char *f = ++p;

		if (!is_digit(*p))
			return -EINVAL;
		for (; is_digit(*p); p++) {
			if (p - f >= 9)      /* nanoseconds of a day: far below 1 ms */
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].name) == 0)
			unit = units[i].ms;
	if (unit == 0)
		return -EINVAL;
	/* frac * unit < 10^9 * 86400000 < 2^64: no overflow here. */
	if (frac * unit % scale != 0)
		return -EINVAL;      /* a fraction of a millisecond */
	if (rc != 0 || whole > UINT64_MAX / unit)
		return -ERANGE;
	v = whole * unit;
	if (v > UINT64_MAX - frac * unit / scale)
		return -ERANGE;
	*ms = v + frac * unit / scale;
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
