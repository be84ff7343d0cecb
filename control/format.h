/*
 * chotctl's output helpers (format.c, pure): the trace in its three forms,
 * local time, column padding, the --lang vi words, JSON and CSV strings.
 */
#ifndef CHOT_CTL_FORMAT_H
#define CHOT_CTL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "app.h"
#include "trace.h"
#include "wire.h"

/* The trace to print. ids may be NULL. */
struct ctl_trace_view {
	const uint8_t *pid;
	const char *id;                  /* F0's raw id, or NULL */
	uint64_t from_ms, to_ms;
	const struct tr_result *r;
	char (*ids)[WIRE_SUBJECT_MAX_NUL];  /* per contact, or NULL */
	size_t limit;                    /* rows to show */
	double elapsed_ms;
	uint64_t redis_calls;
	uint64_t dup_records;            /* exact duplicates read and dropped (layout.h) */
};
void ctl_format_trace(struct ctl_app *app, const struct ctl_trace_view *v);
void ctl_format_time(char *out, size_t len, uint64_t ms);  /* local time */
void ctl_pad(FILE *f, const char *s, int width);  /* pad by columns, not bytes */
/* ctl_pad for a cell that must not run into the next one: s of width or more
 * columns is cut to width - 2 and marked with "…", and a space ends the cell. */
void ctl_pad_clip(FILE *f, const char *s, int width);
const char *ctl_tr(const struct ctl_app *app, const char *en);  /* --lang vi */
void ctl_json_str(FILE *f, const char *s);
void ctl_csv_str(FILE *f, const char *s);

#endif /* CHOT_CTL_FORMAT_H */
