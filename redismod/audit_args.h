/*
 * The arguments of CHOT.AUDIT, checked before anything is written.
 *
 * Pure (no Redis): the module (chot_audit.c) and its unit test share it.
 * An operator may call CHOT.AUDIT directly, so nothing here may let a
 * caller shape the record beyond its three fields: the command name is a
 * short lowercase word, the pid is "-" or 32 lowercase hex digits, and the
 * detail is bounded printable ASCII (no line breaks to fake rows in an
 * export, no 512 MB value to fill the server's memory).
 */
#ifndef CHOT_AUDIT_ARGS_H
#define CHOT_AUDIT_ARGS_H

#include <stddef.h>

#define AUDIT_CMD_MAX    32
#define AUDIT_DETAIL_MAX 512

/* NULL when (cmd, pid, detail) may be recorded, else the Redis error reply
 * to send (a static string starting with "ERR"). */
const char *audit_args_check(const char *cmd, size_t cmd_len, const char *pid, size_t pid_len,
			     const char *detail, size_t detail_len);

#endif
