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
	      const uint8_t pid[PID_LEN])
{
	const struct greenlane_entry *g = l->greenlane(t, pid);
	uint16_t mask = 0;

	if (g == NULL)
		return 1u << CHK_GREENLANE_UNKNOWN;
	if (l->is_checkpoint(t, ev->site_id)) {
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
	uint16_t mask = 0;

	if (l->watch(t, pid, &w) && w.status >= WATCH_F2 && w.status <= WATCH_F0 &&
	    ev->ts_ms <= w.until_ms)
		mask |= 1u << watch_bit[w.status];
	/* The commune's level first (a flat array), the site's kind only when it matters. */
	if (chk_is_person(ev->scheme) && ev->origin_commune != 0) {
		enum zone_level z = l->zone(t, ev->origin_commune);

		if ((z == ZONE_RED || z == ZONE_ORANGE) && l->is_checkpoint(t, ev->site_id))
			mask |= 1u << (z == ZONE_RED ? CHK_ZONE_RED : CHK_ZONE_ORANGE);
	}
	if (ev->decl == CHOT__V1__DECLARATION__DECL_SYMPTOMS)
		mask |= 1u << CHK_DECL_SYMPTOMS;
	else if (ev->decl == CHOT__V1__DECLARATION__DECL_EXPOSED)
		mask |= 1u << CHK_DECL_EXPOSED;
	if (ev->scheme == SCHEME_GREEN_LANE)
		mask |= chk_greenlane(l, t, ev, pid);
	return mask;
}
