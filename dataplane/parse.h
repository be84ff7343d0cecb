/*
 * The frame parser: Ethernet, up to two 802.1Q/802.1ad tags, IPv4 or IPv6
 * (with hop-by-hop / routing / destination-options headers skipped), UDP.
 * Input is a plain (pointer, length) - the first mbuf segment - and the
 * output is where the UDP payload is plus the addressing needed to answer
 * (ACK, ARP, ND).  Every refusal is one FRAME_* reason of proto/reason.h,
 * all of which land in `not_ours`.  ARP and ICMPv6 neighbour solicitations
 * come back as FRAME_CONTROL so the caller can answer them.
 *
 * Pure: no EAL, no allocation; reads never go past len.
 */
#ifndef CHOT_DP_PARSE_H
#define CHOT_DP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "reason.h"

#define DP_ETHERTYPE_IPV4 0x0800
#define DP_ETHERTYPE_ARP  0x0806
#define DP_ETHERTYPE_VLAN 0x8100
#define DP_ETHERTYPE_QINQ 0x88a8
#define DP_ETHERTYPE_IPV6 0x86dd

/* Longest L2+L3+L4 header we keep as a reply template. */
#define DP_HDR_TMPL_MAX 128

struct dp_frame {
	uint16_t l3_off;          /* start of the IP (or ARP) header */
	uint16_t l4_off;          /* start of the UDP (or ICMPv6) header */
	uint16_t payload_off;
	uint16_t payload_len;     /* UDP payload bytes (per the UDP length) */
	uint8_t  ip_ver;          /* 4 or 6; 0 for ARP */
	uint8_t  src_ip[16];      /* IPv4 in the first 4 bytes */
	uint8_t  dst_ip[16];
	uint16_t src_port, dst_port;
};

/*
 * Parse frame[0..len).  udp_port: the protocol port; addrs: when it has any
 * address, datagrams to other destinations are FRAME_DST_ADDR (NULL: accept
 * any).  A datagram from a source no reply may go to is FRAME_SRC_ADDR.  Returns WIRE_OK (a UDP datagram for us, *f filled), FRAME_CONTROL
 * (ARP or ICMPv6 NS; l3_off / l4_off / ip fields filled), or another FRAME_*.
 */
enum chot_reason dp_parse_frame(const uint8_t *frame, size_t len, uint16_t udp_port,
				const struct dp_addrs *addrs, struct dp_frame *f);

/*
 * May a reply go to this source?  False for a broadcast or group MAC (the
 * I/G bit), an IPv4 source of 255.255.255.255, 224.0.0.0/4 or 0.0.0.0, an
 * IPv6 source in ff00::/8 or ::, and UDP port 0: none is a host's unicast
 * address, and answering one would reflect an ACK to a whole segment (or to
 * nobody).  dp_parse_frame() refuses such datagrams (FRAME_SRC_ADDR) and
 * dp_reply_udp() refuses to address a reply to one.  ip: 4 or 16 bytes.
 */
bool dp_src_unicast(const uint8_t mac[6], uint8_t ip_ver, const uint8_t *ip, uint16_t port);

/* Is ip (4 or 16 bytes per ver) one of addrs? */
int dp_addrs_has(const struct dp_addrs *addrs, uint8_t ver, const uint8_t *ip);

/* Internet checksum helpers (RFC 1071), exported for ack.c / arpnd.c. */
uint32_t dp_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t dp_csum_fold(uint32_t sum);

#endif /* CHOT_DP_PARSE_H */
