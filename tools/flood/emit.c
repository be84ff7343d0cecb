/*
 * From scans to frames: per-device batching and sealing (wire.h) and
 * hostile traffic; frame.c wraps the datagrams and writes the pcap.
 *
 * A device sends its scans in time order, in batches of 1..64 events whose
 * sealed datagram fits one Ethernet frame, numbered from batch_seq 1 within
 * each boot epoch.  Frames of all devices are merged by send time.  Every
 * hostile frame records the reason chotd must reject it with, so the truth
 * counts each one exactly once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flood.h"
#include "frame.h"
#include "scan.pb-c.h"
#include "validate.h"

#define ROGUE_BASE 0x7f000000u   /* authentic devices that send garbage */

static uint32_t rogue_next = ROGUE_BASE;

static struct fl_frame *
frame_push(struct fl_province *p)
{
	if (p->n_frames == p->cap_frames) {
		uint32_t cap = p->cap_frames ? p->cap_frames * 2 : 1 << 14;
		void *n = realloc(p->frames, (size_t)cap * sizeof(*p->frames));

		if (n == NULL) {
			perror("chot-flood");
			exit(1);
		}
		p->frames = n;
		p->cap_frames = cap;
	}
	memset(&p->frames[p->n_frames], 0, sizeof(p->frames[0]));
	return &p->frames[p->n_frames++];
}

static void
push_frame(struct fl_province *p, uint64_t t, const struct frame_spec *fs, const uint8_t *dg,
	   size_t len, enum chot_reason reason, uint32_t first, uint32_t n)
{
	struct fl_frame *fr = frame_push(p);

	fr->t_ms = t;
	fr->data = fl_build_frame(fs, dg, len, &fr->len);
	fr->reason = reason;
	fr->first_scan = first;
	fr->n_scans = n;
}

static void
fill_event(const struct fl_province *p, const struct fl_scan *s, Chot__V1__ScanEvent *ev)
{
	const struct fl_subject *sub = &p->subj[s->subject];

	chot__v1__scan_event__init(ev);
	ev->ts_ms = s->ts_ms;
	ev->site_id = s->site_id;
	ev->scheme = (Chot__V1__IdScheme)sub->scheme;
	ev->subject = (char *)sub->id;
	ev->dir = (Chot__V1__Direction)s->dir;
	ev->decl = (Chot__V1__Declaration)s->decl;
	ev->origin_commune = sub->commune;
	ev->passengers = s->passengers;
	if (s->vehicle >= 0)
		ev->vehicle = (char *)p->subj[s->vehicle].id;
}

static int
batch_body(const struct fl_province *p, const uint32_t *idx, unsigned n, uint8_t *out, size_t cap)
{
	Chot__V1__ScanEvent evs[WIRE_MAX_EVENTS];
	const Chot__V1__ScanEvent *ptr[WIRE_MAX_EVENTS];

	for (unsigned i = 0; i < n; i++) {
		fill_event(p, &p->scans[idx[i]], &evs[i]);
		ptr[i] = &evs[i];
	}
	return wire_batch_pack(ptr, n, out, cap);
}

static int
seal_flags(const struct fl_province *p, uint8_t *dg, uint8_t flags, uint32_t device_id,
	   uint32_t epoch, uint64_t seq, uint16_t key_id, const uint8_t *master,
	   const uint8_t *body, size_t blen)
{
	struct wire_hdr h = { .flags = flags, .key_id = key_id, .device_id = device_id,
			      .boot_epoch = epoch, .batch_seq = seq };
	uint8_t dk[WIRE_KEY_LEN];

	(void)p;
	wire_device_key(dk, master, device_id);
	return wire_seal(dg, WIRE_MAX_DGRAM, &h, body, blen, dk);
}

static int
seal(const struct fl_province *p, uint8_t *dg, uint32_t device_id, uint32_t epoch, uint64_t seq,
     uint16_t key_id, const uint8_t *master, const uint8_t *body, size_t blen)
{
	return seal_flags(p, dg, WIRE_FLAG_ACK, device_id, epoch, seq, key_id, master, body, blen);
}

/* Does the next legit batch request a verdict?  Drawn apart, only when asked for. */
static bool
wants_verdict(struct fl_province *p)
{
	return p->o.verdict_rate > 0 && fl_rng_chance(&p->vrng, p->o.verdict_rate);
}

static void
frame_header(struct fl_frame *fr, bool verdict, uint32_t device_id, uint32_t epoch, uint64_t seq)
{
	fr->verdict = verdict;
	fr->device_id = device_id;
	fr->epoch = epoch;
	fr->seq = seq;
}

static int
scan_dev_cmp(const void *a, const void *b, void *ctx)
{
	const struct fl_province *p = ctx;
	const struct fl_scan *x = &p->scans[*(const uint32_t *)a], *y = &p->scans[*(const uint32_t *)b];

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void
batch_push_idx(struct fl_province *p, uint32_t v)
{
	if (p->n_batch_scans == p->cap_batch_scans) {
		uint32_t cap = p->cap_batch_scans ? p->cap_batch_scans * 2 : 1 << 16;
		void *n = realloc(p->batch_scans, (size_t)cap * sizeof(uint32_t));

		if (n == NULL) {
			perror("chot-flood");
			exit(1);
		}
		p->batch_scans = n;
		p->cap_batch_scans = cap;
	}
	p->batch_scans[p->n_batch_scans++] = v;
}

/* Legit batches of one device's scans idx[0..n). */
static void
emit_device(struct fl_province *p, struct fl_device *d, const uint32_t *idx, uint32_t n)
{
	uint8_t body[WIRE_MAX_BODY], dg[WIRE_MAX_DGRAM];
	const uint8_t *master = keys_master(&p->keys, 1);
	struct frame_spec fs = { .device_id = d->device_id, .ipv6 = d->ipv6, .vlan = d->vlan,
				 .dst_port = WIRE_UDP_PORT };
	uint32_t i = 0;
	bool rebooted = d->reboot_at_ms == 0;

	while (i < n) {
		unsigned want = (unsigned)fl_rng_range(&p->rng, 1, 16), k = 0;
		int blen = 0, len;
		uint64_t t;
		uint32_t first = p->n_batch_scans;
		bool verdict;

		if (fl_rng_chance(&p->rng, 0.02))
			want = (unsigned)fl_rng_range(&p->rng, 17, WIRE_MAX_EVENTS);
		if (!rebooted && p->scans[idx[i]].ts_ms >= d->reboot_at_ms) {
			d->epoch++;
			d->seq = 0;
			rebooted = true;
		}
		while (k < want && i + k < n) {
			int b = batch_body(p, idx + i, k + 1, body, sizeof(body));

			if (b < 0)
				break;
			if (!rebooted && p->scans[idx[i + k]].ts_ms >= d->reboot_at_ms)
				break;
			blen = b;
			k++;
		}
		for (unsigned j = 0; j < k; j++)
			batch_push_idx(p, idx[i + j]);
		verdict = wants_verdict(p);
		len = seal_flags(p, dg, WIRE_FLAG_ACK | (verdict ? WIRE_FLAG_VERDICT : 0),
				 d->device_id, d->epoch, ++d->seq, 1, master, body, (size_t)blen);
		t = p->scans[idx[i + k - 1]].ts_ms + fl_rng_range(&p->rng, 50, 3000);
		push_frame(p, t, &fs, dg, (size_t)len, WIRE_OK, first, k);
		frame_header(&p->frames[p->n_frames - 1], verdict, d->device_id, d->epoch, d->seq);
		p->n_batches++;
		i += k;
	}
}

static void
emit_legit(struct fl_province *p)
{
	uint32_t *idx = malloc((size_t)p->n_scans * sizeof(uint32_t) + 1);
	uint32_t i = 0;

	for (uint32_t k = 0; k < p->n_scans; k++)
		idx[k] = k;
	qsort_r(idx, p->n_scans, sizeof(uint32_t), scan_dev_cmp, p);
	while (i < p->n_scans) {
		uint32_t j = i, dev = p->scans[idx[i]].dev;

		while (j < p->n_scans && p->scans[idx[j]].dev == dev)
			j++;
		emit_device(p, &p->devs[dev], idx + i, j - i);
		fl_progress(p, "batches", j, p->n_scans);
		i = j;
	}
	free(idx);
}

struct frame_key {
	uint64_t t;
	uint32_t i;
};

static int
frame_key_cmp(const void *a, const void *b)
{
	const struct frame_key *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* Sort frames by time, ties in their current order. */
static void
stable_sort_frames(struct fl_province *p)
{
	uint32_t n = p->n_frames;
	struct frame_key *k = malloc((size_t)n * sizeof(*k) + 1);
	struct fl_frame *sorted = malloc((size_t)n * sizeof(*sorted) + 1);

	if (k == NULL || sorted == NULL) {
		perror("chot-flood");
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		k[i].t = p->frames[i].t_ms;
		k[i].i = i;
	}
	qsort(k, n, sizeof(*k), frame_key_cmp);
	for (uint32_t i = 0; i < n; i++)
		sorted[i] = p->frames[k[i].i];
	memcpy(p->frames, sorted, (size_t)n * sizeof(*sorted));
	free(sorted);
	free(k);
}

/*
 * Hostile classes, in the order they are dealt out.  Each builds one frame
 * next to legit frame `at` (same device, same time) and says where it lands.
 */
enum hostile {
	H_FRAGMENT, H_UDP_PORT, H_ETHERTYPE, H_SHORT, H_LENGTH, H_MAGIC, H_VERSION, H_FLAGS,
	H_DEV_ZERO, H_SEQ_ZERO, H_FLIP, H_WRONG_KEY, H_UNKNOWN_KEY, H_REPLAY, H_STALE,
	H_GARBAGE, H_EMPTY, H_TOO_MANY, H_BAD_EVENTS, H__COUNT,
};

/* UDP payload of a legit frame (it was built by fl_build_frame). */
static const uint8_t *
frame_payload(const struct fl_frame *f, size_t *len)
{
	size_t off = 12;
	uint16_t et = wire_get_be16(f->data + off);

	if (et == 0x8100) {
		off += 4;
		et = wire_get_be16(f->data + off);
	}
	off += 2;
	off += et == 0x86dd ? 40 : 20;
	*len = f->len - off - 8;
	return f->data + off + 8;
}

static const struct fl_device *
dev_of(const struct fl_province *p, uint32_t device_id)
{
	for (uint32_t d = 0; d < p->n_devs; d++)
		if (p->devs[d].device_id == device_id)
			return &p->devs[d];
	return NULL;
}

/* One authentic-but-bad batch from a fresh rogue device. */
static void
rogue(struct fl_province *p, uint64_t t, const uint8_t *body, size_t blen, enum chot_reason r,
      uint32_t first, uint32_t n, bool verdict)
{
	uint8_t dg[WIRE_MAX_DGRAM];
	struct frame_spec fs = { .device_id = rogue_next++, .dst_port = WIRE_UDP_PORT };
	int len = seal_flags(p, dg, WIRE_FLAG_ACK | (verdict ? WIRE_FLAG_VERDICT : 0),
			     fs.device_id, 1, 1, 1, keys_master(&p->keys, 1), body, blen);

	push_frame(p, t, &fs, dg, (size_t)len, r, first, n);
	frame_header(&p->frames[p->n_frames - 1], verdict, fs.device_id, 1, 1);
}

static void
bad_event_batch(struct fl_province *p, uint64_t t, unsigned which)
{
	static const struct { uint8_t scheme; const char *subj; uint32_t site; uint8_t dir;
			      int64_t dts; enum chot_reason r; } bad[] = {
		{ SCHEME_CCCD, "03812345678", 1, DIR_IN, 0, EV_CCCD },
		{ SCHEME_CCCD, "038123456789", 0, DIR_IN, 0, EV_SITE },
		{ SCHEME_CCCD, "038123456789", 1, 0, 0, EV_DIR },
		{ SCHEME_CCCD, "038123456789", 1, DIR_IN, 365LL * 86400000, EV_TS_FUTURE },
		{ SCHEME_PCCOVID, "PC0123456789012345678901234567890", 1, DIR_IN, 0, EV_SUBJECT_LEN },
		{ SCHEME_PLATE, "36A-12#45", 1, DIR_PASS, 0, EV_PLATE },
		{ 0, "038123456789", 1, DIR_IN, 0, EV_SCHEME },
		{ SCHEME_VNEID, "VN EID", 1, DIR_IN, 0, EV_SUBJECT_CHARS },
		{ SCHEME_CCCD, "038123456789", 1, DIR_IN, -1, EV_TS_OLD },
	};
	unsigned nb = sizeof(bad) / sizeof(bad[0]);
	Chot__V1__ScanEvent evs[2];
	const Chot__V1__ScanEvent *ptr[2];
	uint8_t body[WIRE_MAX_BODY];
	uint32_t first = p->n_batch_scans;
	int blen;

	for (unsigned k = 0; k < 2; k++) {
		unsigned b = (which + k) % nb;
		struct fl_scan s = { .subject = 0, .site_id = bad[b].site, .dir = bad[b].dir,
				     .bad = (uint8_t)bad[b].r, .vehicle = -1 };

		chot__v1__scan_event__init(&evs[k]);
		evs[k].ts_ms = bad[b].dts < 0 ? 1000 : t + (uint64_t)bad[b].dts;
		evs[k].site_id = bad[b].site;
		evs[k].scheme = (Chot__V1__IdScheme)bad[b].scheme;
		evs[k].subject = (char *)bad[b].subj;
		evs[k].dir = (Chot__V1__Direction)bad[b].dir;
		ptr[k] = &evs[k];
		s.ts_ms = evs[k].ts_ms;
		fl_scan_push(p, &s);
		batch_push_idx(p, p->n_scans - 1);
	}
	blen = wire_batch_pack(ptr, 2, body, sizeof(body));
	/* Two invalid events: whenever any batch asks for verdicts, this one does
	 * too, so the truth always holds code 1. */
	rogue(p, t, body, (size_t)blen, WIRE_OK, first, 2, p->o.verdict_rate > 0);
	p->n_batches++;
}

static void
hostile_one(struct fl_province *p, enum hostile h, const struct fl_frame *at_in, unsigned nth)
{
	struct fl_frame at = *at_in;   /* frame_push may move the array */
	size_t plen;
	const uint8_t *pl = frame_payload(&at, &plen);
	uint8_t dg[WIRE_MAX_DGRAM + 64], body[WIRE_MAX_BODY];
	struct wire_hdr hdr;
	const struct fl_device *d;
	struct frame_spec fs = { .dst_port = WIRE_UDP_PORT };
	uint64_t t = at.t_ms;
	int len;

	wire_hdr_parse(pl, plen, &hdr);
	fs.device_id = hdr.device_id;
	d = dev_of(p, hdr.device_id);
	memcpy(dg, pl, plen);
	switch (h) {
	case H_FRAGMENT:
		fs.fragment = true;
		push_frame(p, t, &fs, dg, plen, FRAME_FRAGMENT, 0, 0);
		break;
	case H_UDP_PORT:
		fs.dst_port = WIRE_UDP_PORT + 1;
		push_frame(p, t, &fs, dg, plen, FRAME_UDP_PORT, 0, 0);
		break;
	case H_ETHERTYPE:
		fs.ethertype_override = 0x88cc;
		push_frame(p, t, &fs, dg, plen, FRAME_ETHERTYPE, 0, 0);
		break;
	case H_SHORT:
		push_frame(p, t, &fs, dg, 10 + nth % 16, HDR_SHORT, 0, 0);
		break;
	case H_LENGTH:
		push_frame(p, t, &fs, dg, plen - 1 - nth % 8, HDR_LENGTH, 0, 0);
		break;
	case H_MAGIC:
		dg[3] = '2';
		push_frame(p, t, &fs, dg, plen, HDR_MAGIC, 0, 0);
		break;
	case H_VERSION:
		dg[4] = 2;
		push_frame(p, t, &fs, dg, plen, HDR_VERSION, 0, 0);
		break;
	case H_FLAGS:
		dg[5] |= 0x80;
		push_frame(p, t, &fs, dg, plen, HDR_FLAGS, 0, 0);
		break;
	case H_DEV_ZERO:
		wire_put_be32(dg + 8, 0);
		push_frame(p, t, &fs, dg, plen, HDR_DEVICE_ZERO, 0, 0);
		break;
	case H_SEQ_ZERO:
		wire_put_be64(dg + 16, 0);
		push_frame(p, t, &fs, dg, plen, HDR_SEQ_ZERO, 0, 0);
		break;
	case H_FLIP:
		wire_put_be64(dg + 16, hdr.batch_seq + 100000 + nth);
		dg[WIRE_HDR_LEN + nth % (plen - WIRE_HDR_LEN)] ^= 0x01;
		push_frame(p, t, &fs, dg, plen, AUTH_TAG, 0, 0);
		break;
	case H_WRONG_KEY: {
		uint8_t wrong[32];

		memcpy(wrong, keys_master(&p->keys, 1), 32);
		wrong[0] ^= 0x5a;
		/* A fresh seq far ahead: the window must not move for a forgery. */
		len = seal(p, dg, hdr.device_id, hdr.boot_epoch, hdr.batch_seq + 300000 + nth, 1, wrong,
			   body, 0);
		push_frame(p, t, &fs, dg, (size_t)len, AUTH_TAG, 0, 0);
		break;
	}
	case H_UNKNOWN_KEY:
		wire_put_be64(dg + 16, hdr.batch_seq + 200000 + nth);
		wire_put_be16(dg + 6, 99);
		push_frame(p, t, &fs, dg, plen, AUTH_UNKNOWN_KEY, 0, 0);
		break;
	case H_REPLAY:
		/* Exact copy, right behind the original. */
		push_frame(p, t, &fs, dg, plen, WIN_REPLAY, 0, 0);
		break;
	case H_STALE:
		if (d != NULL && hdr.boot_epoch > 1) {
			/* An older epoch than the one this device is on now. */
			len = seal(p, dg, hdr.device_id, hdr.boot_epoch - 1, 900000 + nth, 1,
				   keys_master(&p->keys, 1), pl + WIRE_HDR_LEN, 0);
			push_frame(p, t, &fs, dg, (size_t)len, WIN_STALE_EPOCH, 0, 0);
		} else {
			dg[5] |= 0x40;
			push_frame(p, t, &fs, dg, plen, HDR_FLAGS, 0, 0);
		}
		break;
	case H_GARBAGE:
		body[0] = 0x0f;   /* field 1, wire type 7: not protobuf */
		memset(body + 1, 0xff, 8);
		rogue(p, t, body, 9, BODY_UNPACK, 0, 0, false);
		break;
	case H_EMPTY:
		rogue(p, t, body, 0, BODY_EMPTY, 0, 0, false);
		break;
	case H_TOO_MANY:
		for (unsigned i = 0; i < WIRE_MAX_EVENTS + 1; i++) {
			body[2 * i] = 0x0a;
			body[2 * i + 1] = 0x00;
		}
		rogue(p, t, body, 2 * (WIRE_MAX_EVENTS + 1), BODY_TOO_MANY, 0, 0, false);
		break;
	case H_BAD_EVENTS:
		bad_event_batch(p, t, nth);
		break;
	case H__COUNT:
		break;
	}
}

int
fl_emit(struct fl_province *p)
{
	uint32_t n_legit, n_hostile;

	emit_legit(p);
	stable_sort_frames(p);
	n_legit = p->n_frames;
	n_hostile = (uint32_t)(p->o.hostile_rate * n_legit + 0.5);
	if (p->o.hostile_rate > 0 && n_hostile < H__COUNT && n_legit > 0)
		n_hostile = H__COUNT;   /* every class at least once */
	for (uint32_t k = 0; k < n_hostile; k++) {
		uint32_t at = (uint32_t)fl_rng_below(&p->rng, n_legit);
		enum hostile h = (enum hostile)(k % H__COUNT);

		if (h == H_STALE) {
			/* Prefer a frame of a device already in its second epoch. */
			for (uint32_t tries = 0; tries < 64; tries++) {
				struct wire_hdr hh;
				size_t pl;
				const uint8_t *b = frame_payload(&p->frames[at], &pl);

				wire_hdr_parse(b, pl, &hh);
				const struct fl_device *dv = dev_of(p, hh.device_id);

				if (dv != NULL && dv->reboot_at_ms != 0 && hh.boot_epoch > 1 &&
				    hh.boot_epoch == dv->epoch)
					break;
				at = (uint32_t)fl_rng_below(&p->rng, n_legit);
			}
		}
		hostile_one(p, h, &p->frames[at], k / H__COUNT);
		/* Keep the hostile frame right behind its anchor. */
		p->frames[p->n_frames - 1].t_ms = p->frames[at].t_ms;
		fl_progress(p, "hostile", k + 1, n_hostile);
	}
	/*
	 * Hostile frames were appended after every legit frame; a stable sort by
	 * time keeps each one behind the legit frame it was made from (a replay
	 * must follow its original).
	 */
	stable_sort_frames(p);
	return 0;
}
