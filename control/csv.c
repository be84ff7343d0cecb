/*
 * chotctl's CSV line reader (csv.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "csv.h"

/* One line without its ending: 1 at EOF, 0, -E2BIG, -EILSEQ (NUL), -EIO. */
static int
read_line(FILE *f, char *buf, size_t cap, size_t max)
{
	size_t n = 0;
	bool nul = false, big = false;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n + 1 >= cap) {
			big = true;   /* read on to the line's end, so the count stays right */
			continue;
		}
		nul |= c == '\0';
		buf[n++] = (char)c;
	}
	if (ferror(f))
		return -EIO;
	if (c == EOF && n == 0 && !big)
		return 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (big || n > max)
		return -E2BIG;
	return nul ? -EILSEQ : 0;
}

int
ctl_csv_next(struct ctl_csv *c, char *line, size_t cap, char *err, size_t errlen)
{
	int rc;

	while ((rc = read_line(c->f, line, cap, c->line_max)) != 1) {
		c->lineno++;
		if (rc == -E2BIG) {
			snprintf(err, errlen, "line %zu: longer than %zu bytes", c->lineno,
				 c->line_max);
			return -EINVAL;
		}
		if (rc == -EILSEQ) {
			snprintf(err, errlen, "line %zu: holds a NUL byte", c->lineno);
			return -EINVAL;
		}
		if (rc != 0) {
			snprintf(err, errlen, "line %zu: read error: %s", c->lineno, strerror(-rc));
			return -EINVAL;
		}
		if (c->lineno == 1) {
			const char *p = strncmp(line, "\xef\xbb\xbf", 3) == 0 ? line + 3 : line;

			if (strcmp(p, c->header) != 0) {
				snprintf(err, errlen, "line 1: header must be %s", c->header);
				return -EINVAL;
			}
			continue;
		}
		if (line[strspn(line, " \t")] == '\0')
			continue;
		return 0;
	}
	if (c->lineno == 0) {
		snprintf(err, errlen, "line 1: empty file, expected the header %s", c->header);
		return -EINVAL;
	}
	return 1;
}
