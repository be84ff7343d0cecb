/*
 * Reply frames (see reply.h).  Checksums: IPv4 header checksum always;
 * UDP checksum always (mandatory over IPv6, and free enough over IPv4);
 * ICMPv6 checksum over the IPv6 pseudo-header.  TTL / hop limit 64, except
 * ND which must be 255 (RFC 4861 §7.1.2).
 */
#include <errno.h>
#include <string.h>

#include "reply.h"
#include "wire.h"

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t;

	while (n--) {
		t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Sum of the IPv6 pseudo-header for an upper-layer packet of len bytes. */
static uint32_t
pseudo6(const uint8_t *src, const uint8_t *dst, uint32_t len, uint8_t nh)
{
	uint32_t sum = dp_csum_add(0, src, 16);
	uint8_t tail[8];

	sum = dp_csum_add(sum, dst, 16);
	wire_put_be32(tail, len);
	tail[4] = tail[5] = tail[6] = 0;
	tail[7] = nh;
	return dp_csum_add(sum, tail, 8);
}

int
dp_reply_udp(uint8_t *out, size_t cap, const uint8_t *hdr, const struct dp_frame *f,
	     const uint8_t *payload, size_t plen)
{
	size_t l3 = f->l3_off, l3len = f->ip_ver == 4 ? 20 : 40, l4 = l3 + l3len;
	size_t total = l4 + 8 + plen;
	uint8_t ip[40], udp[8];
	uint32_t sum, addr;
	uint16_t c;

	if (f->ip_ver != 4 && f->ip_ver != 6)
		return -EINVAL;
	if (!dp_src_unicast(hdr + 6, f->ip_ver, f->src_ip, f->src_port))
		return -EADDRNOTAVAIL;    /* never reflect to broadcast / multicast / nobody */
	if (total > cap || plen > 0xffff - 48)
		return -EMSGSIZE;
	/*
	 * The checksums are summed from the fields (f, payload), never read
	 * back from header bytes just written: a load over several fresh
	 * narrow stores waits for them to reach the cache (a stall per frame,
	 * longer still in a fresh mbuf).  Every byte of hdr used is read
	 * before out is written: out may be hdr (a reply built in the
	 * request's own mbuf).
	 */
	addr = dp_csum_add(dp_csum_add(0, f->dst_ip, f->ip_ver == 4 ? 4 : 16), f->src_ip,
			   f->ip_ver == 4 ? 4 : 16);
	if (f->ip_ver == 4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		wire_put_be16(ip + 2, (uint16_t)(20 + 8 + plen));
		ip[6] = 0x40;                 /* DF */
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, f->dst_ip, 4);
		memcpy(ip + 16, f->src_ip, 4);
		wire_put_be16(ip + 10, dp_csum_fold(0x4500 + (uint32_t)(20 + 8 + plen) + 0x4000 +
						    (64 << 8 | 17) + addr));
	} else {
		memcpy(ip, hdr + l3, 4);      /* version, traffic class, flow label */
		wire_put_be16(ip + 4, (uint16_t)(8 + plen));
		ip[6] = 17;
		ip[7] = 64;
		memcpy(ip + 8, f->dst_ip, 16);
		memcpy(ip + 24, f->src_ip, 16);
	}
	wire_put_be16(udp, f->dst_port);
	wire_put_be16(udp + 2, f->src_port);
	wire_put_be16(udp + 4, (uint16_t)(8 + plen));
	wire_put_be16(udp + 6, 0);
	/* Pseudo-header (addresses, protocol, UDP length), then the UDP
	 * header's words (ports, length, checksum 0), then the payload. */
	sum = addr + 17 + (uint32_t)(8 + plen) + f->dst_port + f->src_port + (uint32_t)(8 + plen);
	c = dp_csum_fold(dp_csum_add(sum, payload, plen));
	wire_put_be16(udp + 6, c == 0 ? 0xffff : c);
	/* L2: copy (VLAN tags included), swap MACs. */
	memmove(out, hdr, l3);
	swap_bytes(out, out + 6, 6);
	memcpy(out + l3, ip, l3len);
	memcpy(out + l4, udp, 8);
	memmove(out + l4 + 8, payload, plen);
	return (int)total;
}

int
dp_reply_arp(uint8_t *frame, size_t len, const struct dp_frame *f,
	     const struct dp_addrs *addrs, const uint8_t mac[6])
{
	uint8_t *a = frame + f->l3_off;
	uint8_t spa[4];

	if ((size_t)f->l3_off + 28 > len)
		return -ENOENT;
	/* htype 1, ptype IPv4, hlen 6, plen 4, op request */
	if (wire_get_be16(a) != 1 || wire_get_be16(a + 2) != DP_ETHERTYPE_IPV4 ||
	    a[4] != 6 || a[5] != 4 || wire_get_be16(a + 6) != 1)
		return -ENOENT;
	if (!dp_addrs_has(addrs, 4, a + 24))
		return -ENOENT;
	memcpy(spa, a + 14, 4);
	wire_put_be16(a + 6, 2);
	memcpy(a + 18, a + 8, 6);      /* tha = sha */
	memcpy(a + 14, a + 24, 4);     /* spa = the asked address */
	memcpy(a + 24, spa, 4);        /* tpa = requester */
	memcpy(a + 8, mac, 6);
	memcpy(frame, frame + 6, 6);   /* eth dst = requester */
	memcpy(frame + 6, mac, 6);
	return (int)len;
}

int
dp_reply_nd(uint8_t *frame, size_t len, size_t cap, const struct dp_frame *f,
	    const struct dp_addrs *addrs, const uint8_t mac[6])
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t unspec[16];
	uint8_t *ip = frame + f->l3_off, *icmp = frame + f->l4_off, target[16];
	size_t total = (size_t)f->l4_off + 32;
	int solicited;

	if ((size_t)f->l4_off + 24 > len || icmp[0] != 135)
		return -ENOENT;
	memcpy(target, icmp + 8, 16);
	if (!dp_addrs_has(addrs, 6, target))
		return -ENOENT;
	if (total > cap)
		return -EMSGSIZE;
	solicited = memcmp(f->src_ip, unspec, 16) != 0;
	/* IPv6: any extension headers are dropped, ICMPv6 follows at +40. */
	icmp = ip + 40;
	total = (size_t)f->l3_off + 40 + 32;
	if (total > cap)
		return -EMSGSIZE;
	wire_put_be16(ip + 4, 32);
	ip[6] = 58;
	ip[7] = 255;
	memcpy(ip + 8, target, 16);
	memcpy(ip + 24, solicited ? f->src_ip : all_nodes, 16);
	memset(icmp, 0, 32);
	icmp[0] = 136;
	icmp[4] = solicited ? 0x60 : 0x20;   /* S|O, or O alone */
	memcpy(icmp + 8, target, 16);
	icmp[24] = 2;                        /* target link-layer address */
	icmp[25] = 1;
	memcpy(icmp + 26, mac, 6);
	wire_put_be16(icmp + 2, dp_csum_fold(dp_csum_add(pseudo6(ip + 8, ip + 24, 32, 58),
							 icmp, 32)));
	if (solicited)
		memcpy(frame, frame + 6, 6);
	else
		memcpy(frame, (const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }, 6);
	memcpy(frame + 6, mac, 6);
	return (int)total;
}
