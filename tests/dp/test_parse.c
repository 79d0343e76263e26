// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ingress parser (bpf/lib/parse.bpf.h) through BPF_PROG_TEST_RUN.
 *
 * Every case is a row {description, frame, expected verdict, expected
 * counters}. The expected reason comes from pkt_expect_len() (tests/lib/pkt.h,
 * the parser's specification); the check is exact: the verdict, one packet
 * and the frame's bytes on the expected drop reason (or stats slot), and no
 * change on any other reason or slot. Frames are every truncation of valid
 * IPv4/IPv6 TCP/UDP/ICMP/ICMPv6 frames (with options, VLAN tags, extension
 * headers), header fields out of range (ihl, tot_len, version, doff), VLAN
 * depths, IPv6 extension chains up to and past the limit, non-IP frames and
 * neighbour discovery under `default: drop`. Finally the parsed fields
 * themselves, read back from `log` events, must equal pkt_expect()'s.
 */
#include <errno.h>
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"
#include "randpol.h"

FG_TEST_GLOBALS;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct dp *dp;
static uint64_t gen;
static uint8_t buf[PKT_MAX_FRAME];

/* Install rules (may be NULL) with a default; no sets. */
static bool install(struct fg_rule_spec *rules, size_t n, int deflt)
{
	struct policy p = {.version = 1, .default_action = deflt};

	p.rules = rules;
	p.nrules = n;
	return ASSERT_OK(dpt_install(dp, &p, ++gen), "install");
}

/*
 * What a frame must do when no rule matches it: the kernel refuses frames
 * shorter than Ethernet; malformed frames are dropped with their reason and
 * counted on no rule; non-IP frames and ND pass uncounted; later fragments
 * whose first was never seen get the default as reason `fragment`; other
 * IP packets get the default, counted on the default slot (0).
 */
struct want {
	int act, slot, reason;
};

static struct want want_unmatched(const struct pkt_spec *s, size_t len, int deflt)
{
	struct want w = {.act = XDP_PASS_, .slot = -1, .reason = FG_R_NONE};
	bool drop = deflt == FG_ACT_DROP;
	struct fg_pkt p;
	int r;

	if (len < 14) {
		w.act = -EINVAL;
		return w;
	}
	r = pkt_expect_len(s, len, &p);
	if (r < 0) {
		w.act = -1000; /* spec error: fails the check loudly */
		return w;
	}
	if (r != FG_R_NONE) {
		w.act = XDP_DROP_;
		w.reason = r;
		return w;
	}
	if (p.family == FG_FAM_NONE || (p.flags & FG_PKT_ND))
		return w;
	w.slot = 0;
	w.act = drop ? XDP_DROP_ : XDP_PASS_;
	if (p.flags & FG_PKT_FRAG_LATER)
		w.reason = drop ? FG_R_FRAGMENT : FG_R_NONE;
	else
		w.reason = drop ? FG_R_DEFAULT : FG_R_NONE;
	return w;
}

static bool check_unmatched(const char *desc, const struct pkt_spec *s, size_t len, int deflt)
{
	struct want w = want_unmatched(s, len, deflt);
	size_t full = pkt_build(s, buf, sizeof(buf));

	if (!ASSERT_TRUE(full > 0 && len <= full, desc))
		return false;
	return dpt_check(dp, desc, buf, len, 0, 2, w.act, w.slot, w.reason);
}

/* ---- frames ------------------------------------------------------------- */

static void v4(struct pkt_spec *s, uint8_t proto)
{
	pkt_spec_init(s, PKT_L3_V4, proto);
	s->payload_len = 10;
}

static void v6(struct pkt_spec *s, uint8_t proto)
{
	pkt_spec_init(s, PKT_L3_V6, proto);
	s->payload_len = 10;
}

static void mk_v4_tcp(struct pkt_spec *s)
{
	v4(s, IPPROTO_TCP);
}
static void mk_v4_udp(struct pkt_spec *s)
{
	v4(s, IPPROTO_UDP);
}
static void mk_v4_icmp(struct pkt_spec *s)
{
	v4(s, IPPROTO_ICMP);
}
static void mk_v6_tcp(struct pkt_spec *s)
{
	v6(s, IPPROTO_TCP);
}
static void mk_v6_udp(struct pkt_spec *s)
{
	v6(s, IPPROTO_UDP);
}
static void mk_v6_icmp6(struct pkt_spec *s)
{
	v6(s, IPPROTO_ICMPV6);
}

static void mk_v4_tcp_opts(struct pkt_spec *s)
{
	static const uint8_t mss[] = {2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 1, 1, 0};

	v4(s, IPPROTO_TCP);
	memset(s->ip_opts, 1, 7); /* NOPs, then EOL */
	s->ip_optlen = 8;
	memcpy(s->tcp_opts, mss, sizeof(mss));
	s->tcp_optlen = sizeof(mss);
}

static void mk_v4_first_frag(struct pkt_spec *s)
{
	v4(s, IPPROTO_UDP);
	s->frag_mf = true;
	s->ip_id = 0x1234;
}

static void mk_v6_nd(struct pkt_spec *s)
{
	v6(s, IPPROTO_ICMPV6);
	s->icmp_type = 135;
	s->ttl = 255;
	s->payload_len = 16;
}

static void mk_v6_ext_udp(struct pkt_spec *s)
{
	v6(s, IPPROTO_UDP);
	pkt_add_ext(s, IPPROTO_HOPOPTS, 0);
	pkt_add_ext(s, IPPROTO_DSTOPTS, 1);
	pkt_add_ext(s, IPPROTO_ROUTING, 0);
	pkt_add_ext(s, IPPROTO_AH, 4);
}

static void mk_v6_frag_tcp(struct pkt_spec *s)
{
	v6(s, IPPROTO_TCP);
	pkt_add_frag6(s, 0, true, 0xabcdef);
}

static void mk_q_v4_tcp(struct pkt_spec *s)
{
	v4(s, IPPROTO_TCP);
	pkt_add_vlan(s, PKT_ETH_P_8021Q, 100);
}

static void mk_qinq_v6_udp(struct pkt_spec *s)
{
	v6(s, IPPROTO_UDP);
	pkt_add_vlan(s, PKT_ETH_P_8021AD, 10);
	pkt_add_vlan(s, PKT_ETH_P_8021Q, 20);
}

static void mk_arp(struct pkt_spec *s)
{
	pkt_spec_init(s, PKT_L3_ARP, 0);
}

static void mk_lldp(struct pkt_spec *s)
{
	pkt_spec_init(s, PKT_L3_RAW, 0);
	s->ethertype = PKT_ETH_P_LLDP;
	s->payload_len = 46;
}

static const struct base {
	const char *desc;
	void (*mk)(struct pkt_spec *s);
} bases[] = {
    {"ipv4 tcp", mk_v4_tcp},
    {"ipv4 tcp + ip and tcp options", mk_v4_tcp_opts},
    {"ipv4 udp", mk_v4_udp},
    {"ipv4 icmp", mk_v4_icmp},
    {"ipv4 udp first fragment", mk_v4_first_frag},
    {"ipv6 tcp", mk_v6_tcp},
    {"ipv6 udp", mk_v6_udp},
    {"ipv6 icmpv6 echo", mk_v6_icmp6},
    {"ipv6 icmpv6 neighbour solicitation", mk_v6_nd},
    {"ipv6 udp behind hbh+dstopts+routing+ah", mk_v6_ext_udp},
    {"ipv6 tcp first fragment", mk_v6_frag_tcp},
    {"802.1q ipv4 tcp", mk_q_v4_tcp},
    {"802.1ad+802.1q ipv6 udp", mk_qinq_v6_udp},
    {"arp", mk_arp},
    {"lldp", mk_lldp},
};

/* ---- tests -------------------------------------------------------------- */

/*
 * Every length from 0 to the full frame, for every base frame, under
 * `default: allow` with no rules: the kernel refuses < 14 bytes; from there
 * the reason (or pass) is pkt_expect_len()'s, exactly one drop counted.
 */
static void test_every_truncation(void)
{
	char desc[128];
	size_t i, len, full, ncase = 0;
	struct pkt_spec s;

	if (!install(NULL, 0, FG_ACT_ALLOW))
		return;
	for (i = 0; i < N(bases); i++) {
		bases[i].mk(&s);
		full = pkt_build(&s, buf, sizeof(buf));
		if (!ASSERT_TRUE(full > 0, bases[i].desc))
			continue;
		for (len = 0; len <= full; len++, ncase++) {
			snprintf(desc, sizeof(desc), "%s cut to %zu/%zu", bases[i].desc, len, full);
			check_unmatched(desc, &s, len, FG_ACT_ALLOW);
		}
	}
	printf("  %zu truncations checked\n", ncase);
}

/* The same full frames under `default: drop`: IP gets the default (ND and
 * non-IP excepted), counted on the default slot with reason default. */
static void test_full_frames_default_drop(void)
{
	struct pkt_spec s;
	size_t i, full;

	if (!install(NULL, 0, FG_ACT_DROP))
		return;
	for (i = 0; i < N(bases); i++) {
		bases[i].mk(&s);
		full = pkt_build(&s, buf, sizeof(buf));
		check_unmatched(bases[i].desc, &s, full, FG_ACT_DROP);
	}
}

/* A frame longer than its IP datagram carries Ethernet padding: not
 * malformed; byte counters count the whole frame. */
static void test_ethernet_padding_is_not_malformed(void)
{
	static const struct {
		const char *desc;
		void (*mk)(struct pkt_spec *s);
		size_t pad_to;
	} rows[] = {
	    {"ipv4 udp padded to 60", mk_v4_udp, 60},
	    {"ipv4 tcp padded to 80", mk_v4_tcp, 80},
	    {"ipv4 icmp padded to 1514", mk_v4_icmp, 1514},
	    {"ipv6 udp padded to 100", mk_v6_udp, 100},
	    {"ipv6 nd padded to 90", mk_v6_nd, 90},
	    {"802.1q ipv4 tcp padded to 128", mk_q_v4_tcp, 128},
	    {"qinq ipv6 udp padded to 200", mk_qinq_v6_udp, 200},
	    {"ipv6 ext chain padded to 300", mk_v6_ext_udp, 300},
	};
	struct pkt_spec s;
	struct pkt_layout lay;
	size_t i, len;

	if (!install(NULL, 0, FG_ACT_ALLOW))
		return;
	for (i = 0; i < N(rows); i++) {
		rows[i].mk(&s);
		s.pad_to = rows[i].pad_to;
		len = pkt_build_layout(&s, buf, sizeof(buf), &lay);
		ASSERT_EQ(len, rows[i].pad_to, rows[i].desc);
		ASSERT_TRUE(lay.ip_end < len, rows[i].desc);
		ASSERT_EQ(pkt_expect(&s, &(struct fg_pkt){0}), FG_R_NONE, rows[i].desc);
		check_unmatched(rows[i].desc, &s, len, FG_ACT_ALLOW);
	}
}

/* Header fields written out of range (PKT_OV_*), with the reason each
 * gives; `reason` is asserted against pkt_expect() too, so that the table
 * documents the outcome rather than trusting the oracle blindly. */
struct hdr_row {
	const char *desc;
	void (*mk)(struct pkt_spec *s);
	uint32_t ov;
	uint8_t ihl, doff, version;
	uint16_t tot_len;
	uint8_t proto;	  /* 0: the base frame's */
	uint16_t payload; /* 0: the base frame's */
	uint8_t optlen;	  /* ipv4 options bytes */
	int reason;	  /* FG_R_NONE: passes */
};

static void check_hdr_rows(const struct hdr_row *rows, size_t n)
{
	struct pkt_spec s;
	struct fg_pkt p;
	size_t i, len;

	for (i = 0; i < n; i++) {
		const struct hdr_row *r = &rows[i];

		r->mk(&s);
		s.ov = r->ov;
		s.ihl = r->ihl;
		s.doff = r->doff;
		s.ip_version = r->version;
		s.tot_len = r->tot_len;
		if (r->proto)
			s.proto = r->proto;
		if (r->payload)
			s.payload_len = r->payload;
		if (r->optlen) {
			memset(s.ip_opts, 1, r->optlen);
			s.ip_optlen = r->optlen;
		}
		len = pkt_build(&s, buf, sizeof(buf));
		if (!ASSERT_TRUE(len > 0, r->desc))
			continue;
		ASSERT_EQ(pkt_expect(&s, &p), r->reason, r->desc);
		check_unmatched(r->desc, &s, len, FG_ACT_ALLOW);
	}
}

static void test_ipv4_header_fields(void)
{
	static const struct hdr_row rows[] = {
	    {"ihl 0", mk_v4_tcp, PKT_OV_IHL, .ihl = 0, .reason = FG_R_BAD_IHL},
	    {"ihl 1", mk_v4_tcp, PKT_OV_IHL, .ihl = 1, .reason = FG_R_BAD_IHL},
	    {"ihl 2", mk_v4_udp, PKT_OV_IHL, .ihl = 2, .reason = FG_R_BAD_IHL},
	    {"ihl 3", mk_v4_udp, PKT_OV_IHL, .ihl = 3, .reason = FG_R_BAD_IHL},
	    {"ihl 4", mk_v4_icmp, PKT_OV_IHL, .ihl = 4, .reason = FG_R_BAD_IHL},
	    {"ihl 5 exact", mk_v4_tcp, PKT_OV_IHL, .ihl = 5, .reason = FG_R_NONE},
	    {"ihl 15 past a 40-byte frame", mk_v4_udp, PKT_OV_IHL, .ihl = 15, .payload = 1,
	     .reason = FG_R_BAD_IHL},
	    {"ihl 15 with 40 option bytes", mk_v4_tcp, 0, .optlen = 40, .reason = FG_R_NONE},
	    {"ihl 6 with 4 option bytes", mk_v4_udp, 0, .optlen = 4, .reason = FG_R_NONE},
	    {"tot_len 0", mk_v4_tcp, PKT_OV_TOTLEN, .tot_len = 0, .reason = FG_R_BAD_TOTLEN},
	    {"tot_len 19 < ihl", mk_v4_tcp, PKT_OV_TOTLEN, .tot_len = 19,
	     .reason = FG_R_BAD_TOTLEN},
	    {"tot_len 20 < ihl*4 24", mk_v4_udp, PKT_OV_TOTLEN, .tot_len = 20, .optlen = 4,
	     .reason = FG_R_BAD_TOTLEN},
	    {"tot_len = ihl, tcp needs 20 more", mk_v4_tcp, PKT_OV_TOTLEN, .tot_len = 20,
	     .reason = FG_R_TRUNCATED},
	    {"tot_len = ihl + 19, tcp", mk_v4_tcp, PKT_OV_TOTLEN, .tot_len = 39,
	     .reason = FG_R_TRUNCATED},
	    {"tot_len = ihl + 7, udp", mk_v4_udp, PKT_OV_TOTLEN, .tot_len = 27,
	     .reason = FG_R_TRUNCATED},
	    {"tot_len = ihl + 8, udp (rest is padding)", mk_v4_udp, PKT_OV_TOTLEN, .tot_len = 28,
	     .reason = FG_R_NONE},
	    {"tot_len = ihl, gre (no L4 header read)", mk_v4_udp, PKT_OV_TOTLEN, .tot_len = 20,
	     .proto = 47, .reason = FG_R_NONE},
	    {"tot_len one past the frame", mk_v4_tcp, PKT_OV_TOTLEN, .tot_len = 20 + 20 + 10 + 1,
	     .reason = FG_R_BAD_TOTLEN},
	    {"tot_len 65535", mk_v4_udp, PKT_OV_TOTLEN, .tot_len = 65535,
	     .reason = FG_R_BAD_TOTLEN},
	    {"version 6 in an ipv4 frame", mk_v4_tcp, PKT_OV_VERSION, .version = 6,
	     .reason = FG_R_BAD_VERSION},
	    {"version 0", mk_v4_udp, PKT_OV_VERSION, .version = 0, .reason = FG_R_BAD_VERSION},
	    {"version 5", mk_v4_udp, PKT_OV_VERSION, .version = 5, .reason = FG_R_BAD_VERSION},
	    {"version 15", mk_v4_icmp, PKT_OV_VERSION, .version = 15, .reason = FG_R_BAD_VERSION},
	};

	if (install(NULL, 0, FG_ACT_ALLOW))
		check_hdr_rows(rows, N(rows));
}

static void test_ipv6_header_fields(void)
{
	static const struct hdr_row rows[] = {
	    {"version 4 in an ipv6 frame", mk_v6_tcp, PKT_OV_VERSION, .version = 4,
	     .reason = FG_R_BAD_VERSION},
	    {"version 7", mk_v6_udp, PKT_OV_VERSION, .version = 7, .reason = FG_R_BAD_VERSION},
	    {"payload_len 0 (jumbogram)", mk_v6_udp, PKT_OV_TOTLEN, .tot_len = 0,
	     .reason = FG_R_BAD_TOTLEN},
	    {"payload_len 0, no next header", mk_v6_udp, 0, .proto = IPPROTO_NONE, .payload = 0,
	     .reason = FG_R_NONE},
	    {"payload_len one past the frame", mk_v6_udp, PKT_OV_TOTLEN, .tot_len = 19,
	     .reason = FG_R_BAD_TOTLEN},
	    {"payload_len 65535", mk_v6_tcp, PKT_OV_TOTLEN, .tot_len = 65535,
	     .reason = FG_R_BAD_TOTLEN},
	    {"payload_len 7, udp", mk_v6_udp, PKT_OV_TOTLEN, .tot_len = 7,
	     .reason = FG_R_TRUNCATED},
	    {"payload_len 8, udp (rest is padding)", mk_v6_udp, PKT_OV_TOTLEN, .tot_len = 8,
	     .reason = FG_R_NONE},
	    {"payload_len 19, tcp", mk_v6_tcp, PKT_OV_TOTLEN, .tot_len = 19,
	     .reason = FG_R_TRUNCATED},
	    {"payload_len 7, icmpv6", mk_v6_icmp6, PKT_OV_TOTLEN, .tot_len = 7,
	     .reason = FG_R_TRUNCATED},
	    {"payload_len 4 cuts the first extension header", mk_v6_ext_udp, PKT_OV_TOTLEN,
	     .tot_len = 4, .reason = FG_R_TRUNCATED},
	    {"payload_len ends inside the 3rd extension header", mk_v6_ext_udp, PKT_OV_TOTLEN,
	     .tot_len = 8 + 16 + 4, .reason = FG_R_TRUNCATED},
	    {"payload_len ends before udp", mk_v6_ext_udp, PKT_OV_TOTLEN,
	     .tot_len = 8 + 16 + 8 + 24 + 4, .reason = FG_R_TRUNCATED},
	};

	if (install(NULL, 0, FG_ACT_ALLOW))
		check_hdr_rows(rows, N(rows));
}

static void test_tcp_data_offset(void)
{
	static const struct hdr_row rows[] = {
	    {"v4 doff 0", mk_v4_tcp, PKT_OV_DOFF, .doff = 0, .reason = FG_R_BAD_DOFF},
	    {"v4 doff 1", mk_v4_tcp, PKT_OV_DOFF, .doff = 1, .reason = FG_R_BAD_DOFF},
	    {"v4 doff 2", mk_v4_tcp, PKT_OV_DOFF, .doff = 2, .reason = FG_R_BAD_DOFF},
	    {"v4 doff 3", mk_v4_tcp, PKT_OV_DOFF, .doff = 3, .reason = FG_R_BAD_DOFF},
	    {"v4 doff 4", mk_v4_tcp, PKT_OV_DOFF, .doff = 4, .reason = FG_R_BAD_DOFF},
	    {"v4 doff 5", mk_v4_tcp, PKT_OV_DOFF, .doff = 5, .reason = FG_R_NONE},
	    {"v4 doff 7 inside the datagram", mk_v4_tcp, PKT_OV_DOFF, .doff = 7,
	     .reason = FG_R_NONE},
	    {"v4 doff 8 one word past the datagram", mk_v4_tcp, PKT_OV_DOFF, .doff = 8,
	     .reason = FG_R_BAD_DOFF},
	    {"v4 doff 15 past the datagram", mk_v4_tcp, PKT_OV_DOFF, .doff = 15,
	     .reason = FG_R_BAD_DOFF},
	    {"v4 doff 15, 40 payload bytes", mk_v4_tcp, PKT_OV_DOFF, .doff = 15, .payload = 40,
	     .reason = FG_R_NONE},
	    {"v4 doff 6 past tot_len, inside padding", mk_v4_tcp, PKT_OV_DOFF | PKT_OV_TOTLEN,
	     .doff = 6, .tot_len = 40, .reason = FG_R_BAD_DOFF},
	    {"v6 doff 0", mk_v6_tcp, PKT_OV_DOFF, .doff = 0, .reason = FG_R_BAD_DOFF},
	    {"v6 doff 4", mk_v6_tcp, PKT_OV_DOFF, .doff = 4, .reason = FG_R_BAD_DOFF},
	    {"v6 doff 8 past the datagram", mk_v6_tcp, PKT_OV_DOFF, .doff = 8,
	     .reason = FG_R_BAD_DOFF},
	    {"v6 doff 15 past the datagram", mk_v6_tcp, PKT_OV_DOFF, .doff = 15,
	     .reason = FG_R_BAD_DOFF},
	    {"v6 doff 7", mk_v6_tcp, PKT_OV_DOFF, .doff = 7, .reason = FG_R_NONE},
	};

	if (install(NULL, 0, FG_ACT_ALLOW))
		check_hdr_rows(rows, N(rows));
}

/* Rule 0 of the classification tests: drop udp dport 53. */
static struct fg_port_range p53 = {53, 53};

static bool install_drop_dns(int deflt)
{
	static struct fg_rule_spec r[1];

	r[0] = dpt_rule_dport("drop-dns", FG_ACT_DROP, IPPROTO_UDP, &p53);
	return install(r, 1, deflt);
}

/* Classified behind the headers: dport 53 hits rule 0 (slot 1), dport 54
 * gets the default (slot 0). `reason` != NONE: malformed, both dropped. */
static void check_classified(const char *desc, struct pkt_spec *s, uint32_t ifindex, int reason)
{
	char d[160];
	size_t len;
	int port;

	for (port = 53; port <= 54; port++) {
		s->dport = port;
		len = pkt_build(s, buf, sizeof(buf));
		snprintf(d, sizeof(d), "%s, udp dport %d", desc, port);
		if (!ASSERT_TRUE(len > 0, d))
			continue;
		ASSERT_EQ(pkt_expect(s, &(struct fg_pkt){0}), reason, d);
		if (reason != FG_R_NONE)
			dpt_check(dp, d, buf, len, ifindex, 2, XDP_DROP_, -1, reason);
		else if (port == 53)
			dpt_check(dp, d, buf, len, ifindex, 2, XDP_DROP_, 1, FG_R_RULE);
		else
			dpt_check(dp, d, buf, len, ifindex, 2, XDP_PASS_, 0, FG_R_NONE);
	}
}

/* 0, 1 and 2 tags of either TPID, in every order, are parsed through and
 * the packet classified by its ports; a third tag is too_many_vlans. */
static void test_vlan_depth(void)
{
	static const uint16_t tpids[] = {PKT_ETH_P_8021Q, PKT_ETH_P_8021AD};
	int depth, combo, fam, i;
	struct pkt_spec s;
	char desc[128];

	if (!install_drop_dns(FG_ACT_ALLOW))
		return;
	for (fam = 4; fam <= 6; fam += 2) {
		for (depth = 0; depth <= 3; depth++) {
			for (combo = 0; combo < (1 << depth); combo++) {
				int n = snprintf(desc, sizeof(desc), "ipv%d, %d tags", fam, depth);

				if (fam == 4)
					mk_v4_udp(&s);
				else
					mk_v6_udp(&s);
				for (i = 0; i < depth; i++) {
					uint16_t t = tpids[(combo >> i) & 1];

					pkt_add_vlan(&s, t, 100 + i);
					n += snprintf(desc + n, sizeof(desc) - n, " %s",
						      t == PKT_ETH_P_8021Q ? "802.1q" : "802.1ad");
				}
				check_classified(desc, &s, 0,
						 depth > FG_MAX_VLANS ? FG_R_TOO_MANY_VLANS
								      : FG_R_NONE);
			}
		}
	}
}

/*
 * IPv6 extension chains of 0..FG_MAX_EXT_HDRS headers of every kind
 * (hop-by-hop, routing, destination options, AH, fragment header of an
 * atomic and of a first fragment) in rotating order and sizes, classified
 * by the ports behind them; one more header is too_many_ext_headers.
 */
static void test_ipv6_extension_chains(void)
{
	static const struct {
		uint8_t type, hlen;
		const char *name;
	} kinds[] = {
	    {IPPROTO_HOPOPTS, 0, "hbh"},	  {IPPROTO_ROUTING, 2, "rt"},
	    {IPPROTO_DSTOPTS, 1, "dst"},	  {IPPROTO_AH, 4, "ah"},
	    {IPPROTO_FRAGMENT, 0, "frag-atomic"}, {IPPROTO_DSTOPTS, 0, "dst"},
	    {IPPROTO_AH, 1, "ah-short"},	  {IPPROTO_FRAGMENT, 1, "frag-first"},
	};
	int n, rot, i;
	struct pkt_spec s;
	char desc[256];

	if (!install_drop_dns(FG_ACT_ALLOW))
		return;
	for (n = 0; n <= FG_MAX_EXT_HDRS + 1; n++) {
		for (rot = 0; rot < (int)N(kinds); rot++) {
			int len = snprintf(desc, sizeof(desc), "%d ext headers:", n);

			mk_v6_udp(&s);
			for (i = 0; i < n; i++) {
				int k = (rot + i) % N(kinds);

				if (kinds[k].type == IPPROTO_FRAGMENT)
					/* hlen 1 marks the first fragment of a datagram */
					pkt_add_frag6(&s, 0, kinds[k].hlen, 0x5000 + n * 16 + rot);
				else
					pkt_add_ext(&s, kinds[k].type, kinds[k].hlen);
				len +=
				    snprintf(desc + len, sizeof(desc) - len, " %s", kinds[k].name);
			}
			check_classified(desc, &s, 0,
					 n > FG_MAX_EXT_HDRS ? FG_R_TOO_MANY_EXT_HEADERS
							     : FG_R_NONE);
			if (n == 0)
				break; /* one chain of length 0 */
		}
	}
}

/* IPv4 options of every length are skipped: ports classified after them. */
static void test_ipv4_options_classified(void)
{
	struct pkt_spec s;
	char desc[64];
	int optlen;

	if (!install_drop_dns(FG_ACT_ALLOW))
		return;
	for (optlen = 0; optlen <= 40; optlen += 4) {
		mk_v4_udp(&s);
		memset(s.ip_opts, 1, optlen);
		s.ip_optlen = optlen;
		snprintf(desc, sizeof(desc), "ipv4 ihl %d", 5 + optlen / 4);
		check_classified(desc, &s, 0, FG_R_NONE);
	}
}

/* Non-IP frames pass even under default drop with a drop-everything rule,
 * and are counted nowhere. */
static void test_non_ip_passes_default_drop(void)
{
	static const uint16_t types[] = {PKT_ETH_P_LLDP, 0x88b5, 0x8137, 0x88cc, 0x0805};
	struct fg_rule_spec r[1];
	struct pkt_spec s;
	char desc[64];
	size_t i, len;

	r[0] = dpt_rule("drop-everything", FG_ACT_DROP);
	if (!install(r, 1, FG_ACT_DROP))
		return;
	mk_arp(&s);
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "arp request", buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
	s.arp_op = 2;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "arp reply", buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
	pkt_add_vlan(&s, PKT_ETH_P_8021Q, 7);
	s.pad_to = 64;
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "802.1q arp, padded", buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
	for (i = 0; i < N(types); i++) {
		pkt_spec_init(&s, PKT_L3_RAW, 0);
		s.ethertype = types[i];
		s.payload_len = 46;
		len = pkt_build(&s, buf, sizeof(buf));
		snprintf(desc, sizeof(desc), "ethertype 0x%04x", types[i]);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
	}
	/* Sanity: the same policy does drop IP. */
	mk_v4_udp(&s);
	len = pkt_build(&s, buf, sizeof(buf));
	dpt_check(dp, "ipv4 udp (dropped by rule)", buf, len, 0, 2, XDP_DROP_, 1, FG_R_RULE);
}

static size_t icmp_frame(int fam, uint8_t type, uint8_t code)
{
	struct pkt_spec s;

	if (fam == 6)
		mk_v6_icmp6(&s);
	else
		mk_v4_icmp(&s);
	s.icmp_type = type;
	s.icmp_code = code;
	s.ttl = 255;
	return pkt_build(&s, buf, sizeof(buf));
}

/* Under default drop, with an unrelated rule: ICMPv6 133..137 pass
 * uncounted; every other ICMPv6 type, and ICMPv4 with the same type
 * numbers, get the default. */
static void test_nd_passes_default_drop(void)
{
	static const uint8_t others6[] = {1, 2, 3, 4, 128, 129, 130, 132, 138, 143, 255};
	struct fg_rule_spec r[1];
	struct fg_port_range p22 = {22, 22};
	char desc[64];
	size_t i, len;
	int t;

	r[0] = dpt_rule_dport("drop-ssh", FG_ACT_DROP, IPPROTO_TCP, &p22);
	if (!install(r, 1, FG_ACT_DROP))
		return;
	for (t = 133; t <= 137; t++) {
		len = icmp_frame(6, t, 0);
		snprintf(desc, sizeof(desc), "icmpv6 type %d (nd)", t);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
		len = icmp_frame(6, t, 1);
		snprintf(desc, sizeof(desc), "icmpv6 type %d code 1 (nd)", t);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
		len = icmp_frame(4, t, 0);
		snprintf(desc, sizeof(desc), "icmpv4 type %d (not nd)", t);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_DROP_, 0, FG_R_DEFAULT);
	}
	for (i = 0; i < N(others6); i++) {
		len = icmp_frame(6, others6[i], 0);
		snprintf(desc, sizeof(desc), "icmpv6 type %u (not nd)", others6[i]);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_DROP_, 0, FG_R_DEFAULT);
	}
	/* ND behind a hop-by-hop header is still ND. */
	{
		struct pkt_spec s;

		mk_v6_nd(&s);
		pkt_add_ext(&s, IPPROTO_HOPOPTS, 0);
		len = pkt_build(&s, buf, sizeof(buf));
		dpt_check(dp, "nd behind hop-by-hop", buf, len, 0, 2, XDP_PASS_, -1, FG_R_NONE);
	}
}

/* A rule that names ND wins over the exception: by protocol, by type-less
 * address match, and an allow rule counts it. */
static void test_rule_naming_icmpv6_drops_nd(void)
{
	struct fg_rule_spec r[2];
	struct fg_cidr net = dpt_cidr("2001:db8::/32");
	int t;
	size_t len;
	char desc[64];

	r[0] = dpt_rule("drop-icmpv6", FG_ACT_DROP);
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = IPPROTO_ICMPV6;
	if (!install(r, 1, FG_ACT_ALLOW))
		return;
	for (t = 133; t <= 137; t++) {
		len = icmp_frame(6, t, 0);
		snprintf(desc, sizeof(desc), "proto icmpv6 drop: nd type %d", t);
		dpt_check(dp, desc, buf, len, 0, 2, XDP_DROP_, 1, FG_R_RULE);
	}
	len = icmp_frame(4, 8, 0);
	dpt_check(dp, "proto icmpv6 drop: icmpv4 echo passes", buf, len, 0, 2, XDP_PASS_, 0,
		  FG_R_NONE);

	r[0] = dpt_rule("drop-from-net", FG_ACT_DROP);
	r[0].src.any = false;
	r[0].src.cidrs = &net;
	r[0].src.ncidrs = 1;
	if (!install(r, 1, FG_ACT_DROP))
		return;
	len = icmp_frame(6, 135, 0);
	dpt_check(dp, "src 2001:db8::/32 drop: nd dropped by the rule", buf, len, 0, 2, XDP_DROP_,
		  1, FG_R_RULE);

	r[0] = dpt_rule("allow-icmpv6", FG_ACT_ALLOW);
	r[0].proto_kind = FG_PROTO_NUM;
	r[0].proto = IPPROTO_ICMPV6;
	r[1] = dpt_rule("drop-rest", FG_ACT_DROP);
	if (!install(r, 2, FG_ACT_DROP))
		return;
	len = icmp_frame(6, 136, 0);
	dpt_check(dp, "allow icmpv6: nd counted on the rule", buf, len, 0, 3, XDP_PASS_, 1,
		  FG_R_NONE);
	len = icmp_frame(6, 128, 0);
	dpt_check(dp, "allow icmpv6: echo counted on the rule", buf, len, 0, 3, XDP_PASS_, 1,
		  FG_R_NONE);
}

/*
 * The parsed fields themselves. A single `log` rule matches every IP
 * packet, so each produces an event carrying the datapath's struct fg_pkt:
 * it must equal pkt_expect() (pkt_cmp: addresses, proto, flags, ports, TCP
 * flags, ICMP type/code, fragment id/offset, l3 offset), and the event must
 * carry the frame's length and first bytes. Base frames, then random valid
 * frames from randpol.
 */
static void check_log_event(const char *desc, struct dpt_events *ev, const struct pkt_spec *s)
{
	struct fg_pkt want;
	const struct fg_event *e;
	char why[256], what[256];
	size_t len = pkt_build(s, buf, sizeof(buf)), cap;
	int r, got;

	r = pkt_expect(s, &want);
	if (!ASSERT_EQ(r, FG_R_NONE, desc))
		return;
	dpt_event_budget_reset(dp);
	dpt_events_read(ev); /* drain */
	got = dpt_run(dp, buf, len, 0, 1);
	ASSERT_EQ(got, XDP_PASS_, desc);
	dpt_events_read(ev);
	if (want.family == FG_FAM_NONE || (want.flags & FG_PKT_FRAG_LATER)) {
		/* not classified: no rule, no event */
		ASSERT_EQ(ev->n, 0, desc);
		return;
	}
	snprintf(what, sizeof(what), "%s: one event", desc);
	if (!ASSERT_EQ(ev->n, 1, what))
		return;
	e = &ev->ev[0];
	ASSERT_EQ(e->type, FG_EV_LOG, desc);
	ASSERT_EQ(e->reason, FG_R_RULE, desc);
	ASSERT_EQ(e->stat_slot, 1, desc);
	ASSERT_EQ(e->pkt_len, len, desc);
	ASSERT_EQ(e->pkt.pkt_len, len, desc);
	cap = len < FG_EVENT_SNAP ? len : FG_EVENT_SNAP;
	ASSERT_EQ(e->cap_len, cap, desc);
	snprintf(what, sizeof(what), "%s: snapshot bytes", desc);
	ASSERT_TRUE(memcmp(e->data, buf, cap) == 0, what);
	if (!pkt_cmp(&want, &e->pkt, why, sizeof(why))) {
		char a[256], b[256];

		pkt_format(&want, a, sizeof(a));
		pkt_format(&e->pkt, b, sizeof(b));
		FG_TEST_FAILF("%s: parsed fields differ: %s\n    want %s\n    got  %s", desc, why,
			      a, b);
	}
}

static void test_parsed_fields_match_spec(void)
{
	struct fg_rule_spec r[1];
	struct dpt_events ev;
	struct randpol_rng rng;
	struct policy empty = {.version = 1};
	struct randpkt rp;
	struct pkt_spec s;
	char desc[96];
	size_t i;

	r[0] = dpt_rule("log-everything", FG_ACT_LOG);
	if (!install(r, 1, FG_ACT_ALLOW))
		return;
	if (!ASSERT_OK(dpt_events_open(dp, &ev), "ring buffer"))
		return;
	for (i = 0; i < N(bases); i++) {
		bases[i].mk(&s);
		check_log_event(bases[i].desc, &ev, &s);
	}
	randpol_seed(&rng, 0x9a75e);
	for (i = 0; i < 400 && !fg_test_failed; i++) {
		randpol_packet(&rng, &empty, &rp);
		snprintf(desc, sizeof(desc), "random frame %zu (seed 0x9a75e)", i);
		check_log_event(desc, &ev, &rp.spec);
	}
	dpt_events_close(&ev);
}

int main(void)
{
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	RUN_TEST(test_every_truncation);
	RUN_TEST(test_full_frames_default_drop);
	RUN_TEST(test_ethernet_padding_is_not_malformed);
	RUN_TEST(test_ipv4_header_fields);
	RUN_TEST(test_ipv6_header_fields);
	RUN_TEST(test_tcp_data_offset);
	RUN_TEST(test_vlan_depth);
	RUN_TEST(test_ipv6_extension_chains);
	RUN_TEST(test_ipv4_options_classified);
	RUN_TEST(test_non_ip_passes_default_drop);
	RUN_TEST(test_nd_passes_default_drop);
	RUN_TEST(test_rule_naming_icmpv6_drops_nd);
	RUN_TEST(test_parsed_fields_match_spec);
	dp_close(dp);
	return FG_TEST_EXIT();
}
