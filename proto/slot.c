/*
 * Redis Cluster routing (slot.h): the CRC16 table, the hash-tag rule, the
 * slot map from CLUSTER SLOTS and the MOVED/ASK text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "slot.h"

/* CRC16-XMODEM, polynomial 0x1021, one entry per leading byte. */
static const uint16_t crc16_tab[256] = {
	0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
	0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
	0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
	0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
	0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
	0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
	0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
	0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
	0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
	0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
	0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
	0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
	0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
	0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
	0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
	0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
	0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
	0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
	0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
	0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
	0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
	0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
	0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
	0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
	0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
	0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
	0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
	0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
	0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
	0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
	0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
	0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

uint16_t
slot_crc16(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t crc = 0;

	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)(crc << 8) ^ crc16_tab[((crc >> 8) ^ p[i]) & 0xff];
	return crc;
}

uint16_t
slot_of_key(const void *key, size_t len)
{
	const char *k = key, *open = memchr(k, '{', len), *close;

	if (open != NULL) {
		size_t after = len - (size_t)(open - k) - 1;

		close = memchr(open + 1, '}', after);
		if (close != NULL && close > open + 1)
			return slot_crc16(open + 1, (size_t)(close - open - 1)) & (SLOT_COUNT - 1);
	}
	return slot_crc16(k, len) & (SLOT_COUNT - 1);
}

/* One node array: host, port[, id[, metadata]]. */
static int
parse_node(const redisReply *n, const char *default_host, struct slot_node *out, char *err,
	   size_t errlen)
{
	const redisReply *h, *p;

	memset(out, 0, sizeof(*out));
	if (n->type != REDIS_REPLY_ARRAY || n->elements < 2) {
		snprintf(err, errlen, "a node is not an array [host, port, id]");
		return -EINVAL;
	}
	h = n->element[0];
	p = n->element[1];
	if (h->type == REDIS_REPLY_NIL || (h->type == REDIS_REPLY_STRING && h->len == 0)) {
		if (default_host == NULL) {
			snprintf(err, errlen, "a node has no host");
			return -EINVAL;
		}
		snprintf(out->ep.host, sizeof(out->ep.host), "%s", default_host);
	} else if (h->type != REDIS_REPLY_STRING || h->len >= sizeof(out->ep.host) ||
		   memchr(h->str, '\0', h->len) != NULL) {
		snprintf(err, errlen, "a node's host is not a string");
		return -EINVAL;
	} else if (h->len == 1 && h->str[0] == '?') {
		snprintf(err, errlen, "a node's endpoint is unknown ('?')");
		return -EINVAL;
	} else {
		memcpy(out->ep.host, h->str, h->len);
	}
	if (p->type != REDIS_REPLY_INTEGER || p->integer < 1 || p->integer > 65535) {
		snprintf(err, errlen, "a node's port is not an integer 1..65535");
		return -EINVAL;
	}
	out->ep.port = (uint16_t)p->integer;
	if (n->elements >= 3) {
		const redisReply *id = n->element[2];

		if (id->type != REDIS_REPLY_STRING || id->len >= sizeof(out->id)) {
			snprintf(err, errlen, "a node's id is not a string of at most 40 bytes");
			return -EINVAL;
		}
		memcpy(out->id, id->str, id->len);
	}
	return 0;
}

static bool
node_equal(const struct slot_node *a, const struct slot_node *b)
{
	return redis_endpoint_equal(&a->ep, &b->ep) && strcmp(a->id, b->id) == 0;
}

int
slot_map_find_master(const struct slot_map *m, const struct redis_endpoint *ep)
{
	for (unsigned i = 0; i < m->nshards; i++)
		if (redis_endpoint_equal(&m->shards[i].master.ep, ep))
			return (int)i;
	return -1;
}

int
slot_map_parse(const redisReply *r, const char *default_host, struct slot_map *m, char *err,
	       size_t errlen)
{
	char why[160];

	memset(m, 0, sizeof(*m));
	memset(m->owner, -1, sizeof(m->owner));
	if (r == NULL) {
		snprintf(err, errlen, "CLUSTER SLOTS: no reply");
		return -EINVAL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		snprintf(err, errlen, "CLUSTER SLOTS: %.*s", (int)(r->len < 200 ? r->len : 200),
			 r->str);
		return -EINVAL;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "CLUSTER SLOTS: the reply is not an array");
		return -EINVAL;
	}
	for (size_t i = 0; i < r->elements; i++) {
		const redisReply *e = r->element[i];
		struct slot_shard sh;
		long long lo, hi;
		int si;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER) {
			snprintf(err, errlen, "CLUSTER SLOTS: entry %zu is not "
				 "[start, end, master, replicas...]", i + 1);
			return -EINVAL;
		}
		lo = e->element[0]->integer;
		hi = e->element[1]->integer;
		if (lo < 0 || hi >= SLOT_COUNT || lo > hi) {
			snprintf(err, errlen, "CLUSTER SLOTS: entry %zu has a bad range %lld-%lld",
				 i + 1, lo, hi);
			return -EINVAL;
		}
		memset(&sh, 0, sizeof(sh));
		for (size_t n = 2; n < e->elements; n++) {
			struct slot_node node;

			if (parse_node(e->element[n], default_host, &node, why, sizeof(why)) != 0) {
				snprintf(err, errlen, "CLUSTER SLOTS: entry %zu: %s", i + 1, why);
				return -EINVAL;
			}
			if (n == 2)
				sh.master = node;
			else if (sh.nreplicas < SLOT_MAX_REPLICAS)
				sh.replicas[sh.nreplicas++] = node;
		}
		si = slot_map_find_master(m, &sh.master.ep);
		if (si < 0) {
			if (m->nshards == SLOT_MAX_SHARDS) {
				snprintf(err, errlen, "CLUSTER SLOTS: more than %d masters",
					 SLOT_MAX_SHARDS);
				return -EINVAL;
			}
			si = (int)m->nshards++;
			m->shards[si] = sh;
		}
		for (long long s = lo; s <= hi; s++) {
			if (m->owner[s] >= 0) {
				snprintf(err, errlen, "CLUSTER SLOTS: slot %lld is in two ranges", s);
				return -EINVAL;
			}
			m->owner[s] = (int8_t)si;
		}
		m->shards[si].nslots += (unsigned)(hi - lo + 1);
	}
	for (unsigned s = 0; s < SLOT_COUNT; s++)
		m->holes += m->owner[s] < 0;
	return 0;
}

const struct slot_shard *
slot_map_owner(const struct slot_map *m, uint16_t slot)
{
	int si = m->owner[slot & (SLOT_COUNT - 1)];

	return si < 0 ? NULL : &m->shards[si];
}

int
slot_map_shard_of_key(const struct slot_map *m, const void *key, size_t len)
{
	return m->owner[slot_of_key(key, len)];
}

int
slot_map_next_hole(const struct slot_map *m, unsigned from)
{
	for (unsigned s = from; s < SLOT_COUNT; s++)
		if (m->owner[s] < 0)
			return (int)s;
	return -1;
}

bool
slot_map_equal(const struct slot_map *a, const struct slot_map *b)
{
	if (a->nshards != b->nshards || memcmp(a->owner, b->owner, sizeof(a->owner)) != 0)
		return false;
	for (unsigned i = 0; i < a->nshards; i++) {
		const struct slot_shard *x = &a->shards[i], *y = &b->shards[i];

		if (!node_equal(&x->master, &y->master) || x->nreplicas != y->nreplicas)
			return false;
		for (unsigned j = 0; j < x->nreplicas; j++)
			if (!node_equal(&x->replicas[j], &y->replicas[j]))
				return false;
	}
	return true;
}

int
slot_map_move(struct slot_map *m, uint16_t slot, const struct redis_endpoint *ep)
{
	int si = slot_map_find_master(m, ep), old;

	slot &= SLOT_COUNT - 1;
	if (si < 0) {
		if (m->nshards == SLOT_MAX_SHARDS)
			return -ENOSPC;
		si = (int)m->nshards++;
		memset(&m->shards[si], 0, sizeof(m->shards[si]));
		m->shards[si].master.ep = *ep;
	}
	old = m->owner[slot];
	if (old == si)
		return 0;
	if (old < 0)
		m->holes--;
	else
		m->shards[old].nslots--;
	m->owner[slot] = (int8_t)si;
	m->shards[si].nslots++;
	return 0;
}

enum slot_redirect_kind
slot_redirect_parse(const char *s, size_t len, struct slot_redirect *out)
{
	enum slot_redirect_kind kind;
	const char *p, *end = s + len, *sp, *colon, *host_end;
	unsigned long slot = 0, port = 0;

	memset(out, 0, sizeof(*out));
	if (len > 6 && memcmp(s, "MOVED ", 6) == 0) {
		kind = SLOT_REDIRECT_MOVED;
		p = s + 6;
	} else if (len > 4 && memcmp(s, "ASK ", 4) == 0) {
		kind = SLOT_REDIRECT_ASK;
		p = s + 4;
	} else {
		return SLOT_REDIRECT_NONE;
	}
	sp = memchr(p, ' ', (size_t)(end - p));
	if (sp == NULL || sp == p || sp - p > 5)
		return SLOT_REDIRECT_NONE;
	for (const char *c = p; c < sp; c++) {
		if (*c < '0' || *c > '9')
			return SLOT_REDIRECT_NONE;
		slot = slot * 10 + (unsigned long)(*c - '0');
	}
	if (slot >= SLOT_COUNT)
		return SLOT_REDIRECT_NONE;
	p = sp + 1;
	/* host:port; the host may be empty (same host) or a bare IPv6 address */
	colon = NULL;
	for (const char *c = p; c < end; c++)
		if (*c == ':')
			colon = c;
	if (colon == NULL || colon + 1 == end || end - colon - 1 > 5)
		return SLOT_REDIRECT_NONE;
	for (const char *c = colon + 1; c < end; c++) {
		if (*c < '0' || *c > '9')
			return SLOT_REDIRECT_NONE;
		port = port * 10 + (unsigned long)(*c - '0');
	}
	if (port < 1 || port > 65535)
		return SLOT_REDIRECT_NONE;
	host_end = colon;
	if (host_end - p >= 2 && p[0] == '[' && host_end[-1] == ']') {
		p++;
		host_end--;
	}
	if ((size_t)(host_end - p) >= sizeof(out->ep.host))
		return SLOT_REDIRECT_NONE;
	memcpy(out->ep.host, p, (size_t)(host_end - p));
	out->kind = kind;
	out->slot = (uint16_t)slot;
	out->ep.port = (uint16_t)port;
	return kind;
}
