/*
 * chot-flood's frames: a UDP payload wrapped in Ethernet (optionally
 * 802.1Q), IPv4 or IPv6 and UDP, addressed to the appliance, and the pcap
 * file of a province's frames (frame.c).
 */
#ifndef CHOT_FLOOD_FRAME_H
#define CHOT_FLOOD_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct frame_spec {
	uint32_t device_id;
	bool ipv6, vlan;
	uint16_t dst_port;
	uint16_t ethertype_override;   /* non-IP junk */
	bool fragment;
};

/* Wrap a UDP payload into a frame from device fs->device_id: malloc'd bytes, length in *out_len. */
uint8_t *fl_build_frame(const struct frame_spec *fs, const uint8_t *payload, size_t plen,
			uint32_t *out_len);

#endif /* CHOT_FLOOD_FRAME_H */
