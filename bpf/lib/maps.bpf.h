/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Every map of the datapath. Layouts come from include/flowgate/abi.h.
 *
 * A generation is a program: each install loads its own copy of fg_xdp_gen
 * and fg_tc_gen, with its tables (fg_heap, fg_lpm, sized to the policy) and
 * its configuration (fg_cfg, read-only data the verifier treats as
 * constants). The attached entry programs tail-call slot 0 of fg_gen_xdp /
 * fg_gen_tc, so a packet runs one generation from start to end, and an
 * install is one prog-array update. Table lookups are direct array
 * accesses the verifier inlines (a map-in-map's inner arrays are not).
 * Runtime state (counters, conntrack, bans, fragments, rate buckets,
 * events) is shared by every generation: it survives applies and restarts.
 */
#ifndef FG_MAPS_BPF_H
#define FG_MAPS_BPF_H

/* ---- the generation's own tables (one copy per loaded generation) ---- */

/* The running generation's header: bases, flags, default verdict, epoch.
 * Set by dp_install before the load; frozen, so known to the verifier,
 * which drops the branches a policy cannot take. */
const volatile struct fg_heap_hdr fg_cfg = {};

/* The generation's set hashes (abi.h), constants like fg_cfg: a policy
 * without big sets has no probe in its program. */
const volatile struct fg_set_hashes fg_hcfg = {};

/* The generation's IPv6 digit trees (abi.h): constants like fg_cfg. */
const volatile struct fg_v6_trees fg_v6cfg = {};

/* Hold back the rule counts of classified packets (abi.h, struct
 * fg_pend): set by dp_install where the CPU keeps stores in order
 * (x86-64), which the record's sequence count relies on; elsewhere every
 * packet counts at once. A constant: the verifier drops the other way. */
const volatile __u32 fg_hold_counts = 0;

/* Classifier tables (abi.h heap layout); max_entries set at load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_heap_slot);
} fg_heap SEC(".maps");

/* IPv6 address classes; max_entries set at load. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct fg_lpm_key);
	__type(value, __u32);
} fg_lpm SEC(".maps");

/* ---- generation switch ---- */

/* [0]: the running generation's program, tail-called by the entry program
 * with a constant key, so the JIT patches a direct jump. dp_install
 * updates it; the previous generation stays loaded in the daemon
 * (dp_revert). */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fg_gen_xdp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} fg_gen_tc SEC(".maps");

/* Never read by programs: updating it from user space returns after an RCU
 * grace period (all running programs finished). dp_sync() uses it. */
struct fg_inner_sync {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct fg_inner_sync);
} fg_sync SEC(".maps");

/* fg_geninfo[slot]: the headers of the running and the previous
 * generation, for user space only (never read by programs). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_SLOTS);
	__type(key, __u32);
	__type(value, struct fg_heap_hdr);
} fg_geninfo SEC(".maps");

/* fg_active[0].slot: which fg_geninfo entry describes the running
 * generation (user space only). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_active);
} fg_active SEC(".maps");

/* ---- runtime state ---- */

/* Counters (abi.h, "counters": fg_rule_stats, fg_drop_stats, fg_if_stats)
 * are plain arrays with a region per CPU, CPU c at [c * N, (c + 1) * N);
 * max_entries is set at load to N x possible CPUs. The daemon maps them
 * and sums the regions without a syscall. */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_MAX_STAT_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fg_counter);
} fg_rule_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_R_MAX);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fg_counter);
} fg_drop_stats SEC(".maps");

/* Rule counts held back, one element per possible CPU (abi.h, struct
 * fg_pend); max_entries is set at load to the number of possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fg_pend);
} fg_pend SEC(".maps");

/* Per-interface frames seen by the ingress hook, at FG_IF_SLOT(ifindex):
 * an array, so counting costs no hash lookup. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_IF_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct fg_counter);
} fg_if_stats SEC(".maps");

/* The IPv4 flow cache (abi.h): max_entries is set at load to
 * FG_FLOW4_BUCKETS x possible CPUs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FG_FLOW4_BUCKETS);
	__type(key, __u32);
	__type(value, struct fg_flow4_bucket);
} fg_flows4 SEC(".maps");

/* The IPv6 flow cache (abi.h): per CPU, 2-way set-associative. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FG_FLOW_BUCKETS);
	__type(key, __u32);
	__type(value, struct fg_flow_bucket);
} fg_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_runtime);
} fg_runtime SEC(".maps");

/* Bans (both families; tag FG_TAG_SRC4/SRC6). Runtime state. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, FG_BAN_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct fg_lpm_key));
	__uint(value_size, sizeof(struct fg_ban));
} fg_ban SEC(".maps");

/* Established flows. Only entries that saw traffic both ways live here, so
 * a flood of half-open flows (which fills fg_ct_new) cannot evict them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FG_CT_MAX);
	__type(key, struct fg_ct_key);
	__type(value, struct fg_ct_val);
} fg_ct SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FG_CT_NEW_MAX);
	__type(key, struct fg_ct_key);
	__type(value, struct fg_ct_val);
} fg_ct_new SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FG_FRAG_MAX);
	__type(key, struct fg_frag_key);
	__type(value, struct fg_frag_val);
} fg_frag SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, FG_RATE_MAX);
	__type(key, struct fg_rate_key);
	__type(value, struct fg_rate_val);
} fg_rate SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fg_evbudget);
} fg_evbudget SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, FG_EVENTS_BYTES);
} fg_events SEC(".maps");

#endif /* FG_MAPS_BPF_H */
