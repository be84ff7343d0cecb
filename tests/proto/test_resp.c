/*
 * The one RESP encoder (proto/resp.h): exact bytes for known commands, sizes
 * that match what is written, binary-safe arguments, buffer growth and
 * consumption, and a round trip through hiredis's reader.
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <hiredis/hiredis.h>

#include "proto/resp.h"

Test(resp, exact_bytes)
{
	struct resp_buf b = { 0 };
	const char *argv[] = { "SET", "key", "" };

	cr_assert_eq(resp_append_argv(&b, 3, argv, NULL), 0);
	cr_assert_eq(b.len, strlen("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n"));
	cr_assert(memcmp(b.data, "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n", b.len) == 0);
	cr_assert_eq(resp_command_size(3, argv, NULL), b.len);
	resp_buf_free(&b);
	cr_assert_null(b.data);
	cr_assert_eq(resp_append_argv(&b, 0, argv, NULL), -EINVAL);
}

Test(resp, binary_args_and_lengths)
{
	struct resp_buf b = { 0 };
	const char bin[4] = { 'a', '\0', '\r', '\n' };
	const char *argv[] = { "ZADD", "k", "0", bin };
	size_t argl[] = { 4, 1, 1, 4 };
	const char want[] = "*4\r\n$4\r\nZADD\r\n$1\r\nk\r\n$1\r\n0\r\n$4\r\na\0\r\n\r\n";

	cr_assert_eq(resp_append_argv(&b, 4, argv, argl), 0);
	cr_assert_eq(b.len, sizeof(want) - 1);
	cr_assert(memcmp(b.data, want, b.len) == 0);
	resp_buf_free(&b);
}

Test(resp, put_primitives)
{
	char buf[128], *p;

	p = resp_put_head(buf, '*', 12);
	cr_assert_eq(p - buf, 5);
	cr_assert(memcmp(buf, "*12\r\n", 5) == 0);
	p = resp_put_bulk_u64(buf, 18446744073709551615ULL);
	cr_assert_eq((size_t)(p - buf), strlen("$20\r\n18446744073709551615\r\n"));
	cr_assert(memcmp(buf, "$20\r\n18446744073709551615\r\n", (size_t)(p - buf)) == 0);
	p = resp_put_bulk_u64(buf, 0);
	cr_assert(memcmp(buf, "$1\r\n0\r\n", 7) == 0 && p - buf == 7);
	cr_assert(RESP_BULK_MAX(0) >= 7);
}

/* Many commands of every size, appended then read back by hiredis. */
Test(resp, round_trip_through_hiredis)
{
	struct resp_buf b = { 0 };
	char arg[3000];
	redisReader *rd = redisReaderCreate();

	for (size_t i = 0; i < sizeof(arg); i++)
		arg[i] = (char)(i * 7);
	for (int n = 1; n <= 200; n++) {
		const char *argv[3] = { "ECHO", arg, arg };
		size_t argl[3] = { 4, (size_t)n * 13 % sizeof(arg), (size_t)n };
		size_t before = b.len;

		cr_assert_eq(resp_append_argv(&b, 3, argv, argl), 0);
		cr_assert_eq(b.len - before, resp_command_size(3, argv, argl));
	}
	cr_assert_eq(redisReaderFeed(rd, b.data, b.len), REDIS_OK);
	for (int n = 1; n <= 200; n++) {
		redisReply *r = NULL;

		cr_assert_eq(redisReaderGetReply(rd, (void **)&r), REDIS_OK);
		cr_assert_not_null(r, "command %d missing", n);
		cr_assert_eq(r->type, REDIS_REPLY_ARRAY);
		cr_assert_eq(r->elements, 3);
		cr_assert_str_eq(r->element[0]->str, "ECHO");
		cr_assert_eq(r->element[1]->len, (size_t)n * 13 % sizeof(arg));
		cr_assert(memcmp(r->element[1]->str, arg, r->element[1]->len) == 0);
		cr_assert_eq(r->element[2]->len, (size_t)n);
		freeReplyObject(r);
	}
	redisReaderFree(rd);
	/* consume: the tail moves to the front */
	resp_buf_reset(&b);
	const char *one[] = { "PING" };
	cr_assert_eq(resp_append_argv(&b, 1, one, NULL), 0);
	cr_assert_eq(resp_append_argv(&b, 1, one, NULL), 0);
	resp_buf_consume(&b, 14);
	cr_assert_eq(b.len, 14);
	cr_assert(memcmp(b.data, "*1\r\n$4\r\nPING\r\n", 14) == 0);
	resp_buf_consume(&b, 100);
	cr_assert_eq(b.len, 0);
	resp_buf_free(&b);
}
