/*
 * Hand-written scenarios: a tiny province spelled out line by line, so tests
 * can compare the truth with an answer worked out by hand.
 *
 *   site ID KIND                         # KIND: checkpoint venue market testing other
 *   scan DEV SCHEME SUBJECT SITE MIN DIR # MIN: minutes after --start (decimals ok)
 *   f0 SCHEME SUBJECT                    # trace this subject in the truth
 *
 * DEV is a small device number (1, 2, ...); SCHEME as chotctl spells it;
 * DIR is IN, OUT or PASS.  Every scan must be valid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "validate.h"

static int
find_subject(struct fl_province *p, uint8_t scheme, const char *raw)
{
	char norm[WIRE_SUBJECT_MAX_NUL];

	if (wire_subject_normalise(scheme, raw, strlen(raw), norm) < 0)
		return -1;
	for (uint32_t i = 0; i < p->n_subj; i++)
		if (p->subj[i].scheme == scheme && strcmp(p->subj[i].norm, norm) == 0)
			return (int)i;
	return (int)fl_subject_add(p, scheme, raw, 0);
}

static int
device_index(struct fl_province *p, unsigned dev, uint32_t site_idx)
{
	for (uint32_t d = 0; d < p->n_devs; d++)
		if (p->devs[d].device_id == 0x00010000u + dev)
			return (int)d;
	p->devs = realloc(p->devs, (p->n_devs + 1) * sizeof(*p->devs));
	memset(&p->devs[p->n_devs], 0, sizeof(p->devs[0]));
	p->devs[p->n_devs].device_id = 0x00010000u + dev;
	p->devs[p->n_devs].epoch = 1;
	p->devs[p->n_devs].site_idx = site_idx;
	return (int)p->n_devs++;
}

static int
dir_from(const char *s)
{
	if (strcmp(s, "IN") == 0)
		return DIR_IN;
	if (strcmp(s, "OUT") == 0)
		return DIR_OUT;
	if (strcmp(s, "PASS") == 0)
		return DIR_PASS;
	return -1;
}

int
fl_scenario_load(struct fl_province *p, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned lineno = 0;

	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char a[64], b[64], c[64], d[64], e[64], g[64], h[64];
		char *hash = strchr(line, '#');
		int n;

		lineno++;
		if (hash != NULL)
			*hash = '\0';
		n = sscanf(line, "%63s %63s %63s %63s %63s %63s %63s", a, b, c, d, e, g, h);
		if (n <= 0)
			continue;
		if (strcmp(a, "site") == 0 && n == 3) {
			enum site_kind k = rules_kind_from_name(c);

			if (k == KIND_UNKNOWN)
				goto bad;
			p->sites = realloc(p->sites, (p->n_sites + 1) * sizeof(*p->sites));
			memset(&p->sites[p->n_sites], 0, sizeof(p->sites[0]));
			p->sites[p->n_sites].id = (uint32_t)strtoul(b, NULL, 10);
			p->sites[p->n_sites].kind = k;
			snprintf(p->sites[p->n_sites].name, sizeof(p->sites[0].name), "Site %s", b);
			p->n_sites++;
		} else if (strcmp(a, "scan") == 0 && n == 7) {
			/* scan DEV SCHEME SUBJECT SITE MIN DIR */
			int scheme = wire_scheme_from_name(c), dir = dir_from(h), subj;
			uint32_t site = (uint32_t)strtoul(e, NULL, 10);
			const struct fl_site *st = fl_site_by_id(p, site);
			struct fl_scan s = { .vehicle = -1, .decl = 1 };
			double min = strtod(g, NULL);

			if (scheme < 0 || dir < 0 || st == NULL || min < 0)
				goto bad;
			subj = find_subject(p, (uint8_t)scheme, d);
			if (subj < 0)
				goto bad;
			s.subject = (uint32_t)subj;
			s.site_id = site;
			s.dir = (uint8_t)dir;
			s.ts_ms = p->start_ms + (uint64_t)(min * 60000.0 + 0.5);
			s.dev = (uint32_t)device_index(p, (unsigned)strtoul(b, NULL, 10),
						       (uint32_t)(st - p->sites));
			fl_scan_push(p, &s);
		} else if (strcmp(a, "f0") == 0 && n == 3) {
			int scheme = wire_scheme_from_name(b), subj;

			if (scheme < 0)
				goto bad;
			subj = find_subject(p, (uint8_t)scheme, c);
			if (subj < 0)
				goto bad;
			p->subj[subj].is_f0 = true;
		} else {
			goto bad;
		}
	}
	fclose(f);
	p->n_citizens = p->n_subj;
	return 0;
bad:
	snprintf(err, errlen, "%s: line %u: cannot parse", path, lineno);
	fclose(f);
	return -EINVAL;
}
