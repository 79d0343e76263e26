/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The classifier: first matching rule, without walking the rule list.
 *
 * Every rule entry (struct fg_ent) is indexed on ONE field chosen by the
 * compiler (src, dst, sport, dport), or on none (the wild list). A lookup
 * per field maps the packet's value to a class; the class's list holds,
 * sorted by rule index, exactly the entries indexed on that field whose
 * value matches. The first match is the smallest rule index over the five
 * lists that also verifies on its other fields. Each list walk stops at the
 * first verified entry or at an entry beyond the best found so far, so the
 * cost follows the list lengths, not the rule count. See docs/datapath.md.
 */
#ifndef FG_CLASSIFY_BPF_H
#define FG_CLASSIFY_BPF_H

#define FG_NO_RULE 0xffffffffu

struct fg_walk {
	const struct fg_pkt *pkt; /* the caller's; valid for the whole walk */
	__u64 src_sets; /* named sets holding pkt.src (class setmask) */
	__u64 dst_sets;
	__u32 slot;     /* generation slot, read once per packet */
	__u32 off;      /* first entry of the list being walked */
	__u32 best;     /* smallest matching rule index so far */
};

static __always_inline bool fg_pfx_match(const __u8 *addr, const __u8 *net,
					 __u32 len)
{
	const __u32 *a = (const __u32 *)addr, *n = (const __u32 *)net;
	int w;

#pragma unroll
	for (w = 0; w < 4; w++) {
		__u32 bits, mask;

		if (len <= (__u32)w * 32)
			break;
		bits = len - w * 32;
		mask = bits >= 32 ? 0xffffffffu : ~(0xffffffffu >> bits);
		if ((a[w] ^ n[w]) & bpf_htonl(mask))
			return false;
	}
	return true;
}

/* Does entry e match the packet on all the fields it constrains? */
static __always_inline bool fg_ent_match(const struct fg_ent *e,
					 const struct fg_walk *w)
{
	const struct fg_pkt *p = w->pkt;
	__u16 m = e->match;

	if ((m & FG_M_FAMILY) && e->family != p->family)
		return false;
	if ((m & FG_M_PROTO) && e->proto != p->proto)
		return false;
	if ((m & (FG_M_SPORT | FG_M_DPORT | FG_M_TCPF)) &&
	    !(p->flags & FG_PKT_L4))
		return false;
	if ((m & FG_M_SPORT) && (p->sport < e->sport_lo || p->sport > e->sport_hi))
		return false;
	if ((m & FG_M_DPORT) && (p->dport < e->dport_lo || p->dport > e->dport_hi))
		return false;
	if ((m & FG_M_TCPF) && ((p->tcp_flags & e->tcp_set) != e->tcp_set ||
				(p->tcp_flags & e->tcp_clear)))
		return false;
	if ((m & FG_M_IFACE) && e->ifindex != p->ifindex)
		return false;
	if ((m & FG_M_STATE) && !(p->ct_state & e->state_mask))
		return false;
	if ((m & FG_M_SRCSET) && !((w->src_sets >> (e->src_set & 63)) & 1))
		return false;
	if ((m & FG_M_DSTSET) && !((w->dst_sets >> (e->dst_set & 63)) & 1))
		return false;
	if ((m & FG_M_SRC) && !fg_pfx_match(p->src, e->src_net, e->src_len))
		return false;
	if ((m & FG_M_DST) && !fg_pfx_match(p->dst, e->dst_net, e->dst_len))
		return false;
	return true;
}

/* Heap accessors. A generation's heap is read-only while packets use it. */
static __always_inline void *fg_heap_at(void *heap, __u32 idx)
{
	return bpf_map_lookup_elem(heap, &idx);
}

/* Element idx (of n) of a table packed `per` to a slot from slot `base`. */
static __always_inline void *fg_heap_elem(void *heap, __u32 base, __u32 idx,
					  __u32 n, __u32 per, __u32 size)
{
	__u8 *slot;

	if (idx >= n)
		return NULL;
	slot = fg_heap_at(heap, base + idx / per);
	if (!slot)
		return NULL;
	return slot + (idx & (per - 1)) * size;
}

static __always_inline struct fg_class *fg_class_at(void *heap,
						    const struct fg_heap_hdr *h,
						    __u32 id)
{
	return fg_heap_elem(heap, h->class_base, id, h->nclasses,
			    FG_HEAP_CLASSES_PER_SLOT, sizeof(struct fg_class));
}

static long fg_walk_cb(__u32 i, void *arg)
{
	struct fg_walk *w = arg;
	struct fg_ent *e;
	void *heap;

	/* Inner map pointers cannot be carried into a callback: look the
	 * generation's heap up again (an inlined array access). */
	heap = bpf_map_lookup_elem(&fg_o_heap, &w->slot);
	if (!heap)
		return 1;
	e = fg_heap_at(heap, w->off + i);
	if (!e || e->rule >= w->best)
		return 1; /* sorted: nothing better further down */
	if (fg_ent_match(e, w)) {
		w->best = e->rule;
		return 1;
	}
	return 0;
}

static __always_inline void fg_walk_list(struct fg_walk *w,
					 const struct fg_heap_hdr *h,
					 const struct fg_class *c)
{
	if (!c || !c->len)
		return;
	w->off = h->ent_base + c->off;
	bpf_loop(c->len, fg_walk_cb, w, 0);
}

static __always_inline __u32 fg_lpm_class(void *lpm, __u8 tag, const __u8 *addr,
					  bool v6)
{
	struct fg_lpm_key k = {};
	__u32 *cls;

	k.tag = tag;
	if (v6) {
		k.prefixlen = 8 + 128;
		__builtin_memcpy(k.addr, addr, 16);
	} else {
		k.prefixlen = 8 + 32;
		__builtin_memcpy(k.addr, addr, 4);
	}
	cls = bpf_map_lookup_elem(lpm, &k);
	return cls ? *cls : 0;
}

/* IPv4 class: the root table and bucket trees of abi.h. */
static __always_inline __u32 fg_v4_entry(void *heap, __u32 table, __u32 idx)
{
	__u32 *v = fg_heap_at(heap, table + idx / 16);

	return v ? v[idx & 15] : 0;
}

static __always_inline __u32 fg_v4_bucket(void *heap, __u32 slot, __u32 x)
{
	struct fg_v4_bucket *b = fg_heap_at(heap, slot);
	__u32 i, idx = 0;

	if (!b)
		return 0;
	/* Branch-free: keys and x are below 2^16, so the sign of the 32-bit
	 * difference is the comparison. Written with branches, the verifier
	 * walked every combination of the nine outcomes. */
#pragma unroll
	for (i = 0; i < FG_V4_BUCKET_KEYS; i++) {
		__u32 le = 1 ^ (((x - (__u32)b->key[i]) >> 31) & 1);
		__u32 used = ((i - (__u32)b->n) >> 31) & 1;

		idx += le & used;
	}
	return b->cls[idx];
}

/* A subprogram, not inlined: verified once per call site instead of
 * multiplying the states of everything after the two calls. */
static __noinline __u32 fg_v4_class(void *heap, __u32 root, __u32 addr)
{
	__u32 e, lvl;

	if (!heap)
		return 0;
	e = fg_v4_entry(heap, root, addr >> 16);
#pragma clang loop unroll(disable)
	for (lvl = 0; lvl < FG_V4_MAX_DEPTH; lvl++) {
		if ((e & FG_V4_TYPE_MASK) != FG_V4_BUCKET)
			break;
		e = fg_v4_bucket(heap, e & FG_V4_VALUE_MASK, addr & 0xffff);
	}
	return e & FG_V4_VALUE_MASK;
}

static __always_inline __u32 fg_port_class(void *heap, const struct fg_heap_hdr *h,
					   __u32 idx)
{
	__u32 *v = fg_heap_at(heap, h->port_base + idx / FG_HEAP_PORTS_PER_SLOT);

	return v ? v[idx & (FG_HEAP_PORTS_PER_SLOT - 1)] : 0;
}

/*
 * Classify w->pkt with generation w->slot. Returns the first matching
 * rule's index, or FG_NO_RULE.
 *
 * A global function: the verifier checks it once, on its own, instead of
 * once per path of the caller (inlined, the program exceeded the
 * verifier's budget). It therefore takes only the packet and the slot,
 * and looks the generation's maps up again, two array accesses.
 */
__noinline __u32 fg_classify(struct fg_pkt *pkt, __u32 slot)
{
	__u32 cs = 0, cd = 0, csp = 0, cdp = 0, zero = 0;
	struct fg_class *c_src, *c_dst;
	struct fg_walk wk, *w = &wk;
	struct fg_heap_hdr *h;
	const struct fg_pkt *p;
	void *heap, *lpm;
	bool v6;

	if (!pkt)
		return FG_NO_RULE;
	/* bpf_loop wants its context on this frame's stack */
	wk.pkt = pkt;
	wk.slot = slot;
	p = pkt;
	v6 = p->family == FG_FAM_V6;
	heap = bpf_map_lookup_elem(&fg_o_heap, &w->slot);
	if (!heap)
		return FG_NO_RULE;
	h = bpf_map_lookup_elem(heap, &zero);
	if (!h)
		return FG_NO_RULE;
	if (!v6) {
		cs = fg_v4_class(heap, h->v4_src_root,
				 bpf_ntohl(*(const __u32 *)p->src));
		cd = fg_v4_class(heap, h->v4_dst_root,
				 bpf_ntohl(*(const __u32 *)p->dst));
	} else {
		lpm = bpf_map_lookup_elem(&fg_o_lpm, &w->slot);
		if (lpm) {
			cs = fg_lpm_class(lpm, FG_TAG_SRC6, p->src, true);
			cd = fg_lpm_class(lpm, FG_TAG_DST6, p->dst, true);
		}
	}
	if ((p->flags & FG_PKT_L4) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		csp = fg_port_class(heap, h, p->sport);
		cdp = fg_port_class(heap, h, 65536 + (__u32)p->dport);
	}
	/* Both set masks are needed before any list is verified. */
	c_src = fg_class_at(heap, h, cs);
	c_dst = fg_class_at(heap, h, cd);
	w->src_sets = c_src ? c_src->setmask : 0;
	w->dst_sets = c_dst ? c_dst->setmask : 0;
	w->best = FG_NO_RULE;
	fg_walk_list(w, h, c_src);
	fg_walk_list(w, h, c_dst);
	fg_walk_list(w, h, fg_class_at(heap, h, csp));
	fg_walk_list(w, h, fg_class_at(heap, h, cdp));
	fg_walk_list(w, h, fg_class_at(heap, h, h->wild_class));
	return w->best;
}

#endif /* FG_CLASSIFY_BPF_H */
