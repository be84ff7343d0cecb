/*
 * chotctl's output buffer (control/outbuf.c) against printf and format.c's
 * FILE escapes: numbers at their edges, the pid in hex, JSON and CSV strings
 * for every byte; each also written at every offset around the 64 KiB
 * flush (the value straddles it), a string longer than the buffer, nothing
 * reaching the FILE before a flush, and a write error left on the FILE.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "outbuf.h"

/* An outbuf onto a memstream; take() flushes both and returns the bytes. */
struct sink {
	struct ctl_outbuf b;
	FILE *f;
	char *mem;
	size_t len;
};

static struct sink *
sink_open(void)
{
	struct sink *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->f = open_memstream(&s->mem, &s->len);
	cr_assert_not_null(s->f, "open_memstream failed");
	ctl_outbuf_init(&s->b, s->f);
	return s;
}

/* Flush, close, and hand back the bytes (malloc'd, NUL-terminated, length in *len). */
static char *
sink_take(struct sink *s, size_t *len)
{
	char *mem;

	ctl_outbuf_flush(&s->b);
	cr_assert_eq(fclose(s->f), 0);
	mem = s->mem;
	*len = s->len;
	free(s);
	return mem;
}

/* What a FILE function (ctl_json_str, fprintf...) writes, as a string. */
#define FILE_BYTES(out, outlen, ...)                                          \
	do {                                                                  \
		FILE *f_ = open_memstream(&(out), &(outlen));                 \
		cr_assert_not_null(f_, "open_memstream failed");              \
		__VA_ARGS__;                                                  \
		cr_assert_eq(fclose(f_), 0);                                  \
	} while (0)

static void
expect_bytes(const char *got, size_t got_len, const char *want, size_t want_len, const char *what)
{
	size_t i = 0;

	while (i < got_len && i < want_len && got[i] == want[i])
		i++;
	cr_expect(got_len == want_len && i == want_len,
		  "%s: %zu bytes, expected %zu; first difference at byte %zu "
		  "(got 0x%02x, expected 0x%02x)", what, got_len, want_len, i,
		  i < got_len ? (unsigned char)got[i] : 0, i < want_len ? (unsigned char)want[i] : 0);
}

static const uint64_t u64_cases[] = {
	0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 99999999, 100000000,
	UINT32_MAX - 1ULL, UINT32_MAX, UINT32_MAX + 1ULL, 1627812000000ULL,
	9999999999999999999ULL, 10000000000000000000ULL, UINT64_MAX - 1, UINT64_MAX,
};

/* Around every power of ten: each digit count, and the count's edges. */
Test(outbuf, u64_every_length_as_printf)
{
	uint64_t p = 1;

	for (int k = 0; k < 20; k++, p *= 10) {
		const uint64_t v[3] = { p - 1, p, p + 1 };

		for (int i = 0; i < 3; i++) {
			struct sink *s = sink_open();
			char want[32], *got;
			size_t len;

			ctl_outbuf_u64(&s->b, v[i]);
			got = sink_take(s, &len);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)v[i]);
			expect_bytes(got, len, want, strlen(want), want);
			free(got);
		}
	}
}

Test(outbuf, u64_as_printf)
{
	for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		struct sink *s = sink_open();
		char want[32], *got;
		size_t len;

		ctl_outbuf_u64(&s->b, u64_cases[i]);
		got = sink_take(s, &len);
		snprintf(want, sizeof(want), "%llu", (unsigned long long)u64_cases[i]);
		expect_bytes(got, len, want, strlen(want), want);
		free(got);
	}
}

Test(outbuf, u32_as_printf)
{
	static const uint32_t cases[] = { 0, 9, 10, 99, 100, 4242, UINT32_MAX };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink *s = sink_open();
		char want[32], *got;
		size_t len;

		ctl_outbuf_u32(&s->b, cases[i]);
		got = sink_take(s, &len);
		snprintf(want, sizeof(want), "%u", cases[i]);
		expect_bytes(got, len, want, strlen(want), want);
		free(got);
	}
}

Test(outbuf, int_as_printf)
{
	static const int cases[] = { 0, 1, 2, 9, 10, -1, -9, -10, INT_MAX, INT_MIN, INT_MIN + 1 };

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sink *s = sink_open();
		char want[32], *got;
		size_t len;

		ctl_outbuf_int(&s->b, cases[i]);
		got = sink_take(s, &len);
		snprintf(want, sizeof(want), "%d", cases[i]);
		expect_bytes(got, len, want, strlen(want), want);
		free(got);
	}
}

/* Every byte value, at every position of a pid. */
Test(outbuf, pid_hex_as_chot_pid_hex)
{
	for (int j = 0; j < 256; j++) {
		uint8_t pid[PID_LEN];
		char want[PID_HEX_LEN + 1], *got;
		struct sink *s = sink_open();
		size_t len;

		for (int i = 0; i < PID_LEN; i++)
			pid[i] = (uint8_t)(j + i * 17);
		ctl_outbuf_pid_hex(&s->b, pid);
		got = sink_take(s, &len);
		chot_pid_hex(want, pid);
		expect_bytes(got, len, want, PID_HEX_LEN, want);
		free(got);
	}
}

/* Every byte alone, and between plain letters, as ctl_json_str / ctl_csv_str. */
Test(outbuf, strings_every_byte_as_format_c)
{
	for (int c = 1; c < 256; c++) {
		char in[3][8];

		snprintf(in[0], sizeof(in[0]), "%c", c);
		snprintf(in[1], sizeof(in[1]), "a%cb", c);
		snprintf(in[2], sizeof(in[2]), "%c%cz%c", c, c, c);
		for (int k = 0; k < 3; k++) {
			struct sink *sj = sink_open(), *sc = sink_open();
			char *gj, *gc, *wj = NULL, *wc = NULL, what[64];
			size_t lj, lc, wlj = 0, wlc = 0;

			ctl_outbuf_json_str(&sj->b, in[k]);
			ctl_outbuf_csv_str(&sc->b, in[k]);
			gj = sink_take(sj, &lj);
			gc = sink_take(sc, &lc);
			FILE_BYTES(wj, wlj, ctl_json_str(f_, in[k]));
			FILE_BYTES(wc, wlc, ctl_csv_str(f_, in[k]));
			snprintf(what, sizeof(what), "JSON of byte 0x%02x, case %d", c, k);
			expect_bytes(gj, lj, wj, wlj, what);
			snprintf(what, sizeof(what), "CSV of byte 0x%02x, case %d", c, k);
			expect_bytes(gc, lc, wc, wlc, what);
			free(gj);
			free(gc);
			free(wj);
			free(wc);
		}
	}
}

Test(outbuf, empty_strings)
{
	struct sink *s = sink_open();
	char *got;
	size_t len;

	ctl_outbuf_json_str(&s->b, "");
	ctl_outbuf_csv_str(&s->b, "");
	ctl_outbuf_str(&s->b, "");
	got = sink_take(s, &len);
	expect_bytes(got, len, "\"\"", 2, "empty JSON string, then nothing for CSV and str");
	free(got);
}

/* A string longer than the buffer, dense with escapes, as format.c writes it. */
static char *
long_nasty_string(size_t n)
{
	static const char alphabet[] = "0123456789\"\\,\r\n\x01\x1f ABCxyz\xc3\xa1";
	char *s = malloc(n + 1);

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		s[i] = alphabet[(i * 7 + i / 13) % (sizeof(alphabet) - 1)];
	s[n] = '\0';
	return s;
}

Test(outbuf, long_escaped_strings_across_flushes)
{
	char *in = long_nasty_string(3 * CTL_OUTBUF_SIZE + 123);
	struct sink *sj = sink_open(), *sc = sink_open();
	char *gj, *gc, *wj = NULL, *wc = NULL;
	size_t lj, lc, wlj = 0, wlc = 0;

	ctl_outbuf_lit(&sj->b, "x");    /* off the buffer's alignment */
	ctl_outbuf_json_str(&sj->b, in);
	ctl_outbuf_csv_str(&sc->b, in);
	gj = sink_take(sj, &lj);
	gc = sink_take(sc, &lc);
	FILE_BYTES(wj, wlj, fputc('x', f_); ctl_json_str(f_, in));
	FILE_BYTES(wc, wlc, ctl_csv_str(f_, in));
	cr_assert_gt(wlj, 4 * CTL_OUTBUF_SIZE, "the test string should escape to several buffers");
	expect_bytes(gj, lj, wj, wlj, "long JSON string");
	expect_bytes(gc, lc, wc, wlc, "long CSV string");
	free(gj);
	free(gc);
	free(wj);
	free(wc);
	free(in);
}

/*
 * Each value after `pad` bytes of padding, for every pad from 40 before the
 * buffer's end to just past it, and again around twice its size: each value
 * starts before the flush and ends after it at some pad.
 */
Test(outbuf, values_straddling_a_flush)
{
	static const size_t around[] = { CTL_OUTBUF_SIZE, 2 * CTL_OUTBUF_SIZE };
	char *pad = malloc(2 * CTL_OUTBUF_SIZE + 64);
	uint8_t pid[PID_LEN];
	const char *id = "AB\"C\\D\x01" "E,F";

	cr_assert_not_null(pad);
	memset(pad, '.', 2 * CTL_OUTBUF_SIZE + 64);
	for (int i = 0; i < PID_LEN; i++)
		pid[i] = (uint8_t)(0xf0 - i * 15);
	for (size_t a = 0; a < 2; a++) {
		for (size_t n = around[a] - 40; n <= around[a] + 2; n++) {
			struct sink *s = sink_open();
			char *got, *want = NULL, what[64];
			size_t len, wlen = 0;

			ctl_outbuf_mem(&s->b, pad, n);
			ctl_outbuf_u64(&s->b, UINT64_MAX);
			ctl_outbuf_lit(&s->b, "|");
			ctl_outbuf_u32(&s->b, UINT32_MAX);
			ctl_outbuf_lit(&s->b, "|");
			ctl_outbuf_pid_hex(&s->b, pid);
			ctl_outbuf_json_str(&s->b, id);
			ctl_outbuf_csv_str(&s->b, id);
			ctl_outbuf_int(&s->b, INT_MIN);
			got = sink_take(s, &len);
			FILE_BYTES(want, wlen, {
				char hex[PID_HEX_LEN + 1];

				chot_pid_hex(hex, pid);
				fwrite(pad, 1, n, f_);
				fprintf(f_, "%llu|%u|%s", (unsigned long long)UINT64_MAX, UINT32_MAX, hex);
				ctl_json_str(f_, id);
				ctl_csv_str(f_, id);
				fprintf(f_, "%d", INT_MIN);
			});
			snprintf(what, sizeof(what), "values after %zu bytes", n);
			expect_bytes(got, len, want, wlen, what);
			free(got);
			free(want);
		}
	}
	free(pad);
}

/* A buffer: nothing reaches the FILE until it is full or flushed, then whole buffers. */
Test(outbuf, writes_whole_buffers)
{
	struct sink *s = sink_open();
	char *got;
	size_t len;

	for (int i = 0; i < 1000; i++)
		ctl_outbuf_u64(&s->b, 1234567);
	cr_assert_eq(fflush(s->f), 0);
	cr_expect_eq(s->len, 0, "7000 bytes appended: none should be written yet, %zu were", s->len);
	for (int i = 0; i < 10000; i++)
		ctl_outbuf_u64(&s->b, 1234567);
	cr_assert_eq(fflush(s->f), 0);
	cr_expect_eq(s->len, CTL_OUTBUF_SIZE, "77000 bytes appended: one buffer (%d) should be "
		     "written, %zu were", CTL_OUTBUF_SIZE, s->len);
	got = sink_take(s, &len);
	cr_expect_eq(len, 77000, "after the last flush all 77000 bytes, got %zu", len);
	free(got);
}

/* A full disk: the error is on the FILE, where fprintf left it (ferror). */
Test(outbuf, write_error_left_on_the_file)
{
	FILE *f = fopen("/dev/full", "w");
	struct ctl_outbuf *b = malloc(sizeof(*b));

	if (f == NULL)
		cr_skip_test("no /dev/full");
	cr_assert_not_null(b);
	ctl_outbuf_init(b, f);
	for (int i = 0; i < 100; i++)
		ctl_outbuf_u64(b, UINT64_MAX);
	ctl_outbuf_flush(b);
	fflush(f);
	cr_expect(ferror(f), "writing to /dev/full must leave ferror set on the FILE");
	fclose(f);
	free(b);
}
