/*
 * The frame parser (dataplane/parse.c): a table of good and bad frames,
 * each with the reason it must produce.  Pure, no EAL.
 */
#include <errno.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "frames.h"
#include "parse.h"

struct parse_case {
	char name[32];
	struct tf_opts o;
	size_t cut;                 /* truncate the frame to this length (0 = no) */
	int with_addrs;
	enum chot_reason want;
};

static struct parse_case cases[] = {
	{ "ipv4",             { 0 }, 0, 0, WIRE_OK },
	{ "ipv4_vlan",        { .vlans = 1 }, 0, 0, WIRE_OK },
	{ "ipv4_qinq",        { .vlans = 2 }, 0, 0, WIRE_OK },
	{ "ipv4_padding",     { .pad = 20 }, 0, 0, WIRE_OK },
	{ "ipv6",             { .ipv6 = 1 }, 0, 0, WIRE_OK },
	{ "ipv6_vlan",        { .ipv6 = 1, .vlans = 1 }, 0, 0, WIRE_OK },
	{ "ipv4_to_us",       { .dst_last = 2 }, 0, 1, WIRE_OK },
	{ "ipv6_to_us",       { .ipv6 = 1, .dst_last = 2 }, 0, 1, WIRE_OK },
	{ "ipv4_not_to_us",   { .dst_last = 9 }, 0, 1, FRAME_DST_ADDR },
	{ "ipv6_not_to_us",   { .ipv6 = 1, .dst_last = 9 }, 0, 1, FRAME_DST_ADDR },
	{ "short_eth",        { 0 }, 10, 0, FRAME_TRUNCATED },
	{ "short_ipv4",       { 0 }, 20, 0, FRAME_TRUNCATED },
	{ "short_ipv6",       { .ipv6 = 1 }, 40, 0, FRAME_TRUNCATED },
	{ "ipv4_mf",          { .frag = 0x2000 }, 0, 0, FRAME_FRAGMENT },
	{ "ipv4_offset",      { .frag = 0x0010 }, 0, 0, FRAME_FRAGMENT },
	{ "ipv4_df_ok",       { .frag = 0x4000 }, 0, 0, WIRE_OK },
	{ "ipv6_frag_hdr",    { .ipv6 = 1, .frag = 1 }, 0, 0, FRAME_FRAGMENT },
	{ "ipv4_tcp",         { .proto = 6 }, 0, 0, FRAME_NOT_UDP },
	{ "ipv6_tcp",         { .ipv6 = 1, .proto = 6 }, 0, 0, FRAME_NOT_UDP },
	{ "wrong_port",       { .dport = 53 }, 0, 0, FRAME_UDP_PORT },
	{ "udp_len_long",     { .udp_len_delta = 1 }, 0, 0, FRAME_UDP_LENGTH },
	{ "udp_len_tiny",     { .udp_len_delta = -60 }, 0, 0, FRAME_UDP_LENGTH },
	{ "ip_len_long",      { .ip_len_delta = 4 }, 0, 0, FRAME_IP_HEADER },
	{ "ipv6_len_long",    { .ipv6 = 1, .ip_len_delta = 4 }, 0, 0, FRAME_IP_HEADER },
	{ "ip_len_short",     { .ip_len_delta = -4 }, 0, 0, FRAME_UDP_LENGTH },
};

ParameterizedTestParameters(parse, table)
{
	return cr_make_param_array(struct parse_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct parse_case *c, parse, table)
{
	uint8_t payload[48], frame[256];
	struct dp_addrs addrs = { 0 };
	struct dp_frame f;
	size_t len;
	enum chot_reason r;

	memset(payload, 0xab, sizeof(payload));
	len = tf_build(frame, &c->o, payload, sizeof(payload));
	if (c->cut)
		len = c->cut;
	if (c->with_addrs) {
		cr_assert_eq(dp_conf_parse_addrs("10.0.0.2/24,fd00::2/64", &addrs), 0);
	}
	r = dp_parse_frame(frame, len, 7311, &addrs, &f);
	cr_assert_eq(r, c->want, "%s: expected reason %s, got %s", c->name,
		     chot_reason_name(c->want), chot_reason_name(r));
	if (r == WIRE_OK) {
		cr_assert_eq(f.payload_len, sizeof(payload), "%s: payload length", c->name);
		cr_assert_eq(memcmp(frame + f.payload_off, payload, sizeof(payload)), 0,
			     "%s: payload offset", c->name);
		cr_assert_eq(f.src_port, 40000, "%s: source port", c->name);
		cr_assert_eq(f.ip_ver, c->o.ipv6 ? 6 : 4, "%s: ip version", c->name);
	}
}

Test(parse, arp_is_control)
{
	uint8_t frame[60] = { 0 };

	wire_put_be16(frame + 12, 0x0806);
	cr_assert_eq(dp_parse_frame(frame, sizeof(frame), 7311, NULL, &(struct dp_frame){0}),
		     FRAME_CONTROL, "ARP must be FRAME_CONTROL");
	cr_assert_eq(dp_parse_frame(frame, 30, 7311, NULL, &(struct dp_frame){0}),
		     FRAME_TRUNCATED, "a short ARP is truncated");
}

Test(parse, other_ethertype)
{
	uint8_t frame[60] = { 0 };

	wire_put_be16(frame + 12, 0x88cc);   /* LLDP */
	cr_assert_eq(dp_parse_frame(frame, sizeof(frame), 7311, NULL, &(struct dp_frame){0}),
		     FRAME_ETHERTYPE, "LLDP is not ours");
}

Test(parse, ipv6_ns_is_control)
{
	uint8_t frame[128];
	struct tf_opts o = { .ipv6 = 1, .proto = 58 };
	struct dp_frame f;
	size_t len = tf_build(frame, &o, (const uint8_t[16]){ 0 }, 16);

	frame[54] = 135;    /* ICMPv6 type at l4 (14 + 40) */
	frame[55] = 0;
	cr_assert_eq(dp_parse_frame(frame, len, 7311, NULL, &f), FRAME_CONTROL,
		     "an NS must be FRAME_CONTROL");
	frame[54] = 128;    /* echo request */
	cr_assert_eq(dp_parse_frame(frame, len, 7311, NULL, &f), FRAME_NOT_UDP,
		     "other ICMPv6 is not ours");
}

Test(parse, addrs_parse)
{
	struct dp_addrs a;

	cr_assert_eq(dp_conf_parse_addrs("192.0.2.1/24, 2001:db8::1/64,198.51.100.7", &a), 0);
	cr_assert_eq(a.n4, 2, "two IPv4 addresses");
	cr_assert_eq(a.n6, 1, "one IPv6 address");
	cr_assert(dp_addrs_has(&a, 4, (const uint8_t[]){ 198, 51, 100, 7 }));
	cr_assert_not(dp_addrs_has(&a, 4, (const uint8_t[]){ 198, 51, 100, 8 }));
	cr_assert_eq(dp_conf_parse_addrs("", &a), 0, "empty list is valid");
	cr_assert_eq(a.n4 + a.n6, 0, "empty list has no address");
	cr_assert_lt(dp_conf_parse_addrs("192.0.2.1/33", &a), 0, "prefix > 32");
	cr_assert_lt(dp_conf_parse_addrs("300.1.1.1", &a), 0, "bad octet");
	cr_assert_lt(dp_conf_parse_addrs("1.2.3.4,,", &a), 0, "empty item");
	cr_assert_lt(dp_conf_parse_addrs("fe80::zz", &a), 0, "bad v6");
}

/*
 * Sources chotd must never answer (an ACK would be reflected to a whole
 * segment or to nobody): broadcast or group MAC, IPv4 broadcast, multicast
 * 224/4 and 0.0.0.0, IPv6 multicast ff00::/8 and ::, UDP port 0.  Such a
 * datagram is not ours (FRAME_SRC_ADDR), before any crypto; and the ACK
 * builder refuses such a destination too (-EADDRNOTAVAIL), whoever calls it.
 */
struct src_case {
	char name[32];
	int ipv6;
	uint8_t mac[6];            /* all zero: the normal unicast source */
	uint8_t ip[16];            /* first bytes of the source address; all zero: normal */
	int set_ip;                /* use ip (else the normal 10.0.0.1 / fd00::1) */
	int port0;
	enum chot_reason want;
};

#define B6 { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }

ParameterizedTestParameters(parse, reply_sources)
{
	static struct src_case scases[] = {
		{ "v4 unicast",            0, { 0 }, { 0 }, 0, 0, WIRE_OK },
		{ "v6 unicast",            1, { 0 }, { 0 }, 0, 0, WIRE_OK },
		{ "v4 10.255.255.255",     0, { 0 }, { 10, 255, 255, 255 }, 1, 0, WIRE_OK },
		{ "v4 223.255.255.255",    0, { 0 }, { 223, 255, 255, 255 }, 1, 0, WIRE_OK },
		{ "broadcast mac",         0, B6, { 0 }, 0, 0, FRAME_SRC_ADDR },
		{ "multicast mac",         0, { 0x01, 0, 0x5e, 0, 0, 1 }, { 0 }, 0, 0,
		  FRAME_SRC_ADDR },
		{ "v6 multicast mac",      1, { 0x33, 0x33, 0, 0, 0, 1 }, { 0 }, 0, 0,
		  FRAME_SRC_ADDR },
		{ "v4 255.255.255.255",    0, { 0 }, { 255, 255, 255, 255 }, 1, 0, FRAME_SRC_ADDR },
		{ "v4 224.0.0.1",          0, { 0 }, { 224, 0, 0, 1 }, 1, 0, FRAME_SRC_ADDR },
		{ "v4 239.255.255.250",    0, { 0 }, { 239, 255, 255, 250 }, 1, 0, FRAME_SRC_ADDR },
		{ "v4 0.0.0.0",            0, { 0 }, { 0, 0, 0, 0 }, 1, 0, FRAME_SRC_ADDR },
		{ "v6 ff02::1",            1, { 0 }, { 0xff, 0x02, [15] = 1 }, 1, 0, FRAME_SRC_ADDR },
		{ "v6 ff0e::",             1, { 0 }, { 0xff, 0x0e }, 1, 0, FRAME_SRC_ADDR },
		{ "v6 ::",                 1, { 0 }, { 0 }, 1, 0, FRAME_SRC_ADDR },
		{ "v6 ::1 (not ::)",       1, { 0 }, { [15] = 1 }, 1, 0, WIRE_OK },
		{ "v4 port 0",             0, { 0 }, { 0 }, 0, 1, FRAME_SRC_ADDR },
		{ "v6 port 0",             1, { 0 }, { 0 }, 0, 1, FRAME_SRC_ADDR },
	};
	return cr_make_param_array(struct src_case, scases, sizeof(scases) / sizeof(scases[0]));
}

#include "reply.h"

ParameterizedTest(struct src_case *c, parse, reply_sources)
{
	static const uint8_t zero6[6];
	uint8_t payload[48], frame[256], out[256];
	struct tf_opts o = { .ipv6 = c->ipv6 };
	size_t len, l3 = 14;
	struct dp_frame f;
	enum chot_reason r;
	int n;

	memset(payload, 0xab, sizeof(payload));
	len = tf_build(frame, &o, payload, sizeof(payload));
	if (memcmp(c->mac, zero6, 6) != 0)
		memcpy(frame + 6, c->mac, 6);
	if (c->set_ip)
		memcpy(frame + l3 + (c->ipv6 ? 8 : 12), c->ip, c->ipv6 ? 16 : 4);
	if (!c->ipv6) {          /* keep the IPv4 header checksum honest */
		frame[l3 + 10] = frame[l3 + 11] = 0;
		wire_put_be16(frame + l3 + 10, dp_csum_fold(dp_csum_add(0, frame + l3, 20)));
	}
	if (c->port0)
		wire_put_be16(frame + l3 + (c->ipv6 ? 40 : 20), 0);
	r = dp_parse_frame(frame, len, 7311, NULL, &f);
	cr_assert_eq(r, c->want, "%s: expected %s, got %s", c->name, chot_reason_name(c->want),
		     chot_reason_name(r));
	/* The ACK builder on its own: whatever parse said, the frame's fields. */
	n = dp_reply_udp(out, sizeof(out), frame, &f, payload, 40);
	if (c->want == WIRE_OK)
		cr_assert_gt(n, 0, "%s: the reply is built (%d)", c->name, n);
	else
		cr_assert_eq(n, -EADDRNOTAVAIL, "%s: no reply to such a source, got %d", c->name,
			     n);
}
