// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reference model of rule classification (semantics in model.h). Each
 * field has its own predicate, written as plainly as the words of the
 * spec; nothing here is shared with the datapath or the rule compiler, so
 * that a bug there cannot hide by being copied here.
 */
#include <string.h>

#include "model.h"

#define PROTO_TCP 6
#define PROTO_UDP 17

/* Is addr (network order, family's width) inside net/len? Bit by bit:
 * slow and obviously right. */
static bool cidr_has(const struct fg_cidr *c, int family, const uint8_t *addr)
{
	unsigned int i;

	if (c->family != family)
		return false;
	for (i = 0; i < c->len; i++) {
		unsigned int byte = i / 8, bit = 7 - i % 8;

		if (((c->addr[byte] >> bit) & 1) != ((addr[byte] >> bit) & 1))
			return false;
	}
	return true;
}

static bool cidrs_have(const struct fg_cidr *c, size_t n, int family, const uint8_t *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_has(&c[i], family, addr))
			return true;
	return false;
}

static bool addr_matches(const struct policy *p, const struct fg_addr_match *m, int family,
			 const uint8_t *addr)
{
	const struct fg_set_spec *set;

	if (m->any)
		return true;
	if (m->set >= 0) {
		if ((size_t)m->set >= p->nsets)
			return false; /* invalid policy: match nothing */
		set = &p->sets[m->set];
		return cidrs_have(set->cidrs, set->ncidrs, family, addr);
	}
	return cidrs_have(m->cidrs, m->ncidrs, family, addr);
}

static bool proto_matches(const struct fg_rule_spec *r, uint8_t proto)
{
	switch (r->proto_kind) {
	case FG_PROTO_ANY:
		return true;
	case FG_PROTO_NUM:
		return proto == r->proto;
	case FG_PROTO_TCPUDP:
		return proto == PROTO_TCP || proto == PROTO_UDP;
	}
	return false;
}

/* Ports exist only on a TCP/UDP packet whose L4 header was parsed. */
static bool has_ports(const struct fg_pkt *pkt)
{
	return (pkt->flags & FG_PKT_L4) && (pkt->proto == PROTO_TCP || pkt->proto == PROTO_UDP);
}

static bool port_in(const struct fg_port_range *r, size_t n, uint16_t port)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

static bool ports_match(const struct fg_rule_spec *r, const struct fg_pkt *pkt)
{
	if (!r->nsports && !r->ndports)
		return true;
	if (!has_ports(pkt))
		return false;
	if (r->nsports && !port_in(r->sports, r->nsports, pkt->sport))
		return false;
	if (r->ndports && !port_in(r->dports, r->ndports, pkt->dport))
		return false;
	return true;
}

static bool tcp_flags_match(const struct fg_rule_spec *r, const struct fg_pkt *pkt)
{
	if (!r->tcp_set && !r->tcp_clear)
		return true;
	if (!(pkt->flags & FG_PKT_L4) || pkt->proto != PROTO_TCP)
		return false;
	return (pkt->tcp_flags & r->tcp_set) == r->tcp_set && (pkt->tcp_flags & r->tcp_clear) == 0;
}

static bool state_matches(const struct fg_rule_spec *r, const struct fg_pkt *pkt)
{
	return !r->state_mask || (pkt->ct_state & r->state_mask);
}

static bool iface_matches(const struct fg_rule_spec *r, const char *ifname)
{
	size_t i;

	if (!r->nifaces)
		return true;
	if (!ifname)
		return false;
	for (i = 0; i < r->nifaces; i++)
		if (r->ifaces[i] && strcmp(r->ifaces[i], ifname) == 0)
			return true;
	return false;
}

bool model_rule_matches(const struct policy *p, const struct fg_rule_spec *r,
			const struct fg_pkt *pkt, const char *ifname)
{
	if (pkt->family != FG_FAM_V4 && pkt->family != FG_FAM_V6)
		return false;
	return addr_matches(p, &r->src, pkt->family, pkt->src) &&
	       addr_matches(p, &r->dst, pkt->family, pkt->dst) && proto_matches(r, pkt->proto) &&
	       ports_match(r, pkt) && tcp_flags_match(r, pkt) && state_matches(r, pkt) &&
	       iface_matches(r, ifname);
}

int model_classify(const struct policy *p, const struct fg_pkt *pkt, const char *ifname)
{
	size_t i;

	if (pkt->family == FG_FAM_NONE)
		return -1;
	for (i = 0; i < p->nrules; i++)
		if (model_rule_matches(p, &p->rules[i], pkt, ifname))
			return (int)i;
	return -1;
}

int model_verdict(const struct policy *p, const struct fg_pkt *pkt, const char *ifname,
		  int *rule_out)
{
	int rule = model_classify(p, pkt, ifname);

	if (rule_out)
		*rule_out = rule;
	if (rule >= 0)
		return p->rules[rule].action;
	/* Neighbours must keep working under default drop (DESIGN.md §2). */
	if (pkt->family == FG_FAM_NONE || (pkt->flags & FG_PKT_ND))
		return FG_ACT_ALLOW;
	return p->default_action;
}
