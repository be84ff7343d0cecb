/*
 * dataplane/thp.c: 2 MiB-aligned zeroed anonymous memory; on a kernel whose
 * transparent_hugepage/enabled is [madvise] or [always] the pages are huge.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "thp.h"

static bool
thp_allowed(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[madvise]") != NULL || strstr(buf, "[always]") != NULL;
}

Test(thp, aligned_zeroed_and_huge_when_allowed)
{
	size_t len = (5u << 20) + 123;
	uint8_t *p = dp_thp_alloc(len);
	size_t i, huge;

	cr_assert_not_null(p);
	cr_expect_eq((uintptr_t)p & ((2u << 20) - 1), 0, "2 MiB aligned");
	for (i = 0; i < len; i += 4093)
		cr_assert_eq(p[i], 0, "zeroed at %zu", i);
	memset(p, 0xa5, len);
	huge = dp_thp_huge_bytes(p, len);
	if (thp_allowed())
		cr_expect_geq(huge, 2u << 20, "THP allowed, but only %zu bytes on huge pages", huge);
	dp_thp_free(p, len);
	cr_expect_null(dp_thp_alloc(0));
}
