// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Every match field through the real datapath (compile_tables ->
 * dp_install -> BPF_PROG_TEST_RUN): addresses (v4/v6, /0, host routes,
 * lists, named sets up to 100k entries), protocols, ports (singles, range
 * edges, lists), TCP flags, ingress interfaces, first-match-wins, actions
 * (with their ring-buffer events), the default, exact per-rule packet and
 * byte counters, drop reasons, bans and per-source rates.
 *
 * Classification tests are tables of rows {description, packet, expected
 * rule}; each row is also checked against the reference model
 * (src/model.c), so a wrong row fails instead of testing the wrong thing.
 * The run checks the verdict, one packet and the frame's bytes on the rule's
 * stats slot (rule i -> slot i + 1, default -> 0) and on the drop reason,
 * and that no other slot or reason moved.
 *
 * The test runs in a private network namespace holding dummy interfaces
 * fgt0..fgt2, so that `iface` rules have real ifindexes to resolve.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "test.h"
#include "dptest.h"
#include "model.h"
#include "pkt.h"

FG_TEST_GLOBALS;

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_RULE (-1)

static struct dp *dp;
static uint64_t gen;
static uint8_t buf[PKT_MAX_FRAME];
static const char *const ifnames[] = {"fgt0", "fgt1", "fgt2"};

/* ---- building policies -------------------------------------------------- */

static struct policy policy(struct fg_rule_spec *r, size_t n, int deflt)
{
	struct policy p = {.version = 1, .default_action = deflt};

	p.rules = r;
	p.nrules = n;
	return p;
}

static void src_cidrs(struct fg_rule_spec *r, struct fg_cidr *c, size_t n)
{
	r->src.any = false;
	r->src.cidrs = c;
	r->src.ncidrs = n;
}

static void dst_cidrs(struct fg_rule_spec *r, struct fg_cidr *c, size_t n)
{
	r->dst.any = false;
	r->dst.cidrs = c;
	r->dst.ncidrs = n;
}

static void proto(struct fg_rule_spec *r, uint8_t num)
{
	r->proto_kind = FG_PROTO_NUM;
	r->proto = num;
}

static bool install(const struct policy *p)
{
	return ASSERT_OK(dpt_install(dp, p, ++gen), "install");
}

/* ---- packets and rows --------------------------------------------------- */

#define NOFLAGS 0x100 /* tcp_flags 0 (0 in a row means the builder's SYN) */
#define PORT0 0x10000 /* port 0 (0 in a row means the builder's 40000 -> 80) */

struct tp {
	const char *src, *dst; /* NULL: the builder's; family from src/dst */
	uint8_t proto;
	uint32_t sport, dport;
	uint16_t tcp_flags;
	uint8_t icmp_type;
	const char *ifname; /* NULL: no ingress interface given (lo) */
	uint16_t payload;   /* 0: 8 */
};

struct mrow {
	const char *desc;
	struct tp p;
	int rule; /* index of the rule that must win, DEFAULT_RULE for none */
};

static int tp_family(const struct tp *t)
{
	const char *a = t->src ? t->src : t->dst;

	return a && strchr(a, ':') ? 6 : 4;
}

static size_t tp_build(const struct tp *t, struct pkt_spec *s)
{
	int fam = tp_family(t);

	pkt_spec_init(s, fam == 6 ? PKT_L3_V6 : PKT_L3_V4, t->proto);
	if (t->src)
		pkt_addr(s->src, t->src);
	if (t->dst)
		pkt_addr(s->dst, t->dst);
	if (t->sport)
		s->sport = t->sport & 0xffff;
	if (t->dport)
		s->dport = t->dport & 0xffff;
	if (t->tcp_flags)
		s->tcp_flags = t->tcp_flags & 0xff;
	if (t->icmp_type)
		s->icmp_type = t->icmp_type;
	s->payload_len = t->payload ? t->payload : 8;
	return pkt_build(s, buf, sizeof(buf));
}

static uint32_t tp_ifindex(const struct tp *t)
{
	return t->ifname ? if_nametoindex(t->ifname) : 0;
}

/* Expected outcome of `rule` (or the default) winning. */
static void expect_rule(const struct policy *p, int rule, int *act, int *slot, int *reason)
{
	int a = rule >= 0 ? p->rules[rule].action : p->default_action;

	*slot = rule >= 0 ? rule + 1 : 0;
	*act = a == FG_ACT_DROP ? XDP_DROP_ : XDP_PASS_;
	*reason = a == FG_ACT_DROP ? (rule >= 0 ? FG_R_RULE : FG_R_DEFAULT) : FG_R_NONE;
}

static void run_rows(const struct policy *p, const struct mrow *rows, size_t n)
{
	uint32_t nslots = p->nrules + 1 < DPT_SLOTS ? p->nrules + 1 : DPT_SLOTS;
	struct pkt_spec s;
	struct fg_pkt pk;
	size_t i, len;

	for (i = 0; i < n; i++) {
		const struct mrow *r = &rows[i];
		int act, slot, reason, mrule;
		char what[160];

		len = tp_build(&r->p, &s);
		if (!ASSERT_TRUE(len > 0, r->desc))
			continue;
		/* The row agrees with the specification. */
		ASSERT_EQ(pkt_expect(&s, &pk), FG_R_NONE, r->desc);
		pk.ct_state = FG_CT_NEW;
		model_verdict(p, &pk, r->p.ifname, &mrule);
		snprintf(what, sizeof(what), "%s: row's rule vs the reference model", r->desc);
		ASSERT_EQ(mrule, r->rule, what);
		expect_rule(p, r->rule, &act, &slot, &reason);
		dpt_check(dp, r->desc, buf, len, tp_ifindex(&r->p), nslots, act, slot, reason);
	}
}

#define TCP4(s, d, dp_)                                                                            \
	{                                                                                          \
		.src = s, .dst = d, .proto = 6, .dport = dp_                                       \
	}
#define UDP4(s, d, dp_)                                                                            \
	{                                                                                          \
		.src = s, .dst = d, .proto = 17, .dport = dp_                                      \
	}

/* ---- addresses ---------------------------------------------------------- */

static void test_ipv4_prefixes(void)
{
	struct fg_cidr c[] = {
	    dpt_cidr("10.1.2.0/24"),	 dpt_cidr("10.1.0.0/16"),	dpt_cidr("192.0.2.128/25"),
	    dpt_cidr("192.0.2.7/32"),	 dpt_cidr("172.16.0.0/12"),	dpt_cidr("0.0.0.0/0"),
	    dpt_cidr("198.51.100.0/24"), dpt_cidr("10.255.255.255/32"), dpt_cidr("10.3.255.0/24"),
	};
	struct fg_rule_spec r[7];
	struct policy p;
	const struct mrow rows[] = {
	    {"src first of /24", TCP4("10.1.2.0", "203.0.113.1", 80), 0},
	    {"src last of /24", TCP4("10.1.2.255", "203.0.113.1", 80), 0},
	    {"src just below /24, dst first of /25", TCP4("10.1.1.255", "192.0.2.128", 80), 1},
	    {"src just above /24, dst last of /25", TCP4("10.1.3.0", "192.0.2.255", 80), 1},
	    {"src in /16, dst just below /25", TCP4("10.1.3.0", "192.0.2.127", 80), DEFAULT_RULE},
	    {"src just past /16", TCP4("10.2.0.0", "192.0.2.200", 80), DEFAULT_RULE},
	    {"dst host route", UDP4("203.0.113.9", "192.0.2.7", 53), 2},
	    {"dst host route - 1", UDP4("203.0.113.9", "192.0.2.6", 53), DEFAULT_RULE},
	    {"dst host route + 1", UDP4("203.0.113.9", "192.0.2.8", 53), DEFAULT_RULE},
	    {"src first of /12", TCP4("172.16.0.0", "203.0.113.1", 1), 3},
	    {"src last of /12", TCP4("172.31.255.255", "203.0.113.1", 1), 3},
	    {"src below /12", TCP4("172.15.255.255", "203.0.113.1", 1), DEFAULT_RULE},
	    {"src above /12", TCP4("172.32.0.0", "203.0.113.1", 1), DEFAULT_RULE},
	    {"src /0 with dst in /24", UDP4("8.8.8.8", "198.51.100.77", 1), 4},
	    {"src 0.0.0.0 with dst in /24", UDP4("0.0.0.0", "198.51.100.0", 1), 4},
	    {"src 255.255.255.255 with dst in /24", UDP4("255.255.255.255", "198.51.100.255", 1),
	     4},
	    {"dst outside /24", UDP4("8.8.8.8", "198.51.101.0", 1), DEFAULT_RULE},
	    {"host route 10.255.255.255 (also in no /16)", TCP4("10.255.255.255", "1.1.1.1", 1), 5},
	    {"10.255.255.254", TCP4("10.255.255.254", "1.1.1.1", 1), DEFAULT_RULE},
	    {"11.0.0.0, next after the host route", TCP4("11.0.0.0", "1.1.1.1", 1), DEFAULT_RULE},
	    {"last /24 of a /16: first", TCP4("10.3.255.0", "1.1.1.1", 1), 6},
	    {"last /24 of a /16: last", TCP4("10.3.255.255", "1.1.1.1", 1), 6},
	    {"last /24 of a /16: next /16", TCP4("10.4.0.0", "1.1.1.1", 1), DEFAULT_RULE},
	    {"last /24 of a /16: before", TCP4("10.3.254.255", "1.1.1.1", 1), DEFAULT_RULE},
	    {"ipv6 is not in 0.0.0.0/0",
	     {.src = "2001:db8::1", .dst = "2001:db8::2", .proto = 17},
	     DEFAULT_RULE},
	};

	r[0] = dpt_rule("src-24", FG_ACT_DROP);
	src_cidrs(&r[0], &c[0], 1);
	r[1] = dpt_rule("src-16-dst-25", FG_ACT_ALLOW);
	src_cidrs(&r[1], &c[1], 1);
	dst_cidrs(&r[1], &c[2], 1);
	r[2] = dpt_rule("dst-host", FG_ACT_LOG);
	dst_cidrs(&r[2], &c[3], 1);
	r[3] = dpt_rule("src-12", FG_ACT_DROP);
	src_cidrs(&r[3], &c[4], 1);
	r[4] = dpt_rule("src-0-dst-24", FG_ACT_ALLOW);
	src_cidrs(&r[4], &c[5], 1);
	dst_cidrs(&r[4], &c[6], 1);
	r[5] = dpt_rule("host-route", FG_ACT_DROP);
	src_cidrs(&r[5], &c[7], 1);
	r[6] = dpt_rule("end-of-16", FG_ACT_LOG);
	src_cidrs(&r[6], &c[8], 1);
	p = policy(r, N(r), FG_ACT_DROP);
	if (install(&p))
		run_rows(&p, rows, N(rows));
	/* Same rules under default allow: only default rows change verdict. */
	p.default_action = FG_ACT_ALLOW;
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

static void test_ipv6_prefixes(void)
{
	struct fg_cidr c[] = {
	    dpt_cidr("2001:db8:1::/48"),   dpt_cidr("2001:db8:2::5/128"),
	    dpt_cidr("2001:db8:3::/127"),  dpt_cidr("::/0"),
	    dpt_cidr("2001:db8:4:5::/64"), dpt_cidr("2001:db8:ffff::/33"),
	};
	struct fg_rule_spec r[5];
	struct policy p;
	const struct mrow rows[] = {
	    {"src first of /48", {.src = "2001:db8:1::", .dst = "2001:db8:9::1", .proto = 6}, 0},
	    {"src last of /48",
	     {.src = "2001:db8:1:ffff:ffff:ffff:ffff:ffff", .dst = "2001:db8:9::1", .proto = 6},
	     0},
	    {"src below /48",
	     {.src = "2001:db8:0:ffff:ffff:ffff:ffff:ffff", .dst = "2001:db8:9::1", .proto = 6},
	     DEFAULT_RULE},
	    {"dst host route", {.src = "2001:db8:9::1", .dst = "2001:db8:2::5", .proto = 17}, 1},
	    {"dst host route - 1",
	     {.src = "2001:db8:9::1", .dst = "2001:db8:2::4", .proto = 17},
	     DEFAULT_RULE},
	    {"dst host route + 1",
	     {.src = "2001:db8:9::1", .dst = "2001:db8:2::6", .proto = 17},
	     DEFAULT_RULE},
	    {"src /127 even", {.src = "2001:db8:3::", .dst = "2001:db8:8::", .proto = 58}, 2},
	    {"src /127 odd", {.src = "2001:db8:3::1", .dst = "2001:db8:8::", .proto = 58}, 2},
	    {"src /127 + 2",
	     {.src = "2001:db8:3::2", .dst = "2001:db8:8::", .proto = 58},
	     DEFAULT_RULE},
	    {"::/0 src, dst first of /64",
	     {.src = "fe80::1", .dst = "2001:db8:4:5::", .proto = 17},
	     3},
	    {"::/0 src, dst last of /64",
	     {.src = "::", .dst = "2001:db8:4:5:ffff:ffff:ffff:ffff", .proto = 17},
	     3},
	    {"::/0 src, dst next /64",
	     {.src = "::1", .dst = "2001:db8:4:6::", .proto = 17},
	     DEFAULT_RULE},
	    {"odd /33: first", {.src = "2001:db8:8000::", .dst = "2001:db8:9::1", .proto = 6}, 4},
	    {"odd /33: last",
	     {.src = "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", .dst = "2001:db8:9::1", .proto = 6},
	     4},
	    {"odd /33: below",
	     {.src = "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", .dst = "2001:db8:9::1", .proto = 6},
	     DEFAULT_RULE},
	    {"ipv4 is not in ::/0", UDP4("10.0.0.1", "10.0.0.2", 5), DEFAULT_RULE},
	};

	r[0] = dpt_rule("src-48", FG_ACT_DROP);
	src_cidrs(&r[0], &c[0], 1);
	r[1] = dpt_rule("dst-128", FG_ACT_LOG);
	dst_cidrs(&r[1], &c[1], 1);
	r[2] = dpt_rule("src-127", FG_ACT_DROP);
	src_cidrs(&r[2], &c[2], 1);
	r[3] = dpt_rule("src-0-dst-64", FG_ACT_ALLOW);
	src_cidrs(&r[3], &c[3], 1);
	dst_cidrs(&r[3], &c[4], 1);
	r[4] = dpt_rule("src-33", FG_ACT_DROP);
	src_cidrs(&r[4], &c[5], 1);
	p = policy(r, N(r), FG_ACT_ALLOW);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* Lists of CIDRs, both families in one list, in src and dst. */
static void test_cidr_lists(void)
{
	struct fg_cidr s[] = {dpt_cidr("10.1.0.0/16"), dpt_cidr("2001:db8:1::/48"),
			      dpt_cidr("192.0.2.7/32"), dpt_cidr("10.3.3.0/24")};
	struct fg_cidr d[] = {dpt_cidr("198.51.100.0/24"), dpt_cidr("2001:db8:ff::/48")};
	struct fg_rule_spec r[2];
	struct policy p;
	const struct mrow rows[] = {
	    {"v4 src 1st cidr, v4 dst 1st", TCP4("10.1.9.9", "198.51.100.1", 1), 0},
	    {"v4 src 3rd cidr (host)", TCP4("192.0.2.7", "198.51.100.1", 1), 0},
	    {"v4 src 4th cidr", TCP4("10.3.3.3", "198.51.100.1", 1), 0},
	    {"v4 src in no cidr", TCP4("192.0.2.8", "198.51.100.1", 1), 1},
	    {"v4 src ok, dst in no cidr", TCP4("10.1.9.9", "198.51.101.1", 1), DEFAULT_RULE},
	    {"v6 src 2nd cidr, v6 dst 2nd",
	     {.src = "2001:db8:1::9", .dst = "2001:db8:ff::1", .proto = 6},
	     0},
	    {"v6 src ok, dst outside",
	     {.src = "2001:db8:1::9", .dst = "2001:db8:fe::1", .proto = 6},
	     DEFAULT_RULE},
	    {"v6 src outside",
	     {.src = "2001:db8:2::9", .dst = "2001:db8:ff::1", .proto = 6},
	     DEFAULT_RULE},
	};

	r[0] = dpt_rule("lists", FG_ACT_DROP);
	src_cidrs(&r[0], s, N(s));
	dst_cidrs(&r[0], d, 1 + 1);
	r[1] = dpt_rule("v4-dst-only", FG_ACT_LOG);
	dst_cidrs(&r[1], d, 1);
	p = policy(r, N(r), FG_ACT_ALLOW);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* Named sets in src and dst, with other fields, a set and a CIDR in one
 * rule, and an empty set (matches nothing). */
static void test_named_sets(void)
{
	struct fg_cidr admins[] = {dpt_cidr("198.51.100.0/24"), dpt_cidr("2001:db8:1::/48"),
				   dpt_cidr("203.0.113.5/32")};
	struct fg_cidr block[] = {dpt_cidr("10.0.0.0/8"), dpt_cidr("10.9.9.0/24"),
				  dpt_cidr("2001:db8:bad::/48")};
	struct fg_cidr c10_9 = dpt_cidr("10.9.0.0/16");
	struct fg_set_spec sets[3] = {
	    {.name = "admins", .cidrs = admins, .ncidrs = N(admins)},
	    {.name = "block", .cidrs = block, .ncidrs = N(block)},
	    {.name = "empty", .cidrs = NULL, .ncidrs = 0},
	};
	struct fg_port_range p22 = {22, 22};
	struct fg_rule_spec r[6];
	struct policy p;
	const struct mrow rows[] = {
	    {"admin ssh", TCP4("198.51.100.10", "192.0.2.1", 22), 0},
	    {"admin host route ssh", TCP4("203.0.113.5", "192.0.2.1", 22), 0},
	    {"admin v6 ssh",
	     {.src = "2001:db8:1::1", .dst = "2001:db8:9::1", .proto = 6, .dport = 22},
	     0},
	    {"non-admin ssh", TCP4("203.0.113.6", "192.0.2.1", 22), 5},
	    {"10.9.x to an admin: cidr + set rule before block",
	     UDP4("10.9.1.1", "198.51.100.1", 7), 1},
	    {"10.9.x to a non-admin: blocked", UDP4("10.9.1.1", "192.0.2.1", 7), 2},
	    {"10.x blocked", UDP4("10.200.0.1", "192.0.2.1", 7), 2},
	    {"block v6", {.src = "2001:db8:bad::1", .dst = "2001:db8:9::1", .proto = 17}, 2},
	    {"udp to admins (set in dst)", UDP4("192.0.2.50", "198.51.100.200", 9), 3},
	    {"udp to admins v6 (set in dst) from cidr",
	     {.src = "2001:db8:5::1", .dst = "2001:db8:1::2", .proto = 17},
	     3},
	    {"tcp to admins (not udp)", TCP4("192.0.2.50", "198.51.100.200", 9), DEFAULT_RULE},
	    {"nothing in the empty set", TCP4("192.0.2.50", "192.0.2.51", 9), DEFAULT_RULE},
	};

	r[0] = dpt_rule("admins-ssh", FG_ACT_ALLOW);
	r[0].src.any = false;
	r[0].src.set = 0;
	proto(&r[0], IPPROTO_TCP);
	r[0].dports = &p22;
	r[0].ndports = 1;
	r[1] = dpt_rule("cidr-and-set", FG_ACT_LOG);
	src_cidrs(&r[1], &c10_9, 1);
	r[1].dst.any = false;
	r[1].dst.set = 0;
	r[2] = dpt_rule("block", FG_ACT_DROP);
	r[2].src.any = false;
	r[2].src.set = 1;
	r[3] = dpt_rule("udp-to-admins", FG_ACT_DROP);
	r[3].dst.any = false;
	r[3].dst.set = 0;
	proto(&r[3], IPPROTO_UDP);
	r[4] = dpt_rule("empty-set", FG_ACT_DROP);
	r[4].src.any = false;
	r[4].src.set = 2;
	r[5] = dpt_rule("others-ssh", FG_ACT_DROP);
	r[5].dports = &p22;
	r[5].ndports = 1;
	r[5].proto_kind = FG_PROTO_TCPUDP;
	p = policy(r, N(r), FG_ACT_ALLOW);
	p.sets = sets;
	p.nsets = N(sets);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* A 100k-entry set: every other address of 10.0.0.0/15 (host routes, so
 * that the gaps are not in the set) and 1000 IPv6 hosts. */
static void test_set_of_100k(void)
{
	enum { NV4 = 99000, NV6 = 1000 };
	struct fg_cidr *big = calloc(NV4 + NV6, sizeof(*big));
	struct fg_set_spec set = {.name = "big", .cidrs = big, .ncidrs = NV4 + NV6};
	struct fg_cidr ten = dpt_cidr("10.0.0.0/8"), six = dpt_cidr("2001:db8::/32");
	struct fg_rule_spec r[3];
	struct policy p;
	struct timespec t0, t1;
	uint32_t i;
	char a[64][3][48];
	struct mrow rows[64 * 3];
	size_t n = 0;

	if (!ASSERT_TRUE(big != NULL, "alloc"))
		return;
	for (i = 0; i < NV4; i++) {
		uint32_t h = 0x0a000000u + 2 * i;

		big[i].family = 4;
		big[i].len = 32;
		big[i].addr[0] = h >> 24;
		big[i].addr[1] = h >> 16;
		big[i].addr[2] = h >> 8;
		big[i].addr[3] = h;
	}
	for (i = 0; i < NV6; i++) {
		struct fg_cidr *c = &big[NV4 + i];

		*c = dpt_cidr("2001:db8:77::/128");
		c->addr[14] = (3 * i) >> 8;
		c->addr[15] = 3 * i;
	}
	r[0] = dpt_rule("big-set", FG_ACT_DROP);
	r[0].src.any = false;
	r[0].src.set = 0;
	r[1] = dpt_rule("rest-of-10", FG_ACT_LOG);
	src_cidrs(&r[1], &ten, 1);
	r[2] = dpt_rule("rest-of-db8", FG_ACT_ALLOW);
	src_cidrs(&r[2], &six, 1);
	p = policy(r, N(r), FG_ACT_DROP);
	p.sets = &set;
	p.nsets = 1;
	/* members and the addresses right after them, spread over the set */
	for (i = 0; i < 64; i++) {
		uint32_t k = i == 63 ? NV4 - 1 : i * (NV4 / 63);
		uint32_t h = 0x0a000000u + 2 * k;
		uint32_t k6 = i == 63 ? NV6 - 1 : i * (NV6 / 63);

		snprintf(a[i][0], 48, "10.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255, h & 255);
		snprintf(a[i][1], 48, "10.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255,
			 (h & 255) + 1);
		snprintf(a[i][2], 48, "2001:db8:77::%x", 3 * k6 + (i & 1));
		rows[n++] = (struct mrow){"100k set: member", UDP4(a[i][0], "192.0.2.1", 1), 0};
		rows[n++] = (struct mrow){"100k set: gap", UDP4(a[i][1], "192.0.2.1", 1), 1};
		rows[n++] = (struct mrow){i & 1 ? "100k set: v6 non-member" : "100k set: v6 member",
					  {.src = a[i][2], .dst = "2001:db8::1", .proto = 17},
					  i & 1 ? 2 : 0};
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (install(&p)) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		printf("  100k-entry set compiled and installed in %.0f ms\n",
		       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
		run_rows(&p, rows, n);
	}
	free(big);
}

/* FG_MAX_SETS (64) sets referenced at once: set i holds 10.i.0.0/16 and
 * 2001:db8:i::/48; rule i matches src @set_i (even i) or dst @set_i (odd
 * i). The last set bits (62, 63) must work like the first. */
static void test_sixty_four_sets(void)
{
	static struct fg_cidr c[FG_MAX_SETS][2];
	static struct fg_set_spec sets[FG_MAX_SETS];
	static char names[FG_MAX_SETS][8], rnames[FG_MAX_SETS][8];
	static struct fg_rule_spec r[FG_MAX_SETS];
	static char a[8][48], b[8][48];
	static const int probe[] = {0, 1, 2, 31, 32, 61, 62, 63};
	struct mrow rows[8 * 2];
	struct policy p;
	size_t i, n = 0;
	char net[48];

	for (i = 0; i < FG_MAX_SETS; i++) {
		snprintf(net, sizeof(net), "10.%zu.0.0/16", i);
		c[i][0] = dpt_cidr(net);
		snprintf(net, sizeof(net), "2001:db8:%zx::/48", i);
		c[i][1] = dpt_cidr(net);
		snprintf(names[i], sizeof(names[i]), "s%zu", i);
		snprintf(rnames[i], sizeof(rnames[i]), "r%zu", i);
		sets[i] = (struct fg_set_spec){.name = names[i], .cidrs = c[i], .ncidrs = 2};
		r[i] = dpt_rule(rnames[i], i % 3 == 0	? FG_ACT_DROP
					   : i % 3 == 1 ? FG_ACT_ALLOW
							: FG_ACT_LOG);
		if (i & 1) {
			r[i].dst.any = false;
			r[i].dst.set = i;
		} else {
			r[i].src.any = false;
			r[i].src.set = i;
		}
	}
	for (i = 0; i < N(probe); i++) {
		int k = probe[i];

		snprintf(a[i], sizeof(a[i]), "10.%d.1.2", k);
		snprintf(b[i], sizeof(b[i]), "2001:db8:%x::9", k);
		/* even: set in src; odd: set in dst */
		rows[n].desc = "v4 address in set k";
		rows[n].p = (struct tp){.src = k & 1 ? "192.0.2.1" : a[i],
					.dst = k & 1 ? a[i] : "192.0.2.1",
					.proto = 17};
		rows[n++].rule = k;
		rows[n].desc = "v6 address in set k";
		rows[n].p = (struct tp){.src = k & 1 ? "2001:db8:ffff::1" : b[i],
					.dst = k & 1 ? b[i] : "2001:db8:ffff::1",
					.proto = 17};
		rows[n++].rule = k;
	}
	p = policy(r, FG_MAX_SETS, FG_ACT_DROP);
	p.sets = sets;
	p.nsets = FG_MAX_SETS;
	if (!install(&p))
		return;
	/* slots above DPT_SLOTS are not checked by dpt_check: compare the
	 * rule's own slot here */
	for (i = 0; i < n; i++) {
		struct fg_counter before = dpt_counter(dp, "fg_rule_stats", rows[i].rule + 1),
				  after;
		struct pkt_spec s;
		size_t len = tp_build(&rows[i].p, &s);
		int act, slot, reason;
		char d[64];

		expect_rule(&p, rows[i].rule, &act, &slot, &reason);
		snprintf(d, sizeof(d), "%s = %d", rows[i].desc, rows[i].rule);
		ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), act, d);
		after = dpt_counter(dp, "fg_rule_stats", slot);
		ASSERT_EQ(after.packets - before.packets, 1, d);
	}
	run_rows(&p, rows, n); /* and the model agrees with each row */
}

/* ---- protocols ---------------------------------------------------------- */

/* Packets of each protocol against one-rule policies of each protocol kind:
 * matrix[policy][packet] says whether rule 0 matches. */
static void test_protocols(void)
{
	static const struct tp pkts[] = {
	    {.src = "10.0.0.1", .proto = 6, .dport = 53},
	    {.src = "10.0.0.1", .proto = 17, .dport = 53},
	    {.src = "10.0.0.1", .proto = 1},
	    {.src = "10.0.0.1", .proto = 132},
	    {.src = "10.0.0.1", .proto = 47},
	    {.src = "10.0.0.1", .proto = 58}, /* icmpv6 number inside ipv4 */
	    {.src = "2001:db8::1", .proto = 6, .dport = 53},
	    {.src = "2001:db8::1", .proto = 17, .dport = 53},
	    {.src = "2001:db8::1", .proto = 58},
	    {.src = "2001:db8::1", .proto = 1}, /* icmp number inside ipv6 */
	    {.src = "2001:db8::1", .proto = 132},
	    {.src = "10.0.0.1", .proto = 6, .dport = 54},
	};
	static const char *const pnames[] = {"tcp4:53", "udp4:53",  "icmp4",   "sctp4",
					     "gre4",	"58-in-v4", "tcp6:53", "udp6:53",
					     "icmpv6",	"1-in-v6",  "sctp6",   "tcp4:54"};
	static const struct {
		const char *name;
		int kind, num;
		bool ports;
		bool m[N(pkts)];
	} pols[] = {
	    {"proto tcp", FG_PROTO_NUM, 6, false, {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}},
	    {"proto udp", FG_PROTO_NUM, 17, false, {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}},
	    {"proto icmp", FG_PROTO_NUM, 1, false, {0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0}},
	    {"proto icmpv6", FG_PROTO_NUM, 58, false, {0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0}},
	    {"proto 132", FG_PROTO_NUM, 132, false, {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0}},
	    {"proto 47", FG_PROTO_NUM, 47, false, {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0}},
	    {"proto any", FG_PROTO_ANY, 0, false, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
	    {"dport 53, no proto (tcp+udp)",
	     FG_PROTO_TCPUDP,
	     0,
	     true,
	     {1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0}},
	    {"proto tcp dport 53", FG_PROTO_NUM, 6, true, {1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0}},
	    {"proto udp dport 53", FG_PROTO_NUM, 17, true, {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}},
	};
	struct fg_port_range p53 = {53, 53};
	struct fg_rule_spec r[1];
	struct mrow rows[N(pkts)];
	char desc[N(pkts)][96];
	struct policy p;
	size_t i, j;

	for (i = 0; i < N(pols); i++) {
		r[0] = dpt_rule(pols[i].name, FG_ACT_DROP);
		r[0].proto_kind = pols[i].kind;
		r[0].proto = pols[i].num;
		if (pols[i].ports) {
			r[0].dports = &p53;
			r[0].ndports = 1;
		}
		p = policy(r, 1, FG_ACT_ALLOW);
		for (j = 0; j < N(pkts); j++) {
			snprintf(desc[j], sizeof(desc[j]), "%s vs %s", pols[i].name, pnames[j]);
			rows[j] = (struct mrow){desc[j], pkts[j], pols[i].m[j] ? 0 : DEFAULT_RULE};
		}
		if (install(&p))
			run_rows(&p, rows, N(rows));
	}
}

/* ---- ports -------------------------------------------------------------- */

static void test_ports(void)
{
	struct fg_port_range p22 = {22, 22}, r1k = {1000, 2000}, p0 = {0, 0}, pmax = {65535, 65535},
			     full = {0, 65535}, p5353 = {5353, 5353}, low = {1, 1023};
	struct fg_port_range list[] = {{7, 7}, {9, 9}, {13, 13}, {3000, 3010}};
	struct fg_rule_spec r[8];
	struct policy p;
	const struct mrow rows[] = {
	    {"tcp dport 22", TCP4("10.0.0.1", "10.0.0.2", 22), 0},
	    {"tcp dport 21", TCP4("10.0.0.1", "10.0.0.2", 21), 7},
	    {"tcp dport 23", TCP4("10.0.0.1", "10.0.0.2", 23), 7},
	    {"udp dport 22 (rule is tcp)", UDP4("10.0.0.1", "10.0.0.2", 22), 7},
	    {"udp dport 999 (lo - 1)", UDP4("10.0.0.1", "10.0.0.2", 999), 7},
	    {"udp dport 1000 (lo)", UDP4("10.0.0.1", "10.0.0.2", 1000), 1},
	    {"udp dport 1500", UDP4("10.0.0.1", "10.0.0.2", 1500), 1},
	    {"udp dport 2000 (hi)", UDP4("10.0.0.1", "10.0.0.2", 2000), 1},
	    {"udp dport 2001 (hi + 1)", UDP4("10.0.0.1", "10.0.0.2", 2001), 7},
	    {"tcp sport 0 (below 1-1023)",
	     {.src = "10.0.0.1", .proto = 6, .sport = PORT0, .dport = 80},
	     7},
	    {"tcp sport 1 (lo of 1-1023)",
	     {.src = "10.0.0.1", .proto = 6, .sport = 1, .dport = 80},
	     6},
	    {"tcp dport 0", TCP4("10.0.0.1", "10.0.0.2", PORT0), 2},
	    {"udp dport 0 (tcp rule)", UDP4("10.0.0.1", "10.0.0.2", PORT0), 7},
	    {"tcp dport 65535", TCP4("10.0.0.1", "10.0.0.2", 65535), 3},
	    {"tcp dport 65534", TCP4("10.0.0.1", "10.0.0.2", 65534), 7},
	    {"list: 7", UDP4("10.0.0.1", "10.0.0.2", 7), 4},
	    {"list: 8", UDP4("10.0.0.1", "10.0.0.2", 8), 7},
	    {"list: 9 (tcp)", TCP4("10.0.0.1", "10.0.0.2", 9), 4},
	    {"list: 13", UDP4("10.0.0.1", "10.0.0.2", 13), 4},
	    {"list: 2999", UDP4("10.0.0.1", "10.0.0.2", 2999), 7},
	    {"list: 3000", UDP4("10.0.0.1", "10.0.0.2", 3000), 4},
	    {"list: 3010", TCP4("10.0.0.1", "10.0.0.2", 3010), 4},
	    {"list: 3011", TCP4("10.0.0.1", "10.0.0.2", 3011), 7},
	    {"sport and dport 5353",
	     {.src = "10.0.0.1", .proto = 17, .sport = 5353, .dport = 5353},
	     5},
	    {"sport 5353 dport 5354",
	     {.src = "10.0.0.1", .proto = 17, .sport = 5353, .dport = 5354},
	     7},
	    {"sport 5354 dport 5353",
	     {.src = "10.0.0.1", .proto = 17, .sport = 5354, .dport = 5353},
	     7},
	    {"sport 1023 (tcp 1-1023)",
	     {.src = "10.0.0.1", .proto = 6, .sport = 1023, .dport = 80},
	     6},
	    {"sport 1024 (tcp 1-1023)",
	     {.src = "10.0.0.1", .proto = 6, .sport = 1024, .dport = 80},
	     7},
	    {"icmp never matches dport 0-65535", {.src = "10.0.0.1", .proto = 1}, DEFAULT_RULE},
	    {"sctp never matches dport 0-65535", {.src = "10.0.0.1", .proto = 132}, DEFAULT_RULE},
	    {"v6 udp dport 1000", {.src = "2001:db8::1", .proto = 17, .dport = 1000}, 1},
	    {"v6 tcp dport 65535", {.src = "2001:db8::1", .proto = 6, .dport = 65535}, 3},
	};

	r[0] = dpt_rule("tcp-22", FG_ACT_DROP);
	proto(&r[0], 6);
	r[0].dports = &p22;
	r[0].ndports = 1;
	r[1] = dpt_rule("udp-1000-2000", FG_ACT_LOG);
	proto(&r[1], 17);
	r[1].dports = &r1k;
	r[1].ndports = 1;
	r[2] = dpt_rule("tcp-dport-0", FG_ACT_DROP);
	proto(&r[2], 6);
	r[2].dports = &p0;
	r[2].ndports = 1;
	r[3] = dpt_rule("tcp-dport-65535", FG_ACT_ALLOW);
	proto(&r[3], 6);
	r[3].dports = &pmax;
	r[3].ndports = 1;
	r[4] = dpt_rule("list", FG_ACT_DROP);
	r[4].proto_kind = FG_PROTO_TCPUDP;
	r[4].dports = list;
	r[4].ndports = N(list);
	r[5] = dpt_rule("mdns", FG_ACT_DROP);
	proto(&r[5], 17);
	r[5].sports = &p5353;
	r[5].nsports = 1;
	r[5].dports = &p5353;
	r[5].ndports = 1;
	r[6] = dpt_rule("tcp-low-sport-or-not-22", FG_ACT_LOG);
	proto(&r[6], 6);
	r[6].sports = &low;
	r[6].nsports = 1;
	r[6].dports = &full;
	r[6].ndports = 1;
	r[7] = dpt_rule("any-port", FG_ACT_ALLOW);
	r[7].proto_kind = FG_PROTO_TCPUDP;
	r[7].dports = &full;
	r[7].ndports = 1;
	p = policy(r, N(r), FG_ACT_DROP);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* ---- tcp flags ---------------------------------------------------------- */

static void test_tcp_flags(void)
{
	struct fg_rule_spec r[4];
	struct policy p;
	const struct mrow rows[] = {
	    {"syn", {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_SYN}, 0},
	    {"syn+ece+cwr",
	     {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_SYN | FG_TCP_ECE | FG_TCP_CWR},
	     0},
	    {"syn+ack",
	     {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_SYN | FG_TCP_ACK},
	     DEFAULT_RULE},
	    {"ack", {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_ACK}, DEFAULT_RULE},
	    {"xmas fin+psh+urg",
	     {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG},
	     1},
	    {"fin+psh+urg+ack",
	     {.src = "10.0.0.1",
	      .proto = 6,
	      .tcp_flags = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG | FG_TCP_ACK},
	     DEFAULT_RULE},
	    {"fin+psh (no urg)",
	     {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_FIN | FG_TCP_PSH},
	     DEFAULT_RULE},
	    {"null scan (no flags)", {.src = "10.0.0.1", .proto = 6, .tcp_flags = NOFLAGS}, 2},
	    {"psh only", {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_PSH}, 2},
	    {"rst", {.src = "10.0.0.1", .proto = 6, .tcp_flags = FG_TCP_RST}, 3},
	    {"all flags", {.src = "10.0.0.1", .proto = 6, .tcp_flags = 0xff}, DEFAULT_RULE},
	    {"udp never matches flags", {.src = "10.0.0.1", .proto = 17}, DEFAULT_RULE},
	    {"v6 syn", {.src = "2001:db8::1", .proto = 6, .tcp_flags = FG_TCP_SYN}, 0},
	    {"v6 no flags", {.src = "2001:db8::1", .proto = 6, .tcp_flags = NOFLAGS}, 2},
	};

	r[0] = dpt_rule("syn-not-ack", FG_ACT_DROP);
	proto(&r[0], 6);
	r[0].tcp_set = FG_TCP_SYN;
	r[0].tcp_clear = FG_TCP_ACK;
	r[1] = dpt_rule("xmas", FG_ACT_LOG);
	proto(&r[1], 6);
	r[1].tcp_set = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG;
	r[1].tcp_clear = FG_TCP_ACK;
	r[2] = dpt_rule("no-syn-ack-rst-fin", FG_ACT_DROP);
	proto(&r[2], 6);
	r[2].tcp_clear = FG_TCP_SYN | FG_TCP_ACK | FG_TCP_RST | FG_TCP_FIN;
	r[3] = dpt_rule("rst", FG_ACT_ALLOW);
	proto(&r[3], 6);
	r[3].tcp_set = FG_TCP_RST;
	r[3].tcp_clear = FG_TCP_ACK;
	p = policy(r, N(r), FG_ACT_ALLOW);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* ---- interfaces ----------------------------------------------------------- */

static void test_ifaces(void)
{
	char *if0[] = {"fgt0"}, *if12[] = {"fgt1", "fgt2"}, *none[] = {"nosuch0"},
	     *if2[] = {"fgt2"};
	struct fg_port_range p80 = {80, 80};
	struct fg_rule_spec r[4];
	struct policy p;
	const struct mrow rows[] = {
	    {"udp on fgt0", {.src = "10.0.0.1", .proto = 17, .ifname = "fgt0"}, 0},
	    {"udp on fgt1", {.src = "10.0.0.1", .proto = 17, .ifname = "fgt1"}, DEFAULT_RULE},
	    {"udp on lo (no ifindex given)", {.src = "10.0.0.1", .proto = 17}, DEFAULT_RULE},
	    {"tcp 80 on fgt1", {.src = "10.0.0.1", .proto = 6, .dport = 80, .ifname = "fgt1"}, 1},
	    {"tcp 80 on fgt2", {.src = "10.0.0.1", .proto = 6, .dport = 80, .ifname = "fgt2"}, 1},
	    {"tcp 80 on fgt0",
	     {.src = "10.0.0.1", .proto = 6, .dport = 80, .ifname = "fgt0"},
	     DEFAULT_RULE},
	    {"tcp 81 on fgt2", {.src = "10.0.0.1", .proto = 6, .dport = 81, .ifname = "fgt2"}, 3},
	    {"v6 udp on fgt0", {.src = "2001:db8::1", .proto = 17, .ifname = "fgt0"}, 0},
	    {"v6 icmpv6 on fgt2", {.src = "2001:db8::1", .proto = 58, .ifname = "fgt2"}, 3},
	};
	uint32_t i, idx[3];
	struct fg_counter before[3], after[3];

	r[0] = dpt_rule("udp-on-fgt0", FG_ACT_DROP);
	proto(&r[0], 17);
	r[0].ifaces = if0;
	r[0].nifaces = 1;
	r[1] = dpt_rule("web-on-fgt1-fgt2", FG_ACT_ALLOW);
	proto(&r[1], 6);
	r[1].dports = &p80;
	r[1].ndports = 1;
	r[1].ifaces = if12;
	r[1].nifaces = 2;
	r[2] = dpt_rule("absent-iface", FG_ACT_DROP);
	r[2].ifaces = none;
	r[2].nifaces = 1;
	r[3] = dpt_rule("log-fgt2", FG_ACT_LOG);
	r[3].ifaces = if2;
	r[3].nifaces = 1;
	p = policy(r, N(r), FG_ACT_DROP);
	for (i = 0; i < 3; i++) {
		idx[i] = if_nametoindex(ifnames[i]);
		before[i] = dpt_counter(dp, "fg_if_stats", FG_IF_SLOT(idx[i]));
		if (before[i].packets == (uint64_t)-1)
			before[i].packets = before[i].bytes = 0; /* not seen yet */
	}
	if (install(&p))
		run_rows(&p, rows, N(rows));
	/* fg_if_stats counts every frame per ingress interface */
	for (i = 0; i < 3; i++) {
		uint64_t want = i == 0 ? 3 : i == 1 ? 2 : 3;

		after[i] = dpt_counter(dp, "fg_if_stats", FG_IF_SLOT(idx[i]));
		ASSERT_EQ(after[i].packets - before[i].packets, want, ifnames[i]);
	}
}

/* ---- order ------------------------------------------------------------------ */

/* Overlapping rules indexed on different fields (src, dst, dport, wild):
 * the lowest index that matches wins, wherever its entry is listed. */
static void test_first_match_wins(void)
{
	struct fg_cidr c24 = dpt_cidr("10.1.2.0/24"), c16 = dpt_cidr("10.1.0.0/16"),
		       c8 = dpt_cidr("10.0.0.0/8"), d24 = dpt_cidr("192.0.2.0/24"),
		       h = dpt_cidr("10.1.2.3/32");
	struct fg_port_range p443 = {443, 443};
	struct fg_rule_spec r[8];
	struct policy p;
	const struct mrow rows[] = {
	    {"10.1.2.3:443 -> rule 0", TCP4("10.1.2.3", "203.0.113.1", 443), 0},
	    {"10.1.3.3:443 -> rule 1", TCP4("10.1.3.3", "203.0.113.1", 443), 1},
	    {"8.8.8.8:443 -> rule 1", TCP4("8.8.8.8", "203.0.113.1", 443), 1},
	    {"10.1.3.3:80 -> rule 2", TCP4("10.1.3.3", "203.0.113.1", 80), 2},
	    {"10.1.2.3:80 -> rule 2, not the later host rule", TCP4("10.1.2.3", "203.0.113.1", 80),
	     2},
	    {"10.2.0.1 tcp -> rule 3", TCP4("10.2.0.1", "192.0.2.1", 80), 3},
	    {"10.2.0.1 udp to 192.0.2.1 -> rule 4", UDP4("10.2.0.1", "192.0.2.1", 80), 4},
	    {"11.0.0.1 udp -> rule 5 (icmp? no) -> catch-all 7",
	     UDP4("11.0.0.1", "198.51.100.1", 80), 7},
	    {"11.0.0.1 icmp -> rule 5", {.src = "11.0.0.1", .dst = "198.51.100.1", .proto = 1}, 5},
	    {"v6 udp -> catch-all 7", {.src = "2001:db8::1", .proto = 17}, 7},
	};

	r[0] = dpt_rule("src24-443", FG_ACT_ALLOW);
	src_cidrs(&r[0], &c24, 1);
	proto(&r[0], 6);
	r[0].dports = &p443;
	r[0].ndports = 1;
	r[1] = dpt_rule("any-443", FG_ACT_DROP);
	r[1].proto_kind = FG_PROTO_TCPUDP;
	r[1].dports = &p443;
	r[1].ndports = 1;
	r[2] = dpt_rule("src16", FG_ACT_LOG);
	src_cidrs(&r[2], &c16, 1);
	r[3] = dpt_rule("src8-tcp", FG_ACT_DROP);
	src_cidrs(&r[3], &c8, 1);
	proto(&r[3], 6);
	r[4] = dpt_rule("dst24", FG_ACT_ALLOW);
	dst_cidrs(&r[4], &d24, 1);
	r[5] = dpt_rule("icmp", FG_ACT_DROP);
	proto(&r[5], 1);
	r[6] = dpt_rule("shadowed-host", FG_ACT_DROP);
	src_cidrs(&r[6], &h, 1);
	r[7] = dpt_rule("catch-all", FG_ACT_LOG);
	p = policy(r, N(r), FG_ACT_DROP);
	if (install(&p))
		run_rows(&p, rows, N(rows));
}

/* ---- actions, events, counters ---------------------------------------------- */

static bool addr_eq(const uint8_t *a, const char *text)
{
	uint8_t b[16];

	pkt_addr(b, text);
	return memcmp(a, b, 16) == 0;
}

static void check_event(const char *desc, const struct fg_event *e, uint32_t type, uint32_t reason,
			uint32_t slot, const struct tp *t, uint32_t ifindex, size_t len)
{
	char what[160];

	snprintf(what, sizeof(what), "%s: event type", desc);
	ASSERT_EQ(e->type, type, what);
	snprintf(what, sizeof(what), "%s: event reason", desc);
	ASSERT_EQ(e->reason, reason, what);
	snprintf(what, sizeof(what), "%s: event stat slot", desc);
	ASSERT_EQ(e->stat_slot, slot, what);
	snprintf(what, sizeof(what), "%s: event ifindex", desc);
	ASSERT_EQ(e->ifindex, ifindex ? ifindex : 1, what);
	snprintf(what, sizeof(what), "%s: event pkt_len", desc);
	ASSERT_EQ(e->pkt_len, len, what);
	snprintf(what, sizeof(what), "%s: event cap_len", desc);
	ASSERT_EQ(e->cap_len, len < FG_EVENT_SNAP ? len : FG_EVENT_SNAP, what);
	snprintf(what, sizeof(what), "%s: event data", desc);
	ASSERT_TRUE(
	    memcmp(e->data, buf, e->cap_len <= FG_EVENT_SNAP ? e->cap_len : FG_EVENT_SNAP) == 0,
	    what);
	if (!t)
		return;
	snprintf(what, sizeof(what), "%s: event src/dst/ports/proto", desc);
	ASSERT_TRUE(addr_eq(e->pkt.src, t->src) && addr_eq(e->pkt.dst, t->dst) &&
			e->pkt.dport == t->dport && e->pkt.proto == t->proto,
		    what);
}

/* allow: no event; log: passes, counted, one LOG event; drop (rule and
 * default): one DROP event; malformed: DROP event with its reason on the
 * default slot; non-IP and ND: nothing. */
static void test_actions_and_events(void)
{
	struct fg_cidr a = dpt_cidr("10.1.0.0/16"), b = dpt_cidr("10.2.0.0/16"),
		       c = dpt_cidr("10.3.0.0/16");
	struct fg_port_range p8080 = {8080, 8080};
	struct fg_rule_spec r[3];
	struct policy p;
	struct dpt_events ev;
	struct pkt_spec s;
	size_t len;
	uint32_t if1 = if_nametoindex("fgt1");
	const struct tp tlog = {.src = "10.1.0.9",
				.dst = "192.0.2.80",
				.proto = 6,
				.dport = 8080,
				.ifname = "fgt1",
				.payload = 200};
	const struct tp tdrop = {.src = "10.2.0.9", .dst = "192.0.2.81", .proto = 17, .dport = 53};
	const struct tp tallow = {.src = "10.3.0.9", .dst = "192.0.2.82", .proto = 17, .dport = 5};
	const struct tp tdef = {.src = "10.4.0.9", .dst = "192.0.2.83", .proto = 6, .dport = 7};

	r[0] = dpt_rule("log-8080", FG_ACT_LOG);
	src_cidrs(&r[0], &a, 1);
	proto(&r[0], 6);
	r[0].dports = &p8080;
	r[0].ndports = 1;
	r[1] = dpt_rule("drop-b", FG_ACT_DROP);
	src_cidrs(&r[1], &b, 1);
	r[2] = dpt_rule("allow-c", FG_ACT_ALLOW);
	src_cidrs(&r[2], &c, 1);
	p = policy(r, N(r), FG_ACT_DROP);
	if (!install(&p) || !ASSERT_OK(dpt_events_open(dp, &ev), "ring buffer"))
		return;
	dpt_event_budget_reset(dp);
	dpt_events_read(&ev);

	len = tp_build(&tlog, &s);
	dpt_check(dp, "log", buf, len, if1, 4, XDP_PASS_, 1, FG_R_NONE);
	if (ASSERT_EQ(dpt_events_read(&ev), 1, "log: one event"))
		check_event("log", &ev.ev[0], FG_EV_LOG, FG_R_RULE, 1, &tlog, if1, len);

	len = tp_build(&tdrop, &s);
	dpt_check(dp, "drop", buf, len, 0, 4, XDP_DROP_, 2, FG_R_RULE);
	if (ASSERT_EQ(dpt_events_read(&ev), 1, "drop: one event"))
		check_event("drop", &ev.ev[0], FG_EV_DROP, FG_R_RULE, 2, &tdrop, 0, len);

	len = tp_build(&tallow, &s);
	dpt_check(dp, "allow", buf, len, 0, 4, XDP_PASS_, 3, FG_R_NONE);
	ASSERT_EQ(dpt_events_read(&ev), 0, "allow: no event");

	len = tp_build(&tdef, &s);
	dpt_check(dp, "default drop", buf, len, 0, 4, XDP_DROP_, 0, FG_R_DEFAULT);
	if (ASSERT_EQ(dpt_events_read(&ev), 1, "default drop: one event"))
		check_event("default drop", &ev.ev[0], FG_EV_DROP, FG_R_DEFAULT, 0, &tdef, 0, len);

	len = tp_build(&tdef, &s) - 10; /* cut inside TCP: bad_totlen */
	dpt_check(dp, "malformed", buf, len, 0, 4, XDP_DROP_, -1, FG_R_BAD_TOTLEN);
	if (ASSERT_EQ(dpt_events_read(&ev), 1, "malformed: one event"))
		check_event("malformed", &ev.ev[0], FG_EV_DROP, FG_R_BAD_TOTLEN, 0, NULL, 0, len);

	pkt_spec_init(&s, PKT_L3_ARP, 0);
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "arp", buf, len, 0, 4, XDP_PASS_, -1, FG_R_NONE);
	ASSERT_EQ(dpt_events_read(&ev), 0, "arp: no event");
	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_ICMPV6);
	s.icmp_type = 136;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "nd under default drop", buf, len, 0, 4, XDP_PASS_, -1, FG_R_NONE);
	ASSERT_EQ(dpt_events_read(&ev), 0, "nd: no event");
	dpt_events_close(&ev);
}

/* The coarse clock the datapath's event budget runs on. */
static uint64_t coarse_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* The event budget (FG_EVENT_RATE per CPU per window of 2^30 ns of the
 * coarse clock): a burst of drops sends at most the budget and counts the
 * rest as suppressed; the first event of the next window reports them.
 * Runs pinned to one CPU. */
static void test_event_budget(void)
{
	enum { NDROPS = FG_EVENT_RATE + 100 };
	struct fg_rule_spec r[1];
	struct dpt_events ev;
	struct policy p;
	struct pkt_spec s;
	cpu_set_t cpus, old;
	uint64_t supp_sum = 0, w0, w1;
	struct fg_evbudget *supp;
	int i, n, ncpu = libbpf_num_possible_cpus();
	uint32_t zero = 0;
	size_t len;
	const struct tp t = {.src = "10.9.9.9", .proto = 17, .dport = 1};

	r[0] = dpt_rule("drop-all", FG_ACT_DROP);
	p = policy(r, 1, FG_ACT_DROP);
	if (!install(&p) || !ASSERT_OK(dpt_events_open(dp, &ev), "ring buffer"))
		return;
	sched_getaffinity(0, sizeof(old), &old);
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);
	supp = calloc(ncpu, sizeof(*supp));
	dpt_event_budget_reset(dp);
	dpt_events_read(&ev);
	len = tp_build(&t, &s);
	w0 = coarse_ns() >> FG_EVENT_WINDOW_SHIFT;
	for (i = 0; i < NDROPS; i++)
		dpt_run(dp, buf, len, 0, 1);
	w1 = coarse_ns() >> FG_EVENT_WINDOW_SHIFT;
	n = dpt_events_read(&ev);
	if (w0 == w1) /* one window: exactly the budget */
		ASSERT_EQ(n, FG_EVENT_RATE, "events sent in one window");
	else
		ASSERT_TRUE(n >= FG_EVENT_RATE && n <= NDROPS, "events sent over two windows");
	bpf_map_lookup_elem(dp_map_fd(dp, "fg_evbudget"), &zero, supp);
	for (i = 0; i < ncpu; i++)
		supp_sum += supp[i].suppressed;
	ASSERT_EQ(supp_sum, NDROPS - n, "suppressed = drops - events");
	/* the first event of the next window carries the suppressed count */
	while ((coarse_ns() >> FG_EVENT_WINDOW_SHIFT) == w1)
		usleep(10000);
	dpt_run(dp, buf, len, 0, 1);
	if (ASSERT_EQ(dpt_events_read(&ev), 1, "event in the next window"))
		ASSERT_EQ(ev.ev[0].suppressed, NDROPS - n, "event reports the suppressed");
	sched_setaffinity(0, sizeof(old), &old);
	free(supp);
	dpt_events_close(&ev);
}

/* Default verdicts, and exact per-rule packet and byte counters over frames
 * of many sizes and BPF_PROG_TEST_RUN repeats. */
static void test_default_and_exact_counters(void)
{
	struct fg_port_range p80 = {80, 80};
	struct fg_rule_spec r[2];
	struct policy p;
	struct pkt_spec s;
	struct fg_counter a0, a1, a2, d0, d1, d2, dd0, dd1;
	uint64_t want_pk[3] = {0}, want_by[3] = {0}, want_drop = 0, want_drop_by = 0;
	size_t len;
	int i, deflt;

	r[0] = dpt_rule("web", FG_ACT_ALLOW);
	proto(&r[0], 6);
	r[0].dports = &p80;
	r[0].ndports = 1;
	r[1] = dpt_rule("udp", FG_ACT_DROP);
	proto(&r[1], 17);
	for (deflt = FG_ACT_ALLOW; deflt <= FG_ACT_DROP; deflt++) {
		p = policy(r, 2, deflt);
		if (!install(&p))
			return;
		memset(want_pk, 0, sizeof(want_pk));
		memset(want_by, 0, sizeof(want_by));
		want_drop = want_drop_by = 0;
		a0 = dpt_counter(dp, "fg_rule_stats", 0);
		a1 = dpt_counter(dp, "fg_rule_stats", 1);
		a2 = dpt_counter(dp, "fg_rule_stats", 2);
		dd0 = dpt_counter(dp, "fg_drop_stats", FG_R_DEFAULT);
		for (i = 0; i < 60; i++) {
			const struct tp t = {.src = i & 1 ? "2001:db8::7" : "10.0.0.7",
					     .proto = i % 3 == 0   ? 6
						      : i % 3 == 1 ? 17
								   : 1,
					     .dport = i % 2 ? 80 : 81,
					     .payload = 23 * i};
			uint32_t rep = 1 + (i % 5) * 250;
			int slot;

			len = tp_build(&t, &s);
			if (t.proto == 6 && t.dport == 80)
				slot = 1;
			else if (t.proto == 17)
				slot = 2;
			else
				slot = 0;
			want_pk[slot] += rep;
			want_by[slot] += rep * len;
			if (slot == 0 && deflt == FG_ACT_DROP) {
				want_drop += rep;
				want_drop_by += rep * len;
			}
			ASSERT_EQ(dpt_run(dp, buf, len, 0, rep),
				  (slot == 2 || (slot == 0 && deflt == FG_ACT_DROP)) ? XDP_DROP_
										     : XDP_PASS_,
				  "verdict");
		}
		d0 = dpt_counter(dp, "fg_rule_stats", 0);
		d1 = dpt_counter(dp, "fg_rule_stats", 1);
		d2 = dpt_counter(dp, "fg_rule_stats", 2);
		dd1 = dpt_counter(dp, "fg_drop_stats", FG_R_DEFAULT);
		ASSERT_EQ(d0.packets - a0.packets, want_pk[0], "default packets");
		ASSERT_EQ(d0.bytes - a0.bytes, want_by[0], "default bytes");
		ASSERT_EQ(d1.packets - a1.packets, want_pk[1], "rule web packets");
		ASSERT_EQ(d1.bytes - a1.bytes, want_by[1], "rule web bytes");
		ASSERT_EQ(d2.packets - a2.packets, want_pk[2], "rule udp packets");
		ASSERT_EQ(d2.bytes - a2.bytes, want_by[2], "rule udp bytes");
		ASSERT_EQ(dd1.packets - dd0.packets, want_drop, "fg_drop_stats[default] packets");
		ASSERT_EQ(dd1.bytes - dd0.bytes, want_drop_by, "fg_drop_stats[default] bytes");
	}
}

/* Stats slots given by the compiler's options (the daemon keeps a rule's
 * slot across applies by name): counters land on those slots, for rules
 * and the default, and nowhere else among them. */
static void test_custom_stat_slots(void)
{
	static const uint32_t slots[] = {1000, 42, 70000};
	struct fg_port_range p80 = {80, 80};
	struct fg_rule_spec r[3];
	struct compile_opts o = {.stat_slots = slots, .default_slot = 9};
	struct policy p;
	struct pkt_spec s;
	const struct {
		struct tp t;
		uint32_t slot;
		int act;
	} rows[] = {
	    {{.src = "10.0.0.1", .proto = 6, .dport = 80}, 1000, XDP_PASS_},
	    {{.src = "10.0.0.1", .proto = 17, .dport = 80}, 42, XDP_DROP_},
	    {{.src = "10.0.0.1", .proto = 1}, 70000, XDP_PASS_},
	    {{.src = "2001:db8::1", .proto = 6, .dport = 81}, 9, XDP_DROP_},
	};
	const uint32_t all[] = {0, 1, 2, 3, 9, 42, 1000, 70000};
	struct fg_counter before[8], after;
	size_t i, j, len;

	r[0] = dpt_rule("web", FG_ACT_ALLOW);
	proto(&r[0], 6);
	r[0].dports = &p80;
	r[0].ndports = 1;
	r[1] = dpt_rule("udp", FG_ACT_DROP);
	proto(&r[1], 17);
	r[2] = dpt_rule("icmp", FG_ACT_LOG);
	proto(&r[2], 1);
	p = policy(r, 3, FG_ACT_DROP);
	if (!ASSERT_OK(dpt_install_opts(dp, &p, &o, ++gen), "install with slots"))
		return;
	for (i = 0; i < N(rows); i++) {
		char d[64];

		snprintf(d, sizeof(d), "row %zu on slot %u", i, rows[i].slot);
		for (j = 0; j < N(all); j++)
			before[j] = dpt_counter(dp, "fg_rule_stats", all[j]);
		len = tp_build(&rows[i].t, &s);
		ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), rows[i].act, d);
		for (j = 0; j < N(all); j++) {
			after = dpt_counter(dp, "fg_rule_stats", all[j]);
			ASSERT_EQ(after.packets - before[j].packets, all[j] == rows[i].slot, d);
			ASSERT_EQ(after.bytes - before[j].bytes, all[j] == rows[i].slot ? len : 0,
				  d);
		}
	}
}

/* ---- bans --------------------------------------------------------------- */

static int ban_add(const struct fg_cidr *c, uint64_t expires_ns)
{
	return dp_ban_add(dp, c, expires_ns, FG_R_BAN);
}

static int ban_del(const struct fg_cidr *c)
{
	return dp_ban_del(dp, c);
}

static uint32_t nbans(void)
{
	struct fg_runtime rt = {0};
	uint32_t zero = 0;

	bpf_map_lookup_elem(dp_map_fd(dp, "fg_runtime"), &zero, &rt);
	return rt.nbans;
}

static void test_bans(void)
{
	struct fg_rule_spec r[1];
	struct policy p;
	struct fg_cidr c;
	uint64_t now = dpt_now_ns();
	const struct {
		const char *cidr;
		int64_t ttl_ms; /* 0 never, < 0 expired */
	} bans[] = {
	    {"10.5.0.1/32", 0},	   {"10.5.0.2/32", -1000},   {"10.5.0.3/32", 60000},
	    {"10.6.0.0/16", 0},	   {"2001:db8:bad::/48", 0}, {"2001:db8:dead::1/128", -1},
	    {"10.5.0.4/32", 1000},
	};
	const struct {
		const char *desc, *src, *dst;
		bool banned;
	} rows[] = {
	    {"banned forever", "10.5.0.1", "192.0.2.1", true},
	    {"ban expired", "10.5.0.2", "192.0.2.1", false},
	    {"ban in the future", "10.5.0.3", "192.0.2.1", true},
	    {"ban of a /16", "10.6.200.1", "192.0.2.1", true},
	    {"next to the /16", "10.7.0.0", "192.0.2.1", false},
	    {"not banned", "10.5.0.9", "192.0.2.1", false},
	    {"banned address as destination", "192.0.2.1", "10.5.0.1", false},
	    {"v6 ban of a /48", "2001:db8:bad::77", "2001:db8::1", true},
	    {"v6 ban expired", "2001:db8:dead::1", "2001:db8::1", false},
	    {"1 s ban, still on", "10.5.0.4", "192.0.2.1", true},
	};
	size_t i, len;
	struct pkt_spec s;

	r[0] = dpt_rule("allow-all", FG_ACT_ALLOW);
	p = policy(r, 1, FG_ACT_DROP);
	if (!install(&p))
		return;
	for (i = 0; i < N(bans); i++) {
		uint64_t exp = bans[i].ttl_ms == 0 ? 0 : now + bans[i].ttl_ms * 1000000LL;

		c = dpt_cidr(bans[i].cidr);
		ASSERT_OK(ban_add(&c, exp), bans[i].cidr);
	}
	for (i = 0; i < N(rows); i++) {
		const struct tp t = {
		    .src = rows[i].src, .dst = rows[i].dst, .proto = 6, .dport = 80};

		len = tp_build(&t, &s);
		if (rows[i].banned)
			dpt_check(dp, rows[i].desc, buf, len, 0, 2, XDP_DROP_, -1, FG_R_BAN);
		else
			dpt_check(dp, rows[i].desc, buf, len, 0, 2, XDP_PASS_, 1, FG_R_NONE);
	}
	/* expiry is checked in the datapath: no daemon needed */
	usleep(1100000);
	{
		const struct tp t = {
		    .src = "10.5.0.4", .dst = "192.0.2.1", .proto = 6, .dport = 80};

		len = tp_build(&t, &s);
		dpt_check(dp, "1 s ban, 1.1 s later", buf, len, 0, 2, XDP_PASS_, 1, FG_R_NONE);
	}
	/* unban */
	c = dpt_cidr("10.5.0.1/32");
	ASSERT_OK(ban_del(&c), "unban");
	{
		const struct tp t = {
		    .src = "10.5.0.1", .dst = "192.0.2.1", .proto = 6, .dport = 80};

		len = tp_build(&t, &s);
		dpt_check(dp, "after unban", buf, len, 0, 2, XDP_PASS_, 1, FG_R_NONE);
	}
	for (i = 0; i < N(bans); i++) {
		c = dpt_cidr(bans[i].cidr);
		ban_del(&c);
	}
}

/* An expired ban must behave as if absent: a narrower expired entry must
 * not hide a wider ban that still holds (the trie returns the longest
 * prefix only; bans expire without a daemon to delete them). */
static void test_expired_ban_does_not_hide_wider_ban(void)
{
	struct fg_rule_spec r[1];
	struct policy p;
	struct fg_cidr wide = dpt_cidr("10.8.0.0/16"), narrow = dpt_cidr("10.8.1.0/24"),
		       wide6 = dpt_cidr("2001:db8:beef::/48"),
		       narrow6 = dpt_cidr("2001:db8:beef:1::/64");
	struct pkt_spec s;
	size_t len;
	const struct tp t = {.src = "10.8.1.5", .proto = 6, .dport = 80};
	const struct tp t6 = {.src = "2001:db8:beef:1::5", .proto = 6, .dport = 80};

	r[0] = dpt_rule("allow-all", FG_ACT_ALLOW);
	p = policy(r, 1, FG_ACT_DROP);
	if (!install(&p))
		return;
	ASSERT_OK(ban_add(&wide, 0), "ban /16 forever");
	ASSERT_OK(ban_add(&narrow, dpt_now_ns() - 1000000000ULL), "expired ban of a /24 inside it");
	ASSERT_OK(ban_add(&wide6, dpt_now_ns() + 60 * FG_SEC), "ban /48 60 s");
	ASSERT_OK(ban_add(&narrow6, 1), "expired ban of a /64 inside it");
	len = tp_build(&t, &s);
	dpt_check(dp, "inside the expired /24 of a banned /16", buf, len, 0, 2, XDP_DROP_, -1,
		  FG_R_BAN);
	len = tp_build(&t6, &s);
	dpt_check(dp, "inside the expired /64 of a banned /48", buf, len, 0, 2, XDP_DROP_, -1,
		  FG_R_BAN);
	ban_del(&wide);
	ban_del(&narrow);
	ban_del(&wide6);
	ban_del(&narrow6);
}

/* fg_runtime.nbans lets packets skip the ban trie while it is 0: the
 * dataplane API keeps it equal to the number of ban entries, whoever adds
 * them, and a ban added with dp_ban_add() alone takes effect. */
static void test_dp_ban_add_keeps_count(void)
{
	struct fg_rule_spec r[1];
	struct policy p;
	struct fg_cidr c = dpt_cidr("10.9.8.7/32"), c2 = dpt_cidr("2001:db8:9::/64");
	struct pkt_spec s;
	size_t len;
	uint32_t n0 = nbans();
	const struct tp t = {.src = "10.9.8.7", .proto = 6, .dport = 80};

	r[0] = dpt_rule("allow-all", FG_ACT_ALLOW);
	p = policy(r, 1, FG_ACT_DROP);
	if (!install(&p))
		return;
	ASSERT_EQ(n0, 0, "no bans left by earlier tests");
	if (!ASSERT_OK(dp_ban_add(dp, &c, 0, FG_R_BAN), "dp_ban_add"))
		return;
	ASSERT_EQ(nbans(), 1, "one ban");
	ASSERT_OK(dp_ban_add(dp, &c, dpt_now_ns() + 60 * FG_SEC, FG_R_BAN), "same prefix again");
	ASSERT_EQ(nbans(), 1, "updating a ban does not count it twice");
	ASSERT_OK(dp_ban_add(dp, &c2, 0, FG_R_BAN), "v6 ban");
	ASSERT_EQ(nbans(), 2, "two bans");
	len = tp_build(&t, &s);
	dpt_check(dp, "source banned with dp_ban_add() only", buf, len, 0, 2, XDP_DROP_, -1,
		  FG_R_BAN);
	ASSERT_OK(dp_ban_del(dp, &c), "dp_ban_del");
	ASSERT_EQ(nbans(), 1, "one ban left");
	dpt_check(dp, "after dp_ban_del()", buf, len, 0, 2, XDP_PASS_, 1, FG_R_NONE);
	ASSERT_OK(dp_ban_del(dp, &c2), "dp_ban_del v6");
	ASSERT_EQ(nbans(), 0, "no bans");
	ASSERT_EQ(dp_ban_del(dp, &c2), -ENOENT, "deleting an absent ban");
	ASSERT_EQ(nbans(), 0, "still no bans");
}

/* ---- rate ---------------------------------------------------------------- */

/* rate 1/s burst 5: five pass, then drops with reason rate, all counted on
 * the rule; each source has its own bucket; each rule too. A 100/s burst 2
 * bucket refills within tens of milliseconds. */
static void test_rate(void)
{
	struct fg_port_range p53 = {53, 53}, p54 = {54, 54};
	struct fg_rule_spec r[2];
	struct policy p;
	struct pkt_spec s;
	char desc[96];
	size_t len;
	int i;
	const struct tp a = {.src = "10.0.0.1", .proto = 17, .dport = 53};
	const struct tp b = {.src = "2001:db8::1", .proto = 17, .dport = 53};
	const struct tp c = {.src = "10.0.0.1", .proto = 17, .dport = 54};

	r[0] = dpt_rule("dns-rate", FG_ACT_ALLOW);
	proto(&r[0], 17);
	r[0].dports = &p53;
	r[0].ndports = 1;
	r[0].rate_pps = 1;
	r[0].rate_burst = 5;
	r[1] = dpt_rule("fast-rate", FG_ACT_LOG);
	proto(&r[1], 17);
	r[1].dports = &p54;
	r[1].ndports = 1;
	r[1].rate_pps = 100;
	r[1].rate_burst = 2;
	p = policy(r, 2, FG_ACT_ALLOW);
	if (!install(&p))
		return;
	len = tp_build(&a, &s);
	for (i = 0; i < 8; i++) {
		snprintf(desc, sizeof(desc), "source a, packet %d of burst 5", i + 1);
		if (i < 5)
			dpt_check(dp, desc, buf, len, 0, 3, XDP_PASS_, 1, FG_R_NONE);
		else
			dpt_check(dp, desc, buf, len, 0, 3, XDP_DROP_, 1, FG_R_RATE);
	}
	len = tp_build(&b, &s);
	for (i = 0; i < 6; i++) {
		snprintf(desc, sizeof(desc), "source b (own bucket), packet %d", i + 1);
		dpt_check(dp, desc, buf, len, 0, 3, i < 5 ? XDP_PASS_ : XDP_DROP_, 1,
			  i < 5 ? FG_R_NONE : FG_R_RATE);
	}
	len = tp_build(&c, &s);
	for (i = 0; i < 3; i++) {
		snprintf(desc, sizeof(desc), "source a, other rule (own bucket), packet %d", i + 1);
		dpt_check(dp, desc, buf, len, 0, 3, i < 2 ? XDP_PASS_ : XDP_DROP_, 2,
			  i < 2 ? FG_R_NONE : FG_R_RATE);
	}
	usleep(50000); /* 5 tokens at 100/s, capped at the burst of 2 */
	for (i = 0; i < 3; i++) {
		snprintf(desc, sizeof(desc), "after refill, packet %d", i + 1);
		dpt_check(dp, desc, buf, len, 0, 3, i < 2 ? XDP_PASS_ : XDP_DROP_, 2,
			  i < 2 ? FG_R_NONE : FG_R_RATE);
	}
	/* the slow bucket has not refilled a whole token in that time */
	len = tp_build(&a, &s);
	dpt_check(dp, "source a, still empty", buf, len, 0, 3, XDP_DROP_, 1, FG_R_RATE);
}

/*
 * Buckets are shared by all CPUs and updated without a lock: a packet may
 * read a bucket that another CPU updated after this packet read the clock,
 * so its last_ns is (slightly) ahead of this packet's `now`. That must count
 * as no time elapsed, not as a huge one (an unsigned now - last_ns wraps,
 * is clamped to 64 s, and refills the whole burst: under a multi-CPU flood
 * from one source the limit would leak a burst at each such race). The race
 * is made deterministic by moving the bucket's last_ns 50 ms ahead.
 */
static void test_rate_bucket_updated_ahead_is_not_refilled(void)
{
	struct fg_port_range p53 = {53, 53};
	struct fg_rule_spec r[1];
	struct fg_rate_key k = {0};
	struct fg_rate_val v;
	struct policy p;
	struct pkt_spec s;
	char desc[96];
	size_t len;
	int i, fd = dp_map_fd(dp, "fg_rate");
	const struct tp t = {.src = "10.77.0.1", .proto = 17, .dport = 53};

	r[0] = dpt_rule("dns-rate", FG_ACT_ALLOW);
	proto(&r[0], 17);
	r[0].dports = &p53;
	r[0].ndports = 1;
	r[0].rate_pps = 1;
	r[0].rate_burst = 3;
	p = policy(r, 1, FG_ACT_ALLOW);
	if (!install(&p))
		return;
	len = tp_build(&t, &s);
	for (i = 0; i < 4; i++) {
		snprintf(desc, sizeof(desc), "packet %d of burst 3", i + 1);
		dpt_check(dp, desc, buf, len, 0, 2, i < 3 ? XDP_PASS_ : XDP_DROP_, 1,
			  i < 3 ? FG_R_NONE : FG_R_RATE);
	}
	memcpy(k.src, s.src, 16);
	k.stat_slot = 1;
	k.family = FG_FAM_V4;
	if (!ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v) ? -errno : 0, "fg_rate entry"))
		return;
	v.last_ns = dpt_now_ns() + 50000000ULL;
	v.tokens_milli = 0;
	ASSERT_OK(bpf_map_update_elem(fd, &k, &v, BPF_EXIST) ? -errno : 0, "bucket ahead");
	dpt_check(dp, "empty bucket updated ahead of this packet's clock", buf, len, 0, 2,
		  XDP_DROP_, 1, FG_R_RATE);
	dpt_check(dp, "and the next packet", buf, len, 0, 2, XDP_DROP_, 1, FG_R_RATE);
}

/*
 * A source sending faster than one token's worth of time per packet must
 * still earn tokens: with 1/s and a burst of 1, packets every ~0.2 ms for
 * 1.2 s let exactly the burst plus one refill through (stamping the bucket
 * on every packet, even when nothing was earned, let only the first).
 */
static void test_rate_fast_sender_earns_tokens(void)
{
	struct fg_rule_spec r[1];
	struct policy p;
	struct pkt_spec s;
	struct timespec t0, t1;
	uint64_t d0, d1;
	int passed = 0, sent = 0;
	size_t len;
	const struct tp t = {.src = "10.78.0.1", .proto = 17, .dport = 7};

	r[0] = dpt_rule("limited", FG_ACT_ALLOW);
	proto(&r[0], 17);
	r[0].rate_pps = 1;
	r[0].rate_burst = 1;
	p = policy(r, 1, FG_ACT_DROP);
	if (!install(&p))
		return;
	len = tp_build(&t, &s);
	d0 = dpt_count(dp, "fg_drop_stats", FG_R_RATE);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		passed += dpt_run(dp, buf, len, 0, 1) == XDP_PASS_;
		sent++;
		usleep(200);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while ((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec) < 1200000000LL);
	d1 = dpt_count(dp, "fg_drop_stats", FG_R_RATE);
	printf("  %d packets in 1.2 s, %d passed\n", sent, passed);
	ASSERT_GE(sent, 1000, "fast enough to starve a bucket stamped on every packet");
	ASSERT_EQ(passed, 2, "the burst, then one token after a second");
	ASSERT_EQ(d1 - d0, (uint64_t)(sent - passed), "the rest dropped as rate");
}

int main(void)
{
	int err = dpt_netns(ifnames, N(ifnames));

	if (err) {
		fprintf(stderr, "cannot make a private netns with dummy interfaces: %s\n",
			strerror(-err));
		return 1;
	}
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	RUN_TEST(test_ipv4_prefixes);
	RUN_TEST(test_ipv6_prefixes);
	RUN_TEST(test_cidr_lists);
	RUN_TEST(test_named_sets);
	RUN_TEST(test_set_of_100k);
	RUN_TEST(test_sixty_four_sets);
	RUN_TEST(test_protocols);
	RUN_TEST(test_ports);
	RUN_TEST(test_tcp_flags);
	RUN_TEST(test_ifaces);
	RUN_TEST(test_first_match_wins);
	RUN_TEST(test_actions_and_events);
	RUN_TEST(test_event_budget);
	RUN_TEST(test_default_and_exact_counters);
	RUN_TEST(test_custom_stat_slots);
	RUN_TEST(test_bans);
	RUN_TEST(test_expired_ban_does_not_hide_wider_ban);
	RUN_TEST(test_dp_ban_add_keeps_count);
	RUN_TEST(test_rate);
	RUN_TEST(test_rate_bucket_updated_ahead_is_not_refilled);
	RUN_TEST(test_rate_fast_sender_earns_tokens);
	dp_close(dp);
	return FG_TEST_EXIT();
}
