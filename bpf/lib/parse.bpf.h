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

#define FG_IPV4_MF 0x2000
#define FG_IPV4_OFFMASK 0x1fff

struct fg_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct fg_frag6_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off; /* offset << 3 | M */
	__be32 id;
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
		if (pkt->family == FG_FAM_V6 && pkt->proto == IPPROTO_ICMPV6 &&
		    ic[0] >= 133 && ic[0] <= 137)
			pkt->flags |= FG_PKT_ND;
	}
	pkt->flags |= FG_PKT_L4;
	return FG_R_NONE;
}

static __always_inline int fg_parse_ipv4(void *nh, void *end, struct fg_pkt *pkt,
					 __u32 *l4_off)
{
	struct iphdr *iph = nh;
	__u32 ihl, tot;
	__u16 frag;
	void *l3_end;

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
	l3_end = nh + tot;

	pkt->family = FG_FAM_V4;
	pkt->proto = iph->protocol;
	__builtin_memcpy(pkt->src, &iph->saddr, 4);
	__builtin_memcpy(pkt->dst, &iph->daddr, 4);

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (FG_IPV4_MF | FG_IPV4_OFFMASK)) {
		pkt->flags |= FG_PKT_FRAG;
		pkt->frag_id = bpf_ntohs(iph->id);
		if (frag & FG_IPV4_OFFMASK) {
			pkt->flags |= FG_PKT_FRAG_LATER;
			pkt->frag_off = frag & FG_IPV4_OFFMASK;
			return FG_R_NONE;
		}
	}
	*l4_off = ihl;
	return fg_parse_l4(nh + ihl, end, l3_end, pkt);
}

/*
 * IPv6 and its extension header chain. Each header is bounded-size, so the
 * verifier can follow the cursor; the loop is unrolled FG_MAX_EXT_HDRS+1
 * times and a header left over after that is too_many_ext_headers.
 */
static __always_inline int fg_parse_ipv6(void *nh, void *end, struct fg_pkt *pkt,
					 __u32 *l4_off)
{
	struct ipv6hdr *ip6 = nh;
	void *cur, *l3_end;
	__u32 plen;
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
	l3_end = (void *)(ip6 + 1) + plen;

	pkt->family = FG_FAM_V6;
	__builtin_memcpy(pkt->src, &ip6->saddr, 16);
	__builtin_memcpy(pkt->dst, &ip6->daddr, 16);

	cur = ip6 + 1;
	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < FG_MAX_EXT_HDRS + 1; i++) {
		__u8 *eh = cur;
		__u32 len;

		switch (next) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			goto l4;
		}
		if (i == FG_MAX_EXT_HDRS)
			return FG_R_TOO_MANY_EXT_HEADERS;
		if (cur + 8 > l3_end)
			return FG_R_TRUNCATED;
		if (cur + 8 > end)
			return FG_R_TRUNCATED;
		if (next == IPPROTO_FRAGMENT) {
			struct fg_frag6_hdr *fh = cur;
			__u16 off = bpf_ntohs(fh->frag_off);

			len = 8;
			/* An atomic fragment (offset 0, no M) is no fragment. */
			if (off & 0xfff9) {
				pkt->flags |= FG_PKT_FRAG;
				pkt->frag_id = bpf_ntohl(fh->id);
				if (off >> 3) {
					pkt->flags |= FG_PKT_FRAG_LATER;
					pkt->proto = fh->nexthdr;
					pkt->frag_off = off >> 3;
					return FG_R_NONE;
				}
			}
		} else if (next == IPPROTO_AH) {
			len = ((__u32)eh[1] + 2) * 4;
		} else {
			len = ((__u32)eh[1] + 1) * 8;
		}
		next = eh[0];
		cur += len;
	}
l4:
	pkt->proto = next;
	*l4_off = cur - nh;
	return fg_parse_l4(cur, end, l3_end, pkt);
}

/* Whole frame. On FG_R_NONE pkt->family says whether it is IP at all. */
static __always_inline int fg_parse(void *data, void *end, struct fg_pkt *pkt)
{
	struct ethhdr *eth = data;
	void *nh = data + sizeof(*eth);
	__u32 l4_off = 0;
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
		return fg_parse_ipv4(nh, end, pkt, &l4_off);
	if (proto == bpf_htons(FG_ETH_P_IPV6))
		return fg_parse_ipv6(nh, end, pkt, &l4_off);
	pkt->family = FG_FAM_NONE;
	return FG_R_NONE;
}

/* Global (verified once) entry points of the parser for each hook. */
__noinline int fg_parse_xdp(struct xdp_md *ctx, struct fg_pkt *pkt)
{
	if (!pkt)
		return FG_R_TRUNCATED;
	return fg_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, pkt);
}

__noinline int fg_parse_skb(struct __sk_buff *skb, struct fg_pkt *pkt)
{
	if (!pkt)
		return FG_R_TRUNCATED;
	return fg_parse((void *)(long)skb->data, (void *)(long)skb->data_end, pkt);
}

#endif /* FG_PARSE_BPF_H */
