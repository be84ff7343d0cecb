/*
 * The trace's contacts as a WHO Go.Data contact import (DESIGN §10).
 *
 * Go.Data (GoDataSource-API) imports contacts from an uploaded file through
 * POST /outbreaks/{id}/importable-files and then
 * .../contacts/import-importable-file-using-map: every CSV row becomes a
 * `contact` (person fields) plus the `relationship` to one source person,
 * `relationship.persons[0].id`, which the API resolves by record id or by
 * the person's visual ID (Case ID / Contact ID).  The web importer requires
 * firstName, dateOfReporting, relationship.persons[].id,
 * relationship.contactDate and relationship.certaintyLevelId, and maps a
 * column on its own when the header is the field's path — so each header
 * here is a Go.Data field path and every required one is filled.  Coded
 * fields carry Go.Data's reference-data ids (category + "_" + the value in
 * SNAKE_CASE, as ReferenceData.getTranslatableIdentifierForValue builds
 * them from the default reference data).
 *
 * People are named by pid: visualId is the contact's pid, and the source of
 * an F1 is the F0's pid, of an F2 its `via` F1's pid.  So the F0's case in
 * Go.Data carries the F0's pid as its Case ID, F1 rows are written before F2
 * rows (the importer runs rows in order, so an F2's source exists by then),
 * and a re-import of the same trace is refused row by row as duplicate
 * visual IDs instead of doubling people.  A raw identity appears only where
 * --keys revealed it (firstName and documents[]); otherwise firstName is the
 * pid, since Go.Data needs a name.
 *
 * Pure: prints to app->o; tested against tests/control/golden/trace_godata.csv.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "godata.h"
#include "sites.h"

#define REF "LNG_REFERENCE_DATA_CATEGORY_"

static const char godata_header[] =
	"visualId,firstName,dateOfReporting,riskLevel,riskReason,"
	"documents[].type,documents[].number,"
	"relationship.persons[].id,relationship.contactDate,relationship.contactDateEstimated,"
	"relationship.dateOfFirstContact,relationship.certaintyLevelId,"
	"relationship.exposureTypeId,relationship.exposureDurationId,relationship.comment\r\n";

const char *
godata_certainty(uint64_t overlap_ms)
{
	if (overlap_ms >= GODATA_HIGH_OVERLAP_MS)
		return REF "CERTAINTY_LEVEL_3_HIGH";
	if (overlap_ms > 0)
		return REF "CERTAINTY_LEVEL_2_MEDIUM";
	return REF "CERTAINTY_LEVEL_1_LOW";   /* met only through the --window margin */
}

const char *
godata_exposure_duration(uint64_t overlap_ms)
{
	if (overlap_ms < 60ULL * 1000)
		return REF "EXPOSURE_DURATION_VERY_SHORT_SECONDS";
	if (overlap_ms < 3600ULL * 1000)
		return REF "EXPOSURE_DURATION_SHORT_MINUTES";
	if (overlap_ms < 86400ULL * 1000)
		return REF "EXPOSURE_DURATION_MEDIUM_HOURS";
	return REF "EXPOSURE_DURATION_LONG_DAYS";
}

/* ISO 8601 in UTC with milliseconds, what Go.Data's date parsing takes as is. */
static void
iso(FILE *f, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(f, "%s.%03uZ", buf, (unsigned)(ms % 1000));
}

/* A revealed id: present and opened ("?" is a vault entry that did not open). */
static const char *
revealed(const struct ctl_trace_view *v, size_t i)
{
	if (v->ids == NULL || v->ids[i][0] == '\0' || strcmp(v->ids[i], "?") == 0)
		return NULL;
	return v->ids[i];
}

/* A CCCD is exactly 12 digits (DESIGN §2); anything else is typed Other. */
static const char *
document_type(const char *id)
{
	size_t n = strspn(id, "0123456789");

	return n == 12 && id[n] == '\0' ? REF "DOCUMENT_TYPE_NATIONAL_ID_CARD" :
					  REF "DOCUMENT_TYPE_OTHER";
}

static void
row(struct ctl_app *app, const struct ctl_trace_view *v, size_t i)
{
	FILE *f = app->o;
	const struct tr_contact *c = &v->r->contacts[i];
	const struct ctl_site *s = ctl_site_find(app, c->site_id);
	const char *id = revealed(v, i);
	char hex[PID_HEX_LEN + 1], src[PID_HEX_LEN + 1], site[160], comment[256];

	chot_pid_hex(hex, c->pid);
	chot_pid_hex(src, c->degree == 2 ? c->via : v->pid);
	fprintf(f, "%s,", hex);
	ctl_csv_str(f, id != NULL ? id : hex);
	fputc(',', f);
	iso(f, v->to_ms);
	fprintf(f, ",%s,F%d (chot trace),", c->degree == 1 ? REF "RISK_LEVEL_3_HIGH" :
		REF "RISK_LEVEL_2_MEDIUM", c->degree);
	if (id != NULL) {
		fprintf(f, "%s,", document_type(id));
		ctl_csv_str(f, id);
	} else {
		fputc(',', f);
	}
	fprintf(f, ",%s,", src);
	/* Date of last contact: the end of its largest contact (contact_ms is
	 * that contact's start, never before first_ms). */
	iso(f, (c->contact_ms > c->first_ms ? c->contact_ms : c->first_ms) + c->overlap_ms);
	fputs(",false,", f);
	iso(f, c->first_ms);
	fprintf(f, ",%s,%s,%s,", godata_certainty(c->overlap_ms),
		REF "EXPOSURE_TYPE_OTHER_PLEASE_SPECIFY_IN_COMMENT_FIELD",
		godata_exposure_duration(c->overlap_ms));
	if (s != NULL && s->name[0] != '\0')
		snprintf(site, sizeof(site), "site %u (%s)", c->site_id, s->name);
	else
		snprintf(site, sizeof(site), "site %u", c->site_id);
	snprintf(comment, sizeof(comment), "chot F%d at %s: overlap %llu min with the %s",
		 c->degree, site, (unsigned long long)(c->overlap_ms / 60000),
		 c->degree == 2 ? "F1" : "F0");
	ctl_csv_str(f, comment);
	fputs("\r\n", f);
}

void
ctl_trace_godata(struct ctl_app *app, const struct ctl_trace_view *v)
{
	size_t n = v->r->n_contacts < v->limit ? v->r->n_contacts : v->limit;

	fputs(godata_header, app->o);
	for (int degree = 1; degree <= 2; degree++)
		for (size_t i = 0; i < n; i++)
			if (v->r->contacts[i].degree == degree)
				row(app, v, i);
}
