// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ns/packet of the classifier (BPF_PROG_TEST_RUN, in-kernel timing).
 *
 *   nsperpkt [--classbench DIR] [--repeat N] [--max-trace N] [--runs N]
 *
 * For each rule set it reports
 *   known: one packet run `repeat` times: a flow already classified, its
 *          tables hot in cache;
 *   new:   the first header of each flow of the trace (a flow-cache key,
 *          first_of_each below), each run once (the wrapper in
 *          nsperpkt.bpf.c rewrites the frame per run), so every packet
 *          is a flow-cache miss and no cache hides the classifier;
 * as ns/packet, as a ratio to the 1-rule case and to an empty XDP_DROP
 * program measured the same way, plus the compile+install time. A second
 * table does the same with IPv6 frames: one rule, then one rule plus a
 * 1M-entry IPv6 set, in set hashes and, for comparison, in the trie; a
 * third the ClassBench sets mapped to IPv6, in the digit trees and (acl1
 * 100k) in the LPM trie. Each
 * figure is the median of `runs` measurements (default 5); before each
 * pass over the trace the tables are installed again, as a new
 * generation, so no pass finds the flows of the one before in the cache.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cb.h"
#include "compile.h"
#include "dataplane.h"
#include "log.h"
#include "nsperpkt.skel.h"

struct nsp_hdr { /* as in nsperpkt.bpf.c */
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

struct nsp_hdr6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint8_t proto;
	uint8_t pad[3];
};

static const char *cbdir = "../shared/classbench";
static unsigned repeat = 1000000;
static unsigned runs = 5;
static size_t max_trace = 1000000;
static struct nsperpkt *sk;
static struct dp *dp;
static uint64_t gen;

struct result {
	char name[48];
	size_t rules, entries, longest, flows;
	double known, fresh, apply_ms;
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* 64-byte IPv4 frame with room for a TCP header, set to header h */
static void frame_make(uint8_t *f, const struct cb_hdr *h)
{
	uint16_t sp = htons(h->sport), dp_ = htons(h->dport);

	memset(f, 0, 64);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 40; /* tot_len: 20 + 20 */
	f[22] = 64;
	f[23] = h->proto;
	memcpy(f + 26, &h->src, 4);
	memcpy(f + 30, &h->dst, 4);
	memcpy(f + 34, &sp, 2);
	memcpy(f + 36, &dp_, 2);
	f[14 + 20 + 12] = 0x50; /* doff 5 when the header is TCP */
	f[14 + 20 + 13] = 0x10; /* ACK */
}

/* IPv6 mode: frames, the trace and the wrapper are IPv6's. */
struct hdr6 {
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* host order */
	uint8_t proto;
};

static bool v6mode;
static const struct hdr6 *known6; /* the header of the known-flow run */

/* 80-byte IPv6 frame with room for a TCP header, set to header h */
static void frame_make6(uint8_t *f, const struct hdr6 *h)
{
	uint16_t sp = htons(h->sport), dp_ = htons(h->dport);

	memset(f, 0, 80);
	f[12] = 0x86;
	f[13] = 0xdd;
	f[14] = 0x60;
	f[19] = 20; /* payload length: the TCP header */
	f[20] = h->proto;
	f[21] = 64;
	memcpy(f + 22, h->src, 16);
	memcpy(f + 38, h->dst, 16);
	memcpy(f + 54, &sp, 2);
	memcpy(f + 56, &dp_, 2);
	f[54 + 12] = 0x50;
	f[54 + 13] = 0x10;
}

/* Load headers keep[0..n) of h (all of them when keep is NULL) into the
 * wrapper's trace. */
static int trace_load6(const struct hdr6 *h, const uint32_t *keep, size_t n)
{
	int fd = bpf_map__fd(sk->maps.nsp_trace6);
	size_t i;

	for (i = 0; i < n; i++) {
		const struct hdr6 *x = &h[keep ? keep[i] : i];
		struct nsp_hdr6 v = { .sport = htons(x->sport), .dport = htons(x->dport),
				      .proto = x->proto };
		uint32_t k = i;

		memcpy(v.src, x->src, 16);
		memcpy(v.dst, x->dst, 16);
		if (bpf_map_update_elem(fd, &k, &v, 0))
			return -errno;
	}
	sk->data->ntrace = n;
	return 0;
}

static int trace_load(const struct cb_hdr *h, const uint32_t *keep, size_t n)
{
	int fd = bpf_map__fd(sk->maps.nsp_trace);
	size_t i;

	for (i = 0; i < n; i++) {
		const struct cb_hdr *x = &h[keep ? keep[i] : i];
		struct nsp_hdr v = { x->src, x->dst, htons(x->sport), htons(x->dport), x->proto,
				     { 0 } };
		uint32_t k = i;

		if (bpf_map_update_elem(fd, &k, &v, 0))
			return -errno;
	}
	sk->data->ntrace = n;
	return 0;
}

/*
 * New flows only. A trace repeats flows (acl1's 99811 headers are 48989
 * 5-tuples), and a header whose flow-cache key came earlier in the pass
 * is a cache hit: the known-flow figure, not the new one. So the "new"
 * pass runs the first header of each key, as the datapath keys the cache
 * (bpf/flowgate.bpf.c fg_flow_verdict): for IPv4 only the fields some
 * rule constrains (the generation's FG_GEN_F_* flags), ports only for
 * TCP and UDP; for IPv6 always addresses, ports and protocol. Keys here
 * are never finer than the datapath's, so every header kept misses.
 */
struct fkey {
	uint8_t b[40];
};

static void fkey4(const struct cb_hdr *h, uint32_t fl, struct fkey *k)
{
	const uint32_t l4f = FG_GEN_F_SPORT | FG_GEN_F_DPORT | FG_GEN_F_PROTO | FG_GEN_F_TCPF;
	bool l4 = h->proto == IPPROTO_TCP || h->proto == IPPROTO_UDP;
	uint32_t ports = 0;

	memset(k, 0, sizeof(*k));
	if (fl & FG_GEN_F_SRC)
		memcpy(k->b, &h->src, 4);
	if (fl & FG_GEN_F_DST)
		memcpy(k->b + 4, &h->dst, 4);
	if (l4 && (fl & FG_GEN_F_SPORT))
		ports |= h->sport;
	if (l4 && (fl & FG_GEN_F_DPORT))
		ports |= (uint32_t)h->dport << 16;
	memcpy(k->b + 8, &ports, 4);
	if (fl & l4f)
		k->b[12] = h->proto;
}

static void fkey6(const struct hdr6 *h, struct fkey *k)
{
	bool l4 = h->proto == IPPROTO_TCP || h->proto == IPPROTO_UDP;

	memset(k, 0, sizeof(*k));
	memcpy(k->b, h->src, 16);
	memcpy(k->b + 16, h->dst, 16);
	if (l4) {
		memcpy(k->b + 32, &h->sport, 2);
		memcpy(k->b + 34, &h->dport, 2);
	}
	k->b[36] = h->proto;
}

/* Indices of the first header of each key into keep, how many into *m. */
static int first_of_each(const struct fkey *k, size_t n, uint32_t *keep, size_t *m)
{
	size_t cap = 2, i, j, at;
	uint32_t *slot;

	*m = 0;
	while (cap < 2 * n)
		cap <<= 1;
	slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -ENOMEM;
	memset(slot, 0xff, cap * sizeof(*slot));
	for (i = 0; i < n; i++) {
		uint64_t h = 0xcbf29ce484222325ULL;

		for (j = 0; j < sizeof(k[i].b); j++)
			h = (h ^ k[i].b[j]) * 0x100000001b3ULL;
		for (at = h & (cap - 1); slot[at] != UINT32_MAX; at = (at + 1) & (cap - 1))
			if (!memcmp(&k[slot[at]], &k[i], sizeof(k[i])))
				break;
		if (slot[at] == UINT32_MAX) {
			slot[at] = i;
			keep[(*m)++] = i;
		}
	}
	free(slot);
	return 0;
}

/* The trace of the row being measured (measure() loads its new flows). */
static const struct hdr6 *cur6;
static size_t ncur6;

/* Load the new flows of the trace for a generation of flags fl. */
static int load_new_flows(const struct cb_hdr *tr, size_t ntr, uint32_t fl, size_t *nflows)
{
	size_t n = v6mode ? ncur6 : ntr, i;
	struct fkey *k = calloc(n ? n : 1, sizeof(*k));
	uint32_t *keep = calloc(n ? n : 1, sizeof(*keep));
	int err = -ENOMEM;

	if (k && keep) {
		for (i = 0; i < n; i++) {
			if (v6mode)
				fkey6(&cur6[i], &k[i]);
			else
				fkey4(&tr[i], fl, &k[i]);
		}
		err = first_of_each(k, n, keep, nflows);
		if (!err)
			err = v6mode ? trace_load6(cur6, keep, *nflows)
				     : trace_load(tr, keep, *nflows);
	}
	free(k);
	free(keep);
	return err;
}

static int set_target(int prog_fd)
{
	uint32_t zero = 0;

	return bpf_map_update_elem(bpf_map__fd(sk->maps.nsp_target), &zero, &prog_fd, 0);
}

/* ns/packet of prog on one frame, repeated */
static double run_known(int prog_fd, const struct cb_hdr *h)
{
	uint8_t f[80];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = v6mode ? 80 : 64,
		    .repeat = repeat);

	if (v6mode)
		frame_make6(f, known6);
	else
		frame_make(f, h);
	if (bpf_prog_test_run_opts(prog_fd, &o))
		return -1;
	return o.duration;
}

/* ns/packet over the loaded trace, each header once */
static double run_new(void)
{
	uint8_t f[80];
	struct cb_hdr h = { 0 };
	struct hdr6 h6 = { .proto = 6 };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f, .data_size_in = v6mode ? 80 : 64);

	if (v6mode)
		frame_make6(f, &h6);
	else
		frame_make(f, &h);
	o.repeat = sk->data->ntrace;
	sk->bss->cursor = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(v6mode ? sk->progs.nsp_wrap6
							  : sk->progs.nsp_wrap), &o))
		return -1;
	return o.duration;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int measure(struct policy *p, const struct compile_opts *co, const struct cb_hdr *tr,
		   size_t ntr, struct result *r)
{
	double known[64], fresh[64];
	struct fg_tables t;
	char err[256];
	unsigned k;
	double t0;
	int ret;

	t0 = now_ms();
	ret = compile_tables(p, co, &t, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "compile %s: %s\n", r->name, err);
		return ret;
	}
	ret = dp_install(dp, &t, ++gen);
	r->apply_ms = now_ms() - t0;
	r->entries = t.nents;
	r->longest = t.longest_list;
	r->rules = p->nrules;
	if (!ret)
		ret = load_new_flows(tr, ntr, t.cfg.flags, &r->flows);
	for (k = 0; k < runs && !ret; k++) {
		/* a new generation: an empty flow cache for this pass */
		if (k && (ret = dp_install(dp, &t, ++gen)))
			break;
		fresh[k] = run_new();
		known[k] = run_known(dp_prog_fd(dp, true), &tr[0]);
	}
	compile_free(&t);
	if (ret)
		return ret;
	r->known = median(known, runs);
	r->fresh = median(fresh, runs);
	return 0;
}

static void print_head(void)
{
	printf("| rule set | rules | list entries | known ns | x 1-rule | x empty | new flows | new ns | x 1-rule | x empty | apply ms | longest list |\n");
	printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
}

static void print_row(const struct result *r, const struct result *base, double fk, double fn)
{
	printf("| %s | %zu | %zu | %.1f | %.2fx | %.2fx | %zu | %.1f | %.2fx | %.2fx | %.0f | %zu |\n",
	       r->name, r->rules, r->entries, r->known, r->known / base->known, r->known / fk,
	       r->flows, r->fresh, r->fresh / base->fresh, r->fresh / fn, r->apply_ms, r->longest);
	fflush(stdout);
}

/* Add rule 0: drop src @big, a set of n CIDRs (mostly /32, some /24),
 * and make every 10th trace header come from the set. */
static int add_big_set(struct policy *p, size_t n, struct cb_hdr *tr, size_t ntr,
		       struct fg_set_spec *set, struct fg_rule_spec **saved)
{
	struct fg_rule_spec *r;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	size_t i;

	set->name = "big";
	set->cidrs = calloc(n, sizeof(*set->cidrs));
	if (!set->cidrs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct fg_cidr *c = &set->cidrs[i];
		uint32_t a;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		a = (uint32_t)x | 0x01000000u;
		c->family = 4;
		c->len = (i % 8) ? 32 : 24;
		if (c->len == 24)
			a &= 0xffffff00u;
		a = htonl(a);
		memcpy(c->addr, &a, 4);
	}
	set->ncidrs = n;
	for (i = 0; i < ntr; i += 10)
		memcpy(&tr[i].src, set->cidrs[(i * 7919) % n].addr, 4);
	r = calloc(p->nrules + 1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r[0].name = "big-set";
	r[0].action = FG_ACT_DROP;
	r[0].src.set = 0;
	r[0].dst.any = true;
	r[0].dst.set = -1;
	memcpy(r + 1, p->rules, p->nrules * sizeof(*r));
	*saved = p->rules;
	p->rules = r;
	p->nrules++;
	p->sets = set;
	p->nsets = 1;
	return 0;
}

static int bench_set(const char *name, size_t nrules, const char *trace, size_t setsize,
		     struct result *out)
{
	char rp[512], tp[512];
	struct fg_rule_spec *saved = NULL;
	struct fg_set_spec set = { 0 };
	struct cb_hdr *tr = NULL;
	struct policy p;
	size_t ntr = 0;
	int err;

	snprintf(rp, sizeof(rp), "%s/%s_100000.gz", cbdir, name);
	snprintf(tp, sizeof(tp), "%s/%s_100000_trace.gz", cbdir, trace);
	if ((err = cb_load_rules(rp, nrules, &p)) || (err = cb_load_trace(tp, max_trace, &tr, &ntr))) {
		fprintf(stderr, "cannot load %s / %s: %s\n", rp, tp, strerror(-err));
		return err;
	}
	snprintf(out->name, sizeof(out->name), "%s %zu%s", name, p.nrules,
		 setsize ? " + 1M set" : "");
	if (setsize && (err = add_big_set(&p, setsize, tr, ntr, &set, &saved)))
		goto out;
	err = measure(&p, NULL, tr, ntr, out);
out:
	if (saved) {
		free(p.rules);
		p.rules = saved;
		p.nrules--;
	}
	free(set.cidrs);
	cb_free_rules(&p);
	free(tr);
	return err;
}

static uint64_t rng6 = 0x2545f4914f6cdd1dULL;

static uint64_t next6(void)
{
	rng6 ^= rng6 << 13;
	rng6 ^= rng6 >> 7;
	rng6 ^= rng6 << 17;
	return rng6;
}

/* A random global-unicast-looking IPv6 address (2000::/3). */
static void addr6(uint8_t a[16])
{
	uint64_t x = next6(), y = next6();

	memcpy(a, &x, 8);
	memcpy(a + 8, &y, 8);
	a[0] = 0x20 | (a[0] & 0x1f);
}

/* One ClassBench set mapped to IPv6 (bench/cb.h), on its mapped trace. */
static int bench_v6_set(const char *name, size_t nrules, const struct compile_opts *co,
			const char *how, struct result *out)
{
	char rp[512], tp[512];
	struct cb_hdr *tr = NULL;
	struct hdr6 *t6 = NULL;
	struct policy p;
	size_t ntr = 0, i;
	int err;

	snprintf(rp, sizeof(rp), "%s/%s_100000.gz", cbdir, name);
	snprintf(tp, sizeof(tp), "%s/%s_100000_trace.gz", cbdir, name);
	if ((err = cb_load_rules(rp, nrules, &p))) {
		fprintf(stderr, "cannot load %s: %s\n", rp, strerror(-err));
		return err;
	}
	if ((err = cb_load_trace(tp, max_trace, &tr, &ntr)) || !ntr) {
		fprintf(stderr, "cannot load %s: %s\n", tp, strerror(err ? -err : EINVAL));
		err = err ? err : -EINVAL;
		goto out;
	}
	cb_rules_to_v6(&p);
	t6 = calloc(ntr, sizeof(*t6));
	if (!t6) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < ntr; i++) {
		cb_addr6(t6[i].src, tr[i].src);
		cb_addr6(t6[i].dst, tr[i].dst);
		t6[i].sport = tr[i].sport;
		t6[i].dport = tr[i].dport;
		t6[i].proto = tr[i].proto;
	}
	snprintf(out->name, sizeof(out->name), "v6 %s %zu%s", name, p.nrules, how);
	known6 = &t6[0];
	cur6 = t6;
	ncur6 = ntr;
	err = measure(&p, co, NULL, 0, out);
out:
	cur6 = NULL;
	free(t6);
	free(tr);
	cb_free_rules(&p);
	return err;
}

/*
 * IPv6 at ClassBench scale: each set mapped to IPv6 (a.b.c.d/len becomes
 * 2001:db8:ab:cd::/32+len, the trace likewise), so the rules have the
 * structure of the IPv4 rows one level down the address. Digit trees (the
 * default), and acl1 100k once more with the kernel LPM trie that IPv6
 * used before them.
 */
static int bench_v6_classbench(double fk, double fn)
{
	static const struct compile_opts trie = { .default_slot = FG_SLOT_DEFAULT, .v6_trie = true };
	static const struct {
		const char *set;
		size_t rules;
		bool trie;
	} cases[] = {
		{ "acl1", 1, false },	   { "acl1", 10000, false }, { "acl1", 100000, false },
		{ "fw1", 100000, false },  { "ipc1", 100000, false }, { "acl1", 100000, true },
	};
	struct result base, r;
	size_t i;
	int err = 0;

	v6mode = true;
	printf("\nIPv6, the ClassBench sets mapped to 2001:db8::/32 (bench/cb.h), the first "
	       "mapped header of each flow once; the empty program as above\n\n");
	print_head();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]) && !err; i++) {
		err = bench_v6_set(cases[i].set, cases[i].rules, cases[i].trie ? &trie : NULL,
				   cases[i].trie ? ", LPM trie" : "", &r);
		if (err)
			break;
		if (i == 0)
			base = r;
		print_row(&r, &base, fk, fn);
	}
	v6mode = false;
	return err;
}

/*
 * IPv6: the trace is 100k random flows (TCP and UDP, random ports); the
 * policy one rule (drop dst 2001:db8::/32, which the trace misses), then
 * with rule 0 "drop src @big6" before it, big6 being 1M random CIDRs
 * (7 in 8 /128s, the rest /64s) and every 10th trace source taken from it:
 * once in set hashes (the default), once in the trie (set_hash_min past
 * the set's size), to show what the hashes change.
 */
static int bench_v6(void)
{
	enum { NTR = 100000, NSET = 1000000 };
	struct hdr6 *tr = calloc(NTR, sizeof(*tr));
	struct fg_cidr *cs = calloc(NSET, sizeof(*cs)), net = { .family = 6, .len = 32 };
	struct fg_rule_spec r[2] = { 0 };
	struct fg_set_spec set = { .name = "big6", .cidrs = cs, .ncidrs = NSET };
	struct policy p = { .version = 1, .default_action = FG_ACT_ALLOW };
	struct compile_opts trie = { .default_slot = FG_SLOT_DEFAULT, .set_hash_min = SIZE_MAX,
				     .v6_trie = true };
	struct result base, res;
	double vk[64], vn[64], fk, fn;
	size_t i;
	int err = -ENOMEM;

	if (!tr || !cs)
		goto out;
	net.addr[0] = 0x20;
	net.addr[1] = 0x01;
	net.addr[2] = 0x0d;
	net.addr[3] = 0xb8;
	for (i = 0; i < NSET; i++) {
		cs[i].family = 6;
		addr6(cs[i].addr);
		cs[i].len = i % 8 ? 128 : 64;
		if (cs[i].len == 64)
			memset(cs[i].addr + 8, 0, 8);
	}
	for (i = 0; i < NTR; i++) {
		addr6(tr[i].src);
		addr6(tr[i].dst);
		if (i % 10 == 0)
			memcpy(tr[i].src, cs[(i * 7919) % NSET].addr, 16);
		tr[i].proto = next6() & 1 ? 6 : 17;
		tr[i].sport = 1024 + next6() % 60000;
		tr[i].dport = next6() % 1024;
	}
	known6 = &tr[1];
	r[0] = (struct fg_rule_spec){ .name = "big-set", .action = FG_ACT_DROP,
				      .src = { .set = 0 }, .dst = { .any = true, .set = -1 } };
	r[1] = (struct fg_rule_spec){ .name = "one", .action = FG_ACT_DROP,
				      .src = { .any = true, .set = -1 },
				      .dst = { .set = -1, .cidrs = &net, .ncidrs = 1 } };
	v6mode = true;
	cur6 = tr;
	ncur6 = NTR;
	if ((err = trace_load6(tr, NULL, NTR)))
		goto out;
	/* the floor again, with IPv6 frames and the IPv6 wrapper */
	set_target(bpf_program__fd(sk->progs.nsp_empty));
	for (i = 0; i < runs; i++) {
		vk[i] = run_known(bpf_program__fd(sk->progs.nsp_empty), NULL);
		vn[i] = run_new();
	}
	fk = median(vk, runs);
	fn = median(vn, runs);
	set_target(dp_prog_fd(dp, true));
	printf("\nIPv6: trace of %d random flows, every 10th source in the set when there is "
	       "one; empty XDP_DROP program: known %.1f ns, new (via wrapper) %.1f ns\n\n",
	       NTR, fk, fn);
	print_head();
	p.rules = &r[1];
	p.nrules = 1;
	snprintf(base.name, sizeof(base.name), "v6 1 rule");
	if ((err = measure(&p, NULL, NULL, 0, &base)))
		goto out;
	print_row(&base, &base, fk, fn);
	p.rules = r;
	p.nrules = 2;
	p.sets = &set;
	p.nsets = 1;
	snprintf(res.name, sizeof(res.name), "v6 1 rule + 1M set, hashed");
	if ((err = measure(&p, NULL, NULL, 0, &res)))
		goto out;
	print_row(&res, &base, fk, fn);
	snprintf(res.name, sizeof(res.name), "v6 1 rule + 1M set, in the trie");
	if ((err = measure(&p, &trie, NULL, 0, &res)))
		goto out;
	print_row(&res, &base, fk, fn);
out:
	v6mode = false;
	free(tr);
	free(cs);
	if (!err)
		err = bench_v6_classbench(fk, fn);
	return err;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "classbench", 1, 0, 'c' },
					    { "repeat", 1, 0, 'r' },
					    { "max-trace", 1, 0, 't' },
					    { "runs", 1, 0, 'n' },
					    { 0 } };
	static const struct {
		const char *set;
		size_t rules, setsize;
	} cases[] = {
		{ "acl1", 1, 0 },	{ "acl1", 100, 0 },	{ "acl1", 10000, 0 },
		{ "acl1", 100000, 0 },	{ "fw1", 100000, 0 },	{ "ipc1", 100000, 0 },
		{ "acl1", 100000, 1000000 },
	};
	struct result base, r;
	struct cb_hdr *tr, zero = { 0 };
	double fk, fn;
	size_t ntr, i;
	char tp[512];
	int c;

	while ((c = getopt_long(argc, argv, "c:r:t:n:", lo, NULL)) != -1) {
		if (c == 'c')
			cbdir = optarg;
		else if (c == 'r')
			repeat = atoi(optarg);
		else if (c == 't')
			max_trace = atoi(optarg);
		else if (c == 'n' && atoi(optarg) > 0 && atoi(optarg) <= 64)
			runs = atoi(optarg);
		else
			return 1;
	}
	log_setup_libbpf();
	sk = nsperpkt__open_and_load();
	if (!sk || dp_open(NULL, &dp)) {
		fprintf(stderr, "cannot load the BPF programs (root? bpffs?)\n");
		return 2;
	}
	/* floor: the wrapper and an empty program, on the same trace */
	snprintf(tp, sizeof(tp), "%s/acl1_100000_trace.gz", cbdir);
	if (cb_load_trace(tp, max_trace, &tr, &ntr) || trace_load(tr, NULL, ntr))
		return 2;
	set_target(bpf_program__fd(sk->progs.nsp_empty));
	{
		double vk[64], vn[64];
		unsigned k;

		for (k = 0; k < runs; k++) {
			vk[k] = run_known(bpf_program__fd(sk->progs.nsp_empty), &zero);
			vn[k] = run_new();
		}
		fk = median(vk, runs);
		fn = median(vn, runs);
	}
	free(tr);
	printf("empty XDP_DROP program: known %.1f ns, new (via wrapper) %.1f ns; trace %zu headers, repeat %u; medians of %u runs\n\n",
	       fk, fn, ntr, repeat, runs);
	set_target(dp_prog_fd(dp, true));
	print_head();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (bench_set(cases[i].set, cases[i].rules, cases[i].set, cases[i].setsize, &r))
			return 1;
		if (i == 0)
			base = r;
		print_row(&r, &base, fk, fn);
	}
	if (bench_v6())
		return 1;
	dp_close(dp);
	nsperpkt__destroy(sk);
	return 0;
}
