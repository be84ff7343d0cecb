/*
 * chot-sockbase: the socket baseline of DESIGN §7 (socket_baseline_events_per_s).
 *
 * The same decode, validate and dedupe code chotd runs (libchotwire +
 * libchotdp), behind a plain recvmmsg UDP loop on loopback: the kernel path a
 * user would otherwise write.  Two modes in one binary:
 *
 *   chot-sockbase [recv] [--file-prefix P] [--] --keys FILE [--port N] ...
 *       the receiver (sockbase.c): EAL for the rte_hash tables only;
 *   chot-sockbase feed --pcap FILE --to HOST:PORT [--loops N]
 *       the feeder (feed.c): no EAL; sends the UDP payloads of a
 *       `chot-flood gen` pcap with sendmmsg as fast as the kernel takes them.
 */
#ifndef CHOT_SOCKBASE_H
#define CHOT_SOCKBASE_H

#define SB_BURST 64     /* datagrams per recvmmsg / sendmmsg */

/* The feeder's main (argv[0] is "feed"); exit status. */
int sb_feed_main(int argc, char **argv);

#endif /* CHOT_SOCKBASE_H */
