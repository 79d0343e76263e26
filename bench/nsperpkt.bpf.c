// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ns/packet harness. BPF_PROG_TEST_RUN with `repeat` runs one frame over
 * and over, which only ever measures a cache-hot, repeated flow. This
 * wrapper instead rewrites the frame's addresses, ports and protocol from
 * the next header of a trace on every repeat, then tail-calls the program
 * under test (flowgate's XDP program, or an empty XDP_DROP program for the
 * floor). Each trace header is therefore classified once per pass.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct nsp_hdr {
	__u32 src, dst; /* network order */
	__u16 sport, dport; /* network order */
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 21);
	__type(key, __u32);
	__type(value, struct nsp_hdr);
} nsp_trace SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} nsp_target SEC(".maps");

__u32 ntrace = 1; /* set before each run */
__u32 cursor;

SEC("xdp")
int nsp_wrap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__u16 *ports = (void *)(ip + 1);
	struct nsp_hdr *h;
	__u32 i = cursor;

	cursor = i + 1 >= ntrace ? 0 : i + 1;
	h = bpf_map_lookup_elem(&nsp_trace, &i);
	if (!h || (void *)(ports + 2) > end)
		return XDP_ABORTED;
	ip->saddr = h->src;
	ip->daddr = h->dst;
	ip->protocol = h->proto;
	ports[0] = h->sport;
	ports[1] = h->dport;
	bpf_tail_call(ctx, &nsp_target, 0);
	return XDP_ABORTED;
}

/* The same for IPv6 frames (Ethernet, IPv6, then the ports). */
struct nsp_hdr6 {
	__u8 src[16], dst[16];
	__u16 sport, dport; /* network order */
	__u8 proto;
	__u8 pad[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1 << 18);
	__type(key, __u32);
	__type(value, struct nsp_hdr6);
} nsp_trace6 SEC(".maps");

SEC("xdp")
int nsp_wrap6(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u8 *ip6 = data + sizeof(struct ethhdr);
	__u16 *ports = (void *)(ip6 + 40);
	struct nsp_hdr6 *h;
	__u32 i = cursor;

	cursor = i + 1 >= ntrace ? 0 : i + 1;
	h = bpf_map_lookup_elem(&nsp_trace6, &i);
	if (!h || (void *)(ports + 2) > end)
		return XDP_ABORTED;
	__builtin_memcpy(ip6 + 8, h->src, 16);
	__builtin_memcpy(ip6 + 24, h->dst, 16);
	ip6[6] = h->proto;
	ports[0] = h->sport;
	ports[1] = h->dport;
	bpf_tail_call(ctx, &nsp_target, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int nsp_empty(struct xdp_md *ctx)
{
	return XDP_DROP;
}
