/*
 * Reply frames (dataplane/reply.c): the UDP ACK goes back with swapped
 * addresses and ports and valid checksums, keeps VLAN tags, and parses as a
 * datagram to the scanner's port; ARP and ND answers are well formed and
 * only given for our addresses.  Pure, no EAL.
 */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "frames.h"
#include "reply.h"

static const uint8_t our_mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };

struct reply_case {
	int vlans, ipv6;
};

static struct reply_case rcases[] = { { 0, 0 }, { 1, 0 }, { 2, 0 }, { 0, 1 }, { 1, 1 } };

ParameterizedTestParameters(reply, udp_ack)
{
	return cr_make_param_array(struct reply_case, rcases, sizeof(rcases) / sizeof(rcases[0]));
}

ParameterizedTest(struct reply_case *c, reply, udp_ack)
{
	uint8_t req[256], out[256], payload[40];
	struct tf_opts o = { .vlans = c->vlans, .ipv6 = c->ipv6 };
	struct dp_frame f, g;
	size_t len = tf_build(req, &o, (const uint8_t *)"0123456789abcdef0123456789", 26);
	int n;

	memset(payload, 0x5a, sizeof(payload));
	cr_assert_eq(dp_parse_frame(req, len, 7311, NULL, &f), WIRE_OK);
	n = dp_reply_udp(out, sizeof(out), req, &f, payload, sizeof(payload));
	cr_assert_gt(n, 0, "reply built");
	cr_assert_eq(memcmp(out, tf_src_mac, 6), 0, "eth dst = request's source");
	cr_assert_eq(memcmp(out + 6, tf_dst_mac, 6), 0, "eth src = request's destination");
	cr_assert_eq(memcmp(out + 12, req + 12, f.l3_off - 12), 0, "VLAN tags kept");
	/* The reply parses as a UDP datagram to the scanner's port 40000. */
	cr_assert_eq(dp_parse_frame(out, (size_t)n, 40000, NULL, &g), WIRE_OK,
		     "the ACK frame parses");
	cr_assert_eq(g.dst_port, 40000);
	cr_assert_eq(g.src_port, 7311);
	cr_assert_eq(memcmp(g.dst_ip, f.src_ip, 16), 0, "dst ip = request src");
	cr_assert_eq(memcmp(g.src_ip, f.dst_ip, 16), 0, "src ip = request dst");
	cr_assert_eq(g.payload_len, sizeof(payload));
	cr_assert_eq(memcmp(out + g.payload_off, payload, sizeof(payload)), 0);
	/* Checksums verify (sum over header / pseudo-header + segment = 0xffff). */
	if (!c->ipv6) {
		cr_assert_eq(dp_csum_fold(dp_csum_add(0, out + g.l3_off, 20)), 0,
			     "IPv4 header checksum");
		uint8_t ph[12];

		memcpy(ph, out + g.l3_off + 12, 8);
		ph[8] = 0; ph[9] = 17;
		wire_put_be16(ph + 10, (uint16_t)(8 + sizeof(payload)));
		cr_assert_eq(dp_csum_fold(dp_csum_add(dp_csum_add(0, ph, 12), out + g.l4_off,
						      8 + sizeof(payload))), 0, "UDP checksum");
	} else {
		uint8_t tail[8] = { 0, 0, 0, 8 + sizeof(payload), 0, 0, 0, 17 };
		uint32_t s = dp_csum_add(0, out + g.l3_off + 8, 32);

		s = dp_csum_add(s, tail, 8);
		cr_assert_eq(dp_csum_fold(dp_csum_add(s, out + g.l4_off, 8 + sizeof(payload))), 0,
			     "UDP/IPv6 checksum");
	}
	cr_assert_eq(dp_reply_udp(out, 50, req, &f, payload, sizeof(payload)), -EMSGSIZE,
		     "a too small buffer is refused");
	/* Built in the request's own buffer (worker.c replies in the RX
	 * mbuf): the same bytes. */
	cr_assert_eq(dp_reply_udp(req, sizeof(req), req, &f, payload, sizeof(payload)), n);
	cr_assert_eq(memcmp(req, out, (size_t)n), 0, "in place = into another buffer");
}

static size_t
build_arp(uint8_t *fr, const uint8_t tpa[4], uint16_t op)
{
	memset(fr, 0, 60);
	memset(fr, 0xff, 6);
	memcpy(fr + 6, tf_src_mac, 6);
	wire_put_be16(fr + 12, 0x0806);
	wire_put_be16(fr + 14, 1);
	wire_put_be16(fr + 16, 0x0800);
	fr[18] = 6; fr[19] = 4;
	wire_put_be16(fr + 20, op);
	memcpy(fr + 22, tf_src_mac, 6);
	memcpy(fr + 28, (const uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(fr + 38, tpa, 4);
	return 60;
}

Test(reply, arp)
{
	uint8_t fr[60];
	struct dp_addrs a;
	struct dp_frame f;
	size_t len;

	cr_assert_eq(dp_conf_parse_addrs("10.0.0.2/24", &a), 0);
	len = build_arp(fr, (const uint8_t[]){ 10, 0, 0, 2 }, 1);
	cr_assert_eq(dp_parse_frame(fr, len, 7311, &a, &f), FRAME_CONTROL);
	cr_assert_eq(dp_reply_arp(fr, len, &f, &a, our_mac), (int)len, "request for us answered");
	cr_assert_eq(wire_get_be16(fr + 20), 2, "op = reply");
	cr_assert_eq(memcmp(fr + 22, our_mac, 6), 0, "sha = our mac");
	cr_assert_eq(memcmp(fr + 28, (const uint8_t[]){ 10, 0, 0, 2 }, 4), 0, "spa = asked ip");
	cr_assert_eq(memcmp(fr + 32, tf_src_mac, 6), 0, "tha = requester");
	cr_assert_eq(memcmp(fr + 38, (const uint8_t[]){ 10, 0, 0, 1 }, 4), 0, "tpa = requester");
	cr_assert_eq(memcmp(fr, tf_src_mac, 6), 0, "eth dst = requester");
	cr_assert_eq(memcmp(fr + 6, our_mac, 6), 0, "eth src = us");

	len = build_arp(fr, (const uint8_t[]){ 10, 0, 0, 3 }, 1);
	cr_assert_eq(dp_reply_arp(fr, len, &f, &a, our_mac), -ENOENT, "not our address");
	len = build_arp(fr, (const uint8_t[]){ 10, 0, 0, 2 }, 2);
	cr_assert_eq(dp_reply_arp(fr, len, &f, &a, our_mac), -ENOENT, "a reply is not answered");
}

Test(reply, nd)
{
	uint8_t fr[128] = { 0 };
	struct tf_opts o = { .ipv6 = 1, .proto = 58, .dst_last = 0xff };
	uint8_t icmp[24] = { 135, 0 };
	struct dp_addrs a;
	struct dp_frame f, g;
	size_t len;
	int n;

	cr_assert_eq(dp_conf_parse_addrs("fd00::2", &a), 0);
	memcpy(icmp + 8, a.v6[0], 16);
	len = tf_build(fr, &o, icmp, 16);     /* 8 "udp" bytes + 16 = 24 ICMPv6 bytes */
	memcpy(fr + 54, icmp, 8);
	memcpy(fr + 62, icmp + 8, 16);
	cr_assert_eq(dp_parse_frame(fr, len, 7311, &a, &f), FRAME_CONTROL);
	n = dp_reply_nd(fr, len, sizeof(fr), &f, &a, our_mac);
	cr_assert_eq(n, 14 + 40 + 32, "NA frame length");
	cr_assert_eq(fr[54], 136, "type NA");
	cr_assert_eq(fr[58], 0x60, "solicited + override");
	cr_assert_eq(memcmp(fr + 62, a.v6[0], 16), 0, "target");
	cr_assert_eq(memcmp(fr + 80, our_mac, 6), 0, "target link-layer address");
	cr_assert_eq(fr[14 + 7], 255, "hop limit 255");
	cr_assert_eq(memcmp(fr + 14 + 8, a.v6[0], 16), 0, "src = target");
	/* ICMPv6 checksum verifies. */
	uint8_t tail[8] = { 0, 0, 0, 32, 0, 0, 0, 58 };
	uint32_t s = dp_csum_add(dp_csum_add(0, fr + 22, 32), tail, 8);

	cr_assert_eq(dp_csum_fold(dp_csum_add(s, fr + 54, 32)), 0, "ICMPv6 checksum");
	(void)g;
	/* Not for us. */
	len = tf_build(fr, &o, icmp, 16);
	memcpy(fr + 54, icmp, 8);
	fr[62 + 15] = 0x77;
	cr_assert_eq(dp_parse_frame(fr, len, 7311, &a, &f), FRAME_CONTROL);
	cr_assert_eq(dp_reply_nd(fr, len, sizeof(fr), &f, &a, our_mac), -ENOENT,
		     "NS for another address is not answered");
}

/* The RFC 1071 byte-at-a-time sum, the reference dp_csum_add must equal. */
static uint32_t
csum_ref(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

Test(reply, csum_matches_rfc1071)
{
	/* RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2. */
	static const uint8_t ex[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint8_t buf[1600];
	uint64_t x = 88172645463325252ull;
	size_t len, off, i;

	cr_assert_eq(dp_csum_fold(dp_csum_add(0, ex, sizeof(ex))), (uint16_t)~0xddf2);
	for (i = 0; i < sizeof(buf); i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (uint8_t)x;
	}
	memset(buf + 1000, 0, 64);      /* all-zero runs: the +0 / -0 case */
	memset(buf + 1100, 0xff, 64);   /* all-ones runs */
	for (len = 0; len <= 200; len++)
		for (off = 0; off < 1400; off += 97) {
			uint32_t s0 = (uint32_t)(off * 2654435761u) & 0xfffff;

			cr_assert_eq(dp_csum_fold(dp_csum_add(s0, buf + off, len)),
				     dp_csum_fold(csum_ref(s0, buf + off, len)),
				     "len %zu off %zu", len, off);
			cr_assert_eq(dp_csum_fold(dp_csum_add(0, buf + off, len)),
				     dp_csum_fold(csum_ref(0, buf + off, len)),
				     "len %zu off %zu from 0", len, off);
		}
	cr_assert_eq(dp_csum_fold(dp_csum_add(0, buf + 1000, 64)), 0xffff, "zeros");
	cr_assert_eq(dp_csum_fold(dp_csum_add(0, buf + 1100, 64)),
		     dp_csum_fold(csum_ref(0, buf + 1100, 64)), "ones");
}
