/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Ingress parser: Ethernet, up to FG_MAX_VLANS tags, IPv4 (with options) or
 * IPv6 (with up to FG_MAX_EXT_HDRS extension headers), then TCP, UDP, ICMP,
 * ICMPv6. Fills struct fg_pkt. Returns FG_R_NONE to continue, or the reason
 * the frame is malformed. Works on XDP and TC (direct packet access).
 *
 * Lengths: `end` is the frame end (verifier bound); `l3_end` is where the IP
 * header says the datagram ends. Ethernet padding (l3_end < end) is normal.
 * A datagram longer than the frame is bad_totlen: the frame was cut.
 */
#ifndef FG_PARSE_BPF_H
#define FG_PARSE_BPF_H

#define FG_ETH_P_IP 0x0800
#define FG_ETH_P_IPV6 0x86DD
#define FG_ETH_P_8021Q 0x8100
#define FG_ETH_P_8021AD 0x88A8

#define FG_MAX_L3_OFF 0x3fff

#define FG_IPV4_MF 0x2000
#define FG_IPV4_OFFMASK 0x1fff

struct fg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* Minimum L4 header a first fragment must carry whole, and that a later
 * fragment must not overlap (RFC 1858). 0 = no L4 header we look at. */
static __always_inline __u32 fg_l4_min(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return sizeof(struct tcphdr);
	case IPPROTO_UDP:
		return sizeof(struct udphdr);
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

/* L4: ports, flags, ICMP type. `l4` is checked against both ends here. */
static __always_inline int fg_parse_l4(void *l4, void *end, void *l3_end,
				       struct fg_pkt *pkt)
{
	__u32 need = fg_l4_min(pkt->proto);

	if (!need)
		return FG_R_NONE;
	if (l4 + need > l3_end) {
		/* The datagram itself is too short for its L4 header. */
		return (pkt->flags & FG_PKT_FRAG) ? FG_R_TINY_FRAGMENT
						  : FG_R_TRUNCATED;
	}
	if (l4 + 8 > end)
		return FG_R_TRUNCATED;

	if (pkt->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__u32 doff;

		if ((void *)(th + 1) > end)
			return FG_R_TRUNCATED;
		doff = th->doff * 4;
		if (doff < sizeof(*th))
			return FG_R_BAD_DOFF;
		if (l4 + doff > l3_end)
			return (pkt->flags & FG_PKT_FRAG) ? FG_R_TINY_FRAGMENT
							  : FG_R_BAD_DOFF;
		pkt->sport = bpf_ntohs(th->source);
		pkt->dport = bpf_ntohs(th->dest);
		pkt->tcp_flags = ((__u8 *)th)[13];
	} else if (pkt->proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		pkt->sport = bpf_ntohs(uh->source);
		pkt->dport = bpf_ntohs(uh->dest);
	} else {
		__u8 *ic = l4;

		pkt->icmp_type = ic[0];
		pkt->icmp_code = ic[1];
		/* RFC 6980: fragmented neighbour discovery is not ND. */
		if (pkt->family == FG_FAM_V6 && pkt->proto == IPPROTO_ICMPV6 &&
		    ic[0] >= 133 && ic[0] <= 137 && !(pkt->flags & FG_PKT_FRAG))
			pkt->flags |= FG_PKT_ND;
	}
	pkt->flags |= FG_PKT_L4;
	return FG_R_NONE;
}

static __always_inline int fg_parse_ipv4(void *data, void *nh, void *end,
					 struct fg_pkt *pkt, __u32 *l4_off,
					 __u32 *l3_end)
{
	struct iphdr *iph = nh;
	__u32 ihl, tot;
	__u16 frag;

	if ((void *)(iph + 1) > end)
		return FG_R_TRUNCATED;
	if (iph->version != 4)
		return FG_R_BAD_VERSION;
	ihl = iph->ihl * 4;
	if (ihl < sizeof(*iph))
		return FG_R_BAD_IHL;
	if (nh + ihl > end)
		return FG_R_BAD_IHL;
	tot = bpf_ntohs(iph->tot_len);
	if (tot < ihl)
		return FG_R_BAD_TOTLEN;
	if (nh + tot > end)
		return FG_R_BAD_TOTLEN;

	pkt->family = FG_FAM_V4;
	pkt->proto = iph->protocol;
	__builtin_memcpy(pkt->src, &iph->saddr, 4);
	__builtin_memcpy(pkt->dst, &iph->daddr, 4);

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (FG_IPV4_MF | FG_IPV4_OFFMASK)) {
		pkt->flags |= FG_PKT_FRAG;
		pkt->frag_id = bpf_ntohs(iph->id);
		pkt->frag_next = iph->protocol;
		pkt->frag_data = (nh - data) + ihl;
		if (frag & FG_IPV4_OFFMASK) {
			pkt->flags |= FG_PKT_FRAG_LATER;
			pkt->frag_off = frag & FG_IPV4_OFFMASK;
			return FG_R_NONE;
		}
	}
	*l4_off = (nh - data) + ihl;
	*l3_end = (nh - data) + tot;
	return FG_R_NONE;
}

static __always_inline bool fg_is_ext_hdr(__u8 next)
{
	return next == IPPROTO_HOPOPTS || next == IPPROTO_ROUTING ||
	       next == IPPROTO_DSTOPTS || next == IPPROTO_AH ||
	       next == IPPROTO_FRAGMENT;
}

/* Copy n bytes at frame offset off (XDP or TC); 0 or < 0. */
static __always_inline long fg_load(void *ctx, bool xdp, __u32 off, void *buf,
				    __u32 n)
{
	return xdp ? bpf_xdp_load_bytes(ctx, off, buf, n)
		   : bpf_skb_load_bytes(ctx, off, buf, n);
}

/*
 * IPv6 and its extension header chain, up to FG_MAX_EXT_HDRS headers. The
 * walk reads each header with a load helper at a scalar offset in a real
 * loop: with direct packet pointers and an unrolled loop, the three header
 * length formulas made the verifier follow every combination of them.
 * Offsets returned are from the frame start.
 */
static __always_inline int fg_parse_ipv6(void *ctx, bool xdp, void *data,
					 void *nh, void *end, struct fg_pkt *pkt,
					 __u32 *l4_off, __u32 *l3_end)
{
	struct ipv6hdr *ip6 = nh;
	__u32 plen, off, stop;
	__u8 next;
	int i;

	if ((void *)(ip6 + 1) > end)
		return FG_R_TRUNCATED;
	if (ip6->version != 6)
		return FG_R_BAD_VERSION;
	plen = bpf_ntohs(ip6->payload_len);
	/* payload_len 0 is a jumbogram (RFC 2675): not supported, malformed. */
	if (plen == 0 && ip6->nexthdr != IPPROTO_NONE)
		return FG_R_BAD_TOTLEN;
	if ((void *)(ip6 + 1) + plen > end)
		return FG_R_BAD_TOTLEN;

	pkt->family = FG_FAM_V6;
	__builtin_memcpy(pkt->src, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst, &ip6->daddr, 16);

	off = (void *)(ip6 + 1) - data;
	stop = off + plen;
	next = ip6->nexthdr;
#pragma clang loop unroll(disable)
	for (i = 0; i <= FG_MAX_EXT_HDRS; i++) {
		__u8 eh[8];

		if (!fg_is_ext_hdr(next))
			break;
		if (i == FG_MAX_EXT_HDRS)
			return FG_R_TOO_MANY_EXT_HEADERS;
		if (off + 8 > stop || fg_load(ctx, xdp, off, eh, 8))
			return FG_R_TRUNCATED;
		if (next == IPPROTO_FRAGMENT) {
			__u16 fo = ((__u16)eh[2] << 8) | eh[3];

			/* An atomic fragment (offset 0, no M) is no fragment. */
			if (fo & 0xfff9) {
				pkt->flags |= FG_PKT_FRAG;
				pkt->frag_next = eh[0];
				pkt->frag_data = off + 8;
				pkt->frag_id = ((__u32)eh[4] << 24) | ((__u32)eh[5] << 16) |
					       ((__u32)eh[6] << 8) | eh[7];
				if (fo >> 3) {
					pkt->flags |= FG_PKT_FRAG_LATER;
					pkt->proto = eh[0];
					pkt->frag_off = fo >> 3;
					return FG_R_NONE;
				}
			}
			off += 8;
		} else if (next == IPPROTO_AH) {
			off += ((__u32)eh[1] + 2) * 4;
		} else {
			off += ((__u32)eh[1] + 1) * 8;
		}
		next = eh[0];
	}
	pkt->proto = next;
	*l4_off = off;
	*l3_end = stop;
	return FG_R_NONE;
}

/*
 * L2 and L3 of a frame: fills pkt and, for IP, the L4 header's offset and
 * where the datagram ends (both from the frame start). On FG_R_NONE,
 * pkt->family says whether the frame is IP at all.
 */
static __always_inline int fg_parse_l3(void *ctx, bool xdp, void *data, void *end,
				       struct fg_pkt *pkt, __u32 *l4_off,
				       __u32 *l3_end)
{
	struct ethhdr *eth = data;
	void *nh = data + sizeof(*eth);
	__u16 proto;
	int i;

	if (nh > end)
		return FG_R_TRUNCATED;
	proto = eth->h_proto;
#pragma unroll
	for (i = 0; i < FG_MAX_VLANS + 1; i++) {
		struct fg_vlan_hdr *vh = nh;

		if (proto != bpf_htons(FG_ETH_P_8021Q) &&
		    proto != bpf_htons(FG_ETH_P_8021AD))
			break;
		if (i == FG_MAX_VLANS)
			return FG_R_TOO_MANY_VLANS;
		if ((void *)(vh + 1) > end)
			return FG_R_TRUNCATED;
		proto = vh->proto;
		nh = vh + 1;
	}
	pkt->l3_off = nh - data;
	if (proto == bpf_htons(FG_ETH_P_IP))
		return fg_parse_ipv4(data, nh, end, pkt, l4_off, l3_end);
	if (proto == bpf_htons(FG_ETH_P_IPV6))
		return fg_parse_ipv6(ctx, xdp, data, nh, end, pkt, l4_off, l3_end);
	return FG_R_NONE; /* family stays FG_FAM_NONE */
}

/* L4 at offsets given by fg_parse_l3. Bounds are re-derived from `end`. */
static __always_inline int fg_parse_l4_at(void *data, void *end, struct fg_pkt *pkt,
					  __u32 l4_off, __u32 l3_end)
{
	/* The verifier grants packet range only while offset + access stays
	 * under 64 KiB, so offsets are bounded. The L4 header starts early in
	 * any real frame; a datagram may end far beyond 16 KiB (generic XDP
	 * and TC see GRO/GSO packets of up to 64 KiB), and only serves as the
	 * L4 header's upper bound, so clamp it rather than refuse. */
	if (l4_off > FG_MAX_L3_OFF)
		return FG_R_TRUNCATED;
	if (l3_end > FG_MAX_L3_OFF)
		l3_end = FG_MAX_L3_OFF;
	/* The verifier needs each bound on the register the pointer is made
	 * from; clang fuses the checks above and drops a plain mask, so mask
	 * values it cannot see through. */
	asm volatile("" : "+r"(l4_off), "+r"(l3_end));
	l4_off &= FG_MAX_L3_OFF;
	l3_end &= FG_MAX_L3_OFF;
	pkt->l4_off = l4_off;
	return fg_parse_l4(data + l4_off, end, data + l3_end, pkt);
}

/*
 * Global functions, each verified once on its own: inlined, the L4 parser
 * was re-verified at every exit of the extension-header walk and the
 * parser alone used half of the verifier's instruction budget.
 */
__noinline int fg_l4_xdp(struct xdp_md *ctx, struct fg_pkt *pkt, __u32 l4_off,
			 __u32 l3_end)
{
	if (!pkt)
		return FG_R_TRUNCATED;
	return fg_parse_l4_at((void *)(long)ctx->data, (void *)(long)ctx->data_end,
			      pkt, l4_off, l3_end);
}

__noinline int fg_l4_skb(struct __sk_buff *skb, struct fg_pkt *pkt, __u32 l4_off,
			 __u32 l3_end)
{
	if (!pkt)
		return FG_R_TRUNCATED;
	return fg_parse_l4_at((void *)(long)skb->data, (void *)(long)skb->data_end,
			      pkt, l4_off, l3_end);
}

static __always_inline bool fg_needs_l4(int r, const struct fg_pkt *pkt)
{
	return r == FG_R_NONE && pkt->family != FG_FAM_NONE &&
	       !(pkt->flags & FG_PKT_FRAG_LATER);
}

/*
 * The common frame, parsed inline at constant offsets: untagged Ethernet,
 * IPv4 without options, not a fragment, an L4 header we read (TCP, UDP,
 * ICMP) lying whole inside both the datagram and the frame, or another
 * protocol; and a frame with room for a TCP header (any frame of the
 * 60-byte Ethernet minimum). Fills pkt exactly as fg_parse_xdp would and
 * returns true; anything else returns false with pkt untouched, for
 * fg_parse_xdp.
 */
static __always_inline bool fg_parse_fast(struct xdp_md *ctx, struct fg_pkt *pkt)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u8 *l4 = (void *)(ip + 1);
	__u32 tot, need;
	__u8 proto;

	if ((void *)(l4 + sizeof(struct tcphdr)) > end)
		return false;
	/* 16-bit loads: struct ethhdr is packed, so eth->h_proto would be
	 * read a byte at a time */
	if (*(__u16 *)((__u8 *)eth + 12) != bpf_htons(FG_ETH_P_IP) || *(__u8 *)ip != 0x45 ||
	    (ip->frag_off & bpf_htons(FG_IPV4_MF | FG_IPV4_OFFMASK)))
		return false;
	tot = bpf_ntohs(ip->tot_len);
	if (data + sizeof(*eth) + tot > end)
		return false;
	proto = ip->protocol;
	need = fg_l4_min(proto);
	if (proto == IPPROTO_TCP) {
		need = (l4[12] >> 4) * 4;
		if (need < sizeof(struct tcphdr))
			return false;
	}
	if (sizeof(*ip) + need > tot)
		return false;
	pkt->family = FG_FAM_V4;
	pkt->proto = proto;
	__builtin_memcpy(pkt->src, &ip->saddr, 4);
	__builtin_memcpy(pkt->dst, &ip->daddr, 4);
	pkt->l3_off = sizeof(*eth);
	pkt->l4_off = sizeof(*eth) + sizeof(*ip);
	if (!need)
		return true; /* no L4 header we read */
	if (proto == IPPROTO_TCP || proto == IPPROTO_UDP) {
		pkt->sport = bpf_ntohs(*(__u16 *)l4);
		pkt->dport = bpf_ntohs(*(__u16 *)(l4 + 2));
		if (proto == IPPROTO_TCP)
			pkt->tcp_flags = l4[13];
	} else { /* ICMP, or ICMPv6 over IPv4 (not neighbour discovery) */
		pkt->icmp_type = l4[0];
		pkt->icmp_code = l4[1];
	}
	pkt->flags |= FG_PKT_L4;
	return true;
}

__noinline int fg_parse_xdp(struct xdp_md *ctx, struct fg_pkt *pkt)
{
	__u32 l4 = 0, l3_end = 0;
	int r;

	if (!pkt)
		return FG_R_TRUNCATED;
	r = fg_parse_l3(ctx, true, (void *)(long)ctx->data,
			(void *)(long)ctx->data_end, pkt, &l4, &l3_end);
	if (!fg_needs_l4(r, pkt))
		return r;
	return fg_l4_xdp(ctx, pkt, l4, l3_end);
}

__noinline int fg_parse_skb(struct __sk_buff *skb, struct fg_pkt *pkt)
{
	__u32 l4 = 0, l3_end = 0;
	int r;

	if (!pkt)
		return FG_R_TRUNCATED;
	r = fg_parse_l3(skb, false, (void *)(long)skb->data,
			(void *)(long)skb->data_end, pkt, &l4, &l3_end);
	if (!fg_needs_l4(r, pkt))
		return r;
	return fg_l4_skb(skb, pkt, l4, l3_end);
}

#endif /* FG_PARSE_BPF_H */
