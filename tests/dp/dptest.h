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

static inline int dpt_install(struct dp *dp, const struct policy *p, uint64_t gen)
{
	struct fg_tables t;
	char err[256];
	int ret;

	ret = compile_tables(p, NULL, &t, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "compile: %s\n", err);
		return ret;
	}
	ret = dp_install(dp, &t, gen);
	compile_free(&t);
	return ret;
}

static inline uint64_t dpt_count(struct dp *dp, const char *map, uint32_t key)
{
	struct fg_counter c;

	if (dp_counter(dp, dp_map_fd(dp, map), key, &c))
		return (uint64_t)-1;
	return c.packets;
}

#endif
