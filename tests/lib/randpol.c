// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Random policies and packets for differential tests (see randpol.h).
 * The draws are weighted toward what breaks classifiers: prefix edges,
 * port range edges, mixed families in one rule, large sets, overlapping
 * rules. Never call rand(): every draw goes through the seeded generator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "randpol.h"

/* ---- generator ---------------------------------------------------------- */

void randpol_seed(struct randpol_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t randpol_next(struct randpol_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint32_t randpol_below(struct randpol_rng *r, uint32_t n)
{
	/* Multiply-shift (Lemire): no modulo, bias below 2^-32. */
	return (uint32_t)(((randpol_next(r) >> 32) * (uint64_t)n) >> 32);
}

bool randpol_chance(struct randpol_rng *r, unsigned int pct)
{
	return randpol_below(r, 100) < pct;
}

#define PICK(r, arr) ((arr)[randpol_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* ---- addresses ---------------------------------------------------------- */

struct pool {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

static const struct pool pools[] = {
    {4, 16, {10, 0}},
    {4, 16, {10, 1}},
    {4, 24, {192, 0, 2}},
    {6, 48, {0x20, 0x01, 0x0d, 0xb8, 0, 0}},
    {6, 48, {0x20, 0x01, 0x0d, 0xb8, 0, 1}},
    {6, 48, {0x20, 0x01, 0x0d, 0xb8, 0, 0xff}},
};

static const struct pool *pick_pool(struct randpol_rng *r, int family)
{
	const struct pool *p;

	do
		p = &pools[randpol_below(r, sizeof(pools) / sizeof(pools[0]))];
	while (family && p->family != family);
	return p;
}

/* An address in a pool, host part mostly small so that long prefixes
 * (/120, /28, host routes) are hit by chance too. */
static void pool_addr(struct randpol_rng *r, int family, uint8_t a[16])
{
	const struct pool *p = pick_pool(r, family);

	memcpy(a, p->addr, 16);
	if (p->family == 4) {
		if (p->len == 16)
			a[2] = randpol_chance(r, 70) ? randpol_below(r, 3) : randpol_below(r, 256);
		a[3] = randpol_below(r, 256);
		return;
	}
	if (randpol_chance(r, 15))
		a[6 + randpol_below(r, 8)] = randpol_below(r, 256);
	a[14] = randpol_chance(r, 70) ? randpol_below(r, 2) : randpol_below(r, 256);
	a[15] = randpol_below(r, 256);
}

static int addr_bits(int family)
{
	return family == 4 ? 32 : 128;
}

static void clear_host_bits(uint8_t a[16], int family, int len)
{
	int i;

	for (i = len; i < addr_bits(family); i++)
		a[i / 8] &= (uint8_t) ~(0x80 >> (i % 8));
}

/* Copy the first len bits of net over a. */
static void put_prefix(uint8_t a[16], const uint8_t net[16], int len)
{
	int i;

	for (i = 0; i < len; i++) {
		uint8_t m = 0x80 >> (i % 8);

		a[i / 8] = (a[i / 8] & ~m) | (net[i / 8] & m);
	}
}

/* Mostly prefixes longer than a pool (they split it); now and then /0 or a
 * prefix covering whole pools, which overlap everything. */
static int rand_len(struct randpol_rng *r, int family)
{
	static const uint8_t v4[] = {20, 24, 24, 26, 28, 30, 31, 32, 32, 32};
	static const uint8_t v6[] = {52, 56, 64, 96, 112, 120, 124, 127, 128, 128};
	unsigned int k = randpol_below(r, 100);

	if (k < 2)
		return 0;
	if (k < 7)
		return family == 4 ? 8 + 8 * randpol_below(r, 2) : 32 + 16 * randpol_below(r, 2);
	if (k < 15)
		return randpol_below(r, addr_bits(family) + 1);
	return family == 4 ? PICK(r, v4) : PICK(r, v6);
}

static void rand_cidr(struct randpol_rng *r, int family, bool narrow, struct fg_cidr *c)
{
	if (!family)
		family = randpol_chance(r, 50) ? 4 : 6;
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->len = rand_len(r, family);
	/* Blocklist-like sets: host routes and small nets only. */
	if (narrow && c->len < addr_bits(family) * 3 / 4)
		c->len = addr_bits(family) - randpol_below(r, 8);
	pool_addr(r, family, c->addr);
	clear_host_bits(c->addr, family, c->len);
}

/* n CIDRs of `family`, or (family 0) usually one random family, else
 * mixed. */
static struct fg_cidr *rand_cidrs(struct randpol_rng *r, size_t n, int family, bool narrow)
{
	struct fg_cidr *c = calloc(n ? n : 1, sizeof(*c));
	size_t i;

	if (!family && randpol_chance(r, 70))
		family = randpol_chance(r, 50) ? 4 : 6;

	if (!c)
		return NULL;
	for (i = 0; i < n; i++)
		rand_cidr(r, family, narrow, &c[i]);
	return c;
}

/* ---- rules ---------------------------------------------------------------- */

static uint16_t rand_port(struct randpol_rng *r)
{
	static const uint16_t edge[] = {0,    1,    22,	  53,	 80,	443,
					1023, 1024, 8080, 49151, 65534, 65535};

	return randpol_chance(r, 70) ? PICK(r, edge) : randpol_below(r, 65536);
}

static struct fg_port_range *rand_ports(struct randpol_rng *r, size_t *n)
{
	struct fg_port_range *pr;
	size_t i;

	*n = 1 + randpol_below(r, 3);
	pr = calloc(*n, sizeof(*pr));
	if (!pr)
		return NULL;
	for (i = 0; i < *n; i++) {
		uint16_t a = rand_port(r), b = rand_port(r);

		if (randpol_chance(r, 60))
			b = a; /* a single port */
		pr[i].lo = a < b ? a : b;
		pr[i].hi = a < b ? b : a;
	}
	return pr;
}

/* `family`: the other address's family if it has only one, so that most
 * rules can match something (a v4 src with a v6 dst never does). */
static int rand_addr_match(struct randpol_rng *r, const struct policy *p, int family,
			   struct fg_addr_match *m)
{
	unsigned int k = randpol_below(r, 100);

	memset(m, 0, sizeof(*m));
	m->set = -1;
	if (k < 35) {
		m->any = true;
		return 0;
	}
	if (k < 60 && p->nsets) {
		m->set = randpol_below(r, p->nsets);
		return 0;
	}
	m->ncidrs = 1 + (randpol_chance(r, 50) ? 0 : randpol_below(r, 4));
	m->cidrs = rand_cidrs(r, m->ncidrs, randpol_chance(r, 90) ? family : 0, false);
	return m->cidrs ? 0 : -ENOMEM;
}

static void rand_proto(struct randpol_rng *r, struct fg_rule_spec *rs)
{
	static const uint8_t nums[] = {6, 6, 6, 17, 17, 1, 58};

	rs->proto_kind = FG_PROTO_NUM;
	if (randpol_chance(r, 25))
		rs->proto_kind = FG_PROTO_ANY;
	else if (randpol_chance(r, 15))
		rs->proto_kind = FG_PROTO_TCPUDP;
	else if (randpol_chance(r, 10))
		rs->proto = randpol_below(r, 256);
	else
		rs->proto = PICK(r, nums);
}

static bool proto_has_ports(const struct fg_rule_spec *rs)
{
	return rs->proto_kind == FG_PROTO_TCPUDP ||
	       (rs->proto_kind == FG_PROTO_NUM && (rs->proto == 6 || rs->proto == 17));
}

static const uint8_t tcp_bits[] = {FG_TCP_FIN, FG_TCP_SYN, FG_TCP_RST, FG_TCP_PSH,
				   FG_TCP_ACK, FG_TCP_URG, FG_TCP_ECE, FG_TCP_CWR};

/* Some bits that must be set and some other bits that must be clear. */
static void rand_tcp_flags(struct randpol_rng *r, struct fg_rule_spec *rs)
{
	unsigned int i, n = 1 + randpol_below(r, 3);

	for (i = 0; i < n; i++) {
		uint8_t b = PICK(r, tcp_bits);

		if ((rs->tcp_set | rs->tcp_clear) & b)
			continue;
		if (randpol_chance(r, 60))
			rs->tcp_set |= b;
		else
			rs->tcp_clear |= b;
	}
}

static int rand_ifaces(struct randpol_rng *r, struct fg_rule_spec *rs)
{
	unsigned int k = randpol_below(r, 3);

	rs->nifaces = (k == 2) ? 2 : 1;
	rs->ifaces = calloc(rs->nifaces, sizeof(char *));
	if (!rs->ifaces)
		return -ENOMEM;
	rs->ifaces[0] = strdup(k == 1 ? "fgt1" : "fgt0");
	if (k == 2)
		rs->ifaces[1] = strdup("fgt1");
	if (!rs->ifaces[0] || (k == 2 && !rs->ifaces[1]))
		return -ENOMEM;
	return 0;
}

static int rand_l4(struct randpol_rng *r, struct fg_rule_spec *rs)
{
	if (proto_has_ports(rs) && randpol_chance(r, 35)) {
		rs->dports = rand_ports(r, &rs->ndports);
		if (!rs->dports)
			return -ENOMEM;
	}
	if (proto_has_ports(rs) && randpol_chance(r, 20)) {
		rs->sports = rand_ports(r, &rs->nsports);
		if (!rs->sports)
			return -ENOMEM;
	}
	if (rs->proto_kind == FG_PROTO_NUM && rs->proto == 6 && randpol_chance(r, 30))
		rand_tcp_flags(r, rs);
	return 0;
}

/* 4 or 6 when every CIDR of the field is of that family, else 0. */
static int one_family(const struct policy *p, const struct fg_addr_match *m)
{
	const struct fg_cidr *c = m->cidrs;
	size_t i, n = m->ncidrs;

	if (m->any)
		return 0;
	if (m->set >= 0) {
		c = p->sets[m->set].cidrs;
		n = p->sets[m->set].ncidrs;
	}
	for (i = 1; i < n; i++)
		if (c[i].family != c[0].family)
			return 0;
	return n ? c[0].family : 0;
}

static bool is_catch_all(const struct fg_rule_spec *rs)
{
	return rs->src.any && rs->dst.any && rs->proto_kind == FG_PROTO_ANY && !rs->state_mask &&
	       !rs->nifaces;
}

static int rand_rule(struct randpol_rng *r, const struct policy *p, unsigned int idx,
		     unsigned int nrules, struct fg_rule_spec *rs)
{
	static const int actions[] = {FG_ACT_ALLOW, FG_ACT_DROP, FG_ACT_LOG};
	char name[24];

	snprintf(name, sizeof(name), "r%u", idx);
	rs->name = strdup(name);
	rs->pos.line = (int)idx + 1;
	rs->pos.col = 5;
	rs->action = PICK(r, actions);
	rs->src.set = rs->dst.set = -1;
	if (!rs->name || rand_addr_match(r, p, 0, &rs->src) ||
	    rand_addr_match(r, p, one_family(p, &rs->src), &rs->dst))
		return -ENOMEM;
	/* Rules with neither address shadow much of what follows: keep them
	 * rare so that deep rules are reached. */
	while (rs->src.any && rs->dst.any && randpol_chance(r, 80))
		if (rand_addr_match(r, p, 0, &rs->dst))
			return -ENOMEM;
	rand_proto(r, rs);
	if (rand_l4(r, rs))
		return -ENOMEM;
	if (randpol_chance(r, 20))
		while (!rs->state_mask)
			rs->state_mask =
			    randpol_below(r, 8) & (FG_CT_NEW | FG_CT_ESTABLISHED | FG_CT_RELATED);
	if (randpol_chance(r, 20) && rand_ifaces(r, rs))
		return -ENOMEM;
	/* A rule matching every packet ends the policy: only as the last. */
	while (idx + 1 < nrules && is_catch_all(rs))
		if (rand_addr_match(r, p, 0, &rs->src))
			return -ENOMEM;
	return 0;
}

/* ---- sets and the policy -------------------------------------------------- */

static int rand_set(struct randpol_rng *r, unsigned int idx, unsigned int big,
		    struct fg_set_spec *s)
{
	/* One set in three is large, to stress set tables. */
	bool large = idx % 3 == 2;
	char name[24];

	snprintf(name, sizeof(name), "s%u", idx);
	s->name = strdup(name);
	s->pos.line = (int)idx + 1;
	s->pos.col = 3;
	s->ncidrs = large ? big : 1 + randpol_below(r, 20);
	s->cidrs = rand_cidrs(r, s->ncidrs, 0, large);
	return (s->name && s->cidrs) ? 0 : -ENOMEM;
}

static int rand_ifspecs(struct policy *p)
{
	p->ifaces = calloc(2, sizeof(*p->ifaces));
	if (!p->ifaces)
		return -ENOMEM;
	p->nifaces = 2;
	p->ifaces[0].name = strdup("fgt0");
	p->ifaces[1].name = strdup("fgt1");
	if (!p->ifaces[0].name || !p->ifaces[1].name)
		return -ENOMEM;
	return 0;
}

static int rand_sets(struct randpol_rng *r, const struct randpol_opts *o, struct policy *p)
{
	unsigned int i, n = o->nsets ? o->nsets : 1 + randpol_below(r, 4);

	if (o->no_sets)
		return 0;
	if (n > FG_MAX_SETS)
		n = FG_MAX_SETS;
	p->sets = calloc(n, sizeof(*p->sets));
	if (!p->sets)
		return -ENOMEM;
	p->nsets = n;
	for (i = 0; i < n; i++)
		if (rand_set(r, i, o->big_set ? o->big_set : 1000, &p->sets[i]))
			return -ENOMEM;
	return 0;
}

int randpol_build(struct randpol_rng *r, const struct randpol_opts *o, struct policy *p)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->version = 1;
	p->default_action = randpol_chance(r, 50) ? FG_ACT_ALLOW : FG_ACT_DROP;
	p->path = strdup("<random>");
	if (!p->path || rand_ifspecs(p) || rand_sets(r, o, p))
		goto fail;
	p->rules = calloc(o->nrules ? o->nrules : 1, sizeof(*p->rules));
	if (!p->rules)
		goto fail;
	for (i = 0; i < o->nrules; i++) {
		p->nrules = i + 1; /* so that randpol_free sees a partial rule */
		if (rand_rule(r, p, i, o->nrules, &p->rules[i]))
			goto fail;
	}
	return 0;
fail:
	randpol_free(p);
	return -ENOMEM;
}

static void free_rule(struct fg_rule_spec *rs)
{
	size_t i;

	free(rs->name);
	free(rs->src.cidrs);
	free(rs->dst.cidrs);
	free(rs->sports);
	free(rs->dports);
	for (i = 0; i < rs->nifaces && rs->ifaces; i++)
		free(rs->ifaces[i]);
	free(rs->ifaces);
}

void randpol_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		free_rule(&p->rules[i]);
	free(p->rules);
	for (i = 0; i < p->nsets; i++) {
		free(p->sets[i].name);
		free(p->sets[i].file);
		free(p->sets[i].file_resolved);
		free(p->sets[i].cidrs);
	}
	free(p->sets);
	for (i = 0; i < p->nifaces; i++)
		free(p->ifaces[i].name);
	free(p->ifaces);
	free(p->path);
	memset(p, 0, sizeof(*p));
}

/* ---- packets -------------------------------------------------------------- */

/* The CIDRs an address field can match, NULL for any. */
static const struct fg_cidr *match_cidrs(const struct policy *p, const struct fg_addr_match *m,
					 size_t *n)
{
	*n = 0;
	if (m->any)
		return NULL;
	if (m->set >= 0 && (size_t)m->set < p->nsets) {
		*n = p->sets[m->set].ncidrs;
		return p->sets[m->set].cidrs;
	}
	*n = m->ncidrs;
	return m->cidrs;
}

/* A CIDR of the field, of `family` when non-zero; NULL if none. Tries a
 * few random picks, then scans, so large sets stay cheap. */
static const struct fg_cidr *pick_cidr(struct randpol_rng *r, const struct policy *p,
				       const struct fg_addr_match *m, int family)
{
	size_t n, i, start;
	const struct fg_cidr *c = match_cidrs(p, m, &n);

	if (!n)
		return NULL;
	start = randpol_below(r, (uint32_t)n);
	for (i = 0; i < n; i++) {
		const struct fg_cidr *x = &c[(start + i) % n];

		if (!family || x->family == family)
			return x;
	}
	return NULL;
}

/* An address inside the CIDR (or just outside it, now and then). */
static void addr_near(struct randpol_rng *r, const struct fg_cidr *c, uint8_t a[16])
{
	pool_addr(r, c->family, a);
	put_prefix(a, c->addr, c->len);
	if (c->len && randpol_chance(r, 15)) {
		int bit = c->len - 1 - (int)randpol_below(r, c->len < 3 ? c->len : 3);

		a[bit / 8] ^= 0x80 >> (bit % 8);
	}
}

static void rand_addr(struct randpol_rng *r, const struct policy *p, const struct fg_addr_match *m,
		      int family, uint8_t a[16])
{
	const struct fg_cidr *c = NULL;

	memset(a, 0, 16);
	if (m && randpol_chance(r, 85))
		c = pick_cidr(r, p, m, family);
	if (c) {
		addr_near(r, c, a);
	} else if (randpol_chance(r, 5)) {
		uint64_t x = randpol_next(r), y = randpol_next(r);

		memcpy(a, &x, 8);
		if (family == 6)
			memcpy(a + 8, &y, 8);
		else
			memset(a + 4, 0, 4);
	} else {
		pool_addr(r, family, a);
	}
}

static int pick_family(struct randpol_rng *r, const struct policy *p, const struct fg_rule_spec *t)
{
	const struct fg_cidr *c = NULL;

	if (t && randpol_chance(r, 90)) {
		c = pick_cidr(r, p, &t->src, 0);
		if (!c)
			c = pick_cidr(r, p, &t->dst, 0);
	}
	if (c)
		return c->family;
	return randpol_chance(r, 50) ? 4 : 6;
}

static bool is_ext6_num(uint8_t n)
{
	return n == 0 || n == 43 || n == 44 || n == 51 || n == 60;
}

static uint8_t pick_proto(struct randpol_rng *r, const struct fg_rule_spec *t, int family)
{
	uint8_t icmp = family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	uint8_t pr;

	if (t && t->proto_kind == FG_PROTO_NUM && randpol_chance(r, 85))
		pr = t->proto;
	else if (t && t->proto_kind == FG_PROTO_TCPUDP && randpol_chance(r, 85))
		pr = randpol_chance(r, 50) ? IPPROTO_TCP : IPPROTO_UDP;
	else if (randpol_chance(r, 10))
		pr = randpol_below(r, 256);
	else {
		const uint8_t common[] = {IPPROTO_TCP, IPPROTO_TCP, IPPROTO_UDP, icmp, icmp};

		pr = PICK(r, common);
	}
	/* An extension header number as L4 would make the parser walk the
	 * payload; such packets do not arise from a real stack. */
	if (family == 6 && is_ext6_num(pr))
		pr = IPPROTO_UDP;
	return pr;
}

static uint16_t port_near(struct randpol_rng *r, const struct fg_port_range *pr, size_t n)
{
	const struct fg_port_range *x;

	if (!n || randpol_chance(r, 10))
		return rand_port(r);
	x = &pr[randpol_below(r, (uint32_t)n)];
	switch (randpol_below(r, 5)) {
	case 0:
		return x->lo;
	case 1:
		return x->hi;
	case 2:
		return x->lo ? x->lo - 1 : x->lo;
	case 3:
		return x->hi < 65535 ? x->hi + 1 : x->hi;
	}
	return x->lo + randpol_below(r, (uint32_t)x->hi - x->lo + 1);
}

static uint8_t pick_tcp_flags(struct randpol_rng *r, const struct fg_rule_spec *t)
{
	static const uint8_t common[] = {
	    FG_TCP_SYN,
	    FG_TCP_SYN | FG_TCP_ACK,
	    FG_TCP_ACK,
	    FG_TCP_FIN | FG_TCP_ACK,
	    FG_TCP_RST,
	    FG_TCP_PSH | FG_TCP_ACK,
	    FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG,
	};
	uint8_t f;

	if (t && (t->tcp_set || t->tcp_clear) && randpol_chance(r, 80)) {
		f = (randpol_below(r, 256) | t->tcp_set) & ~t->tcp_clear;
		if (randpol_chance(r, 30))
			f ^= PICK(r, tcp_bits); /* one bit off */
		return f;
	}
	return randpol_chance(r, 80) ? PICK(r, common) : randpol_below(r, 256);
}

static uint8_t pick_icmp_type(struct randpol_rng *r, int family)
{
	static const uint8_t v4[] = {0, 3, 8, 11};
	static const uint8_t v6[] = {1, 128, 129, 133, 134, 135, 136, 137};

	if (randpol_chance(r, 10))
		return randpol_below(r, 256);
	return family == 4 ? PICK(r, v4) : PICK(r, v6);
}

static void rand_l4_fields(struct randpol_rng *r, const struct fg_rule_spec *t, struct pkt_spec *s,
			   int family)
{
	s->sport = port_near(r, t ? t->sports : NULL, t ? t->nsports : 0);
	s->dport = port_near(r, t ? t->dports : NULL, t ? t->ndports : 0);
	s->tcp_flags = pick_tcp_flags(r, t);
	s->icmp_type = pick_icmp_type(r, family);
	s->icmp_code = randpol_chance(r, 80) ? 0 : randpol_below(r, 16);
	if (s->icmp_type >= 133 && s->icmp_type <= 137)
		s->ttl = 255; /* ND is only valid with hop limit 255 */
	if (s->proto == IPPROTO_TCP && randpol_chance(r, 20)) {
		static const uint8_t mss[] = {2, 4, 0x05, 0xb4};

		memcpy(s->tcp_opts, mss, sizeof(mss));
		s->tcp_optlen = sizeof(mss);
	}
}

/* Fragments: later ones start past any L4 header (offset >= 3 * 8 bytes),
 * so that overlap (a separate datapath check) does not arise. */
static void rand_frag(struct randpol_rng *r, struct pkt_spec *s, int family)
{
	unsigned int k = randpol_below(r, 100);
	uint16_t off = 0;
	bool more = true;

	if (k >= 12)
		return;
	if (k < 7) {
		off = 3 + randpol_below(r, 1000);
		more = randpol_chance(r, 50);
	}
	if (family == 4) {
		s->ip_id = randpol_below(r, 65536);
		s->frag_off = off;
		s->frag_mf = more;
	} else {
		pkt_add_frag6(s, off, more, (uint32_t)randpol_next(r));
	}
}

/* A few IPv6 extension headers before any fragment header. */
static void rand_ext6(struct randpol_rng *r, struct pkt_spec *s)
{
	static const uint8_t types[] = {IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_AH};
	unsigned int i, n;

	if (!randpol_chance(r, 20))
		return;
	if (randpol_chance(r, 50))
		pkt_add_ext(s, IPPROTO_HOPOPTS, randpol_below(r, 2));
	n = randpol_below(r, 3);
	for (i = 0; i < n; i++)
		pkt_add_ext(s, PICK(r, types), 2 * randpol_below(r, 2));
}

/* No tag mostly; one 802.1Q or 802.1ad tag; or QinQ (802.1ad outside). */
static void rand_l2(struct randpol_rng *r, struct pkt_spec *s)
{
	unsigned int k = randpol_below(r, 100);

	if (k >= 15)
		return;
	pkt_add_vlan(s, k < 5 ? PKT_ETH_P_8021AD : PKT_ETH_P_8021Q, 1 + randpol_below(r, 4094));
	if (k < 5)
		pkt_add_vlan(s, PKT_ETH_P_8021Q, 1 + randpol_below(r, 4094));
}

static void rand_nonip(struct randpol_rng *r, struct pkt_spec *s)
{
	pkt_spec_init(s, randpol_chance(r, 50) ? PKT_L3_ARP : PKT_L3_RAW, 0);
	s->payload_len = s->l3 == PKT_L3_RAW ? 46 : 0;
	rand_l2(r, s);
}

static void rand_ip(struct randpol_rng *r, const struct policy *p, struct pkt_spec *s)
{
	const struct fg_rule_spec *t = NULL;
	int family;

	if (p->nrules && randpol_chance(r, 80))
		t = &p->rules[randpol_below(r, (uint32_t)p->nrules)];
	family = pick_family(r, p, t);
	pkt_spec_init(s, family == 4 ? PKT_L3_V4 : PKT_L3_V6, 0);
	rand_addr(r, p, t ? &t->src : NULL, family, s->src);
	rand_addr(r, p, t ? &t->dst : NULL, family, s->dst);
	s->proto = pick_proto(r, t, family);
	rand_l4_fields(r, t, s, family);
	rand_l2(r, s);
	if (family == 6) {
		rand_ext6(r, s);
	} else if (randpol_chance(r, 5)) {
		s->ip_optlen = 3; /* NOP NOP NOP, then EOL padding */
		memset(s->ip_opts, 1, s->ip_optlen);
	}
	rand_frag(r, s, family);
	/* Never empty: an IPv6 payload_len of 0 means a jumbogram. */
	s->payload_len = 1 + randpol_below(r, 64);
}

static const char *const ifnames[] = {"fgt0", "fgt1", "fgt2"};

void randpol_packet(struct randpol_rng *r, const struct policy *p, struct randpkt *out)
{
	static const uint8_t states[] = {FG_CT_NEW, FG_CT_ESTABLISHED, FG_CT_RELATED,
					 FG_CT_INVALID};
	int reason;

	if (randpol_chance(r, 3))
		rand_nonip(r, &out->spec);
	else
		rand_ip(r, p, &out->spec);
	reason = pkt_expect(&out->spec, &out->pkt);
	if (reason != FG_R_NONE) {
		/* A generator bug, not a test failure: stop loudly. */
		fprintf(stderr, "randpol: generated a malformed packet (%d)\n", reason);
		abort();
	}
	out->pkt.ct_state = PICK(r, states);
	out->ifname = PICK(r, ifnames);
}
