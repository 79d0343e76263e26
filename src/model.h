/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Reference model of rule classification: the specification the datapath
 * classifier is tested against (differentially, on random policies and
 * packets). It walks the rules in order and checks every field directly,
 * with none of the datapath's tables; it is slow on purpose.
 *
 * Semantics. A packet (struct fg_pkt, as the parser fills it, plus the name
 * of the interface it arrived on) matches a rule when every field the rule
 * has matches:
 *
 *  src, dst   any: every IP packet. A CIDR list: the packet's address is in
 *             one of the CIDRs of the packet's family; CIDRs of the other
 *             family never match, so a rule whose src holds only IPv4 CIDRs
 *             matches no IPv6 packet. @set: the same over the set's CIDRs
 *             (an empty list or set matches nothing).
 *  proto      FG_PROTO_ANY: every IP packet. FG_PROTO_NUM: pkt.proto equals
 *             the number (pkt.proto is the protocol after IPv6 extension
 *             headers). FG_PROTO_TCPUDP: pkt.proto is 6 or 17.
 *  sport,     the packet has FG_PKT_L4, pkt.proto is TCP or UDP, and the
 *  dport      port is inside one of the inclusive ranges. Non-first
 *             fragments (no FG_PKT_L4) never match a rule with ports.
 *  tcp_flags  (tcp_set or tcp_clear non-zero) the packet is TCP with
 *             FG_PKT_L4, every tcp_set bit is set and every tcp_clear bit
 *             is clear.
 *  state      state_mask 0: every packet; else pkt.ct_state & state_mask.
 *  iface      no names: every interface; else the arrival interface's name
 *             is one of them (a NULL name matches none).
 *
 * The first matching rule in file order wins. Non-IP frames (family
 * FG_FAM_NONE) are never classified.
 *
 * Verdict: the winning rule's action (allow, drop, log). With no rule:
 * non-IP frames and ICMPv6 neighbour discovery (FG_PKT_ND) are allowed,
 * even under `default: drop`, so that the host keeps its neighbours; any
 * other packet gets the policy's default. ND is classified like any packet
 * first, so a rule that names it wins.
 *
 * Not modelled (stateful, tested on their own): bans, per-rule rates, the
 * first-fragment verdict that later fragments inherit, connection tracking
 * (ct_state is an input here), protections and the load balancer.
 */
#ifndef FG_MODEL_H
#define FG_MODEL_H

#include "flowgate/abi.h"
#include "policy.h"

/* Index (0-based, file order) of the first rule the packet matches, or -1:
 * no rule matched, or the frame is not IP. */
int model_classify(const struct policy *p, const struct fg_pkt *pkt, const char *ifname);

/* Whether one rule matches (the per-rule step of model_classify). */
bool model_rule_matches(const struct policy *p, const struct fg_rule_spec *r,
			const struct fg_pkt *pkt, const char *ifname);

/* The action taken (FG_ACT_ALLOW, FG_ACT_DROP or FG_ACT_LOG); *rule_out
 * (optional) gets model_classify()'s answer. */
int model_verdict(const struct policy *p, const struct fg_pkt *pkt, const char *ifname,
		  int *rule_out);

#endif /* FG_MODEL_H */
