// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-source rate limits (`rate:`): a source sending faster than one
 * token's worth of time per packet must still earn tokens. With 1/s and a
 * burst of 1, packets every ~0.2 ms for 1.2 s let exactly the burst plus
 * one refill through; the rest are dropped with reason `rate`.
 */
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"

FG_TEST_GLOBALS;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void test_rate_fast_sender_earns_tokens(void)
{
	struct fg_rule_spec r[1];
	struct policy p = { 0 };
	struct pkt_spec s;
	struct dp *dp;
	uint8_t f[128];
	uint64_t d0, d1;
	int passed = 0, sent = 0;
	double t0;
	size_t len;

	if (!ASSERT_OK(dp_open(NULL, &dp), "dp_open"))
		return;
	r[0] = dpt_rule("limited", FG_ACT_ALLOW);
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 17;
	r[0].rate_pps = 1;
	r[0].rate_burst = 1;
	p.rules = r;
	p.nrules = 1;
	p.default_action = FG_ACT_DROP;
	if (!ASSERT_OK(dpt_install(dp, &p, 1), "install"))
		goto out;
	pkt_spec_init(&s, PKT_L3_V4, 17);
	len = pkt_build(&s, f, sizeof(f));
	d0 = dpt_count(dp, "fg_drop_stats", FG_R_RATE);
	t0 = now_s();
	while (now_s() - t0 < 1.2) {
		passed += dpt_run(dp, f, len, 0, 1) == XDP_PASS_;
		sent++;
		usleep(200);
	}
	d1 = dpt_count(dp, "fg_drop_stats", FG_R_RATE);
	printf("  %d packets in 1.2 s, %d passed\n", sent, passed);
	ASSERT_GE(sent, 1000, "fast enough to starve a bucket that stamps every packet");
	ASSERT_EQ(passed, 2, "the burst, then one token after a second");
	ASSERT_EQ(d1 - d0, (uint64_t)(sent - passed), "the rest dropped as rate");
out:
	dp_close(dp);
}

int main(void)
{
	RUN_TEST(test_rate_fast_sender_earns_tokens);
	return FG_TEST_EXIT();
}
