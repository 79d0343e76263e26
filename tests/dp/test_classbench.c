// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The datapath against the reference model on realistic rule structure:
 * the ClassBench ACL, firewall and IP-chain sets of 10k rules and their
 * header traces (../shared/classbench). Every header is run through the
 * XDP program and through model_verdict(); verdicts must be identical and
 * the counter of exactly the rule the model picked must move. Rules
 * alternate allow/drop so a wrong rule usually shows as a wrong verdict
 * too, and the counter check catches the rest. Each set runs again mapped
 * to IPv6 (bench/cb.h: a.b.c.d/len becomes 2001:db8:ab:cd::/32+len), for
 * the IPv6 digit trees and their direct tables on the same structure.
 */
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"
#include "model.h"
#include "../../bench/cb.h"

FG_TEST_GLOBALS;

#ifndef CB_DIR
#define CB_DIR "../shared/classbench"
#endif
#define MAX_HEADERS 20000

static const char *cb_dir(void)
{
	const char *d = getenv("FG_CLASSBENCH");

	return d ? d : CB_DIR;
}

static void frame_of(const struct cb_hdr *h, struct pkt_spec *s, bool v6)
{
	pkt_spec_init(s, v6 ? PKT_L3_V6 : PKT_L3_V4, h->proto);
	if (v6) {
		cb_addr6(s->src, h->src);
		cb_addr6(s->dst, h->dst);
	} else {
		memcpy(s->src, &h->src, 4);
		memcpy(s->dst, &h->dst, 4);
	}
	s->sport = h->sport;
	s->dport = h->dport;
	s->tcp_flags = FG_TCP_ACK;
}

/* v6: run the set mapped to IPv6, with the digit trees' direct tables for
 * digits of table_min intervals or more (0: the default); tables: some
 * must have been built. */
static void check_set(const char *name, bool v6, size_t table_min, bool tables)
{
	struct compile_opts o = { .default_slot = FG_SLOT_DEFAULT, .v6_table_min = table_min };
	char rp[512], tp[512];
	struct cb_hdr *tr = NULL;
	struct policy p;
	struct dp *dp = NULL;
	size_t ntr = 0, i, wrong = 0, wrong_rule = 0, matched = 0;
	int fd;

	snprintf(rp, sizeof(rp), "%s/%s_10000.gz", cb_dir(), name);
	snprintf(tp, sizeof(tp), "%s/%s_10000_trace.gz", cb_dir(), name);
	if (!ASSERT_OK(cb_load_rules(rp, 0, &p), rp))
		return;
	if (!ASSERT_OK(cb_load_trace(tp, MAX_HEADERS, &tr, &ntr), tp))
		goto out;
	for (i = 0; i < p.nrules; i++)
		p.rules[i].action = (i & 1) ? FG_ACT_ALLOW : FG_ACT_DROP;
	p.default_action = FG_ACT_ALLOW;
	if (v6) {
		struct fg_tables t;
		char err[256];

		cb_rules_to_v6(&p);
		/* the IPv6 lookup this test is for: digit trees, with tables */
		if (!ASSERT_OK(compile_tables(&p, &o, &t, err, sizeof(err)), err))
			goto out;
		printf("  %s in IPv6: digit trees %s, %zu slots, %zu direct tables\n", name,
		       t.v6t.on ? "on" : "OFF", t.nv6slots, t.nv6tables);
		ASSERT_TRUE(t.v6t.on, "digit trees");
		if (tables)
			ASSERT_TRUE(t.nv6tables > 0, "direct tables");
		compile_free(&t);
	}
	if (!ASSERT_OK(dp_open(NULL, &dp), "dp_open") ||
	    !ASSERT_OK(dpt_install_opts(dp, &p, &o, 1), "install"))
		goto out;
	fd = dp_map_fd(dp, "fg_rule_stats");
	for (i = 0; i < ntr; i++) {
		struct pkt_spec s;
		struct fg_pkt want;
		struct fg_counter c0, c1;
		uint8_t f[256];
		int rule = -1, act, got;
		size_t n;

		frame_of(&tr[i], &s, v6);
		n = pkt_build(&s, f, sizeof(f));
		if (!n || pkt_expect(&s, &want) != FG_R_NONE)
			continue;
		act = model_verdict(&p, &want, "lo", &rule);
		dp_counter(dp, fd, rule + 1, &c0);
		got = dpt_run(dp, f, n, 0, 1);
		dp_counter(dp, fd, rule + 1, &c1);
		if (got != (act == FG_ACT_DROP ? XDP_DROP_ : XDP_PASS_)) {
			if (wrong++ < 3) {
				char b[200];

				pkt_format(&want, b, sizeof(b));
				printf("  %s: header %zu: model rule %d, XDP verdict %d: %s\n",
				       name, i, rule, got, b);
			}
		} else if (c1.packets != c0.packets + 1) {
			wrong_rule++;
		}
		matched += rule >= 0;
	}
	printf("  %s%s: %zu rules, %zu headers, %zu matched a rule, %zu wrong verdicts, %zu wrong rules\n",
	       name, v6 ? " in IPv6" : "", p.nrules, ntr, matched, wrong, wrong_rule);
	ASSERT_GE(ntr, 5000, "headers");
	ASSERT_GE(matched, ntr / 2, "headers that hit rules");
	ASSERT_EQ(wrong, 0, "wrong verdicts");
	ASSERT_EQ(wrong_rule, 0, "wrong rules");
out:
	dp_close(dp);
	free(tr);
	cb_free_rules(&p);
}

static void test_classbench_acl(void)
{
	check_set("acl1", false, 0, false);
}

static void test_classbench_fw(void)
{
	check_set("fw1", false, 0, false);
}

static void test_classbench_ipc(void)
{
	check_set("ipc1", false, 0, false);
}

static void test_classbench_acl_v6(void)
{
	check_set("acl1", true, 0, false); /* trees only */
}

static void test_classbench_fw_v6(void)
{
	check_set("fw1", true, 0, true); /* two tables */
}

static void test_classbench_ipc_v6(void)
{
	check_set("ipc1", true, 256, true); /* tables made */
}

int main(void)
{
	RUN_TEST(test_classbench_acl);
	RUN_TEST(test_classbench_fw);
	RUN_TEST(test_classbench_ipc);
	RUN_TEST(test_classbench_acl_v6);
	RUN_TEST(test_classbench_fw_v6);
	RUN_TEST(test_classbench_ipc_v6);
	return FG_TEST_EXIT();
}
