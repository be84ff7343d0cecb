/*
 * The one RESP command encoder (resp.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

static size_t
digits(uint64_t v)
{
	size_t n = 1;

	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

static size_t
arg_len(const char *const *argv, const size_t *argl, int i)
{
	return argl != NULL ? argl[i] : strlen(argv[i]);
}

size_t
resp_command_size(int argc, const char *const *argv, const size_t *argl)
{
	size_t n = 3 + digits((uint64_t)argc);

	for (int i = 0; i < argc; i++) {
		size_t l = arg_len(argv, argl, i);

		n += 5 + digits(l) + l;
	}
	return n;
}

char *
resp_put_command(char *p, int argc, const char *const *argv, const size_t *argl)
{
	p = resp_put_head(p, '*', (uint64_t)argc);
	for (int i = 0; i < argc; i++)
		p = resp_put_bulk(p, argv[i], arg_len(argv, argl, i));
	return p;
}

int
resp_buf_reserve(struct resp_buf *b, size_t bytes)
{
	size_t ncap;
	char *nd;

	if (b->len + bytes <= b->cap)
		return 0;
	ncap = b->cap != 0 ? b->cap : 256;
	while (ncap < b->len + bytes)
		ncap *= 2;
	nd = realloc(b->data, ncap);
	if (nd == NULL)
		return -ENOMEM;
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int
resp_append_argv(struct resp_buf *b, int argc, const char *const *argv, const size_t *argl)
{
	size_t need;
	char *end;

	if (argc < 1)
		return -EINVAL;
	need = resp_command_size(argc, argv, argl);
	if (resp_buf_reserve(b, need) != 0)
		return -ENOMEM;
	end = resp_put_command(b->data + b->len, argc, argv, argl);
	b->len = (size_t)(end - b->data);
	return 0;
}

void
resp_buf_consume(struct resp_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void
resp_buf_reset(struct resp_buf *b)
{
	b->len = 0;
}

void
resp_buf_free(struct resp_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
