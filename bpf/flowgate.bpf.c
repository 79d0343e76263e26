// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate datapath: XDP ingress (parse -> ban -> fragments -> conntrack ->
 * classify -> rate -> verdict) and TC egress (records outbound flows so a
 * default-drop host still receives its replies). The entry programs are a
 * pipeline of the stages in lib/; one exit records action and reason.
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
	__u8 pad;
	__u32 stat_slot;
};

static __always_inline void fg_count(void *map, __u32 key, __u32 bytes)
{
	struct fg_counter *c = bpf_map_lookup_elem(map, &key);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

static __always_inline void fg_count_iface(__u32 ifindex, __u32 bytes)
{
	struct fg_counter *c = bpf_map_lookup_elem(&fg_if_stats, &ifindex);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	} else {
		struct fg_counter n = { .packets = 1, .bytes = bytes };

		bpf_map_update_elem(&fg_if_stats, &ifindex, &n, BPF_NOEXIST);
	}
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

/* The active generation: its heap and header, read once per packet. */
static __always_inline struct fg_heap_hdr *fg_generation(__u32 *slot, void **heap)
{
	struct fg_active *act;
	struct fg_heap_hdr *h;
	__u32 zero = 0;

	act = bpf_map_lookup_elem(&fg_active, &zero);
	if (!act)
		return NULL;
	*slot = act->slot & (FG_SLOTS - 1);
	*heap = bpf_map_lookup_elem(&fg_o_heap, slot);
	if (!*heap)
		return NULL;
	h = bpf_map_lookup_elem(*heap, &zero);
	if (!h || !h->generation)
		return NULL; /* no policy loaded yet */
	return h;
}

static __always_inline struct fg_rule *fg_rule_at(void *heap,
						  const struct fg_heap_hdr *h,
						  __u32 ri)
{
	struct fg_rule *r;

	if (ri >= h->nrules)
		return NULL;
	r = fg_heap_at(heap, h->rule_base + ri / FG_HEAP_RULES_PER_SLOT);
	if (!r)
		return NULL;
	return r + (ri & (FG_HEAP_RULES_PER_SLOT - 1));
}

/*
 * The classifier's answer for this packet's flow, into *out: from the flow
 * cache when it was computed in the running generation, else classified
 * now and cached (a full cache only costs speed, never the verdict).
 * A global function, verified once.
 */
__noinline int fg_flow_verdict(const struct fg_pkt *p, __u32 slot,
			       struct fg_flow_val *out)
{
	struct fg_flow_key k = {};
	struct fg_heap_hdr *cfg;
	struct fg_flow_val *fv;
	struct fg_rule *r;
	__u32 zero = 0;
	void *heap;

	if (!p || !out)
		return 0;
	heap = bpf_map_lookup_elem(&fg_o_heap, &slot);
	if (!heap)
		return 0;
	cfg = bpf_map_lookup_elem(heap, &zero);
	if (!cfg)
		return 0;
	__builtin_memcpy(k.src, p->src, 16);
	__builtin_memcpy(k.dst, p->dst, 16);
	k.ifindex = p->ifindex;
	k.family = p->family;
	k.proto = p->proto;
	if ((p->flags & FG_PKT_L4) &&
	    (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		k.sport = p->sport;
		k.dport = p->dport;
	}
	if (cfg->flags & FG_GEN_F_TCPF)
		k.tcp_flags = p->tcp_flags;
	if (cfg->flags & FG_GEN_F_CT)
		k.ct_state = p->ct_state;
	fv = bpf_map_lookup_elem(&fg_flows, &k);
	if (fv && fv->epoch == cfg->epoch) {
		*out = *fv;
		return 1;
	}
	out->epoch = cfg->epoch;
	out->rule = fg_classify((struct fg_pkt *)p, slot);
	r = out->rule != FG_NO_RULE ? fg_rule_at(heap, cfg, out->rule) : NULL;
	if (r) {
		out->stat_slot = r->stat_slot;
		out->action = r->action;
		out->rule_flags = r->flags;
	} else {
		out->rule = FG_NO_RULE;
	}
	bpf_map_update_elem(&fg_flows, &k, out, BPF_ANY);
	return 1;
}

/* The one exit: counters, events, XDP action. */
static __always_inline int fg_finish(struct xdp_md *ctx, const struct fg_pkt *p,
				     const struct fg_verdict *v, __u64 now)
{
	bool drop = v->action == FG_ACT_DROP;

	if (v->counted)
		fg_count(&fg_rule_stats, v->stat_slot, p->pkt_len);
	if (drop)
		fg_count(&fg_drop_stats, v->reason, p->pkt_len);
	if (drop || v->action == FG_ACT_LOG)
		fg_event_xdp(ctx, p, drop ? FG_EV_DROP : FG_EV_LOG, v->reason,
			     v->counted ? v->stat_slot : FG_SLOT_DEFAULT);
	return drop ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int fg_xdp_ingress(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct fg_verdict v = { .action = FG_ACT_ALLOW };
	struct fg_pkt pk = {}, *p = &pk;
	struct fg_ct_ref ct = {};
	struct fg_flow_val fv = {};
	struct fg_heap_hdr *cfg;
	void *heap = NULL;
	__u64 now = 0;
	__u32 slot;
	int reason;

	p->ifindex = ctx->ingress_ifindex;
	p->pkt_len = end - data;
	fg_count_iface(p->ifindex, p->pkt_len);

	reason = fg_parse_xdp(ctx, p);
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

	/* One read of the active slot per packet: every table below comes
	 * from that generation. */
	cfg = fg_generation(&slot, &heap);
	if (!cfg)
		return XDP_PASS;

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
			v.action = cfg->default_action;
			v.reason = FG_R_FRAGMENT;
			v.stat_slot = cfg->default_slot;
			v.counted = 1;
		}
		return fg_finish(ctx, p, &v, now);
	}

	if (cfg->flags & FG_GEN_F_CT) {
		p->ct_state = fg_ct_state(p, &ct);
		if (p->ct_state == FG_CT_NEW && fg_icmp_error(p) &&
		    fg_ct_related_xdp(ctx, p))
			p->ct_state = FG_CT_RELATED;
	}

	fv.rule = FG_NO_RULE;
	fg_flow_verdict(p, slot, &fv);
	if (fv.rule != FG_NO_RULE) {
		v.action = fv.action;
		v.reason = FG_R_RULE;
		v.stat_slot = fv.stat_slot;
		v.counted = 1;
		if ((fv.rule_flags & FG_RULE_F_RATE) && v.action != FG_ACT_DROP) {
			struct fg_rule *rule = fg_rule_at(heap, cfg, fv.rule);

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
		v.action = cfg->default_action;
		v.reason = FG_R_DEFAULT;
		v.stat_slot = cfg->default_slot;
		v.counted = 1;
	}

	if (p->flags & FG_PKT_FRAG) {
		if (!now)
			now = bpf_ktime_get_ns();
		fg_frag_remember(p, v.action, v.reason, v.stat_slot, now);
	}
	if ((cfg->flags & FG_GEN_F_CT) && v.action != FG_ACT_DROP)
		fg_ct_commit(p, &ct);
	return fg_finish(ctx, p, &v, now);
}

/*
 * Egress: remember outbound flows so that replies match `state:
 * established` on ingress. Never drops.
 */
SEC("tc")
int fg_tc_egress(struct __sk_buff *skb)
{
	struct fg_ct_ref ct = {};
	struct fg_pkt p = {};
	struct fg_heap_hdr *cfg;
	void *heap;
	__u32 slot;

	cfg = fg_generation(&slot, &heap);
	if (!cfg || !(cfg->flags & FG_GEN_F_CT))
		return TC_ACT_OK;
	/* Headers may sit in paged data on egress: pull what we parse. */
	bpf_skb_pull_data(skb, skb->len < 256 ? skb->len : 256);
	p.ifindex = skb->ifindex;
	p.pkt_len = skb->len;
	if (fg_parse_skb(skb, &p) != FG_R_NONE || p.family == FG_FAM_NONE ||
	    (p.flags & FG_PKT_FRAG_LATER))
		return TC_ACT_OK;
	fg_ct_state(&p, &ct);
	fg_ct_commit(&p, &ct);
	return TC_ACT_OK;
}
