/*
 * chotd's telemetry, as chotctl reads it: one command over DPDK's telemetry
 * socket (/var/run/dpdk/PREFIX/dpdk_telemetry.v2, what dpdk-telemetry.py -f
 * PREFIX uses), and the reply parsed into dicts of unsigned counters.
 *
 * chotd answers with {"<cmd>": VALUE} where VALUE is a flat dict of u64
 * (/chot/stats, /chot/reasons), a dict of such dicts (/chot/workers: one per
 * worker), or null (a command this chotd does not have).  The parser takes
 * exactly that much JSON; it is pure and unit-tested without a chotd.
 */
#ifndef CHOT_CTL_TEL_H
#define CHOT_CTL_TEL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_TEL_KEY_MAX 64          /* DPDK's RTE_TEL_MAX_STRING_LEN */
#define CTL_TEL_REPLY_MAX 65536     /* DPDK replies are at most 16 KiB */

struct ctl_tel_kv {
	char key[CTL_TEL_KEY_MAX];
	uint64_t v;
};

struct ctl_tel_dict {
	char name[CTL_TEL_KEY_MAX];  /* the key it sits under ("w0"), "" at top level */
	struct ctl_tel_kv *kv;
	size_t n, cap;
};

/* A parsed reply: a flat dict is d[0] with name ""; a dict of dicts is one
 * d[i] per inner dict, in reply order; null is n == 0. */
struct ctl_tel_reply {
	struct ctl_tel_dict *d;
	size_t n, cap;
	size_t skipped;              /* values that were not unsigned integers */
};

/*
 * Send cmd over the telemetry socket of the chotd started with
 * --file-prefix PREFIX and read the reply into buf (NUL-terminated).  A 5 s
 * receive timeout: a wedged chotd is an error, not a hung chotctl.
 * 0 or -errno (-ENOENT/-ECONNREFUSED: no such chotd).
 */
int ctl_tel_query(const char *prefix, const char *cmd, char *buf, size_t len);

/*
 * Parse {"<cmd>": VALUE} into out (zeroed first).  Values that are not
 * unsigned integers (strings, floats, negatives, lists) are counted in
 * out->skipped, not stored.  0, -EINVAL (not that shape: out is freed),
 * -ENOMEM.
 */
int ctl_tel_parse(const char *json, struct ctl_tel_reply *out);
void ctl_tel_free(struct ctl_tel_reply *r);

/* Value of key in d, or -ENOENT. */
int ctl_tel_get(const struct ctl_tel_dict *d, const char *key, uint64_t *v);

#endif /* CHOT_CTL_TEL_H */
