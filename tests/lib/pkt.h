/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Packet crafting for tests: a struct pkt_spec says what a frame holds,
 * pkt_build() writes it (checksums right unless asked otherwise), and
 * pkt_expect() says what a correct parser makes of it: the struct fg_pkt
 * and the fg_reason (FG_R_NONE for a well-formed frame). Tests compare the
 * datapath's parse against that with pkt_cmp().
 *
 * Usage:
 *	struct pkt_spec s;
 *	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
 *	s.dport = 22;
 *	len = pkt_build(&s, buf, sizeof(buf));
 *	reason = pkt_expect(&s, &want);
 *
 * Truncations: a truncated frame is the first `len` bytes of the full one;
 * pkt_expect_len(&s, len, &want) gives the expectation for any len.
 *
 * Overrides (PKT_OV_*) write a field as given instead of the computed value;
 * the layout does not move. With PKT_OV_IHL the L4 header stays after the
 * real options, so only the reason is meaningful when ihl*4 differs from
 * the real header length.
 */
#ifndef FG_TEST_PKT_H
#define FG_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>

#include "flowgate/abi.h"

#define PKT_ETH_P_IP 0x0800
#define PKT_ETH_P_ARP 0x0806
#define PKT_ETH_P_8021Q 0x8100
#define PKT_ETH_P_8021AD 0x88a8
#define PKT_ETH_P_IPV6 0x86dd
#define PKT_ETH_P_LLDP 0x88cc

/* More than the datapath accepts, so that "too many" can be built. */
#define PKT_MAX_VLANS 3
#define PKT_MAX_EXT 16
#define PKT_MAX_IPOPTS 40
#define PKT_MAX_TCPOPTS 40
/* Largest frame pkt_build() is asked for in practice (jumbo-ish). */
#define PKT_MAX_FRAME 9216

enum pkt_l3 {
	PKT_L3_V4 = 1,
	PKT_L3_V6,
	PKT_L3_ARP,
	PKT_L3_RAW, /* ethertype + payload: LLDP or anything non-IP */
};

struct pkt_vlan {
	uint16_t tpid; /* PKT_ETH_P_8021Q or PKT_ETH_P_8021AD */
	uint16_t tci;  /* PCP/DEI/VID as on the wire */
};

/*
 * One IPv6 extension header. `type` is IPPROTO_HOPOPTS, IPPROTO_ROUTING,
 * IPPROTO_DSTOPTS, IPPROTO_FRAGMENT or IPPROTO_AH (anything else is written
 * like a hop-by-hop header). `hlen` is the header's own length field:
 * bytes = (hlen + 1) * 8, for AH (hlen + 2) * 4; ignored for a fragment
 * header, which is always 8 bytes.
 */
struct pkt_ext {
	uint8_t type;
	uint8_t hlen;
	uint16_t frag_off; /* fragment: offset in 8-byte units (13 bits) */
	bool frag_more;	   /* fragment: M flag */
	uint32_t frag_id;  /* fragment: identification */
};

/* pkt_spec.ov: fields written as given instead of computed. */
#define PKT_OV_IHL (1u << 0)	    /* ipv4 ihl = spec.ihl */
#define PKT_OV_TOTLEN (1u << 1)	    /* ipv4 tot_len / ipv6 payload_len */
#define PKT_OV_DOFF (1u << 2)	    /* tcp doff = spec.doff */
#define PKT_OV_VERSION (1u << 3)    /* IP version nibble = spec.ip_version */
#define PKT_OV_UDPLEN (1u << 4)	    /* udp length = spec.udp_len */
#define PKT_OV_BAD_IPCSUM (1u << 5) /* ipv4 header checksum off by one */
#define PKT_OV_BAD_L4CSUM (1u << 6) /* L4 checksum off by one */
#define PKT_OV_UDP_NOCSUM (1u << 7) /* ipv4 UDP checksum 0 (none) */

struct pkt_spec {
	/* L2 */
	uint8_t eth_dst[6], eth_src[6];
	int nvlans; /* 0..PKT_MAX_VLANS, outermost first */
	struct pkt_vlan vlans[PKT_MAX_VLANS];
	int l3;		    /* enum pkt_l3 */
	uint16_t ethertype; /* PKT_L3_RAW only */

	/* L3, both families; addresses as in struct fg_pkt (v4 in [0..3]) */
	uint8_t src[16], dst[16];
	uint8_t ttl;   /* ipv4 ttl / ipv6 hop limit */
	uint8_t tos;   /* ipv4 tos / ipv6 traffic class */
	uint8_t proto; /* L4 protocol (after every extension header) */

	/* IPv4 */
	uint16_t ip_id;
	uint16_t frag_off; /* offset in 8-byte units; non-zero: no L4 header */
	bool frag_mf;
	bool frag_df;
	uint8_t ip_opts[PKT_MAX_IPOPTS]; /* padded with EOL to 4 bytes */
	uint8_t ip_optlen;

	/* IPv6 */
	uint32_t flow_label;
	int next; /* extension headers, in order, before L4 */
	struct pkt_ext ext[PKT_MAX_EXT];

	/* L4. A non-first fragment carries no L4 header, only payload. */
	uint16_t sport, dport; /* TCP/UDP */
	uint8_t tcp_flags;     /* FG_TCP_* */
	uint32_t seq, ack;
	uint16_t window, urg_ptr;
	uint8_t tcp_opts[PKT_MAX_TCPOPTS]; /* padded with EOL to 4 bytes */
	uint8_t tcp_optlen;
	uint8_t icmp_type, icmp_code; /* ICMP / ICMPv6 */
	uint32_t icmp_rest;	      /* bytes 4..7 (echo id<<16 | seq) */

	/* ARP (PKT_L3_ARP): sender/target protocol address from src/dst */
	uint16_t arp_op; /* 1 request, 2 reply */

	/* Payload after the last header: payload[] or, when NULL, a pattern
	 * (byte i = i & 0xff). */
	const uint8_t *payload;
	size_t payload_len;
	/* Ethernet padding: zero bytes appended up to this frame length. */
	size_t pad_to;

	/* Overrides */
	uint32_t ov; /* PKT_OV_* */
	uint8_t ihl, doff, ip_version;
	uint16_t tot_len, udp_len;
};

/* Where pkt_build() put things (offsets from the frame start). */
struct pkt_layout {
	size_t l3_off;	/* IP or ARP header, or the raw payload */
	size_t l3_hlen; /* IPv4 header incl. options; 40 for IPv6 */
	int next;	/* extension headers written */
	size_t ext_off[PKT_MAX_EXT];
	size_t ext_len[PKT_MAX_EXT];
	size_t l4_off; /* 0: no L4 header written */
	size_t l4_hlen;
	size_t payload_off;
	size_t ip_end; /* end of the IP datagram (before padding) */
	size_t len;    /* whole frame */
};

/* Defaults: MACs 02:00:00:00:00:02 <- :01, ttl 64, addresses
 * 192.0.2.1 -> 192.0.2.2 or 2001:db8::1 -> 2001:db8::2, ports 40000 -> 80,
 * TCP SYN with window 65535, ICMP/ICMPv6 echo request, ARP request. */
void pkt_spec_init(struct pkt_spec *s, int l3, uint8_t proto);

/* Parse "10.0.0.1" or "2001:db8::1" into the fg_pkt address layout.
 * Returns FG_FAM_V4, FG_FAM_V6, or -1 when it is neither. */
int pkt_addr(uint8_t out[16], const char *text);

/* Add a VLAN tag / an IPv6 extension header; return the new count or -1. */
int pkt_add_vlan(struct pkt_spec *s, uint16_t tpid, uint16_t vid);
int pkt_add_ext(struct pkt_spec *s, uint8_t type, uint8_t hlen);
int pkt_add_frag6(struct pkt_spec *s, uint16_t off, bool more, uint32_t id);

/* Compute where everything goes; 0, or -EINVAL for a spec out of bounds. */
int pkt_layout(const struct pkt_spec *s, struct pkt_layout *lay);

/* Write the frame into buf; returns its length, 0 if it does not fit in cap
 * or the spec is out of bounds. `lay` (optional) receives the layout. */
size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap);
size_t pkt_build_layout(const struct pkt_spec *s, uint8_t *buf, size_t cap, struct pkt_layout *lay);

/*
 * What a correct parser extracts from the frame pkt_build(s) writes. Fills
 * *out (ifindex and ct_state left 0) and returns an enum fg_reason:
 * FG_R_NONE when the frame parses (out->family FG_FAM_NONE for non-IP), or
 * -1 when the spec is out of bounds or the outcome would depend on payload
 * bytes (an IPv6 `proto` that is itself an extension header number, a RAW
 * frame with an IP or VLAN ethertype). The rules, checked in this order
 * (they are those of bpf/lib/parse.bpf.h):
 *  - frame < 14 bytes, or a VLAN tag cut: truncated; a tag beyond
 *    FG_MAX_VLANS: too_many_vlans. A tag whose TPID is neither 0x8100 nor
 *    0x88a8 is an ethertype: the frame is non-IP.
 *  - IPv4: < 20 bytes: truncated; version != 4: bad_version; ihl < 5 or
 *    ihl*4 past the frame: bad_ihl; tot_len < ihl*4 or past the frame:
 *    bad_totlen. MF or offset: FG_PKT_FRAG and frag_id; offset != 0:
 *    FG_PKT_FRAG_LATER and frag_off, and no L4.
 *  - IPv6: < 40 bytes: truncated; version != 6: bad_version; payload_len 0
 *    (unless next header is 59) or past the frame: bad_totlen. Extension
 *    headers (0, 43, 60, 51, 44): one more than FG_MAX_EXT_HDRS is
 *    too_many_ext_headers; a header whose first 8 bytes pass the datagram's
 *    end is truncated. A fragment header with offset or M: FG_PKT_FRAG and
 *    frag_id; offset != 0: FG_PKT_FRAG_LATER, frag_off, proto = its next
 *    header, and the walk stops. An atomic fragment is no fragment.
 *  - L4 (TCP 20, UDP 8, ICMP/ICMPv6 8 bytes minimum, either family): the
 *    datagram too short for it: tiny_fragment if a fragment, else
 *    truncated. TCP doff < 5: bad_doff; doff*4 past the datagram:
 *    tiny_fragment if a fragment, else bad_doff. ICMPv6 133..137: FG_PKT_ND.
 * So a frame cut inside its IP datagram is bad_totlen once the IP header
 * itself is whole. Later-fragment overlap (RFC 1858) is not a parse error:
 * the caller judges it from frag_off.
 */
int pkt_expect(const struct pkt_spec *s, struct fg_pkt *out);

/* The same for the frame cut to its first `len` bytes (every truncation of
 * a frame is its length: run len = 0 .. full length - 1). */
int pkt_expect_len(const struct pkt_spec *s, size_t len, struct fg_pkt *out);

/*
 * Compare a parser's output with an expectation, field by field, only where
 * the fields are defined (addresses and proto for IP, ports for TCP/UDP with
 * FG_PKT_L4, frag_id/frag_off for fragments, ...). Returns true when equal;
 * otherwise writes the first difference to why.
 */
bool pkt_cmp(const struct fg_pkt *want, const struct fg_pkt *got, char *why, size_t whylen);

/* Internet checksum of buf folded with a running sum (start at 0). */
uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len);
uint16_t pkt_csum_fold(uint32_t sum);

/* Format an fg_pkt on one line, for failure messages. */
void pkt_format(const struct fg_pkt *p, char *buf, size_t len);

#endif /* FG_TEST_PKT_H */
