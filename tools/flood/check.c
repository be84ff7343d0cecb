/*
 * The §9 checkpoint rules for the truth (see check.h).
 */
#include "check.h"
#include "validate.h"

bool
fl_check_person(uint8_t scheme)
{
	return scheme == SCHEME_CCCD || scheme == SCHEME_PCCOVID || scheme == SCHEME_VNEID ||
	       scheme == SCHEME_PASSPORT;
}

static uint16_t
bit(enum chk_index i)
{
	return (uint16_t)(1u << i);
}

static bool
on_route(const struct greenlane_entry *g, uint32_t site)
{
	for (uint32_t i = 0; i < g->nroute; i++)
		if (g->route[i] == site)
			return true;
	return false;
}

uint16_t
fl_check(const struct fl_check_in *in)
{
	uint16_t m = 0;

	/* The watchlist: any scheme, while ts <= until (set_ms is informational). */
	if (in->watch != NULL && in->ts_ms <= in->watch->until_ms) {
		switch (in->watch->status) {
		case WATCH_F0: m |= bit(CHK_WATCH_F0); break;
		case WATCH_QUARANTINE: m |= bit(CHK_WATCH_QUARANTINE); break;
		case WATCH_F1: m |= bit(CHK_WATCH_F1); break;
		case WATCH_F2: m |= bit(CHK_WATCH_F2); break;
		case WATCH_NONE: break;
		}
	}
	/* Zones: people at a checkpoint, by the commune they come from. */
	if (fl_check_person(in->scheme) && in->at_checkpoint) {
		if (in->zone == ZONE_RED)
			m |= bit(CHK_ZONE_RED);
		else if (in->zone == ZONE_ORANGE)
			m |= bit(CHK_ZONE_ORANGE);
	}
	/* The declaration shown at the scan, any scheme. */
	if (in->decl == FL_DECL_SYMPTOMS)
		m |= bit(CHK_DECL_SYMPTOMS);
	else if (in->decl == FL_DECL_EXPOSED)
		m |= bit(CHK_DECL_EXPOSED);
	/* The green lane: GREEN_LANE scans only. */
	if (in->scheme == SCHEME_GREEN_LANE) {
		if (in->gl == NULL) {
			m |= bit(CHK_GREENLANE_UNKNOWN);
		} else {
			if (in->at_checkpoint && !on_route(in->gl, in->site_id))
				m |= bit(CHK_OFF_ROUTE);
			if (in->ts_ms < in->gl->from_ms || in->ts_ms > in->gl->to_ms)
				m |= bit(CHK_GREENLANE_EXPIRED);
			if (in->passengers > in->gl->passengers)
				m |= bit(CHK_PASSENGERS_OVER);
		}
	}
	return m;
}
