/*
 * The trace engine's data source over Redis (trace.h): timelines from the
 * s:{pid}:<day> keys and presence from the p:{site}:<hour> keys of
 * proto/layout.h, each question answered with pipelined ZRANGEs.  Only the
 * indexes chotd writes are read; the keyspace is never scanned.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "layout.h"

#define PIPE_CHUNK 2048

/* ZRANGE key 0 -1 for n keys; decode each reply with fn. */
static int
zrange_many(struct ctl_app *app, char (*keys)[LAYOUT_KEY_MAX], size_t n,
	    int (*fn)(void *ctx, size_t i, const struct ctl_reply *rep), void *ctx)
{
	for (size_t base = 0; base < n; base += PIPE_CHUNK) {
		size_t m = n - base < PIPE_CHUNK ? n - base : PIPE_CHUNK;
		static int argc[PIPE_CHUNK];
		static const char *argvs[PIPE_CHUNK][4];
		static size_t argls[PIPE_CHUNK][4];
		static const char *const *argv[PIPE_CHUNK];
		static const size_t *argl[PIPE_CHUNK];
		static struct ctl_reply rep[PIPE_CHUNK];
		int rc;

		for (size_t i = 0; i < m; i++) {
			argc[i] = 4;
			argvs[i][0] = "ZRANGE"; argls[i][0] = 6;
			argvs[i][1] = keys[base + i]; argls[i][1] = strlen(keys[base + i]);
			argvs[i][2] = "0"; argls[i][2] = 1;
			argvs[i][3] = "-1"; argls[i][3] = 2;
			argv[i] = argvs[i];
			argl[i] = argls[i];
		}
		rc = ctl_redis_pipe(app->redis, m, argc, argv, argl, rep, app->err, sizeof(app->err));
		if (rc != 0)
			return rc;
		for (size_t i = 0; i < m && rc == 0; i++) {
			if (rep[i].is_error) {
				snprintf(app->err, sizeof(app->err), "Redis: %s", rep[i].err);
				rc = -EACCES;
			} else {
				rc = fn(ctx, base + i, &rep[i]);
			}
		}
		for (size_t i = 0; i < m; i++)
			ctl_reply_free(&rep[i]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

struct tl_ctx {
	const uint8_t (*pids)[PID_LEN];
	uint32_t week0, nweeks;
	struct tr_scanvec *out;
};

static int
tl_decode(void *ctx, size_t i, const struct ctl_reply *rep)
{
	struct tl_ctx *c = ctx;
	size_t subject = i / c->nweeks;
	uint32_t week = c->week0 + (uint32_t)(i % c->nweeks);

	for (size_t k = 0; k < rep->n; k++) {
		struct tr_scan s;

		memcpy(s.pid, c->pids[subject], PID_LEN);
		if (layout_subject_member_decode((const uint8_t *)rep->v[k].p, rep->v[k].len, week,
						 &s.site_id, &s.ts_ms, &s.dir) != 0)
			continue;   /* not ours: ignore rather than guess */
		if (tr_scanvec_push(c->out, &s) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int
src_timelines(void *ctx, const uint8_t (*pids)[PID_LEN], size_t n, uint64_t from, uint64_t to,
	      struct tr_scanvec *out)
{
	struct ctl_app *app = ctx;
	struct tl_ctx c = { .pids = pids, .week0 = layout_week(from),
			    .nweeks = layout_week(to) - layout_week(from) + 1, .out = out };
	char (*keys)[LAYOUT_KEY_MAX] = malloc(n * c.nweeks * LAYOUT_KEY_MAX + 1);
	int rc;

	if (keys == NULL)
		return -ENOMEM;
	for (size_t s = 0; s < n; s++)
		for (uint32_t d = 0; d < c.nweeks; d++)
			layout_subject_key(keys[s * c.nweeks + d], pids[s], c.week0 + d);
	rc = zrange_many(app, keys, n * c.nweeks, tl_decode, &c);
	free(keys);
	return rc;
}

struct sh_ctx {
	const struct tr_bucket *b;
	struct tr_scanvec *out;
};

static int
sh_decode(void *ctx, size_t i, const struct ctl_reply *rep)
{
	struct sh_ctx *c = ctx;

	for (size_t k = 0; k < rep->n; k++) {
		struct tr_scan s = { .site_id = c->b[i].site_id };

		if (layout_site_member_decode((const uint8_t *)rep->v[k].p, rep->v[k].len,
					      c->b[i].hour, s.pid, &s.ts_ms, &s.dir) != 0)
			continue;
		if (tr_scanvec_push(c->out, &s) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int
src_site_hours(void *ctx, const struct tr_bucket *b, size_t n, struct tr_scanvec *out)
{
	struct ctl_app *app = ctx;
	struct sh_ctx c = { .b = b, .out = out };
	char (*keys)[LAYOUT_KEY_MAX] = malloc(n * LAYOUT_KEY_MAX + 1);
	int rc;

	if (keys == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		layout_site_key(keys[i], b[i].site_id, b[i].hour);
	rc = zrange_many(app, keys, n, sh_decode, &c);
	free(keys);
	return rc;
}

static enum site_kind
src_kind(uint32_t site_id, void *ctx)
{
	const struct ctl_site *s = ctl_site_find(ctx, site_id);

	return s != NULL ? s->kind : KIND_UNKNOWN;
}

/* Read chot:sites once (kinds set the lone-scan dwell; names the table). */
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
	for (size_t i = 0; i + 1 < rep.n; i += 2) {
		struct ctl_site *s = &app->sites[app->n_sites];
		char kind[32] = "";
		int name_at = 0;

		s->id = (uint32_t)strtoul(rep.v[i].p, NULL, 10);
		if (sscanf(rep.v[i + 1].p, "%31[^,],%u,%n", kind, &s->commune, &name_at) < 2)
			continue;
		s->kind = rules_kind_from_name(kind);
		snprintf(s->name, sizeof(s->name), "%s", rep.v[i + 1].p + name_at);
		app->n_sites++;
	}
	ctl_sites_sort(app->sites, app->n_sites);
	ctl_reply_free(&rep);
	return 0;
}

void
ctl_source_redis(struct ctl_app *app, struct tr_source *src)
{
	src->timelines = src_timelines;
	src->site_hours = src_site_hours;
	src->kind = src_kind;
	src->ctx = app;
}
