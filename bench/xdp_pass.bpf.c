// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_pass: passes every frame. A veth delivers frames that a peer sent with
 * XDP_TX only when it has an XDP program attached (KNOWN.md), so the
 * iptables and nftables baselines run behind this no-op in native mode.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int fg_bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
