/*
 * Test helper: build Ethernet frames (optional VLAN, IPv4/IPv6, UDP) as
 * plain byte arrays for the parser and reply tests.
 */
#ifndef CHOT_TEST_FRAMES_H
#define CHOT_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "parse.h"
#include "wire.h"

struct tf_opts {
	int vlans;              /* 0, 1 or 2 tags */
	int ipv6;
	uint16_t dport;
	uint16_t frag;          /* IPv4 flags/offset field; IPv6: add a fragment header */
	uint8_t proto;          /* 0 = UDP */
	int udp_len_delta;      /* corrupt the UDP length */
	int ip_len_delta;       /* corrupt the IP length */
	int pad;                /* Ethernet padding after the IP packet */
	uint8_t dst_last;       /* last byte of the destination address */
};

static const uint8_t tf_src_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t tf_dst_mac[6] = { 0x02, 0, 0, 0, 0, 0x02 };

static inline size_t
tf_build(uint8_t *out, const struct tf_opts *o, const uint8_t *payload, size_t plen)
{
	size_t off = 12, l3, l4, iplen;
	int i;

	memcpy(out, tf_dst_mac, 6);
	memcpy(out + 6, tf_src_mac, 6);
	for (i = 0; i < o->vlans; i++) {
		wire_put_be16(out + off, i == 0 && o->vlans == 2 ? 0x88a8 : 0x8100);
		wire_put_be16(out + off + 2, (uint16_t)(100 + i));
		off += 4;
	}
	wire_put_be16(out + off, o->ipv6 ? 0x86dd : 0x0800);
	l3 = off + 2;
	if (!o->ipv6) {
		l4 = l3 + 20;
		iplen = 20 + 8 + plen;
		memset(out + l3, 0, 20);
		out[l3] = 0x45;
		wire_put_be16(out + l3 + 2, (uint16_t)(iplen + o->ip_len_delta));
		wire_put_be16(out + l3 + 6, o->frag);
		out[l3 + 8] = 64;
		out[l3 + 9] = o->proto ? o->proto : 17;
		out[l3 + 12] = 10; out[l3 + 15] = 1;
		out[l3 + 16] = 10; out[l3 + 19] = o->dst_last ? o->dst_last : 2;
	} else {
		size_t ext = o->frag ? 8 : 0;

		l4 = l3 + 40 + ext;
		iplen = 40 + ext + 8 + plen;
		memset(out + l3, 0, 40 + ext);
		out[l3] = 0x60;
		wire_put_be16(out + l3 + 4, (uint16_t)(iplen - 40 + o->ip_len_delta));
		out[l3 + 6] = o->frag ? 44 : (o->proto ? o->proto : 17);
		out[l3 + 7] = 64;
		out[l3 + 8] = 0xfd; out[l3 + 23] = 1;
		out[l3 + 24] = 0xfd; out[l3 + 39] = o->dst_last ? o->dst_last : 2;
		if (o->frag)
			out[l3 + 40] = 17;
	}
	wire_put_be16(out + l4, 40000);
	wire_put_be16(out + l4 + 2, o->dport ? o->dport : 7311);
	wire_put_be16(out + l4 + 4, (uint16_t)(8 + plen + o->udp_len_delta));
	wire_put_be16(out + l4 + 6, 0);
	memcpy(out + l4 + 8, payload, plen);
	memset(out + l3 + iplen, 0, o->pad > 0 ? (size_t)o->pad : 0);
	return l3 + iplen + (o->pad > 0 ? (size_t)o->pad : 0);
}

#endif /* CHOT_TEST_FRAMES_H */
