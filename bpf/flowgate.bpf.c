// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate datapath: XDP ingress (parse -> ban -> fragments -> conntrack ->
 * classify -> rate -> verdict) and TC egress (records outbound flows so a
 * default-drop host still receives its replies). The attached entry
 * programs tail-call the running generation's programs (maps.bpf.h); those
 * are a pipeline of the stages in lib/; one exit records action and reason.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include <flowgate/abi.h>

#include "lib/maps.bpf.h"
#include "lib/parse.bpf.h"
#include "lib/classify.bpf.h"
#include "lib/conntrack.bpf.h"
#include "lib/frag.bpf.h"
#include "lib/rate.bpf.h"
#include "lib/events.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The verdict being built for one packet. */
struct fg_verdict {
	__u8 action;   /* FG_ACT_* */
	__u8 reason;   /* FG_R_* */
	__u8 counted;  /* stat_slot is meaningful */
	__u8 held;     /* classified now: its rule count is held back */
	__u32 stat_slot;
};

/* Counter `key` of a map of n counters a CPU (maps.bpf.h): this CPU's
 * region. A plain array: one cache line to touch, where a per-CPU array
 * first loads the counter's per-CPU pointer from a table of its own (for
 * the rule counters of a large policy, a second cache miss). */
static __always_inline void fg_count(void *map, __u32 n, __u32 key, __u32 bytes)
{
	struct fg_counter *c;

	if (key >= n)
		return;
	key += bpf_get_smp_processor_id() * n;
	c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void fg_count_iface(__u32 ifindex, __u32 bytes)
{
	fg_count(&fg_if_stats, FG_IF_SLOTS, FG_IF_SLOT(ifindex), bytes);
}

/*
 * Is the source banned? The trie returns the longest matching ban; when that
 * one has expired, a wider ban may still hold, so look again above it.
 */
static __always_inline bool fg_banned(const struct fg_pkt *p, __u64 *now)
{
	struct fg_lpm_key k = {};
	struct fg_ban *b;
	int i;

	if (p->family == FG_FAM_V4) {
		k.prefixlen = 8 + 32;
		k.tag = FG_TAG_SRC4;
		__builtin_memcpy(k.addr, p->src, 4);
	} else {
		k.prefixlen = 8 + 128;
		k.tag = FG_TAG_SRC6;
		__builtin_memcpy(k.addr, p->src, 16);
	}
	for (i = 0; i < FG_BAN_NEST; i++) {
		b = bpf_map_lookup_elem(&fg_ban, &k);
		if (!b)
			return false;
		if (!b->expires_ns)
			return true;
		if (!*now)
			*now = bpf_ktime_get_ns();
		if (b->expires_ns > *now)
			return true;
		if (!b->prefixlen)
			return false;
		k.prefixlen = 8 + (b->prefixlen & 0xff) - 1;
	}
	return false;
}

static __always_inline bool fg_bans_exist(void)
{
	struct fg_runtime *rt;
	__u32 zero = 0;

	rt = bpf_map_lookup_elem(&fg_runtime, &zero);
	return !rt || rt->nbans;
}

static __always_inline struct fg_rule *fg_rule_at(__u32 ri)
{
	return fg_heap_elem(fg_cfg.rule_base, ri, fg_cfg.nrules,
			    FG_HEAP_RULES_PER_SLOT, sizeof(struct fg_rule));
}

/* The flow fields a cached verdict depends on (abi.h fg_flow_key): ports
 * only for TCP/UDP, flags and conntrack state only when rules use them. */
static __always_inline void fg_flow_fields(const struct fg_pkt *p, __u32 flags,
					   __u32 *ports, __u32 *misc)
{
	__u16 sp = 0, dp = 0;

	if ((p->flags & FG_PKT_L4) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		sp = p->sport;
		dp = p->dport;
	}
	*ports = (__u32)dp << 16 | sp; /* as sport, dport in memory */
	*misc = (__u32)p->family | (__u32)p->proto << 8 |
		(__u32)((flags & FG_GEN_F_TCPF) ? p->tcp_flags : 0) << 16 |
		(__u32)((flags & FG_GEN_F_CT) ? p->ct_state : 0) << 24;
}

static __always_inline __u32 fg_flow_hash(const struct fg_pkt *p, __u32 ports,
					  __u32 misc)
{
	const __u32 *a = (const __u32 *)p->src, *b = (const __u32 *)p->dst;
	__u32 h = 0x811c9dc5;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++) {
		h = (h ^ a[i]) * 0x9e3779b1;
		h = (h ^ b[i] ^ (h >> 16)) * 0x85ebca6b;
	}
	h = (h ^ p->ifindex) * 0x9e3779b1;
	h = (h ^ ports ^ (h >> 16)) * 0x85ebca6b;
	h = (h ^ misc) * 0x9e3779b1;
	return h ^ (h >> 16);
}

/* Does cache entry k hold this packet's flow? (Key layout: abi.h.) */
static __always_inline bool fg_flow_match(const struct fg_flow_key *k,
					  const struct fg_pkt *p, __u32 ports,
					  __u32 misc)
{
	const __u32 *x = (const __u32 *)k, *a = (const __u32 *)p->src,
		    *b = (const __u32 *)p->dst;
	__u32 d = 0;
	int i;

#pragma unroll
	for (i = 0; i < 4; i++)
		d |= (x[i] ^ a[i]) | (x[4 + i] ^ b[i]);
	d |= (x[8] ^ p->ifindex) | (x[9] ^ ports) | (x[10] ^ misc);
	return !d;
}

/* This CPU's held-back rule count (abi.h, struct fg_pend). */
static __always_inline struct fg_pend *fg_pend_mine(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&fg_pend, &cpu);
}

/* Add the count the previous classification held back to its rule's
 * counter. Run before classifying: the counter's cache miss then
 * overlaps the classifier's instead of stalling the end of a packet.
 * The seq bracket lets a reader see the record or the counter, never
 * both or neither (abi.h). */
static __always_inline void fg_pend_pay(void)
{
	struct fg_pend *pd = fg_pend_mine();
	__u64 r;

	if (!pd)
		return;
	r = pd->rec;
	if (!r)
		return;
	pd->seq++;
	asm volatile("" ::: "memory");
	pd->rec = 0;
	fg_count(&fg_rule_stats, FG_MAX_STAT_SLOTS, (__u32)r,
		 (r >> 32) & FG_PEND_BYTES_MAX);
	asm volatile("" ::: "memory");
	pd->seq++;
}

/* Hold back the count of a packet just classified (fg_pend_pay added
 * the previous one, so the record is free); counted at once when it
 * cannot be held. */
static __always_inline void fg_pend_hold(__u32 slot, __u32 bytes)
{
	struct fg_pend *pd = fg_pend_mine();

	if (pd && !pd->rec && bytes <= FG_PEND_BYTES_MAX)
		pd->rec = FG_PEND_VALID | (__u64)bytes << 32 | slot;
	else
		fg_count(&fg_rule_stats, FG_MAX_STAT_SLOTS, slot, bytes);
}

/* Classify a packet the cache could not answer; fills *out. */
static __always_inline void fg_flow_classify(const struct fg_pkt *p,
					     struct fg_flow_val *out)
{
	if (fg_hold_counts)
		fg_pend_pay();
	out->epoch = fg_cfg.epoch;
	out->rule = FG_NO_RULE;
	fg_classify((struct fg_pkt *)p, out);
}

/* Flags under which the IPv4 key's misc word (protocol, TCP flags,
 * conntrack state; the family is dropped) can be other than 0. */
#define FG_FLOW4_MISC_FLAGS (FG_GEN_F_PROTO | FG_GEN_F_SPORT | FG_GEN_F_DPORT | \
			     FG_GEN_F_TCPF | FG_GEN_F_CT)

/* Keep x's computation inside the branch it is in: the compiler may not
 * turn that branch into a select, so a branch on a generation constant
 * stays a branch, and the verifier drops the side never taken. */
#define fg_keep(x) asm volatile("" : "+r"(x))

/* a ^ b, kept in the branch it is computed in (fg_keep) */
static __always_inline __u32 fg_kept_xor(__u32 a, __u32 b)
{
	__u32 x = a ^ b;

	fg_keep(x);
	return x;
}

/* Nonzero unless entry e holds this key in this epoch. A field no rule
 * constrains is 0 in the key and in every entry of the epoch: only the
 * others are compared (kept branches, see fg_keep). */
static __always_inline __u32 fg_flow4_diff(const struct fg_flow4_ent *e, __u32 epoch,
					   __u32 src, __u32 dst, __u32 ifindex,
					   __u32 ports, __u32 misc)
{
	__u32 d = e->epoch ^ epoch;

	if (fg_cfg.flags & FG_GEN_F_SRC)
		d |= fg_kept_xor(e->src, src);
	if (fg_cfg.flags & FG_GEN_F_DST)
		d |= fg_kept_xor(e->dst, dst);
	if (fg_cfg.flags & (FG_GEN_F_SPORT | FG_GEN_F_DPORT | FG_FLOW4_MISC_FLAGS))
		d |= fg_kept_xor(e->ports, ports) | fg_kept_xor(e->misc, misc);
	if (fg_cfg.flags & FG_GEN_F_IFACE)
		d |= fg_kept_xor(e->ifindex, ifindex);
	return d;
}

static __always_inline int fg_flow4_verdict(const struct fg_pkt *p,
					    __u32 epoch, __u32 src, __u32 dst,
					    __u32 ifindex, __u32 ports, __u32 misc,
					    __u32 h, struct fg_flow_val *out)
{
	__u32 idx = bpf_get_smp_processor_id() * FG_FLOW4_BUCKETS +
		    (h & (FG_FLOW4_BUCKETS - 1));
	struct fg_flow4_bucket *b = bpf_map_lookup_elem(&fg_flows4, &idx);
	struct fg_flow4_ent *e;
	__u32 way;

	/* Way 0 first: a new flow goes into way 0 (below), so a bucket's
	 * most recent flow is there and the branch is predictable however
	 * many flows are cached. (With random replacement half the flows sat
	 * in way 1, and the mispredicted branch cost a known packet of a
	 * 200-source stream 7 ns; docs/datapath.md.) */
	if (b) {
		for (way = 0; way < 2; way++) {
			e = &b->e[way];
			if (!fg_flow4_diff(e, epoch, src, dst, ifindex, ports, misc)) {
				__u32 rv = e->rule;

				out->epoch = epoch;
				out->rule = (rv & FG_FLOW4_RULE) == FG_FLOW4_RULE
						    ? FG_NO_RULE
						    : rv & FG_FLOW4_RULE;
				out->action = (rv >> 24) & 0xf;
				out->rule_flags = rv >> 28;
				out->stat_slot = e->stat_slot;
				return 1;
			}
		}
	}
	fg_flow_classify(p, out);
	if (!b)
		return 2;
	/* Way 0's flow moves to way 1 (the older one leaves) and the new
	 * flow takes way 0: two flows sharing a bucket settle into both
	 * entries. Epoch last in each: a reader on this CPU misses or sees
	 * a whole entry. */
	e = &b->e[0];
	b->e[1].epoch = 0;
	asm volatile("" ::: "memory");
	b->e[1].src = e->src;
	b->e[1].dst = e->dst;
	b->e[1].ifindex = e->ifindex;
	b->e[1].ports = e->ports;
	b->e[1].misc = e->misc;
	b->e[1].rule = e->rule;
	b->e[1].stat_slot = e->stat_slot;
	asm volatile("" ::: "memory");
	b->e[1].epoch = e->epoch;
	e->epoch = 0;
	asm volatile("" ::: "memory");
	e->src = src;
	e->dst = dst;
	e->ifindex = ifindex;
	e->ports = ports;
	e->misc = misc;
	e->rule = (out->rule == FG_NO_RULE ? FG_FLOW4_RULE : out->rule & FG_FLOW4_RULE) |
		  (__u32)(out->action & 0xf) << 24 | (__u32)(out->rule_flags & 0xf) << 28;
	e->stat_slot = out->stat_slot;
	asm volatile("" ::: "memory");
	e->epoch = epoch;
	return 2;
}

/*
 * The classifier's answer for this packet's flow, into *out: from the flow
 * cache when it was computed in the running install (epoch), else
 * classified now and cached. A collision or a failed lookup only costs
 * speed, never the verdict. Inlined into the one caller: it is on every
 * packet's path, and the generation's flags, known to the verifier, drop
 * the key fields no rule constrains.
 */
static __always_inline int fg_flow_verdict(const struct fg_pkt *p, struct fg_flow_val *out)
{
	__u32 idx, ports, misc, way, h, epoch = fg_cfg.epoch;
	struct fg_flow_bucket *b;
	struct fg_flow_ent *e;

	if (!p || !out)
		return 0;
	if (p->family == FG_FAM_V4) {
		/* Key on the fields some rule constrains (FG_GEN_F_SRC...):
		 * flows differing only in others share an entry, so a flood
		 * from random sources against a destination/port policy
		 * touches a few hot entries instead of one per flow.
		 *
		 * Multiplicative hashing: each word times its own odd
		 * constant (independent, a short dependency chain), summed,
		 * and the TOP bits taken as the bucket index. A product's high
		 * bits depend on every input bit at or below them, so both
		 * an address loaded in network order (its varying octet in
		 * the high bits) and a port (low bits) spread; sequential
		 * values land evenly apart. No final mix: on a cache hit,
		 * which is every packet of a known flow, it cost about 1 ns.
		 *
		 * Each field is a branch on the generation's flags that
		 * fg_keep() keeps a branch: the verifier drops the fields no
		 * rule constrains, where the compiler's branch-free selects
		 * ran every field's masking on every packet. */
		__u32 src = 0, dst = 0, ifx = 0;

		h = 0;
		ports = misc = 0;
		if (fg_cfg.flags & FG_GEN_F_SRC) {
			src = *(const __u32 *)p->src;
			fg_keep(src);
			h += src * 0x9e3779b1;
		}
		if (fg_cfg.flags & FG_GEN_F_DST) {
			dst = *(const __u32 *)p->dst;
			fg_keep(dst);
			h += dst * 0x85ebca6b;
		}
		if (fg_cfg.flags & (FG_GEN_F_SPORT | FG_GEN_F_DPORT | FG_FLOW4_MISC_FLAGS)) {
			fg_flow_fields(p, fg_cfg.flags, &ports, &misc);
			if (!(fg_cfg.flags & FG_GEN_F_SPORT))
				ports &= 0xffff0000;
			if (!(fg_cfg.flags & FG_GEN_F_DPORT))
				ports &= 0x0000ffff;
			/* ports and flags imply TCP/UDP: proto then matters */
			if (!(fg_cfg.flags & (FG_GEN_F_PROTO | FG_GEN_F_SPORT | FG_GEN_F_DPORT |
				       FG_GEN_F_TCPF)))
				misc &= ~0xff00u;
			misc >>= 8; /* no family: the cache is IPv4's */
			fg_keep(misc);
			h += ports * 0xc2b2ae35 + misc * 0x27d4eb2f;
		}
		if (fg_cfg.flags & FG_GEN_F_IFACE) {
			ifx = p->ifindex;
			fg_keep(ifx);
			h += ifx * 0x165667b1;
		}
		h >>= 32 - FG_FLOW4_BITS;
		/* Fold the top byte into the low bits. Keys differing in
		 * the high byte of a word only (the last octet of an
		 * address: sequential clients) differ only in the index's
		 * top 8 bits: buckets 128 apart, 8 KiB, which all fall in
		 * the same L1 cache set. Invertible, so no new collisions. */
		h ^= h >> (FG_FLOW4_BITS - 8);
		return fg_flow4_verdict(p, epoch, src, dst, ifx, ports, misc, h, out);
	}
	fg_flow_fields(p, fg_cfg.flags, &ports, &misc);
	h = fg_flow_hash(p, ports, misc);
	idx = h & (FG_FLOW_BUCKETS - 1);
	b = bpf_map_lookup_elem(&fg_flows, &idx);
	if (b) {
		for (way = 0; way < 2; way++) {
			e = &b->e[way];
			if (e->val.epoch == epoch && fg_flow_match(&e->key, p, ports, misc)) {
				*out = e->val;
				return 1;
			}
		}
	}
	fg_flow_classify(p, out);
	if (b) {
		__u32 *x;

		/* As in fg_flow4_verdict: way 0's flow moves to way 1, the
		 * new one takes way 0. Epoch last in each: a reader on this
		 * CPU either misses or sees a whole entry. */
		e = &b->e[0];
		b->e[1].val.epoch = 0;
		asm volatile("" ::: "memory");
		b->e[1].key = e->key;
		b->e[1].val.rule = e->val.rule;
		b->e[1].val.stat_slot = e->val.stat_slot;
		b->e[1].val.action = e->val.action;
		b->e[1].val.rule_flags = e->val.rule_flags;
		asm volatile("" ::: "memory");
		b->e[1].val.epoch = e->val.epoch;
		x = (__u32 *)&e->key;
		e->val.epoch = 0;
		asm volatile("" ::: "memory");
		__builtin_memcpy(e->key.src, p->src, 16);
		__builtin_memcpy(e->key.dst, p->dst, 16);
		x[8] = p->ifindex;
		x[9] = ports;
		x[10] = misc;
		e->val.rule = out->rule;
		e->val.stat_slot = out->stat_slot;
		e->val.action = out->action;
		e->val.rule_flags = out->rule_flags;
		asm volatile("" ::: "memory");
		e->val.epoch = epoch;
	}
	return 2;
}

/* Events cost a ring buffer record: at most FG_EVENT_RATE per CPU per
 * window; the rest is counted. Checked inline, before any call. Under a
 * flood the budget is spent: then only a jiffies change (an inlined load)
 * leads to a clock read, so a new window is noticed within one tick. */
static __always_inline bool fg_event_budget(void)
{
	struct fg_evbudget *b;
	__u32 zero = 0;
	__u64 w, j;

	b = bpf_map_lookup_elem(&fg_evbudget, &zero);
	if (!b)
		return false;
	if (b->sent >= FG_EVENT_RATE) {
		j = bpf_jiffies64();
		if (j == b->jiffies) {
			b->suppressed++;
			return false;
		}
		b->jiffies = j;
	}
	w = bpf_ktime_get_coarse_ns() >> FG_EVENT_WINDOW_SHIFT;
	if (b->window != w) {
		b->window = w;
		b->sent = 0;
	}
	if (b->sent < FG_EVENT_RATE) {
		b->sent++;
		return true;
	}
	b->suppressed++;
	return false;
}

/* The one exit: counters, events, XDP action. */
static __always_inline int fg_finish(struct xdp_md *ctx, const struct fg_pkt *p,
				     const struct fg_verdict *v, __u64 now)
{
	bool drop = v->action == FG_ACT_DROP;

	if (v->counted && v->held)
		fg_pend_hold(v->stat_slot, p->pkt_len);
	else if (v->counted)
		fg_count(&fg_rule_stats, FG_MAX_STAT_SLOTS, v->stat_slot, p->pkt_len);
	if (drop)
		fg_count(&fg_drop_stats, FG_R_MAX, v->reason, p->pkt_len);
	if ((drop || v->action == FG_ACT_LOG) && fg_event_budget())
		fg_event_xdp(ctx, p, drop ? FG_EV_DROP : FG_EV_LOG, v->reason,
			     v->counted ? v->stat_slot : FG_SLOT_DEFAULT);
	return drop ? XDP_DROP : XDP_PASS;
}

/*
 * The attached programs: each runs the current generation's program (slot
 * 0 of its prog array). Nothing else: a generation is switched by one
 * prog-array update, and a packet runs one generation from start to end.
 * Before the first install the slot is empty: traffic passes.
 */
SEC("xdp")
int fg_xdp_ingress(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &fg_gen_xdp, 0);
	return XDP_PASS;
}

SEC("tc")
int fg_tc_egress(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &fg_gen_tc, 0);
	return TC_ACT_UNSPEC;
}

/* A generation's ingress program (loaded once per install, fg_cfg set). */
SEC("xdp")
int fg_xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct fg_verdict v = { .action = FG_ACT_ALLOW };
	struct fg_pkt pk = {}, *p = &pk;
	struct fg_flow_val fv = {};
	struct fg_ct_ref ct; /* zeroed only when the policy tracks flows */
	__u64 now = 0;
	int reason;

	p->ifindex = ctx->ingress_ifindex;
	p->pkt_len = end - data;
	fg_count_iface(p->ifindex, p->pkt_len);

	reason = fg_parse_fast(ctx, p) ? FG_R_NONE : fg_parse_xdp(ctx, p);
	if (reason != FG_R_NONE) {
		v.action = FG_ACT_DROP;
		v.reason = reason;
		return fg_finish(ctx, p, &v, now);
	}
	/* Non-IP frames (ARP, LLDP) pass: no rule can name them yet. */
	if (p->family == FG_FAM_NONE)
		return XDP_PASS;

	if (fg_bans_exist() && fg_banned(p, &now)) {
		v.action = FG_ACT_DROP;
		v.reason = FG_R_BAN;
		return fg_finish(ctx, p, &v, now);
	}

	if (p->flags & FG_PKT_FRAG_LATER) {
		struct fg_frag_val *fv;

		now = bpf_ktime_get_ns();
		fv = fg_frag_lookup(p, now);
		if (p->frag_off * 8 < fg_l4_min(p->proto) ||
		    (fv && p->frag_off * 8 < fv->l4_end)) {
			/* Would rewrite the classified L4 header. */
			v.action = FG_ACT_DROP;
			v.reason = FG_R_FRAG_OVERLAP;
		} else if (fv) {
			v.action = fv->action;
			v.reason = fv->reason;
			v.stat_slot = fv->stat_slot;
			v.counted = 1;
		} else {
			v.action = fg_cfg.default_action;
			v.reason = FG_R_FRAGMENT;
			v.stat_slot = fg_cfg.default_slot;
			v.counted = 1;
		}
		return fg_finish(ctx, p, &v, now);
	}

	if (fg_cfg.flags & FG_GEN_F_CT) {
		__builtin_memset(&ct, 0, sizeof(ct));
		p->ct_state = fg_ct_state(p, &ct);
		if (p->ct_state == FG_CT_NEW && fg_icmp_error(p) &&
		    fg_ct_related_xdp(ctx, p))
			p->ct_state = FG_CT_RELATED;
	}

	fv.rule = FG_NO_RULE;
	/* 2: classified now (a flow-cache miss), so fg_pend_pay has run */
	v.held = fg_flow_verdict(p, &fv) == 2 && fg_hold_counts;
	if (fv.rule != FG_NO_RULE) {
		v.action = fv.action;
		v.reason = FG_R_RULE;
		v.stat_slot = fv.stat_slot;
		v.counted = 1;
		if ((fv.rule_flags & FG_RULE_F_RATE) && v.action != FG_ACT_DROP) {
			struct fg_rule *rule = fg_rule_at(fv.rule);

			if (!now)
				now = bpf_ktime_get_ns();
			if (rule && !fg_rate_ok(p, rule, now)) {
				v.action = FG_ACT_DROP;
				v.reason = FG_R_RATE;
			}
		}
	} else if (p->flags & FG_PKT_ND) {
		/* Neighbour discovery keeps a default-drop host reachable. */
		v.action = FG_ACT_ALLOW;
		v.reason = FG_R_DEFAULT;
	} else {
		v.action = fg_cfg.default_action;
		v.reason = FG_R_DEFAULT;
		v.stat_slot = fg_cfg.default_slot;
		v.counted = 1;
	}

	if (p->flags & FG_PKT_FRAG) {
		if (!now)
			now = bpf_ktime_get_ns();
		fg_frag_remember(p, v.action, v.reason, v.stat_slot, now);
	}
	if ((fg_cfg.flags & FG_GEN_F_CT) && v.action != FG_ACT_DROP)
		fg_ct_commit(p, &ct, 0);
	return fg_finish(ctx, p, &v, now);
}

/*
 * A generation's egress program: remember outbound flows so that replies
 * match `state: established` on ingress. Never drops, and always answers
 * TC_ACT_UNSPEC (tcx's "next"): TC_ACT_OK would end the tcx chain and skip
 * the operator's own egress filters (clsact) and later tcx programs.
 */
SEC("tc")
int fg_tc_gen(struct __sk_buff *skb)
{
	struct fg_ct_ref ct = {};
	struct fg_pkt p = {};

	if (!(fg_cfg.flags & FG_GEN_F_CT))
		return TC_ACT_UNSPEC;
	/* Headers may sit in paged data on egress: pull what we parse. */
	bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
	p.ifindex = skb->ifindex;
	p.pkt_len = skb->len;
	if (fg_parse_skb(skb, &p) != FG_R_NONE || p.family == FG_FAM_NONE ||
	    (p.flags & FG_PKT_FRAG_LATER))
		return TC_ACT_UNSPEC;
	fg_ct_state(&p, &ct);
	fg_ct_commit(&p, &ct, 1);
	return TC_ACT_UNSPEC;
}
