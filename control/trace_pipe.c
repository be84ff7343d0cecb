/*
 * A last probing pass on two threads (trace_int.h tr_probe_piped).  A
 * depth-2 trace at 1 M citizens reads ~100k presence buckets (~6 M scans)
 * and probes them, and on one thread the two take turns: while chotctl
 * decodes replies it is not probing, and while it probes Redis waits with a
 * full socket.  Here the calling thread reads (the source, as in the
 * one-thread pass) and a prober thread probes, a batch at a time:
 *
 *   reader  site_blocks() into `fill`; at a site boundary with at least
 *           batch_scans scans in it, fill becomes a batch on the queue
 *           (whole sites only, ascending) and reading goes on into a batch
 *           the prober has finished with
 *   prober  for each queued batch, every probe site up to the batch's last
 *           site, with that site's scans from the earlier passes' chunks
 *           (unchanged while this pass runs) and from the batch
 *
 * Nothing else is shared: the prober alone writes the subject table and
 * t->dup_scans, the reader alone the fetch list and the source's state, and
 * the calling thread reads neither until it has joined the prober.  The
 * result is the one-thread pass's: the same sites are probed with the same
 * scans, in the same order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "trace_int.h"

#define TR_PIPE_BATCH 65536   /* scans a batch, by default: ~2.5 MB */

struct batch {
	struct tr_scanvec v;      /* the scans of whole sites, ascending */
	uint32_t last_site;       /* every site up to it has been read */
	struct batch *next;
};

struct pipe {
	struct tracer *t;
	const struct tr_probe *p; /* sorted by site, then start */
	size_t np, next;          /* the prober's: p[next..np) not probed yet */
	int degree;
	size_t batch_scans;
	struct tr_scratch *x;     /* the prober's */
	struct tr_scanvec fill;   /* the reader's: being read into */
	pthread_mutex_t mu;
	pthread_cond_t cv;        /* a batch queued, or the end */
	struct batch *head, *tail;   /* queued for the prober */
	struct batch *spare;      /* probed: their memory is read into again */
	bool end;                 /* no batch will follow */
	bool stop;                /* reading failed: probe no more */
	int rc;                   /* the prober's error: reading stops */
};

/* Every probe site up to b->last_site, on the prober. 0 or -ENOMEM. */
static int
probe_batch(struct pipe *u, const struct batch *b)
{
	while (u->next < u->np && u->p[u->next].iv.site_id <= b->last_site) {
		uint32_t site = u->p[u->next].iv.site_id;
		struct tr_site_scans ss;
		size_t j = u->next;
		int rc;

		while (j < u->np && u->p[j].iv.site_id == site)
			j++;
		tr_presence_site(u->t, site, &ss);
		tr_site_scans_add(&ss, &b->v, site);
		rc = tr_probe_site(u->t, u->x, &ss, u->p + u->next, j - u->next, u->degree);
		if (rc != 0)
			return rc;
		u->next = j;
	}
	return 0;
}

static void *
prober(void *arg)
{
	struct pipe *u = arg;

	pthread_mutex_lock(&u->mu);
	for (;;) {
		struct batch *b;
		bool skip;
		int rc = 0;

		while (u->head == NULL && !u->end)
			pthread_cond_wait(&u->cv, &u->mu);
		if (u->head == NULL)
			break;
		b = u->head;
		u->head = b->next;
		if (u->head == NULL)
			u->tail = NULL;
		skip = u->stop || u->rc != 0;
		pthread_mutex_unlock(&u->mu);
		if (!skip)
			rc = probe_batch(u, b);
		pthread_mutex_lock(&u->mu);
		if (rc != 0 && u->rc == 0)
			u->rc = rc;
		b->v.n = 0;
		b->next = u->spare;
		u->spare = b;
	}
	pthread_mutex_unlock(&u->mu);
	return NULL;
}

/* fill (whole sites up to `last_site`) onto the queue; reading goes on into
 * a spare batch's memory.  0, the prober's error, or -ENOMEM. */
static int
hand_over(struct pipe *u, uint32_t last_site)
{
	struct batch *b;
	struct tr_scanvec empty = { 0 };
	int rc;

	pthread_mutex_lock(&u->mu);
	b = u->spare;
	if (b != NULL) {
		u->spare = b->next;
		empty = b->v;   /* n == 0: its memory, already faulted in */
	}
	pthread_mutex_unlock(&u->mu);
	if (b == NULL && (b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	b->v = u->fill;
	b->last_site = last_site;
	b->next = NULL;
	u->fill = empty;
	pthread_mutex_lock(&u->mu);
	if (u->tail != NULL)
		u->tail->next = b;
	else
		u->head = b;
	u->tail = b;
	rc = u->rc;
	pthread_cond_signal(&u->cv);
	pthread_mutex_unlock(&u->mu);
	return rc;
}

/* tr_site_ready_fn, on the reader: a batch once it is big enough. */
static int
pipe_ready(void *arg, uint32_t site)
{
	struct pipe *u = arg;

	if (u->fill.n < u->batch_scans)
		return 0;
	return hand_over(u, site);
}

static void
batches_free(struct batch *b)
{
	while (b != NULL) {
		struct batch *n = b->next;

		tr_scanvec_free(&b->v);
		free(b);
		b = n;
	}
}

int
tr_probe_piped(struct tracer *t, const struct tr_probe *p, size_t np, int degree)
{
	struct pipe u = { .t = t, .p = p, .np = np, .degree = degree,
			  .batch_scans = t->q->batch_scans ? t->q->batch_scans : TR_PIPE_BATCH };
	pthread_t th;
	int rc, rc_end;

	if ((u.x = tr_scratch_new()) == NULL)
		return -ENOMEM;
	if (pthread_mutex_init(&u.mu, NULL) != 0) {
		tr_scratch_free(u.x);
		return 1;
	}
	if (pthread_cond_init(&u.cv, NULL) != 0) {
		pthread_mutex_destroy(&u.mu);
		tr_scratch_free(u.x);
		return 1;
	}
	if (pthread_create(&th, NULL, prober, &u) != 0) {
		pthread_cond_destroy(&u.cv);
		pthread_mutex_destroy(&u.mu);
		tr_scratch_free(u.x);
		return 1;   /* nothing done: the caller probes on one thread */
	}
	rc = tr_fetch_presence(t, p, np, true, &u.fill, pipe_ready, &u);
	/* The rest, and the sites with nothing new to read (last_site: all). */
	rc_end = rc == 0 ? hand_over(&u, UINT32_MAX) : 0;
	pthread_mutex_lock(&u.mu);
	u.end = true;
	if (rc != 0 || rc_end != 0)
		u.stop = true;
	pthread_cond_signal(&u.cv);
	pthread_mutex_unlock(&u.mu);
	pthread_join(th, NULL);
	if (rc == 0)
		rc = rc_end != 0 ? rc_end : u.rc;
	batches_free(u.head);
	batches_free(u.spare);
	tr_scanvec_free(&u.fill);
	pthread_cond_destroy(&u.cv);
	pthread_mutex_destroy(&u.mu);
	tr_scratch_free(u.x);
	return rc;
}
