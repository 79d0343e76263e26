/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Connection tracking, shared by ingress (XDP) and egress (TC), and later by
 * the load balancer.
 *
 * Two LRU maps: fg_ct_new holds flows seen in one direction only (SYN sent,
 * first datagram); fg_ct holds flows that saw a reply. An entry moves from
 * the first to the second on the first reply. A SYN flood therefore only
 * churns fg_ct_new: established flows are never its LRU victims.
 *
 * Deadlines are absolute bpf_ktime_get_ns() values checked here, so flows
 * expire with no daemon running.
 */
#ifndef FG_CONNTRACK_BPF_H
#define FG_CONNTRACK_BPF_H

struct fg_ct_ref {
	struct fg_ct_key key;
	bool src_is_a;  /* packet's source is key.a */
	bool in_est;    /* entry found in fg_ct */
	bool found;
	bool reply;     /* packet travels against the initiator's direction */
};

static __always_inline int fg_addr_cmp(const __u8 *x, const __u8 *y)
{
	const __u32 *a = (const __u32 *)x, *b = (const __u32 *)y;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		__u32 u = bpf_ntohl(a[i]), v = bpf_ntohl(b[i]);

		if (u != v)
			return u < v ? -1 : 1;
	}
	return 0;
}

static __always_inline void fg_ct_key_make(const struct fg_pkt *p,
					   struct fg_ct_ref *r)
{
	int c = fg_addr_cmp(p->src, p->dst);
	__u16 sp = 0, dp = 0;

	if ((p->flags & FG_PKT_L4) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		sp = p->sport;
		dp = p->dport;
	}
	if (c == 0)
		c = sp <= dp ? -1 : 1;
	/* stored in network order, as the ABI says */
	sp = bpf_htons(sp);
	dp = bpf_htons(dp);
	r->src_is_a = c < 0;
	if (r->src_is_a) {
		__builtin_memcpy(r->key.a, p->src, 16);
		__builtin_memcpy(r->key.b, p->dst, 16);
		r->key.port_a = sp;
		r->key.port_b = dp;
	} else {
		__builtin_memcpy(r->key.a, p->dst, 16);
		__builtin_memcpy(r->key.b, p->src, 16);
		r->key.port_a = dp;
		r->key.port_b = sp;
	}
	r->key.family = p->family;
	r->key.proto = p->proto;
}

/* Is the packet going against the direction of the flow's initiator? */
static __always_inline bool fg_ct_is_reply(const struct fg_ct_val *v,
					   const struct fg_ct_ref *r)
{
	bool orig_a = v->flags & FG_CTF_ORIG_IS_A;

	return orig_a != r->src_is_a;
}

/* Look the packet's flow up; returns one FG_CT_* state. Global functions
 * here and below: verified once, not along every path of the pipeline. */
__noinline int fg_ct_state(const struct fg_pkt *p, struct fg_ct_ref *r)
{
	struct fg_ct_val *v;
	__u64 now;

	if (!p || !r)
		return FG_CT_NEW;
	now = bpf_ktime_get_ns();
	fg_ct_key_make(p, r);
	v = bpf_map_lookup_elem(&fg_ct, &r->key);
	if (v && v->expires_ns > now) {
		r->found = r->in_est = true;
		r->reply = fg_ct_is_reply(v, r);
		return FG_CT_ESTABLISHED;
	}
	v = bpf_map_lookup_elem(&fg_ct_new, &r->key);
	if (v && v->expires_ns > now) {
		r->found = true;
		r->reply = fg_ct_is_reply(v, r);
		return r->reply ? FG_CT_ESTABLISHED : FG_CT_NEW;
	}
	/* A TCP segment that cannot open a flow (no SYN, or SYN with ACK or
	 * RST) and belongs to none: `invalid`. */
	if (p->proto == IPPROTO_TCP && (p->flags & FG_PKT_L4) &&
	    (p->tcp_flags & (FG_TCP_SYN | FG_TCP_ACK | FG_TCP_RST)) != FG_TCP_SYN)
		return FG_CT_INVALID;
	return FG_CT_NEW;
}

static __always_inline __u64 fg_ct_timeout(__u8 state, __u8 proto)
{
	switch (state) {
	case FG_CTS_SYN_SENT:
	case FG_CTS_SYN_RECV:
		return FG_CT_TO_SYN;
	case FG_CTS_FIN_WAIT:
		return FG_CT_TO_FIN;
	case FG_CTS_CLOSE:
		return FG_CT_TO_CLOSE;
	case FG_CTS_UDP:
		return FG_CT_TO_UDP_EST;
	case FG_CTS_ICMP:
		return FG_CT_TO_ICMP;
	}
	return proto == IPPROTO_TCP ? FG_CT_TO_EST : FG_CT_TO_UDP_EST;
}

/* Established-flow bookkeeping: TCP teardown shortens the deadline. */
static __always_inline void fg_ct_touch(struct fg_ct_val *v,
					const struct fg_pkt *p,
					const struct fg_ct_ref *r, __u64 now)
{
	if (p->proto == IPPROTO_TCP && (p->flags & FG_PKT_L4)) {
		if (p->tcp_flags & FG_TCP_RST) {
			v->state = FG_CTS_CLOSE;
		} else if (p->tcp_flags & FG_TCP_FIN) {
			v->flags |= r->src_is_a ? FG_CTF_FIN_A : FG_CTF_FIN_B;
			v->state = (v->flags & FG_CTF_FIN_A) &&
						   (v->flags & FG_CTF_FIN_B)
					   ? FG_CTS_CLOSE
					   : FG_CTS_FIN_WAIT;
		}
	}
	v->packets++;
	v->bytes += p->pkt_len;
	v->expires_ns = now + fg_ct_timeout(v->state, p->proto);
}

/*
 * Record a packet that is allowed through (ingress) or sent (egress).
 * New flows start in fg_ct_new; the first reply promotes them to fg_ct.
 */
/*
 * `loose` (egress): an outbound TCP packet of a flow not tracked yet opens
 * it even without a SYN, as Linux's nf_conntrack_tcp_loose does, so that
 * connections already open when a policy starts using `state` get their
 * replies as established. Ingress stays strict: only a SYN opens a TCP
 * flow there, so inbound junk cannot pose as established.
 */
__noinline int fg_ct_commit(const struct fg_pkt *p, struct fg_ct_ref *r, __u32 loose)
{
	struct fg_ct_val *v, nv = {};
	__u64 now;

	if (!p || !r)
		return 0;
	now = bpf_ktime_get_ns();
	if (r->in_est) {
		v = bpf_map_lookup_elem(&fg_ct, &r->key);
		if (v)
			fg_ct_touch(v, p, r, now);
		return 0;
	}
	if (r->found) {
		v = bpf_map_lookup_elem(&fg_ct_new, &r->key);
		if (!v)
			return 0;
		if (!r->reply) {
			v->packets++;
			v->bytes += p->pkt_len;
			return 0; /* a retransmitted SYN keeps its deadline */
		}
		nv = *v;
		nv.flags |= FG_CTF_REPLIED;
		nv.state = p->proto == IPPROTO_TCP    ? FG_CTS_ESTABLISHED
			   : p->proto == IPPROTO_UDP  ? FG_CTS_UDP
						      : FG_CTS_ICMP;
		fg_ct_touch(&nv, p, r, now);
		bpf_map_update_elem(&fg_ct, &r->key, &nv, BPF_ANY);
		bpf_map_delete_elem(&fg_ct_new, &r->key);
		return 0;
	}
	/* Only a SYN opens a TCP flow (or, loose, any packet but a RST);
	 * other protocols open on any packet. */
	if (p->proto == IPPROTO_TCP &&
	    (!(p->flags & FG_PKT_L4) ||
	     (loose ? (p->tcp_flags & FG_TCP_RST)
		    : (p->tcp_flags & (FG_TCP_SYN | FG_TCP_ACK | FG_TCP_RST)) != FG_TCP_SYN)))
		return 0;
	nv.flags = r->src_is_a ? FG_CTF_ORIG_IS_A : 0;
	nv.state = p->proto == IPPROTO_TCP   ? FG_CTS_SYN_SENT
		   : p->proto == IPPROTO_UDP ? FG_CTS_UDP
					     : FG_CTS_ICMP;
	nv.created_ns = now;
	nv.packets = 1;
	nv.bytes = p->pkt_len;
	nv.ifindex = p->ifindex;
	nv.expires_ns = now + (p->proto == IPPROTO_TCP   ? FG_CT_TO_SYN
			       : p->proto == IPPROTO_UDP ? FG_CT_TO_UDP_NEW
							 : FG_CT_TO_ICMP);
	bpf_map_update_elem(&fg_ct_new, &r->key, &nv, BPF_ANY);
	return 0;
}

/* ICMP and ICMPv6 errors quote the datagram they are about. */
static __always_inline bool fg_icmp_error(const struct fg_pkt *p)
{
	if (!(p->flags & FG_PKT_L4))
		return false;
	if (p->family == FG_FAM_V4 && p->proto == IPPROTO_ICMP)
		return p->icmp_type == 3 || p->icmp_type == 4 || p->icmp_type == 5 ||
		       p->icmp_type == 11 || p->icmp_type == 12;
	if (p->family == FG_FAM_V6 && p->proto == IPPROTO_ICMPV6)
		return p->icmp_type >= 1 && p->icmp_type <= 4;
	return false;
}

/* Parse the quoted datagram at q (IP header, then 8 bytes of L4) into in. */
static __always_inline bool fg_quoted(void *q, void *end, __u8 family,
				      struct fg_pkt *in)
{
	__u8 *l4;

	if (family == FG_FAM_V4) {
		struct iphdr *ip = q;

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return false;
		__builtin_memcpy(in->src, &ip->saddr, 4);
		__builtin_memcpy(in->dst, &ip->daddr, 4);
		in->proto = ip->protocol;
		l4 = q + ip->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = q;

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return false;
		__builtin_memcpy(in->src, &ip6->saddr, 16);
		__builtin_memcpy(in->dst, &ip6->daddr, 16);
		in->proto = ip6->nexthdr; /* extension headers: not followed */
		l4 = (void *)(ip6 + 1);
	}
	in->family = family;
	if (in->proto == IPPROTO_TCP || in->proto == IPPROTO_UDP) {
		if ((void *)(l4 + 4) > end)
			return false;
		in->sport = ((__u16)l4[0] << 8) | l4[1];
		in->dport = ((__u16)l4[2] << 8) | l4[3];
		in->flags = FG_PKT_L4;
	}
	return true;
}

/*
 * `related`: an ICMP error quoting a datagram of a tracked flow (the quoted
 * datagram is one this side sent, so its flow is in conntrack).
 */
__noinline int fg_ct_related_xdp(struct xdp_md *ctx, const struct fg_pkt *p)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct fg_pkt in = {};
	struct fg_ct_ref r = {};
	struct fg_ct_val *v;
	__u64 now = bpf_ktime_get_ns();
	__u32 off;

	if (!p)
		return 0;
	off = p->l4_off;
	asm volatile("" : "+r"(off));
	off &= 0x3fff;
	if (!fg_quoted(data + off + 8, end, p->family, &in))
		return 0;
	fg_ct_key_make(&in, &r);
	v = bpf_map_lookup_elem(&fg_ct, &r.key);
	if (v && v->expires_ns > now)
		return 1;
	v = bpf_map_lookup_elem(&fg_ct_new, &r.key);
	return v && v->expires_ns > now;
}

#endif /* FG_CONNTRACK_BPF_H */
