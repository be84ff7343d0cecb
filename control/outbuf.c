/*
 * chotctl's output buffer (outbuf.h): appends without printf, one fwrite
 * per full 64 KiB.  A number or a pid is built in place in the buffer (two
 * digits or one byte's hex per table lookup); at the buffer's end it is
 * built aside and split across the flush, so every fwrite but the last is
 * a whole buffer.  The string escapes copy runs of plain bytes whole: ids
 * are mostly digits.
 */
#include "outbuf.h"
#include "pseudonym.h"

void
ctl_outbuf_init(struct ctl_outbuf *b, FILE *f)
{
	b->f = f;
	b->len = 0;
}

void
ctl_outbuf_flush(struct ctl_outbuf *b)
{
	/* A short write is the FILE's error to keep (ferror), as fprintf's was;
	 * the bytes are dropped either way. */
	if (b->len > 0)
		(void)fwrite(b->buf, 1, b->len, b->f);
	b->len = 0;
}

void
ctl_outbuf_mem_slow(struct ctl_outbuf *b, const char *s, size_t n)
{
	for (;;) {
		size_t k = CTL_OUTBUF_SIZE - b->len;

		if (k > n)
			k = n;
		memcpy(b->buf + b->len, s, k);
		b->len += k;
		s += k;
		n -= k;
		if (n == 0)
			return;
		ctl_outbuf_flush(b);
	}
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

static const uint64_t powers_of_ten[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};

/*
 * Where to build n bytes: in place when the buffer has room (the common
 * case, no copy), else in tmp, which outbuf_put then appends across the
 * flush.
 */
static inline char *
outbuf_at(struct ctl_outbuf *b, size_t n, char *tmp)
{
	return CTL_OUTBUF_SIZE - b->len >= n ? b->buf + b->len : tmp;
}

static inline void
outbuf_put(struct ctl_outbuf *b, const char *at, size_t n, const char *tmp)
{
	if (at == tmp)
		ctl_outbuf_mem_slow(b, tmp, n);
	else
		b->len += n;
}

void
ctl_outbuf_u64(struct ctl_outbuf *b, uint64_t v)
{
	char tmp[20];           /* UINT64_MAX has 20 digits */
	size_t n = 1;
	char *at, *p;

	while (n < 20 && v >= powers_of_ten[n])
		n++;
	at = outbuf_at(b, n, tmp);
	p = at + n;
	while (v >= 100) {
		unsigned d = (unsigned)(v % 100) * 2;

		v /= 100;
		*--p = digit_pairs[d + 1];
		*--p = digit_pairs[d];
	}
	if (v >= 10) {
		*--p = digit_pairs[v * 2 + 1];
		*--p = digit_pairs[v * 2];
	} else {
		*--p = (char)('0' + v);
	}
	outbuf_put(b, at, n, tmp);
}

void
ctl_outbuf_int(struct ctl_outbuf *b, int v)
{
	if (v < 0) {
		ctl_outbuf_lit(b, "-");
		/* -(INT_MIN) overflows int, not uint64_t */
		ctl_outbuf_u64(b, -(uint64_t)v);
	} else {
		ctl_outbuf_u64(b, (uint64_t)v);
	}
}

/* Byte i in hex at hex_pairs[2 * i]: one lookup per byte, not two. */
static const char hex_pairs[513] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

void
ctl_outbuf_pid_hex(struct ctl_outbuf *b, const uint8_t *pid)
{
	char tmp[PID_HEX_LEN];
	char *at = outbuf_at(b, PID_HEX_LEN, tmp);

	for (int i = 0; i < PID_LEN; i++)
		memcpy(at + 2 * i, hex_pairs + 2 * pid[i], 2);
	outbuf_put(b, at, PID_HEX_LEN, tmp);
}

void
ctl_outbuf_json_str(struct ctl_outbuf *b, const char *s)
{
	ctl_outbuf_lit(b, "\"");
	for (;;) {
		const char *run = s;
		unsigned char c;

		while ((c = (unsigned char)*s) != '\0' && c != '"' && c != '\\' && c >= 0x20)
			s++;
		ctl_outbuf_mem(b, run, (size_t)(s - run));
		if (c == '\0')
			break;
		if (c == '"' || c == '\\') {
			char esc[2] = { '\\', (char)c };

			ctl_outbuf_mem(b, esc, sizeof(esc));
		} else {        /* a control byte: \u00XX, as "\\u%04x" */
			char esc[6] = { '\\', 'u', '0', '0', hex_pairs[2 * c], hex_pairs[2 * c + 1] };

			ctl_outbuf_mem(b, esc, sizeof(esc));
		}
		s++;
	}
	ctl_outbuf_lit(b, "\"");
}

void
ctl_outbuf_csv_str(struct ctl_outbuf *b, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		ctl_outbuf_str(b, s);
		return;
	}
	ctl_outbuf_lit(b, "\"");
	for (;;) {
		const char *q = strchr(s, '"');

		if (q == NULL)
			break;
		/* up to and including the quote, then the quote again */
		ctl_outbuf_mem(b, s, (size_t)(q - s) + 1);
		ctl_outbuf_lit(b, "\"");
		s = q + 1;
	}
	ctl_outbuf_str(b, s);
	ctl_outbuf_lit(b, "\"");
}
