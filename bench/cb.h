/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ClassBench rule sets and header traces (../shared/classbench/README.md),
 * loaded straight into a struct policy and an array of headers, for the
 * ns/packet benchmark and the datapath-vs-model test.
 *
 * Mapping: @SRC/LEN DST/LEN SPLO : SPHI DPLO : DPHI PROTO/MASK FLAGS/MASK.
 * 0.0.0.0/0 and 0 : 65535 become "any"; PROTO/0xFF is that protocol;
 * PROTO/0x00 is any protocol, except that a rule with ports and no protocol
 * matches TCP and UDP in flowgate (ClassBench would also match other
 * protocols with port 0 there). Ports on a non-TCP/UDP protocol never match
 * in flowgate. The synthetic flags field is ignored (README).
 */
#ifndef FG_BENCH_CB_H
#define FG_BENCH_CB_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <flowgate/abi.h>
#include "policy.h"

struct cb_hdr {
	uint32_t src, dst; /* network order */
	uint16_t sport, dport;
	uint8_t proto;
};

static inline int cb_cidr(const char *s, struct fg_cidr *c)
{
	unsigned a, b, d, e, len;
	uint32_t v;

	if (sscanf(s, "%u.%u.%u.%u/%u", &a, &b, &d, &e, &len) != 5 || len > 32)
		return -EINVAL;
	v = (a << 24) | (b << 16) | (d << 8) | e;
	if (len < 32)
		v &= len ? ~(0xffffffffu >> len) : 0;
	memset(c, 0, sizeof(*c));
	c->family = 4;
	c->len = len;
	c->addr[0] = v >> 24;
	c->addr[1] = v >> 16;
	c->addr[2] = v >> 8;
	c->addr[3] = v;
	return 0;
}

/* Load at most `max` rules (0 = all) of a ClassBench file into p. */
static inline int cb_load_rules(const char *path, size_t max, struct policy *p)
{
	char line[512], src[64], dst[64];
	unsigned splo, sphi, dplo, dphi, proto, pmask;
	size_t cap = 0;
	gzFile f = gzopen(path, "r");

	memset(p, 0, sizeof(*p));
	p->default_action = FG_ACT_ALLOW;
	if (!f)
		return -errno;
	while (gzgets(f, line, sizeof(line)) && (!max || p->nrules < max)) {
		struct fg_rule_spec *r;
		char name[32];

		if (sscanf(line, "@%63s %63s %u : %u %u : %u %x/%x", src, dst, &splo, &sphi,
			   &dplo, &dphi, &proto, &pmask) != 8)
			continue;
		if (p->nrules == cap) {
			cap = cap ? cap * 2 : 1024;
			p->rules = realloc(p->rules, cap * sizeof(*p->rules));
		}
		r = &p->rules[p->nrules];
		memset(r, 0, sizeof(*r));
		snprintf(name, sizeof(name), "r%zu", p->nrules + 1);
		r->name = strdup(name);
		r->action = FG_ACT_DROP;
		r->src.set = r->dst.set = -1;
		r->src.cidrs = calloc(1, sizeof(struct fg_cidr));
		r->dst.cidrs = calloc(1, sizeof(struct fg_cidr));
		if (cb_cidr(src, r->src.cidrs) || cb_cidr(dst, r->dst.cidrs))
			continue;
		r->src.ncidrs = r->dst.ncidrs = 1;
		r->src.any = r->src.cidrs->len == 0;
		r->dst.any = r->dst.cidrs->len == 0;
		if (!(splo == 0 && sphi == 65535)) {
			r->sports = malloc(sizeof(*r->sports));
			r->sports->lo = splo;
			r->sports->hi = sphi;
			r->nsports = 1;
		}
		if (!(dplo == 0 && dphi == 65535)) {
			r->dports = malloc(sizeof(*r->dports));
			r->dports->lo = dplo;
			r->dports->hi = dphi;
			r->ndports = 1;
		}
		if (pmask == 0xff) {
			r->proto_kind = FG_PROTO_NUM;
			r->proto = proto;
		} else if (r->nsports || r->ndports) {
			r->proto_kind = FG_PROTO_TCPUDP;
		}
		p->nrules++;
	}
	gzclose(f);
	return p->nrules ? 0 : -EINVAL;
}

static inline void cb_free_rules(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		free(p->rules[i].name);
		free(p->rules[i].src.cidrs);
		free(p->rules[i].dst.cidrs);
		free(p->rules[i].sports);
		free(p->rules[i].dports);
	}
	free(p->rules);
	memset(p, 0, sizeof(*p));
}

/*
 * The IPv6 variant of a set, for the IPv6 classifier on the same
 * structure: address a.b.c.d becomes 2001:db8:ab:cd:: (the IPv4 address
 * in bits 32-63) and prefix /len /32+len; "any" stays any.
 */
static inline void cb_addr6(uint8_t a6[16], uint32_t v4 /* network order */)
{
	static const uint8_t doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };

	memset(a6, 0, 16);
	memcpy(a6, doc, 4);
	memcpy(a6 + 4, &v4, 4);
}

static inline void cb_cidr6(struct fg_cidr *c)
{
	uint32_t v4;

	if (c->family != 4)
		return;
	memcpy(&v4, c->addr, 4);
	cb_addr6(c->addr, v4);
	c->family = 6;
	c->len += 32;
}

static inline void cb_rules_to_v6(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		if (!p->rules[i].src.any)
			cb_cidr6(p->rules[i].src.cidrs);
		if (!p->rules[i].dst.any)
			cb_cidr6(p->rules[i].dst.cidrs);
	}
}

/* Load at most `max` headers (0 = all) of a trace file. */
static inline int cb_load_trace(const char *path, size_t max, struct cb_hdr **out,
				size_t *n)
{
	unsigned long s, d, sp, dp, pr;
	size_t cap = 0, k = 0;
	struct cb_hdr *v = NULL;
	char line[256];
	gzFile f = gzopen(path, "r");

	*out = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (gzgets(f, line, sizeof(line)) && (!max || k < max)) {
		if (sscanf(line, "%lu %lu %lu %lu %lu", &s, &d, &sp, &dp, &pr) != 5)
			continue;
		if (k == cap) {
			cap = cap ? cap * 2 : 4096;
			v = realloc(v, cap * sizeof(*v));
		}
		v[k].src = __builtin_bswap32((uint32_t)s);
		v[k].dst = __builtin_bswap32((uint32_t)d);
		v[k].sport = sp;
		v[k].dport = dp;
		v[k].proto = pr;
		k++;
	}
	gzclose(f);
	*out = v;
	*n = k;
	return k ? 0 : -EINVAL;
}

#endif /* FG_BENCH_CB_H */
