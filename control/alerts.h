/*
 * chotctl alerts, pure part (alerts.c, tested by control-lists): one entry
 * of the chot:{alerts} stream (DESIGN §9; fields in proto/lists.h) decoded
 * and checked, the filters, the (pid, site, ts_ms) duplicate set, and the
 * three output forms.  The JSON Lines form is the §9 shape exactly:
 *
 *   {"alert_id": "<stream id>", "ts_ms": 0, "site": 17, "pid": "<hex>",
 *    "id": "<raw, only with --keys>", "scheme": "cccd", "reasons": ["watch_f0"],
 *    "device": 5001, "origin_commune": 16005}
 *
 * (one object per line).
 */
#ifndef CHOT_CTL_ALERTS_H
#define CHOT_CTL_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "pseudonym.h"
#include "wire.h"

#define CTL_ALERT_ID_MAX 48   /* "<ms>-<seq>": at most 41 bytes */

struct ctl_alert {
	char id[CTL_ALERT_ID_MAX];
	uint64_t ts_ms;
	uint32_t site, device, origin_commune;
	uint8_t pid[PID_LEN];
	uint8_t scheme;           /* enum scan_scheme */
	uint16_t mask;            /* reasons, bit i = chk_reasons[i] (lists.h) */
};

/*
 * Decode a stream entry: its id and nf field/value strings (f[0] name,
 * f[1] value, ...).  Every §9 field must be there, once, well formed
 * (decimal numbers in range, the pid 32 hex digits, scheme a name such as
 * "cccd" or its number, reasons known names, comma-separated, at least
 * one); other fields are ignored.  0, or -EINVAL with why.
 */
int ctl_alert_decode(struct ctl_alert *a, const char *id, size_t idlen, const char *const *f,
		     const size_t *fl, size_t nf, char *why, size_t whylen);

struct ctl_alert_filter {
	uint64_t since_ms;        /* ts_ms >= since_ms */
	uint16_t reasons;         /* any of these; 0 = any */
	bool has_site;
	uint32_t site;
};
bool ctl_alert_match(const struct ctl_alert *a, const struct ctl_alert_filter *flt);

/*
 * The (pid, site, ts_ms) keys already shown.  Bounded: it remembers at
 * least the last `keep` keys (two generations of `keep` each), enough for
 * the repeats a fault makes, which sit close together in the stream.
 */
struct ctl_seen;
struct ctl_seen *ctl_seen_new(size_t keep);
/* true when a's key is new (and now remembered); false for a repeat. */
bool ctl_seen_add(struct ctl_seen *s, const struct ctl_alert *a);
/* true when a's key is remembered; changes nothing. */
bool ctl_seen_has(const struct ctl_seen *s, const struct ctl_alert *a);
void ctl_seen_free(struct ctl_seen *s);

/* The table header (table only; nothing for JSON Lines; CSV's header row). */
void ctl_alert_header(struct ctl_app *app, bool with_id);
/* One alert; id is the revealed identity or NULL. */
void ctl_alert_print(struct ctl_app *app, const struct ctl_alert *a, const char *id);

#endif /* CHOT_CTL_ALERTS_H */
