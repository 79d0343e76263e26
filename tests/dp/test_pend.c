// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Held-back rule counts (abi.h, struct fg_pend). A packet classified now
 * leaves its count in its CPU's record; the CPU's next classification
 * moves it into fg_rule_stats. Checked: where each count is at every
 * step (the record, the counter array, a cache hit counted at once),
 * that dp_counter adds the record so a reader always sees exact counts,
 * that reads racing the moves on another CPU never go backwards and
 * never count a packet twice or not at all, and that dp_pending_slots
 * names the slots such counts (and remembered fragments) still use.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"

FG_TEST_GLOBALS;

static struct fg_cidr src_a, src_b;

/* a: drop from 10.1/16 (slot 1); b: allow from 10.2/16 (slot 2). */
static void policy_ab(struct policy *p, struct fg_rule_spec *r)
{
	memset(p, 0, sizeof(*p));
	src_a = dpt_cidr("10.1.0.0/16");
	src_b = dpt_cidr("10.2.0.0/16");
	r[0] = dpt_rule("a", FG_ACT_DROP);
	r[0].src.any = false;
	r[0].src.cidrs = &src_a;
	r[0].src.ncidrs = 1;
	r[1] = dpt_rule("b", FG_ACT_ALLOW);
	r[1].src.any = false;
	r[1].src.cidrs = &src_b;
	r[1].src.ncidrs = 1;
	p->rules = r;
	p->nrules = 2;
	p->default_action = FG_ACT_ALLOW;
}

struct frame {
	uint8_t b[128];
	size_t len;
};

/* A UDP frame from 10.<net>.<hi>.<lo>: the source is in the flow key (a
 * rule matches it), so each source is a flow of its own. */
static void frame_from(struct frame *f, int net, unsigned n)
{
	struct pkt_spec s;
	char src[32];

	snprintf(src, sizeof(src), "10.%d.%u.%u", net, (n >> 8) & 0xff, n & 0xff);
	pkt_spec_init(&s, PKT_L3_V4, 17);
	pkt_addr(s.src, src);
	pkt_addr(s.dst, "10.9.9.9");
	s.sport = 40000;
	s.dport = 53;
	f->len = pkt_build(&s, f->b, sizeof(f->b));
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* CPU cpu's own record and its own counter of slot `slot`, raw. */
static struct fg_pend raw_pend(struct dp *dp, uint32_t cpu)
{
	struct fg_pend pd = { 0 };

	bpf_map_lookup_elem(dp_map_fd(dp, "fg_pend"), &cpu, &pd);
	return pd;
}

static uint64_t raw_count(struct dp *dp, uint32_t cpu, uint32_t slot)
{
	struct fg_counter c = { 0 };
	uint32_t k = cpu * FG_MAX_STAT_SLOTS + slot;

	bpf_map_lookup_elem(dp_map_fd(dp, "fg_rule_stats"), &k, &c);
	return c.packets;
}

/* dp_install holds counts back only where the CPU keeps stores in order
 * (x86-64); elsewhere every packet counts at once and no record is
 * written. */
#if defined(__x86_64__)
#define HOLD 1
#else
#define HOLD 0
#endif

/* The record holds slot/bytes (or, without HOLD, nothing). */
static bool held(struct dp *dp, uint32_t cpu, uint32_t slot, uint32_t bytes)
{
	struct fg_pend pd = raw_pend(dp, cpu);

	if (!HOLD)
		return pd.rec == 0 && pd.seq == 0;
	return pd.rec == (FG_PEND_VALID | (uint64_t)bytes << 32 | slot) && !(pd.seq & 1);
}

/* On CPU 0, a dataplane running policy a+b; NULL on failure (reported). */
static struct dp *setup_ab(struct policy *p, struct fg_rule_spec *r)
{
	struct dp *dp;

	if (!ASSERT_OK(pin_cpu(0), "run on CPU 0") || !ASSERT_OK(dp_open(NULL, &dp), "dp_open"))
		return NULL;
	policy_ab(p, r);
	if (!ASSERT_OK(dpt_install(dp, p, 1), "install a+b")) {
		dp_close(dp);
		return NULL;
	}
	return dp;
}

static void test_pend_steps(void)
{
	struct fg_rule_spec r[2];
	struct frame a1, a2, b1;
	struct policy p;
	struct dp *dp;

	if (!(dp = setup_ab(&p, r)))
		return;
	frame_from(&a1, 1, 1);
	frame_from(&a2, 1, 2);
	frame_from(&b1, 2, 1);

	/* a new flow: its count waits in CPU 0's record, readers see it */
	ASSERT_EQ(dpt_run(dp, a1.b, a1.len, 0, 1), XDP_DROP_, "a1 dropped");
	ASSERT_TRUE(held(dp, 0, 1, a1.len), "a1's count held back on CPU 0");
	ASSERT_EQ(raw_count(dp, 0, 1), !HOLD, "not in the counter array yet");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 1), 1, "a reads 1");
	ASSERT_EQ(dpt_counter(dp, "fg_rule_stats", 1).bytes, a1.len, "a's bytes");

	/* the next new flow moves it and holds its own */
	ASSERT_EQ(dpt_run(dp, b1.b, b1.len, 0, 1), XDP_PASS_, "b1 passes");
	ASSERT_EQ(raw_count(dp, 0, 1), 1, "a1 moved into the counter array");
	ASSERT_TRUE(held(dp, 0, 2, b1.len), "b1's count held back");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 1), 1, "a still reads 1");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 2), 1, "b reads 1");

	/* a known flow counts at once and leaves the record alone */
	ASSERT_EQ(dpt_run(dp, b1.b, b1.len, 0, 3), XDP_PASS_, "b1 three more times");
	ASSERT_EQ(raw_count(dp, 0, 2), 3 + !HOLD, "cache hits counted at once");
	ASSERT_TRUE(held(dp, 0, 2, b1.len), "the record is b1's first packet still");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 2), 4, "b reads 4");

	ASSERT_EQ(dpt_run(dp, a2.b, a2.len, 0, 1), XDP_DROP_, "a2 dropped");
	ASSERT_EQ(raw_count(dp, 0, 2), 4, "b1's first packet moved");
	ASSERT_TRUE(held(dp, 0, 1, a2.len), "a2's count held back");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 1), 2, "a reads 2");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", 2), 4, "b reads 4");
	ASSERT_EQ(dpt_counter(dp, "fg_rule_stats", 2).bytes, 4 * b1.len, "b's bytes");
	ASSERT_EQ(dpt_count(dp, "fg_rule_stats", FG_SLOT_DEFAULT), 0, "nothing on the default");
	dp_close(dp);
}

static bool has_slot(const uint32_t *v, size_t n, uint32_t slot)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == slot)
			return true;
	return false;
}

/*
 * dp_pending_slots names every slot the datapath may still count on
 * outside the running policy, so that the daemon does not give it to a
 * new rule: a CPU's held-back count, and the slot remembered for the later
 * fragments of a datagram (kept 30 s, across applies).
 */
static void test_pend_slots_in_use(void)
{
	static const uint32_t slot2[] = { 2 };
	struct compile_opts keep2 = { .stat_slots = slot2 };
	struct fg_rule_spec r[2];
	struct policy p;
	struct frame b1;
	struct pkt_spec s;
	uint8_t frag[128];
	size_t flen, n = 0;
	uint32_t *v = NULL;
	struct dp *dp;

	if (!(dp = setup_ab(&p, r)))
		return;
	if (!ASSERT_OK(dp_pending_slots(dp, &v, &n), "read") || !ASSERT_EQ(n, 0, "none yet"))
		goto out;
	free(v);
	v = NULL;

	/* a first fragment from a's source: a drops it, and remembers slot 1
	 * for the datagram's later fragments */
	pkt_spec_init(&s, PKT_L3_V4, 17);
	pkt_addr(s.src, "10.1.0.7");
	pkt_addr(s.dst, "10.9.9.9");
	s.sport = 40000;
	s.dport = 53;
	s.frag_mf = true;
	s.ip_id = 0x4242;
	flen = pkt_build(&s, frag, sizeof(frag));
	ASSERT_EQ(dpt_run(dp, frag, flen, 0, 1), XDP_DROP_, "first fragment dropped by a");
	/* a new flow of b: b's count is held (a's moved on) */
	frame_from(&b1, 2, 1);
	ASSERT_EQ(dpt_run(dp, b1.b, b1.len, 0, 1), XDP_PASS_, "b1 passes");

	/* the policy without a, b keeping its slot 2 (as the daemon keeps a
	 * rule's slot by name): slot 1 is free in the running policy, yet
	 * the fragment entry still counts on it */
	p.rules = &r[1];
	p.nrules = 1;
	if (!ASSERT_OK(dpt_install_opts(dp, &p, &keep2, 2), "install b alone"))
		goto out;
	if (!ASSERT_OK(dp_pending_slots(dp, &v, &n), "read"))
		goto out;
	ASSERT_TRUE(has_slot(v, n, 1), "the fragment's slot (a's) is in use");
	ASSERT_TRUE(!HOLD || has_slot(v, n, 2), "the held count's slot (b's) is in use");
	ASSERT_TRUE(n == 1 + HOLD, "nothing else");
out:
	free(v);
	dp_close(dp);
}

/* ---- reads racing the moves ---- */

#define RACE_PACKETS 200000

static struct dp *rdp;
static atomic_ullong started, done;
static atomic_int stop;

struct reader_result {
	uint64_t reads, backwards, low, high;
};

/* On CPU 1: read both counters over and over. Each read must lie between
 * the packets finished before it and those started after it, and no
 * read may be below the one before. */
static void *reader(void *arg)
{
	struct reader_result *res = arg;
	uint64_t last = 0;

	if (pin_cpu(1))
		return NULL;
	while (!atomic_load(&stop)) {
		uint64_t lo = atomic_load(&done), n, hi;

		n = dpt_count(rdp, "fg_rule_stats", 1) + dpt_count(rdp, "fg_rule_stats", 2);
		hi = atomic_load(&started);
		res->reads++;
		res->backwards += n < last;
		res->low += n < lo;
		res->high += n > hi;
		last = n;
	}
	return NULL;
}

static void test_pend_reads_race_moves(void)
{
	struct reader_result res = { 0 };
	struct fg_rule_spec r[2];
	struct frame fa, fb;
	struct policy p;
	pthread_t th;
	unsigned i, wrong = 0;

	if (!(rdp = setup_ab(&p, r)))
		return;
	if (!ASSERT_OK(pthread_create(&th, NULL, reader, &res), "reader thread"))
		goto out;
	/* a and b flows in turn, each new (sources vary over 65536 a rule,
	 * more than the cache keeps): every packet moves the record of the
	 * one before, alternately into a's and b's counter */
	for (i = 0; i < RACE_PACKETS; i++) {
		struct frame *f = i & 1 ? &fb : &fa;

		frame_from(f, i & 1 ? 2 : 1, (i / 2) & 0xffff);
		atomic_fetch_add(&started, 1);
		wrong += dpt_run(rdp, f->b, f->len, 0, 1) != (i & 1 ? XDP_PASS_ : XDP_DROP_);
		atomic_fetch_add(&done, 1);
	}
	atomic_store(&stop, 1);
	pthread_join(th, NULL);
	printf("  %u packets, %llu reads meanwhile\n", RACE_PACKETS,
	       (unsigned long long)res.reads);
	ASSERT_EQ(wrong, 0, "verdicts");
	ASSERT_GE(res.reads, 1000, "the reader ran throughout");
	ASSERT_EQ(res.backwards, 0, "reads that went backwards");
	ASSERT_EQ(res.low, 0, "reads missing a finished packet");
	ASSERT_EQ(res.high, 0, "reads counting more packets than were sent");
	ASSERT_EQ(dpt_count(rdp, "fg_rule_stats", 1), RACE_PACKETS / 2, "a exact");
	ASSERT_EQ(dpt_count(rdp, "fg_rule_stats", 2), RACE_PACKETS / 2, "b exact");
out:
	dp_close(rdp);
}

int main(void)
{
	RUN_TEST(test_pend_steps);
	RUN_TEST(test_pend_slots_in_use);
	RUN_TEST(test_pend_reads_race_moves);
	return FG_TEST_EXIT();
}
