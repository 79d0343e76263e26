// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * gen: pktgen's XDP program. pktgen runs it with BPF_PROG_TEST_RUN and
 * BPF_F_TEST_XDP_LIVE_FRAMES; each run writes one frame and returns XDP_TX,
 * which sends the frame out of the device named in the test context.
 *
 * Live-frame pages are recycled without being reset, and a receiver may have
 * rewritten a frame before its page came back, so every header byte is
 * written again on every packet (from the template), not only the varied
 * fields. Checksums are the template's partial sums plus the varied words.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "gen.h"

/* Set by pktgen before load. Not `const volatile`: the template is copied
 * with memcpy, which must read the loaded values, not the compile-time zeros. */
struct gen_cfg fg_gen_cfg;
/* One test run executes on one CPU with migration disabled: one writer. */
struct gen_state fg_gen_state;

static __always_inline __u32 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

/* 54 bytes as 6 x 8 + 4 + 2: the packet's alignment is unknown to clang,
 * so a plain memcpy would become 54 byte-wide loads and stores. */
static __always_inline void copy_hdr(void *dst, const __u8 *tmpl)
{
	const __u64 *t = (const __u64 *)tmpl;
	__u64 *d = dst;

	d[0] = t[0];
	d[1] = t[1];
	d[2] = t[2];
	d[3] = t[3];
	d[4] = t[4];
	d[5] = t[5];
	*(__u32 *)(dst + 48) = *(const __u32 *)(tmpl + 48);
	*(__u16 *)(dst + 52) = *(const __u16 *)(tmpl + 52);
}

/* Next offset within [0, range): random, or the odometer digit `*off`
 * (returns whether it wrapped, so the next digit advances). */
static __always_inline __u32 next_off(__u32 *off, __u32 range, int random, int *carry)
{
	__u32 cur = *off;

	if (random)
		return range > 1 ? bpf_get_prandom_u32() % range : 0;
	if (*carry) {
		*carry = 0;
		if (++*off >= range) {
			*off = 0;
			*carry = 1;
		}
	}
	return cur;
}

SEC("xdp")
int fg_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct gen_cfg *c = &fg_gen_cfg;
	struct gen_state *s = &fg_gen_state;
	int random = c->flags & GEN_F_RANDOM;
	int carry = 1;
	__u32 saddr, ports, sum;
	__u16 sport, dport;

	if (data + GEN_HDR_LEN > end)
		return XDP_ABORTED;
	copy_hdr(data, c->tmpl);

	saddr = bpf_htonl(c->saddr + next_off(&s->src_off, c->src_range, random, &carry));
	sport = bpf_htons(c->sport + next_off(&s->sport_off, c->sport_range, random, &carry));
	dport = bpf_htons(c->dport + next_off(&s->dport_off, c->dport_range, random, &carry));
	s->frames++;

	*(__u32 *)(data + GEN_OFF_SADDR) = saddr;
	*(__u16 *)(data + GEN_OFF_SPORT) = sport;
	*(__u16 *)(data + GEN_OFF_DPORT) = dport;

	sum = c->ip_sum + (saddr & 0xffff) + (saddr >> 16);
	*(__u16 *)(data + GEN_OFF_IP_CSUM) = csum_fold(sum);

	if (c->flags & GEN_F_TCP) {
		ports = (__u32)sport + dport;
		sum = c->tcp_sum + (saddr & 0xffff) + (saddr >> 16) + ports;
		*(__u16 *)(data + GEN_OFF_TCP_CSUM) = csum_fold(sum);
	}
	return XDP_TX;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
