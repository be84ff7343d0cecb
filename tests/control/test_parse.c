/*
 * chotctl's argument parsers (control/parse.c), pure: the whole-number
 * parser behind --days, --depth, --limit and SITE_ID, TIME (unix ms or
 * ISO 8601) and DURATION ("15m", "90s", "1.5h", bare ms).
 *
 * Every parser is strict: the whole string, no sign, no white space, no hex,
 * no exponent, no inf/nan, range-checked, and a calendar date must exist.
 * Each table holds the bad inputs of issue 11 item 5 (which chotctl once read
 * as 0, as "unbounded", as a wrapped 2^64 - 5 or as 2 March) beside the good
 * edge cases.  rc is 0, -EINVAL (not of the form) or -ERANGE (of the form,
 * outside the range).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

#define SEC 1000ULL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T (1627812000000ULL)   /* 2021-08-01T10:00:00Z */
#define TMAX (253402300799999ULL)  /* 9999-12-31T23:59:59.999Z */

/* ---- whole numbers ---- */

struct u64_case {
	char in[32];
	uint64_t min, max;
	int rc;
	uint64_t v;
};

static struct u64_case u64_cases[] = {
	{ "0", 0, 10, 0, 0 },
	{ "10", 0, 10, 0, 10 },
	{ "14", 1, 365, 0, 14 },
	{ "007", 1, 365, 0, 7 },                       /* decimal, never octal */
	{ "4294967295", 1, UINT32_MAX, 0, UINT32_MAX },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "", 0, 10, -EINVAL, 0 },
	{ "-5", 0, UINT64_MAX, -EINVAL, 0 },            /* strtoull: 2^64 - 5 */
	{ "-0", 0, 10, -EINVAL, 0 },
	{ "+5", 0, 10, -EINVAL, 0 },
	{ " 5", 0, 10, -EINVAL, 0 },
	{ "5 ", 0, 10, -EINVAL, 0 },
	{ "5\n", 0, 10, -EINVAL, 0 },
	{ "14x", 1, 365, -EINVAL, 0 },
	{ "1e3", 1, 365, -EINVAL, 0 },
	{ "7.9", 1, 365, -EINVAL, 0 },
	{ "0x10", 0, 100, -EINVAL, 0 },
	{ "inf", 0, UINT64_MAX, -EINVAL, 0 },
	{ "nan", 0, UINT64_MAX, -EINVAL, 0 },
	{ "4294967296", 1, UINT32_MAX, -ERANGE, 0 },
	{ "4294967300", 1, UINT32_MAX, -ERANGE, 0 },    /* once site 4 */
	{ "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
	{ "99999999999999999999", 0, UINT64_MAX, -ERANGE, 0 },
	{ "0", 1, UINT32_MAX, -ERANGE, 0 },
	{ "366", 1, 365, -ERANGE, 0 },
	{ "3", 1, 2, -ERANGE, 0 },
};

ParameterizedTestParameters(parse, u64)
{
	return cr_make_param_array(struct u64_case, u64_cases,
				   sizeof(u64_cases) / sizeof(u64_cases[0]));
}

ParameterizedTest(struct u64_case *c, parse, u64)
{
	uint64_t v = 12345;
	int rc = ctl_parse_u64(c->in, c->min, c->max, &v);

	cr_assert_eq(rc, c->rc, "'%s' in [%llu, %llu]: expected rc %d, got %d", c->in,
		     (unsigned long long)c->min, (unsigned long long)c->max, c->rc, rc);
	if (rc == 0)
		cr_expect_eq(v, c->v, "'%s': expected %llu, got %llu", c->in,
			     (unsigned long long)c->v, (unsigned long long)v);
	else
		cr_expect_eq(v, 12345, "'%s': a rejected input must leave the output alone", c->in);
}

/* ---- TIME ---- */

struct time_case {
	char in[48];
	int rc;
	uint64_t ms;
};

static struct time_case time_cases[] = {
	{ "1627812000000", 0, T },
	{ "0", 0, 0 },
	{ "253402300799999", 0, TMAX },
	{ "2021-08-01T10:00:00Z", 0, T },
	{ "2021-08-01t10:00:00z", 0, T },             /* RFC 3339 allows lower case */
	{ "2021-08-01T10:00:00", 0, T },              /* no zone: UTC */
	{ "2021-08-01T17:00:00+07:00", 0, T },
	{ "2021-08-01T17:00:00+0700", 0, T },         /* basic-format offset, as date +%z */
	{ "2021-08-01T03:00:00-07:00", 0, T },
	{ "2021-08-01T10:00:00-00:00", 0, T },
	{ "2021-08-02T00:00:00+14:00", 0, T },
	{ "2021-07-31T20:00:00-14:00", 0, T },
	{ "2021-08-01T10:00:00.250Z", 0, T + 250 },   /* milliseconds kept */
	{ "2021-08-01T10:00:00.2Z", 0, T + 200 },
	{ "2021-08-01T10:00:00.123456789Z", 0, T + 123 },  /* below 1 ms: dropped */
	{ "2021-08-01T10:00:00.250", 0, T + 250 },
	{ "2021-08-01 10:00:00", 0, T },
	{ "2021-08-01T10:00Z", 0, T },                /* minutes precision */
	{ "2021-08-01T10:00", 0, T },
	{ "2021-08-01", 0, T - 10 * HOUR },
	{ "2020-02-29", 0, 1582934400000ULL },        /* leap year */
	{ "2000-02-29", 0, 951782400000ULL },         /* divisible by 400: leap */
	{ "2024-02-29", 0, 1709164800000ULL },
	{ "2021-12-31T23:59:59Z", 0, 1640995199000ULL },
	{ "1970-01-01T00:00:00Z", 0, 0 },
	{ "1969-12-31T23:00:00-01:00", 0, 0 },
	{ "9999-12-31T23:59:59.999Z", 0, TMAX },
	/* unix ms, strictly */
	{ "", -EINVAL, 0 },
	{ "yesterday", -EINVAL, 0 },
	{ "-5", -EINVAL, 0 },                         /* strtoull: 2^64 - 5 */
	{ "+5", -EINVAL, 0 },
	{ " 1627812000000", -EINVAL, 0 },
	{ "1627812000000 ", -EINVAL, 0 },
	{ "12abc", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1e12", -EINVAL, 0 },
	{ "1627812000000.5", -EINVAL, 0 },
	{ "253402300800000", -ERANGE, 0 },            /* past 9999-12-31 */
	{ "18446744073709551616", -ERANGE, 0 },
	/* the calendar */
	{ "2021-02-30", -EINVAL, 0 },                 /* once 2 March */
	{ "2021-02-29", -EINVAL, 0 },
	{ "2100-02-29", -EINVAL, 0 },                 /* divisible by 100, not 400 */
	{ "2021-04-31", -EINVAL, 0 },
	{ "2021-13-01", -EINVAL, 0 },
	{ "2021-00-10", -EINVAL, 0 },
	{ "2021-01-00", -EINVAL, 0 },
	{ "2021-01-32", -EINVAL, 0 },
	{ "2021-8-1", -EINVAL, 0 },
	{ "21-08-01", -EINVAL, 0 },
	{ "10000-01-01", -EINVAL, 0 },
	{ "2021-08-01T24:00:00Z", -EINVAL, 0 },
	{ "2021-08-01T10:60:00Z", -EINVAL, 0 },
	{ "2021-08-01T10:00:60Z", -EINVAL, 0 },
	{ "2021-08-01T10", -EINVAL, 0 },
	{ "2021-08-01T", -EINVAL, 0 },
	{ "2021-08-01T10:00:00.Z", -EINVAL, 0 },
	{ "2021-08-01Z", -EINVAL, 0 },                /* an offset needs a time */
	{ "2021-08-01T1:00:00Z", -EINVAL, 0 },
	/* offsets */
	{ "2021-08-01T10:00:00+99:00", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+14:01", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+15:00", -EINVAL, 0 },
	{ "2021-08-01T10:00:00-14:30", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+07:60", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+7", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+07", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+07:0", -EINVAL, 0 },
	{ "2021-08-01T10:00:00+07:00junk", -EINVAL, 0 },
	{ "2021-08-01T10:00:00Zjunk", -EINVAL, 0 },
	{ "2021-08-01T10:00:00 Z", -EINVAL, 0 },
	/* outside [1970, 9999] after the offset */
	{ "1969-12-31T23:59:59Z", -ERANGE, 0 },
	{ "1970-01-01T00:00:00+01:00", -ERANGE, 0 },
	{ "9999-12-31T23:59:59.999-01:00", -ERANGE, 0 },
};

ParameterizedTestParameters(parse, time)
{
	return cr_make_param_array(struct time_case, time_cases,
				   sizeof(time_cases) / sizeof(time_cases[0]));
}

ParameterizedTest(struct time_case *c, parse, time)
{
	uint64_t ms = 12345;
	int rc = ctl_parse_time(c->in, &ms);

	cr_assert_eq(rc, c->rc, "TIME '%s': expected rc %d, got %d (%llu)", c->in, c->rc, rc,
		     (unsigned long long)ms);
	if (rc == 0)
		cr_expect_eq(ms, c->ms, "TIME '%s': expected %llu ms, got %llu", c->in,
			     (unsigned long long)c->ms, (unsigned long long)ms);
	else
		cr_expect_eq(ms, 12345, "TIME '%s': a rejected input must leave the output alone",
			     c->in);
}

/* ---- DURATION ---- */

struct dur_case {
	char in[32];
	int rc;
	uint64_t ms;
};

static struct dur_case dur_cases[] = {
	{ "15m", 0, 15 * MIN },
	{ "15min", 0, 15 * MIN },
	{ "90s", 0, 90 * SEC },
	{ "2h", 0, 2 * HOUR },
	{ "1d", 0, DAY },
	{ "250ms", 0, 250 },
	{ "0", 0, 0 },
	{ "0ms", 0, 0 },
	{ "0m", 0, 0 },
	{ "1.5m", 0, 90 * SEC },
	{ "0.5s", 0, 500 },
	{ "1.25h", 0, 75 * MIN },
	{ "0.001s", 0, 1 },
	{ "365d", 0, 365 * DAY },
	{ "18446744073709551615", 0, UINT64_MAX },   /* bare ms: no multiplication */
	{ "213503982334d", 0, 213503982334ULL * DAY }, /* the largest whole day count */
	{ "", -EINVAL, 0 },
	{ "-5m", -EINVAL, 0 },
	{ "+5m", -EINVAL, 0 },
	{ "15 m", -EINVAL, 0 },
	{ " 15m", -EINVAL, 0 },
	{ "15m ", -EINVAL, 0 },
	{ "15x", -EINVAL, 0 },
	{ "15M", -EINVAL, 0 },
	{ "m", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },                        /* strtod: unbounded */
	{ "infinity", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },                        /* strtod: then 0 */
	{ "nanm", -EINVAL, 0 },
	{ "0x1p70", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
	{ "1e3s", -EINVAL, 0 },
	{ ".5s", -EINVAL, 0 },
	{ "1.s", -EINVAL, 0 },
	{ "1.5", -EINVAL, 0 },                        /* half a millisecond */
	{ "1.5ms", -EINVAL, 0 },
	{ "0.0001s", -EINVAL, 0 },
	{ "1.0000000001m", -EINVAL, 0 },
	{ "99999999999999999999d", -ERANGE, 0 },
	{ "213503982335d", -ERANGE, 0 },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "18446744073709552s", -ERANGE, 0 },
};

ParameterizedTestParameters(parse, duration)
{
	return cr_make_param_array(struct dur_case, dur_cases,
				   sizeof(dur_cases) / sizeof(dur_cases[0]));
}

ParameterizedTest(struct dur_case *c, parse, duration)
{
	uint64_t ms = 12345;
	int rc = ctl_parse_duration(c->in, &ms);

	cr_assert_eq(rc, c->rc, "DURATION '%s': expected rc %d, got %d (%llu)", c->in, c->rc, rc,
		     (unsigned long long)ms);
	if (rc == 0)
		cr_expect_eq(ms, c->ms, "DURATION '%s': expected %llu ms, got %llu", c->in,
			     (unsigned long long)c->ms, (unsigned long long)ms);
	else
		cr_expect_eq(ms, 12345, "DURATION '%s': a rejected input must leave the output "
			     "alone", c->in);
}
