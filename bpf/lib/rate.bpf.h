/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-source token buckets for rules with `rate:`.
 * Buckets refill from elapsed time, so nothing needs to run in between.
 * Updates are not atomic across CPUs: a bucket may grant a few extra
 * tokens under contention, which is acceptable for rate limiting.
 */
#ifndef FG_RATE_BPF_H
#define FG_RATE_BPF_H

static __always_inline bool fg_bucket_take(__u64 *last_ns, __u64 *tokens_milli,
					   __u32 rate, __u32 burst, __u64 now)
{
	__u64 t = *tokens_milli, cap = (__u64)burst * 1000;
	__u64 elapsed = 0, added;

	/* Another CPU may have stamped the bucket with a later clock reading:
	 * nothing elapsed then, and the stamp must not move backwards. */
	if ((__s64)(now - *last_ns) > 0)
		elapsed = now - *last_ns;
	/* The bucket is full after cap * 10^6 / rate ns; clamping there also
	 * keeps elapsed * rate <= cap * 10^6 < 2^63, for any rate. */
	if (rate && elapsed > cap * 1000000 / rate)
		elapsed = cap * 1000000 / rate;
	added = elapsed * rate / 1000000;
	/* Stamp only when something was earned: packets closer together than
	 * one milli-token's time would otherwise never earn anything. */
	if (added)
		*last_ns = now;
	t += added;
	if (t > cap)
		t = cap;
	if (t < 1000) {
		*tokens_milli = t;
		return false;
	}
	*tokens_milli = t - 1000;
	return true;
}

static __always_inline bool fg_rate_ok(const struct fg_pkt *p,
				       const struct fg_rule *r, __u64 now)
{
	struct fg_rate_key k = {};
	struct fg_rate_val *v, nv;

	__builtin_memcpy(k.src, p->src, 16);
	k.stat_slot = r->stat_slot;
	k.family = p->family;
	v = bpf_map_lookup_elem(&fg_rate, &k);
	if (!v) {
		nv.last_ns = now;
		nv.tokens_milli = ((__u64)r->rate_burst - 1) * 1000;
		bpf_map_update_elem(&fg_rate, &k, &nv, BPF_ANY);
		return true;
	}
	return fg_bucket_take(&v->last_ns, &v->tokens_milli, r->rate_pps,
			      r->rate_burst, now);
}

#endif /* FG_RATE_BPF_H */
