/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Random policies and packets for differential tests (datapath classifier
 * against src/model.c). Everything comes from one seeded PRNG, so a seed
 * printed by a failing run reproduces it exactly, on any machine.
 *
 * Addresses come from a small pool (10.0.0.0/16, 10.1.0.0/16, 192.0.2.0/24,
 * 2001:db8:0::/48, 2001:db8:1::/48, 2001:db8:ff::/48, with host parts kept
 * small) and packets are drawn mostly from the rules' own CIDRs, ports and
 * flags, on and just off their edges, so that random packets hit rules
 * often and near-misses are common.
 *
 * Usage:
 *	struct randpol_rng rng;
 *	struct policy pol;
 *	struct randpkt rp;
 *
 *	randpol_seed(&rng, seed);
 *	if (randpol_build(&rng, &(struct randpol_opts){ .nrules = 50 }, &pol))
 *		...;
 *	for (i = 0; i < n; i++) {
 *		randpol_packet(&rng, &pol, &rp);
 *		want = model_verdict(&pol, &rp.pkt, rp.ifname, &rule);
 *		... build rp.spec with pkt_build(), run the datapath, compare
 *	}
 *	randpol_free(&pol);
 */
#ifndef FG_TEST_RANDPOL_H
#define FG_TEST_RANDPOL_H

#include <stdint.h>

#include "policy.h"
#include "pkt.h"

/* splitmix64: tiny, fast, and the same sequence everywhere. */
struct randpol_rng {
	uint64_t s;
};

void randpol_seed(struct randpol_rng *r, uint64_t seed);
uint64_t randpol_next(struct randpol_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t randpol_below(struct randpol_rng *r, uint32_t n);
/* true with probability pct/100. */
bool randpol_chance(struct randpol_rng *r, unsigned int pct);

struct randpol_opts {
	unsigned int nrules;  /* rules; 0 is a valid (empty) policy */
	unsigned int nsets;   /* named sets; 0 = a few (1..4) */
	unsigned int big_set; /* size of the large sets; 0 = 1000 */
	bool no_sets;	      /* no named sets at all */
};

/*
 * Build a valid random policy (per policy.h: CIDRs normalised with host
 * bits clear, unique names r0.. / s0.., sets referenced by index, ports
 * only with tcp/udp/tcp+udp, tcp_flags only with tcp, no rates).
 * Interfaces "fgt0" and "fgt1" are declared; rules name them in iface.
 * Returns 0, or -ENOMEM (the policy is then freed).
 */
int randpol_build(struct randpol_rng *r, const struct randpol_opts *o, struct policy *out);

/* Free a policy made by randpol_build() (not one from policy_load()). */
void randpol_free(struct policy *p);

/* One random packet: the frame's spec, what a parser extracts from it (plus
 * a random ct_state; ifindex left 0 for the caller), and the arrival
 * interface: "fgt0", "fgt1" or "fgt2" (named by no rule). */
struct randpkt {
	struct pkt_spec spec;
	struct fg_pkt pkt;
	const char *ifname;
};

void randpol_packet(struct randpol_rng *r, const struct policy *p, struct randpkt *out);

#endif /* FG_TEST_RANDPOL_H */
