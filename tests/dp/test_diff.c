// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Differential test: random policies x random packets (tests/lib/randpol)
 * through the real datapath (compile_tables -> dp_install ->
 * BPF_PROG_TEST_RUN) and through the reference model (src/model.c). Both
 * must give the same verdict AND the same rule: the datapath's rule is the
 * stats slot that counted the packet (rule i -> slot i + 1, default -> 0,
 * none for non-IP and neighbour discovery).
 *
 * What the model takes as input but the datapath computes is made to
 * agree: a packet's ct_state is ESTABLISHED (an fg_ct entry is written for
 * its flow before it runs), or with no entry INVALID for a TCP segment that
 * cannot open a flow and NEW otherwise (RELATED, which needs an ICMP error
 * quoting a tracked flow, becomes one of those), and the conntrack maps
 * are emptied after each packet. What the model does not model is left
 * out: later fragments (they inherit their first fragment's verdict).
 *
 * `make test` runs a fixed seed and size; for longer runs:
 *	FG_DIFF_SEED=n      base seed (policy i uses seed n * 1000003 + i)
 *	FG_DIFF_ITERS=n     random policies (default 200)
 *	FG_DIFF_PKTS=n      packets per policy (default 500)
 *	FG_DIFF_BIG=n       large policies (1k..5k rules; default 3)
 *	FG_DIFF_MUTATE=1    self-check: install wrong policies, expect failures
 * A mismatch prints the seed, the packet, and the policy shrunk to the
 * fewest rules that still disagree, in policy-file form.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "test.h"
#include "dptest.h"
#include "model.h"
#include "pkt.h"
#include "randpol.h"

FG_TEST_GLOBALS;

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_REPORTS 3 /* mismatches reported in full per run */

static struct dp *dp;
static uint64_t gen;
static uint8_t buf[PKT_MAX_FRAME];
static const char *const ifnames[] = {"fgt0", "fgt1", "fgt2"};
static int reports;
static uint64_t cur_base; /* base seed of the running batch, for messages */

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* ---- counters ------------------------------------------------------------- */


static uint64_t slot_packets(uint32_t slot)
{
	struct fg_counter c;

	if (dp_counter(dp, dp_map_fd(dp, "fg_rule_stats"), slot, &c))
		return (uint64_t)-1;
	return c.packets;
}

/* Packets of slots [0, n) into out. */
static void slots_read(uint64_t *out, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		out[i] = slot_packets(i);
}

/* ---- conntrack as the model's input ----------------------------------------- */

static bool policy_has_state(const struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].state_mask)
			return true;
	return false;
}

static void ct_clear(void)
{
	dpt_ct_clear(dp);
}

/* The packet's flow key as the ABI defines it (struct fg_ct_key: lower
 * address first, ports of TCP/UDP only, in network order). */
static struct fg_ct_key ct_key_of(const struct fg_pkt *p)
{
	struct fg_ct_key k = {0};
	uint16_t sp = 0, dpt = 0;
	int c = memcmp(p->src, p->dst, 16);

	if ((p->flags & FG_PKT_L4) && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		sp = p->sport;
		dpt = p->dport;
	}
	if (!c)
		c = sp <= dpt ? -1 : 1;
	memcpy(k.a, c < 0 ? p->src : p->dst, 16);
	memcpy(k.b, c < 0 ? p->dst : p->src, 16);
	k.port_a = htons(c < 0 ? sp : dpt);
	k.port_b = htons(c < 0 ? dpt : sp);
	k.family = p->family;
	k.proto = p->proto;
	return k;
}

/* The state of a packet whose flow has no conntrack entry
 * (bpf/lib/conntrack.bpf.h fg_ct_state): a TCP segment that could not
 * open a flow (no SYN, or SYN with ACK or RST) is `invalid`; else `new`. */
static uint8_t ct_without_entry(const struct fg_pkt *p)
{
	if (p->proto == IPPROTO_TCP && (p->flags & FG_PKT_L4) &&
	    (p->tcp_flags & (FG_TCP_SYN | FG_TCP_ACK | FG_TCP_RST)) != FG_TCP_SYN)
		return FG_CT_INVALID;
	return FG_CT_NEW;
}

/*
 * Make the datapath see the packet's ct_state: the only conntrack entry
 * that can matter is the packet's own flow's, so delete it from both maps
 * (whatever earlier packets committed), then for ESTABLISHED write one in
 * fg_ct. (Deleting keys is cheap; walking an empty 256k-bucket LRU map
 * with get_next_key costs ~0.3 ms.)
 */
static void ct_prepare(bool ct, const struct fg_pkt *pk)
{
	struct fg_ct_key k;
	struct fg_ct_val v = {0};

	if (!ct || pk->family == FG_FAM_NONE)
		return;
	k = ct_key_of(pk);
	bpf_map_delete_elem(dp_map_fd(dp, "fg_ct"), &k);
	bpf_map_delete_elem(dp_map_fd(dp, "fg_ct_new"), &k);
	if (pk->ct_state != FG_CT_ESTABLISHED)
		return;
	v.expires_ns = dpt_now_ns() + 3600 * FG_SEC;
	v.state = FG_CTS_ESTABLISHED;
	v.flags = FG_CTF_ORIG_IS_A | FG_CTF_REPLIED;
	bpf_map_update_elem(dp_map_fd(dp, "fg_ct"), &k, &v, BPF_ANY);
}

/* ---- printing a reproducer ------------------------------------------------- */

static void print_cidr(FILE *f, const struct fg_cidr *c)
{
	char b[INET6_ADDRSTRLEN];

	inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, b, sizeof(b));
	fprintf(f, "%s/%u", b, c->len);
}

static void print_addr(FILE *f, const char *key, const struct policy *p,
		       const struct fg_addr_match *m)
{
	size_t i;

	if (m->any)
		return;
	if (m->set >= 0) {
		fprintf(f, "    %s: \"@%s\"\n", key, p->sets[m->set].name);
		return;
	}
	fprintf(f, "    %s: [", key);
	for (i = 0; i < m->ncidrs; i++) {
		fprintf(f, i ? ", " : "");
		print_cidr(f, &m->cidrs[i]);
	}
	fprintf(f, "]\n");
}

static void print_ports(FILE *f, const char *key, const struct fg_port_range *r, size_t n)
{
	size_t i;

	if (!n)
		return;
	fprintf(f, "    %s: [", key);
	for (i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi)
			fprintf(f, "%s%u", i ? ", " : "", r[i].lo);
		else
			fprintf(f, "%s\"%u-%u\"", i ? ", " : "", r[i].lo, r[i].hi);
	}
	fprintf(f, "]\n");
}

static void print_flags(FILE *f, uint8_t set, uint8_t clear)
{
	static const char *const names[] = {"fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr"};
	bool first = true;
	int i;

	if (!set && !clear)
		return;
	fprintf(f, "    tcp_flags: [");
	for (i = 0; i < 8; i++) {
		if (set & (1 << i))
			fprintf(f, "%s%s", first ? "" : ", ", names[i]), first = false;
		if (clear & (1 << i))
			fprintf(f, "%s\"!%s\"", first ? "" : ", ", names[i]), first = false;
	}
	fprintf(f, "]\n");
}

static bool set_used(const struct policy *p, int set)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		if (p->rules[i].src.set == set || p->rules[i].dst.set == set)
			return true;
	return false;
}

/* The policy in policy-file form (sets used by the rules only). */
static void print_policy(FILE *f, const struct policy *p)
{
	static const char *const acts[] = {"none", "allow", "drop", "log"};
	size_t i, j;

	fprintf(f, "version: 1\ninterfaces: [fgt0, fgt1]\ndefault: %s\nsets:%s\n",
		acts[p->default_action & 3], p->nsets ? "" : " {}");
	for (i = 0; i < p->nsets; i++) {
		const struct fg_set_spec *s = &p->sets[i];

		if (!set_used(p, i))
			continue;
		fprintf(f, "  %s: [", s->name);
		for (j = 0; j < s->ncidrs && j < 64; j++) {
			fprintf(f, j ? ", " : "");
			print_cidr(f, &s->cidrs[j]);
		}
		if (s->ncidrs > 64)
			fprintf(f, "]  # ... %zu more: regenerate with the seed\n", s->ncidrs - 64);
		else
			fprintf(f, "]\n");
	}
	fprintf(f, "rules:\n");
	for (i = 0; i < p->nrules; i++) {
		const struct fg_rule_spec *r = &p->rules[i];

		fprintf(f, "  - name: %s\n    action: %s\n", r->name, acts[r->action & 3]);
		print_addr(f, "src", p, &r->src);
		print_addr(f, "dst", p, &r->dst);
		if (r->proto_kind == FG_PROTO_NUM)
			fprintf(f, "    proto: %u\n", r->proto);
		print_ports(f, "sport", r->sports, r->nsports);
		print_ports(f, "dport", r->dports, r->ndports);
		print_flags(f, r->tcp_set, r->tcp_clear);
		if (r->state_mask) {
			static const char *const st[] = {"new", "established", "related",
							 "invalid"};
			bool first = true;

			fprintf(f, "    state: [");
			for (j = 0; j < 4; j++)
				if (r->state_mask & (1u << j)) {
					fprintf(f, "%s%s", first ? "" : ", ", st[j]);
					first = false;
				}
			fprintf(f, "]\n");
		}
		if (r->nifaces) {
			fprintf(f, "    iface: [");
			for (j = 0; j < r->nifaces; j++)
				fprintf(f, "%s%s", j ? ", " : "", r->ifaces[j]);
			fprintf(f, "]\n");
		}
	}
}

/* ---- one packet through both ------------------------------------------------ */

struct outcome {
	int act;  /* XDP action */
	int slot; /* stats slot that counted it, -1 none, -2 several */
};

static const char *act_name(int act)
{
	return act == XDP_DROP_ ? "drop" : act == XDP_PASS_ ? "pass" : "?";
}

/* What the model says. */
static struct outcome model_outcome(const struct policy *p, const struct fg_pkt *pk,
				    const char *ifname, int *rule)
{
	struct outcome o;
	int a = model_verdict(p, pk, ifname, rule);

	o.act = a == FG_ACT_DROP ? XDP_DROP_ : XDP_PASS_;
	if (*rule >= 0)
		o.slot = *rule + 1;
	else if (pk->family == FG_FAM_NONE || (pk->flags & FG_PKT_ND))
		o.slot = -1;
	else
		o.slot = 0;
	return o;
}

/* Run the frame; find which slot counted it by reading every slot. */
static struct outcome dp_outcome_full(const uint8_t *frame, size_t len, uint32_t ifindex,
				      uint32_t nslots, bool ct, const struct fg_pkt *pk)
{
	uint64_t *a = calloc(nslots, sizeof(*a)), *b = calloc(nslots, sizeof(*b));
	struct outcome o = {.slot = -1};
	uint32_t i;

	ct_prepare(ct, pk);
	slots_read(a, nslots);
	o.act = dpt_run(dp, frame, len, ifindex, 1);
	slots_read(b, nslots);
	for (i = 0; i < nslots; i++) {
		if (b[i] == a[i])
			continue;
		o.slot = (o.slot == -1 && b[i] == a[i] + 1) ? (int)i : -2;
	}
	free(a);
	free(b);
	return o;
}

/*
 * FG_DIFF_MUTATE=1 checks the checker: the datapath then gets every rule
 * whose name ends in 7 (r7, r17, ...) with allow and drop swapped, so
 * mismatches must be reported, and shrunk to a policy holding such a rule.
 */
static bool mutate;

/* set_hash_min and set_hash_fail of the next installs (0: the defaults),
 * and how many set CIDRs went into set hashes so far (hashed6: IPv6 ones):
 * the tests check that hashes were really built, besides comparing
 * verdicts. */
static size_t hash_min, hashed, hashed6, compact4;
static unsigned hash_fail;
/* IPv6 lookups of the next installs: v6_table_min for the digit trees'
 * direct tables (0: the default), or the LPM trie (v6_trie); and how many
 * installs used the trees, built tables, used the trie. */
static size_t v6_table_min, v6_max_slots, v6_tree_installs, v6_tables, v6_trie_installs;
static bool v6_trie;

static int install_gen(const struct policy *p)
{
	struct compile_opts o = { .default_slot = FG_SLOT_DEFAULT, .set_hash_min = hash_min,
				  .set_hash_fail = hash_fail, .v6_table_min = v6_table_min,
				  .v6_trie = v6_trie, .v6_max_slots = v6_max_slots };
	struct fg_tables t;
	char err[256];
	int ret, fi, f, h;

	ret = compile_tables(p, &o, &t, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "compile: %s\n", err);
		return ret;
	}
	for (fi = 0; fi < 2; fi++)
		for (f = 0; f < 2; f++)
			for (h = 0; h < FG_SET_HASHES; h++)
				hashed += t.nhkeys[fi][f][h];
	for (f = 0; f < 2; f++)
		for (h = 0; h < FG_SET_HASHES; h++) {
			hashed6 += t.nhkeys[1][f][h];
			compact4 += t.hashes.t[f][h].rbits != 0; /* abi.h */
		}
	v6_tree_installs += t.v6t.on;
	v6_trie_installs += !t.v6t.on;
	v6_tables += t.nv6tables;
	ret = dp_install(dp, &t, ++gen);
	compile_free(&t);
	return ret;
}

static int install(const struct policy *p)
{
	struct fg_rule_spec *r;
	struct policy q = *p;
	size_t i, n;
	int err;

	if (!mutate)
		return install_gen(p);
	r = calloc(p->nrules + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	memcpy(r, p->rules, p->nrules * sizeof(*r));
	for (i = 0; i < p->nrules; i++) {
		n = strlen(r[i].name);
		if (n && r[i].name[n - 1] == '7' && r[i].action != FG_ACT_LOG)
			r[i].action = r[i].action == FG_ACT_DROP ? FG_ACT_ALLOW : FG_ACT_DROP;
	}
	q.rules = r;
	err = install_gen(&q);
	free(r);
	return err;
}

static bool install_policy(const struct policy *p)
{
	int err = install(p);

	if (err)
		FG_TEST_FAILF("install: %s", strerror(-err));
	return !err;
}

/* Does the (sub)policy still disagree with the model on this packet? */
static bool still_differs(const struct policy *p, const struct randpkt *rp, const uint8_t *frame,
			  size_t len, uint32_t ifindex)
{
	struct outcome m, d;
	int rule;

	if (install(p))
		return false;
	m = model_outcome(p, &rp->pkt, rp->ifname, &rule);
	d = dp_outcome_full(frame, len, ifindex, p->nrules + 1, policy_has_state(p), &rp->pkt);
	return m.act != d.act || m.slot != d.slot;
}

/*
 * Shrink the rule list while the mismatch stays: remove chunks of rules
 * (halving the chunk size down to one rule), so that a 5000-rule policy
 * needs a few hundred installs, not thousands.
 */
static void shrink_and_print(const struct policy *p, const struct randpkt *rp, const uint8_t *frame,
			     size_t len, uint32_t ifindex)
{
	struct fg_rule_spec *rules = calloc(p->nrules + 1, sizeof(*rules));
	struct fg_rule_spec *save = calloc(p->nrules + 1, sizeof(*save));
	struct policy q = *p;
	struct outcome m, d;
	size_t chunk, at;
	int rule;

	memcpy(rules, p->rules, p->nrules * sizeof(*rules));
	q.rules = rules;
	for (chunk = (p->nrules + 1) / 2; chunk >= 1; chunk /= 2) {
		for (at = q.nrules; at > 0;) {
			size_t lo = at > chunk ? at - chunk : 0, n = at - lo;

			memcpy(save, rules, q.nrules * sizeof(*rules));
			memmove(&rules[lo], &rules[at], (q.nrules - at) * sizeof(*rules));
			q.nrules -= n;
			if (!still_differs(&q, rp, frame, len, ifindex)) {
				q.nrules += n;
				memcpy(rules, save, q.nrules * sizeof(*rules));
			}
			at = lo;
		}
		if (chunk == 1)
			break;
	}
	/* report on the shrunk policy */
	install(&q);
	m = model_outcome(&q, &rp->pkt, rp->ifname, &rule);
	d = dp_outcome_full(frame, len, ifindex, q.nrules + 1, policy_has_state(&q), &rp->pkt);
	fprintf(stderr, "    shrunk to %zu of %zu rules: model %s slot %d, datapath %s slot %d\n",
		q.nrules, p->nrules, act_name(m.act), m.slot, act_name(d.act), d.slot);
	fprintf(stderr, "    ---- minimal policy (rule names as in the full one) ----\n");
	print_policy(stderr, &q);
	fprintf(stderr, "    ------------------------\n");
	free(rules);
	free(save);
}

/* The first mismatch of a policy in full (packet, frame, shrunk policy:
 * MAX_REPORTS per run), the next two in one line each. */
static void report(const struct policy *p, uint64_t seed, size_t pidx, size_t k, int nth,
		   const struct randpkt *rp, const uint8_t *frame, size_t len, uint32_t ifindex,
		   struct outcome m, struct outcome d)
{
	char line[512];
	size_t i;

	if (nth > 3)
		return;
	pkt_format(&rp->pkt, line, sizeof(line));
	FG_TEST_FAILF("seed %llu (policy %zu, %zu rules, set_hash_min %zu) packet %zu: model %s "
		      "slot %d, datapath %s slot %d",
		      (unsigned long long)seed, pidx, p->nrules, hash_min, k, act_name(m.act),
		      m.slot, act_name(d.act), d.slot);
	if (nth > 1 || ++reports > MAX_REPORTS)
		return;
	if (cur_base)
		fprintf(stderr,
			"    rerun: FG_DIFF_SEED=%llu FG_DIFF_ITERS=%zu (policy i uses seed "
			"FG_DIFF_SEED * 1000003 + i)\n",
			(unsigned long long)cur_base, pidx + 1);
	else
		fprintf(stderr, "    rerun: this test with the same FG_DIFF_SEED (default 1)\n");
	fprintf(stderr, "    packet: %s on %s\n    frame:", line, rp->ifname);
	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? "" : "\n      ", frame[i]);
	fprintf(stderr, "\n");
	shrink_and_print(p, rp, frame, len, ifindex);
}

/*
 * One policy against npkts packets. Fast path per packet: the model's slot
 * must go up by exactly one and the verdict must match; slots are compared
 * in full when the model expects no slot, on a mismatch, and at the end
 * (so that a packet counted twice, or elsewhere, cannot hide).
 */
static void diff_policy(const struct policy *p, const struct randpkt *pkts, uint64_t seed,
			size_t pidx, size_t npkts, size_t *ncmp, size_t *nskip)
{
	uint32_t nslots = p->nrules + 1, ifidx[N(ifnames)];
	uint64_t *want = calloc(nslots, sizeof(*want)), *got = calloc(nslots, sizeof(*got));
	bool ct = policy_has_state(p);
	struct randpkt rp;
	size_t k, i, len;
	int nbad = 0;

	for (i = 0; i < N(ifnames); i++)
		ifidx[i] = if_nametoindex(ifnames[i]);
	if (!install_policy(p))
		goto out;
	if (ct)
		ct_clear();
	slots_read(want, nslots);
	for (k = 0; k < npkts; k++) {
		struct outcome m, d;
		uint32_t ifindex = 0;
		int rule;

		rp = pkts[k];
		if (rp.pkt.flags & FG_PKT_FRAG_LATER) {
			(*nskip)++;
			continue;
		}
		if (rp.pkt.ct_state != FG_CT_ESTABLISHED)
			rp.pkt.ct_state = ct_without_entry(&rp.pkt);
		for (i = 0; i < N(ifnames); i++)
			if (!strcmp(rp.ifname, ifnames[i]))
				ifindex = ifidx[i];
		len = pkt_build(&rp.spec, buf, sizeof(buf));
		m = model_outcome(p, &rp.pkt, rp.ifname, &rule);
		if (m.slot >= 0) {
			uint64_t before = slot_packets(m.slot);

			ct_prepare(ct, &rp.pkt);
			d.act = dpt_run(dp, buf, len, ifindex, 1);
			d.slot = slot_packets(m.slot) == before + 1 ? m.slot : -3;
			if (d.slot == -3) /* which one, then (counts it again) */
				d = dp_outcome_full(buf, len, ifindex, nslots, ct, &rp.pkt);
		} else {
			d = dp_outcome_full(buf, len, ifindex, nslots, ct, &rp.pkt);
		}
		if (m.slot >= 0)
			want[m.slot]++;
		(*ncmp)++;
		if (m.act != d.act || m.slot != d.slot) {
			report(p, seed, pidx, k, ++nbad, &rp, buf, len, ifindex, m, d);
			/* a shrink re-installed: restore; resync the counts */
			if (nbad == 1 && !install_policy(p))
				goto out;
			slots_read(want, nslots);
		}
	}
	if (nbad)
		FG_TEST_FAILF("seed %llu (policy %zu): %d of %zu packets differ",
			      (unsigned long long)seed, pidx, nbad, npkts);
	slots_read(got, nslots);
	for (i = 0; i < nslots; i++)
		if (got[i] != want[i]) {
			FG_TEST_FAILF("seed %llu policy %zu: slot %zu counted %llu packets, "
				      "model says %llu",
				      (unsigned long long)seed, pidx, i, (unsigned long long)got[i],
				      (unsigned long long)want[i]);
			break;
		}
	if (ct)
		ct_clear();
out:
	free(want);
	free(got);
}

static void run_diff(uint64_t base_seed, size_t npol, size_t npkts, unsigned int min_rules,
		     unsigned int max_rules, const char *what)
{
	size_t i, k, ncmp = 0, nskip = 0, nrules_total = 0;
	struct randpkt *pkts = calloc(npkts ? npkts : 1, sizeof(*pkts));
	struct timespec t0, t1;

	printf("  %s: seed %llu, %zu policies x %zu packets\n", what, (unsigned long long)base_seed,
	       npol, npkts);
	fflush(stdout);
	cur_base = base_seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < npol; i++) {
		uint64_t seed = base_seed * 1000003ULL + i;
		struct randpol_opts o = {0};
		struct randpol_rng rng;
		struct policy p;

		randpol_seed(&rng, seed);
		/* a third each: default threshold, every set CIDR group hashed,
		 * groups of 16 or more hashed */
		hash_min = i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 16;
		/* IPv6: a quarter each with a direct table for every digit
		 * of 8 intervals or more, with room for 16 slots of trees
		 * (most fall back to the trie), forced to the trie, and at
		 * the defaults */
		v6_table_min = i % 4 == 1 ? 8 : 0;
		v6_max_slots = i % 4 == 2 ? 16 : 0;
		v6_trie = i % 4 == 3;
		o.nrules = min_rules + randpol_below(&rng, max_rules - min_rules + 1);
		o.big_set = 200 + randpol_below(&rng, 2000);
		if (randpol_build(&rng, &o, &p)) {
			FG_TEST_FAILF("randpol_build (seed %llu)", (unsigned long long)seed);
			continue;
		}
		nrules_total += p.nrules;
		for (k = 0; k < npkts; k++)
			randpol_packet(&rng, &p, &pkts[k]);
		diff_policy(&p, pkts, seed, i, npkts, &ncmp, &nskip);
		randpol_free(&p);
		if (reports > MAX_REPORTS * 4)
			break; /* enough */
	}
	hash_min = 0;
	v6_trie = false;
	v6_table_min = v6_max_slots = 0;
	free(pkts);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("  %zu packets compared (%zu later fragments skipped), %zu rules, %.1f s\n", ncmp,
	       nskip, nrules_total, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static void test_diff_random_policies(void)
{
	size_t before = hashed, before6 = hashed6, trees0 = v6_tree_installs, tables0 = v6_tables,
	       trie0 = v6_trie_installs;

	run_diff(env_u64("FG_DIFF_SEED", 1), env_u64("FG_DIFF_ITERS", 200),
		 env_u64("FG_DIFF_PKTS", 500), 0, 60, "small policies");
	printf("  %zu set CIDRs were in set hashes, %zu of them IPv6\n", hashed - before,
	       hashed6 - before6);
	if (hashed == before || hashed6 == before6)
		FG_TEST_FAILF("no policy had a set hash of each family: the hashes went untested");
	printf("  IPv6: %zu installs with digit trees (%zu direct tables), %zu with the trie\n",
	       v6_tree_installs - trees0, v6_tables - tables0, v6_trie_installs - trie0);
	if (v6_tree_installs == trees0 || v6_tables == tables0 || v6_trie_installs == trie0)
		FG_TEST_FAILF("the IPv6 digit trees, their tables or the trie went untested");
}


/* Deep lists: 1k..5k rules, so class lists are long and walks stop early. */
static void test_diff_large_policies(void)
{
	run_diff(env_u64("FG_DIFF_SEED", 1) + 77, env_u64("FG_DIFF_BIG", 3), 3000, 1000, 5000,
		 "large policies");
}

/*
 * The verdict cache (fg_flows) is per flow and per generation: one list of
 * packets, drawn from policy A, runs against A, then A with allow and drop
 * swapped (same rules match, other verdicts), then A's rules in reverse
 * order (other rule wins), then A again. A cached answer from an earlier
 * generation would show as a wrong verdict or slot.
 */
static void test_diff_cache_across_generations(void)
{
	enum { NPKTS = 1500, NRULES = 40 };
	struct randpkt *pkts = calloc(NPKTS, sizeof(*pkts));
	struct fg_rule_spec *flip = calloc(NRULES, sizeof(*flip)),
			    *rev = calloc(NRULES, sizeof(*rev));
	struct randpol_opts o = {.nrules = NRULES};
	uint64_t seed = env_u64("FG_DIFF_SEED", 1) + 4242;
	size_t i, ncmp = 0, nskip = 0;
	struct randpol_rng rng;
	struct policy a, b, c;

	randpol_seed(&rng, seed);
	if (!pkts || !flip || !rev || randpol_build(&rng, &o, &a))
		goto out;
	for (i = 0; i < NPKTS; i++)
		randpol_packet(&rng, &a, &pkts[i]);
	b = a;
	c = a;
	for (i = 0; i < NRULES; i++) {
		flip[i] = a.rules[i];
		flip[i].action = a.rules[i].action == FG_ACT_DROP ? FG_ACT_ALLOW : FG_ACT_DROP;
		rev[i] = a.rules[NRULES - 1 - i];
	}
	b.rules = flip;
	b.default_action = a.default_action == FG_ACT_DROP ? FG_ACT_ALLOW : FG_ACT_DROP;
	c.rules = rev;
	cur_base = 0;
	diff_policy(&a, pkts, seed, 0, NPKTS, &ncmp, &nskip);
	diff_policy(&b, pkts, seed, 1, NPKTS, &ncmp, &nskip);
	diff_policy(&c, pkts, seed, 2, NPKTS, &ncmp, &nskip);
	diff_policy(&a, pkts, seed, 3, NPKTS, &ncmp, &nskip);
	printf("  %zu packets compared over 4 generations of one packet list\n", ncmp);
	randpol_free(&a);
out:
	free(pkts);
	free(flip);
	free(rev);
}

/*
 * Address tables over the whole address space, which randpol's few pools do
 * not reach: prefixes of every length anywhere in IPv4 (spanning many /16
 * root entries, nested, many boundaries inside one /16) and IPv6, in src and
 * dst, plain and in sets; packets on each prefix's first and last address
 * and just outside them.
 */
static void rand_prefix(struct randpol_rng *r, int fam, struct fg_cidr *c,
			const struct fg_cidr *near)
{
	int bits = fam == 4 ? 32 : 128, i;
	uint64_t x = randpol_next(r), y = randpol_next(r);

	memset(c, 0, sizeof(*c));
	c->family = fam;
	memcpy(c->addr, &x, 8);
	if (fam == 6)
		memcpy(c->addr + 8, &y, 8);
	else
		memset(c->addr + 4, 0, 12);
	/* half of them nested in (or next to) an earlier prefix */
	if (near && near->family == fam && randpol_chance(r, 50))
		for (i = 0; i < near->len && i < bits; i++) {
			uint8_t m = 0x80 >> (i % 8);

			c->addr[i / 8] = (c->addr[i / 8] & ~m) | (near->addr[i / 8] & m);
		}
	c->len = randpol_chance(r, 10) ? randpol_below(r, bits + 1)
				       : bits - randpol_below(r, fam == 4 ? 17 : 65);
	for (i = c->len; i < bits; i++)
		c->addr[i / 8] &= ~(0x80 >> (i % 8));
}

/* first (edge 0), last (1), first - 1 (2), last + 1 (3) of a prefix */
static void prefix_edge(const struct fg_cidr *c, int edge, uint8_t out[16])
{
	int bits = c->family == 4 ? 32 : 128, i, carry;

	memcpy(out, c->addr, 16);
	if (edge & 1)
		for (i = c->len; i < bits; i++)
			out[i / 8] |= 0x80 >> (i % 8);
	if (edge < 2)
		return;
	/* +-1 over the family's width, wrapping */
	for (i = bits / 8 - 1, carry = 1; i >= 0 && carry; i--) {
		if (edge == 2) {
			carry = out[i] == 0;
			out[i]--;
		} else {
			out[i]++;
			carry = out[i] == 0;
		}
	}
}

/*
 * Rules on prefixes and a set spread over the whole address space; with
 * nbig > 0 the set is nbig IPv4 /24s and /32s (a third /24s, half of the
 * /32s inside the last /24: in both hashes) and 3 nbig / 5 IPv6 /64s and
 * /128s (the same way), and some rule prefixes sit near set CIDRs. Two passes, with set_hash_min min_a, then
 * min_b; some set CIDRs must have been hashed in one of them.
 */
static void wide_address_space(size_t nbig, size_t min_a, size_t min_b)
{
	enum { NRULES = 400, NPKTS = 4000 };
	/* with nbig, no wide set CIDRs: short ones would hold most addresses,
	 * and the hashed CIDRs would decide nothing */
	const size_t nwide = nbig ? 0 : 300, nbig6 = nbig * 3 / 5;
	const size_t NSETC = nwide + nbig + nbig6;
	uint64_t seed = env_u64("FG_DIFF_SEED", 1) + 99 + nbig;
	struct fg_cidr *rc = calloc(NRULES, sizeof(*rc)), *sc = calloc(NSETC, sizeof(*sc));
	struct fg_rule_spec *r = calloc(NRULES, sizeof(*r));
	struct randpkt *pkts = calloc(NPKTS, sizeof(*pkts));
	struct fg_set_spec set = {.name = "wide", .cidrs = sc, .ncidrs = NSETC};
	size_t i, ncmp = 0, nskip = 0, before, before6, compact_before;
	uint32_t last24 = 0;
	uint64_t last64 = 0;
	struct randpol_rng rng;
	struct policy p = {.version = 1, .sets = &set, .nsets = 1};
	char(*names)[16] = calloc(NRULES, sizeof(*names));

	if (!rc || !sc || !r || !pkts || !names)
		goto out;
	randpol_seed(&rng, seed);
	for (i = 0; i < nwide; i++)
		rand_prefix(&rng, randpol_chance(&rng, 70) ? 4 : 6, &sc[i], i ? &sc[i - 1] : NULL);
	for (i = nwide; i < nwide + nbig; i++) {
		uint32_t a = (uint32_t)randpol_next(&rng);

		if ((i - nwide) % 3 == 0) {
			a &= 0xffffff00u;
			sc[i].len = 24;
			last24 = a;
		} else {
			sc[i].len = 32;
			if (randpol_chance(&rng, 50))
				a = last24 | (a & 0xffu);
		}
		sc[i].family = 4;
		a = htonl(a);
		memcpy(sc[i].addr, &a, 4);
	}
	/* IPv6 the same way: a third /64s, the rest /128s, half of those
	 * inside the last /64 */
	for (; i < NSETC; i++) {
		uint64_t hi = randpol_next(&rng), lo = randpol_next(&rng);

		sc[i].family = 6;
		if ((i - nwide - nbig) % 3 == 0) {
			sc[i].len = 64;
			lo = 0;
			last64 = hi;
		} else {
			sc[i].len = 128;
			if (randpol_chance(&rng, 50))
				hi = last64;
		}
		memcpy(sc[i].addr, &hi, 8);
		memcpy(sc[i].addr + 8, &lo, 8);
	}
	for (i = 0; i < NRULES; i++) {
		static const int acts[] = {FG_ACT_ALLOW, FG_ACT_DROP, FG_ACT_LOG};
		const struct fg_cidr *near = i ? &rc[i - 1] : NULL;

		if (nbig && randpol_chance(&rng, 30))
			near = &sc[nwide + randpol_below(&rng, nbig + nbig6)];
		snprintf(names[i], sizeof(names[i]), "w%zu", i);
		r[i] = dpt_rule(names[i], acts[randpol_below(&rng, 3)]);
		rand_prefix(&rng, randpol_chance(&rng, 70) ? 4 : 6, &rc[i], near);
		switch (randpol_below(&rng, 4)) {
		case 0: /* src prefix */
			r[i].src.any = false;
			r[i].src.cidrs = &rc[i];
			r[i].src.ncidrs = 1;
			break;
		case 1: /* dst prefix */
			r[i].dst.any = false;
			r[i].dst.cidrs = &rc[i];
			r[i].dst.ncidrs = 1;
			break;
		case 2: /* src prefix, dst in the set */
			r[i].src.any = false;
			r[i].src.cidrs = &rc[i];
			r[i].src.ncidrs = 1;
			r[i].dst.any = false;
			r[i].dst.set = 0;
			break;
		default: /* src in the set, one port */
			r[i].src.any = false;
			r[i].src.set = 0;
			r[i].proto_kind = FG_PROTO_TCPUDP;
			r[i].dports = calloc(1, sizeof(*r[i].dports));
			if (r[i].dports) {
				r[i].dports[0].lo = r[i].dports[0].hi = 1 + randpol_below(&rng, 3);
				r[i].ndports = 1;
			}
			break;
		}
	}
	p.rules = r;
	p.nrules = NRULES;
	p.default_action = FG_ACT_DROP;
	for (i = 0; i < NPKTS; i++) {
		const struct fg_cidr *a = randpol_chance(&rng, 70)
					      ? &rc[randpol_below(&rng, NRULES)]
					      : &sc[randpol_below(&rng, NSETC)];
		const struct fg_cidr *b = randpol_chance(&rng, 60)
					      ? &sc[randpol_below(&rng, NSETC)]
					      : &rc[randpol_below(&rng, NRULES)];
		struct pkt_spec *s = &pkts[i].spec;
		bool swap = randpol_chance(&rng, 40);

		pkt_spec_init(s, a->family == 4 ? PKT_L3_V4 : PKT_L3_V6, IPPROTO_UDP);
		prefix_edge(a, randpol_below(&rng, 4), swap ? s->dst : s->src);
		if (b->family == a->family)
			prefix_edge(b, randpol_below(&rng, 4), swap ? s->src : s->dst);
		s->dport = randpol_below(&rng, 5);
		s->payload_len = 4;
		if (pkt_expect(s, &pkts[i].pkt) != FG_R_NONE)
			continue;
		pkts[i].pkt.ct_state = ct_without_entry(&pkts[i].pkt);
		pkts[i].ifname = "fgt2";
	}
	/* The all-ones addresses are the hashes' marker of an unused way:
	 * as sources (in no set here) they must not hit a table. */
	for (i = 0; i < 8 && i < NPKTS; i++) {
		struct randpkt rp = { .ifname = "fgt2" };
		bool v6 = i & 1;

		pkt_spec_init(&rp.spec, v6 ? PKT_L3_V6 : PKT_L3_V4, IPPROTO_UDP);
		memset(rp.spec.src, 0xff, v6 ? 16 : 4);
		prefix_edge(&rc[randpol_below(&rng, NRULES)], 0, rp.spec.dst);
		rp.spec.dport = 1 + i / 2 % 3;
		rp.spec.payload_len = 4;
		if (pkt_expect(&rp.spec, &rp.pkt) != FG_R_NONE)
			continue;
		rp.pkt.ct_state = ct_without_entry(&rp.pkt);
		pkts[i] = rp;
	}
	cur_base = 0;
	before = hashed;
	before6 = hashed6;
	compact_before = compact4;
	hash_min = min_a;
	diff_policy(&p, pkts, seed, 0, NPKTS, &ncmp, &nskip);
	hash_min = min_b;
	diff_policy(&p, pkts, seed, 1, NPKTS, &ncmp, &nskip);
	hash_min = 0;
	if (hashed == before || (nbig && (hashed6 == before6 || compact4 == compact_before)))
		FG_TEST_FAILF("the set got no set hash (of each family, and a compact IPv4 one) "
			      "in either pass");
	printf("  %zu packets on prefix edges over the whole address space, set of %zu "
	       "(%zu set CIDRs hashed, %zu of them IPv6)\n", ncmp, NSETC, hashed - before,
	       hashed6 - before6);
	if (nbig) {
		/* The fallback: the largest group of each family's table
		 * "cannot be built", so that group stays in the tree or the
		 * trie while the next one is hashed in its place. */
		size_t all = hashed - before, all6 = hashed6 - before6;

		before = hashed;
		before6 = hashed6;
		hash_min = min_a;
		hash_fail = 1;
		diff_policy(&p, pkts, seed, 2, NPKTS, &ncmp, &nskip);
		hash_fail = 0;
		hash_min = 0;
		if (hashed - before - (hashed6 - before6) == 0 || hashed6 == before6 ||
		    hashed - before >= all || hashed6 - before6 >= all6)
			FG_TEST_FAILF("with the largest groups' tables failing: %zu set CIDRs "
				      "hashed (%zu IPv6), against %zu (%zu) with all built; "
				      "want fewer, and some of each family",
				      hashed - before, hashed6 - before6, all, all6);
		printf("  the largest groups' tables failing: %zu set CIDRs hashed (%zu IPv6), "
		       "%zu packets compared in all\n", hashed - before, hashed6 - before6, ncmp);
	}
out:
	for (i = 0; r && i < NRULES; i++)
		free(r[i].dports);
	free(rc);
	free(sc);
	free(r);
	free(pkts);
	free(names);
}

/* The set's IPv4 CIDRs of its two commonest lengths in set hashes (every
 * group hashed), nested in and around the rules' prefixes; then without. */
static void test_diff_wide_address_space(void)
{
	wide_address_space(0, 1, 0);
}

/* A set of 6000 IPv4 /24s and /32s and 3600 IPv6 /64s and /128s: hashed
 * at the default threshold (the 2000 /24s in a compact table), the hosts
 * inside a network in both tables; then all in the trees and the trie;
 * then with the largest group's table of each family failing to build
 * (compile_opts.set_hash_fail): that group in the tree or trie, the other
 * hashed. */
static void test_diff_big_set(void)
{
	wide_address_space(6000, 0, SIZE_MAX);
}

/*
 * The flow caches' two ways: 40000 IPv4 flows (one source address each)
 * through 32768 buckets, and 12000 IPv6 ones through 8192, each twice
 * over. A new flow takes way 0 and moves the bucket's flow there to way 1,
 * so on the second pass many flows are found in way 1, others were pushed
 * out and are classified again; every verdict and counter must still be
 * the model's. Sources by quarter of 10.1.0.0/16 (2001:db8:1::/112):
 * drop, allow, log, and the default (drop).
 */
static void flow_cache_ways(bool v6)
{
	const size_t nflows = v6 ? 12000 : 40000;
	static const char *const nets4[] = { "10.1.0.0/18", "10.1.64.0/18", "10.1.128.0/18" };
	static const char *const nets6[] = { "2001:db8:1::/114", "2001:db8:1::4000/114",
					     "2001:db8:1::8000/114" };
	static const int acts[] = { FG_ACT_DROP, FG_ACT_ALLOW, FG_ACT_LOG };
	struct randpkt *pkts = calloc(2 * nflows, sizeof(*pkts));
	struct fg_cidr c[3], dst = dpt_cidr(v6 ? "2001:db8:99::2/128" : "10.99.1.2/32");
	struct fg_rule_spec r[3];
	struct policy p = { .version = 1, .rules = r, .nrules = 3, .default_action = FG_ACT_DROP };
	size_t i, ncmp = 0, nskip = 0;

	if (!pkts)
		return;
	for (i = 0; i < 3; i++) {
		c[i] = dpt_cidr(v6 ? nets6[i] : nets4[i]);
		r[i] = dpt_rule(v6 ? nets6[i] : nets4[i], acts[i]);
		r[i].src.any = false;
		r[i].src.cidrs = &c[i];
		r[i].src.ncidrs = 1;
	}
	for (i = 0; i < nflows; i++) {
		struct randpkt *rp = &pkts[i];
		struct fg_cidr a = v6 ? dpt_cidr("2001:db8:1::/128") : dpt_cidr("10.1.0.0/32");
		uint16_t low = (uint16_t)(i * 40503u % 65536u);

		pkt_spec_init(&rp->spec, v6 ? PKT_L3_V6 : PKT_L3_V4, IPPROTO_UDP);
		a.addr[v6 ? 14 : 2] = low >> 8;
		a.addr[v6 ? 15 : 3] = low & 0xff;
		memcpy(rp->spec.src, a.addr, 16);
		memcpy(rp->spec.dst, dst.addr, 16);
		rp->spec.sport = 1024 + i % 5000;
		rp->spec.dport = 53;
		rp->spec.payload_len = 4;
		rp->ifname = "fgt2";
		if (pkt_expect(&rp->spec, &rp->pkt) == FG_R_NONE)
			rp->pkt.ct_state = ct_without_entry(&rp->pkt);
		pkts[nflows + i] = *rp;
	}
	diff_policy(&p, pkts, 0, v6, 2 * nflows, &ncmp, &nskip);
	printf("  %s: %zu packets compared: %zu flows, twice\n", v6 ? "IPv6" : "IPv4", ncmp,
	       nflows);
	free(pkts);
}

static void test_diff_flow_cache_ways(void)
{
	flow_cache_ways(false);
	flow_cache_ways(true);
}

/*
 * IPv6 prefixes at the edges of the digit trees: ::/0, ::/128, the
 * all-ones /128, prefixes that end at the top of the space or of a
 * digit, lengths on and off the 16-bit digits, nested; source and
 * destination packets on each prefix's first and last address and just
 * outside. Four builds: the defaults, a direct table for every digit of
 * 2 or more intervals, never a table (deep trees), and trees capped at
 * 16 slots (the fallback to the trie); the last must have fallen back and
 * the second built tables.
 */
static void test_diff_v6_edges(void)
{
	static const char *const pfx[] = {
		"::/0", "::/128", "::1/128", "::/1", "8000::/1", "::/127",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
		"ffff::/16", "fffe::/15", "ffff:ffff::/32", "ffff:ffff:ffff:ffff::/64",
		"7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "2001:db8::/32", "2001:db8::/33",
		"2001:db8:8000::/33", "2001:db8::/48", "2001:db8:0:1::/64", "2001:db8::ffff/128",
		"2001:db8:0:1:8000::/65", "2001:db8:0:1::/113", "2001:db8:0:1::8000/113",
		"2001:db8:1::/47", "2001:db8:1:ffff::/64", "::ffff:0:0/96", "::ffff:10.0.0.0/104",
		"fe80::/10", "ff00::/8", "2001:db8:0:1:2:3:4:5/128", "2001:db8:0:1:2:3:4:0/112",
	};
	enum { NP = sizeof(pfx) / sizeof(pfx[0]), NPKTS = NP * 8 };
	static const struct {
		size_t table_min, max_slots;
		const char *what;
	} builds[] = { { 0, 0, "defaults" }, { 2, 0, "tables from 2 intervals" },
		       { SIZE_MAX, 0, "no tables" }, { 0, 16, "16 slots: the trie" } };
	struct fg_cidr c[NP];
	struct fg_rule_spec r[2 * NP];
	struct randpkt *pkts = calloc(NPKTS, sizeof(*pkts));
	char names[2 * NP][16];
	struct policy p = { .version = 1, .rules = r, .nrules = 2 * NP,
			    .default_action = FG_ACT_DROP };
	size_t i, k, ncmp = 0, nskip = 0;

	if (!pkts)
		return;
	for (i = 0; i < NP; i++) {
		static const int acts[] = { FG_ACT_ALLOW, FG_ACT_DROP, FG_ACT_LOG };

		c[i] = dpt_cidr(pfx[i]);
		snprintf(names[2 * i], sizeof(names[0]), "s%zu", i);
		snprintf(names[2 * i + 1], sizeof(names[0]), "d%zu", i);
		/* the shorter prefixes later, so the longer ones inside them
		 * decide first (and ::/0 last of all) */
		r[2 * (NP - 1 - i)] = dpt_rule(names[2 * i], acts[i % 3]);
		r[2 * (NP - 1 - i)].src.any = false;
		r[2 * (NP - 1 - i)].src.cidrs = &c[i];
		r[2 * (NP - 1 - i)].src.ncidrs = 1;
		r[2 * (NP - 1 - i) + 1] = dpt_rule(names[2 * i + 1], acts[(i + 1) % 3]);
		r[2 * (NP - 1 - i) + 1].dst.any = false;
		r[2 * (NP - 1 - i) + 1].dst.cidrs = &c[i];
		r[2 * (NP - 1 - i) + 1].dst.ncidrs = 1;
	}
	for (i = 0, k = 0; i < NP; i++) {
		int edge;

		for (edge = 0; edge < 4; edge++) {
			int dir;

			for (dir = 0; dir < 2; dir++, k++) {
				struct randpkt *rp = &pkts[k];
				struct fg_cidr other = c[(i * 7 + edge + dir) % NP];

				pkt_spec_init(&rp->spec, PKT_L3_V6, IPPROTO_UDP);
				prefix_edge(&c[i], edge, dir ? rp->spec.dst : rp->spec.src);
				prefix_edge(&other, (edge + 1) & 3, dir ? rp->spec.src : rp->spec.dst);
				rp->spec.dport = 53;
				rp->spec.payload_len = 4;
				rp->ifname = "fgt2";
				if (pkt_expect(&rp->spec, &rp->pkt) == FG_R_NONE)
					rp->pkt.ct_state = ct_without_entry(&rp->pkt);
			}
		}
	}
	for (i = 0; i < sizeof(builds) / sizeof(builds[0]); i++) {
		size_t trees0 = v6_tree_installs, tables0 = v6_tables;

		v6_table_min = builds[i].table_min;
		v6_max_slots = builds[i].max_slots;
		diff_policy(&p, pkts, 0, i, NPKTS, &ncmp, &nskip);
		printf("  %s: %s, %zu direct tables\n", builds[i].what,
		       v6_tree_installs > trees0 ? "digit trees" : "the trie", v6_tables - tables0);
		if ((builds[i].max_slots != 0) != (v6_tree_installs == trees0) ||
		    (builds[i].table_min == 2 && v6_tables == tables0))
			FG_TEST_FAILF("%s: not the build it was meant to be", builds[i].what);
	}
	v6_table_min = v6_max_slots = 0;
	printf("  %zu packets compared, %zu prefixes x 4 builds\n", ncmp, (size_t)NP);
	free(pkts);
}

int main(void)
{
	int err = dpt_netns(ifnames, N(ifnames));

	if (err) {
		fprintf(stderr, "cannot make a private netns with interfaces: %s\n",
			strerror(-err));
		return 1;
	}
	if (dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot open the datapath (root and bpffs needed)\n");
		return 1;
	}
	mutate = env_u64("FG_DIFF_MUTATE", 0) != 0;
	RUN_TEST(test_diff_random_policies);
	RUN_TEST(test_diff_large_policies);
	RUN_TEST(test_diff_cache_across_generations);
	RUN_TEST(test_diff_wide_address_space);
	RUN_TEST(test_diff_big_set);
	RUN_TEST(test_diff_v6_edges);
	RUN_TEST(test_diff_flow_cache_ways);
	dp_close(dp);
	return FG_TEST_EXIT();
}
