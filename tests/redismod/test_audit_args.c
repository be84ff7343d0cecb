/*
 * CHOT.AUDIT's argument checks (redismod/audit_args.c), without Redis: what
 * an operator calling the command directly may and may not put in a record.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "audit_args.h"

#define PID "00112233445566778899aabbccddeeff"

static const char *
check(const char *cmd, const char *pid, const char *detail)
{
	return audit_args_check(cmd, strlen(cmd), pid, strlen(pid), detail, strlen(detail));
}

Test(audit_args, what_chotctl_sends_passes)
{
	cr_expect_null(check("trace", PID, "depth=2 days=14 until=1 window=900000 min_overlap=0"));
	cr_expect_null(check("visits", PID, ""));
	cr_expect_null(check("site", "-", "site=17"));
	cr_expect_null(check("reveal", PID, ""));
}

Test(audit_args, command_is_a_short_lowercase_word)
{
	cr_expect_not_null(check("", PID, ""));
	cr_expect_not_null(check("MAXLEN", PID, ""));
	cr_expect_not_null(check("1trace", PID, ""));
	cr_expect_not_null(check("trace\r\nx", PID, ""));
	cr_expect_not_null(check("tr ace", PID, ""));
	cr_expect_null(check("abcdefghijklmnopqrstuvwxyz012345", PID, ""));    /* 32 */
	cr_expect_not_null(check("abcdefghijklmnopqrstuvwxyz0123456", PID, "")); /* 33 */
}

Test(audit_args, pid_is_dash_or_32_lowercase_hex)
{
	cr_expect_not_null(check("trace", "", ""));
	cr_expect_not_null(check("trace", "*", ""));
	cr_expect_not_null(check("trace", "18446744073709551615-18446744073709551615", ""));
	cr_expect_not_null(check("trace", "00112233445566778899AABBCCDDEEFF", ""));
	cr_expect_not_null(check("trace", PID "0", ""));
	cr_expect_not_null(check("trace", "0011223344556677", ""));
}

Test(audit_args, detail_is_bounded_printable_ascii)
{
	char big[AUDIT_DETAIL_MAX + 2];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_expect_not_null(check("trace", PID, big));
	big[AUDIT_DETAIL_MAX] = '\0';
	cr_expect_null(check("trace", PID, big));
	cr_expect_not_null(check("trace", PID, "a\nb"));
	cr_expect_not_null(check("trace", PID, "\x7f"));
	cr_expect_not_null(check("trace", PID, "caf\xc3\xa9"));
	cr_expect_not_null(audit_args_check("trace", 5, PID, 32, "a\0b", 3));
}
