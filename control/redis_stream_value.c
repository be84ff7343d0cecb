/*
 * A key's value into the records the stream's callbacks get (redis_stream.c):
 * refused whole when it is not whole records or its vault unit is malformed,
 * week keys' vault units taken out, then sorted and freed of exact
 * duplicates unless already in order, or handed over as stored for
 * ctl_redis_values_stream.  In its turn it goes to the callbacks at once;
 * early, it is held in its shard's queue, already prepared.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "redis_stream_int.h"

void
zs_hand_over(struct zstream *z, size_t k, const uint8_t *recs, size_t n)
{
	if (z->values_fn != NULL) {
		if (z->rc == 0 && n > 0)
			z->rc = z->values_fn(z->ctx, k, recs, n);
		return;
	}
	for (size_t i = 0; i < n && z->rc == 0; i++)
		z->rc = z->record_fn(z->ctx, k, recs + i * z->rec_len, z->rec_len);
}

/*
 * Key k's value is not a whole number of records: the reply becomes an
 * error naming the key (reported in its turn), counted once.
 */
static void
refuse_corrupt(struct zshard *s, size_t k, size_t len)
{
	struct zstream *z = s->z;
	char key[ZS_KEY_MAX], kt[LAYOUT_KEY_TEXT_MAX];
	int tl = (int)layout_key_text(kt, key, z->key_fn(z->ctx, k, key, sizeof(key)));  /* binary */

	z->r->corrupt_values++;
	s->is_err = s->corrupt = true;
	if (len % z->rec_len != 0)
		snprintf(s->errtxt, sizeof(s->errtxt), "key %.*s holds %zu bytes, not a whole "
			 "number of %zu-byte records: corrupt, not read", tl, kt, len, z->rec_len);
	else
		snprintf(s->errtxt, sizeof(s->errtxt), "key %.*s holds %zu bytes with a malformed "
			 "vault unit (proto/layout.h): corrupt, not read", tl, kt, len);
}

/*
 * Key k's value, as it arrived: in its turn, straight to record_fn (sorted
 * in the scratch buffer first if need be); else into the queue, sorted
 * there.  A fatal error (out of memory) ends the stream.
 */
void
zs_take_value(struct zshard *s, size_t k, const char *v, size_t len)
{
	struct zstream *z = s->z;
	size_t n = len / z->rec_len;
	bool units;
	uint8_t *q;
	long kept, ev;

	if (len % z->rec_len != 0) {
		refuse_corrupt(s, k, len);
		return;
	}
	/* A week key may hold its subject's vault unit: taken out, never handed over. */
	units = z->rec_len == LAYOUT_SUBJECT_RECORD_LEN &&
		!layout_subject_plain((const uint8_t *)v, len);
	if (!units && (z->values_fn != NULL ||
		       layout_records_ascending((const uint8_t *)v, n, z->rec_len))) {
		if (s->direct)
			zs_hand_over(z, k, (const uint8_t *)v, n);
		else if (zs_q_put(s, v, len) != 0)
			zs_fatal(z, -ENOMEM);
		return;
	}
	if (s->direct) {
		if (z->rc != 0)
			return;     /* nobody is listening: skip the sort */
		if (len > z->tmpcap) {
			size_t cap = z->tmpcap != 0 ? z->tmpcap : 65536;
			uint8_t *nt;

			while (cap < len)
				cap *= 2;
			nt = realloc(z->tmp, cap);
			if (nt == NULL) {
				zs_fatal(z, -ENOMEM);
				return;
			}
			z->tmp = nt;
			z->tmpcap = cap;
		}
		memcpy(z->tmp, v, len);
		ev = units ? layout_subject_split(z->tmp, len, NULL, NULL) : (long)len;
		if (ev < 0) {
			refuse_corrupt(s, k, len);
			return;
		}
		kept = layout_records_unique(z->tmp, (size_t)ev, z->rec_len, &z->r->dup_records);
		zs_hand_over(z, k, z->tmp, (size_t)kept);
		return;
	}
	if (zs_q_put(s, v, len) != 0) {
		zs_fatal(z, -ENOMEM);
		return;
	}
	q = (uint8_t *)s->q + s->qlen - len;
	ev = units ? layout_subject_split(q, len, NULL, NULL) : (long)len;
	if (ev < 0) {   /* on_end queues the error in place of the value */
		refuse_corrupt(s, k, len);
		return;
	}
	kept = layout_records_unique(q, (size_t)ev, z->rec_len, &z->r->dup_records);
	s->qlen -= len - (size_t)kept * z->rec_len;
}
