// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * IP fragments (bpf/lib/frag.bpf.h, DESIGN.md §2): a non-first fragment
 * gets the verdict its first fragment got and is counted on the same rule;
 * if the first was never seen, it gets the default and reason `fragment`.
 * A first fragment too short for its L4 header is tiny_fragment; a later
 * fragment that would overlap the first's L4 header is frag_overlap (RFC
 * 1858). Each test is a sequence of rows {description, frame, verdict,
 * stats slot, drop reason}, run in order (the sequence is the state).
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
 * The policy: slot = rule + 1.
 *   0 drop-ssh   drop  tcp dport 22        (slot 1)
 *   1 web        allow tcp dport 80        (slot 2)
 *   2 dns        allow udp dport 53        (slot 3)
 *   3 ping       allow icmp                (slot 4)
 *   4 ping6      allow icmpv6              (slot 5)
 *   5 no-syn     drop  tcp flags syn,!ack  (slot 6)
 */
#define SLOT_SSH 1
#define SLOT_WEB 2
#define SLOT_DNS 3
#define SLOT_PING 4
#define SLOT_PING6 5
#define SLOT_NOSYN 6
#define NSLOTS 7

static struct fg_port_range p22 = {22, 22}, p80 = {80, 80}, p53 = {53, 53};

static bool install(int deflt)
{
	static struct fg_rule_spec r[6];
	struct policy p = {.version = 1, .default_action = deflt};

	r[0] = dpt_rule_dport("drop-ssh", FG_ACT_DROP, IPPROTO_TCP, &p22);
	r[1] = dpt_rule_dport("web", FG_ACT_ALLOW, IPPROTO_TCP, &p80);
	r[2] = dpt_rule_dport("dns", FG_ACT_ALLOW, IPPROTO_UDP, &p53);
	r[3] = dpt_rule("ping", FG_ACT_ALLOW);
	r[3].proto_kind = FG_PROTO_NUM;
	r[3].proto = IPPROTO_ICMP;
	r[4] = dpt_rule("ping6", FG_ACT_ALLOW);
	r[4].proto_kind = FG_PROTO_NUM;
	r[4].proto = IPPROTO_ICMPV6;
	r[5] = dpt_rule("no-syn", FG_ACT_DROP);
	r[5].proto_kind = FG_PROTO_NUM;
	r[5].proto = IPPROTO_TCP;
	r[5].tcp_set = FG_TCP_SYN;
	r[5].tcp_clear = FG_TCP_ACK;
	p.rules = r;
	p.nrules = 6;
	return ASSERT_OK(dpt_install(dp, &p, ++gen), "install");
}

/* One fragment. */
struct fr {
	int fam; /* 4 or 6 */
	uint8_t proto;
	uint16_t dport;
	uint8_t tcp_flags; /* 0: SYN|ACK (not caught by no-syn) */
	uint16_t off;	   /* 8-byte units; 0 = first fragment */
	bool last;	   /* no MF */
	uint32_t id;
	const char *src; /* NULL: the builder's default */
	const char *dst;
	uint16_t cut;	   /* first fragment: L4 bytes the IP length covers */
	uint8_t doff;	   /* TCP doff override */
	uint8_t ext_after; /* v6: extension header after the fragment header */
	uint8_t next;	   /* v6 later fragment: fragment header's next header */
	uint16_t payload;  /* 0: 24 */
	uint8_t icmp_type; /* 0: echo request */
};

static size_t frag_frame(const struct fr *f, struct pkt_spec *s)
{
	pkt_spec_init(s, f->fam == 6 ? PKT_L3_V6 : PKT_L3_V4, f->proto);
	s->dport = f->dport;
	s->tcp_flags = f->tcp_flags ? f->tcp_flags : FG_TCP_SYN | FG_TCP_ACK;
	s->payload_len = f->payload ? f->payload : 24;
	if (f->icmp_type)
		s->icmp_type = f->icmp_type;
	if (f->src)
		pkt_addr(s->src, f->src);
	if (f->dst)
		pkt_addr(s->dst, f->dst);
	if (f->fam == 6) {
		pkt_add_frag6(s, f->off, !f->last, f->id);
		if (f->ext_after && !f->off)
			pkt_add_ext(s, f->ext_after, f->ext_after == IPPROTO_AH ? 4 : 0);
		if (f->off && f->next)
			s->proto = f->next; /* what the fragment header names */
	} else {
		s->ip_id = f->id;
		s->frag_off = f->off;
		s->frag_mf = !f->last;
	}
	if (f->cut) {
		struct pkt_layout lay;

		pkt_layout(s, &lay);
		s->ov |= PKT_OV_TOTLEN;
		/* IP length up to `cut` bytes into L4; the rest of the frame
		 * becomes Ethernet padding */
		s->tot_len = lay.l4_off + f->cut - lay.l3_off - (f->fam == 6 ? 40 : 0);
	}
	if (f->doff) {
		s->ov |= PKT_OV_DOFF;
		s->doff = f->doff;
	}
	return pkt_build(s, buf, sizeof(buf));
}

struct row {
	const char *desc;
	struct fr f;
	int act, slot, reason;
};

#define PASS(slot) XDP_PASS_, slot, FG_R_NONE
#define DROP(slot, reason) XDP_DROP_, slot, reason

static void run_rows(const struct row *rows, size_t n, int fam)
{
	struct pkt_spec s;
	char desc[160];
	size_t i, len;

	for (i = 0; i < n; i++) {
		struct fr f = rows[i].f;

		if (fam)
			f.fam = fam;
		len = frag_frame(&f, &s);
		snprintf(desc, sizeof(desc), "ipv%d: %s", f.fam, rows[i].desc);
		if (!ASSERT_TRUE(len > 0, desc))
			continue;
		dpt_check(dp, desc, buf, len, 0, NSLOTS, rows[i].act, rows[i].slot, rows[i].reason);
	}
}

static uint8_t icmp_of(int fam)
{
	return fam == 6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
}

/* First, middle and last fragments of allowed, dropped and unmatched
 * datagrams: the later ones take the first's verdict, reason and slot. */
static void test_later_fragments_follow_first(void)
{
	int fam;

	if (!install(FG_ACT_DROP))
		return;
	for (fam = 4; fam <= 6; fam += 2) {
		const struct row rows[] = {
		    {"web first fragment", {.proto = 6, .dport = 80, .id = 0x100}, PASS(SLOT_WEB)},
		    {"web middle fragment", {.proto = 6, .off = 100, .id = 0x100}, PASS(SLOT_WEB)},
		    {"web last fragment",
		     {.proto = 6, .off = 200, .last = true, .id = 0x100},
		     PASS(SLOT_WEB)},
		    {"ssh first fragment",
		     {.proto = 6, .dport = 22, .id = 0x101},
		     DROP(SLOT_SSH, FG_R_RULE)},
		    {"ssh middle fragment",
		     {.proto = 6, .off = 3, .id = 0x101},
		     DROP(SLOT_SSH, FG_R_RULE)},
		    {"ssh last fragment",
		     {.proto = 6, .off = 4, .last = true, .id = 0x101},
		     DROP(SLOT_SSH, FG_R_RULE)},
		    {"dns first fragment", {.proto = 17, .dport = 53, .id = 0x102}, PASS(SLOT_DNS)},
		    {"dns last fragment",
		     {.proto = 17, .off = 1, .last = true, .id = 0x102},
		     PASS(SLOT_DNS)},
		    {"unmatched first fragment (default drop)",
		     {.proto = 17, .dport = 9999, .id = 0x103},
		     DROP(0, FG_R_DEFAULT)},
		    {"unmatched later fragment",
		     {.proto = 17, .off = 50, .id = 0x103},
		     DROP(0, FG_R_DEFAULT)},
		    {"ping first fragment",
		     {.proto = icmp_of(fam), .id = 0x104},
		     PASS(fam == 6 ? SLOT_PING6 : SLOT_PING)},
		    {"ping last fragment",
		     {.proto = icmp_of(fam), .off = 1, .last = true, .id = 0x104},
		     PASS(fam == 6 ? SLOT_PING6 : SLOT_PING)},
		    {"web middle fragment again",
		     {.proto = 6, .off = 101, .id = 0x100},
		     PASS(SLOT_WEB)},
		    /* the key is (src, dst, id), and for IPv4 the protocol
		     * (RFC 791 / RFC 8200): change any, the first is unseen */
		    {"same id, other source",
		     {.proto = 6,
		      .off = 100,
		      .id = 0x100,
		      .src = fam == 6 ? "2001:db8::99" : "192.0.2.99"},
		     DROP(0, FG_R_FRAGMENT)},
		    {"same id, other destination",
		     {.proto = 6,
		      .off = 100,
		      .id = 0x100,
		      .dst = fam == 6 ? "2001:db8::98" : "192.0.2.98"},
		     DROP(0, FG_R_FRAGMENT)},
		    /* IPv6: another next header in the fragment header is still
		     * the same datagram, so it gets the first fragment's verdict */
		    {"same id, other protocol",
		     {.proto = 17, .off = 100, .id = 0x100},
		     fam == 6 ? XDP_PASS_ : XDP_DROP_, fam == 6 ? SLOT_WEB : 0,
		     fam == 6 ? FG_R_NONE : FG_R_FRAGMENT},
		    {"other id", {.proto = 6, .off = 100, .id = 0x1100}, DROP(0, FG_R_FRAGMENT)},
		};

		run_rows(rows, N(rows), fam);
	}
}

/* Later fragments whose first was never seen: default, reason fragment;
 * counted in fg_drop_stats[fragment] only when the default drops. */
static void test_unseen_first_fragment(void)
{
	int fam;

	for (fam = 4; fam <= 6; fam += 2) {
		const struct row drop_rows[] = {
		    {"middle, first unseen",
		     {.proto = 6, .off = 10, .id = 0x200},
		     DROP(0, FG_R_FRAGMENT)},
		    {"last, first unseen",
		     {.proto = 17, .off = 20, .last = true, .id = 0x201},
		     DROP(0, FG_R_FRAGMENT)},
		    {"icmp, first unseen",
		     {.proto = icmp_of(fam), .off = 5, .id = 0x202},
		     DROP(0, FG_R_FRAGMENT)},
		    {"proto 47, first unseen",
		     {.proto = 47, .off = 5, .id = 0x203},
		     DROP(0, FG_R_FRAGMENT)},
		};
		const struct row allow_rows[] = {
		    {"middle, first unseen (default allow)",
		     {.proto = 6, .off = 10, .id = 0x210},
		     PASS(0)},
		    {"last, first unseen (default allow)",
		     {.proto = 17, .off = 20, .last = true, .id = 0x211},
		     PASS(0)},
		};

		if (!install(FG_ACT_DROP))
			return;
		run_rows(drop_rows, N(drop_rows), fam);
		if (!install(FG_ACT_ALLOW))
			return;
		run_rows(allow_rows, N(allow_rows), fam);
	}
}

/* First fragments too short for their L4 header: tiny_fragment, on no
 * rule; the same cut without MF is an ordinary truncation. */
static void test_tiny_first_fragment(void)
{
	int fam;

	if (!install(FG_ACT_ALLOW))
		return;
	for (fam = 4; fam <= 6; fam += 2) {
		const struct row rows[] = {
		    {"tcp first fragment with 8 header bytes",
		     {.proto = 6, .dport = 80, .cut = 8, .id = 0x300},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"tcp first fragment with 19 header bytes",
		     {.proto = 6, .dport = 80, .cut = 19, .id = 0x301},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"tcp first fragment with exactly 20",
		     {.proto = 6, .dport = 80, .cut = 20, .id = 0x302},
		     PASS(SLOT_WEB)},
		    {"tcp first fragment, doff 8 past its 24 bytes",
		     {.proto = 6, .dport = 80, .cut = 24, .doff = 8, .id = 0x303},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"tcp first fragment, doff 6 inside its 24 bytes",
		     {.proto = 6, .dport = 80, .cut = 24, .doff = 6, .id = 0x304},
		     PASS(SLOT_WEB)},
		    {"udp first fragment with 7 header bytes",
		     {.proto = 17, .dport = 53, .cut = 7, .id = 0x305},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"udp first fragment with 8",
		     {.proto = 17, .dport = 53, .cut = 8, .id = 0x306},
		     PASS(SLOT_DNS)},
		    {"icmp first fragment with 4 header bytes",
		     {.proto = icmp_of(fam), .cut = 4, .id = 0x307},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"unfragmented tcp with 8 header bytes",
		     {.proto = 6, .dport = 80, .cut = 8, .last = true, .id = 0x308},
		     DROP(-1, FG_R_TRUNCATED)},
		    /* the tiny first was not remembered: its later part is unseen */
		    {"later part of the tiny tcp fragment",
		     {.proto = 6, .off = 3, .last = true, .id = 0x300},
		     PASS(0)},
		};

		run_rows(rows, N(rows), fam);
	}
}

/* A later fragment starting inside the first's TCP header (offset 1 or 2,
 * i.e. bytes 8 or 16) would rewrite what was classified: frag_overlap.
 * Offset 3 (byte 24) is past it; UDP and ICMP headers are 8 bytes, so
 * offset 1 is past them. */
static void test_overlapping_later_fragment(void)
{
	int fam;

	if (!install(FG_ACT_DROP))
		return;
	for (fam = 4; fam <= 6; fam += 2) {
		const struct row rows[] = {
		    {"web first fragment", {.proto = 6, .dport = 80, .id = 0x400}, PASS(SLOT_WEB)},
		    {"tcp offset 1 overlaps",
		     {.proto = 6, .off = 1, .id = 0x400},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"tcp offset 2 overlaps",
		     {.proto = 6, .off = 2, .last = true, .id = 0x400},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"tcp offset 3 follows", {.proto = 6, .off = 3, .id = 0x400}, PASS(SLOT_WEB)},
		    {"tcp offset 1, first unseen",
		     {.proto = 6, .off = 1, .id = 0x401},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"dns first fragment", {.proto = 17, .dport = 53, .id = 0x402}, PASS(SLOT_DNS)},
		    {"udp offset 1 follows", {.proto = 17, .off = 1, .id = 0x402}, PASS(SLOT_DNS)},
		    {"ping first fragment",
		     {.proto = icmp_of(fam), .id = 0x403},
		     PASS(fam == 6 ? SLOT_PING6 : SLOT_PING)},
		    {"icmp offset 1 follows",
		     {.proto = icmp_of(fam), .off = 1, .last = true, .id = 0x403},
		     PASS(fam == 6 ? SLOT_PING6 : SLOT_PING)},
		};

		run_rows(rows, N(rows), fam);
	}
}

/*
 * RFC 1858 attacks under `default: allow`, with "drop tcp dport 22" and
 * "drop tcp syn,!ack": no fragment that carries a denied port or a SYN
 * gets through.
 *  A. tiny: the first fragment holds only the ports (dport 22), the rest
 *     of the header follows at offset 1.
 *  B. overlap: an innocent first fragment (ACK to port 80), then offset 1
 *     rewriting the flags to SYN.
 *  C. a second first fragment of the same datagram naming port 22.
 */
static void test_fragment_attacks_cannot_pass_denied(void)
{
	int fam;

	if (!install(FG_ACT_ALLOW))
		return;
	for (fam = 4; fam <= 6; fam += 2) {
		const struct row rows[] = {
		    {"A: tiny first fragment to port 22",
		     {.proto = 6, .dport = 22, .cut = 8, .id = 0x500},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"A: rest of the header at offset 1",
		     {.proto = 6, .off = 1, .last = true, .id = 0x500},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"A': tiny first fragment with 16 header bytes",
		     {.proto = 6, .dport = 22, .cut = 16, .id = 0x501},
		     DROP(-1, FG_R_TINY_FRAGMENT)},
		    {"A': flags at offset 2",
		     {.proto = 6, .off = 2, .last = true, .id = 0x501},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"B: innocent ack to port 80",
		     {.proto = 6, .dport = 80, .tcp_flags = FG_TCP_ACK, .id = 0x502},
		     PASS(SLOT_WEB)},
		    {"B: offset 1 rewriting the flags",
		     {.proto = 6, .off = 1, .last = true, .id = 0x502},
		     DROP(-1, FG_R_FRAG_OVERLAP)},
		    {"C: innocent first fragment",
		     {.proto = 6, .dport = 443, .tcp_flags = FG_TCP_ACK, .id = 0x503},
		     PASS(0)},
		    {"C: second first fragment to port 22",
		     {.proto = 6, .dport = 22, .tcp_flags = FG_TCP_ACK, .id = 0x503},
		     DROP(SLOT_SSH, FG_R_RULE)},
		    {"C: syn in a second first fragment",
		     {.proto = 6, .dport = 443, .tcp_flags = FG_TCP_SYN, .id = 0x503},
		     DROP(SLOT_NOSYN, FG_R_RULE)},
		};

		run_rows(rows, N(rows), fam);
	}
}

/*
 * IPv6 (RFC 8200 §4.5): headers after the fragment header (destination
 * options, AH) belong to the fragmentable part, and every fragment's
 * fragment header names the first of them as its next header. Later
 * fragments must still take the first fragment's verdict: fragmented DNS
 * with destination options, or IPsec AH, must not be cut off.
 */
static void test_v6_headers_after_fragment_header(void)
{
	const struct row rows[] = {
	    {"dns first fragment, frag -> dstopts -> udp",
	     {.fam = 6, .proto = 17, .dport = 53, .id = 0x600, .ext_after = IPPROTO_DSTOPTS},
	     PASS(SLOT_DNS)},
	    {"its last fragment (fragment header next = dstopts)",
	     {.fam = 6, .off = 10, .last = true, .id = 0x600, .next = IPPROTO_DSTOPTS},
	     PASS(SLOT_DNS)},
	    {"web first fragment, frag -> ah -> tcp",
	     {.fam = 6, .proto = 6, .dport = 80, .id = 0x601, .ext_after = IPPROTO_AH},
	     PASS(SLOT_WEB)},
	    {"its middle fragment (fragment header next = ah)",
	     {.fam = 6, .off = 10, .id = 0x601, .next = IPPROTO_AH},
	     PASS(SLOT_WEB)},
	    {"ssh first fragment, frag -> ah -> tcp",
	     {.fam = 6, .proto = 6, .dport = 22, .id = 0x602, .ext_after = IPPROTO_AH},
	     DROP(SLOT_SSH, FG_R_RULE)},
	    {"its last fragment (fragment header next = ah)",
	     {.fam = 6, .off = 10, .last = true, .id = 0x602, .next = IPPROTO_AH},
	     DROP(SLOT_SSH, FG_R_RULE)},
	};

	if (install(FG_ACT_DROP))
		run_rows(rows, N(rows), 0);
}

/*
 * The same fragmentable part seen by a later fragment: behind an 8-byte
 * destination options header, the TCP header occupies bytes 8..27 of the
 * fragmentable part, so offsets 1, 2 and 3 land inside it (they would
 * rewrite the ports or flags the first fragment was classified by, RFC
 * 1858 / RFC 5722), although the fragment header names dstopts, not TCP.
 */
static void test_v6_overlap_behind_headers_after_fragment_header(void)
{
	const struct row rows[] = {
	    {"web first fragment, frag -> dstopts(8) -> tcp",
	     {.fam = 6, .proto = 6, .dport = 80, .id = 0x610, .ext_after = IPPROTO_DSTOPTS},
	     PASS(SLOT_WEB)},
	    {"offset 1 (byte 8: tcp ports)",
	     {.fam = 6, .off = 1, .id = 0x610, .next = IPPROTO_DSTOPTS},
	     DROP(-1, FG_R_FRAG_OVERLAP)},
	    {"offset 3 (byte 24: inside the tcp header)",
	     {.fam = 6, .off = 3, .id = 0x610, .next = IPPROTO_DSTOPTS},
	     DROP(-1, FG_R_FRAG_OVERLAP)},
	    {"offset 4 (byte 32: past it)",
	     {.fam = 6, .off = 4, .last = true, .id = 0x610, .next = IPPROTO_DSTOPTS},
	     PASS(SLOT_WEB)},
	};

	if (install(FG_ACT_DROP))
		run_rows(rows, N(rows), 0);
}

/*
 * Neighbour discovery passes `default: drop` so that the host keeps its
 * neighbours, but ND in fragments is never valid (RFC 6980: a node MUST
 * silently ignore ND messages with a fragment header): the exception must
 * not let a fragmented "ND" datagram, and with it any amount of fragments
 * for the host's reassembly, through a default-drop policy.
 */
static void test_fragmented_nd_is_not_nd(void)
{
	const struct row rows[] = {
	    {"neighbour solicitation, first fragment",
	     {.fam = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 135, .id = 0x620},
	     DROP(0, FG_R_DEFAULT)},
	    {"its last fragment",
	     {.fam = 6, .proto = IPPROTO_ICMPV6, .off = 8, .last = true, .id = 0x620},
	     DROP(0, FG_R_DEFAULT)},
	    {"router advertisement, first fragment",
	     {.fam = 6, .proto = IPPROTO_ICMPV6, .icmp_type = 134, .id = 0x621},
	     DROP(0, FG_R_DEFAULT)},
	};

	struct fg_rule_spec r[1];
	struct policy p = {.version = 1, .default_action = FG_ACT_DROP, .rules = r, .nrules = 1};

	/* no rule names ICMPv6 here: only the ND exception can pass it */
	r[0] = dpt_rule_dport("drop-ssh", FG_ACT_DROP, IPPROTO_TCP, &p22);
	if (ASSERT_OK(dpt_install(dp, &p, ++gen), "install"))
		run_rows(rows, N(rows), 0);
}

/* The remembered verdict: its map entry, and its lifetime (checked in the
 * datapath: an expired entry is as good as none). */
static void test_fragment_verdict_entry_and_expiry(void)
{
	const struct row first = {
	    "web first fragment", {.fam = 4, .proto = 6, .dport = 80, .id = 0x700}, PASS(SLOT_WEB)};
	const struct row later = {
	    "web later fragment", {.fam = 4, .proto = 6, .off = 30, .id = 0x700}, PASS(SLOT_WEB)};
	const struct row expired = {"later fragment after expiry",
				    {.fam = 4, .proto = 6, .off = 31, .id = 0x700},
				    DROP(0, FG_R_FRAGMENT)};
	struct fg_frag_key k = {0};
	struct fg_frag_val v = {0};
	struct pkt_spec s;
	uint64_t t0;
	int fd = dp_map_fd(dp, "fg_frag");

	if (!install(FG_ACT_DROP))
		return;
	t0 = dpt_now_ns();
	run_rows(&first, 1, 0);
	frag_frame(&first.f, &s);
	memcpy(k.src, s.src, 16);
	memcpy(k.dst, s.dst, 16);
	k.id = 0x700;
	k.family = FG_FAM_V4;
	k.proto = IPPROTO_TCP;
	if (!ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v), "fg_frag entry of the first fragment"))
		return;
	ASSERT_EQ(v.action, FG_ACT_ALLOW, "remembered action");
	ASSERT_EQ(v.reason, FG_R_RULE, "remembered reason");
	ASSERT_EQ(v.stat_slot, SLOT_WEB, "remembered slot");
	ASSERT_TRUE(v.expires_ns >= t0 + FG_FRAG_TIMEOUT_NS &&
			v.expires_ns <= dpt_now_ns() + FG_FRAG_TIMEOUT_NS,
		    "expires FG_FRAG_TIMEOUT_NS after the first fragment");
	run_rows(&later, 1, 0);
	v.expires_ns = dpt_now_ns() - 1;
	ASSERT_OK(bpf_map_update_elem(fd, &k, &v, BPF_EXIST), "age the entry");
	run_rows(&expired, 1, 0);
}

int main(void)
{
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	RUN_TEST(test_later_fragments_follow_first);
	RUN_TEST(test_unseen_first_fragment);
	RUN_TEST(test_tiny_first_fragment);
	RUN_TEST(test_overlapping_later_fragment);
	RUN_TEST(test_fragment_attacks_cannot_pass_denied);
	RUN_TEST(test_v6_headers_after_fragment_header);
	RUN_TEST(test_v6_overlap_behind_headers_after_fragment_header);
	RUN_TEST(test_fragmented_nd_is_not_nd);
	RUN_TEST(test_fragment_verdict_entry_and_expiry);
	dp_close(dp);
	return FG_TEST_EXIT();
}
