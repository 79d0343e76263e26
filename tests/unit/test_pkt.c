// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The packet builder (tests/lib/pkt.c): every header field where the wire
 * formats put it, checksums verified by recomputation, lengths, and the
 * expectation pkt_expect() gives, cross-checked against a small byte-level
 * parser written here from the RFCs (not from pkt.c) over random frames and
 * every truncation of them.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "test.h"
#include "pkt.h"
#include "randpol.h"

FG_TEST_GLOBALS;

static uint8_t buf[PKT_MAX_FRAME];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

/* Sum of a correct header/segment including its checksum folds to 0. */
static uint16_t verify_ip4_csum(const uint8_t *ip, size_t hlen)
{
	return pkt_csum_fold(pkt_csum_add(0, ip, hlen));
}

/* L4 checksum over pseudo-header + segment: 0 when correct. */
static uint16_t verify_l4_csum(int family, const uint8_t *ip, uint8_t proto, const uint8_t *l4,
			       size_t l4len)
{
	uint8_t ph[40] = {0};
	uint32_t sum;

	if (family == 4) {
		memcpy(ph, ip + 12, 8);
		ph[9] = proto;
		ph[10] = l4len >> 8;
		ph[11] = l4len & 0xff;
		sum = pkt_csum_add(0, ph, 12);
	} else {
		memcpy(ph, ip + 8, 32);
		ph[34] = l4len >> 8;
		ph[35] = l4len & 0xff;
		ph[39] = proto;
		sum = pkt_csum_add(0, ph, 40);
	}
	return pkt_csum_fold(pkt_csum_add(sum, l4, l4len));
}

/* ---- an independent parser over bytes ----------------------------------- */

struct rp {
	const uint8_t *b;
	size_t len, l3_end;
	struct fg_pkt *o;
};

static size_t min_l4(uint8_t proto)
{
	if (proto == 6)
		return 20;
	return (proto == 17 || proto == 1 || proto == 58) ? 8 : 0;
}

static int ref_l4(struct rp *p, size_t l4)
{
	const uint8_t *h = p->b + l4;
	bool frag = p->o->flags & FG_PKT_FRAG;
	size_t doff;

	if (!min_l4(p->o->proto))
		return FG_R_NONE;
	if (l4 + min_l4(p->o->proto) > p->l3_end)
		return frag ? FG_R_TINY_FRAGMENT : FG_R_TRUNCATED;
	if (p->o->proto == 6) {
		doff = (h[12] >> 4) * 4;
		if (doff < 20)
			return FG_R_BAD_DOFF;
		if (l4 + doff > p->l3_end)
			return frag ? FG_R_TINY_FRAGMENT : FG_R_BAD_DOFF;
		p->o->tcp_flags = h[13];
	}
	if (p->o->proto == 6 || p->o->proto == 17) {
		p->o->sport = rd16(h);
		p->o->dport = rd16(h + 2);
	} else {
		p->o->icmp_type = h[0];
		p->o->icmp_code = h[1];
		if (p->o->family == 6 && p->o->proto == 58 && h[0] >= 133 && h[0] <= 137 &&
		    !(p->o->flags & FG_PKT_FRAG))
			p->o->flags |= FG_PKT_ND; /* RFC 6980: not when fragmented */
	}
	p->o->flags |= FG_PKT_L4;
	return FG_R_NONE;
}

static int ref_ip4(struct rp *p, size_t ip)
{
	const uint8_t *h = p->b + ip;
	size_t ihl, tot;
	uint16_t frag;

	if (ip + 20 > p->len)
		return FG_R_TRUNCATED;
	if (h[0] >> 4 != 4)
		return FG_R_BAD_VERSION;
	ihl = (h[0] & 0xf) * 4;
	if (ihl < 20 || ip + ihl > p->len)
		return FG_R_BAD_IHL;
	tot = rd16(h + 2);
	if (tot < ihl || ip + tot > p->len)
		return FG_R_BAD_TOTLEN;
	p->l3_end = ip + tot;
	p->o->family = 4;
	p->o->proto = h[9];
	memcpy(p->o->src, h + 12, 4);
	memcpy(p->o->dst, h + 16, 4);
	frag = rd16(h + 6);
	if (frag & 0x3fff) {
		p->o->flags |= FG_PKT_FRAG;
		p->o->frag_id = rd16(h + 4);
		p->o->frag_next = h[9];
		if (frag & 0x1fff) {
			p->o->flags |= FG_PKT_FRAG_LATER;
			p->o->frag_off = frag & 0x1fff;
			return FG_R_NONE;
		}
	}
	return ref_l4(p, ip + ihl);
}

static int ref_ip6(struct rp *p, size_t ip)
{
	const uint8_t *h = p->b + ip;
	size_t cur = ip + 40, plen;
	uint8_t nh = h[6];
	int i;

	if (ip + 40 > p->len)
		return FG_R_TRUNCATED;
	if (h[0] >> 4 != 6)
		return FG_R_BAD_VERSION;
	plen = rd16(h + 4);
	if ((plen == 0 && nh != 59) || cur + plen > p->len)
		return FG_R_BAD_TOTLEN;
	p->l3_end = cur + plen;
	p->o->family = 6;
	memcpy(p->o->src, h + 8, 16);
	memcpy(p->o->dst, h + 24, 16);
	for (i = 0; nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60; i++) {
		const uint8_t *e = p->b + cur;

		if (i == FG_MAX_EXT_HDRS)
			return FG_R_TOO_MANY_EXT_HEADERS;
		if (cur + 8 > p->l3_end)
			return FG_R_TRUNCATED;
		if (nh == 44 && (rd16(e + 2) & 0xfff9)) {
			p->o->flags |= FG_PKT_FRAG;
			p->o->frag_id = rd32(e + 4);
			p->o->frag_next = e[0];
			if (rd16(e + 2) >> 3) {
				p->o->flags |= FG_PKT_FRAG_LATER;
				p->o->frag_off = rd16(e + 2) >> 3;
				p->o->proto = e[0];
				return FG_R_NONE;
			}
		}
		cur += nh == 44 ? 8 : nh == 51 ? (e[1] + 2u) * 4 : (e[1] + 1u) * 8;
		nh = e[0];
	}
	p->o->proto = nh;
	return ref_l4(p, cur);
}

static int ref_parse(const uint8_t *b, size_t len, struct fg_pkt *o)
{
	struct rp p = {.b = b, .len = len, .o = o};
	size_t off = 14;
	uint16_t type;
	int i;

	memset(o, 0, sizeof(*o));
	o->pkt_len = len;
	if (len < 14)
		return FG_R_TRUNCATED;
	type = rd16(b + 12);
	for (i = 0; type == 0x8100 || type == 0x88a8; i++) {
		if (i == FG_MAX_VLANS)
			return FG_R_TOO_MANY_VLANS;
		if (off + 4 > len)
			return FG_R_TRUNCATED;
		type = rd16(b + off + 2);
		off += 4;
	}
	o->l3_off = off;
	if (type == 0x0800)
		return ref_ip4(&p, off);
	if (type == 0x86dd)
		return ref_ip6(&p, off);
	return FG_R_NONE;
}

/* ---- helpers ------------------------------------------------------------ */

static size_t build(const struct pkt_spec *s, struct pkt_layout *lay)
{
	return pkt_build_layout(s, buf, sizeof(buf), lay);
}

static bool expect_ok(const struct pkt_spec *s, struct fg_pkt *want, const char *name)
{
	return ASSERT_EQ(pkt_expect(s, want), FG_R_NONE, name);
}

/* The reference parser agrees with pkt_expect() on the whole frame and on
 * every truncation; fields compared with pkt_cmp() when it parses. */
static bool agrees(const struct pkt_spec *s, const char *name)
{
	struct fg_pkt want, got;
	char why[128], desc[256];
	size_t full, len;
	int rw, rg;

	full = pkt_build(s, buf, sizeof(buf));
	if (!ASSERT_NEQ(full, 0, name))
		return false;
	for (len = 0; len <= full; len++) {
		rw = pkt_expect_len(s, len, &want);
		rg = ref_parse(buf, len, &got);
		if (rw != rg) {
			pkt_format(&want, desc, sizeof(desc));
			FG_TEST_FAILF("%s: len %zu/%zu: expect %d, parse %d (%s)", name, len, full,
				      rw, rg, desc);
			return false;
		}
		if (rw == FG_R_NONE && !pkt_cmp(&want, &got, why, sizeof(why))) {
			FG_TEST_FAILF("%s: len %zu: %s", name, len, why);
			return false;
		}
	}
	return true;
}

/* ---- field-by-field tests ---------------------------------------------- */

static void test_ipv4_tcp_headers_and_checksums(void)
{
	static const uint8_t mss[] = {2, 4, 0x05, 0xb4, 1};
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;
	const uint8_t *ip, *t;
	size_t len;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	pkt_addr(s.src, "10.0.0.1");
	pkt_addr(s.dst, "10.1.2.3");
	s.sport = 1234;
	s.dport = 443;
	s.tcp_flags = FG_TCP_SYN | FG_TCP_ECE | FG_TCP_CWR;
	s.seq = 0xdeadbeef;
	s.ack = 0x01020304;
	s.window = 29200;
	s.ip_id = 0xabcd;
	s.ttl = 17;
	s.tos = 0x10;
	s.frag_df = true;
	memcpy(s.tcp_opts, mss, sizeof(mss));
	s.tcp_optlen = sizeof(mss);
	s.payload_len = 33;
	len = build(&s, &lay);
	ip = buf + 14;
	t = ip + 20;
	ASSERT_EQ(len, 14 + 20 + 28 + 33, "frame length");
	ASSERT_EQ(rd16(buf + 12), 0x0800, "ethertype");
	ASSERT_EQ(buf[5], 0x02, "dst mac");
	ASSERT_EQ(buf[11], 0x01, "src mac");
	ASSERT_EQ(ip[0], 0x45, "version/ihl");
	ASSERT_EQ(ip[1], 0x10, "tos");
	ASSERT_EQ(rd16(ip + 2), 20 + 28 + 33, "tot_len");
	ASSERT_EQ(rd16(ip + 4), 0xabcd, "id");
	ASSERT_EQ(rd16(ip + 6), 0x4000, "DF, no fragment");
	ASSERT_EQ(ip[8], 17, "ttl");
	ASSERT_EQ(ip[9], 6, "protocol");
	ASSERT_EQ(rd32(ip + 12), 0x0a000001, "saddr");
	ASSERT_EQ(rd32(ip + 16), 0x0a010203, "daddr");
	ASSERT_EQ(verify_ip4_csum(ip, 20), 0, "ip checksum");
	ASSERT_EQ(rd16(t), 1234, "sport");
	ASSERT_EQ(rd16(t + 2), 443, "dport");
	ASSERT_EQ(rd32(t + 4), 0xdeadbeef, "seq");
	ASSERT_EQ(rd32(t + 8), 0x01020304, "ack");
	ASSERT_EQ(t[12] >> 4, 7, "doff (20 + 5 option bytes padded to 8)");
	ASSERT_EQ(t[13], 0xc2, "flags");
	ASSERT_EQ(rd16(t + 14), 29200, "window");
	ASSERT_EQ(t[20], 2, "MSS option kind");
	ASSERT_EQ(t[24], 1, "NOP option");
	ASSERT_EQ(t[25], 0, "EOL padding");
	ASSERT_EQ(t[28 + 32], 32, "payload pattern");
	ASSERT_EQ(verify_l4_csum(4, ip, 6, t, 28 + 33), 0, "tcp checksum");
	ASSERT_EQ(lay.l4_off, 34, "layout l4");
	ASSERT_EQ(lay.payload_off, 62, "layout payload");
	if (!expect_ok(&s, &want, "expect"))
		return;
	ASSERT_EQ(want.family, FG_FAM_V4, "family");
	ASSERT_EQ(want.proto, 6, "proto");
	ASSERT_EQ(want.sport, 1234, "want sport");
	ASSERT_EQ(want.dport, 443, "want dport");
	ASSERT_EQ(want.tcp_flags, 0xc2, "want flags");
	ASSERT_EQ(want.flags, FG_PKT_L4, "want pkt flags");
	ASSERT_EQ(want.l3_off, 14, "want l3_off");
	ASSERT_EQ(want.pkt_len, len, "want pkt_len");
	ASSERT_TRUE(memcmp(want.src, ip + 12, 4) == 0, "want src");
	agrees(&s, "agrees");
}

static void test_ipv4_options_set_ihl(void)
{
	struct pkt_spec s;
	const uint8_t *ip = buf + 14;
	size_t len;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_UDP);
	s.ip_optlen = 5;
	memset(s.ip_opts, 1, 5); /* NOPs */
	len = build(&s, NULL);
	ASSERT_EQ(ip[0], 0x47, "ihl 7 for 5 option bytes");
	ASSERT_EQ(ip[24], 1, "last option byte");
	ASSERT_EQ(ip[25], 0, "EOL padding");
	ASSERT_EQ(verify_ip4_csum(ip, 28), 0, "checksum covers options");
	ASSERT_EQ(rd16(ip + 28 + 4), 8, "udp length");
	ASSERT_EQ(len, 14 + 28 + 8, "length");
	ASSERT_EQ(verify_l4_csum(4, ip, 17, ip + 28, 8), 0, "udp checksum");
	agrees(&s, "agrees");
}

static void test_ipv4_fragments(void)
{
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;
	const uint8_t *ip = buf + 14;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	s.ip_id = 777;
	s.frag_mf = true;
	s.payload_len = 16;
	build(&s, &lay);
	ASSERT_EQ(rd16(ip + 6), 0x2000, "first fragment: MF");
	ASSERT_EQ(lay.l4_off, 34, "first fragment has TCP");
	if (expect_ok(&s, &want, "first")) {
		ASSERT_EQ(want.flags, FG_PKT_L4 | FG_PKT_FRAG, "first flags");
		ASSERT_EQ(want.frag_id, 777, "first id");
	}
	agrees(&s, "first agrees");

	s.frag_off = 185;
	s.frag_mf = false;
	build(&s, &lay);
	ASSERT_EQ(rd16(ip + 6), 185, "later fragment offset");
	ASSERT_EQ(lay.l4_off, 0, "later fragment: no L4 header");
	ASSERT_EQ(lay.len, 14 + 20 + 16, "later fragment length");
	ASSERT_EQ(ip[20], 0, "payload right after IP");
	if (expect_ok(&s, &want, "later")) {
		ASSERT_EQ(want.flags, FG_PKT_FRAG | FG_PKT_FRAG_LATER, "flags");
		ASSERT_EQ(want.frag_off, 185, "frag_off");
		ASSERT_EQ(want.proto, 6, "proto kept");
		ASSERT_EQ(want.sport, 0, "no ports");
	}
	agrees(&s, "later agrees");
}

static void test_udp_checksums_both_families(void)
{
	struct pkt_spec s;
	const uint8_t *ip = buf + 14;
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		size_t hl = fam == 4 ? 20 : 40;

		pkt_spec_init(&s, fam == 4 ? PKT_L3_V4 : PKT_L3_V6, IPPROTO_UDP);
		s.sport = 53;
		s.dport = 65535;
		s.payload_len = 101; /* odd: checksum pads with a zero byte */
		build(&s, NULL);
		ASSERT_EQ(rd16(ip + hl), 53, "sport");
		ASSERT_EQ(rd16(ip + hl + 2), 65535, "dport");
		ASSERT_EQ(rd16(ip + hl + 4), 109, "udp length");
		ASSERT_NEQ(rd16(ip + hl + 6), 0, "checksum present");
		ASSERT_EQ(verify_l4_csum(fam, ip, 17, ip + hl, 109), 0, "csum");
		agrees(&s, "agrees");
	}
	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_UDP);
	s.ov = PKT_OV_UDP_NOCSUM;
	build(&s, NULL);
	ASSERT_EQ(rd16(ip + 26), 0, "no checksum");
}

static void test_icmp_and_icmpv6(void)
{
	struct pkt_spec s;
	struct fg_pkt want;
	const uint8_t *ip = buf + 14;
	uint32_t sum;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_ICMP);
	s.payload_len = 56;
	build(&s, NULL);
	ASSERT_EQ(ip[20], 8, "echo request");
	ASSERT_EQ(rd32(ip + 24), 0x12340001, "id/seq");
	/* ICMPv4: no pseudo-header */
	sum = pkt_csum_add(0, ip + 20, 64);
	ASSERT_EQ(pkt_csum_fold(sum), 0, "icmp checksum");
	if (expect_ok(&s, &want, "icmp")) {
		ASSERT_EQ(want.icmp_type, 8, "type");
		ASSERT_EQ(want.flags, FG_PKT_L4, "no ND");
	}

	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_ICMPV6);
	s.icmp_type = 135;
	s.ttl = 255;
	s.payload_len = 16; /* target address */
	build(&s, NULL);
	ASSERT_EQ(ip[6], 58, "next header");
	ASSERT_EQ(ip[7], 255, "hop limit");
	ASSERT_EQ(ip[40], 135, "neighbour solicitation");
	ASSERT_EQ(verify_l4_csum(6, ip, 58, ip + 40, 24), 0, "icmpv6 csum");
	if (expect_ok(&s, &want, "nd"))
		ASSERT_EQ(want.flags, FG_PKT_L4 | FG_PKT_ND, "ND flagged");
	agrees(&s, "agrees");

	s.icmp_type = 138; /* router renumbering: not ND */
	if (expect_ok(&s, &want, "not nd"))
		ASSERT_EQ(want.flags, FG_PKT_L4, "138 is not ND");
	s.icmp_type = 133;
	if (expect_ok(&s, &want, "rs"))
		ASSERT_EQ(want.flags, FG_PKT_L4 | FG_PKT_ND, "133 is ND");
}

static void test_vlan_tags(void)
{
	static const struct {
		int n;
		uint16_t tpid0;
		int reason;
	} t[] = {
	    {0, 0, FG_R_NONE},
	    {1, PKT_ETH_P_8021Q, FG_R_NONE},
	    {2, PKT_ETH_P_8021AD, FG_R_NONE},
	    {3, PKT_ETH_P_8021AD, FG_R_TOO_MANY_VLANS},
	};
	struct pkt_spec s;
	struct fg_pkt want;
	size_t i, len;
	int j;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
		for (j = 0; j < t[i].n; j++)
			pkt_add_vlan(&s, j ? PKT_ETH_P_8021Q : t[i].tpid0, 100 + j);
		len = build(&s, NULL);
		ASSERT_EQ(len, 14 + 4 * t[i].n + 40, "length");
		for (j = 0; j < t[i].n; j++) {
			ASSERT_EQ(rd16(buf + 12 + 4 * j), j ? PKT_ETH_P_8021Q : t[i].tpid0, "tpid");
			ASSERT_EQ(rd16(buf + 14 + 4 * j), 100 + j, "tci");
		}
		ASSERT_EQ(rd16(buf + 12 + 4 * t[i].n), 0x0800, "inner type");
		ASSERT_EQ(pkt_expect(&s, &want), t[i].reason, "reason");
		if (t[i].reason == FG_R_NONE)
			ASSERT_EQ(want.l3_off, 14 + 4 * t[i].n, "l3_off");
		agrees(&s, "agrees");
	}
	/* A TPID that is no VLAN TPID is just an ethertype: non-IP. */
	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	pkt_add_vlan(&s, 0x9100, 5);
	ASSERT_EQ(pkt_expect(&s, &want), FG_R_NONE, "foreign tpid");
	ASSERT_EQ(want.family, FG_FAM_NONE, "non-IP");
}

static void test_ipv6_extension_chain(void)
{
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;
	const uint8_t *ip = buf + 14;
	size_t len;

	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_TCP);
	s.flow_label = 0xabcde;
	s.tos = 0xb8;
	pkt_add_ext(&s, IPPROTO_HOPOPTS, 0);
	pkt_add_ext(&s, IPPROTO_ROUTING, 1);
	pkt_add_ext(&s, IPPROTO_DSTOPTS, 2);
	pkt_add_ext(&s, IPPROTO_AH, 4);
	pkt_add_frag6(&s, 0, true, 0x11223344);
	len = build(&s, &lay);
	ASSERT_EQ(ip[0], 0x6b, "version + tc high");
	ASSERT_EQ(ip[1], 0x8a, "tc low + flow label high");
	ASSERT_EQ(rd16(ip + 2), 0xbcde, "flow label");
	ASSERT_EQ(ip[6], 0, "-> hop-by-hop");
	ASSERT_EQ(lay.ext_len[0], 8, "hop 8");
	ASSERT_EQ(lay.ext_len[1], 16, "routing 16");
	ASSERT_EQ(lay.ext_len[2], 24, "dstopts 24");
	ASSERT_EQ(lay.ext_len[3], 24, "AH (4+2)*4");
	ASSERT_EQ(lay.ext_len[4], 8, "frag 8");
	ASSERT_EQ(buf[lay.ext_off[0]], 43, "hop -> routing");
	ASSERT_EQ(buf[lay.ext_off[0] + 2], 1, "PadN");
	ASSERT_EQ(buf[lay.ext_off[1]], 60, "routing -> dstopts");
	ASSERT_EQ(buf[lay.ext_off[1] + 1], 1, "routing hlen");
	ASSERT_EQ(buf[lay.ext_off[2]], 51, "dstopts -> AH");
	ASSERT_EQ(buf[lay.ext_off[3]], 44, "AH -> frag");
	ASSERT_EQ(buf[lay.ext_off[3] + 1], 4, "AH payload len");
	ASSERT_EQ(buf[lay.ext_off[4]], 6, "frag -> tcp");
	ASSERT_EQ(rd16(buf + lay.ext_off[4] + 2), 1, "offset 0, M");
	ASSERT_EQ(rd32(buf + lay.ext_off[4] + 4), 0x11223344, "frag id");
	ASSERT_EQ(lay.l4_off, 14 + 40 + 80, "tcp after the chain");
	ASSERT_EQ(rd16(ip + 4), len - 14 - 40, "payload length");
	ASSERT_EQ(verify_l4_csum(6, ip, 6, buf + lay.l4_off, len - lay.l4_off), 0,
		  "tcp checksum (upper-layer length only)");
	if (expect_ok(&s, &want, "chain")) {
		ASSERT_EQ(want.proto, 6, "proto after chain");
		ASSERT_EQ(want.flags, FG_PKT_L4 | FG_PKT_FRAG, "first fragment");
		ASSERT_EQ(want.frag_id, 0x11223344, "id");
		ASSERT_EQ(want.dport, 80, "dport");
	}
	agrees(&s, "agrees");
}

static void test_ipv6_ext_header_limit(void)
{
	struct pkt_spec s;
	struct fg_pkt want;
	int n;

	for (n = 0; n <= FG_MAX_EXT_HDRS + 2; n++) {
		pkt_spec_init(&s, PKT_L3_V6, IPPROTO_UDP);
		while (s.next < n)
			pkt_add_ext(&s, IPPROTO_DSTOPTS, 0);
		ASSERT_EQ(pkt_expect(&s, &want),
			  n > FG_MAX_EXT_HDRS ? FG_R_TOO_MANY_EXT_HEADERS : FG_R_NONE,
			  "ext header count");
		agrees(&s, "agrees");
	}
}

static void test_ipv6_later_fragment(void)
{
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;

	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_UDP);
	pkt_add_ext(&s, IPPROTO_HOPOPTS, 0);
	pkt_add_frag6(&s, 100, true, 42);
	pkt_add_ext(&s, IPPROTO_DSTOPTS, 0); /* in the first fragment only */
	s.payload_len = 24;
	build(&s, &lay);
	ASSERT_EQ(lay.next, 2, "headers after the fragment not written");
	ASSERT_EQ(lay.l4_off, 0, "no L4");
	ASSERT_EQ(buf[lay.ext_off[1]], 60, "frag next header");
	ASSERT_EQ(rd16(buf + lay.ext_off[1] + 2), 100 << 3 | 1, "offset, M");
	ASSERT_EQ(lay.len, 14 + 40 + 16 + 24, "length");
	if (expect_ok(&s, &want, "later")) {
		ASSERT_EQ(want.flags, FG_PKT_FRAG | FG_PKT_FRAG_LATER, "flags");
		ASSERT_EQ(want.proto, 60, "proto = fragment's next header");
		ASSERT_EQ(want.frag_off, 100, "frag_off");
		ASSERT_EQ(want.frag_id, 42, "frag_id");
	}
	agrees(&s, "agrees");

	/* Atomic fragment: no fragment at all. */
	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_TCP);
	pkt_add_frag6(&s, 0, false, 9);
	if (expect_ok(&s, &want, "atomic"))
		ASSERT_EQ(want.flags, FG_PKT_L4, "atomic: L4, no FRAG");
	agrees(&s, "atomic agrees");
}

static void test_arp_and_raw_frames(void)
{
	struct pkt_spec s;
	struct fg_pkt want;
	size_t len;

	pkt_spec_init(&s, PKT_L3_ARP, 0);
	pkt_addr(s.src, "10.0.0.1");
	pkt_addr(s.dst, "10.0.0.2");
	len = build(&s, NULL);
	ASSERT_EQ(len, 42, "arp length");
	ASSERT_EQ(rd16(buf + 12), 0x0806, "ethertype");
	ASSERT_EQ(rd16(buf + 14), 1, "htype");
	ASSERT_EQ(rd16(buf + 16), 0x0800, "ptype");
	ASSERT_EQ(rd16(buf + 20), 1, "request");
	ASSERT_EQ(rd32(buf + 28), 0x0a000001, "spa");
	ASSERT_EQ(rd32(buf + 38), 0x0a000002, "tpa");
	if (expect_ok(&s, &want, "arp"))
		ASSERT_EQ(want.family, FG_FAM_NONE, "non-IP");
	agrees(&s, "arp agrees");

	pkt_spec_init(&s, PKT_L3_RAW, 0);
	s.payload_len = 46;
	pkt_add_vlan(&s, PKT_ETH_P_8021Q, 7);
	len = build(&s, NULL);
	ASSERT_EQ(len, 14 + 4 + 46, "lldp length");
	ASSERT_EQ(rd16(buf + 16), PKT_ETH_P_LLDP, "lldp ethertype");
	if (expect_ok(&s, &want, "lldp")) {
		ASSERT_EQ(want.family, FG_FAM_NONE, "non-IP");
		ASSERT_EQ(want.l3_off, 18, "l3_off after tag");
	}
	s.ethertype = PKT_ETH_P_IP;
	ASSERT_EQ(pkt_expect(&s, &want), -1, "raw IP ethertype: unknowable");
}

/* Malformed headers: the reason pkt_expect() gives, and agreement. */
static void test_overrides_give_reasons(void)
{
	static const struct {
		const char *name;
		int l3;
		uint8_t proto;
		uint32_t ov;
		uint8_t ihl, doff, ver;
		uint16_t tot;
		bool mf;
		int reason;
	} t[] = {
	    {"ihl 4", PKT_L3_V4, 6, PKT_OV_IHL, 4, 0, 0, 0, 0, FG_R_BAD_IHL},
	    {"ihl 0", PKT_L3_V4, 6, PKT_OV_IHL, 0, 0, 0, 0, 0, FG_R_BAD_IHL},
	    {"ihl 15 past frame", PKT_L3_V4, 17, PKT_OV_IHL, 15, 0, 0, 0, 0, FG_R_BAD_IHL},
	    {"version 6 in v4", PKT_L3_V4, 6, PKT_OV_VERSION, 0, 0, 6, 0, 0, FG_R_BAD_VERSION},
	    {"version 4 in v6", PKT_L3_V6, 6, PKT_OV_VERSION, 0, 0, 4, 0, 0, FG_R_BAD_VERSION},
	    {"tot_len 19", PKT_L3_V4, 6, PKT_OV_TOTLEN, 0, 0, 0, 19, 0, FG_R_BAD_TOTLEN},
	    {"tot_len past frame", PKT_L3_V4, 6, PKT_OV_TOTLEN, 0, 0, 0, 1500, 0, FG_R_BAD_TOTLEN},
	    {"tot_len cuts tcp", PKT_L3_V4, 6, PKT_OV_TOTLEN, 0, 0, 0, 30, 0, FG_R_TRUNCATED},
	    {"tot_len cuts first frag", PKT_L3_V4, 6, PKT_OV_TOTLEN, 0, 0, 0, 30, 1,
	     FG_R_TINY_FRAGMENT},
	    {"v6 payload_len 0", PKT_L3_V6, 17, PKT_OV_TOTLEN, 0, 0, 0, 0, 0, FG_R_BAD_TOTLEN},
	    {"v6 payload_len past", PKT_L3_V6, 17, PKT_OV_TOTLEN, 0, 0, 0, 17, 0, FG_R_BAD_TOTLEN},
	    {"v6 payload_len cuts udp", PKT_L3_V6, 17, PKT_OV_TOTLEN, 0, 0, 0, 4, 0,
	     FG_R_TRUNCATED},
	    {"doff 4", PKT_L3_V4, 6, PKT_OV_DOFF, 0, 4, 0, 0, 0, FG_R_BAD_DOFF},
	    {"doff 15 past ip", PKT_L3_V4, 6, PKT_OV_DOFF, 0, 15, 0, 0, 0, FG_R_BAD_DOFF},
	    {"doff 15 first frag", PKT_L3_V6, 6, PKT_OV_DOFF, 0, 15, 0, 0, 1, FG_R_TINY_FRAGMENT},
	    {"doff 6 fits payload", PKT_L3_V4, 6, PKT_OV_DOFF, 0, 6, 0, 0, 0, FG_R_NONE},
	};
	struct pkt_spec s;
	struct fg_pkt want;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		pkt_spec_init(&s, t[i].l3, t[i].proto);
		s.ov = t[i].ov;
		s.ihl = t[i].ihl;
		s.doff = t[i].doff;
		s.ip_version = t[i].ver;
		s.tot_len = t[i].tot;
		s.payload_len = 8;
		if (t[i].mf && t[i].l3 == PKT_L3_V4)
			s.frag_mf = true;
		else if (t[i].mf)
			pkt_add_frag6(&s, 0, true, 1);
		ASSERT_EQ(pkt_expect(&s, &want), t[i].reason, t[i].name);
		agrees(&s, t[i].name);
	}
}

static void test_bad_checksum_overrides(void)
{
	struct pkt_spec s;
	const uint8_t *ip = buf + 14;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	s.ov = PKT_OV_BAD_IPCSUM | PKT_OV_BAD_L4CSUM;
	build(&s, NULL);
	ASSERT_NEQ(verify_ip4_csum(ip, 20), 0, "ip checksum wrong");
	ASSERT_NEQ(verify_l4_csum(4, ip, 6, ip + 20, 20), 0, "tcp csum wrong");
}

/* Every truncation: cut in L2 or the IP header is truncated (bad_ihl for a
 * cut in IPv4 options), past the IP header it is bad_totlen, padding is
 * harmless. */
static void test_every_truncation(void)
{
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;
	size_t len;
	int r, w;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	pkt_add_vlan(&s, PKT_ETH_P_8021AD, 1);
	pkt_add_vlan(&s, PKT_ETH_P_8021Q, 2);
	s.ip_optlen = 4;
	s.payload_len = 10;
	s.pad_to = 128;
	build(&s, &lay);
	ASSERT_EQ(lay.len, 128, "padded");
	ASSERT_EQ(lay.ip_end, 22 + 24 + 20 + 10, "datagram end");
	for (len = 0; len <= lay.len; len++) {
		if (len < 22 || len < 22 + 20)
			w = FG_R_TRUNCATED;
		else if (len < 22 + 24)
			w = FG_R_BAD_IHL;
		else if (len < lay.ip_end)
			w = FG_R_BAD_TOTLEN;
		else
			w = FG_R_NONE;
		r = pkt_expect_len(&s, len, &want);
		if (!ASSERT_EQ(r, w, "truncation reason")) {
			fprintf(stderr, "  at len %zu\n", len);
			break;
		}
	}
	agrees(&s, "agrees");
}

static void test_payload_padding_and_cap(void)
{
	static const uint8_t pl[] = {0xde, 0xad, 0xbe, 0xef};
	struct pkt_spec s;
	struct pkt_layout lay;
	struct fg_pkt want;
	const uint8_t *ip = buf + 14;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_UDP);
	s.payload = pl;
	s.payload_len = sizeof(pl);
	s.pad_to = 60;
	memset(buf, 0xff, sizeof(buf));
	build(&s, &lay);
	ASSERT_EQ(lay.len, 60, "padded to 60");
	ASSERT_EQ(rd32(buf + lay.payload_off), 0xdeadbeef, "payload");
	ASSERT_EQ(rd16(ip + 2), 32, "tot_len excludes padding");
	ASSERT_EQ(buf[59], 0, "padding zeroed");
	if (expect_ok(&s, &want, "padded"))
		ASSERT_EQ(want.pkt_len, 60, "pkt_len is the frame");
	ASSERT_EQ(pkt_build(&s, buf, 59), 0, "does not fit");
	ASSERT_EQ(pkt_build(&s, buf, 60), 60, "fits exactly");
	s.nvlans = 4;
	ASSERT_EQ(pkt_build(&s, buf, sizeof(buf)), 0, "bad spec");
	ASSERT_EQ(pkt_expect(&s, &want), -1, "bad spec expectation");
}

static void test_cmp_reports_differences(void)
{
	struct pkt_spec s;
	struct fg_pkt a, b;
	char why[128] = "";

	pkt_spec_init(&s, PKT_L3_V6, IPPROTO_TCP);
	pkt_expect(&s, &a);
	b = a;
	b.ct_state = FG_CT_NEW; /* not a parser output: ignored */
	ASSERT_TRUE(pkt_cmp(&a, &b, why, sizeof(why)), "equal");
	b.dport++;
	ASSERT_FALSE(pkt_cmp(&a, &b, why, sizeof(why)), "dport differs");
	ASSERT_STRSTR(why, "dport", "why names the field");
	b = a;
	b.dst[15] ^= 1;
	ASSERT_FALSE(pkt_cmp(&a, &b, why, sizeof(why)), "address differs");
}

/* Random frames from the fuzzer's generator: builder, expectation and the
 * reference parser agree on each and on every truncation. */
static void test_random_frames_agree(void)
{
	struct randpol_rng rng;
	struct policy pol;
	struct randpkt rp;
	char name[64];
	int i;

	randpol_seed(&rng, 0x5eed);
	if (!ASSERT_OK(
		randpol_build(&rng, &(struct randpol_opts){.nrules = 30, .big_set = 50}, &pol),
		"policy"))
		return;
	for (i = 0; i < 3000 && !fg_test_failed; i++) {
		randpol_packet(&rng, &pol, &rp);
		snprintf(name, sizeof(name), "random frame %d", i);
		agrees(&rp.spec, name);
	}
	randpol_free(&pol);
}

int main(void)
{
	RUN_TEST(test_ipv4_tcp_headers_and_checksums);
	RUN_TEST(test_ipv4_options_set_ihl);
	RUN_TEST(test_ipv4_fragments);
	RUN_TEST(test_udp_checksums_both_families);
	RUN_TEST(test_icmp_and_icmpv6);
	RUN_TEST(test_vlan_tags);
	RUN_TEST(test_ipv6_extension_chain);
	RUN_TEST(test_ipv6_ext_header_limit);
	RUN_TEST(test_ipv6_later_fragment);
	RUN_TEST(test_arp_and_raw_frames);
	RUN_TEST(test_overrides_give_reasons);
	RUN_TEST(test_bad_checksum_overrides);
	RUN_TEST(test_every_truncation);
	RUN_TEST(test_payload_padding_and_cap);
	RUN_TEST(test_cmp_reports_differences);
	RUN_TEST(test_random_frames_agree);
	return FG_TEST_EXIT();
}
