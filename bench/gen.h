/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * gen.h: what pktgen (user space) and gen.bpf.c (its XDP program) share: the
 * frame template, the ranges the program varies and the checksum parts
 * pktgen computes once so that the program only adds the varied words.
 */
#ifndef FLOWGATE_BENCH_GEN_H
#define FLOWGATE_BENCH_GEN_H

#include <linux/types.h>

/* Bytes of header the program rewrites on every packet: Ethernet (14) +
 * IPv4 without options (20) + TCP without options (20). A UDP frame's bytes
 * after its 8-byte header are payload, zero in the template. */
#define GEN_HDR_LEN 54
/* Smallest frame: the Ethernet minimum without FCS; also >= GEN_HDR_LEN. */
#define GEN_MIN_FRAME 60

/* Offsets into the frame of the fields the program writes. */
#define GEN_OFF_IP_CSUM 24
#define GEN_OFF_SADDR 26
#define GEN_OFF_SPORT 34
#define GEN_OFF_DPORT 36
#define GEN_OFF_TCP_CSUM 50

enum gen_flags {
	GEN_F_TCP = 1 << 0,    /* TCP SYN; else UDP with checksum 0 */
	GEN_F_RANDOM = 1 << 1, /* random offsets; else an odometer over the ranges */
};

struct gen_cfg {
	/* Headers as on the wire, varied fields zero; 8-aligned so the
	 * program copies it in 8-byte words. */
	__u8 tmpl[GEN_HDR_LEN] __attribute__((aligned(8)));
	__u16 flags;	   /* enum gen_flags */
	__u32 saddr;	   /* host order: first source address */
	__u32 src_range;   /* source addresses saddr .. saddr + src_range - 1 (>= 1) */
	__u16 sport;	   /* host order: first source port */
	__u16 dport;	   /* host order: first destination port */
	__u32 sport_range; /* >= 1; sport + offset wraps at 65536 */
	__u32 dport_range; /* >= 1 */
	/* One's-complement sums (unfolded, of 16-bit words loaded in host
	 * order) of the IPv4 header and of the TCP pseudo-header + segment,
	 * each with its checksum and varied fields zero. */
	__u32 ip_sum;
	__u32 tcp_sum;
	__u32 pad;
};

/* Where the sequential odometer stands, and how many frames were made. */
struct gen_state {
	__u64 frames;
	__u32 src_off;
	__u32 sport_off;
	__u32 dport_off;
	__u32 pad;
};

#endif /* FLOWGATE_BENCH_GEN_H */
