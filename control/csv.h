/*
 * The line reader under chotctl's CSV imports (`sites import`, `zone
 * import`): one data line at a time, the header checked (a UTF-8 BOM
 * allowed), blank lines skipped, "\n" or "\r\n", and every refusal worded
 * "line N: ...".  The fields are the caller's.  Pure; no Redis.
 */
#ifndef CHOT_CTL_CSV_H
#define CHOT_CTL_CSV_H

#include <stddef.h>
#include <stdio.h>

struct ctl_csv {
	FILE *f;
	const char *header;     /* the exact first line, e.g. "commune,level" */
	size_t line_max;        /* longest line accepted, bytes */
	size_t lineno;          /* of the line last returned */
};

/*
 * The next data line into line (cap > line_max + 2 bytes): 0, 1 at the end
 * of the file, or -EINVAL with err set (too long, a NUL byte, a read error,
 * a wrong header, an empty file).
 */
int ctl_csv_next(struct ctl_csv *c, char *line, size_t cap, char *err, size_t errlen);

#endif /* CHOT_CTL_CSV_H */
