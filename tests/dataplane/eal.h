/*
 * A private in-memory EAL for the dataplane tests that need one (rte_hash,
 * rte_malloc): no hugepages, no PCI, no shared config, one lcore, a file
 * prefix of the test's own; and its teardown, which leaves nothing behind
 * in /var/run/dpdk.  Header-only: each test is its own executable.
 */
#ifndef CHOT_TEST_EAL_H
#define CHOT_TEST_EAL_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <rte_eal.h>

/* tag names the file prefix; mem_mb is EAL's -m. */
static inline void
test_eal_up(const char *tag, const char *mem_mb)
{
	char prefix[64];
	char *argv[] = { "test", "--no-huge", "-m", (char *)mem_mb, "--no-pci", "--no-shconf",
			 "--no-telemetry", "--log-level=error", "-l", "0", prefix, NULL };

	snprintf(prefix, sizeof(prefix), "--file-prefix=%s%d", tag, (int)getpid());
	cr_assert_geq(rte_eal_init(11, argv), 0, "EAL init");
}

static inline void
test_eal_down(void)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	d = opendir(path);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char f[PATH_MAX + 256];

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		unlink(f);
	}
	closedir(d);
	rmdir(path);
}

#endif /* CHOT_TEST_EAL_H */
