/*
 * A write buffer for chotctl's bulk output (format.c's JSON and CSV trace:
 * ~700,000 contacts for a depth-2 trace at 1M citizens).  One fprintf per
 * field cost 0.36-0.58 s per such trace (vfprintf's parsing and per-call
 * locking); here the bytes are built in a 64 KiB buffer without printf and
 * handed to the FILE with one fwrite each time it fills (0.15-0.22 s).
 *
 * The FILE stays the sink, so whatever it does on a write error (EPIPE,
 * a full disk) is unchanged: fwrite fails, ferror is set, as fprintf did.
 * Anything written to the FILE directly must come after ctl_outbuf_flush,
 * or it lands before bytes appended earlier.
 *
 * The struct holds its buffer: put one on the stack (64 KiB) per output.
 * Pure; no Redis.
 */
#ifndef CHOT_CTL_OUTBUF_H
#define CHOT_CTL_OUTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CTL_OUTBUF_SIZE (64 * 1024)

struct ctl_outbuf {
	FILE *f;
	size_t len;                     /* bytes in buf not yet written to f */
	char buf[CTL_OUTBUF_SIZE];
};

void ctl_outbuf_init(struct ctl_outbuf *b, FILE *f);
/* Write the buffered bytes to b->f (fwrite; errors are the FILE's, see above). */
void ctl_outbuf_flush(struct ctl_outbuf *b);
/* n bytes of s, flushing as often as it takes (out of line: ctl_outbuf_mem's slow path). */
void ctl_outbuf_mem_slow(struct ctl_outbuf *b, const char *s, size_t n);
void ctl_outbuf_u64(struct ctl_outbuf *b, uint64_t v);    /* as %llu */
void ctl_outbuf_int(struct ctl_outbuf *b, int v);         /* as %d */
void ctl_outbuf_pid_hex(struct ctl_outbuf *b, const uint8_t *pid);  /* as chot_pid_hex */
void ctl_outbuf_json_str(struct ctl_outbuf *b, const char *s);  /* as ctl_json_str */
void ctl_outbuf_csv_str(struct ctl_outbuf *b, const char *s);   /* as ctl_csv_str */

static inline void
ctl_outbuf_mem(struct ctl_outbuf *b, const char *s, size_t n)
{
	if (n <= CTL_OUTBUF_SIZE - b->len) {
		memcpy(b->buf + b->len, s, n);
		b->len += n;
	} else {
		ctl_outbuf_mem_slow(b, s, n);
	}
}

static inline void
ctl_outbuf_str(struct ctl_outbuf *b, const char *s)
{
	ctl_outbuf_mem(b, s, strlen(s));
}

static inline void
ctl_outbuf_u32(struct ctl_outbuf *b, uint32_t v)
{
	ctl_outbuf_u64(b, v);
}

/* A string literal, its length known at compile time. */
#define ctl_outbuf_lit(b, lit) ctl_outbuf_mem((b), "" lit, sizeof(lit) - 1)

#endif /* CHOT_CTL_OUTBUF_H */
