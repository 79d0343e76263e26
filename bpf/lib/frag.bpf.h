/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Fragments. A non-first fragment carries no L4 header, so it takes the
 * verdict its first fragment got, remembered here by (addresses, id, and
 * for IPv4 the protocol), and is counted on the same rule. A later fragment whose offset would
 * overlap the first fragment's L4 header (RFC 1858: rewriting ports after
 * classification) is dropped as frag_overlap.
 */
#ifndef FG_FRAG_BPF_H
#define FG_FRAG_BPF_H

static __always_inline void fg_frag_key_make(const struct fg_pkt *p,
					     struct fg_frag_key *k)
{
	__builtin_memcpy(k->src, p->src, 16);
	__builtin_memcpy(k->dst, p->dst, 16);
	k->id = p->frag_id;
	k->family = p->family;
	/* IPv4 datagrams are (src, dst, protocol, id) (RFC 791); IPv6 ones
	 * (src, dst, id) alone (RFC 8200), as the kernel reassembles them: a
	 * later fragment claiming another next header still belongs to the
	 * first fragment's datagram, and must meet its overlap check. */
	k->proto = p->family == FG_FAM_V4 ? p->frag_next : 0;
}

/* First fragment: remember its verdict for the rest, and where its L4
 * header ends inside the fragmentable part (behind IPv6 extension headers
 * that is further than the L4 header's own size). */
static __always_inline void fg_frag_remember(const struct fg_pkt *p,
					     __u8 action, __u8 reason,
					     __u32 stat_slot, __u64 now)
{
	struct fg_frag_key k = {};
	struct fg_frag_val v = {
		.expires_ns = now + FG_FRAG_TIMEOUT_NS,
		.stat_slot = stat_slot,
		.action = action,
		.reason = reason,
	};

	if ((p->flags & FG_PKT_L4) && p->l4_off >= p->frag_data)
		v.l4_end = p->l4_off - p->frag_data + fg_l4_min(p->proto);

	fg_frag_key_make(p, &k);
	bpf_map_update_elem(&fg_frag, &k, &v, BPF_ANY);
}

/* Later fragment: the first's verdict, or NULL when it was never seen. */
static __always_inline struct fg_frag_val *fg_frag_lookup(const struct fg_pkt *p,
							   __u64 now)
{
	struct fg_frag_key k = {};
	struct fg_frag_val *v;

	fg_frag_key_make(p, &k);
	v = bpf_map_lookup_elem(&fg_frag, &k);
	if (v && v->expires_ns > now)
		return v;
	return NULL;
}

#endif /* FG_FRAG_BPF_H */
