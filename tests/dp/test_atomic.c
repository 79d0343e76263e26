// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Atomic rule-set replacement. One thread installs two policies A and B in
 * turn, thousands of times; the other classifies probe packets on the other
 * CPU meanwhile. A and B give every probe the same verdict through
 * different rules, rule order, sets and class layouts, so a packet that saw
 * a mix of two generations (one's address classes with the other's lists)
 * would get a wrong verdict or land on the default counter. Zero wrong
 * verdicts, exact counters.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"

FG_TEST_GLOBALS;

#define FLIPS 2000

static struct fg_cidr pa_src[3], pb_src[2], p_set[4];
static struct fg_port_range p53 = { 53, 53 }, p9 = { 9, 9 }, p1k = { 1000, 2000 };

/* A: drop udp dport 9 from 10.1/16; allow 10/8; drop the rest (default). */
static void policy_a(struct policy *p, struct fg_rule_spec *r, struct fg_set_spec *s)
{
	memset(p, 0, sizeof(*p));
	pa_src[0] = dpt_cidr("10.1.0.0/16");
	pa_src[1] = dpt_cidr("10.0.0.0/8");
	r[0] = dpt_rule("a-drop9", FG_ACT_DROP);
	r[0].src.any = false;
	r[0].src.cidrs = &pa_src[0];
	r[0].src.ncidrs = 1;
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 17;
	r[0].dports = &p9;
	r[0].ndports = 1;
	r[1] = dpt_rule("a-allow10", FG_ACT_ALLOW);
	r[1].src.any = false;
	r[1].src.cidrs = &pa_src[1];
	r[1].src.ncidrs = 1;
	p->rules = r;
	p->nrules = 2;
	p->sets = s;
	p->nsets = 0;
	p->default_action = FG_ACT_DROP;
}

/* B: same verdicts, other shape: decoy rules first, a set, port ranges,
 * allow through a set, default drop. */
static void policy_b(struct policy *p, struct fg_rule_spec *r, struct fg_set_spec *s)
{
	memset(p, 0, sizeof(*p));
	p_set[0] = dpt_cidr("10.0.0.0/9");
	p_set[1] = dpt_cidr("10.128.0.0/9");
	p_set[2] = dpt_cidr("2001:db8::/32");
	p_set[3] = dpt_cidr("192.0.2.0/24");
	s[0].name = "ten";
	s[0].cidrs = p_set;
	s[0].ncidrs = 4;
	pb_src[0] = dpt_cidr("192.0.2.0/24");
	pb_src[1] = dpt_cidr("10.1.0.0/16");
	r[0] = dpt_rule("b-decoy-53", FG_ACT_DROP);
	r[0].src.any = false;
	r[0].src.cidrs = &pb_src[0];
	r[0].src.ncidrs = 1;
	r[0].proto_kind = FG_PROTO_TCPUDP;
	r[0].dports = &p53;
	r[0].ndports = 1;
	r[1] = dpt_rule("b-decoy-range", FG_ACT_ALLOW);
	r[1].proto_kind = FG_PROTO_NUM;
	r[1].proto = 6;
	r[1].sports = &p1k;
	r[1].nsports = 1;
	r[2] = dpt_rule("b-drop9", FG_ACT_DROP);
	r[2].src.any = false;
	r[2].src.cidrs = &pb_src[1];
	r[2].src.ncidrs = 1;
	r[2].proto_kind = FG_PROTO_TCPUDP;
	r[2].dports = &p9;
	r[2].ndports = 1;
	r[3] = dpt_rule("b-allow-set", FG_ACT_ALLOW);
	r[3].src.any = false;
	r[3].src.set = 0;
	p->rules = r;
	p->nrules = 4;
	p->sets = s;
	p->nsets = 1;
	p->default_action = FG_ACT_DROP;
}

struct probe {
	const char *src;
	uint16_t dport;
	int want; /* XDP action */
	uint8_t frame[128];
	size_t len;
};

static struct probe probes[] = {
	{ .src = "10.1.2.3", .dport = 9, .want = XDP_DROP_ },   /* drop in both */
	{ .src = "10.1.2.3", .dport = 80, .want = XDP_PASS_ },  /* allow in both */
	{ .src = "10.200.0.1", .dport = 9, .want = XDP_PASS_ }, /* not 10.1/16 */
	{ .src = "10.2.0.1", .dport = 53, .want = XDP_PASS_ },
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static atomic_int stop;
static struct dp *dp;

static void *flipper(void *arg)
{
	struct fg_rule_spec ra[4], rb[4];
	struct fg_set_spec sa[1], sb[1];
	struct policy a, b;
	uint64_t gen = 2;
	int i, *err = arg;

	memset(sa, 0, sizeof(sa));
	memset(sb, 0, sizeof(sb));
	policy_a(&a, ra, sa);
	policy_b(&b, rb, sb);
	for (i = 0; i < FLIPS && !*err; i++, gen++)
		*err = dpt_install(dp, (i & 1) ? &a : &b, gen);
	atomic_store(&stop, 1);
	return NULL;
}

static void test_atomic_flip(void)
{
	struct fg_rule_spec ra[4];
	struct fg_set_spec sa[1];
	uint64_t runs[NPROBES] = { 0 }, wrong = 0, total = 0, drops, def0;
	struct policy a;
	pthread_t th;
	int ferr = 0;
	size_t i;

	if (!ASSERT_OK(dp_open(NULL, &dp), "dp_open"))
		return;
	memset(sa, 0, sizeof(sa));
	policy_a(&a, ra, sa);
	if (!ASSERT_OK(dpt_install(dp, &a, 1), "install A"))
		goto out;
	for (i = 0; i < NPROBES; i++) {
		struct pkt_spec s;

		pkt_spec_init(&s, PKT_L3_V4, 17);
		pkt_addr(s.src, probes[i].src);
		pkt_addr(s.dst, "10.9.9.9");
		s.sport = 40000;
		s.dport = probes[i].dport;
		probes[i].len = pkt_build(&s, probes[i].frame, sizeof(probes[i].frame));
		ASSERT_EQ(dpt_run(dp, probes[i].frame, probes[i].len, 0, 1), probes[i].want,
			  probes[i].src);
	}
	/* counters from here on */
	drops = dpt_count(dp, "fg_drop_stats", FG_R_RULE);
	def0 = dpt_count(dp, "fg_rule_stats", FG_SLOT_DEFAULT);

	pthread_create(&th, NULL, flipper, &ferr);
	while (!atomic_load(&stop)) {
		for (i = 0; i < NPROBES; i++) {
			int v = dpt_run(dp, probes[i].frame, probes[i].len, 0, 1);

			runs[i]++;
			if (v != probes[i].want)
				wrong++;
		}
	}
	pthread_join(th, NULL);
	ASSERT_OK(ferr, "installs");
	for (i = 0; i < NPROBES; i++)
		total += runs[i];
	printf("  %d flips, %llu probe packets classified meanwhile, %llu wrong\n", FLIPS,
	       (unsigned long long)total, (unsigned long long)wrong);
	ASSERT_EQ(wrong, 0, "wrong verdicts");
	ASSERT_GE(total, FLIPS, "probes ran throughout");
	/* every drop-probe run is one rule drop; nothing reached the default */
	ASSERT_EQ(dpt_count(dp, "fg_drop_stats", FG_R_RULE) - drops, runs[0], "rule drops");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", FG_SLOT_DEFAULT) - def0, 0, "default hits");
	ASSERT_EQ(dp_generation(dp), FLIPS + 1, "generation");
out:
	dp_close(dp);
}

/*
 * An apply whose attach step fails goes back to the previous generation
 * (dp_revert). Flows classified under the reverted generation must not keep
 * its verdicts: the flow cache is keyed by a per-install epoch, not by the
 * generation number.
 */
static void test_revert(void)
{
	struct fg_rule_spec r[1];
	struct policy drop9 = { 0 }, open = { 0 };
	struct pkt_spec s;
	uint8_t f[128];
	size_t n;

	if (!ASSERT_OK(dp_open(NULL, &dp), "dp_open"))
		return;
	r[0] = dpt_rule_dport("drop9", FG_ACT_DROP, 17, &p9);
	drop9.rules = r;
	drop9.nrules = 1;
	drop9.default_action = FG_ACT_ALLOW;
	open.default_action = FG_ACT_ALLOW;
	pkt_spec_init(&s, PKT_L3_V4, 17);
	s.dport = 9;
	n = pkt_build(&s, f, sizeof(f));

	ASSERT_EQ(dp_revert(dp), -ENOENT, "nothing to revert to yet");
	if (!ASSERT_OK(dpt_install(dp, &drop9, 1), "install drop9"))
		goto out;
	ASSERT_EQ(dpt_run(dp, f, n, 0, 1), XDP_DROP_, "gen 1 drops");
	if (!ASSERT_OK(dpt_install(dp, &open, 2), "install open"))
		goto out;
	ASSERT_EQ(dpt_run(dp, f, n, 0, 1), XDP_PASS_, "gen 2 passes (and caches it)");
	ASSERT_OK(dp_revert(dp), "revert");
	ASSERT_EQ(dp_generation(dp), 1, "generation 1 runs again");
	ASSERT_EQ(dpt_run(dp, f, n, 0, 1), XDP_DROP_, "gen 1 drops again, cache or not");
	/* Reverted again to `open` cached as PASS, then a different policy
	 * installed under the reverted generation's number: the cached PASS
	 * must not survive. */
	if (!ASSERT_OK(dpt_install(dp, &open, 2), "install open again"))
		goto out;
	ASSERT_EQ(dpt_run(dp, f, n, 0, 1), XDP_PASS_, "passes (cached)");
	ASSERT_OK(dp_revert(dp), "revert again");
	if (!ASSERT_OK(dpt_install(dp, &drop9, 2), "drop9 under number 2"))
		goto out;
	ASSERT_EQ(dpt_run(dp, f, n, 0, 1), XDP_DROP_, "drops: no stale cache entry");
out:
	dp_close(dp);
}

int main(void)
{
	RUN_TEST(test_revert);
	RUN_TEST(test_atomic_flip);
	return FG_TEST_EXIT();
}
