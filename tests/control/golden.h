/*
 * Golden-file comparison for the Criterion tests of chotctl's outputs:
 * golden(name, got) compares got byte for byte with GOLDEN_DIR/name, or,
 * with CHOT_GOLDEN_UPDATE=1 in the environment, (re)writes the file so an
 * intended change can be reviewed as a diff of tests/control/golden/.
 */
#ifndef CHOT_TEST_GOLDEN_H
#define CHOT_TEST_GOLDEN_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef GOLDEN_DIR
#error "GOLDEN_DIR must be defined by the build"
#endif

static inline char *
golden_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = n >= 0 ? calloc(1, (size_t)n + 1) : NULL;
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static inline void
golden_check(const char *name, const char *got)
{
	char path[512];
	char *want;

	snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
	if (getenv("CHOT_GOLDEN_UPDATE") != NULL) {
		FILE *f = fopen(path, "wb");

		cr_assert_not_null(f, "cannot write %s", path);
		fputs(got, f);
		fclose(f);
		return;
	}
	want = golden_slurp(path);
	cr_assert_not_null(want, "golden file %s missing (CHOT_GOLDEN_UPDATE=1 writes it)", path);
	cr_expect_str_eq(got, want, "output differs from %s:\n--- got ---\n%s\n--- expected ---\n%s",
			 path, got, want);
	free(want);
}

#endif /* CHOT_TEST_GOLDEN_H */
