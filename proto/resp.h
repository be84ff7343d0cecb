/*
 * The one RESP command encoder (DESIGN §4): "*N\r\n$len\r\narg\r\n..." for
 * an argv/argl pair, used by chotd's coalescer, chotctl and the tools.
 *
 * Two levels:
 *  - resp_put_*(): write into memory the caller reserved, sized with
 *    resp_command_size() / RESP_BULK_MAX(); no checks, no allocation (the
 *    coalescer's hot path);
 *  - struct resp_buf: a growable buffer; resp_append_argv() reserves and
 *    writes one whole command.
 *
 * Pure: no I/O, no hiredis.
 */
#ifndef CHOT_RESP_H
#define CHOT_RESP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes a bulk string of len bytes takes at most: '$', 20 digits, 2 CRLF. */
#define RESP_BULK_MAX(len) ((size_t)(len) + 25)

/* Write v in decimal at p; returns the end.  (Inline: the coalescer's hot path.) */
static inline char *
resp_put_u64(char *p, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

/* Write "<type><n>\r\n" ('*' for an array head, '$' for a bulk length). */
static inline char *
resp_put_head(char *p, char type, uint64_t n)
{
	*p++ = type;
	p = resp_put_u64(p, n);
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Write one bulk string "$len\r\n<bytes>\r\n". */
static inline char *
resp_put_bulk(char *p, const void *s, size_t len)
{
	p = resp_put_head(p, '$', len);
	if (len != 0)
		memcpy(p, s, len);
	p += len;
	*p++ = '\r';
	*p++ = '\n';
	return p;
}

/* Write a bulk string holding v in decimal. */
static inline char *
resp_put_bulk_u64(char *p, uint64_t v)
{
	char tmp[20];

	return resp_put_bulk(p, tmp, (size_t)(resp_put_u64(tmp, v) - tmp));
}

/* Exact bytes of the command argv/argl (argl NULL: strlen of each). */
size_t resp_command_size(int argc, const char *const *argv, const size_t *argl);

/* Write the command at p (resp_command_size() bytes reserved); returns the end. */
char *resp_put_command(char *p, int argc, const char *const *argv, const size_t *argl);

struct resp_buf {
	char *data;
	size_t len, cap;
};

/* Make room for bytes more. 0 or -ENOMEM. */
int resp_buf_reserve(struct resp_buf *b, size_t bytes);

/* Append one command (argl NULL: strlen of each). 0, -EINVAL (argc < 1) or -ENOMEM. */
int resp_append_argv(struct resp_buf *b, int argc, const char *const *argv, const size_t *argl);

/* Drop the first n bytes (sent); the rest moves to the front. */
void resp_buf_consume(struct resp_buf *b, size_t n);

void resp_buf_reset(struct resp_buf *b);
void resp_buf_free(struct resp_buf *b);

#endif /* CHOT_RESP_H */
