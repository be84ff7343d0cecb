/*
 * libFuzzer harness for the dataplane's frame parser (dataplane/parse.c) and
 * for the reply builders that act on what it returns (dataplane/reply.c).
 * Every frame chotd receives goes through dp_parse_frame before anything
 * else, so this is the first code a hostile sender reaches.
 *
 * Input: byte 0 selects the set-up, the rest is one Ethernet frame.
 *   bits 0-2  ingest.address: 0 none (NULL), 1 an empty set, 2 IPv4 only,
 *             3 IPv6 only, 4-7 both (10.0.0.2 and fd00::2 are the addresses
 *             tests/dataplane/frames.h sends to)
 *   bit 3     tailroom behind the frame for the in-place ND answer: 0 or 128
 * The frame is copied into a buffer of exactly its length, so ASan reports
 * the first byte read past it.
 *
 * The sanitizers find memory errors and UB; the fuzzer finds logic errors
 * because the harness aborts when the parser breaks a promise:
 *   - the reason and every field of struct dp_frame match ref_parse(), a
 *     second, deliberately plain reading of the rules in parse.c's opening
 *     comment, which computes in size_t and checks that every offset fits
 *     the struct's uint16_t fields;
 *   - an accepted datagram lies inside the frame and inside the IP packet,
 *     its UDP length field is payload_len + 8, the port is ours, and with
 *     addresses configured its destination is one of them;
 *   - addresses only ever turn WIRE_OK into FRAME_DST_ADDR, never change
 *     another verdict; Ethernet padding after an accepted frame or control
 *     frame changes nothing; parsing twice gives the same answer;
 *   - the ACK dp_reply_udp builds from the parse (with the worker's 128-byte
 *     header template) parses back as a datagram to the sender, addresses
 *     and ports swapped, payload intact, IPv4 and UDP checksums valid;
 *   - for FRAME_CONTROL, dp_reply_arp / dp_reply_nd answer exactly the
 *     requests for one of our addresses, and their answers are well formed
 *     (ARP fields swapped; ND: hop limit 255, ICMPv6 checksum valid, the
 *     frame parses again as IPv6 from the target).
 *
 * `fuzz_frame --write-seeds=DIR` writes the seed corpus (frames.h builders
 * plus IPv4 options, IPv6 extension headers, ARP and NS) and exits; libFuzzer
 * leaves flags starting with "--" to the harness.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "parse.h"
#include "reply.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UDP_PORT 7311
#define TAILROOM 128
#define ACK_CAP  2048        /* an mbuf's default data room */

static struct dp_addrs addr_sets[5];
static const uint8_t our_mac[6] = { 0x02, 0xc0, 0xff, 0xee, 0, 0x07 };

/* Abort (a finding for libFuzzer) naming the promise that broke. */
#define check(ok) check_at((ok), __LINE__)
static void
check_at(int ok, int line)
{
	if (!ok) {
		fprintf(stderr, "fuzz_frame: check at fuzz_frame.c:%d failed\n", line);
		abort();
	}
}

static int
is_ext6(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60;   /* hop-by-hop, routing, dest opts */
}

static int
addr_in(const struct dp_addrs *a, int ver, const uint8_t *ip)
{
	for (unsigned i = 0; ver == 4 && i < a->n4; i++)
		if (memcmp(a->v4[i], ip, 4) == 0)
			return 1;
	for (unsigned i = 0; ver == 6 && i < a->n6; i++)
		if (memcmp(a->v6[i], ip, 16) == 0)
			return 1;
	return 0;
}

static uint16_t
off16(size_t v)
{
	check(v <= UINT16_MAX);     /* an offset that does not fit its field */
	return (uint16_t)v;
}

/* ---- the reference reading of the rules -------------------------------- */

/* A source chotd may answer (issue 11, reflection): not a group MAC
 * (broadcast, multicast), not port 0, and not 0.0.0.0, 224.0.0.0/4,
 * 255.255.255.255, :: or ff00::/8.  Written out again rather than calling
 * dp_src_unicast(), so the harness checks the parser against the rule. */
static bool
ref_src_unicast(const uint8_t *mac, uint8_t ver, const uint8_t *ip, uint16_t port)
{
	unsigned zero = 0, ones = 0, n = ver == 4 ? 4 : 16;

	if (mac[0] & 1 || port == 0 || (ver != 4 && ver != 6))
		return false;
	for (unsigned i = 0; i < n; i++) {
		zero += ip[i] == 0;
		ones += ip[i] == 0xff;
	}
	if (zero == n)
		return false;
	if (ver == 4)
		return ip[0] < 224 || (ip[0] >= 240 && ones != 4);
	return ip[0] != 0xff;
}

static enum chot_reason
ref_udp(const uint8_t *p, size_t l4, size_t end, const struct dp_addrs *a, struct dp_frame *f)
{
	size_t ulen;

	if (l4 + 8 > end)
		return FRAME_UDP_LENGTH;
	ulen = wire_get_be16(p + l4 + 4);
	if (ulen < 8 || l4 + ulen > end)
		return FRAME_UDP_LENGTH;
	f->src_port = wire_get_be16(p + l4);
	f->dst_port = wire_get_be16(p + l4 + 2);
	f->payload_off = off16(l4 + 8);
	f->payload_len = off16(ulen - 8);
	if (f->dst_port != UDP_PORT)
		return FRAME_UDP_PORT;
	if (a != NULL && a->n4 + a->n6 > 0 && !addr_in(a, f->ip_ver, f->dst_ip))
		return FRAME_DST_ADDR;
	if (!ref_src_unicast(p + 6, f->ip_ver, f->src_ip, f->src_port))
		return FRAME_SRC_ADDR;
	return WIRE_OK;
}

static enum chot_reason
ref_parse(const uint8_t *p, size_t len, const struct dp_addrs *a, struct dp_frame *f)
{
	size_t l3 = 14, l4, end, ihl, tot;
	uint16_t et;
	uint8_t nh;
	int tags, ext;

	memset(f, 0, sizeof(*f));
	if (len < 14)
		return FRAME_TRUNCATED;
	et = wire_get_be16(p + 12);
	for (tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8); tags++) {
		if (l3 + 4 > len)          /* the tag's TCI and the next EtherType */
			return FRAME_TRUNCATED;
		et = wire_get_be16(p + l3 + 2);
		l3 += 4;
	}
	f->l3_off = off16(l3);
	if (et == 0x0806)
		return l3 + 28 > len ? FRAME_TRUNCATED : FRAME_CONTROL;
	if (et == 0x0800) {
		if (l3 + 20 > len)
			return FRAME_TRUNCATED;
		ihl = (size_t)(p[l3] & 15) * 4;
		tot = wire_get_be16(p + l3 + 2);
		if (p[l3] >> 4 != 4 || ihl < 20 || tot < ihl || l3 + tot > len)
			return FRAME_IP_HEADER;
		f->ip_ver = 4;
		memcpy(f->src_ip, p + l3 + 12, 4);
		memcpy(f->dst_ip, p + l3 + 16, 4);
		if (wire_get_be16(p + l3 + 6) & 0x3fff)   /* MF or an offset; DF is fine */
			return FRAME_FRAGMENT;
		if (p[l3 + 9] != 17)
			return FRAME_NOT_UDP;
		f->l4_off = off16(l3 + ihl);
		return ref_udp(p, l3 + ihl, l3 + tot, a, f);
	}
	if (et != 0x86dd)
		return FRAME_ETHERTYPE;
	if (l3 + 40 > len)
		return FRAME_TRUNCATED;
	end = l3 + 40 + wire_get_be16(p + l3 + 4);
	if (p[l3] >> 4 != 6 || end > len)
		return FRAME_IP_HEADER;
	f->ip_ver = 6;
	memcpy(f->src_ip, p + l3 + 8, 16);
	memcpy(f->dst_ip, p + l3 + 24, 16);
	nh = p[l3 + 6];
	l4 = l3 + 40;
	for (ext = 0; ext < 4 && is_ext6(nh); ext++) {
		if (l4 + 8 > end)
			return FRAME_IP_HEADER;
		nh = p[l4];
		l4 += 8 + (size_t)p[l4 + 1] * 8;
		if (l4 > end)
			return FRAME_IP_HEADER;
	}
	f->l4_off = off16(l4);
	if (nh == 44)
		return FRAME_FRAGMENT;
	if (nh == 58)
		return l4 + 24 <= end && p[l4] == 135 && p[l4 + 1] == 0 ? FRAME_CONTROL
									  : FRAME_NOT_UDP;
	if (nh != 17)
		return FRAME_NOT_UDP;
	return ref_udp(p, l4, end, a, f);
}

static int
frame_eq(const struct dp_frame *x, const struct dp_frame *y)
{
	return x->l3_off == y->l3_off && x->l4_off == y->l4_off &&
	       x->payload_off == y->payload_off && x->payload_len == y->payload_len &&
	       x->ip_ver == y->ip_ver && memcmp(x->src_ip, y->src_ip, 16) == 0 &&
	       memcmp(x->dst_ip, y->dst_ip, 16) == 0 && x->src_port == y->src_port &&
	       x->dst_port == y->dst_port;
}

/* ---- promises that do not depend on the reference ---------------------- */

static void
check_datagram(const uint8_t *p, size_t len, const struct dp_addrs *a, const struct dp_frame *f)
{
	size_t l3 = f->l3_off, ip_end;

	check(l3 == 14 || l3 == 18 || l3 == 22);
	check(f->ip_ver == 4 || f->ip_ver == 6);
	check(wire_get_be16(p + l3 - 2) == (f->ip_ver == 4 ? 0x0800 : 0x86dd));
	ip_end = l3 + (f->ip_ver == 4 ? wire_get_be16(p + l3 + 2)
				      : 40u + wire_get_be16(p + l3 + 4));
	check(ip_end <= len);
	check(f->l4_off >= l3 + (f->ip_ver == 4 ? 20 : 40));
	check(f->payload_off == f->l4_off + 8);
	check((size_t)f->payload_off + f->payload_len <= ip_end);
	check(wire_get_be16(p + f->l4_off + 4) == f->payload_len + 8);
	check(wire_get_be16(p + f->l4_off) == f->src_port);
	check(f->dst_port == UDP_PORT && wire_get_be16(p + f->l4_off + 2) == UDP_PORT);
	check(memcmp(f->dst_ip, p + l3 + (f->ip_ver == 4 ? 16 : 24), f->ip_ver == 4 ? 4 : 16) == 0);
	if (a != NULL && a->n4 + a->n6 > 0)
		check(addr_in(a, f->ip_ver, f->dst_ip));
}

/* ---- the replies -------------------------------------------------------- */

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s += i & 1 ? p[i] : (uint32_t)p[i] << 8;
	return s;
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Sum of the pseudo-header of an upper-layer packet of n bytes. */
static uint32_t
pseudo(const struct dp_frame *r, size_t n, uint8_t proto)
{
	size_t alen = r->ip_ver == 4 ? 4 : 16;
	uint32_t s = sum16(sum16(0, r->src_ip, alen), r->dst_ip, alen);

	return s + (uint32_t)(n >> 16) + (uint32_t)(n & 0xffff) + proto;
}

/* The worker's ACK: a 128-byte header template, then dp_reply_udp. */
static void
check_ack(const uint8_t *p, const struct dp_frame *f)
{
	static uint8_t out[ACK_CAP];
	uint8_t hdr[DP_HDR_TMPL_MAX];
	size_t hlen = (size_t)f->l4_off + 8, plen = f->payload_len < 64 ? f->payload_len : 64;
	const uint8_t *payload = p + f->payload_off;
	struct dp_frame r;
	int n;

	memcpy(hdr, p, hlen < sizeof(hdr) ? hlen : sizeof(hdr));
	n = dp_reply_udp(out, sizeof(out), hdr, f, payload, plen);
	check(n == (int)(f->l3_off + (f->ip_ver == 4 ? 20 : 40) + 8 + plen));
	/* The reply's source is the datagram's destination: when that is not
	 * a unicast address (chotd without ingest.address accepts any), the
	 * reply reads as a refused source, and that is all to check. */
	if (!ref_src_unicast(p, f->ip_ver, f->dst_ip, f->dst_port)) {
		check(dp_parse_frame(out, (size_t)n, f->src_port, NULL, &r) == FRAME_SRC_ADDR);
		return;
	}
	check(dp_parse_frame(out, (size_t)n, f->src_port, NULL, &r) == WIRE_OK);
	check(r.l3_off == f->l3_off && r.ip_ver == f->ip_ver);
	check(memcmp(r.src_ip, f->dst_ip, 16) == 0 && memcmp(r.dst_ip, f->src_ip, 16) == 0);
	check(r.src_port == f->dst_port && r.dst_port == f->src_port);
	check(r.payload_len == plen && memcmp(out + r.payload_off, payload, plen) == 0);
	check(memcmp(out, p + 6, 6) == 0 && memcmp(out + 6, p, 6) == 0);   /* MACs swapped */
	check(memcmp(out + 12, p + 12, f->l3_off - 12) == 0);              /* VLAN tags kept */
	if (f->ip_ver == 4)
		check(fold(sum16(0, out + r.l3_off, 20)) == 0xffff);
	check(fold(pseudo(&r, plen + 8, 17) + sum16(0, out + r.l4_off, plen + 8)) == 0xffff);
}

static void
check_arp(const uint8_t *p, size_t len, const struct dp_addrs *a, const struct dp_frame *f)
{
	const uint8_t *q = p + f->l3_off;
	uint8_t *buf = malloc(len);
	int n, want;

	check(buf != NULL);
	memcpy(buf, p, len);
	want = wire_get_be16(q) == 1 && wire_get_be16(q + 2) == 0x0800 && q[4] == 6 &&
	       q[5] == 4 && wire_get_be16(q + 6) == 1 && addr_in(a, 4, q + 24);
	n = dp_reply_arp(buf, len, f, a, our_mac);
	check(n == (want ? (int)len : -ENOENT));
	if (!want) {
		check(memcmp(buf, p, len) == 0);     /* a refusal leaves the frame alone */
	} else {
		const uint8_t *r = buf + f->l3_off;

		check(wire_get_be16(r + 6) == 2);
		check(memcmp(r + 8, our_mac, 6) == 0 && memcmp(r + 14, q + 24, 4) == 0);
		check(memcmp(r + 18, q + 8, 6) == 0 && memcmp(r + 24, q + 14, 4) == 0);
		check(memcmp(buf, p + 6, 6) == 0 && memcmp(buf + 6, our_mac, 6) == 0);
	}
	free(buf);
}

static void
check_nd(const uint8_t *p, size_t len, size_t tail, const struct dp_addrs *a,
	 const struct dp_frame *f)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	static const uint8_t unspec[16];
	const uint8_t *target = p + f->l4_off + 8;
	size_t cap = len + tail, total = (size_t)f->l3_off + 72;
	uint8_t *buf = malloc(cap);
	struct dp_frame r;
	int n, solicited = memcmp(f->src_ip, unspec, 16) != 0;

	check(buf != NULL);
	memcpy(buf, p, len);
	n = dp_reply_nd(buf, len, cap, f, a, our_mac);
	if (!addr_in(a, 6, target)) {
		check(n == -ENOENT && memcmp(buf, p, len) == 0);
	} else if (total > cap || (size_t)f->l4_off + 32 > cap) {
		check(n == -EMSGSIZE && memcmp(buf, p, len) == 0);
	} else {
		check(n == (int)total);
		check(dp_parse_frame(buf, total, UDP_PORT, NULL, &r) == FRAME_NOT_UDP);
		check(r.ip_ver == 6 && r.l4_off == f->l3_off + 40);
		check(memcmp(r.src_ip, target, 16) == 0);
		check(memcmp(r.dst_ip, solicited ? f->src_ip : all_nodes, 16) == 0);
		check(buf[f->l3_off + 7] == 255);                       /* RFC 4861 hop limit */
		check(buf[r.l4_off] == 136 && buf[r.l4_off + 1] == 0);  /* an advertisement */
		check(buf[r.l4_off + 4] == (solicited ? 0x60 : 0x20));    /* S|O, or O */
		check(memcmp(buf + r.l4_off + 8, target, 16) == 0);
		check(buf[r.l4_off + 24] == 2 && buf[r.l4_off + 25] == 1 &&
		      memcmp(buf + r.l4_off + 26, our_mac, 6) == 0);     /* target LL address */
		check(fold(pseudo(&r, 32, 58) + sum16(0, buf + r.l4_off, 32)) == 0xffff);
		check(memcmp(buf + 6, our_mac, 6) == 0);
		check(solicited ? memcmp(buf, p + 6, 6) == 0 : buf[0] == 0x33 && buf[1] == 0x33);
	}
	free(buf);
}

/* ---- one input ---------------------------------------------------------- */

static void
fuzz_frame(const uint8_t *p, size_t len, const struct dp_addrs *a, size_t tail)
{
	struct dp_frame f, g, rf;
	enum chot_reason r, r0, rr;

	r = dp_parse_frame(p, len, UDP_PORT, a, &f);
	check(chot_reason_counter(r) == (r == WIRE_OK ? CTR_NONE : CTR_NOT_OURS));
	check(r == WIRE_OK || r == FRAME_SRC_ADDR || (r >= FRAME_TRUNCATED && r <= FRAME_CONTROL));
	rr = ref_parse(p, len, a, &rf);
	check(r == rr);
	if (r == WIRE_OK || r == FRAME_CONTROL)
		check(frame_eq(&f, &rf));

	/* Stateless: the same frame, the same answer. */
	check(dp_parse_frame(p, len, UDP_PORT, a, &g) == r && frame_eq(&f, &g));

	/* Addresses only filter datagrams that reach the address checks (the
	 * destination is checked before the source, so a refused source can
	 * read as a foreign destination once addresses are set). */
	r0 = dp_parse_frame(p, len, UDP_PORT, NULL, &g);
	if (r0 == WIRE_OK)
		check(r == WIRE_OK || r == FRAME_DST_ADDR);
	else if (r0 == FRAME_SRC_ADDR)
		check(r == FRAME_SRC_ADDR || r == FRAME_DST_ADDR);
	else
		check(r == r0);

	if (r == WIRE_OK) {
		check_datagram(p, len, a, &f);
		check_ack(p, &f);
	}
	if (r == FRAME_CONTROL) {
		check(f.ip_ver == 0 || f.ip_ver == 6);
		check(f.ip_ver == 0 ? f.l3_off + 28u <= len : f.l4_off + 24u <= len);
		/* chotd answers only with addresses configured (loop_control) */
		if (a != NULL && a->n4 + a->n6 > 0) {
			if (f.ip_ver == 0)
				check_arp(p, len, a, &f);
			else
				check_nd(p, len, tail, a, &f);
		}
	}

	/* Ethernet padding after a frame we act on changes nothing. */
	if (r == WIRE_OK || r == FRAME_CONTROL) {
		uint8_t *padded = malloc(len + 18);

		check(padded != NULL);
		memcpy(padded, p, len);
		memset(padded + len, 0xa5, 18);
		check(dp_parse_frame(padded, len + 18, UDP_PORT, a, &g) == r && frame_eq(&f, &g));
		free(padded);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct dp_addrs *a;
	uint8_t *frame;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	a = (sel & 7) == 0 ? NULL : &addr_sets[(sel & 7) > 4 ? 4 : (sel & 7)];
	/* exactly the frame's bytes: one past it is a heap overflow */
	frame = malloc(size - 1 > 0 ? size - 1 : 1);
	check(frame != NULL);
	memcpy(frame, data + 1, size - 1);
	fuzz_frame(frame, size - 1, a, sel & 8 ? TAILROOM : 0);
	free(frame);
	return 0;
}

/* ---- set-up and seeds --------------------------------------------------- */

static void
add_addr(struct dp_addrs *a, const char *s)
{
	if (strchr(s, ':') != NULL)
		check(inet_pton(AF_INET6, s, a->v6[a->n6++]) == 1);
	else
		check(inet_pton(AF_INET, s, a->v4[a->n4++]) == 1);
}

static void
seed_write(const char *dir, const char *name, uint8_t sel, const uint8_t *frame, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "wb");
	check(fp != NULL);
	check(fputc(sel, fp) == sel && fwrite(frame, 1, len, fp) == len);
	check(fclose(fp) == 0);
}

/* Insert n bytes at off of a frame of len bytes (room permitting). */
static size_t
seed_insert(uint8_t *fr, size_t len, size_t off, const uint8_t *bytes, size_t n)
{
	memmove(fr + off + n, fr + off, len - off);
	memcpy(fr + off, bytes, n);
	return len + n;
}

/* An IPv6 NS for target, from a host or from :: (duplicate address
 * detection), with or without a hop-by-hop header and the source link-layer
 * address option. */
static size_t
seed_ns(uint8_t *fr, const uint8_t *target, int dad, int hbh, int slla)
{
	static const uint8_t sol_node[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff, [15] = 2 };
	struct tf_opts o = { .ipv6 = 1, .proto = 58 };
	uint8_t icmp[32] = { 135, 0 };
	size_t len;

	memcpy(icmp + 8, target, 16);
	icmp[24] = 1;                 /* source link-layer address option */
	icmp[25] = 1;
	memcpy(icmp + 26, tf_src_mac, 6);
	/* tf_build writes a UDP header first; overwrite it with the ICMPv6 body */
	len = tf_build(fr, &o, icmp + 8, slla ? 24 : 16);
	memcpy(fr + 54, icmp, slla ? 32 : 24);
	fr[21] = 255;                 /* hop limit */
	memcpy(fr + 38, sol_node, 16);
	if (dad)
		memset(fr + 22, 0, 16);
	if (hbh) {                    /* a hop-by-hop header with PadN before it */
		const uint8_t ext[8] = { 58, 0, 1, 4, 0, 0, 0, 0 };

		len = seed_insert(fr, len, 54, ext, sizeof(ext));
		fr[20] = 0;
		wire_put_be16(fr + 18, (uint16_t)(wire_get_be16(fr + 18) + 8));
	}
	return len;
}

static void
write_seeds(const char *dir)
{
	static const struct { const char *name; struct tf_opts o; } udp[] = {
		{ "ipv4", { 0 } },
		{ "ipv4_vlan", { .vlans = 1 } },
		{ "ipv4_qinq", { .vlans = 2 } },
		{ "ipv4_padding", { .pad = 20 } },
		{ "ipv4_df", { .frag = 0x4000 } },
		{ "ipv4_mf", { .frag = 0x2000 } },
		{ "ipv4_offset", { .frag = 0x00b9 } },
		{ "ipv4_tcp", { .proto = 6 } },
		{ "ipv4_other_dst", { .dst_last = 9 } },
		{ "ipv4_udp_len_long", { .udp_len_delta = 1 } },
		{ "ipv6", { .ipv6 = 1 } },
		{ "ipv6_vlan", { .ipv6 = 1, .vlans = 1 } },
		{ "ipv6_qinq", { .ipv6 = 1, .vlans = 2 } },
		{ "ipv6_frag", { .ipv6 = 1, .frag = 1 } },
		{ "ipv6_other_dst", { .ipv6 = 1, .dst_last = 9 } },
	};
	static const uint8_t fd00_2[16] = { 0xfd, [15] = 2 };
	uint8_t payload[64], fr[2048];
	char name[64];
	size_t len, i;

	memcpy(payload, "CHT1\x01\x01", 6);    /* a chot header's start; the rest is opaque */
	memset(payload + 6, 0x5a, sizeof(payload) - 6);
	for (i = 0; i < sizeof(udp) / sizeof(udp[0]); i++) {
		len = tf_build(fr, &udp[i].o, payload, sizeof(payload));
		seed_write(dir, udp[i].name, 4, fr, len);
	}

	/* IPv4 with 12 bytes of options (NOP NOP NOP, then a record route) */
	len = tf_build(fr, &(struct tf_opts){ 0 }, payload, sizeof(payload));
	len = seed_insert(fr, len, 34, (const uint8_t[12]){ 1, 1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0 },
			  12);
	fr[14] = 0x48;
	wire_put_be16(fr + 16, (uint16_t)(wire_get_be16(fr + 16) + 12));
	seed_write(dir, "ipv4_options", 4, fr, len);

	/* IPv6: hop-by-hop, routing (type 4, segments left 0), dest options, UDP */
	len = tf_build(fr, &(struct tf_opts){ .ipv6 = 1 }, payload, sizeof(payload));
	len = seed_insert(fr, len, 54,
			  (const uint8_t[40]){ 43, 0, 1, 4, 0, 0, 0, 0,
					       60, 2, 4, 0, 0, 0, 0, 0, [16] = 0xfd, [31] = 3,
					       17, 0, 1, 4, 0, 0, 0, 0 },
			  40);
	fr[20] = 0;
	wire_put_be16(fr + 18, (uint16_t)(wire_get_be16(fr + 18) + 40));
	seed_write(dir, "ipv6_ext_chain", 4, fr, len);

	/* Long frames: a full-size IPv4 datagram (1472-byte payload), and IPv6
	 * behind 1400 bytes of destination options, so the UDP header lies far
	 * past the worker's 128-byte reply template */
	{
		static uint8_t big[1472];

		memset(big, 0x5a, sizeof(big));
		memcpy(big, payload, 6);
		len = tf_build(fr, &(struct tf_opts){ .vlans = 1 }, big, sizeof(big));
		seed_write(dir, "ipv4_full_size", 4, fr, len);
		len = tf_build(fr, &(struct tf_opts){ .ipv6 = 1 }, payload, sizeof(payload));
		memset(big, 0, 1400);
		big[0] = 17;
		big[1] = (1400 - 8) / 8;
		len = seed_insert(fr, len, 54, big, 1400);
		fr[20] = 60;
		wire_put_be16(fr + 18, (uint16_t)(wire_get_be16(fr + 18) + 1400));
		seed_write(dir, "ipv6_long_dstopts", 4, fr, len);
	}

	/* ARP who-has 10.0.0.2, plain and behind a VLAN tag; a reply; DAD-style */
	for (i = 0; i < 4; i++) {
		size_t l3 = i == 1 ? 18 : 14;

		memset(fr, 0, 60);
		memset(fr, 0xff, 6);
		memcpy(fr + 6, tf_src_mac, 6);
		if (i == 1) {
			wire_put_be16(fr + 12, 0x8100);
			wire_put_be16(fr + 14, 100);
		}
		memcpy(fr + l3 - 2, "\x08\x06\x00\x01\x08\x00\x06\x04", 8);
		fr[l3 + 7] = i == 2 ? 2 : 1;
		memcpy(fr + l3 + 8, tf_src_mac, 6);
		memcpy(fr + l3 + 14, i == 3 ? "\0\0\0\0" : "\x0a\x00\x00\x01", 4);
		memcpy(fr + l3 + 24, "\x0a\x00\x00\x02", 4);
		snprintf(name, sizeof(name), "arp_%zu", i);
		seed_write(dir, name, 4, fr, 60);
	}

	/* NS for fd00::2: from a host, for DAD, behind a hop-by-hop header, and
	 * without the option and without tailroom (no room for the answer) */
	for (i = 0; i < 4; i++) {
		len = seed_ns(fr, fd00_2, i == 1, i == 2, i != 3);
		snprintf(name, sizeof(name), "ns_%zu", i);
		seed_write(dir, name, i == 3 ? 4 : 4 | 8, fr, len);
	}
	/* the same datagram with no addresses configured, and only v6 */
	len = tf_build(fr, &(struct tf_opts){ 0 }, payload, sizeof(payload));
	seed_write(dir, "ipv4_any_dst", 0, fr, len);
	seed_write(dir, "ipv4_v6_only", 3, fr, len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	add_addr(&addr_sets[2], "10.0.0.2");
	add_addr(&addr_sets[2], "192.0.2.1");
	add_addr(&addr_sets[3], "fd00::2");
	add_addr(&addr_sets[3], "2001:db8::1");
	add_addr(&addr_sets[4], "10.0.0.2");
	add_addr(&addr_sets[4], "192.0.2.1");
	add_addr(&addr_sets[4], "fd00::2");
	add_addr(&addr_sets[4], "2001:db8::1");
	for (int i = 1; i < *argc; i++) {
		if (strncmp((*argv)[i], "--write-seeds=", 14) == 0) {
			write_seeds((*argv)[i] + 14);
			exit(0);
		}
	}
	return 0;
}
