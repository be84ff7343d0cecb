/*
 * Frames chotd sends: the UDP ACK back to a batch's source, and answers to
 * ARP requests and IPv6 neighbour solicitations for ingest.address.
 *
 * All three are pure byte builders over plain buffers (unit-tested without
 * EAL).  The ACK copies the request's L2 header (so VLAN tags are kept) and
 * swaps MACs, IP addresses and ports; ARP/ND replies are built in place.
 */
#ifndef CHOT_DP_REPLY_H
#define CHOT_DP_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "parse.h"

/*
 * Build a UDP reply to the datagram described by f, whose first
 * f->l4_off + 8 bytes are hdr, carrying payload[0..plen).  Returns the frame
 * length, or -EMSGSIZE when it does not fit cap, -EINVAL when f is not UDP,
 * -EADDRNOTAVAIL when the source is not one a reply may go to
 * (dp_src_unicast(): broadcast, multicast, unspecified, port 0).  out may
 * be hdr itself: the reply is then built in the request's own buffer.
 */
int dp_reply_udp(uint8_t *out, size_t cap, const uint8_t *hdr, const struct dp_frame *f,
		 const uint8_t *payload, size_t plen);

/*
 * Turn an ARP request for one of addrs into the reply, in place.  Returns
 * the frame length (unchanged), or -ENOENT when it is not a request for us.
 */
int dp_reply_arp(uint8_t *frame, size_t len, const struct dp_frame *f,
		 const struct dp_addrs *addrs, const uint8_t mac[6]);

/*
 * Turn an ICMPv6 neighbour solicitation for one of addrs into the
 * solicited neighbour advertisement (with our link-layer address option),
 * in place in a buffer of capacity cap.  Returns the new frame length,
 * -ENOENT when not for us, -EMSGSIZE when cap is too small.
 */
int dp_reply_nd(uint8_t *frame, size_t len, size_t cap, const struct dp_frame *f,
		const struct dp_addrs *addrs, const uint8_t mac[6]);

#endif /* CHOT_DP_REPLY_H */
