// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `state:` rules (DESIGN.md §2) with connection tracking: outbound packets
 * go through the TC egress program (BPF_PROG_TEST_RUN on an skb), replies
 * through XDP ingress. Each test is a sequence of rows {description,
 * direction, frame, expected verdict and stats slot}: a reply to an
 * outbound flow matches `established`, an unsolicited one does not; a new
 * inbound flow matches `new`; UDP and ICMP echo replies are established;
 * an ICMP error about a tracked flow is `related`.
 *
 * Host H (this gateway's side) is 192.0.2.1 / 2001:db8::1, remote peers
 * are 198.51.100.x / 2001:db8:f::x.
 */
#include <errno.h>
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"

FG_TEST_GLOBALS;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct dp *dp;
static uint64_t gen;
static uint8_t buf[PKT_MAX_FRAME];

/*
 * Policy, default drop:
 *   0 established  allow state established              (slot 1)
 *   1 ssh-new      allow tcp dport 22 state new         (slot 2)
 *   2 dns          allow udp dport 53 state [new, est]  (slot 3)
 *   3 related      allow state related                  (slot 4)
 */
#define S_EST 1
#define S_SSH 2
#define S_DNS 3
#define S_REL 4
#define NSLOTS 5

static bool install(void)
{
	static struct fg_rule_spec r[4];
	static struct fg_port_range p22 = {22, 22}, p53 = {53, 53};
	struct policy p = {.version = 1, .default_action = FG_ACT_DROP};

	r[0] = dpt_rule("established", FG_ACT_ALLOW);
	r[0].state_mask = FG_CT_ESTABLISHED;
	r[1] = dpt_rule_dport("ssh-new", FG_ACT_ALLOW, IPPROTO_TCP, &p22);
	r[1].state_mask = FG_CT_NEW;
	r[2] = dpt_rule_dport("dns", FG_ACT_ALLOW, IPPROTO_UDP, &p53);
	r[2].state_mask = FG_CT_NEW | FG_CT_ESTABLISHED;
	r[3] = dpt_rule("related", FG_ACT_ALLOW);
	r[3].state_mask = FG_CT_RELATED;
	p.rules = r;
	p.nrules = 4;
	return ASSERT_OK(dpt_install(dp, &p, ++gen), "install");
}

enum dir { OUT, IN };

struct pk {
	const char *src;
	uint16_t sport;
	const char *dst;
	uint16_t dport;
	uint8_t proto;
	uint8_t flags;	    /* TCP flags */
	uint16_t icmp_type; /* ICMP: 0 = echo request of the family; ICMP0 = type 0 */
};

struct row {
	const char *desc;
	enum dir dir;
	struct pk p;
	int act, slot; /* IN only */
};

#define ICMP0 0x100
#define PASS(s) .act = XDP_PASS_, .slot = s
#define DROP .act = XDP_DROP_, .slot = 0
/* packets: tcp, udp, icmp */
#define T(s, sp, d, dp, f)                                                                         \
	{                                                                                          \
		.src = s, .sport = sp, .dst = d, .dport = dp, .proto = 6, .flags = f               \
	}
#define U(s, sp, d, dp)                                                                            \
	{                                                                                          \
		.src = s, .sport = sp, .dst = d, .dport = dp, .proto = 17                          \
	}
#define I(s, d, pr, t)                                                                             \
	{                                                                                          \
		.src = s, .dst = d, .proto = pr, .icmp_type = t                                    \
	}
/* rows: sent (TC egress) or received (XDP ingress, with the verdict) */
#define SENT(d_, pk)                                                                               \
	{                                                                                          \
		.desc = d_, .dir = OUT, .p = pk                                                    \
	}
#define RECV(d_, pk, verdict)                                                                      \
	{                                                                                          \
		.desc = d_, .dir = IN, .p = pk, verdict                                            \
	}

static size_t build(const struct pk *k, struct pkt_spec *s)
{
	int fam = strchr(k->src, ':') ? 6 : 4;

	pkt_spec_init(s, fam == 6 ? PKT_L3_V6 : PKT_L3_V4, k->proto);
	pkt_addr(s->src, k->src);
	pkt_addr(s->dst, k->dst);
	s->sport = k->sport;
	s->dport = k->dport;
	s->tcp_flags = k->flags;
	if (k->icmp_type)
		s->icmp_type = k->icmp_type & 0xff;
	s->payload_len = 20;
	return pkt_build(s, buf, sizeof(buf));
}

static void run_rows(const struct row *rows, size_t n)
{
	struct pkt_spec s;
	char desc[160];
	size_t i, len;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		len = build(&r->p, &s);
		snprintf(desc, sizeof(desc), "%s: %s", r->dir == OUT ? "out" : "in", r->desc);
		if (!ASSERT_TRUE(len > 0, desc))
			continue;
		if (r->dir == OUT) {
			ASSERT_EQ(dpt_run_tc(dp, buf, len), -1 /* TC_ACT_UNSPEC: next */, desc);
			continue;
		}
		dpt_check(dp, desc, buf, len, 0, NSLOTS, r->act, r->act == XDP_DROP_ ? 0 : r->slot,
			  r->act == XDP_DROP_ ? FG_R_DEFAULT : FG_R_NONE);
	}
}

#define SYN FG_TCP_SYN
#define SYNACK (FG_TCP_SYN | FG_TCP_ACK)
#define ACK FG_TCP_ACK

static void test_tcp_reply_is_established(void)
{
	const struct row rows[] = {
	    SENT("syn to 198.51.100.7:443", T("192.0.2.1", 40000, "198.51.100.7", 443, SYN)),
	    RECV("its syn-ack", T("198.51.100.7", 443, "192.0.2.1", 40000, SYNACK), PASS(S_EST)),
	    RECV("its ack", T("198.51.100.7", 443, "192.0.2.1", 40000, ACK), PASS(S_EST)),
	    SENT("client's ack", T("192.0.2.1", 40000, "198.51.100.7", 443, ACK)),
	    RECV("data", T("198.51.100.7", 443, "192.0.2.1", 40000, ACK | FG_TCP_PSH), PASS(S_EST)),
	    RECV("unsolicited syn-ack, other local port",
		 T("198.51.100.7", 443, "192.0.2.1", 40001, SYNACK), DROP),
	    RECV("unsolicited syn-ack, other remote port",
		 T("198.51.100.7", 444, "192.0.2.1", 40000, SYNACK), DROP),
	    RECV("same ports, other remote host",
		 T("198.51.100.8", 443, "192.0.2.1", 40000, SYNACK), DROP),
	    RECV("same ports, udp", U("198.51.100.7", 443, "192.0.2.1", 40000), DROP),
	    RECV("unsolicited ack", T("198.51.100.9", 80, "192.0.2.1", 40000, ACK), DROP),
	    /* egress picks flows up loosely (nf_conntrack_tcp_loose): a
	     * SYN-ACK sent out for a connection not tracked yet (opened
	     * before `state` rules existed) opens it, and its peer's ACK
	     * is established */
	    SENT("syn-ack sent, connection not tracked yet",
		 T("192.0.2.1", 41000, "198.51.100.7", 1234, SYNACK)),
	    RECV("ack back to it", T("198.51.100.7", 1234, "192.0.2.1", 41000, ACK), PASS(S_EST)),
	    /* but an outbound RST opens nothing */
	    SENT("rst sent", T("192.0.2.1", 41001, "198.51.100.7", 1234, FG_TCP_RST)),
	    RECV("ack back to the rst", T("198.51.100.7", 1234, "192.0.2.1", 41001, ACK), DROP),
	};

	if (install())
		run_rows(rows, N(rows));
}

static void test_tcp_reply_is_established_v6(void)
{
	const struct row rows[] = {
	    SENT("syn", T("2001:db8::1", 40000, "2001:db8:f::7", 443, SYN)),
	    RECV("syn-ack", T("2001:db8:f::7", 443, "2001:db8::1", 40000, SYNACK), PASS(S_EST)),
	    RECV("unsolicited syn-ack", T("2001:db8:f::7", 443, "2001:db8::1", 40002, SYNACK),
		 DROP),
	    /* the peer address sorts below the host's: the key is normalised */
	    SENT("syn to a lower address", T("2001:db8::1", 40003, "2001:db8::", 443, SYN)),
	    RECV("its syn-ack", T("2001:db8::", 443, "2001:db8::1", 40003, SYNACK), PASS(S_EST)),
	};

	if (install())
		run_rows(rows, N(rows));
}

/* New inbound flows match `new`; once the host answered, the peer's next
 * packets are established. */
static void test_inbound_new_then_established(void)
{
	const struct row rows[] = {
	    RECV("syn to ssh", T("198.51.100.20", 5555, "192.0.2.1", 22, SYN), PASS(S_SSH)),
	    RECV("syn to telnet", T("198.51.100.20", 5556, "192.0.2.1", 23, SYN), DROP),
	    RECV("retransmitted syn to ssh", T("198.51.100.20", 5555, "192.0.2.1", 22, SYN),
		 PASS(S_SSH)),
	    SENT("host's syn-ack", T("192.0.2.1", 22, "198.51.100.20", 5555, SYNACK)),
	    RECV("peer's ack", T("198.51.100.20", 5555, "192.0.2.1", 22, ACK), PASS(S_EST)),
	    RECV("dns query (new)", U("198.51.100.21", 1000, "192.0.2.1", 53), PASS(S_DNS)),
	    SENT("dns answer", U("192.0.2.1", 53, "198.51.100.21", 1000)),
	    RECV("same peer again: established before dns",
		 U("198.51.100.21", 1000, "192.0.2.1", 53), PASS(S_EST)),
	};

	if (install())
		run_rows(rows, N(rows));
}

static void test_udp_and_icmp_replies(void)
{
	const struct row rows[] = {
	    SENT("udp datagram", U("192.0.2.1", 5353, "198.51.100.30", 5300)),
	    RECV("udp reply", U("198.51.100.30", 5300, "192.0.2.1", 5353), PASS(S_EST)),
	    RECV("udp reply, again", U("198.51.100.30", 5300, "192.0.2.1", 5353), PASS(S_EST)),
	    RECV("udp to another local port", U("198.51.100.30", 5300, "192.0.2.1", 5354), DROP),
	    RECV("udp from another remote port", U("198.51.100.30", 5301, "192.0.2.1", 5353), DROP),
	    SENT("v6 udp datagram", U("2001:db8::1", 7000, "2001:db8:f::30", 7001)),
	    RECV("v6 udp reply", U("2001:db8:f::30", 7001, "2001:db8::1", 7000), PASS(S_EST)),
	    SENT("echo request", I("192.0.2.1", "198.51.100.31", 1, 8)),
	    RECV("echo reply", I("198.51.100.31", "192.0.2.1", 1, ICMP0), PASS(S_EST)),
	    RECV("echo reply from elsewhere", I("198.51.100.32", "192.0.2.1", 1, ICMP0), DROP),
	    SENT("v6 echo request", I("2001:db8::1", "2001:db8:f::31", 58, 128)),
	    RECV("v6 echo reply", I("2001:db8:f::31", "2001:db8::1", 58, 129), PASS(S_EST)),
	};

	if (install())
		run_rows(rows, N(rows));
}

/*
 * An ICMP error quoting an outbound datagram of a tracked flow is `related`
 * (DESIGN.md §2: established | new | related): each row sends `out` (TC
 * egress), then receives an ICMP/ICMPv6 message of `type` from `from`
 * quoting that datagram (its IP header and 8 bytes), with the quoted
 * source port changed by `flip` (0: quoted as sent).
 */
struct rel_row {
	const char *desc;
	struct pk out;
	const char *from;
	uint8_t type, code;
	uint8_t flip;
	int act, slot;
};

static size_t icmp_error(const struct rel_row *r, uint8_t *inner, size_t cap)
{
	struct pkt_spec s, e;
	struct pkt_layout lay;
	bool v6 = strchr(r->from, ':') != NULL;
	size_t len;

	build(&r->out, &s);
	len = pkt_build_layout(&s, inner, cap, &lay);
	if (!len)
		return 0;
	inner[lay.l4_off + 1] ^= r->flip;
	pkt_spec_init(&e, v6 ? PKT_L3_V6 : PKT_L3_V4, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
	pkt_addr(e.src, r->from);
	memcpy(e.dst, s.src, 16);
	e.icmp_type = r->type;
	e.icmp_code = r->code;
	e.icmp_rest = 0;
	e.payload = inner + lay.l3_off;
	e.payload_len = lay.l4_off + 8 - lay.l3_off;
	return pkt_build(&e, buf, sizeof(buf));
}

static void test_icmp_error_is_related(void)
{
	const struct rel_row rows[] = {
	    {"v4 port unreachable about a udp probe", U("192.0.2.1", 40500, "198.51.100.40", 33434),
	     "198.51.100.40", 3, 3, 0, PASS(S_REL)},
	    {"v4 port unreachable about an unknown flow",
	     U("192.0.2.1", 40501, "198.51.100.40", 33434), "198.51.100.40", 3, 3, 0x80, DROP},
	    {"v4 time exceeded from a router about a tcp syn",
	     T("192.0.2.1", 40502, "198.51.100.41", 443, SYN), "203.0.113.254", 11, 0, 0,
	     PASS(S_REL)},
	    {"v4 fragmentation needed about a tcp syn",
	     T("192.0.2.1", 40503, "198.51.100.41", 443, SYN), "203.0.113.254", 3, 4, 0,
	     PASS(S_REL)},
	    {"v4 echo reply carrying the same bytes is no error",
	     U("192.0.2.1", 40504, "198.51.100.40", 33434), "198.51.100.40", 0, 0, 0, DROP},
	    {"v6 port unreachable about a udp probe",
	     U("2001:db8::1", 40505, "2001:db8:f::40", 33434), "2001:db8:f::40", 1, 4, 0,
	     PASS(S_REL)},
	    {"v6 packet too big from a router about a tcp syn",
	     T("2001:db8::1", 40506, "2001:db8:f::41", 443, SYN), "2001:db8:e::1", 2, 0, 0,
	     PASS(S_REL)},
	    {"v6 time exceeded about an unknown flow",
	     U("2001:db8::1", 40507, "2001:db8:f::40", 33434), "2001:db8:e::1", 3, 0, 0x80, DROP},
	};
	uint8_t inner[256];
	char desc[160];
	size_t i, len;

	if (!install())
		return;
	for (i = 0; i < N(rows); i++) {
		const struct row out = SENT("", rows[i].out);

		run_rows(&out, 1);
		len = icmp_error(&rows[i], inner, sizeof(inner));
		snprintf(desc, sizeof(desc), "in: %s", rows[i].desc);
		if (!ASSERT_TRUE(len > 0, desc))
			continue;
		dpt_check(dp, desc, buf, len, 0, NSLOTS, rows[i].act,
			  rows[i].act == XDP_DROP_ ? 0 : rows[i].slot,
			  rows[i].act == XDP_DROP_ ? FG_R_DEFAULT : FG_R_NONE);
	}
}

/*
 * `state: invalid`: a TCP segment that cannot open a flow (no SYN, or SYN
 * with ACK or RST) and belongs to no tracked flow. A rule dropping invalid
 * drops unsolicited ACKs and SYN-ACKs but not a SYN, nor the replies of a
 * flow this side opened.
 */
static void test_state_invalid(void)
{
	struct fg_rule_spec r[1];
	struct policy p = { 0 };
	struct pkt_spec s;
	size_t len;

	r[0] = dpt_rule("drop-invalid", FG_ACT_DROP);
	r[0].state_mask = FG_CT_INVALID;
	p.rules = r;
	p.nrules = 1;
	p.default_action = FG_ACT_ALLOW;
	if (!ASSERT_OK(dpt_install(dp, &p, ++gen), "install"))
		return;
	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	pkt_addr(s.src, "198.51.100.60");
	pkt_addr(s.dst, "192.0.2.1");
	s.sport = 443;
	s.dport = 43000;
	s.tcp_flags = FG_TCP_ACK;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "unsolicited ack", buf, len, 0, 2, XDP_DROP_, 1, FG_R_RULE);
	s.tcp_flags = FG_TCP_SYN | FG_TCP_ACK;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "unsolicited syn-ack", buf, len, 0, 2, XDP_DROP_, 1, FG_R_RULE);
	s.tcp_flags = FG_TCP_SYN;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "a syn opens, is not invalid", buf, len, 0, 2, XDP_PASS_, 0, FG_R_NONE);
	/* this side opens 192.0.2.1:43001 -> 198.51.100.60:443 */
	pkt_addr(s.src, "192.0.2.1");
	pkt_addr(s.dst, "198.51.100.60");
	s.sport = 43001;
	s.dport = 443;
	s.tcp_flags = FG_TCP_SYN;
	len = pkt_build(&s, buf, sizeof(buf));
	ASSERT_EQ(dpt_run_tc(dp, buf, len), -1, "out: syn");
	pkt_addr(s.src, "198.51.100.60");
	pkt_addr(s.dst, "192.0.2.1");
	s.sport = 443;
	s.dport = 43001;
	s.tcp_flags = FG_TCP_SYN | FG_TCP_ACK;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "its syn-ack is a reply, not invalid", buf, len, 0, 2, XDP_PASS_, 0,
		  FG_R_NONE);
}

int main(void)
{
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	RUN_TEST(test_tcp_reply_is_established);
	RUN_TEST(test_tcp_reply_is_established_v6);
	RUN_TEST(test_inbound_new_then_established);
	RUN_TEST(test_udp_and_icmp_replies);
	RUN_TEST(test_icmp_error_is_related);
	RUN_TEST(test_state_invalid);
	dp_close(dp);
	return FG_TEST_EXIT();
}
