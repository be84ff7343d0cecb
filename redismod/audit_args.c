/*
 * CHOT.AUDIT argument checks (see audit_args.h).
 */
#include <stdbool.h>

#include "audit_args.h"
#include "pseudonym.h"

static bool
is_word(const char *s, size_t n)
{
	if (n == 0 || n > AUDIT_CMD_MAX || s[0] < 'a' || s[0] > 'z')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return false;
	return true;
}

static bool
is_pid(const char *s, size_t n)
{
	if (n == 1 && s[0] == '-')
		return true;
	if (n != PID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool
is_detail(const char *s, size_t n)
{
	if (n > AUDIT_DETAIL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

const char *
audit_args_check(const char *cmd, size_t cmd_len, const char *pid, size_t pid_len,
		 const char *detail, size_t detail_len)
{
	if (!is_word(cmd, cmd_len))
		return "ERR chot.audit: the command must be 1-32 of [a-z0-9_-], starting a-z";
	if (!is_pid(pid, pid_len))
		return "ERR chot.audit: the pid must be '-' or 32 lowercase hex digits";
	if (!is_detail(detail, detail_len))
		return "ERR chot.audit: the detail must be at most 512 bytes of printable ASCII";
	return NULL;
}
