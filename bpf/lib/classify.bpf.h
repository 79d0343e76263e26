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
	__u32 off;      /* first entry of the list being walked */
	__u32 best;     /* smallest matching rule index so far */
	__u32 best_slot;    /* its stat slot and verdict (fg_ent copies) */
	__u32 best_verdict;
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

/* Heap accessors: direct accesses into this generation's fg_heap, which is
 * read-only while packets use it. */
static __always_inline void *fg_heap_at(__u32 idx)
{
	return bpf_map_lookup_elem(&fg_heap, &idx);
}

/* Element idx (of n) of a table packed `per` to a slot from slot `base`. */
static __always_inline void *fg_heap_elem(__u32 base, __u32 idx, __u32 n,
					  __u32 per, __u32 size)
{
	__u8 *slot;

	if (idx >= n)
		return NULL;
	slot = fg_heap_at(base + idx / per);
	if (!slot)
		return NULL;
	return slot + (idx & (per - 1)) * size;
}

static __always_inline struct fg_class *fg_class_at(__u32 id)
{
	return fg_heap_elem(fg_cfg.class_base, id, fg_cfg.nclasses,
			    FG_HEAP_CLASSES_PER_SLOT, sizeof(struct fg_class));
}

static long fg_walk_cb(__u32 i, void *arg)
{
	struct fg_walk *w = arg;
	struct fg_ent *e;

	e = fg_heap_at(w->off + i);
	if (!e || e->rule >= w->best)
		return 1; /* sorted: nothing better further down */
	if (fg_ent_match(e, w)) {
		w->best = e->rule;
		w->best_slot = e->stat_slot;
		w->best_verdict = e->verdict;
		return 1;
	}
	return 0;
}

static __always_inline void fg_walk_list(struct fg_walk *w, __u32 off, __u32 len)
{
	if (!len)
		return;
	w->off = fg_cfg.ent_base + off;
	bpf_loop(len, fg_walk_cb, w, 0);
}

/* The list of a tree or port table value (abi.h): inline, or the class's;
 * returns the class's named-set mask (none for an inline list). */
static __always_inline __u64 fg_leaf_list(__u32 v, __u32 *off, __u32 *len)
{
	struct fg_class *c;

	if ((v & FG_V4_TYPE_MASK) == FG_V4_LIST) {
		*off = v & FG_LIST_OFF_MASK;
		*len = (v >> FG_LIST_LEN_SHIFT) & FG_LIST_MAX_LEN;
		return 0;
	}
	c = fg_class_at(v & FG_V4_VALUE_MASK);
	*off = c ? c->off : 0;
	*len = c ? c->len : 0;
	return c ? c->setmask : 0;
}

static __always_inline __u32 fg_lpm_class(__u8 tag, const __u8 *addr, bool v6)
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
	cls = bpf_map_lookup_elem(&fg_lpm, &k);
	return cls ? *cls : 0;
}

/* IPv4 class: the root table and bucket trees of abi.h. */
static __always_inline __u32 fg_v4_entry(__u32 table, __u32 idx)
{
	__u32 *v = fg_heap_at(table + idx / 16);

	return v ? v[idx & 15] : 0;
}

static __always_inline __u32 fg_v4_bucket(__u32 slot, __u32 x)
{
	struct fg_v4_bucket *b = fg_heap_at(slot);
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

/* From a root entry down the buckets to the class or list. A subprogram,
 * not inlined: verified once per call site instead of multiplying the
 * states of everything after the two calls. */
static __noinline __u32 fg_v4_class(__u32 e, __u32 addr)
{
	__u32 lvl;

#pragma clang loop unroll(disable)
	for (lvl = 0; lvl < FG_V4_MAX_DEPTH; lvl++) {
		if ((e & FG_V4_TYPE_MASK) != FG_V4_BUCKET)
			break;
		e = fg_v4_bucket(e & FG_V4_VALUE_MASK, addr & 0xffff);
	}
	return e;
}

static __always_inline __u32 fg_port_class(__u32 idx)
{
	__u32 *v = fg_heap_at(fg_cfg.port_base + idx / FG_HEAP_PORTS_PER_SLOT);

	return v ? v[idx & (FG_HEAP_PORTS_PER_SLOT - 1)] : 0;
}

/* Load the first entry of each list before any walk starts, so their
 * cache misses overlap instead of coming one per walk (BPF has no
 * prefetch; a load whose result is kept alive does the same). */
static __always_inline void fg_touch_heads(const __u32 *off, const __u32 *len)
{
	__u32 i, sink = 0;

#pragma unroll
	for (i = 0; i < 4; i++) {
		struct fg_ent *e = len[i] ? fg_heap_at(fg_cfg.ent_base + off[i]) : NULL;

		if (e)
			sink ^= e->rule;
	}
	asm volatile("" : : "r"(sink));
}

/*
 * Classify pkt with this generation's tables: the first matching rule's
 * index (or FG_NO_RULE), stat slot, action and flags into *out.
 *
 * A global function: the verifier checks it once, on its own, instead of
 * once per path of the caller (inlined, the program exceeded the
 * verifier's budget).
 */
__noinline int fg_classify(struct fg_pkt *pkt, struct fg_flow_val *out)
{
	__u32 cs = 0, cd = 0, csp = FG_V4_LIST, cdp = FG_V4_LIST, off[4], len[4];
	struct fg_walk wk, *w = &wk;
	struct fg_class *c;
	const struct fg_pkt *p;
	bool v6;

	if (!pkt || !out)
		return 0;
	/* bpf_loop wants its context on this frame's stack */
	wk.pkt = pkt;
	p = pkt;
	v6 = p->family == FG_FAM_V6;
	if (!v6) {
		__u32 a = bpf_ntohl(*(const __u32 *)p->src);
		__u32 b = bpf_ntohl(*(const __u32 *)p->dst);

		/* both roots first: two independent cache misses in flight
		 * at once instead of one after the other */
		cs = fg_v4_entry(fg_cfg.v4_src_root, a >> 16);
		cd = fg_v4_entry(fg_cfg.v4_dst_root, b >> 16);
		cs = fg_v4_class(cs, a);
		cd = fg_v4_class(cd, b);
	} else {
		cs = fg_lpm_class(FG_TAG_SRC6, p->src, true);
		cd = fg_lpm_class(FG_TAG_DST6, p->dst, true);
	}
	if ((p->flags & FG_PKT_L4) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		if (fg_cfg.flags & FG_GEN_F_SPORT_IDX)
			csp = fg_port_class(p->sport);
		if (fg_cfg.flags & FG_GEN_F_DPORT_IDX)
			cdp = fg_port_class(65536 + (__u32)p->dport);
	}
	/* Both set masks are needed before any list is verified. */
	w->src_sets = fg_leaf_list(cs, &off[0], &len[0]);
	w->dst_sets = fg_leaf_list(cd, &off[1], &len[1]);
	fg_leaf_list(csp, &off[2], &len[2]);
	fg_leaf_list(cdp, &off[3], &len[3]);
	fg_touch_heads(off, len);
	w->best = FG_NO_RULE;
	w->best_slot = 0;
	w->best_verdict = 0;
	fg_walk_list(w, off[0], len[0]);
	fg_walk_list(w, off[1], len[1]);
	fg_walk_list(w, off[2], len[2]);
	fg_walk_list(w, off[3], len[3]);
	c = fg_class_at(fg_cfg.wild_class);
	if (c)
		fg_walk_list(w, c->off, c->len);
	out->rule = w->best;
	out->stat_slot = w->best_slot;
	out->action = w->best_verdict & 0xf;
	out->rule_flags = w->best_verdict >> 4;
	return 1;
}

#endif /* FG_CLASSIFY_BPF_H */
