// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Connection tracking state (bpf/lib/conntrack.bpf.h) read from the maps:
 * a flow opens in fg_ct_new (SYN or first datagram), moves to fg_ct on the
 * first reply, gets the timeout of its TCP state, expires by its deadline
 * (checked in the datapath), is tracked only when some rule uses `state`,
 * only for packets that were let through; and a SYN flood that fills
 * fg_ct_new does not evict an established flow from fg_ct.
 *
 * Deadlines are not waited for: entries are aged by rewriting expires_ns.
 */
#include <errno.h>
#include <stdio.h>

#include "test.h"
#include "dptest.h"
#include "pkt.h"

FG_TEST_GLOBALS;

static struct dp *dp;
static uint64_t gen;
static uint8_t buf[PKT_MAX_FRAME];

/*
 * Policy, default drop:
 *   0 established  allow state established  (slot 1)
 *   1 web          allow tcp dport 80        (slot 2)
 *   2 dns          allow udp dport 53        (slot 3)
 * With `stateless`, rule 0 is left out (no rule uses state).
 */
static bool install(bool stateless)
{
	static struct fg_rule_spec r[3];
	static struct fg_port_range p80 = {80, 80}, p53 = {53, 53};
	struct policy p = {.version = 1, .default_action = FG_ACT_DROP};

	r[0] = dpt_rule("established", FG_ACT_ALLOW);
	r[0].state_mask = FG_CT_ESTABLISHED;
	r[1] = dpt_rule_dport("web", FG_ACT_ALLOW, IPPROTO_TCP, &p80);
	r[2] = dpt_rule_dport("dns", FG_ACT_ALLOW, IPPROTO_UDP, &p53);
	p.rules = stateless ? r + 1 : r;
	p.nrules = stateless ? 2 : 3;
	return ASSERT_OK(dpt_install(dp, &p, ++gen), "install");
}

struct flow {
	const char *src, *dst;
	uint16_t sport, dport;
	uint8_t proto;
};

/* A frame of the flow, forward (src -> dst) or reversed. */
static size_t frame(const struct flow *f, bool rev, uint8_t flags)
{
	struct pkt_spec s;
	int fam = strchr(f->src, ':') ? 6 : 4;

	pkt_spec_init(&s, fam == 6 ? PKT_L3_V6 : PKT_L3_V4, f->proto);
	pkt_addr(rev ? s.dst : s.src, f->src);
	pkt_addr(rev ? s.src : s.dst, f->dst);
	s.sport = rev ? f->dport : f->sport;
	s.dport = rev ? f->sport : f->dport;
	s.tcp_flags = flags;
	s.payload_len = 10;
	return pkt_build(&s, buf, sizeof(buf));
}

/*
 * The flow's key as the ABI defines it (struct fg_ct_key): the numerically
 * lower address is `a` (equal addresses: the lower port's side); ports go
 * with their address, in network order. *src_is_a: the flow's src is a.
 */
static struct fg_ct_key ct_key(const struct flow *f, bool *src_is_a)
{
	struct fg_ct_key k;
	uint8_t s[16], d[16];
	int c, fam = pkt_addr(s, f->src);

	pkt_addr(d, f->dst);
	memset(&k, 0, sizeof(k));
	c = memcmp(s, d, 16);
	if (!c)
		c = f->sport <= f->dport ? -1 : 1;
	*src_is_a = c < 0;
	memcpy(k.a, c < 0 ? s : d, 16);
	memcpy(k.b, c < 0 ? d : s, 16);
	k.port_a = htons(c < 0 ? f->sport : f->dport);
	k.port_b = htons(c < 0 ? f->dport : f->sport);
	k.family = fam;
	k.proto = f->proto;
	return k;
}

static int ct_get(const char *map, const struct flow *f, struct fg_ct_val *v)
{
	bool a;
	struct fg_ct_key k = ct_key(f, &a);

	return bpf_map_lookup_elem(dp_map_fd(dp, map), &k, v) ? -errno : 0;
}

static int ct_put(const char *map, const struct flow *f, const struct fg_ct_val *v)
{
	bool a;
	struct fg_ct_key k = ct_key(f, &a);

	return bpf_map_update_elem(dp_map_fd(dp, map), &k, v, BPF_EXIST) ? -errno : 0;
}

static uint32_t ct_count(const char *map)
{
	int fd = dp_map_fd(dp, map);
	struct fg_ct_key k, prev;
	uint32_t n = 0;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &k)) {
		first = false;
		prev = k;
		n++;
	}
	return n;
}

static void ct_clear(void)
{
	dpt_ct_clear(dp);
}

/* expires_ns within [lo + to, hi + to] */
static bool deadline(const struct fg_ct_val *v, uint64_t lo, uint64_t hi, uint64_t to)
{
	return v->expires_ns >= lo + to && v->expires_ns <= hi + to;
}

static int out(const struct flow *f, uint8_t flags)
{
	size_t len = frame(f, false, flags);

	return dpt_run_tc(dp, buf, len);
}

static int in_reply(const struct flow *f, uint8_t flags)
{
	size_t len = frame(f, true, flags);

	return dpt_run(dp, buf, len, 0, 1);
}

static const struct flow tcp4 = {"192.0.2.1", "198.51.100.7", 40000, 443, IPPROTO_TCP};
static const struct flow tcp4_hi = {"203.0.113.9", "198.51.100.7", 40001, 443, IPPROTO_TCP};
static const struct flow udp6 = {"2001:db8::1", "2001:db8:f::7", 5353, 5300, IPPROTO_UDP};

/* An outbound SYN opens a half-open entry; its reply moves it to fg_ct. */
static void test_syn_then_reply_promotes(void)
{
	const struct flow *flows[] = {&tcp4, &tcp4_hi};
	struct fg_ct_val v;
	uint64_t t0, t1;
	bool src_is_a;
	size_t i, len;

	if (!install(false))
		return;
	ct_clear();
	for (i = 0; i < 2; i++) {
		const struct flow *f = flows[i];

		ct_key(f, &src_is_a);
		t0 = dpt_now_ns();
		len = frame(f, false, FG_TCP_SYN);
		ASSERT_EQ(out(f, FG_TCP_SYN), -1, "egress returns TC_ACT_UNSPEC (tcx next)");
		t1 = dpt_now_ns();
		if (!ASSERT_OK(ct_get("fg_ct_new", f, &v), "syn: entry in fg_ct_new"))
			continue;
		ASSERT_EQ(ct_get("fg_ct", f, &v) == -ENOENT, 1, "syn: nothing in fg_ct");
		ct_get("fg_ct_new", f, &v);
		ASSERT_EQ(v.state, FG_CTS_SYN_SENT, "syn: state");
		ASSERT_EQ(v.flags, src_is_a ? FG_CTF_ORIG_IS_A : 0, "syn: initiator side");
		ASSERT_EQ(v.packets, 1, "syn: packets");
		ASSERT_EQ(v.bytes, len, "syn: bytes");
		ASSERT_TRUE(v.created_ns >= t0 && v.created_ns <= t1, "syn: created");
		ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_SYN), "syn: 30 s deadline");
		/* a retransmitted SYN counts but keeps the deadline */
		out(f, FG_TCP_SYN);
		{
			struct fg_ct_val w;

			ct_get("fg_ct_new", f, &w);
			ASSERT_EQ(w.packets, 2, "retransmit: packets");
			ASSERT_EQ(w.expires_ns, v.expires_ns, "retransmit: same deadline");
		}

		t0 = dpt_now_ns();
		ASSERT_EQ(in_reply(f, FG_TCP_SYN | FG_TCP_ACK), XDP_PASS_, "syn-ack passes");
		t1 = dpt_now_ns();
		ASSERT_EQ(ct_get("fg_ct_new", f, &v), -ENOENT, "reply: gone from fg_ct_new");
		if (!ASSERT_OK(ct_get("fg_ct", f, &v), "reply: entry in fg_ct"))
			continue;
		ASSERT_EQ(v.state, FG_CTS_ESTABLISHED, "reply: state");
		ASSERT_EQ(v.flags, (src_is_a ? FG_CTF_ORIG_IS_A : 0) | FG_CTF_REPLIED,
			  "reply: flags");
		ASSERT_EQ(v.packets, 3, "reply: packets");
		ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_EST), "reply: 1 h deadline");
	}
	ASSERT_EQ(ct_count("fg_ct"), 2, "two flows in fg_ct");
	ASSERT_EQ(ct_count("fg_ct_new"), 0, "none half-open");
}

/* FIN from each side, and RST, shorten the deadline. */
static void test_tcp_teardown_timeouts(void)
{
	struct fg_ct_val v;
	uint64_t t0, t1;

	if (!install(false))
		return;
	ct_clear();
	out(&tcp4, FG_TCP_SYN);
	in_reply(&tcp4, FG_TCP_SYN | FG_TCP_ACK);
	t0 = dpt_now_ns();
	out(&tcp4, FG_TCP_FIN | FG_TCP_ACK);
	t1 = dpt_now_ns();
	if (!ASSERT_OK(ct_get("fg_ct", &tcp4, &v), "entry"))
		return;
	ASSERT_EQ(v.state, FG_CTS_FIN_WAIT, "one fin: state");
	ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_FIN), "one fin: 60 s");
	t0 = dpt_now_ns();
	ASSERT_EQ(in_reply(&tcp4, FG_TCP_FIN | FG_TCP_ACK), XDP_PASS_, "peer's fin passes");
	t1 = dpt_now_ns();
	ct_get("fg_ct", &tcp4, &v);
	ASSERT_EQ(v.state, FG_CTS_CLOSE, "both fins: state");
	ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_CLOSE), "both fins: 10 s");

	ct_clear();
	out(&tcp4, FG_TCP_SYN);
	in_reply(&tcp4, FG_TCP_SYN | FG_TCP_ACK);
	t0 = dpt_now_ns();
	ASSERT_EQ(in_reply(&tcp4, FG_TCP_RST), XDP_PASS_, "rst passes");
	t1 = dpt_now_ns();
	ct_get("fg_ct", &tcp4, &v);
	ASSERT_EQ(v.state, FG_CTS_CLOSE, "rst: state");
	ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_CLOSE), "rst: 10 s");
}

static void test_udp_entry(void)
{
	struct fg_ct_val v;
	uint64_t t0, t1;

	if (!install(false))
		return;
	ct_clear();
	t0 = dpt_now_ns();
	out(&udp6, 0);
	t1 = dpt_now_ns();
	if (!ASSERT_OK(ct_get("fg_ct_new", &udp6, &v), "datagram: fg_ct_new"))
		return;
	ASSERT_EQ(v.state, FG_CTS_UDP, "datagram: state");
	ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_UDP_NEW), "datagram: 30 s");
	t0 = dpt_now_ns();
	ASSERT_EQ(in_reply(&udp6, 0), XDP_PASS_, "reply passes");
	t1 = dpt_now_ns();
	if (!ASSERT_OK(ct_get("fg_ct", &udp6, &v), "reply: fg_ct"))
		return;
	ASSERT_EQ(v.state, FG_CTS_UDP, "reply: state");
	ASSERT_TRUE(deadline(&v, t0, t1, FG_CT_TO_UDP_EST), "reply: 180 s");
	ASSERT_EQ(ct_get("fg_ct_new", &udp6, &v), -ENOENT, "reply: gone from fg_ct_new");
}

/* Deadlines are checked by the datapath: an entry past its deadline is as
 * good as none, in either map. */
static void test_expired_entries_do_not_match(void)
{
	struct fg_ct_val v;
	size_t len;

	if (!install(false))
		return;
	ct_clear();
	out(&tcp4, FG_TCP_SYN);
	ASSERT_OK(ct_get("fg_ct_new", &tcp4, &v), "half-open entry");
	v.expires_ns = dpt_now_ns() - 1;
	ASSERT_OK(ct_put("fg_ct_new", &tcp4, &v), "age it");
	len = frame(&tcp4, true, FG_TCP_SYN | FG_TCP_ACK);
	dpt_check(dp, "reply to an expired syn", buf, len, 0, 4, XDP_DROP_, 0, FG_R_DEFAULT);

	ct_clear();
	out(&udp6, 0);
	in_reply(&udp6, 0);
	ASSERT_OK(ct_get("fg_ct", &udp6, &v), "established entry");
	len = frame(&udp6, true, 0);
	dpt_check(dp, "established udp reply", buf, len, 0, 4, XDP_PASS_, 1, FG_R_NONE);
	v.expires_ns = dpt_now_ns() - 1;
	ASSERT_OK(ct_put("fg_ct", &udp6, &v), "age it");
	dpt_check(dp, "same reply after expiry", buf, len, 0, 4, XDP_DROP_, 0, FG_R_DEFAULT);
	v.expires_ns = dpt_now_ns() + 10 * FG_SEC;
	ASSERT_OK(ct_put("fg_ct", &udp6, &v), "revive it");
	dpt_check(dp, "same reply, deadline ahead again", buf, len, 0, 4, XDP_PASS_, 1, FG_R_NONE);
}

/* Only generations with a `state` rule track; ingress tracks only what it
 * lets through. */
static void test_tracking_scope(void)
{
	const struct flow in_web = {"198.51.100.50", "192.0.2.1", 1234, 80, IPPROTO_TCP};
	const struct flow in_ssh = {"198.51.100.50", "192.0.2.1", 1235, 22, IPPROTO_TCP};
	struct fg_ct_val v;
	size_t len;

	if (!install(true))
		return;
	ct_clear();
	ASSERT_EQ(out(&tcp4, FG_TCP_SYN), -1, "stateless: egress passes on");
	ASSERT_EQ(ct_count("fg_ct_new") + ct_count("fg_ct"), 0, "stateless: nothing tracked");
	len = frame(&in_web, false, FG_TCP_SYN);
	ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), XDP_PASS_, "stateless: inbound web syn");
	ASSERT_EQ(ct_count("fg_ct_new") + ct_count("fg_ct"), 0, "stateless: still nothing");

	if (!install(false))
		return;
	len = frame(&in_web, false, FG_TCP_SYN);
	ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), XDP_PASS_, "inbound web syn allowed");
	ASSERT_OK(ct_get("fg_ct_new", &in_web, &v), "allowed syn tracked");
	ASSERT_EQ(v.flags, 0, "initiator is the peer (198.51.100.50 > 192.0.2.1: b)");
	len = frame(&in_ssh, false, FG_TCP_SYN);
	ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), XDP_DROP_, "inbound ssh syn dropped");
	ASSERT_EQ(ct_get("fg_ct_new", &in_ssh, &v), -ENOENT, "dropped syn not tracked");
	ASSERT_EQ(ct_count("fg_ct_new"), 1, "one half-open flow");
	/* Ingress: only a SYN opens a TCP flow. */
	ct_clear();
	len = frame(&in_web, false, FG_TCP_ACK);
	ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), XDP_PASS_, "inbound web ack allowed");
	ASSERT_EQ(ct_count("fg_ct_new") + ct_count("fg_ct"), 0, "inbound ack opens nothing");
	/* Egress picks flows up loosely (nf_conntrack_tcp_loose): any
	 * packet but a RST opens one, so connections already open when a
	 * policy starts using `state` keep their replies. */
	out(&tcp4, FG_TCP_SYN | FG_TCP_RST);
	out(&tcp4, FG_TCP_RST | FG_TCP_ACK);
	ASSERT_EQ(ct_count("fg_ct_new") + ct_count("fg_ct"), 0, "outbound rst opens nothing");
	out(&tcp4, FG_TCP_ACK);
	ASSERT_EQ(ct_count("fg_ct_new"), 1, "outbound ack opens the flow");
	ASSERT_EQ(in_reply(&tcp4, FG_TCP_ACK), XDP_PASS_, "its reply is established");
	ASSERT_EQ(ct_count("fg_ct"), 1, "and promoted");
}

/* The ABI (include/flowgate/abi.h, struct fg_ct_key) says the key's ports
 * are in network byte order: user space that lists flows relies on it.
 * Ports whose two byte orders differ tell which one the datapath wrote. */
static void test_ct_key_ports_as_documented(void)
{
	const struct flow f = {"192.0.2.1", "198.51.100.7", 0x1234, 0x0050, IPPROTO_TCP};
	struct fg_ct_key k;
	struct fg_ct_val v;
	int fd = dp_map_fd(dp, "fg_ct_new");
	bool a;

	if (!install(false))
		return;
	ct_clear();
	out(&f, FG_TCP_SYN);
	k = ct_key(&f, &a);
	ASSERT_EQ(a, true, "192.0.2.1 is a");
	ASSERT_EQ(ct_count("fg_ct_new"), 1, "one entry");
	ASSERT_OK(bpf_map_lookup_elem(fd, &k, &v) ? -errno : 0,
		  "fg_ct_new entry with ports in network order");
	k.port_a = ntohs(k.port_a);
	k.port_b = ntohs(k.port_b);
	ASSERT_EQ(bpf_map_lookup_elem(fd, &k, &v) ? -errno : 0, -ENOENT,
		  "no entry with ports in host order");
}

/*
 * 70k SYNs from distinct sources, each allowed by the web rule and so
 * committed to fg_ct_new (FG_CT_NEW_MAX = 65536 entries, LRU), must not
 * evict an established flow: fg_ct holds only flows that saw a reply.
 */
static void test_syn_flood_keeps_established(void)
{
	enum { NSYN = 70000 };
	struct fg_ct_val v;
	struct pkt_spec s;
	uint32_t i, n_new, n_est;
	size_t len;

	if (!install(false))
		return;
	ct_clear();
	out(&tcp4, FG_TCP_SYN);
	in_reply(&tcp4, FG_TCP_SYN | FG_TCP_ACK);
	if (!ASSERT_OK(ct_get("fg_ct", &tcp4, &v), "established before the flood"))
		return;

	pkt_spec_init(&s, PKT_L3_V4, IPPROTO_TCP);
	pkt_addr(s.dst, "192.0.2.1");
	s.dport = 80;
	s.tcp_flags = FG_TCP_SYN;
	for (i = 0; i < NSYN; i++) {
		uint32_t a = 0x0a000000u + i; /* 10.0.0.0 + i */

		s.src[0] = a >> 24;
		s.src[1] = a >> 16;
		s.src[2] = a >> 8;
		s.src[3] = a;
		s.sport = 1024 + (i % 60000);
		len = pkt_build(&s, buf, sizeof(buf));
		if (dpt_run(dp, buf, len, 0, 1) != XDP_PASS_) {
			ASSERT_EQ(dpt_run(dp, buf, len, 0, 1), XDP_PASS_, "flood syn allowed");
			break;
		}
	}
	n_new = ct_count("fg_ct_new");
	n_est = ct_count("fg_ct");
	printf("  after %d syns: fg_ct_new %u entries, fg_ct %u\n", NSYN, n_new, n_est);
	ASSERT_TRUE(n_new <= FG_CT_NEW_MAX, "fg_ct_new bounded");
	ASSERT_GE(n_new, FG_CT_NEW_MAX / 2, "the flood did fill fg_ct_new");
	ASSERT_EQ(n_est, 1, "fg_ct holds only the established flow");
	ASSERT_OK(ct_get("fg_ct", &tcp4, &v), "established flow survived");
	len = frame(&tcp4, true, FG_TCP_ACK);
	dpt_check(dp, "established flow still matches", buf, len, 0, 4, XDP_PASS_, 1, FG_R_NONE);
}

int main(void)
{
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	RUN_TEST(test_syn_then_reply_promotes);
	RUN_TEST(test_tcp_teardown_timeouts);
	RUN_TEST(test_udp_entry);
	RUN_TEST(test_expired_entries_do_not_match);
	RUN_TEST(test_tracking_scope);
	RUN_TEST(test_ct_key_ports_as_documented);
	RUN_TEST(test_syn_flood_keeps_established);
	dp_close(dp);
	return FG_TEST_EXIT();
}
