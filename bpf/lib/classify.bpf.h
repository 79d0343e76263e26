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

/* Lists a packet may have to walk: src, dst, sport, dport, src set hash,
 * dst set hash, wild. */
#define FG_WALK_LISTS 7

struct fg_walk {
	const struct fg_pkt *pkt; /* the caller's; valid for the whole walk */
	__u64 src_sets; /* named sets holding pkt.src (class setmask) */
	__u64 dst_sets;
	__u32 best;     /* smallest matching rule index so far */
	__u32 best_slot;    /* its stat slot and verdict (fg_ent copies) */
	__u32 best_verdict;
	/* The non-empty lists, walked one after the other in one bpf_loop
	 * (one call site: the verifier checks the callback once, not once per
	 * list and per combination of empty ones). */
	__u32 nlists, cur;  /* how many; which one is being walked */
	__u32 pos, end;     /* heap slots: its next entry, one past its last */
	__u32 off[8], len[8]; /* heap slot of each list's first entry, length */
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

/* One entry of the current list; at its end (a match, an entry beyond the
 * best so far: lists are sorted by rule, or no more entries) on to the
 * next list. bpf_loop runs it at most once per entry of all lists. */
static long fg_walk_cb(__u32 i, void *arg)
{
	struct fg_walk *w = arg;
	struct fg_ent *e = fg_heap_at(w->pos);

	if (e && e->rule < w->best) {
		if (fg_ent_match(e, w)) {
			w->best = e->rule;
			w->best_slot = e->stat_slot;
			w->best_verdict = e->verdict;
		} else if (++w->pos < w->end) {
			return 0;
		}
	}
	if (++w->cur >= w->nlists)
		return 1;
	w->pos = w->off[w->cur & 7];
	w->end = w->pos + w->len[w->cur & 7];
	return 0;
}

/* Move list i to place n of the walk (n <= i: in place, front to back);
 * an empty list takes no place. Branch-free, so the verifier follows one
 * path whatever lists are empty. */
static __always_inline __u32 fg_walk_add(struct fg_walk *w, __u32 n, __u32 i)
{
	__u32 off = w->off[i], len = w->len[i];

	w->off[n & 7] = fg_cfg.ent_base + off;
	w->len[n & 7] = len;
	return n + ((len | -len) >> 31);
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

static __always_inline __u32 fg_bucket_pick(const struct fg_v4_bucket *b, __u32 x)
{
	__u32 i, idx = 0;

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

static __always_inline __u32 fg_v4_bucket(__u32 slot, __u32 x)
{
	struct fg_v4_bucket *b = fg_heap_at(slot);

	return b ? fg_bucket_pick(b, x) : 0;
}

/*
 * Set hashes (abi.h): 1 if IPv4 table h of field f holds the prefix of
 * addr, else 0. Both buckets are loaded before either is compared, so
 * their misses overlap.
 * Eight keys are compared as four 64-bit words: a 32-bit lane of
 * x = word ^ (key, key) is zero iff it holds the key, and
 * (x - 0x0000000100000001) & ~x has a lane's top bit set for some lane
 * iff some lane is zero (a false top bit comes only from the borrow of a
 * zero lane below it).
 */
static __always_inline __u32 fg_v4_hash_hit(int f, int h, __u32 addr)
{
	const volatile struct fg_v4_hash *t = &fg_hcfg.t[f][h];
	__u32 key = addr >> t->shift;
	__u64 kk = (__u64)key << 32 | key, acc = 0;
	__u64 *w[2];
	int i, j;

	if (t->rbits) {
		/* compact table (abi.h): one 8-byte bucket of four 16-bit
		 * entries per choice, compared as 16-bit lanes */
		__u32 r = t->rbits - 1, lmask = 0xffffffffu >> t->shift;
		__u64 x, q[2] = { 0, 0 };
		__u8 *slot[2];

#pragma unroll
		for (i = 0; i < 2; i++) {
			__u32 pi = (key * t->mul[i]) & lmask, b = pi >> r;

			slot[i] = fg_heap_at(t->base + b / 8);
			q[i] = (__u64)((pi & ((1u << r) - 1)) | (__u32)i << r) *
			       0x0001000100010001ULL;
			if (slot[i])
				q[i] ^= *(__u64 *)(slot[i] + (b & 7) * 8);
			else
				q[i] = ~0ULL;
		}
#pragma unroll
		for (i = 0; i < 2; i++) {
			x = q[i];
			acc |= (x - 0x0001000100010001ULL) & ~x;
		}
		acc &= 0x8000800080008000ULL;
		return (acc | -acc) >> 63;
	}

#pragma unroll
	for (i = 0; i < 2; i++) {
		__u32 b = ((__u64)(__u32)(key * t->mul[i]) * t->nbuckets) >> 32;
		__u8 *slot = fg_heap_at(t->base + b / 2);

		w[i] = slot ? (__u64 *)(slot + (b & 1) * (FG_V4_HASH_WAYS * 4)) : NULL;
	}
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (!w[i])
			continue;
#pragma unroll
		for (j = 0; j < FG_V4_HASH_WAYS / 2; j++) {
			__u64 x = w[i][j] ^ kk;

			acc |= (x - 0x0000000100000001ULL) & ~x;
		}
	}
	acc &= 0x8000000080000000ULL;
	/* 1 iff acc != 0, without a branch: the verifier would otherwise
	 * follow every combination of hits through the rest of the walk.
	 * The key of 255.255.255.255/32 is FG_V4_HASH_EMPTY, which every
	 * unused way holds: never a hit (that /32 stays in the tree). */
	key += 1;
	return ((acc | -acc) >> 63) & ((key | -key) >> 31);
}

/* The same for IPv6 tables (abi.h): 16-byte keys, four a bucket, one
 * bucket a slot; a key matches when both its words do. */
static __always_inline __u32 fg_v6_hash_hit(int f, int h, const __u8 *addr)
{
	const volatile struct fg_v6_hash *t = &fg_hcfg.t6[f][h];
	__u64 hi = *(const __u64 *)addr & t->mask[0];
	__u64 lo = *(const __u64 *)(addr + 8) & t->mask[1];
	__u64 hit = 0, x, *w[2];
	int i, j;

#pragma unroll
	for (i = 0; i < 2; i++) {
		__u64 m = hi * t->mul[i] + lo * t->mul[i ^ 1];
		__u32 b = ((m >> 32) * t->nbuckets) >> 32;

		w[i] = fg_heap_at(t->base + b);
	}
#pragma unroll
	for (i = 0; i < 2; i++) {
		if (!w[i])
			continue;
#pragma unroll
		for (j = 0; j < FG_V6_HASH_WAYS; j++) {
			/* (x - 1) & ~x has its top bit set iff x == 0:
			 * arithmetic, where a comparison would be a branch */
			x = (w[i][2 * j] ^ hi) | (w[i][2 * j + 1] ^ lo);
			hit |= (x - 1) & ~x;
		}
	}
	/* the all-ones key marks unused ways: never a hit */
	x = ~(hi & lo);
	return (hit >> 63) & (((x - 1) & ~x) >> 63 ^ 1);
}

/* Bit f * FG_SET_HASHES + h set: IPv6 table h of field f holds the
 * address. */
static __always_inline __u32 fg_v6_hash_hits(const __u8 *src, const __u8 *dst)
{
	__u32 hits = 0;
	int h;

#pragma unroll
	for (h = 0; h < FG_SET_HASHES; h++) {
		if (fg_hcfg.t6[0][h].base)
			hits |= fg_v6_hash_hit(0, h, src) << h;
		if (fg_hcfg.t6[1][h].base)
			hits |= fg_v6_hash_hit(1, h, dst) << (FG_SET_HASHES + h);
	}
	return hits;
}

/* Bit f * FG_SET_HASHES + h set: table h of field f holds the address. */
static __always_inline __u32 fg_v4_hash_hits(__u32 a, __u32 b)
{
	__u32 hits = 0;
	int h;

#pragma unroll
	for (h = 0; h < FG_SET_HASHES; h++) {
		if (fg_hcfg.t[0][h].base)
			hits |= fg_v4_hash_hit(0, h, a) << h;
		if (fg_hcfg.t[1][h].base)
			hits |= fg_v4_hash_hit(1, h, b) << (FG_SET_HASHES + h);
	}
	return hits;
}

/*
 * Probe the set hashes of family v6 (a constant) for pkt's addresses
 * (abi.h): the class of the tables that hold the source (low 32 bits) and
 * the destination (high 32 bits); class 0, the empty one, when none does.
 * Every probe is branch-free, so the hits are values the verifier does
 * not know and their combinations do not multiply its paths through the
 * walk. Inlined: as a global function it cost ~15 ns a new flow. Stack:
 * fg_xdp_gen, fg_classify and fg_v4_class take 480 of the 512 bytes the
 * verifier allows three nested frames (472 before it rounds each frame).
 */
static __always_inline __u64 fg_set_hash_classes(const struct fg_pkt *pkt, const int v6)
{
	__u32 hits;

	if (v6)
		hits = fg_v6_hash_hits(pkt->src, pkt->dst);
	else
		hits = fg_v4_hash_hits(bpf_ntohl(*(const __u32 *)pkt->src),
				       bpf_ntohl(*(const __u32 *)pkt->dst));
	return (__u64)fg_hcfg.cls[v6][1][(hits >> FG_SET_HASHES) &
					 ((1u << FG_SET_HASHES) - 1)] << 32 |
	       fg_hcfg.cls[v6][0][hits & ((1u << FG_SET_HASHES) - 1)];
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

/* IPv6 class (abi.h): from a field's root down the digit trees. hi and lo
 * are the address's two halves in host order; each node or table names
 * its digit, which is picked and shifted out without a branch. A global function:
 * verified once, on its own, with e unknown (as a static subprogram each
 * of its exits went on through the rest of fg_classify, and a digit
 * index carried from step to step made every step's states distinct:
 * past the verifier's 1M instructions). */
__noinline __u32 fg_v6_class(__u32 e, __u64 hi, __u64 lo)
{
	__u32 step;

#pragma clang loop unroll(disable)
	for (step = 0; step < FG_V6_MAX_STEPS; step++) {
		const struct fg_v4_bucket *b;
		__u32 k, d;
		__u64 w;

		if ((e & FG_V4_TYPE_MASK) == FG_V6_TABLE) {
			k = (e >> FG_V6_TABLE_SHIFT) & 7;
			w = hi ^ ((hi ^ lo) & -(__u64)(k >> 2));
			d = (w >> (48 - 16 * (k & 3))) & 0xffff;
			e = fg_v4_entry(e & FG_V6_TABLE_SLOT, d);
			continue;
		}
		if ((e & FG_V4_TYPE_MASK) != FG_V4_BUCKET)
			return e;
		b = fg_heap_at(e & FG_V4_VALUE_MASK);
		if (!b)
			return 0;
		k = b->digit & 7;
		w = hi ^ ((hi ^ lo) & -(__u64)(k >> 2));
		e = fg_bucket_pick(b, (w >> (48 - 16 * (k & 3))) & 0xffff);
	}
	return 0; /* deeper than the compiler builds: not reached */
}

static __always_inline __u32 fg_port_class(__u32 idx)
{
	__u32 *v = fg_heap_at(fg_cfg.port_base + idx / FG_HEAP_PORTS_PER_SLOT);

	return v ? v[idx & (FG_HEAP_PORTS_PER_SLOT - 1)] : 0;
}

/* Load the first entry of each list (but the wild one, which is hot)
 * before any walk starts, so their cache misses overlap instead of coming
 * one per walk (BPF has no prefetch; a load whose result is kept alive
 * does the same). */
static __always_inline void fg_touch_heads(const __u32 *off, const __u32 *len)
{
	__u32 i, sink = 0;

#pragma unroll
	for (i = 0; i < 6; i++) {
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
	__u32 cs = 0, cd = 0, csp = FG_V4_LIST, cdp = FG_V4_LIST;
	__u64 hc = 0;
	struct fg_walk wk, *w = &wk;
	__u32 *off = wk.off, *len = wk.len, i, n, total;
	struct fg_class *c;
	const struct fg_pkt *p;
	bool v6;

	if (!pkt || !out)
		return 0;
	/* bpf_loop wants its context on this frame's stack */
	wk.pkt = pkt;
	p = pkt;
	v6 = p->family == FG_FAM_V6;
	/* IPv6 set hashes before the trees, IPv4 ones after (below): each
	 * the faster order of the two, measured (bench/RESULTS.md). An IPv6
	 * tree path is long enough to hide the probe's misses; an IPv4 one
	 * is not. */
	if (v6 && (fg_hcfg.t6[0][0].base || fg_hcfg.t6[1][0].base))
		hc = fg_set_hash_classes(p, 1);
	if (!v6) {
		__u32 a = bpf_ntohl(*(const __u32 *)p->src);
		__u32 b = bpf_ntohl(*(const __u32 *)p->dst);

		/* both roots first: two independent cache misses in flight
		 * at once instead of one after the other */
		cs = fg_v4_entry(fg_cfg.v4_src_root, a >> 16);
		cd = fg_v4_entry(fg_cfg.v4_dst_root, b >> 16);
		cs = fg_v4_class(cs, a);
		cd = fg_v4_class(cd, b);
	} else if (fg_v6cfg.on) {
		cs = fg_v6_class(fg_v6cfg.root[0], bpf_be64_to_cpu(*(const __u64 *)p->src),
				 bpf_be64_to_cpu(*(const __u64 *)(p->src + 8)));
		cd = fg_v6_class(fg_v6cfg.root[1], bpf_be64_to_cpu(*(const __u64 *)p->dst),
				 bpf_be64_to_cpu(*(const __u64 *)(p->dst + 8)));
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
	/* IPv4 set hashes after the trees, not before: first, they cost a
	 * new flow about 20-25 ns more with a 1M-entry set (measured; the
	 * likely reason: their ~250 instructions behind four missing loads
	 * fill the CPU's reorder window, and the roots' loads wait). Here
	 * their misses overlap the class and list loads below. */
	if (!v6 && (fg_hcfg.t[0][0].base || fg_hcfg.t[1][0].base)) {
		/* the four leaves wait in wk, not in spill slots of their
		 * own: the stack of three nested frames is tight (kept in
		 * registers, the verifier counted 528 of its 512 bytes).
		 * Volatile: the compiler may neither drop the stores nor
		 * keep the values in registers instead of reloading. */
		volatile __u32 *keep = len;

		keep[0] = cs;
		keep[1] = cd;
		keep[2] = csp;
		keep[3] = cdp;
		hc = fg_set_hash_classes(p, 0);
		cs = keep[0];
		cd = keep[1];
		csp = keep[2];
		cdp = keep[3];
	}
	/* Both set masks are needed before any list is verified. */
	w->src_sets = fg_leaf_list(cs, &off[0], &len[0]);
	w->dst_sets = fg_leaf_list(cd, &off[1], &len[1]);
	fg_leaf_list(csp, &off[2], &len[2]);
	fg_leaf_list(cdp, &off[3], &len[3]);
	/* set hash hits add their sets and one list per field (abi.h); no
	 * hit is class 0, the empty one */
	off[4] = off[5] = len[4] = len[5] = 0;
	if (hc) {
		w->src_sets |= fg_leaf_list((__u32)hc, &off[4], &len[4]);
		w->dst_sets |= fg_leaf_list(hc >> 32, &off[5], &len[5]);
	}
	/* A hashed set whose other CIDRs stay in the tree can give both the
	 * tree and the hash the same class: walk it once. */
	len[4] &= -(__u32)(off[4] != off[0] || len[4] != len[0]);
	len[5] &= -(__u32)(off[5] != off[1] || len[5] != len[1]);
	fg_touch_heads(off, len);
	c = fg_class_at(fg_cfg.wild_class);
	off[6] = c ? c->off : 0;
	len[6] = c ? c->len : 0;
	w->best = FG_NO_RULE;
	w->best_slot = 0;
	w->best_verdict = 0;
	off[7] = len[7] = 0; /* never a list: initialised for the walk's
			      * variable-index reads */
	n = 0;
	total = 0;
#pragma unroll
	for (i = 0; i < FG_WALK_LISTS; i++) {
		total += len[i];
		n = fg_walk_add(w, n, i);
	}
	w->nlists = n;
	w->cur = 0;
	w->pos = w->off[0];
	w->end = w->pos + w->len[0];
	/* entries of one generation are at most FG_MAX_LIST_ENTS (4M), below
	 * bpf_loop's 8M; seven lists of one huge class could exceed it */
	if (n)
		bpf_loop(total < (1u << 23) ? total : (1u << 23), fg_walk_cb, w, 0);
	out->rule = w->best;
	out->stat_slot = w->best_slot;
	out->action = w->best_verdict & 0xf;
	out->rule_flags = w->best_verdict >> 4;
	return 1;
}

#endif /* FG_CLASSIFY_BPF_H */
