/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Events to the daemon through the fg_events ring buffer: drops and `log`
 * matches, with the first FG_EVENT_SNAP bytes of the frame for pcap.
 * A per-CPU budget (FG_EVENT_RATE per ~1 s window of the coarse clock)
 * keeps a flood from flooding the log; what it holds back is counted in
 * fg_evbudget.suppressed and reported with the next event sent.
 */
#ifndef FG_EVENTS_BPF_H
#define FG_EVENTS_BPF_H

/* A global function (verified once, not at each of the pipeline's exits);
 * the caller has taken the event from the budget (fg_event_budget). */
__noinline int fg_event_xdp(struct xdp_md *ctx, const struct fg_pkt *p,
			    __u32 type, __u32 reason, __u32 stat_slot)
{
	struct fg_evbudget *b;
	__u32 zero = 0, cap;
	struct fg_event *e;

	if (!p)
		return 0;
	b = bpf_map_lookup_elem(&fg_evbudget, &zero);
	if (!b)
		return 0;
	e = bpf_ringbuf_reserve(&fg_events, sizeof(*e), 0);
	if (!e) {
		b->suppressed++;
		return 0;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->type = type;
	e->reason = reason;
	e->stat_slot = stat_slot;
	e->ifindex = p->ifindex;
	e->pkt_len = p->pkt_len;
	e->suppressed = b->suppressed;
	b->suppressed = 0;
	__builtin_memcpy(&e->pkt, p, sizeof(*p));
	cap = p->pkt_len;
	if (cap > FG_EVENT_SNAP)
		cap = FG_EVENT_SNAP;
	if (cap < 1 || bpf_xdp_load_bytes(ctx, 0, e->data, cap) < 0)
		cap = 0;
	e->cap_len = cap;
	bpf_ringbuf_submit(e, 0);
	return 1;
}

#endif /* FG_EVENTS_BPF_H */
