/*
 * The trace engine's data source over Redis (trace.h): timelines from the
 * s:{pid}:w<week> keys and presence from the p:{site}:b<block> keys of
 * proto/layout.h, each question answered with pipelined GETs of their
 * record strings.  Only the indexes chotd writes are read; the keyspace is
 * never scanned.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "layout.h"

/*
 * Both questions are one streamed pipeline of GETs
 * (ctl_redis_records_stream): the keys are built on the fly from the
 * request, and every record, in order and free of duplicates, is decoded
 * straight from the reply buffer into the caller's scan vector.
 */
struct tl_ctx {
	const uint8_t (*pids)[PID_LEN];
	uint32_t week0, nweeks;
	struct tr_scanvec *out;
};

static size_t
tl_key(void *ctx, size_t i, char *buf, size_t cap)
{
	struct tl_ctx *c = ctx;

	if (cap < LAYOUT_KEY_MAX)
		return 0;
	return layout_subject_key(buf, c->pids[i / c->nweeks], c->week0 + (uint32_t)(i % c->nweeks));
}

static int
tl_member(void *ctx, size_t i, const uint8_t *m, size_t len)
{
	struct tl_ctx *c = ctx;
	struct tr_scan s;

	if (layout_subject_member_decode(m, len, c->week0 + (uint32_t)(i % c->nweeks), &s.site_id,
					 &s.ts_ms, &s.dir) != 0)
		return 0;   /* not ours: ignore rather than guess */
	memcpy(s.pid, c->pids[i / c->nweeks], PID_LEN);
	return tr_scanvec_push(c->out, &s);
}

static int
src_timelines(void *ctx, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from, uint64_t to,
	      struct tr_scanvec *out)
{
	struct ctl_app *app = ctx;
	struct tl_ctx c = { .pids = pids, .week0 = layout_week(from),
			    .nweeks = layout_week(to) - layout_week(from) + 1, .out = out };

	return ctl_redis_records_stream(app->redis, n * c.nweeks, LAYOUT_SUBJECT_RECORD_LEN, tl_key,
					tl_member, NULL, &c, app->err, sizeof(app->err));
}

struct sh_ctx {
	const struct tr_bucket *b;
	struct tr_scanvec *out;
	tr_bucket_done_fn done;
	void *arg;
};

static size_t
sh_key(void *ctx, size_t i, char *buf, size_t cap)
{
	struct sh_ctx *c = ctx;

	if (cap < LAYOUT_KEY_MAX)
		return 0;
	return layout_site_key(buf, c->b[i].site_id, c->b[i].block);
}

/* A bucket's records, as stored (ctl_redis_values_stream): decoded in one go. */
static int
sh_values(void *ctx, size_t i, const uint8_t *recs, size_t n)
{
	struct sh_ctx *c = ctx;
	struct tr_scanvec *v = c->out;
	uint32_t block = c->b[i].block;

	if (tr_scanvec_reserve(v, n) != 0)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		struct tr_scan *s = &v->v[v->n];

		s->site_id = c->b[i].site_id;
		if (layout_site_member_decode(recs + k * LAYOUT_SITE_RECORD_LEN,
					      LAYOUT_SITE_RECORD_LEN, block, s->pid, &s->ts_ms,
					      &s->dir) == 0)
			v->n++;   /* not ours: ignore rather than guess */
	}
	return 0;
}

static int
sh_done(void *ctx, size_t i)
{
	struct sh_ctx *c = ctx;

	return c->done(c->arg, i);
}

static int
src_site_blocks(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out,
	       tr_bucket_done_fn done, void *arg)
{
	struct ctl_app *app = ctx;
	struct sh_ctx c = { .b = b, .out = out, .done = done, .arg = arg };

	return ctl_redis_values_stream(app->redis, n, LAYOUT_SITE_RECORD_LEN, sh_key, sh_values,
				       done != NULL ? sh_done : NULL, &c, app->err, sizeof(app->err));
}

static enum site_kind
src_kind(uint32_t site_id, void *ctx)
{
	const struct ctl_site *s = ctl_site_find(ctx, site_id);

	return s != NULL ? s->kind : KIND_UNKNOWN;
}

/* One registry value "kind,commune,name" of site `id` into s; false if malformed. */
static bool
site_parse(struct ctl_site *s, uint32_t id, const char *val)
{
	char kind[32] = "";
	int name_at = 0;

	memset(s, 0, sizeof(*s));
	s->id = id;
	if (sscanf(val, "%31[^,],%u,%n", kind, &s->commune, &name_at) < 2)
		return false;
	s->kind = rules_kind_from_name(kind);
	snprintf(s->name, sizeof(s->name), "%s", val + name_at);
	ctl_site_name_clean(s->name);  /* written by hand or an older chotctl */
	return true;
}

/* Read chot:{lists}:sites once (kinds set the lone-scan dwell; names the table). */
int
ctl_sites_load(struct ctl_app *app)
{
	const char *argv[] = { "HGETALL", LAYOUT_SITES_HASH };
	size_t argl[] = { 7, strlen(LAYOUT_SITES_HASH) };
	struct ctl_reply rep;
	int rc = ctl_redis_cmd(app->redis, 2, argv, argl, &rep, app->err, sizeof(app->err));

	if (rc != 0)
		return rc;
	if (rep.is_error) {
		/* No registry access is not fatal: dwell falls back to defaults. */
		ctl_reply_free(&rep);
		return 0;
	}
	app->sites = calloc(rep.n / 2 + 1, sizeof(*app->sites));
	if (app->sites == NULL) {
		ctl_reply_free(&rep);
		return -ENOMEM;
	}
	for (size_t i = 0; i + 1 < rep.n; i += 2)
		if (site_parse(&app->sites[app->n_sites], (uint32_t)strtoul(rep.v[i].p, NULL, 10),
			       rep.v[i + 1].p))
			app->n_sites++;
	ctl_sites_sort(app->sites, app->n_sites);
	ctl_reply_free(&rep);
	return 0;
}

/*
 * tr_source.sites: only the sites a trace meets are read (HMGET of those
 * not in app->sites yet), not the whole registry: at 1 M citizens it holds
 * ~10k sites, and reading and parsing all of them was most of a depth-1
 * trace's time.  A site missing from the registry keeps the default dwell.
 */
static int
src_sites(void *ctx, const uint32_t *ids, size_t n)
{
	struct ctl_app *app = ctx;
	const char **argv = malloc((n + 2) * sizeof(*argv));
	size_t *argl = malloc((n + 2) * sizeof(*argl));
	char (*num)[12] = malloc((n + 1) * sizeof(*num));
	uint32_t *want = malloc((n + 1) * sizeof(*want));
	struct ctl_reply rep = { 0 };
	size_t m = 0;
	int rc = 0;

	if (argv == NULL || argl == NULL || num == NULL || want == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (ctl_site_find(app, ids[i]) != NULL)
			continue;
		want[m] = ids[i];
		argl[m + 2] = (size_t)snprintf(num[m], sizeof(num[m]), "%u", ids[i]);
		argv[m + 2] = num[m];
		m++;
	}
	if (m == 0)
		goto out;
	argv[0] = "HMGET";
	argl[0] = 5;
	argv[1] = LAYOUT_SITES_HASH;
	argl[1] = strlen(LAYOUT_SITES_HASH);
	rc = ctl_redis_cmd(app->redis, (int)m + 2, argv, argl, &rep, app->err, sizeof(app->err));
	if (rc != 0)
		goto out;
	if (!rep.is_error && rep.n > 0) {
		/* No registry access is not fatal: dwell falls back to defaults. */
		struct ctl_site *v = realloc(app->sites, (app->n_sites + rep.n + 1) * sizeof(*v));

		if (v == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		app->sites = v;
		for (size_t k = 0; k < rep.n && k < m; k++)
			if (rep.v[k].len > 0 && site_parse(&v[app->n_sites], want[k], rep.v[k].p))
				app->n_sites++;
		ctl_sites_sort(app->sites, app->n_sites);
	}
out:
	ctl_reply_free(&rep);
	free(argv);
	free(argl);
	free(num);
	free(want);
	return rc;
}

void
ctl_source_redis(struct ctl_app *app, struct tr_source *src)
{
	src->timelines = src_timelines;
	src->site_blocks = src_site_blocks;
	src->kind = src_kind;
	src->sites = src_sites;
	src->ctx = app;
}
