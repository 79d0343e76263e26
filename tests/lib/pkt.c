// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Packet crafting for tests (see pkt.h). Two halves that must not share
 * logic beyond the layout: pkt_build() writes bytes, pkt_expect_len() reads
 * the spec the way a parser reads bytes. A test that builds a frame and
 * parses it in the datapath then checks the datapath against the spec.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>

#include "pkt.h"

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x02};

void pkt_spec_init(struct pkt_spec *s, int l3, uint8_t proto)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->eth_src, mac_a, 6);
	memcpy(s->eth_dst, mac_b, 6);
	s->l3 = l3;
	s->proto = proto;
	s->ttl = 64;
	if (l3 == PKT_L3_V6) {
		pkt_addr(s->src, "2001:db8::1");
		pkt_addr(s->dst, "2001:db8::2");
	} else {
		pkt_addr(s->src, "192.0.2.1");
		pkt_addr(s->dst, "192.0.2.2");
	}
	s->sport = 40000;
	s->dport = 80;
	s->tcp_flags = FG_TCP_SYN;
	s->seq = 1000;
	s->window = 65535;
	s->icmp_type = (proto == IPPROTO_ICMPV6) ? 128 : 8; /* echo request */
	s->icmp_rest = 0x12340001;
	s->arp_op = 1;
	s->ethertype = PKT_ETH_P_LLDP;
}

int pkt_addr(uint8_t out[16], const char *text)
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, text, out) == 1)
		return FG_FAM_V4;
	if (inet_pton(AF_INET6, text, out) == 1)
		return FG_FAM_V6;
	return -1;
}

int pkt_add_vlan(struct pkt_spec *s, uint16_t tpid, uint16_t vid)
{
	if (s->nvlans >= PKT_MAX_VLANS)
		return -1;
	s->vlans[s->nvlans].tpid = tpid;
	s->vlans[s->nvlans].tci = vid & 0x0fff;
	return ++s->nvlans;
}

int pkt_add_ext(struct pkt_spec *s, uint8_t type, uint8_t hlen)
{
	if (s->next >= PKT_MAX_EXT)
		return -1;
	memset(&s->ext[s->next], 0, sizeof(s->ext[0]));
	s->ext[s->next].type = type;
	s->ext[s->next].hlen = hlen;
	return ++s->next;
}

int pkt_add_frag6(struct pkt_spec *s, uint16_t off, bool more, uint32_t id)
{
	int n = pkt_add_ext(s, IPPROTO_FRAGMENT, 0);

	if (n < 0)
		return n;
	s->ext[n - 1].frag_off = off & 0x1fff;
	s->ext[n - 1].frag_more = more;
	s->ext[n - 1].frag_id = id;
	return n;
}

/* ---- layout ------------------------------------------------------------ */

static size_t round4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Protocols whose header we write (and a parser reads): the same set for
 * both families, as the datapath parser does. */
static size_t l4_min(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return 20;
	case IPPROTO_UDP:
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		return 8;
	}
	return 0;
}

static bool is_ext6(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_AH || nh == IPPROTO_FRAGMENT;
}

static size_t ext_bytes(const struct pkt_ext *e)
{
	if (e->type == IPPROTO_FRAGMENT)
		return 8;
	if (e->type == IPPROTO_AH)
		return ((size_t)e->hlen + 2) * 4;
	return ((size_t)e->hlen + 1) * 8;
}

static bool ext_is_later_frag(const struct pkt_ext *e)
{
	return e->type == IPPROTO_FRAGMENT && (e->frag_off & 0x1fff);
}

/* Next-header value written in extension header i: the following one's
 * type, or the L4 protocol after the last. */
static uint8_t ext_next(const struct pkt_spec *s, int i)
{
	return (i + 1 < s->next) ? s->ext[i + 1].type : s->proto;
}

static size_t l4_hlen(const struct pkt_spec *s)
{
	if (s->proto == IPPROTO_TCP)
		return 20 + round4(s->tcp_optlen);
	return l4_min(s->proto);
}

static bool spec_ok(const struct pkt_spec *s)
{
	if (s->nvlans < 0 || s->nvlans > PKT_MAX_VLANS)
		return false;
	if (s->next < 0 || s->next > PKT_MAX_EXT)
		return false;
	if (s->ip_optlen > PKT_MAX_IPOPTS || s->tcp_optlen > PKT_MAX_TCPOPTS)
		return false;
	return s->l3 >= PKT_L3_V4 && s->l3 <= PKT_L3_RAW;
}

/* IPv6: extension headers up to and including a non-first fragment's
 * header; what follows such a header is opaque payload. */
static size_t layout_ext6(const struct pkt_spec *s, struct pkt_layout *lay, size_t off, bool *later)
{
	int i;

	*later = false;
	for (i = 0; i < s->next; i++) {
		lay->ext_off[i] = off;
		lay->ext_len[i] = ext_bytes(&s->ext[i]);
		off += lay->ext_len[i];
		lay->next = i + 1;
		if (ext_is_later_frag(&s->ext[i])) {
			*later = true;
			break;
		}
	}
	return off;
}

int pkt_layout(const struct pkt_spec *s, struct pkt_layout *lay)
{
	size_t off;
	bool later = false;

	memset(lay, 0, sizeof(*lay));
	if (!spec_ok(s))
		return -EINVAL;
	off = 14 + 4 * (size_t)s->nvlans;
	lay->l3_off = off;
	switch (s->l3) {
	case PKT_L3_V4:
		lay->l3_hlen = 20 + round4(s->ip_optlen);
		off += lay->l3_hlen;
		later = (s->frag_off & 0x1fff) != 0;
		break;
	case PKT_L3_V6:
		lay->l3_hlen = 40;
		off = layout_ext6(s, lay, off + 40, &later);
		break;
	case PKT_L3_ARP:
		lay->l3_hlen = 28;
		off += 28;
		later = true; /* no L4 */
		break;
	default:
		later = true;
		break;
	}
	if (!later && l4_min(s->proto)) {
		lay->l4_off = off;
		lay->l4_hlen = l4_hlen(s);
		off += lay->l4_hlen;
	}
	lay->payload_off = off;
	lay->ip_end = off + s->payload_len;
	lay->len = lay->ip_end > s->pad_to ? lay->ip_end : s->pad_to;
	if (s->l3 == PKT_L3_V4 && lay->ip_end - lay->l3_off > 0xffff)
		return -EINVAL;
	if (s->l3 == PKT_L3_V6 && lay->ip_end - lay->l3_off - 40 > 0xffff)
		return -EINVAL;
	return 0;
}

/* ---- checksums --------------------------------------------------------- */

uint32_t pkt_csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	/* Fold early so that long buffers cannot overflow 32 bits. */
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t pkt_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

/* Pseudo-header sum (RFC 768/793 for v4, RFC 8200 §8.1 for v6). */
static uint32_t pseudo_sum(const struct pkt_spec *s, size_t l4len)
{
	uint8_t ph[40] = {0};

	if (s->l3 == PKT_L3_V4) {
		memcpy(ph, s->src, 4);
		memcpy(ph + 4, s->dst, 4);
		ph[9] = s->proto;
		put16(ph + 10, (uint16_t)l4len);
		return pkt_csum_add(0, ph, 12);
	}
	memcpy(ph, s->src, 16);
	memcpy(ph + 16, s->dst, 16);
	put32(ph + 32, (uint32_t)l4len);
	ph[39] = s->proto;
	return pkt_csum_add(0, ph, 40);
}

/* ---- writing ----------------------------------------------------------- */

static void write_eth(const struct pkt_spec *s, uint8_t *b, uint16_t type)
{
	size_t off = 12;
	int i;

	memcpy(b, s->eth_dst, 6);
	memcpy(b + 6, s->eth_src, 6);
	for (i = 0; i < s->nvlans; i++) {
		put16(b + off, s->vlans[i].tpid);
		put16(b + off + 2, s->vlans[i].tci);
		off += 4;
	}
	put16(b + off, type);
}

static void write_payload(const struct pkt_spec *s, uint8_t *p)
{
	size_t i;

	if (s->payload) {
		memcpy(p, s->payload, s->payload_len);
		return;
	}
	for (i = 0; i < s->payload_len; i++)
		p[i] = i & 0xff;
}

static void write_tcp(const struct pkt_spec *s, uint8_t *t, size_t hlen)
{
	uint8_t doff = (s->ov & PKT_OV_DOFF) ? s->doff : hlen / 4;

	put16(t, s->sport);
	put16(t + 2, s->dport);
	put32(t + 4, s->seq);
	put32(t + 8, s->ack);
	t[12] = (uint8_t)(doff << 4);
	t[13] = s->tcp_flags;
	put16(t + 14, s->window);
	put16(t + 18, s->urg_ptr);
	memcpy(t + 20, s->tcp_opts, s->tcp_optlen); /* EOL-padded: zeroed */
}

/* L4 header and its checksum over header + payload. */
static void write_l4(const struct pkt_spec *s, uint8_t *b, const struct pkt_layout *lay)
{
	uint8_t *l4 = b + lay->l4_off;
	size_t l4len = lay->ip_end - lay->l4_off;
	size_t csum_at;
	uint32_t sum = 0;
	uint16_t c;

	if (s->proto == IPPROTO_TCP) {
		write_tcp(s, l4, lay->l4_hlen);
		csum_at = 16;
	} else if (s->proto == IPPROTO_UDP) {
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (s->ov & PKT_OV_UDPLEN) ? s->udp_len : (uint16_t)l4len);
		csum_at = 6;
	} else {
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		put32(l4 + 4, s->icmp_rest);
		csum_at = 2;
	}
	/* ICMPv4 has no pseudo-header; everything else does. */
	if (s->proto != IPPROTO_ICMP)
		sum = pseudo_sum(s, l4len);
	c = pkt_csum_fold(pkt_csum_add(sum, l4, l4len));
	if (s->proto == IPPROTO_UDP && c == 0)
		c = 0xffff; /* 0 means "no checksum" (RFC 768) */
	if (s->proto == IPPROTO_UDP && (s->ov & PKT_OV_UDP_NOCSUM))
		c = 0;
	if (s->ov & PKT_OV_BAD_L4CSUM)
		c++;
	put16(l4 + csum_at, c);
}

static void write_ipv4(const struct pkt_spec *s, uint8_t *b, const struct pkt_layout *lay)
{
	uint8_t *ip = b + lay->l3_off;
	uint8_t ver = (s->ov & PKT_OV_VERSION) ? s->ip_version : 4;
	uint8_t ihl = (s->ov & PKT_OV_IHL) ? s->ihl : lay->l3_hlen / 4;
	uint16_t tot = (s->ov & PKT_OV_TOTLEN) ? s->tot_len : lay->ip_end - lay->l3_off;
	uint16_t frag = s->frag_off & 0x1fff;
	uint16_t c;

	if (s->frag_mf)
		frag |= 0x2000;
	if (s->frag_df)
		frag |= 0x4000;
	ip[0] = (uint8_t)(ver << 4 | (ihl & 0xf));
	ip[1] = s->tos;
	put16(ip + 2, tot);
	put16(ip + 4, s->ip_id);
	put16(ip + 6, frag);
	ip[8] = s->ttl;
	ip[9] = s->proto;
	memcpy(ip + 12, s->src, 4);
	memcpy(ip + 16, s->dst, 4);
	memcpy(ip + 20, s->ip_opts, s->ip_optlen);
	c = pkt_csum_fold(pkt_csum_add(0, ip, lay->l3_hlen));
	if (s->ov & PKT_OV_BAD_IPCSUM)
		c++;
	put16(ip + 10, c);
}

/* Options area of hop-by-hop / destination options: padding options only,
 * so that a real stack accepts the header. */
static void write_padopts(uint8_t *p, size_t n)
{
	if (n == 1) {
		p[0] = 0; /* Pad1 */
	} else if (n >= 2) {
		p[0] = 1; /* PadN */
		p[1] = (uint8_t)(n - 2);
	}
}

static void write_ext6(const struct pkt_spec *s, uint8_t *b, const struct pkt_layout *lay, int i)
{
	const struct pkt_ext *e = &s->ext[i];
	uint8_t *h = b + lay->ext_off[i];
	uint16_t off;

	h[0] = ext_next(s, i);
	switch (e->type) {
	case IPPROTO_FRAGMENT:
		off = (uint16_t)((e->frag_off & 0x1fff) << 3);
		put16(h + 2, off | (e->frag_more ? 1 : 0));
		put32(h + 4, e->frag_id);
		break;
	case IPPROTO_AH:
		h[1] = e->hlen;
		put32(h + 4, 0x100); /* SPI */
		if (lay->ext_len[i] >= 12)
			put32(h + 8, 1); /* sequence; absent in a short AH */
		break;
	case IPPROTO_ROUTING:
		h[1] = e->hlen;
		h[2] = 0; /* type 0 with segments left 0: skipped by stacks */
		break;
	default:
		h[1] = e->hlen;
		write_padopts(h + 2, lay->ext_len[i] - 2);
		break;
	}
}

static void write_ipv6(const struct pkt_spec *s, uint8_t *b, const struct pkt_layout *lay)
{
	uint8_t *ip = b + lay->l3_off;
	uint8_t ver = (s->ov & PKT_OV_VERSION) ? s->ip_version : 6;
	uint16_t plen = (s->ov & PKT_OV_TOTLEN) ? s->tot_len : lay->ip_end - lay->l3_off - 40;
	int i;

	ip[0] = (uint8_t)(ver << 4 | s->tos >> 4);
	ip[1] = (uint8_t)((s->tos & 0xf) << 4 | ((s->flow_label >> 16) & 0xf));
	put16(ip + 2, s->flow_label & 0xffff);
	put16(ip + 4, plen);
	ip[6] = s->next ? s->ext[0].type : s->proto;
	ip[7] = s->ttl;
	memcpy(ip + 8, s->src, 16);
	memcpy(ip + 24, s->dst, 16);
	for (i = 0; i < lay->next; i++)
		write_ext6(s, b, lay, i);
}

static void write_arp(const struct pkt_spec *s, uint8_t *b, const struct pkt_layout *lay)
{
	uint8_t *a = b + lay->l3_off;

	put16(a, 1); /* Ethernet */
	put16(a + 2, PKT_ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, s->arp_op);
	memcpy(a + 8, s->eth_src, 6);
	memcpy(a + 14, s->src, 4);
	if (s->arp_op == 2)
		memcpy(a + 18, s->eth_dst, 6);
	memcpy(a + 24, s->dst, 4);
}

static uint16_t l3_ethertype(const struct pkt_spec *s)
{
	switch (s->l3) {
	case PKT_L3_V4:
		return PKT_ETH_P_IP;
	case PKT_L3_V6:
		return PKT_ETH_P_IPV6;
	case PKT_L3_ARP:
		return PKT_ETH_P_ARP;
	}
	return s->ethertype;
}

size_t pkt_build_layout(const struct pkt_spec *s, uint8_t *buf, size_t cap, struct pkt_layout *layp)
{
	struct pkt_layout lay;

	if (pkt_layout(s, &lay) || lay.len > cap)
		return 0;
	memset(buf, 0, lay.len);
	write_eth(s, buf, l3_ethertype(s));
	write_payload(s, buf + lay.payload_off);
	/* L4 before L3: the L4 checksum needs the payload, not the IP sum. */
	if (lay.l4_off)
		write_l4(s, buf, &lay);
	if (s->l3 == PKT_L3_V4)
		write_ipv4(s, buf, &lay);
	else if (s->l3 == PKT_L3_V6)
		write_ipv6(s, buf, &lay);
	else if (s->l3 == PKT_L3_ARP)
		write_arp(s, buf, &lay);
	if (layp)
		*layp = lay;
	return lay.len;
}

size_t pkt_build(const struct pkt_spec *s, uint8_t *buf, size_t cap)
{
	return pkt_build_layout(s, buf, cap, NULL);
}

/* ---- expectation: the spec read the way a parser reads bytes ----------- */

struct expect {
	const struct pkt_spec *s;
	struct pkt_layout lay;
	size_t len;    /* frame bytes available */
	size_t l3_end; /* datagram end as its header claims */
	struct fg_pkt *out;
};

static int expect_tcp(struct expect *x, size_t l4)
{
	const struct pkt_spec *s = x->s;
	size_t doff = (s->ov & PKT_OV_DOFF) ? s->doff : x->lay.l4_hlen / 4;
	bool frag = x->out->flags & FG_PKT_FRAG;

	if (doff < 5)
		return FG_R_BAD_DOFF;
	if (l4 + doff * 4 > x->l3_end)
		return frag ? FG_R_TINY_FRAGMENT : FG_R_BAD_DOFF;
	x->out->sport = s->sport;
	x->out->dport = s->dport;
	x->out->tcp_flags = s->tcp_flags;
	return FG_R_NONE;
}

static int expect_l4(struct expect *x, size_t l4)
{
	const struct pkt_spec *s = x->s;
	struct fg_pkt *out = x->out;
	size_t need = l4_min(out->proto);
	int r = FG_R_NONE;

	if (!need)
		return FG_R_NONE;
	if (l4 + need > x->l3_end)
		return (out->flags & FG_PKT_FRAG) ? FG_R_TINY_FRAGMENT : FG_R_TRUNCATED;
	if (out->proto == IPPROTO_TCP) {
		r = expect_tcp(x, l4);
	} else if (out->proto == IPPROTO_UDP) {
		out->sport = s->sport;
		out->dport = s->dport;
	} else {
		out->icmp_type = s->icmp_type;
		out->icmp_code = s->icmp_code;
		/* RFC 6980: fragmented ND is not ND */
		if (out->family == FG_FAM_V6 && out->proto == IPPROTO_ICMPV6 &&
		    s->icmp_type >= 133 && s->icmp_type <= 137 && !(out->flags & FG_PKT_FRAG))
			out->flags |= FG_PKT_ND;
	}
	if (r == FG_R_NONE)
		out->flags |= FG_PKT_L4;
	return r;
}

static int expect_ipv4(struct expect *x)
{
	const struct pkt_spec *s = x->s;
	struct fg_pkt *out = x->out;
	size_t ip = x->lay.l3_off;
	size_t ihl = ((s->ov & PKT_OV_IHL) ? s->ihl : x->lay.l3_hlen / 4) * 4;
	size_t tot = (s->ov & PKT_OV_TOTLEN) ? s->tot_len : x->lay.ip_end - ip;
	uint8_t ver = (s->ov & PKT_OV_VERSION) ? s->ip_version : 4;
	uint16_t off = s->frag_off & 0x1fff;

	if (ip + 20 > x->len)
		return FG_R_TRUNCATED;
	/* The version nibble is 4 bits on the wire. */
	if ((ver & 0xf) != 4)
		return FG_R_BAD_VERSION;
	ihl &= 0x3c;
	if (ihl < 20 || ip + ihl > x->len)
		return FG_R_BAD_IHL;
	if (tot < ihl || ip + tot > x->len)
		return FG_R_BAD_TOTLEN;
	x->l3_end = ip + tot;
	out->family = FG_FAM_V4;
	out->proto = s->proto;
	memcpy(out->src, s->src, 4);
	memcpy(out->dst, s->dst, 4);
	if (s->frag_mf || off) {
		out->flags |= FG_PKT_FRAG;
		out->frag_id = s->ip_id;
		out->frag_next = s->proto;
		if (off) {
			out->flags |= FG_PKT_FRAG_LATER;
			out->frag_off = off;
			return FG_R_NONE;
		}
	}
	return expect_l4(x, ip + ihl);
}

/* Returns 1 when the walk stopped at a later fragment, 0 to go on to L4,
 * or a negative fg_reason. */
static int expect_frag6(struct expect *x, const struct pkt_ext *e, uint8_t next)
{
	struct fg_pkt *out = x->out;
	uint16_t off = e->frag_off & 0x1fff;

	if (!off && !e->frag_more)
		return 0; /* atomic fragment */
	out->flags |= FG_PKT_FRAG;
	out->frag_id = e->frag_id;
	out->frag_next = next;
	if (!off)
		return 0;
	out->flags |= FG_PKT_FRAG_LATER;
	out->frag_off = off;
	out->proto = next;
	return 1;
}

static int expect_ext6(struct expect *x, size_t *cur)
{
	const struct pkt_spec *s = x->s;
	uint8_t nh;
	int i, r;

	for (i = 0;; i++) {
		nh = (i < s->next) ? s->ext[i].type : s->proto;
		if (!is_ext6(nh))
			break;
		if (i == FG_MAX_EXT_HDRS)
			return FG_R_TOO_MANY_EXT_HEADERS;
		/* proto itself an extension number: the parser would walk
		 * into payload bytes, which the spec does not describe. */
		if (i >= s->next)
			return -1;
		if (*cur + 8 > x->l3_end)
			return FG_R_TRUNCATED;
		if (nh == IPPROTO_FRAGMENT) {
			r = expect_frag6(x, &s->ext[i], ext_next(s, i));
			if (r)
				return FG_R_NONE; /* later fragment: done */
		}
		*cur += ext_bytes(&s->ext[i]);
	}
	x->out->proto = nh;
	return expect_l4(x, *cur);
}

static int expect_ipv6(struct expect *x)
{
	const struct pkt_spec *s = x->s;
	struct fg_pkt *out = x->out;
	size_t ip = x->lay.l3_off, cur = ip + 40;
	size_t plen = (s->ov & PKT_OV_TOTLEN) ? s->tot_len : x->lay.ip_end - ip - 40;
	uint8_t ver = (s->ov & PKT_OV_VERSION) ? s->ip_version : 6;
	uint8_t first = s->next ? s->ext[0].type : s->proto;

	if (ip + 40 > x->len)
		return FG_R_TRUNCATED;
	if ((ver & 0xf) != 6)
		return FG_R_BAD_VERSION;
	if (plen == 0 && first != IPPROTO_NONE)
		return FG_R_BAD_TOTLEN; /* jumbogram: unsupported */
	if (cur + plen > x->len)
		return FG_R_BAD_TOTLEN;
	x->l3_end = cur + plen;
	out->family = FG_FAM_V6;
	memcpy(out->src, s->src, 16);
	memcpy(out->dst, s->dst, 16);
	return expect_ext6(x, &cur);
}

static bool is_vlan_tpid(uint16_t t)
{
	return t == PKT_ETH_P_8021Q || t == PKT_ETH_P_8021AD;
}

/* Ethernet and VLAN tags. Returns FG_R_NONE with *type set to the inner
 * ethertype, or a reason. */
static int expect_l2(struct expect *x, uint16_t *type)
{
	const struct pkt_spec *s = x->s;
	size_t off = 14;
	int i;

	if (x->len < 14)
		return FG_R_TRUNCATED;
	for (i = 0; i < s->nvlans; i++) {
		if (!is_vlan_tpid(s->vlans[i].tpid)) {
			/* Not a tag: its TPID is the ethertype. */
			*type = s->vlans[i].tpid;
			x->out->l3_off = off;
			return FG_R_NONE;
		}
		if (i == FG_MAX_VLANS)
			return FG_R_TOO_MANY_VLANS;
		if (off + 4 > x->len)
			return FG_R_TRUNCATED;
		off += 4;
	}
	*type = l3_ethertype(s);
	x->out->l3_off = off;
	return FG_R_NONE;
}

int pkt_expect_len(const struct pkt_spec *s, size_t len, struct fg_pkt *out)
{
	struct expect x = {.s = s, .out = out};
	uint16_t type;
	int r;

	memset(out, 0, sizeof(*out));
	if (pkt_layout(s, &x.lay))
		return -1;
	x.len = len < x.lay.len ? len : x.lay.len;
	out->pkt_len = x.len;
	r = expect_l2(&x, &type);
	if (r != FG_R_NONE)
		return r;
	/* A tag with a foreign TPID ends L2 early: what follows is not
	 * what the spec's l3 describes. */
	if (out->l3_off != x.lay.l3_off) {
		if (type == PKT_ETH_P_IP || type == PKT_ETH_P_IPV6 || is_vlan_tpid(type))
			return -1;
		return FG_R_NONE;
	}
	if (s->l3 == PKT_L3_V4)
		return expect_ipv4(&x);
	if (s->l3 == PKT_L3_V6)
		return expect_ipv6(&x);
	if (type == PKT_ETH_P_IP || type == PKT_ETH_P_IPV6 || is_vlan_tpid(type))
		return -1;
	return FG_R_NONE; /* non-IP */
}

int pkt_expect(const struct pkt_spec *s, struct fg_pkt *out)
{
	return pkt_expect_len(s, (size_t)-1, out);
}

/* ---- comparing and printing -------------------------------------------- */

#define CMP_FIELD(f)                                                                               \
	do {                                                                                       \
		if (want->f != got->f) {                                                           \
			snprintf(why, whylen, #f ": got %lld, want %lld", (long long)got->f,       \
				 (long long)want->f);                                              \
			return false;                                                              \
		}                                                                                  \
	} while (0)

static bool cmp_l4(const struct fg_pkt *want, const struct fg_pkt *got, char *why, size_t whylen)
{
	if (!(want->flags & FG_PKT_L4))
		return true;
	if (want->proto == IPPROTO_TCP || want->proto == IPPROTO_UDP) {
		CMP_FIELD(sport);
		CMP_FIELD(dport);
	}
	if (want->proto == IPPROTO_TCP)
		CMP_FIELD(tcp_flags);
	if (want->proto == IPPROTO_ICMP || want->proto == IPPROTO_ICMPV6) {
		CMP_FIELD(icmp_type);
		CMP_FIELD(icmp_code);
	}
	return true;
}

bool pkt_cmp(const struct fg_pkt *want, const struct fg_pkt *got, char *why, size_t whylen)
{
	size_t alen = want->family == FG_FAM_V4 ? 4 : 16;

	CMP_FIELD(family);
	CMP_FIELD(l3_off);
	if (want->family == FG_FAM_NONE)
		return true;
	if (memcmp(want->src, got->src, alen) || memcmp(want->dst, got->dst, alen)) {
		snprintf(why, whylen, "addresses differ");
		return false;
	}
	CMP_FIELD(proto);
	CMP_FIELD(flags);
	if (want->flags & FG_PKT_FRAG) {
		CMP_FIELD(frag_id);
		CMP_FIELD(frag_next);
	}
	if (want->flags & FG_PKT_FRAG_LATER)
		CMP_FIELD(frag_off);
	return cmp_l4(want, got, why, whylen);
}

void pkt_format(const struct fg_pkt *p, char *buf, size_t len)
{
	char s[INET6_ADDRSTRLEN] = "-", d[INET6_ADDRSTRLEN] = "-";
	int af = p->family == FG_FAM_V6 ? AF_INET6 : AF_INET;

	if (p->family != FG_FAM_NONE) {
		inet_ntop(af, p->src, s, sizeof(s));
		inet_ntop(af, p->dst, d, sizeof(d));
	}
	snprintf(buf, len,
		 "fam %u %s:%u -> %s:%u proto %u flags 0x%x tcp 0x%02x icmp %u/%u "
		 "frag %u/%u ct 0x%x if %u l3 %u len %u",
		 p->family, s, p->sport, d, p->dport, p->proto, p->flags, p->tcp_flags,
		 p->icmp_type, p->icmp_code, p->frag_id, p->frag_off, p->ct_state, p->ifindex,
		 p->l3_off, p->pkt_len);
}
