// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_drop: the throughput ceiling. Drops every frame at the earliest hook;
 * nothing a real filter does can be faster on the same veth.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int fg_bench_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
