/*
 * The checkpoint check (checkpoint.h).
 */
#include "checkpoint.h"

static const uint8_t watch_bit[] = {
	[WATCH_F0] = CHK_WATCH_F0, [WATCH_QUARANTINE] = CHK_WATCH_QUARANTINE,
	[WATCH_F1] = CHK_WATCH_F1, [WATCH_F2] = CHK_WATCH_F2,
};

static uint16_t
chk_greenlane(const struct chk_lookup *l, const void *t, const struct scan_event *ev,
	      const uint8_t pid[PID_LEN], bool at_checkpoint)
{
	const struct greenlane_entry *g = l->greenlane(t, pid);
	uint16_t mask = 0;

	if (g == NULL)
		return 1u << CHK_GREENLANE_UNKNOWN;
	if (at_checkpoint) {
		bool on_route = false;

		for (uint32_t i = 0; i < g->nroute && !on_route; i++)
			on_route = g->route[i] == ev->site_id;
		if (!on_route)
			mask |= 1u << CHK_OFF_ROUTE;
	}
	if (ev->ts_ms < g->from_ms || ev->ts_ms > g->to_ms)
		mask |= 1u << CHK_GREENLANE_EXPIRED;
	if (ev->passengers > g->passengers)
		mask |= 1u << CHK_PASSENGERS_OVER;
	return mask;
}

uint16_t
chk_event(const struct chk_lookup *l, const void *t, const struct scan_event *ev,
	  const uint8_t pid[PID_LEN])
{
	struct chk_watch w;
	bool listed = l->watch(t, pid, &w);
	bool person = chk_is_person(ev->scheme), green = ev->scheme == SCHEME_GREEN_LANE;
	bool at_checkpoint = (person || green) && l->is_checkpoint(t, ev->site_id);
	uint16_t mask = 0;

	if (listed && w.status >= WATCH_F2 && w.status <= WATCH_F0 && ev->ts_ms <= w.until_ms)
		mask |= 1u << watch_bit[w.status];
	if (person && at_checkpoint && ev->origin_commune != 0) {
		enum zone_level z = l->zone(t, ev->origin_commune);

		if (z == ZONE_RED)
			mask |= 1u << CHK_ZONE_RED;
		else if (z == ZONE_ORANGE)
			mask |= 1u << CHK_ZONE_ORANGE;
	}
	if (ev->decl == CHOT__V1__DECLARATION__DECL_SYMPTOMS)
		mask |= 1u << CHK_DECL_SYMPTOMS;
	else if (ev->decl == CHOT__V1__DECLARATION__DECL_EXPOSED)
		mask |= 1u << CHK_DECL_EXPOSED;
	if (green)
		mask |= chk_greenlane(l, t, ev, pid, at_checkpoint);
	return mask;
}
