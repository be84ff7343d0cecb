/*
 * chot-flood's frames (frame.h): Ethernet/802.1Q/IPv4/IPv6/UDP framing with
 * real checksums, and the pcap file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "flood.h"
#include "frame.h"

#define APPLIANCE_MAC "\x02\x00\x00\x00\x00\x01"

static uint16_t
csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t
csum_add(uint32_t sum, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)b[i] << 8 | b[i + 1];
	if (n & 1)
		sum += (uint32_t)b[n - 1] << 8;
	return sum;
}

uint8_t *
fl_build_frame(const struct frame_spec *fs, const uint8_t *payload, size_t plen, uint32_t *out_len)
{
	uint8_t *f = calloc(1, 14 + 4 + 40 + 8 + plen);
	size_t off = 0, l3;
	uint16_t sport = (uint16_t)(40000 + fs->device_id % 20000);
	uint32_t dev = fs->device_id;

	memcpy(f, APPLIANCE_MAC, 6);
	f[6] = 0x02; f[7] = 0x10;
	wire_put_be32(f + 8, dev);
	off = 12;
	if (fs->vlan) {
		wire_put_be16(f + off, 0x8100);
		wire_put_be16(f + off + 2, (uint16_t)(100 + dev % 16));
		off += 4;
	}
	if (fs->ethertype_override) {
		wire_put_be16(f + off, fs->ethertype_override);
		off += 2;
		memcpy(f + off, payload, plen);
		*out_len = (uint32_t)(off + plen);
		return f;
	}
	wire_put_be16(f + off, fs->ipv6 ? 0x86dd : 0x0800);
	off += 2;
	l3 = off;
	if (!fs->ipv6) {
		uint8_t *ip = f + l3;

		ip[0] = 0x45;
		wire_put_be16(ip + 2, (uint16_t)(20 + 8 + plen));
		wire_put_be16(ip + 4, (uint16_t)dev);
		if (fs->fragment)
			wire_put_be16(ip + 6, 0x2000);   /* MF: first fragment */
		ip[8] = 64;
		ip[9] = 17;
		ip[12] = 10; ip[13] = (uint8_t)(dev >> 16); ip[14] = (uint8_t)(dev >> 8);
		ip[15] = (uint8_t)dev;
		ip[16] = 192; ip[17] = 0; ip[18] = 2; ip[19] = 1;
		wire_put_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		off = l3 + 20;
	} else {
		uint8_t *ip = f + l3;

		ip[0] = 0x60;
		wire_put_be16(ip + 4, (uint16_t)(8 + plen));
		ip[6] = 17;
		ip[7] = 64;
		ip[8] = 0x20; ip[9] = 0x01; ip[10] = 0x0d; ip[11] = 0xb8; ip[13] = 1;
		wire_put_be32(ip + 20, dev);
		ip[24] = 0x20; ip[25] = 0x01; ip[26] = 0x0d; ip[27] = 0xb8; ip[39] = 1;
		off = l3 + 40;
	}
	wire_put_be16(f + off, sport);
	wire_put_be16(f + off + 2, fs->dst_port);
	wire_put_be16(f + off + 4, (uint16_t)(8 + plen));
	memcpy(f + off + 8, payload, plen);
	if (fs->ipv6) {
		uint32_t sum = csum_add(0, f + l3 + 8, 32);
		uint16_t c;

		sum += 17 + (uint32_t)(8 + plen);
		sum = csum_add(sum, f + off, 8 + plen);
		c = csum_fold(sum);
		wire_put_be16(f + off + 6, c ? c : 0xffff);
	}
	*out_len = (uint32_t)(off + 8 + plen);
	return f;
}

int
fl_write_pcap(const struct fl_province *p, const char *path)
{
	pcap_t *pc = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *dump;

	if (pc == NULL)
		return -ENOMEM;
	dump = pcap_dump_open(pc, path);
	if (dump == NULL) {
		fprintf(stderr, "chot-flood: %s: %s\n", path, pcap_geterr(pc));
		pcap_close(pc);
		return -EIO;
	}
	for (uint32_t i = 0; i < p->n_frames; i++) {
		const struct fl_frame *f = &p->frames[i];
		struct pcap_pkthdr h = {
			.ts = { .tv_sec = (time_t)(f->t_ms / 1000),
				.tv_usec = (suseconds_t)(f->t_ms % 1000 * 1000 + i % 1000) },
			.caplen = f->len, .len = f->len,
		};

		pcap_dump((u_char *)dump, &h, f->data);
	}
	pcap_dump_close(dump);
	pcap_close(pc);
	return 0;
}
