/*
 * chotctl trace --format godata (godata.c): the contacts as a CSV for WHO
 * Go.Data's contact import (docs/CHOTCTL.md, "Go.Data export", has the
 * column mapping).
 */
#ifndef CHOT_CTL_GODATA_H
#define CHOT_CTL_GODATA_H

#include <stdint.h>

#include "format.h"

/* Certainty and exposure-duration thresholds on a contact's overlap. */
#define GODATA_HIGH_OVERLAP_MS (15ULL * 60 * 1000)   /* WHO close contact: >= 15 min */

/* The CSV of v's first v->limit contacts: the F1 rows, then the F2 rows. */
void ctl_trace_godata(struct ctl_app *app, const struct ctl_trace_view *v);

/* Go.Data reference-data ids chosen for one contact (pure, tested). */
const char *godata_certainty(uint64_t overlap_ms);
const char *godata_exposure_duration(uint64_t overlap_ms);

#endif /* CHOT_CTL_GODATA_H */
