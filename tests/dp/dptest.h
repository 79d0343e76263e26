/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Helpers for datapath tests: build policies in C (no YAML), run the XDP
 * program on a frame with BPF_PROG_TEST_RUN, read counters.
 */
#ifndef FG_DPTEST_H
#define FG_DPTEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>

#include "compile.h"
#include "dataplane.h"
#include "policy.h"
#include "names.h"
#include "test.h"

#define XDP_ABORTED_ 0
#define XDP_DROP_ 1
#define XDP_PASS_ 2

static inline struct fg_cidr dpt_cidr(const char *s)
{
	struct fg_cidr c = { 0 };
	char buf[64], *slash;
	int fam;

	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash = 0;
	fam = strchr(buf, ':') ? 6 : 4;
	c.family = fam;
	inet_pton(fam == 4 ? AF_INET : AF_INET6, buf, c.addr);
	c.len = slash ? atoi(slash + 1) : (fam == 4 ? 32 : 128);
	return c;
}

/* A rule with every field "any"; callers fill what they need. */
static inline struct fg_rule_spec dpt_rule(const char *name, int action)
{
	struct fg_rule_spec r = { 0 };

	r.name = (char *)name;
	r.action = action;
	r.src.any = r.dst.any = true;
	r.src.set = r.dst.set = -1;
	return r;
}

/* A rule on one protocol and one destination port range. */
static inline struct fg_rule_spec dpt_rule_dport(const char *name, int action, uint8_t proto,
						 struct fg_port_range *dports)
{
	struct fg_rule_spec r = dpt_rule(name, action);

	r.proto_kind = FG_PROTO_NUM;
	r.proto = proto;
	r.dports = dports;
	r.ndports = 1;
	return r;
}

/* Run the XDP program once on a frame; returns the XDP action or -errno. */
static inline int dpt_run(struct dp *dp, const void *frame, size_t len,
			  uint32_t ifindex, uint32_t repeat)
{
	struct xdp_md ctx = { .data_end = len, .ingress_ifindex = ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len,
		    .repeat = repeat ? repeat : 1);
	int err;

	if (ifindex) {
		o.ctx_in = &ctx;
		o.ctx_size_in = sizeof(ctx);
	}
	err = bpf_prog_test_run_opts(dp_prog_fd(dp, true), &o);
	return err ? err : (int)o.retval;
}

static inline int dpt_install_opts(struct dp *dp, const struct policy *p,
				   const struct compile_opts *o, uint64_t gen);

static inline int dpt_install(struct dp *dp, const struct policy *p, uint64_t gen)
{
	return dpt_install_opts(dp, p, NULL, gen);
}

static inline uint64_t dpt_count(struct dp *dp, const char *map, uint32_t key)
{
	struct fg_counter c;

	if (dp_counter(dp, dp_map_fd(dp, map), key, &c))
		return (uint64_t)-1;
	return c.packets;
}

/* ---- helpers for the datapath test suite (test_parse, test_match, ...) ---- */

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <net/if.h>
#include <bpf/libbpf.h>

/* Packets and bytes of a per-CPU counter summed over CPUs; all-ones on
 * error so that an exact comparison fails. */
static inline struct fg_counter dpt_counter(struct dp *dp, const char *map, uint32_t key)
{
	struct fg_counter c;

	if (dp_counter(dp, dp_map_fd(dp, map), key, &c))
		c.packets = c.bytes = (uint64_t)-1;
	return c;
}

/* Counters a check compares before and after a frame: every drop reason
 * and the first DPT_SLOTS rule stats slots (0 = default, rule i = i + 1). */
#define DPT_SLOTS 16
struct dpt_snap {
	struct fg_counter drop[FG_R_MAX];
	struct fg_counter slot[DPT_SLOTS];
};

static inline void dpt_snap(struct dp *dp, struct dpt_snap *s, uint32_t nslots)
{
	uint32_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < FG_R_MAX; i++)
		s->drop[i] = dpt_counter(dp, "fg_drop_stats", i);
	for (i = 0; i < nslots && i < DPT_SLOTS; i++)
		s->slot[i] = dpt_counter(dp, "fg_rule_stats", i);
}

/*
 * Run one frame and check everything it must change, and that nothing else
 * changed: the XDP action `act` (or -errno from the kernel), the stats slot
 * it is counted on (`slot`, -1 for none) by exactly one packet and `len`
 * bytes, and the drop reason counter (`reason`, FG_R_NONE when it passes)
 * likewise; every other reason and slot below `nslots` must stay put.
 * Failures are reported under `desc`; returns true when all held.
 */
static inline bool dpt_delta_ok(const char *desc, const char *what, const struct fg_counter *a,
				const struct fg_counter *b, uint64_t want, size_t len)
{
	uint64_t dp = b->packets - a->packets, db = b->bytes - a->bytes;

	if (dp == want && db == want * len)
		return true;
	FG_TEST_FAILF("%s: %s changed by %lld packets/%lld bytes, want %llu/%llu", desc, what,
		      (long long)dp, (long long)db, (unsigned long long)want,
		      (unsigned long long)(want * len));
	return false;
}

static inline bool dpt_check(struct dp *dp, const char *desc, const void *frame, size_t len,
			     uint32_t ifindex, uint32_t nslots, int act, int slot, int reason)
{
	struct dpt_snap a, b;
	char what[96];
	bool ok = true;
	uint32_t i;
	int got;

	dpt_snap(dp, &a, nslots);
	got = dpt_run(dp, frame, len, ifindex, 1);
	dpt_snap(dp, &b, nslots);
	if (got != act) {
		FG_TEST_FAILF("%s: verdict %d, want %d (%d drop, %d pass)", desc, got, act,
			      XDP_DROP_, XDP_PASS_);
		ok = false;
	}
	for (i = 0; i < FG_R_MAX; i++) {
		snprintf(what, sizeof(what), "fg_drop_stats[%s]", fg_reason_name(i));
		ok &= dpt_delta_ok(desc, what, &a.drop[i], &b.drop[i],
				   (int)i == reason && reason != FG_R_NONE, len);
	}
	for (i = 0; i < nslots && i < DPT_SLOTS; i++) {
		snprintf(what, sizeof(what), "fg_rule_stats[%u]", i);
		ok &= dpt_delta_ok(desc, what, &a.slot[i], &b.slot[i], (int)i == slot, len);
	}
	return ok;
}

/* Run the TC egress program once on a frame; the TC action or -errno. */
static inline int dpt_run_tc(struct dp *dp, const void *frame, size_t len)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = len, .repeat = 1);
	int err = bpf_prog_test_run_opts(dp_prog_fd(dp, false), &o);

	return err ? err : (int)o.retval;
}

/* Empty both conntrack maps. */
static inline void dpt_ct_clear(struct dp *dp)
{
	static const char *const maps[] = {"fg_ct", "fg_ct_new"};
	struct fg_ct_key k;
	int i, fd;

	for (i = 0; i < 2; i++) {
		fd = dp_map_fd(dp, maps[i]);
		while (!bpf_map_get_next_key(fd, NULL, &k))
			bpf_map_delete_elem(fd, &k);
	}
}

/* Compile with options (stat slots, ifindex resolver) and install. */
static inline int dpt_install_opts(struct dp *dp, const struct policy *p,
				   const struct compile_opts *o, uint64_t gen)
{
	struct fg_tables t;
	char err[256];
	int ret;

	ret = compile_tables(p, o, &t, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "compile: %s\n", err);
		return ret;
	}
	ret = dp_install(dp, &t, gen);
	compile_free(&t);
	return ret;
}

/*
 * Move this process into a private network namespace and create dummy
 * interfaces there (they vanish with the process). Kernels without the
 * dummy driver get one end of a veth pair (peer "<name>p") instead. Call at
 * the start of main, before any thread. Returns 0 or -errno.
 */
static inline int dpt_netns(const char *const *ifnames, size_t n)
{
	char cmd[256];
	size_t i;

	if (unshare(CLONE_NEWNET))
		return -errno;
	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd),
			 "{ ip link add %s type dummy 2>/dev/null || "
			 "ip link add %s type veth peer name %sp; } && ip link set %s up",
			 ifnames[i], ifnames[i], ifnames[i], ifnames[i]);
		if (system(cmd) != 0 || !if_nametoindex(ifnames[i]))
			return -ENODEV;
	}
	return 0;
}

/* The datapath's clock (bpf_ktime_get_ns() is CLOCK_MONOTONIC). */
static inline uint64_t dpt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Refill the per-CPU event budget, so that the next events are sent
 * whatever earlier tests dropped (a zero bucket refills to its burst). */
static inline int dpt_event_budget_reset(struct dp *dp)
{
	int ncpu = libbpf_num_possible_cpus(), err = 0;
	struct fg_evbudget *v;
	uint32_t zero = 0;

	v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_update_elem(dp_map_fd(dp, "fg_evbudget"), &zero, v, BPF_ANY))
		err = -errno;
	free(v);
	return err;
}

/* Events read from fg_events by dpt_events_read(). */
#define DPT_MAX_EVENTS 256
struct dpt_events {
	struct ring_buffer *rb;
	struct fg_event ev[DPT_MAX_EVENTS]; /* the first DPT_MAX_EVENTS read */
	int n;    /* stored in ev[] */
	int seen; /* read, stored or not */
};

static inline int dpt_event_cb(void *ctx, void *data, size_t len)
{
	struct dpt_events *e = ctx;

	e->seen++;
	if (e->n < DPT_MAX_EVENTS && len >= sizeof(struct fg_event))
		memcpy(&e->ev[e->n++], data, sizeof(struct fg_event));
	return 0;
}

static inline int dpt_events_open(struct dp *dp, struct dpt_events *e)
{
	memset(e, 0, sizeof(*e));
	e->rb = ring_buffer__new(dp_map_fd(dp, "fg_events"), dpt_event_cb, e, NULL);
	return e->rb ? 0 : -errno;
}

/* Forget what was read, then read what the ring holds now; how many. */
static inline int dpt_events_read(struct dpt_events *e)
{
	e->n = 0;
	e->seen = 0;
	ring_buffer__consume(e->rb);
	return e->seen;
}

static inline void dpt_events_close(struct dpt_events *e)
{
	ring_buffer__free(e->rb);
	e->rb = NULL;
}

#endif
