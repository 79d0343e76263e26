// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The reference model (src/model.c): one table per match field, each row a
 * packet and the rule it must hit (or -1), against a small policy built in
 * memory. Then the random policy generator the differential tests use:
 * valid policies, deterministic per seed, packets that do hit rules.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "test.h"
#include "model.h"
#include "pkt.h"
#include "randpol.h"

FG_TEST_GLOBALS;

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building policies and packets by hand ------------------------------ */

static struct fg_cidr cidr(const char *text)
{
	struct fg_cidr c = {0};
	char addr[64];
	const char *slash = strchr(text, '/');
	int i;

	snprintf(addr, sizeof(addr), "%.*s", (int)(slash - text), text);
	c.family = pkt_addr(c.addr, addr);
	c.len = atoi(slash + 1);
	for (i = c.len; i < (c.family == 4 ? 32 : 128); i++)
		c.addr[i / 8] &= ~(0x80 >> (i % 8));
	return c;
}

static struct fg_rule_spec rule(int action)
{
	struct fg_rule_spec r = {.action = action};

	r.src.any = r.dst.any = true;
	r.src.set = r.dst.set = -1;
	return r;
}

static void cidrs(struct fg_addr_match *m, struct fg_cidr *c, size_t n)
{
	m->any = false;
	m->set = -1;
	m->cidrs = c;
	m->ncidrs = n;
}

static void set_ref(struct fg_addr_match *m, int set)
{
	m->any = false;
	m->set = set;
}

static struct policy policy(struct fg_rule_spec *rules, size_t n, int deflt)
{
	struct policy p = {.version = 1, .default_action = deflt};

	p.rules = rules;
	p.nrules = n;
	return p;
}

/* A parsed packet, as the parser would report it. */
struct tpkt {
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint16_t flags; /* FG_PKT_*; FG_PKT_L4 added for TCP/UDP/ICMP unless
			 * FG_PKT_FRAG_LATER */
	uint8_t ct;	/* FG_CT_*; 0 = NEW */
	uint8_t icmp_type;
};

static struct fg_pkt mkpkt(const struct tpkt *t)
{
	struct fg_pkt p = {0};

	p.family = pkt_addr(p.src, t->src);
	pkt_addr(p.dst, t->dst);
	p.proto = t->proto;
	p.flags = t->flags;
	if (!(t->flags & FG_PKT_FRAG_LATER) &&
	    (t->proto == 6 || t->proto == 17 || t->proto == 1 || t->proto == 58))
		p.flags |= FG_PKT_L4;
	if (p.flags & FG_PKT_L4) {
		p.sport = t->sport;
		p.dport = t->dport;
		p.tcp_flags = t->proto == 6 ? t->tcp_flags : 0;
		p.icmp_type = t->icmp_type;
	}
	p.ct_state = t->ct ? t->ct : FG_CT_NEW;
	return p;
}

struct row {
	const char *desc;
	struct tpkt pkt;
	const char *ifname;
	int rule; /* expected model_classify() */
};

static void check_rows(const struct policy *p, const struct row *rows, size_t n)
{
	struct fg_pkt pkt;
	char desc[256];
	size_t i;

	for (i = 0; i < n; i++) {
		pkt = mkpkt(&rows[i].pkt);
		if (!ASSERT_EQ(model_classify(p, &pkt, rows[i].ifname), rows[i].rule,
			       rows[i].desc)) {
			pkt_format(&pkt, desc, sizeof(desc));
			fprintf(stderr, "    packet: %s\n", desc);
		}
	}
}

#define TCP(s, d, sp, dp)                                                                          \
	{                                                                                          \
		.src = s, .dst = d, .proto = 6, .sport = sp, .dport = dp, .tcp_flags = FG_TCP_SYN  \
	}
#define UDP(s, d, sp, dp)                                                                          \
	{                                                                                          \
		.src = s, .dst = d, .proto = 17, .sport = sp, .dport = dp                          \
	}

/* ---- one test per field --------------------------------------------------- */

static void test_first_match_wins(void)
{
	struct fg_cidr net10[] = {cidr("10.0.0.0/8")};
	struct fg_cidr host[] = {cidr("10.0.0.1/32")};
	struct fg_rule_spec r[3] = {rule(FG_ACT_LOG), rule(FG_ACT_DROP), rule(FG_ACT_ALLOW)};
	struct policy p;
	static const struct row rows[] = {
	    {"host matches rule 0 and 1", TCP("10.0.0.1", "1.1.1.1", 1, 2), NULL, 0},
	    {"net only rule 1", TCP("10.9.0.1", "1.1.1.1", 1, 2), NULL, 1},
	    {"rule 2 catches port 22", TCP("11.0.0.1", "1.1.1.1", 1, 22), NULL, 2},
	    {"nothing", TCP("11.0.0.1", "1.1.1.1", 1, 23), NULL, -1},
	};
	static struct fg_port_range p22[] = {{22, 22}};

	cidrs(&r[0].src, host, 1);
	cidrs(&r[1].src, net10, 1);
	r[2].proto_kind = FG_PROTO_NUM;
	r[2].proto = 6;
	r[2].dports = p22;
	r[2].ndports = 1;
	p = policy(r, 3, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
	/* Reordered: the broader rule first now wins for the host. */
	cidrs(&r[0].src, net10, 1);
	cidrs(&r[1].src, host, 1);
	{
		struct fg_pkt pk = mkpkt(&rows[0].pkt);
		int rule_out;

		ASSERT_EQ(model_classify(&p, &pk, NULL), 0, "reordered");
		ASSERT_EQ(model_verdict(&p, &pk, NULL, &rule_out), FG_ACT_LOG,
			  "rule's action (log)");
		ASSERT_EQ(rule_out, 0, "rule_out");
	}
}

static void test_v4_prefix_edges(void)
{
	struct fg_cidr c[] = {cidr("192.0.2.128/25"), cidr("10.0.0.6/31"), cidr("10.1.2.3/32"),
			      cidr("0.0.0.0/0")};
	struct fg_rule_spec r[4] = {rule(FG_ACT_DROP), rule(FG_ACT_DROP), rule(FG_ACT_DROP),
				    rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"/25 first", UDP("192.0.2.128", "9.9.9.9", 1, 1), NULL, 0},
	    {"/25 last", UDP("192.0.2.255", "9.9.9.9", 1, 1), NULL, 0},
	    {"/25 one below", UDP("192.0.2.127", "9.9.9.9", 1, 1), NULL, 3},
	    {"/25 one above", UDP("192.0.3.0", "9.9.9.9", 1, 1), NULL, 3},
	    {"/31 low", UDP("10.0.0.6", "9.9.9.9", 1, 1), NULL, 1},
	    {"/31 high", UDP("10.0.0.7", "9.9.9.9", 1, 1), NULL, 1},
	    {"/31 next", UDP("10.0.0.8", "9.9.9.9", 1, 1), NULL, 3},
	    {"/32 exact", UDP("10.1.2.3", "9.9.9.9", 1, 1), NULL, 2},
	    {"/32 neighbour", UDP("10.1.2.2", "9.9.9.9", 1, 1), NULL, 3},
	    {"/0 anything v4", UDP("255.255.255.255", "9.9.9.9", 1, 1), NULL, 3},
	    {"/0 is v4 only", UDP("2001:db8::1", "2001:db8::2", 1, 1), NULL, -1},
	};
	int i;

	for (i = 0; i < 4; i++)
		cidrs(&r[i].src, &c[i], 1);
	p = policy(r, 4, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
}

static void test_v6_prefix_edges(void)
{
	struct fg_cidr c[] = {cidr("2001:db8:1::/48"), cidr("2001:db8::8000:0:0:0/65"),
			      cidr("2001:db8::ff/128"), cidr("::/0")};
	struct fg_rule_spec r[4] = {rule(FG_ACT_DROP), rule(FG_ACT_DROP), rule(FG_ACT_DROP),
				    rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"/48 inside", UDP("9::1", "2001:db8:1:ffff::1", 1, 1), NULL, 0},
	    {"/48 below", UDP("9::1", "2001:db8:0:ffff::1", 1, 1), NULL, 3},
	    {"/48 above", UDP("9::1", "2001:db8:2::", 1, 1), NULL, 3},
	    {"/65 bit set", UDP("9::1", "2001:db8::8000:0:0:1", 1, 1), NULL, 1},
	    {"/65 bit clear", UDP("9::1", "2001:db8::7fff:0:0:1", 1, 1), NULL, 3},
	    {"/128 exact", UDP("9::1", "2001:db8::ff", 1, 1), NULL, 2},
	    {"/128 neighbour", UDP("9::1", "2001:db8::fe", 1, 1), NULL, 3},
	    {"::/0 is v6 only", UDP("10.0.0.1", "10.0.0.2", 1, 1), NULL, -1},
	};
	int i;

	for (i = 0; i < 4; i++)
		cidrs(&r[i].dst, &c[i], 1);
	p = policy(r, 4, FG_ACT_DROP);
	check_rows(&p, rows, N(rows));
}

/* A CIDR of one family never matches the other; a mixed list matches both;
 * src and dst must both match. */
static void test_family_separation_and_both_addresses(void)
{
	struct fg_cidr v4only[] = {cidr("10.0.0.0/8")};
	struct fg_cidr mixed[] = {cidr("192.0.2.0/24"), cidr("2001:db8::/32")};
	struct fg_cidr dst6[] = {cidr("2001:db8:ff::/48")};
	struct fg_rule_spec r[3] = {rule(FG_ACT_DROP), rule(FG_ACT_LOG), rule(FG_ACT_ALLOW)};
	struct policy p;
	static const struct row rows[] = {
	    {"v4 in v4 list", UDP("10.1.1.1", "1.1.1.1", 1, 1), NULL, 0},
	    {"v6 vs v4 list", UDP("2001:db8::1", "2001:db8::2", 1, 1), NULL, 1},
	    {"v4-mapped v6 is v6", UDP("::ffff:10.1.1.1", "::1", 1, 1), NULL, -1},
	    {"v4 in mixed", UDP("192.0.2.9", "1.1.1.1", 1, 1), NULL, 1},
	    {"v6 in mixed", UDP("2001:db8:5::9", "1::1", 1, 1), NULL, 1},
	    {"src and dst", UDP("2001:db9::1", "2001:db8:ff::1", 1, 1), NULL, 2},
	    {"dst only no", UDP("2001:db9::1", "2001:db8:fe::1", 1, 1), NULL, -1},
	};

	cidrs(&r[0].src, v4only, 1);
	cidrs(&r[1].src, mixed, 2);
	cidrs(&r[2].dst, dst6, 1);
	p = policy(r, 3, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
}

static void test_named_sets(void)
{
	struct fg_cidr admins[] = {cidr("198.51.100.0/24"), cidr("2001:db8:1::/48")};
	struct fg_cidr block[] = {cidr("203.0.113.7/32"), cidr("10.0.0.0/16")};
	struct fg_set_spec sets[3] = {
	    {.name = "admins", .cidrs = admins, .ncidrs = 2},
	    {.name = "blocklist", .cidrs = block, .ncidrs = 2},
	    {.name = "empty"},
	};
	struct fg_rule_spec r[3] = {rule(FG_ACT_ALLOW), rule(FG_ACT_DROP), rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"admin v4 ssh", TCP("198.51.100.20", "10.9.0.1", 999, 22), NULL, 0},
	    {"admin v6 ssh", TCP("2001:db8:1::5", "2001:db8::1", 999, 22), NULL, 0},
	    {"admin other port", TCP("198.51.100.20", "10.9.0.1", 999, 80), NULL, -1},
	    {"to blocked host", UDP("1.2.3.4", "203.0.113.7", 1, 1), NULL, 1},
	    {"to blocked net", UDP("1.2.3.4", "10.0.255.255", 1, 1), NULL, 1},
	    {"just outside", UDP("1.2.3.4", "10.1.0.0", 1, 1), NULL, -1},
	    {"v6 vs v4 set", UDP("1::4", "2001:db8:1::1", 1, 1), NULL, -1},
	};
	static struct fg_port_range p22[] = {{22, 22}};

	set_ref(&r[0].src, 0);
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 6;
	r[0].dports = p22;
	r[0].ndports = 1;
	set_ref(&r[1].dst, 1);
	set_ref(&r[2].src, 2); /* empty set: matches nothing */
	p = policy(r, 3, FG_ACT_ALLOW);
	p.sets = sets;
	p.nsets = 3;
	check_rows(&p, rows, N(rows));
}

static void test_proto_kinds(void)
{
	struct fg_rule_spec r[4] = {rule(FG_ACT_DROP), rule(FG_ACT_DROP), rule(FG_ACT_DROP),
				    rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"udp", UDP("10.0.0.1", "10.0.0.2", 1, 1), NULL, 0},
	    {"tcp", TCP("10.0.0.1", "10.0.0.2", 1, 1), NULL, 1},
	    {"icmpv6 in v6", {"1::1", "1::2", .proto = 58, .icmp_type = 128}, NULL, 2},
	    {"gre", {"10.0.0.1", "10.0.0.2", .proto = 47}, NULL, 3},
	    {"icmp", {"10.0.0.1", "10.0.0.2", .proto = 1, .icmp_type = 8}, NULL, 3},
	    {"tcp later fragment",
	     {"10.0.0.1", "10.0.0.2", .proto = 6, .flags = FG_PKT_FRAG | FG_PKT_FRAG_LATER},
	     NULL,
	     1},
	};

	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 17;
	r[1].proto_kind = FG_PROTO_TCPUDP;
	r[2].proto_kind = FG_PROTO_NUM;
	r[2].proto = 58;
	r[3].proto_kind = FG_PROTO_ANY;
	p = policy(r, 4, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
}

static void test_port_ranges_and_edges(void)
{
	static struct fg_port_range d[] = {{8000, 8100}, {443, 443}};
	static struct fg_port_range zero[] = {{0, 0}};
	static struct fg_port_range top[] = {{65535, 65535}};
	static struct fg_port_range hi[] = {{1024, 65535}};
	struct fg_rule_spec r[4] = {rule(FG_ACT_DROP), rule(FG_ACT_DROP), rule(FG_ACT_DROP),
				    rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"7999", TCP("1.1.1.1", "2.2.2.2", 5, 7999), NULL, -1},
	    {"8000", TCP("1.1.1.1", "2.2.2.2", 5, 8000), NULL, 0},
	    {"8100", UDP("1.1.1.1", "2.2.2.2", 5, 8100), NULL, 0},
	    {"8101", TCP("1.1.1.1", "2.2.2.2", 5, 8101), NULL, -1},
	    {"443 list", TCP("1::1", "2::2", 5, 443), NULL, 0},
	    {"442", TCP("1::1", "2::2", 5, 442), NULL, -1},
	    {"dport 0", UDP("1.1.1.1", "2.2.2.2", 5, 0), NULL, 1},
	    {"sport 65535", UDP("1.1.1.1", "2.2.2.2", 65535, 9), NULL, 2},
	    {"sport 1024 + dport 22", TCP("1.1.1.1", "2.2.2.2", 1024, 22), NULL, 3},
	    {"sport 1023 + dport 22", TCP("1.1.1.1", "2.2.2.2", 1023, 22), NULL, -1},
	    {"later fragment: no ports",
	     {"1.1.1.1", "2.2.2.2", .proto = 6, .dport = 8000,
	      .flags = FG_PKT_FRAG | FG_PKT_FRAG_LATER},
	     NULL,
	     -1},
	    {"icmp: no ports", {"1.1.1.1", "2.2.2.2", .proto = 1}, NULL, -1},
	    {"first fragment has ports",
	     {"1.1.1.1", "2.2.2.2", .proto = 17, .dport = 8050, .flags = FG_PKT_FRAG},
	     NULL,
	     0},
	};
	static struct fg_port_range p22[] = {{22, 22}};

	r[0].proto_kind = FG_PROTO_TCPUDP;
	r[0].dports = d;
	r[0].ndports = 2;
	r[1].proto_kind = FG_PROTO_NUM;
	r[1].proto = 17;
	r[1].dports = zero;
	r[1].ndports = 1;
	r[2].proto_kind = FG_PROTO_NUM;
	r[2].proto = 17;
	r[2].sports = top;
	r[2].nsports = 1;
	r[3].proto_kind = FG_PROTO_NUM;
	r[3].proto = 6;
	r[3].sports = hi;
	r[3].nsports = 1;
	r[3].dports = p22;
	r[3].ndports = 1;
	p = policy(r, 4, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
}

static void test_tcp_flags_set_and_clear(void)
{
	struct fg_rule_spec r[2] = {rule(FG_ACT_DROP), rule(FG_ACT_LOG)};
	struct policy p;
	static const struct row rows[] = {
	    {"xmas",
	     {"1.1.1.1", "2.2.2.2", .proto = 6, .tcp_flags = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG},
	     NULL,
	     0},
	    {"xmas + ack",
	     {"1.1.1.1", "2.2.2.2", .proto = 6,
	      .tcp_flags = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG | FG_TCP_ACK},
	     NULL,
	     -1},
	    {"fin psh only",
	     {"1.1.1.1", "2.2.2.2", .proto = 6, .tcp_flags = FG_TCP_FIN | FG_TCP_PSH},
	     NULL,
	     -1},
	    {"syn", {"1.1.1.1", "2.2.2.2", .proto = 6, .tcp_flags = FG_TCP_SYN}, NULL, 1},
	    {"syn ack",
	     {"1.1.1.1", "2.2.2.2", .proto = 6, .tcp_flags = FG_TCP_SYN | FG_TCP_ACK},
	     NULL,
	     -1},
	    {"syn ece cwr",
	     {"1::1", "2::2", .proto = 6, .tcp_flags = FG_TCP_SYN | FG_TCP_ECE | FG_TCP_CWR},
	     NULL,
	     1},
	    {"udp never", UDP("1.1.1.1", "2.2.2.2", 1, 1), NULL, -1},
	    {"later fragment never",
	     {"1.1.1.1", "2.2.2.2", .proto = 6, .flags = FG_PKT_FRAG | FG_PKT_FRAG_LATER},
	     NULL,
	     -1},
	};

	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 6;
	r[0].tcp_set = FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG;
	r[0].tcp_clear = FG_TCP_ACK;
	r[1].proto_kind = FG_PROTO_NUM;
	r[1].proto = 6;
	r[1].tcp_set = FG_TCP_SYN;
	r[1].tcp_clear = FG_TCP_ACK;
	p = policy(r, 2, FG_ACT_ALLOW);
	check_rows(&p, rows, N(rows));
}

static void test_state_mask(void)
{
	struct fg_rule_spec r[2] = {rule(FG_ACT_ALLOW), rule(FG_ACT_DROP)};
	struct policy p;
	static const struct row rows[] = {
	    {"established", {"1.1.1.1", "2.2.2.2", .proto = 6, .ct = FG_CT_ESTABLISHED}, NULL, 0},
	    {"related", {"1.1.1.1", "2.2.2.2", .proto = 6, .ct = FG_CT_RELATED}, NULL, 0},
	    {"new: mask 0 rule", {"1.1.1.1", "2.2.2.2", .proto = 6, .ct = FG_CT_NEW}, NULL, 1},
	    {"invalid: mask 0 rule", {"1::1", "2::2", .proto = 17, .ct = FG_CT_INVALID}, NULL, 1},
	};

	r[0].state_mask = FG_CT_ESTABLISHED | FG_CT_RELATED;
	p = policy(r, 2, FG_ACT_DROP);
	check_rows(&p, rows, N(rows));
}

static void test_iface_list(void)
{
	char *both[] = {"fgt0", "fgt1"};
	char *one[] = {"fgt1"};
	struct fg_rule_spec r[3] = {rule(FG_ACT_DROP), rule(FG_ACT_LOG), rule(FG_ACT_ALLOW)};
	struct policy p;
	static const struct row rows[] = {
	    {"fgt1 first", UDP("1.1.1.1", "2.2.2.2", 1, 53), "fgt1", 0},
	    {"fgt0", UDP("1.1.1.1", "2.2.2.2", 1, 53), "fgt0", 1},
	    {"fgt2", UDP("1.1.1.1", "2.2.2.2", 1, 53), "fgt2", 2},
	    {"prefix is no match", UDP("1.1.1.1", "2.2.2.2", 1, 53), "fgt", 2},
	    {"unknown interface", UDP("1.1.1.1", "2.2.2.2", 1, 53), NULL, 2},
	};

	r[0].ifaces = one;
	r[0].nifaces = 1;
	r[1].ifaces = both;
	r[1].nifaces = 2;
	p = policy(r, 3, FG_ACT_DROP);
	check_rows(&p, rows, N(rows));
}

/* ---- verdicts ------------------------------------------------------------- */

struct vrow {
	const char *desc;
	struct tpkt pkt;
	int deflt;
	bool with_rule; /* policy has the "drop icmpv6 from 10.0.0.0/8 +
			 * fe80::/10" rule */
	int verdict, rule;
};

static void test_default_nd_and_non_ip(void)
{
	struct fg_cidr src[] = {cidr("fe80::/10"), cidr("10.0.0.0/8")};
	struct fg_rule_spec r[1] = {rule(FG_ACT_DROP)};
	static const struct vrow rows[] = {
	    {"default allow", UDP("1.1.1.1", "2.2.2.2", 1, 1), FG_ACT_ALLOW, false, FG_ACT_ALLOW,
	     -1},
	    {"default drop", UDP("1.1.1.1", "2.2.2.2", 1, 1), FG_ACT_DROP, false, FG_ACT_DROP, -1},
	    {"ND passes default drop",
	     {"fe80::1", "ff02::1:ff00:1", .proto = 58, .icmp_type = 135, .flags = FG_PKT_ND},
	     FG_ACT_DROP,
	     false,
	     FG_ACT_ALLOW,
	     -1},
	    {"echo does not",
	     {"fe80::1", "fe80::2", .proto = 58, .icmp_type = 128},
	     FG_ACT_DROP,
	     false,
	     FG_ACT_DROP,
	     -1},
	    {"a rule naming ND wins",
	     {"fe80::1", "ff02::1", .proto = 58, .icmp_type = 134, .flags = FG_PKT_ND},
	     FG_ACT_DROP,
	     true,
	     FG_ACT_DROP,
	     0},
	    {"ND from elsewhere: pass",
	     {"2001:db8::1", "ff02::1", .proto = 58, .icmp_type = 136, .flags = FG_PKT_ND},
	     FG_ACT_DROP,
	     true,
	     FG_ACT_ALLOW,
	     -1},
	    {"rule under default allow",
	     {"10.1.1.1", "10.2.2.2", .proto = 58},
	     FG_ACT_ALLOW,
	     true,
	     FG_ACT_DROP,
	     0},
	};
	struct policy p;
	struct fg_pkt pkt;
	size_t i;
	int rule_out;

	cidrs(&r[0].src, src, 2);
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = 58;
	for (i = 0; i < N(rows); i++) {
		p = policy(r, rows[i].with_rule ? 1 : 0, rows[i].deflt);
		pkt = mkpkt(&rows[i].pkt);
		ASSERT_EQ(model_verdict(&p, &pkt, "fgt0", &rule_out), rows[i].verdict,
			  rows[i].desc);
		ASSERT_EQ(rule_out, rows[i].rule, rows[i].desc);
	}

	/* Non-IP: never classified, even by a rule with no fields at all. */
	r[0] = rule(FG_ACT_DROP);
	p = policy(r, 1, FG_ACT_DROP);
	memset(&pkt, 0, sizeof(pkt));
	pkt.family = FG_FAM_NONE;
	ASSERT_EQ(model_classify(&p, &pkt, "fgt0"), -1, "non-IP unclassified");
	ASSERT_EQ(model_verdict(&p, &pkt, "fgt0", NULL), FG_ACT_ALLOW, "non-IP passes");
	pkt = mkpkt(&rows[0].pkt);
	ASSERT_EQ(model_verdict(&p, &pkt, "fgt0", &rule_out), FG_ACT_DROP,
		  "the empty rule matches any IP packet");
	ASSERT_EQ(rule_out, 0, "rule 0");
}

/* ---- the random generator --------------------------------------------------- */

static bool host_bits_clear(const struct fg_cidr *c)
{
	int i, bits = c->family == 4 ? 32 : 128;

	if (c->family != 4 && c->family != 6)
		return false;
	if (c->len > bits)
		return false;
	for (i = c->len; i < 128; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

static bool cidrs_valid(const struct fg_cidr *c, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!host_bits_clear(&c[i]))
			return false;
	return true;
}

static bool ports_valid(const struct fg_port_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].lo > r[i].hi)
			return false;
	return true;
}

static bool addr_valid(const struct policy *p, const struct fg_addr_match *m)
{
	if (m->any)
		return m->set == -1 && !m->ncidrs;
	if (m->set >= 0)
		return (size_t)m->set < p->nsets && !m->ncidrs;
	return m->ncidrs && cidrs_valid(m->cidrs, m->ncidrs);
}

static bool rule_valid(const struct policy *p, const struct fg_rule_spec *r)
{
	bool tcp = r->proto_kind == FG_PROTO_NUM && r->proto == 6;
	bool ports_ok = r->proto_kind == FG_PROTO_TCPUDP ||
			(r->proto_kind == FG_PROTO_NUM && (r->proto == 6 || r->proto == 17));

	if (!addr_valid(p, &r->src) || !addr_valid(p, &r->dst))
		return false;
	if ((r->nsports || r->ndports) && !ports_ok)
		return false;
	if ((r->tcp_set || r->tcp_clear) && !tcp)
		return false;
	if (r->tcp_set & r->tcp_clear)
		return false;
	if (r->action < FG_ACT_ALLOW || r->action > FG_ACT_LOG)
		return false;
	return ports_valid(r->sports, r->nsports) && ports_valid(r->dports, r->ndports) &&
	       !r->rate_pps;
}

static void test_randpol_policies_are_valid(void)
{
	struct randpol_rng rng;
	struct policy p;
	size_t i, j;
	int seed;

	for (seed = 1; seed <= 20; seed++) {
		randpol_seed(&rng, seed);
		if (!ASSERT_OK(randpol_build(
				   &rng, &(struct randpol_opts){.nrules = 60, .big_set = 300}, &p),
			       "build"))
			return;
		ASSERT_TRUE(p.default_action == FG_ACT_ALLOW || p.default_action == FG_ACT_DROP,
			    "default");
		ASSERT_TRUE(p.nsets >= 1 && p.nsets <= 4, "a few sets");
		for (i = 0; i < p.nsets; i++) {
			ASSERT_TRUE(cidrs_valid(p.sets[i].cidrs, p.sets[i].ncidrs),
				    "set cidrs normalised");
			for (j = 0; j < i; j++)
				ASSERT_TRUE(strcmp(p.sets[i].name, p.sets[j].name),
					    "set names unique");
		}
		for (i = 0; i < p.nrules; i++) {
			if (!ASSERT_TRUE(rule_valid(&p, &p.rules[i]), "rule valid"))
				fprintf(stderr, "    seed %d rule %zu\n", seed, i);
			for (j = 0; j < i; j++)
				ASSERT_TRUE(strcmp(p.rules[i].name, p.rules[j].name),
					    "rule names unique");
		}
		randpol_free(&p);
	}
}

/* A digest of everything drawn: the same seed must give the same run. */
static uint64_t run_digest(uint64_t seed)
{
	struct randpol_rng rng;
	struct policy p;
	struct randpkt rp;
	uint64_t h = 1469598103934665603ULL;
	int i, v, rule;

	randpol_seed(&rng, seed);
	if (randpol_build(&rng, &(struct randpol_opts){.nrules = 40}, &p))
		return 0;
	for (i = 0; i < 500; i++) {
		randpol_packet(&rng, &p, &rp);
		v = model_verdict(&p, &rp.pkt, rp.ifname, &rule);
		h = (h ^ (uint64_t)(rule * 4 + v)) * 1099511628211ULL;
		h = (h ^ rp.pkt.src[3] ^ rp.pkt.dport) * 1099511628211ULL;
	}
	randpol_free(&p);
	return h;
}

static void test_randpol_is_deterministic(void)
{
	struct randpol_rng a, b;
	int i;

	randpol_seed(&a, 42);
	randpol_seed(&b, 42);
	for (i = 0; i < 100; i++)
		ASSERT_EQ(randpol_next(&a), randpol_next(&b), "same stream");
	/* splitmix64's first output for seed 0 (reference value). */
	randpol_seed(&a, 0);
	ASSERT_TRUE(randpol_next(&a) == 0xe220a8397b1dcdafULL, "splitmix64");
	ASSERT_TRUE(run_digest(7) == run_digest(7), "same seed, same run");
	ASSERT_TRUE(run_digest(7) != run_digest(8), "other seed, other run");
}

/* The packets must exercise the rules: most hit one, many of them not the
 * first rule, and every kind of verdict shows up. */
static void test_randpol_packets_hit_rules(void)
{
	struct randpol_rng rng;
	struct policy p;
	struct randpkt rp;
	int i, rule, hits = 0, deep = 0, nonip = 0, nd = 0, later = 0, v6 = 0;
	int verdicts[4] = {0};
	const int n = 20000;

	randpol_seed(&rng, 2024);
	if (!ASSERT_OK(randpol_build(&rng, &(struct randpol_opts){.nrules = 40}, &p), "build"))
		return;
	for (i = 0; i < n; i++) {
		randpol_packet(&rng, &p, &rp);
		verdicts[model_verdict(&p, &rp.pkt, rp.ifname, &rule)]++;
		hits += rule >= 0;
		deep += rule >= 5;
		nonip += rp.pkt.family == FG_FAM_NONE;
		nd += !!(rp.pkt.flags & FG_PKT_ND);
		later += !!(rp.pkt.flags & FG_PKT_FRAG_LATER);
		v6 += rp.pkt.family == FG_FAM_V6;
	}
	ASSERT_GE(hits, n / 3, "a third hit some rule");
	ASSERT_GE(deep, n / 20, "rules past the first few are reached");
	ASSERT_GE(n - hits, n / 20, "some hit none");
	ASSERT_GE(verdicts[FG_ACT_ALLOW], 1, "allow seen");
	ASSERT_GE(verdicts[FG_ACT_DROP], 1, "drop seen");
	ASSERT_GE(verdicts[FG_ACT_LOG], 1, "log seen");
	ASSERT_GE(nonip, 1, "non-IP seen");
	ASSERT_GE(nd, 1, "ND seen");
	ASSERT_GE(later, 1, "later fragments seen");
	ASSERT_GE(v6, n / 4, "IPv6 common");
	randpol_free(&p);
}

/* Families an address field can match: bit 4 / bit 6. */
static int field_families(const struct policy *p, const struct fg_addr_match *m)
{
	const struct fg_cidr *c = m->cidrs;
	size_t i, n = m->ncidrs;
	int f = 0;

	if (m->any)
		return 1 << 4 | 1 << 6;
	if (m->set >= 0) {
		c = p->sets[m->set].cidrs;
		n = p->sets[m->set].ncidrs;
	}
	for (i = 0; i < n; i++)
		f |= 1 << c[i].family;
	return f;
}

/* Every satisfiable rule of a random policy is matched by some random
 * packet: the generator leaves no part of the rule space unexercised. */
static void test_randpol_rules_reachable(void)
{
	struct randpol_rng rng;
	struct policy p;
	struct randpkt rp;
	char hit[20] = {0};
	int i, seed, matched = 0, possible = 0, unsat = 0;
	size_t r;

	for (seed = 100; seed < 105; seed++) {
		randpol_seed(&rng, seed);
		if (randpol_build(&rng, &(struct randpol_opts){.nrules = 20, .big_set = 100}, &p))
			return;
		memset(hit, 0, sizeof(hit));
		for (i = 0; i < 50000; i++) {
			randpol_packet(&rng, &p, &rp);
			for (r = 0; r < p.nrules; r++)
				if (model_rule_matches(&p, &p.rules[r], &rp.pkt, rp.ifname))
					hit[r] = 1;
		}
		for (r = 0; r < p.nrules; r++) {
			bool sat = field_families(&p, &p.rules[r].src) &
				   field_families(&p, &p.rules[r].dst);

			matched += sat && hit[r];
			possible += sat;
			unsat += !sat;
			ASSERT_TRUE(sat || !hit[r], "v4 src + v6 dst never matches");
		}
		randpol_free(&p);
	}
	/* Left over: rules such as proto 0 with IPv6 CIDRs. */
	ASSERT_GE(matched * 100, possible * 95, "95% of the rules matched");
	ASSERT_GE(unsat, 1, "some unsatisfiable rules too");
}

int main(void)
{
	RUN_TEST(test_first_match_wins);
	RUN_TEST(test_v4_prefix_edges);
	RUN_TEST(test_v6_prefix_edges);
	RUN_TEST(test_family_separation_and_both_addresses);
	RUN_TEST(test_named_sets);
	RUN_TEST(test_proto_kinds);
	RUN_TEST(test_port_ranges_and_edges);
	RUN_TEST(test_tcp_flags_set_and_clear);
	RUN_TEST(test_state_mask);
	RUN_TEST(test_iface_list);
	RUN_TEST(test_default_nd_and_non_ip);
	RUN_TEST(test_randpol_policies_are_valid);
	RUN_TEST(test_randpol_is_deterministic);
	RUN_TEST(test_randpol_packets_hit_rules);
	RUN_TEST(test_randpol_rules_reachable);
	return FG_TEST_EXIT();
}
