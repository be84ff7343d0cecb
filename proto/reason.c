/*
 * Reject reasons -> names and contract counters.  The tables are generated
 * from the single CHOT_REASONS list in reason.h, so a new reason cannot be
 * added without saying which counter it lands in.
 */
#include <string.h>

#include "reason.h"

static const char *const counter_names[CTR__COUNT] = {
        [CTR_NONE] = NULL,
        [CTR_NOT_OURS] = "not_ours",
        [CTR_BAD_HEADER] = "bad_header",
        [CTR_BAD_TAG] = "bad_tag",
        [CTR_STALE_EPOCH] = "stale_epoch",
        [CTR_REPLAYED] = "replayed",
        [CTR_DECODE_ERRORS] = "decode_errors",
        [CTR_BAD_EVENTS] = "bad_events",
        [CTR_DUP_SCANS] = "dup_scans",
};

static const struct {
	enum chot_counter counter;
	const char *name;
} reasons[CHOT_REASON__COUNT] = {
#define X(id, ctr, nm) [id] = {ctr, nm},
        CHOT_REASONS(X)
#undef X
};

const char *
chot_counter_name(enum chot_counter c)
{
	if ((unsigned)c >= CTR__COUNT)
		return NULL;
	return counter_names[c];
}

const char *
chot_reason_name(enum chot_reason r)
{
	if ((unsigned)r >= CHOT_REASON__COUNT)
		return "?";
	return reasons[r].name;
}

enum chot_counter
chot_reason_counter(enum chot_reason r)
{
	if ((unsigned)r >= CHOT_REASON__COUNT)
		return CTR_NONE;
	return reasons[r].counter;
}

enum chot_counter
chot_counter_from_name(const char *name)
{
	for (unsigned c = CTR_NONE + 1; c < CTR__COUNT; c++)
		if (name != NULL && strcmp(name, counter_names[c]) == 0)
			return (enum chot_counter)c;
	return CTR_NONE;
}
