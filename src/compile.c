// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Rule compiler: policy -> classifier tables of one generation.
 *
 * 1. Expand each rule into entries (one per combination of its CIDR, port
 *    range, protocol and interface lists).
 * 2. Index each entry on one field: src, dst, sport, dport, or none (wild).
 *    The choice weighs how many classes the entry would be copied into
 *    (a wide prefix is copied under every narrower prefix inside it) and how
 *    long the list it joins already is.
 * 3. Build classes per field: for addresses, every indexed prefix (and
 *    every CIDR of a referenced set) contributes the entries indexed on it
 *    and the set bits to every address it covers; each elementary interval
 *    of the address space gets the class of its longest covering prefix
 *    (IPv4: a 16-bit root table and bucket trees in the heap; IPv6: LPM
 *    trie entries); for ports, every elementary port interval gets the
 *    class of the entries whose range covers it. Identical classes are
 *    shared (hash-consed).
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define F_SRC 0
#define F_DST 1
#define F_SPORT 2
#define F_DPORT 3
#define F_WILD 4
#define NFIELDS 5

/* Upper bound on entries across all class lists (memory: 64 B each). It
 * also bounds one list's length, which bpf_loop must be able to walk. */
#define FG_MAX_LIST_ENTS (4u << 20)
#define FG_BPF_MAX_LOOPS (8u << 20) /* the kernel's BPF_MAX_LOOPS */
_Static_assert(FG_MAX_LIST_ENTS <= FG_BPF_MAX_LOOPS, "a list longer than bpf_loop walks");
_Static_assert(FG_MAX_LIST_ENTS - 1 <= FG_LIST_OFF_MASK, "list offsets must fit FG_V4_LIST values");
/* Upper bound on entries one rule may expand into. */
#define FG_MAX_EXPAND (1u << 20)

struct xent {
	struct fg_ent e;
	const struct fg_cidr *src, *dst; /* NULL: any or set */
	int src_set, dst_set;            /* policy set index or -1 */
	int field;                       /* F_* chosen */
};

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

/* Make room for `need` elements of `size` bytes in *v (capacity *cap),
 * doubling; the one growth policy of every array here. */
static int grow(void *v, size_t *cap, size_t need, size_t size)
{
	void **pv = v, *nv;
	size_t c = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	nv = realloc(*pv, c * size);
	if (!nv)
		return -ENOMEM;
	*pv = nv;
	*cap = c;
	return 0;
}

static int vec_push(struct u32vec *a, uint32_t x)
{
	if (grow(&a->v, &a->cap, a->n + 1, sizeof(*a->v)))
		return -ENOMEM;
	a->v[a->n++] = x;
	return 0;
}

/* ---- hash-consed classes ---------------------------------------------- */

struct cclass {
	uint64_t setmask;
	uint64_t hash;
	size_t off; /* into pool */
	uint32_t len;
};

struct cons {
	struct cclass *c;
	size_t n, cap;
	struct u32vec pool; /* entry indices, class lists back to back */
	uint32_t *slots;    /* open addressing: class index + 1, 0 empty */
	size_t nslots;
};

static uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t list_hash(uint64_t setmask, const uint32_t *l, size_t n)
{
	uint64_t h = mix64(setmask + 0x9e3779b97f4a7c15ULL);
	size_t i;

	for (i = 0; i < n; i++)
		h = mix64(h ^ (l[i] + 0x632be59bd9b4e019ULL * (i + 1)));
	return h;
}

static int cons_grow(struct cons *cs)
{
	size_t ns = cs->nslots ? cs->nslots * 2 : 1024, i;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (i = 0; i < cs->n; i++) {
		size_t s = cs->c[i].hash & (ns - 1);

		while (slots[s])
			s = (s + 1) & (ns - 1);
		slots[s] = i + 1;
	}
	free(cs->slots);
	cs->slots = slots;
	cs->nslots = ns;
	return 0;
}

/* Class id of (setmask, list); list must be sorted. */
static int cons_get(struct cons *cs, uint64_t setmask, const uint32_t *l,
		    size_t n, uint32_t *id)
{
	uint64_t h = list_hash(setmask, l, n);
	struct cclass *c;
	size_t s, i;
	int err;

	if ((cs->n + 1) * 2 > cs->nslots && (err = cons_grow(cs)))
		return err;
	for (s = h & (cs->nslots - 1); cs->slots[s]; s = (s + 1) & (cs->nslots - 1)) {
		c = &cs->c[cs->slots[s] - 1];
		if (c->hash == h && c->setmask == setmask && c->len == n &&
		    !memcmp(cs->pool.v + c->off, l, n * sizeof(*l))) {
			*id = cs->slots[s] - 1;
			return 0;
		}
	}
	if (cs->pool.n + n > FG_MAX_LIST_ENTS)
		return -E2BIG;
	if (grow(&cs->c, &cs->cap, cs->n + 1, sizeof(*cs->c)))
		return -ENOMEM;
	c = &cs->c[cs->n];
	c->setmask = setmask;
	c->hash = h;
	c->len = n;
	c->off = cs->pool.n;
	for (i = 0; i < n; i++)
		if ((err = vec_push(&cs->pool, l[i])))
			return err;
	cs->slots[s] = cs->n + 1;
	*id = cs->n++;
	return 0;
}

static void cons_free(struct cons *cs)
{
	free(cs->c);
	free(cs->pool.v);
	free(cs->slots);
}

/* ---- expansion -------------------------------------------------------- */

struct ctx {
	const struct policy *p;
	const struct compile_opts *o;
	struct xent *x;
	size_t nx, capx;
	int *set_bits;     /* policy set index -> bit, -1 unused */
	char *err;
	size_t errlen;
};

static uint32_t ifindex_of(struct ctx *c, const char *name)
{
	if (c->o && c->o->ifindex)
		return c->o->ifindex(name, c->o->ifindex_arg);
	return if_nametoindex(name);
}

static int xent_push(struct ctx *c, const struct xent *x)
{
	/* every entry lands in at least one class list: past the list cap
	 * the policy cannot be installed, so stop before using the memory */
	if (c->nx >= FG_MAX_LIST_ENTS) {
		snprintf(c->err, c->errlen,
			 "the rules expand into more than %u entries: use sets instead of long lists",
			 FG_MAX_LIST_ENTS);
		return -E2BIG;
	}
	if (grow(&c->x, &c->capx, c->nx + 1, sizeof(*c->x)))
		return -ENOMEM;
	c->x[c->nx++] = *x;
	return 0;
}

/* Alternatives of an address field: any (1), a set (1), or its CIDRs. */
static size_t addr_alts(const struct fg_addr_match *m)
{
	if (m->set >= 0 || m->any || !m->ncidrs)
		return 1;
	return m->ncidrs;
}

static bool addr_alt(struct ctx *c, const struct fg_addr_match *m, size_t i,
		     struct xent *x, bool is_src)
{
	struct fg_ent *e = &x->e;

	if (m->set >= 0) {
		int bit = c->set_bits[m->set];

		if (is_src) {
			e->match |= FG_M_SRCSET;
			e->src_set = bit;
			x->src_set = m->set;
		} else {
			e->match |= FG_M_DSTSET;
			e->dst_set = bit;
			x->dst_set = m->set;
		}
		return true;
	}
	if (m->any || !m->ncidrs)
		return true;
	const struct fg_cidr *cd = &m->cidrs[i];
	uint8_t fam = cd->family == 4 ? FG_FAM_V4 : FG_FAM_V6;

	if ((e->match & FG_M_FAMILY) && e->family != fam)
		return false; /* v4 src with v6 dst can never match */
	e->match |= FG_M_FAMILY;
	e->family = fam;
	if (is_src) {
		e->match |= FG_M_SRC;
		e->src_len = cd->len;
		memcpy(e->src_net, cd->addr, 16);
		x->src = cd;
	} else {
		e->match |= FG_M_DST;
		e->dst_len = cd->len;
		memcpy(e->dst_net, cd->addr, 16);
		x->dst = cd;
	}
	return true;
}

static int expand_rule(struct ctx *c, size_t ri)
{
	const struct fg_rule_spec *r = &c->p->rules[ri];
	size_t ns = addr_alts(&r->src), nd = addr_alts(&r->dst);
	size_t np = r->proto_kind == FG_PROTO_TCPUDP ? 2 : 1;
	size_t nsp = r->nsports ? r->nsports : 1, ndp = r->ndports ? r->ndports : 1;
	size_t ni = r->nifaces ? r->nifaces : 1;
	size_t total = 1, a, b, pr, sp, dp, ii;
	int err;

	/* Lists of 65536 items each would wrap a plain product to 0. */
	if (__builtin_mul_overflow(total, ns, &total) || __builtin_mul_overflow(total, nd, &total) ||
	    __builtin_mul_overflow(total, np, &total) || __builtin_mul_overflow(total, nsp, &total) ||
	    __builtin_mul_overflow(total, ndp, &total) || __builtin_mul_overflow(total, ni, &total))
		total = SIZE_MAX;
	if (total > FG_MAX_EXPAND) {
		snprintf(c->err, c->errlen,
			 "rule %s expands into more than %u entries (one per combination of its lists): use a set instead of long lists",
			 r->name, FG_MAX_EXPAND);
		return -E2BIG;
	}
	for (a = 0; a < ns; a++)
	for (b = 0; b < nd; b++)
	for (pr = 0; pr < np; pr++)
	for (sp = 0; sp < nsp; sp++)
	for (dp = 0; dp < ndp; dp++)
	for (ii = 0; ii < ni; ii++) {
		struct xent x = { .src_set = -1, .dst_set = -1 };
		struct fg_ent *e = &x.e;

		e->rule = ri;
		if (!addr_alt(c, &r->src, a, &x, true) ||
		    !addr_alt(c, &r->dst, b, &x, false))
			continue;
		if (r->proto_kind == FG_PROTO_NUM) {
			e->match |= FG_M_PROTO;
			e->proto = r->proto;
		} else if (r->proto_kind == FG_PROTO_TCPUDP) {
			e->match |= FG_M_PROTO;
			e->proto = pr ? 17 : 6;
		}
		if (r->nsports) {
			e->match |= FG_M_SPORT;
			e->sport_lo = r->sports[sp].lo;
			e->sport_hi = r->sports[sp].hi;
		}
		if (r->ndports) {
			e->match |= FG_M_DPORT;
			e->dport_lo = r->dports[dp].lo;
			e->dport_hi = r->dports[dp].hi;
		}
		if (r->tcp_set || r->tcp_clear) {
			e->match |= FG_M_TCPF;
			e->tcp_set = r->tcp_set;
			e->tcp_clear = r->tcp_clear;
		}
		if (r->state_mask) {
			e->match |= FG_M_STATE;
			e->state_mask = r->state_mask;
		}
		if (r->nifaces) {
			e->match |= FG_M_IFACE;
			e->ifindex = ifindex_of(c, r->ifaces[ii]);
		}
		/* A port or flag match implies TCP/UDP; the parser only
		 * fills ports for those, but an ICMP type must not match
		 * a port by accident. */
		if ((e->match & (FG_M_SPORT | FG_M_DPORT | FG_M_TCPF)) &&
		    !(e->match & FG_M_PROTO)) {
			e->match |= FG_M_PROTO;
			e->proto = 6;
		}
		/* Ports exist only for TCP/UDP, flags only for TCP: such an
		 * entry for another protocol can never match. */
		if (((e->match & (FG_M_SPORT | FG_M_DPORT)) && e->proto != 6 &&
		     e->proto != 17) ||
		    ((e->match & FG_M_TCPF) && e->proto != 6))
			continue;
		if ((err = xent_push(c, &x)))
			return err;
	}
	return 0;
}

/* ---- index choice ------------------------------------------------------ */

/* A prefix in the candidate list of one address field. */
struct pfx {
	uint8_t family, len;
	uint8_t addr[16];
};

static int pfx_cmp(const void *a, const void *b)
{
	const struct pfx *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family - y->family;
	c = memcmp(x->addr, y->addr, 16);
	if (c)
		return c;
	return x->len - y->len;
}

static void pfx_last(const struct pfx *p, uint8_t out[16])
{
	int i;

	memcpy(out, p->addr, 16);
	for (i = p->len; i < (p->family == 4 ? 32 : 128); i++)
		out[i / 8] |= 0x80 >> (i % 8);
}

/* Number of candidate prefixes strictly inside p (sorted list). */
static size_t pfx_descendants(const struct pfx *v, size_t n, const struct pfx *p)
{
	struct pfx *at = bsearch(p, v, n, sizeof(*v), pfx_cmp);
	size_t lo, hi, pos;
	uint8_t last[16];

	if (!at)
		return 0;
	pos = at - v;
	pfx_last(p, last);
	lo = pos + 1;
	hi = n;
	while (lo < hi) { /* first index past p's range */
		size_t mid = (lo + hi) / 2;

		if (v[mid].family == p->family && memcmp(v[mid].addr, last, 16) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - pos - 1;
}

/* The prefix of c, host bits cleared: the policy parser refuses them, but
 * tables built from them (the trees sort prefixes by address) must not
 * depend on it. */
static void pfx_from_cidr(struct pfx *p, const struct fg_cidr *c)
{
	unsigned i, len = c->len;

	memset(p, 0, sizeof(*p));
	p->family = c->family;
	p->len = c->len;
	memcpy(p->addr, c->addr, 16);
	for (i = 0; i < 16; i++, len = len > 8 ? len - 8 : 0)
		p->addr[i] &= len >= 8 ? 0xff : (uint8_t)(0xff00u >> len);
}

struct candidates {
	struct pfx *pf[2]; /* src, dst */
	size_t npf[2];
	uint32_t *bounds[2]; /* sport, dport: sorted interval starts */
	size_t nbounds[2];
};

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static size_t uniq_pfx(struct pfx *v, size_t n)
{
	size_t i, k = 0;

	qsort(v, n, sizeof(*v), pfx_cmp);
	for (i = 0; i < n; i++)
		if (!k || pfx_cmp(&v[k - 1], &v[i]))
			v[k++] = v[i];
	return k;
}

static int build_candidates(struct ctx *c, struct candidates *cd)
{
	size_t i, f;

	for (f = 0; f < 2; f++) {
		size_t n = 0;
		struct pfx *v = malloc((c->nx + 1) * sizeof(*v));
		uint32_t *b = malloc((2 * c->nx + 2) * sizeof(*b));

		if (!v || !b) {
			free(v);
			free(b);
			return -ENOMEM;
		}
		for (i = 0; i < c->nx; i++) {
			const struct fg_cidr *cc = f ? c->x[i].dst : c->x[i].src;

			if (cc)
				pfx_from_cidr(&v[n++], cc);
		}
		cd->pf[f] = v;
		cd->npf[f] = uniq_pfx(v, n);

		n = 0;
		for (i = 0; i < c->nx; i++) {
			const struct fg_ent *e = &c->x[i].e;

			if (e->match & (f ? FG_M_DPORT : FG_M_SPORT)) {
				b[n++] = f ? e->dport_lo : e->sport_lo;
				b[n++] = (f ? e->dport_hi : e->sport_hi) + 1u;
			}
		}
		qsort(b, n, sizeof(*b), u32_cmp);
		cd->bounds[f] = b;
		cd->nbounds[f] = n;
	}
	return 0;
}

/* Elementary port intervals inside [lo, hi]. */
static size_t port_intervals(const uint32_t *b, size_t n, uint32_t lo, uint32_t hi)
{
	size_t a = 0, z = n, k = 0, i;

	/* count distinct bounds in (lo, hi] */
	while (a < z) {
		size_t m = (a + z) / 2;

		if (b[m] <= lo)
			a = m + 1;
		else
			z = m;
	}
	for (i = a; i < n && b[i] <= hi; i++)
		if (i == a || b[i] != b[i - 1])
			k++;
	return k + 1;
}

/* Open-addressing counter: how many entries share one field value. */
struct counter {
	uint64_t *keys;
	uint32_t *vals;
	size_t n, cap;
};

static uint32_t *counter_at(struct counter *ct, uint64_t key)
{
	size_t s;

	if ((ct->n + 1) * 2 > ct->cap) {
		size_t cap = ct->cap ? ct->cap * 2 : 4096, i;
		uint64_t *k = calloc(cap, sizeof(*k));
		uint32_t *v = calloc(cap, sizeof(*v));

		if (!k || !v) {
			free(k);
			free(v);
			return NULL;
		}
		for (i = 0; i < ct->cap; i++) {
			if (!ct->keys[i])
				continue;
			s = mix64(ct->keys[i]) & (cap - 1);
			while (k[s])
				s = (s + 1) & (cap - 1);
			k[s] = ct->keys[i];
			v[s] = ct->vals[i];
		}
		free(ct->keys);
		free(ct->vals);
		ct->keys = k;
		ct->vals = v;
		ct->cap = cap;
	}
	key |= 1; /* never 0: 0 marks a free slot */
	for (s = mix64(key) & (ct->cap - 1); ct->keys[s]; s = (s + 1) & (ct->cap - 1))
		if (ct->keys[s] == key)
			return &ct->vals[s];
	ct->keys[s] = key;
	ct->n++;
	return &ct->vals[s];
}

static uint64_t value_key(const struct xent *x, int f)
{
	const struct fg_ent *e = &x->e;
	uint64_t h = mix64(f + 1);

	switch (f) {
	case F_SRC:
	case F_DST: {
		const struct fg_cidr *cc = f == F_SRC ? x->src : x->dst;
		int set = f == F_SRC ? x->src_set : x->dst_set;
		size_t i;

		if (!cc)
			return mix64(h ^ (0x5e7000000ULL + set));
		h = mix64(h ^ cc->len ^ ((uint64_t)cc->family << 8));
		for (i = 0; i < 16; i += 8) {
			uint64_t w;

			memcpy(&w, cc->addr + i, 8);
			h = mix64(h ^ w);
		}
		return h;
	}
	case F_SPORT:
		return mix64(h ^ ((uint64_t)e->sport_lo << 16 | e->sport_hi));
	case F_DPORT:
		return mix64(h ^ ((uint64_t)e->dport_lo << 16 | e->dport_hi));
	}
	return h;
}

/* Copies an entry costs if indexed on field f; 0 = not indexable there. */
static size_t index_copies(const struct candidates *cd, const struct xent *x, int f)
{
	const struct fg_ent *e = &x->e;
	struct pfx p;

	switch (f) {
	case F_SRC:
	case F_DST: {
		const struct fg_cidr *cc = f == F_SRC ? x->src : x->dst;
		int set = f == F_SRC ? x->src_set : x->dst_set;

		if (set >= 0)
			return 1; /* set CIDRs mostly share one class */
		if (!cc || cc->len == 0)
			return 0;
		pfx_from_cidr(&p, cc);
		return 1 + pfx_descendants(cd->pf[f], cd->npf[f], &p);
	}
	case F_SPORT:
		if (!(e->match & FG_M_SPORT) || (e->sport_lo == 0 && e->sport_hi == 65535))
			return 0;
		return port_intervals(cd->bounds[0], cd->nbounds[0], e->sport_lo, e->sport_hi);
	case F_DPORT:
		if (!(e->match & FG_M_DPORT) || (e->dport_lo == 0 && e->dport_hi == 65535))
			return 0;
		return port_intervals(cd->bounds[1], cd->nbounds[1], e->dport_lo, e->dport_hi);
	}
	return 0;
}

/*
 * Choose each entry's index field. Score = copies the entry costs there
 * (memory, and list length under wide prefixes) + entries already sharing
 * that exact value (list length). The wild list is walked by every packet,
 * so joining it scores its length, plus a constant that makes any
 * reasonably narrow index preferable.
 */
static int choose_index(struct ctx *c, size_t nindexed[NFIELDS])
{
	struct candidates cd = { 0 };
	struct counter cnt = { 0 };
	size_t i, nwild = 0;
	int f, err;

	if ((err = build_candidates(c, &cd)))
		goto out;
	for (i = 0; i < c->nx; i++) {
		struct xent *x = &c->x[i];
		size_t best_score = 64 + 4 * nwild;
		int best = F_WILD;
		uint32_t *slot;

		for (f = F_SRC; f <= F_DPORT; f++) {
			size_t copies = index_copies(&cd, x, f), score;

			if (!copies)
				continue;
			slot = counter_at(&cnt, value_key(x, f));
			if (!slot) {
				err = -ENOMEM;
				goto out;
			}
			score = copies + *slot;
			if (score < best_score) {
				best_score = score;
				best = f;
			}
		}
		x->field = best;
		if (best == F_WILD)
			nwild++;
		else if ((slot = counter_at(&cnt, value_key(x, best))))
			(*slot)++;
		nindexed[best]++;
	}
out:
	for (f = 0; f < 2; f++) {
		free(cd.pf[f]);
		free(cd.bounds[f]);
	}
	free(cnt.keys);
	free(cnt.vals);
	return err;
}

/* ---- address classes --------------------------------------------------- */

struct item {
	struct pfx p;
	uint64_t setbits;
	uint32_t first, n; /* own entries in the CSR array */
	uint32_t cls;
};

struct pair {
	uint32_t item, ent;
};

/* Sort keys: integer compares instead of memcmp on 1M+ items. */
struct skey {
	uint64_t hi, lo;
	uint32_t idx;
	uint8_t fam, len;
};

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static int skey_cmp(const void *a, const void *b)
{
	const struct skey *x = a, *y = b;

	if (x->fam != y->fam)
		return x->fam < y->fam ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return (int)x->len - (int)y->len;
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;

	if (x->item != y->item)
		return x->item < y->item ? -1 : 1;
	return x->ent < y->ent ? -1 : x->ent > y->ent;
}

struct itemset {
	struct item *v;
	size_t n, cap;
	struct pair *pairs;
	size_t npairs, cappairs;
};

/* LSD radix sort of (key, idx) by the low `bits` bits of key, 16 a pass. */
static int radix_sort(uint64_t *key, uint32_t *idx, size_t n, int bits)
{
	uint64_t *k2 = malloc(n * sizeof(*k2));
	uint32_t *i2 = malloc(n * sizeof(*i2)), *cnt = malloc(65536 * sizeof(*cnt));
	size_t i;
	int sh;

	if (!k2 || !i2 || !cnt) {
		free(k2);
		free(i2);
		free(cnt);
		return -ENOMEM;
	}
	for (sh = 0; sh < bits; sh += 16) {
		uint32_t sum = 0;

		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < n; i++)
			cnt[(key[i] >> sh) & 0xffff]++;
		for (i = 0; i < 65536; i++) {
			uint32_t c = cnt[i];

			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++) {
			uint32_t d = cnt[(key[i] >> sh) & 0xffff]++;

			k2[d] = key[i];
			i2[d] = idx[i];
		}
		memcpy(key, k2, n * sizeof(*key));
		memcpy(idx, i2, n * sizeof(*idx));
	}
	free(k2);
	free(i2);
	free(cnt);
	return 0;
}

/*
 * Sort items by prefix (family, address, length); each keeps its original
 * position in .cls. IPv4 prefixes (the million-entry blocklists) go
 * through a radix sort on a 40-bit key; IPv6 ones through qsort.
 */
static int items_sort(struct itemset *s)
{
	uint64_t *k4 = malloc(s->n * sizeof(*k4));
	uint32_t *i4 = malloc(s->n * sizeof(*i4));
	struct skey *k6 = malloc(s->n * sizeof(*k6));
	struct item *v = malloc(s->n * sizeof(*v));
	size_t i, n4 = 0, n6 = 0;
	int err = -ENOMEM;

	if (!k4 || !i4 || !k6 || !v)
		goto out;
	for (i = 0; i < s->n; i++) {
		const struct pfx *p = &s->v[i].p;

		if (p->family == 4) {
			k4[n4] = (uint64_t)be64(p->addr) >> 24 | p->len;
			i4[n4++] = i;
		} else {
			k6[n6].hi = be64(p->addr);
			k6[n6].lo = be64(p->addr + 8);
			k6[n6].fam = p->family;
			k6[n6].len = p->len;
			k6[n6++].idx = i;
		}
	}
	if ((err = radix_sort(k4, i4, n4, 48)))
		goto out;
	qsort(k6, n6, sizeof(*k6), skey_cmp);
	for (i = 0; i < n4; i++) {
		v[i] = s->v[i4[i]];
		v[i].cls = i4[i]; /* original position */
	}
	for (i = 0; i < n6; i++) {
		v[n4 + i] = s->v[k6[i].idx];
		v[n4 + i].cls = k6[i].idx;
	}
	free(s->v);
	s->v = v;
	v = NULL;
	s->cap = s->n;
	err = 0;
out:
	free(k4);
	free(i4);
	free(k6);
	free(v);
	return err;
}

static int item_add(struct itemset *s, const struct fg_cidr *c, uint64_t setbits,
		    int64_t ent)
{
	if (grow(&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
		return -ENOMEM;
	memset(&s->v[s->n], 0, sizeof(s->v[0]));
	pfx_from_cidr(&s->v[s->n].p, c);
	s->v[s->n].setbits = setbits;
	if (ent >= 0) {
		if (grow(&s->pairs, &s->cappairs, s->npairs + 1, sizeof(*s->pairs)))
			return -ENOMEM;
		/* item index resolved after sorting: keep the prefix's
		 * position for now */
		s->pairs[s->npairs].item = s->n;
		s->pairs[s->npairs].ent = ent;
		s->npairs++;
	}
	s->n++;
	return 0;
}

static bool pfx_contains(const struct pfx *outer, const struct pfx *in)
{
	uint64_t hi_mask, lo_mask;
	unsigned len = outer->len;

	if (outer->family != in->family || outer->len > in->len)
		return false;
	hi_mask = len >= 64 ? ~0ULL : len ? ~0ULL << (64 - len) : 0;
	lo_mask = len <= 64 ? 0 : len >= 128 ? ~0ULL : ~0ULL << (128 - len);
	return !((be64(outer->addr) ^ be64(in->addr)) & hi_mask) &&
	       !((be64(outer->addr + 8) ^ be64(in->addr + 8)) & lo_mask);
}

/* Merge two sorted lists into buf (dedup). */
static size_t merge(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
		    uint32_t *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na || j < nb) {
		uint32_t v;

		if (j >= nb || (i < na && a[i] <= b[j]))
			v = a[i++];
		else
			v = b[j++];
		if (!k || out[k - 1] != v)
			out[k++] = v;
	}
	return k;
}

/* Growable scratch list. */
static int buf_need(uint32_t **buf, size_t *cap, size_t n)
{
	return grow(buf, cap, n, sizeof(**buf));
}

/* (direct list id, set mask) -> class id, so the million CIDRs of one set
 * resolve to their shared class without rebuilding its list each time. */
struct memo {
	uint64_t *mask;
	uint32_t *dl, *cls; /* dl + 1; 0 marks a free slot */
	size_t n, cap;
};

static uint32_t *memo_at(struct memo *m, uint32_t dl, uint64_t mask)
{
	size_t s, i;

	if ((m->n + 1) * 2 > m->cap) {
		struct memo nm = { .cap = m->cap ? m->cap * 2 : 1024, .n = m->n };

		nm.mask = calloc(nm.cap, sizeof(*nm.mask));
		nm.dl = calloc(nm.cap, sizeof(*nm.dl));
		nm.cls = calloc(nm.cap, sizeof(*nm.cls));
		if (!nm.mask || !nm.dl || !nm.cls) {
			free(nm.mask);
			free(nm.dl);
			free(nm.cls);
			return NULL;
		}
		for (i = 0; i < m->cap; i++) {
			if (!m->dl[i])
				continue;
			s = mix64(m->mask[i] ^ m->dl[i]) & (nm.cap - 1);
			while (nm.dl[s])
				s = (s + 1) & (nm.cap - 1);
			nm.mask[s] = m->mask[i];
			nm.dl[s] = m->dl[i];
			nm.cls[s] = m->cls[i];
		}
		free(m->mask);
		free(m->dl);
		free(m->cls);
		*m = nm;
	}
	for (s = mix64(mask ^ (dl + 1)) & (m->cap - 1); m->dl[s]; s = (s + 1) & (m->cap - 1))
		if (m->dl[s] == dl + 1 && m->mask[s] == mask)
			return &m->cls[s];
	m->dl[s] = dl + 1;
	m->mask[s] = mask;
	m->cls[s] = UINT32_MAX;
	m->n++;
	return &m->cls[s];
}

struct addr_build {
	struct ctx *c;
	struct cons *cs;   /* the generation's classes */
	struct cons dcs;   /* lists of entries indexed on prefixes directly */
	struct memo memo;
	struct u32vec setents[FG_MAX_SETS]; /* entries indexed on each set */
	uint32_t *buf, *tmp;
	size_t bufcap, tmpcap;
};

/* Class of (direct list dl, set mask): the direct entries plus the
 * entries indexed on every set in the mask. */
static int addr_class(struct addr_build *ab, uint32_t dl, uint64_t mask, uint32_t *cls)
{
	const struct cclass *d = &ab->dcs.c[dl];
	uint32_t *slot = memo_at(&ab->memo, dl, mask);
	size_t n = d->len;
	int b, err;

	if (!slot)
		return -ENOMEM;
	if (*slot != UINT32_MAX) {
		*cls = *slot;
		return 0;
	}
	if ((err = buf_need(&ab->buf, &ab->bufcap, n)))
		return err;
	memcpy(ab->buf, ab->dcs.pool.v + d->off, n * sizeof(*ab->buf));
	for (b = 0; b < FG_MAX_SETS; b++) {
		const struct u32vec *se = &ab->setents[b];

		if (!((mask >> b) & 1) || !se->n)
			continue;
		if ((err = buf_need(&ab->tmp, &ab->tmpcap, n + se->n)))
			return err;
		n = merge(ab->buf, n, se->v, se->n, ab->tmp);
		if ((err = buf_need(&ab->buf, &ab->bufcap, n)))
			return err;
		memcpy(ab->buf, ab->tmp, n * sizeof(*ab->buf));
	}
	if ((err = cons_get(ab->cs, mask, ab->buf, n, cls)))
		return err;
	*slot = *cls;
	return 0;
}

/* Direct list of an item: its parent's plus its own entries. */
static int addr_direct(struct addr_build *ab, uint32_t parent_dl,
		       const uint32_t *own, size_t nown, uint32_t *dl)
{
	const struct cclass *p = &ab->dcs.c[parent_dl];
	size_t n;
	int err;

	if (!nown) {
		*dl = parent_dl;
		return 0;
	}
	if ((err = buf_need(&ab->buf, &ab->bufcap, p->len)) ||
	    (err = buf_need(&ab->tmp, &ab->tmpcap, p->len + nown)))
		return err;
	/* copy first: the pool may move while consing */
	memcpy(ab->buf, ab->dcs.pool.v + p->off, p->len * sizeof(*ab->buf));
	n = merge(ab->buf, p->len, own, nown, ab->tmp);
	return cons_get(&ab->dcs, 0, ab->tmp, n, dl);
}

/* Items: every CIDR of a set referenced in this position (it carries the
 * set's bit) and every prefix an entry is indexed on. */
static int addr_items(struct addr_build *ab, int f, struct itemset *s)
{
	struct ctx *c = ab->c;
	uint64_t used = 0;
	size_t i, k;
	int err;

	for (i = 0; i < c->nx; i++) {
		const struct xent *x = &c->x[i];
		int set = f == F_SRC ? x->src_set : x->dst_set;
		const struct fg_cidr *cc = f == F_SRC ? x->src : x->dst;

		if (set >= 0)
			used |= 1ULL << c->set_bits[set];
		if (x->field != f)
			continue;
		if (set >= 0)
			err = vec_push(&ab->setents[c->set_bits[set]], i);
		else
			err = item_add(s, cc, 0, i);
		if (err)
			return err;
	}
	for (i = 0; i < c->p->nsets; i++) {
		int bit = c->set_bits[i];

		if (bit < 0 || !((used >> bit) & 1))
			continue;
		for (k = 0; k < c->p->sets[i].ncidrs; k++)
			if ((err = item_add(s, &c->p->sets[i].cidrs[k], 1ULL << bit, -1)))
				return err;
	}
	return 0;
}

/* Sort items and fold duplicate prefixes; attach own entries (CSR). */
static int addr_fold(struct itemset *s)
{
	uint32_t *order = malloc(s->n * sizeof(*order));
	size_t i, k = 0;
	int err;

	if (!order)
		return -ENOMEM;
	if ((err = items_sort(s))) {
		free(order);
		return err;
	}
	for (i = 0; i < s->n; i++) {
		if (k && !pfx_cmp(&s->v[k - 1].p, &s->v[i].p)) {
			s->v[k - 1].setbits |= s->v[i].setbits;
		} else {
			s->v[k] = s->v[i];
			k++;
		}
		order[s->v[i].cls] = k - 1;
	}
	s->n = k;
	for (i = 0; i < s->npairs; i++)
		s->pairs[i].item = order[s->pairs[i].item];
	free(order);
	qsort(s->pairs, s->npairs, sizeof(*s->pairs), pair_cmp);
	for (i = 0, k = 0; i < s->n; i++) {
		s->v[i].first = k;
		while (k < s->npairs && s->pairs[k].item == i)
			k++;
		s->v[i].n = k - s->v[i].first;
	}
	return 0;
}

/* ---- set hashes (abi.h) ------------------------------------------------ */

struct hcand {
	uint64_t mask;
	uint32_t len, item;
};

static int hcand_cmp(const void *a, const void *b)
{
	const struct hcand *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	return x->item < y->item ? -1 : x->item > y->item;
}

/* The marker of an unused way, as bytes (abi.h). */
static const uint8_t all_ones[16] = { 255, 255, 255, 255, 255, 255, 255, 255,
				      255, 255, 255, 255, 255, 255, 255, 255 };

/* A set CIDR of family fam that may go into a hash: from sets only (no
 * entry is indexed on the prefix itself), not /0, and not the all-ones
 * host prefix, whose key would be the marker of an unused way. */
static bool hashable(const struct item *it, int fam)
{
	int bits = fam == 4 ? 32 : 128;

	return it->p.family == fam && !it->n && it->setbits && it->p.len &&
	       !(it->p.len == bits && !memcmp(it->p.addr, all_ones, bits / 8));
}

/* The key of a prefix (abi.h): IPv4 address >> (32 - len); IPv6 address
 * bytes (already masked to the prefix) as two host-order words, the way
 * the datapath loads them. */
static void hash_key(const struct item *it, int fam, void *key)
{
	const uint8_t *a = it->p.addr;

	if (fam == 4) {
		uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 |
			     (uint32_t)a[2] << 8 | a[3];

		v = it->p.len == 32 ? v : v >> (32 - it->p.len);
		memcpy(key, &v, 4);
	} else {
		memcpy(key, a, 16);
	}
}

/* The mask of an IPv6 prefix over the two words of its key. */
static void v6_mask(uint32_t len, __u64 mask[2])
{
	uint8_t m[16] = { 0 };
	uint32_t i;

	for (i = 0; i < len && i < 128; i++)
		m[i / 8] |= 0x80 >> (i % 8);
	memcpy(mask, m, 16);
}

struct htab {
	uint8_t *v;           /* nb * ways keys of ksize bytes; all ones: unused */
	uint32_t nb, ways, ksize;
	int fam;
	uint64_t mul[2];
	/* compact IPv4 table (abi.h): key width and remainder width; while
	 * building, v holds the full keys, compact() then makes the entries */
	uint32_t lbits, rbits;
	bool compact;
};

/* pi_i of a compact IPv4 table (abi.h): key * mul mod 2^lbits. */
static uint32_t hash_pi(uint32_t key, uint64_t mul, uint32_t lbits)
{
	return (key * (uint32_t)mul) & (0xffffffffu >> (32 - lbits));
}

/* Bucket of a key for choice i (abi.h); the datapath computes the same. */
static uint32_t hash_bucket(const struct htab *ht, const void *key, int i)
{
	uint64_t w[2], f;
	uint32_t k;

	if (ht->fam == 4) {
		memcpy(&k, key, 4);
		if (ht->compact)
			return hash_pi(k, ht->mul[i], ht->lbits) >> ht->rbits;
		return (uint32_t)(((uint64_t)(uint32_t)(k * (uint32_t)ht->mul[i]) * ht->nb) >> 32);
	}
	memcpy(w, key, 16);
	f = w[0] * ht->mul[i] + w[1] * ht->mul[i ^ 1];
	return (uint32_t)(((f >> 32) * ht->nb) >> 32);
}

static uint64_t hash_rng(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* Cuckoo insertion: a key goes into a free way of either bucket, or
 * displaces a random key of one, which moves to its other bucket. */
static bool hash_insert(struct htab *ht, const void *key0, uint64_t *rng)
{
	uint8_t key[16], old[16];
	uint32_t kick, i, w;

	memcpy(key, key0, ht->ksize);
	for (kick = 0; kick < 500; kick++) {
		uint32_t b[2] = { hash_bucket(ht, key, 0), hash_bucket(ht, key, 1) };
		uint8_t *v;

		for (i = 0; i < 2; i++)
			for (w = 0; w < ht->ways; w++) {
				v = ht->v + ((size_t)b[i] * ht->ways + w) * ht->ksize;
				if (!memcmp(v, all_ones, ht->ksize)) {
					memcpy(v, key, ht->ksize);
					return true;
				}
			}
		i = hash_rng(rng) & 1;
		v = ht->v + ((size_t)b[i] * ht->ways + hash_rng(rng) % ht->ways) * ht->ksize;
		memcpy(old, v, ht->ksize);
		memcpy(v, key, ht->ksize);
		memcpy(key, old, ht->ksize);
	}
	return false;
}

/* A compact table's entries from its full keys (abi.h): the remainder of
 * pi_i and the choice i, i being the choice whose bucket holds the key. */
static int compact(struct htab *ht)
{
	uint16_t *e = malloc((size_t)ht->nb * ht->ways * sizeof(*e));
	const uint32_t *k = (const uint32_t *)ht->v;
	size_t j, n = (size_t)ht->nb * ht->ways;

	if (!e) {
		free(ht->v);
		ht->v = NULL;
		return -ENOMEM;
	}
	for (j = 0; j < n; j++) {
		uint32_t b = j / ht->ways, i = hash_bucket(ht, &k[j], 0) == b ? 0 : 1;

		e[j] = k[j] == FG_V4_HASH_EMPTY
			       ? FG_V4_QEMPTY
			       : (uint16_t)((hash_pi(k[j], ht->mul[i], ht->lbits) &
					     ((1u << ht->rbits) - 1)) | i << ht->rbits);
	}
	free(ht->v);
	ht->v = (uint8_t *)e;
	ht->ksize = 2;
	return 0;
}

/* Bucket count of a compact IPv4 table for n keys of lbits bits: a power
 * of two, loaded to at most 0.9, if the remainder then fits an entry. */
static bool compact_fits(size_t n, uint32_t lbits, uint32_t *bbits)
{
	uint32_t b = 1;

	while (b < 31 && ((size_t)FG_V4_QWAYS << b) * 9 < n * 10)
		b++;
	*bbits = b;
	return b <= lbits && lbits - b <= FG_V4_QMAX_RBITS;
}

/* One set hash of family fam over n keys of lbits bits, into *ht: a
 * compact table (IPv4, when the remainder fits) or one of full keys, for a
 * load of about 0.85 (0.45-0.9 compact); new multipliers when an insertion
 * fails, and more buckets after every third failure (1/8 more; compact:
 * twice as many, at most twice). Deterministic: the same keys give the
 * same table. -EOVERFLOW if no table was found (keys built to collide in
 * every attempt): the caller leaves them where they were. */
static int hash_make(int fam, uint32_t lbits, const uint8_t *keys, size_t n, struct htab *ht)
{
	uint64_t rng = 0x2545f4914f6cdd1dULL ^ n;
	size_t nb, i;
	uint32_t bbits;
	int attempt;

	_Static_assert(FG_V4_HASH_WAYS * 4 * 2 == FG_HEAP_SLOT, "two IPv4 buckets a heap slot");
	_Static_assert(FG_V6_HASH_WAYS * 16 == FG_HEAP_SLOT, "one IPv6 bucket a heap slot");
	_Static_assert(FG_V4_QWAYS * 2 * 8 == FG_HEAP_SLOT, "eight compact buckets a heap slot");
	memset(ht, 0, sizeof(*ht));
	ht->fam = fam;
	ht->ways = fam == 4 ? FG_V4_HASH_WAYS : FG_V6_HASH_WAYS;
	ht->ksize = fam == 4 ? 4 : 16;
	nb = (n * 20 + ht->ways * 17 - 1) / (ht->ways * 17);
	if (fam == 4 && compact_fits(n, lbits, &bbits)) {
		ht->compact = true;
		ht->ways = FG_V4_QWAYS;
		ht->lbits = lbits;
		ht->rbits = lbits - bbits;
		nb = (size_t)1 << bbits;
	}
	if (nb < 2)
		nb = 2;
	for (attempt = 0;; attempt++) {
		/* more buckets after every third failure (compact: twice as
		 * many, while the remainder still fits) */
		if (attempt && attempt % 3 == 0 && !ht->compact)
			nb += nb / 8;
		if (attempt && attempt % 3 == 0 && ht->compact && ht->rbits > 0 &&
		    attempt <= 6) {
			nb *= 2;
			ht->rbits--;
		}
		free(ht->v);
		ht->v = NULL;
		if (nb > UINT32_MAX / 16 || attempt > 30)
			return -EOVERFLOW;
		ht->nb = nb;
		ht->v = malloc(nb * ht->ways * ht->ksize);
		if (!ht->v)
			return -ENOMEM;
		memset(ht->v, 0xff, nb * ht->ways * ht->ksize);
		ht->mul[0] = hash_rng(&rng) | 1;
		ht->mul[1] = hash_rng(&rng) | 1;
		if (fam == 4) {
			ht->mul[0] = (uint32_t)ht->mul[0];
			ht->mul[1] = (uint32_t)ht->mul[1];
		}
		for (i = 0; i < n && hash_insert(ht, keys + i * ht->ksize, &rng); i++)
			;
		if (i == n)
			return ht->compact ? compact(ht) : 0;
	}
}

/*
 * Move the largest groups of family fam's set CIDRs of field f (same
 * length, same set mask, at least set_hash_min of them) out of the items
 * (marked in drop) into up to FG_SET_HASHES hash tables. Exact because
 * membership is a union: an address is in the sets of its tree or trie
 * class plus those of every table that holds its prefix, and its list is
 * the union of their lists (the walk takes the smallest rule over all of
 * them), so neither side needs the other's nesting.
 */
static int hash_split_family(struct addr_build *ab, int f, const struct itemset *s,
			     uint32_t dl0, struct fg_tables *t, int fam, uint8_t *drop)
{
	const struct compile_opts *o = ab->c->o;
	size_t min = o && o->set_hash_min ? o->set_hash_min : FG_SET_HASH_MIN;
	size_t i, j, k, n = 0, at[FG_SET_HASHES] = { 0 }, cnt[FG_SET_HASHES] = { 0 };
	size_t ksize = fam == 4 ? 4 : 16;
	int fi = fam == 4 ? 0 : 1, h, err = 0;
	uint64_t masks[FG_SET_HASHES] = { 0 };
	struct hcand *cv = malloc(s->n * sizeof(*cv));

	if (!cv)
		return -ENOMEM;
	for (i = 0; i < s->n; i++)
		if (hashable(&s->v[i], fam))
			cv[n++] = (struct hcand){ s->v[i].setbits, s->v[i].p.len, (uint32_t)i };
	if (n < min)
		goto out;
	qsort(cv, n, sizeof(*cv), hcand_cmp);
	for (i = 0; i < n; i = j) {
		for (j = i; j < n && cv[j].len == cv[i].len && cv[j].mask == cv[i].mask; j++)
			;
		if (j - i < min)
			continue;
		for (h = 0; h < FG_SET_HASHES && cnt[h] >= j - i; h++)
			;
		if (h == FG_SET_HASHES)
			continue;
		for (k = FG_SET_HASHES - 1; k > (size_t)h; k--) {
			cnt[k] = cnt[k - 1];
			at[k] = at[k - 1];
		}
		cnt[h] = j - i;
		at[h] = i;
	}
	for (h = 0, k = 0; h < FG_SET_HASHES && cnt[h]; h++) {
		const struct hcand *g = &cv[at[h]];
		uint8_t *keys = malloc(cnt[h] * ksize);
		struct htab ht;

		if (!keys) {
			err = -ENOMEM;
			goto out;
		}
		for (i = 0; i < cnt[h]; i++)
			hash_key(&s->v[g[i].item], fam, keys + i * ksize);
		err = o && (o->set_hash_fail >> h & 1) ? -EOVERFLOW
						       : hash_make(fam, g->len, keys, cnt[h], &ht);
		free(keys);
		if (err == -EOVERFLOW) { /* the group stays in the tree or trie */
			err = 0;
			continue;
		}
		if (err)
			goto out;
		for (i = 0; i < cnt[h]; i++)
			drop[g[i].item] = 1;
		masks[k] = g->mask;
		t->htabs[fi][f][k] = ht.v;
		t->hbytes[fi][f][k] = (size_t)ht.nb * ht.ways * ht.ksize;
		t->nhkeys[fi][f][k] = cnt[h];
		if (fam == 4) {
			t->hashes.t[f][k].shift = 32 - g->len;
			t->hashes.t[f][k].rbits = ht.compact ? 1 + ht.rbits : 0;
			t->hashes.t[f][k].nbuckets = ht.nb;
			t->hashes.t[f][k].mul[0] = (uint32_t)ht.mul[0];
			t->hashes.t[f][k].mul[1] = (uint32_t)ht.mul[1];
		} else {
			v6_mask(g->len, t->hashes.t6[f][k].mask);
			t->hashes.t6[f][k].nbuckets = ht.nb;
			t->hashes.t6[f][k].mul[0] = ht.mul[0];
			t->hashes.t6[f][k].mul[1] = ht.mul[1];
		}
		k++;
	}
	/* the class of each combination of tables holding an address */
	for (k = 1; masks[0] && k < (1u << FG_SET_HASHES); k++) {
		uint64_t m = 0;

		for (h = 0; h < FG_SET_HASHES; h++)
			if ((k >> h) & 1)
				m |= masks[h];
		if ((err = addr_class(ab, dl0, m, &t->hashes.cls[fi][f][k])))
			goto out;
	}
out:
	free(cv);
	return err;
}

/* Set hashes of both families for field f; the other items keep their
 * order (enclosing prefixes first). */
static int addr_hash_split(struct addr_build *ab, int f, struct itemset *s, uint32_t dl0,
			   struct fg_tables *t)
{
	uint8_t *drop = calloc(s->n, 1);
	size_t i, k;
	int err;

	if (!drop)
		return -ENOMEM;
	if (!(err = hash_split_family(ab, f, s, dl0, t, 4, drop)) &&
	    !(err = hash_split_family(ab, f, s, dl0, t, 6, drop))) {
		for (i = 0, k = 0; i < s->n; i++)
			if (!drop[i])
				s->v[k++] = s->v[i];
		s->n = k;
	}
	free(drop);
	return err;
}

/*
 * Build the LPM entries of one address field. Items are sorted so that a
 * prefix comes right after the prefixes enclosing it; a stack of open
 * prefixes gives each item its parent, whose direct list and set mask it
 * extends.
 */
static int build_addr_field(struct ctx *c, struct cons *cs, int f, struct fg_tables *t,
			    struct fg_lpm_ent **out, size_t *nout)
{
	struct addr_build ab = { .c = c, .cs = cs };
	struct itemset s = { 0 };
	uint32_t *stack = NULL, *own = NULL, dl0;
	size_t i, j, sp = 0, owncap = 0;
	int err;

	if ((err = cons_get(&ab.dcs, 0, NULL, 0, &dl0)) || (err = addr_items(&ab, f, &s)))
		goto out;
	if (!s.n)
		goto out;
	if ((err = addr_fold(&s)) || (err = addr_hash_split(&ab, f, &s, dl0, t)))
		goto out;
	if (!s.n)
		goto out;
	stack = malloc(s.n * sizeof(*stack));
	*out = malloc(s.n * sizeof(**out));
	if (!stack || !*out) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < s.n; i++) {
		struct item *it = &s.v[i];
		const struct item *par;
		uint32_t dl;

		while (sp && !pfx_contains(&s.v[stack[sp - 1]].p, &it->p))
			sp--;
		par = sp ? &s.v[stack[sp - 1]] : NULL;
		if ((err = buf_need(&own, &owncap, it->n + 1)))
			goto out;
		for (j = 0; j < it->n; j++)
			own[j] = s.pairs[it->first + j].ent;
		if ((err = addr_direct(&ab, par ? par->first : dl0, own, it->n, &dl)))
			goto out;
		it->setbits |= par ? par->setbits : 0;
		it->first = dl; /* from here on: the item's direct list id */
		if ((err = addr_class(&ab, dl, it->setbits, &it->cls)))
			goto out;
		stack[sp++] = i;
		(*out)[i].family = it->p.family;
		(*out)[i].len = it->p.len;
		memcpy((*out)[i].addr, it->p.addr, 16);
		(*out)[i].cls = it->cls;
	}
	*nout = s.n;
out:
	for (i = 0; i < FG_MAX_SETS; i++)
		free(ab.setents[i].v);
	cons_free(&ab.dcs);
	free(ab.memo.mask);
	free(ab.memo.dl);
	free(ab.memo.cls);
	free(ab.buf);
	free(ab.tmp);
	free(s.v);
	free(s.pairs);
	free(stack);
	free(own);
	return err;
}

/* ---- port classes ------------------------------------------------------ */

struct pev {
	uint32_t at;  /* port where the event happens */
	uint32_t ent;
	int add;
};

static int pev_cmp(const void *a, const void *b)
{
	const struct pev *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->add - y->add; /* removals first */
}

static int build_port_field(struct ctx *c, struct cons *cs, int f, uint32_t *ports)
{
	struct pev *ev = NULL;
	struct u32vec act = { 0 };
	size_t n = 0, i, e = 0;
	uint32_t port, cls = 0;
	int err = 0;

	ev = malloc((2 * c->nx + 1) * sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	for (i = 0; i < c->nx; i++) {
		const struct fg_ent *en = &c->x[i].e;

		if (c->x[i].field != f)
			continue;
		ev[n++] = (struct pev){ f == F_SPORT ? en->sport_lo : en->dport_lo, i, 1 };
		ev[n++] = (struct pev){ (f == F_SPORT ? en->sport_hi : en->dport_hi) + 1u, i, 0 };
	}
	qsort(ev, n, sizeof(*ev), pev_cmp);
	for (port = 0; port < 65536; port++) {
		bool changed = false;

		while (e < n && ev[e].at == port) {
			size_t lo = 0, hi = act.n;

			while (lo < hi) { /* sorted position of ev[e].ent */
				size_t m = (lo + hi) / 2;

				if (act.v[m] < ev[e].ent)
					lo = m + 1;
				else
					hi = m;
			}
			if (ev[e].add) {
				if ((err = vec_push(&act, 0)))
					goto out;
				memmove(act.v + lo + 1, act.v + lo,
					(act.n - 1 - lo) * sizeof(*act.v));
				act.v[lo] = ev[e].ent;
			} else if (lo < act.n && act.v[lo] == ev[e].ent) {
				memmove(act.v + lo, act.v + lo + 1,
					(act.n - lo - 1) * sizeof(*act.v));
				act.n--;
			}
			e++;
			changed = true;
		}
		if (changed && (err = cons_get(cs, 0, act.v, act.n, &cls)))
			goto out;
		ports[(f == F_SPORT ? 0 : 65536) + port] = cls;
	}
out:
	free(ev);
	free(act.v);
	return err;
}

/* ---- IPv4 root table and bucket trees ------------------------------------ */

typedef unsigned __int128 u128;

/* An elementary interval of an address field (IPv4 or IPv6, as a 128-bit
 * number) or of one digit block: where it starts, and its class or tree
 * value. */
struct ivl {
	u128 start;
	uint32_t cls;
};

struct ivls {
	struct ivl *v;
	size_t n, cap;
};

static int ivl_emit(struct ivls *b, u128 at, uint32_t cls)
{
	if (b->n && b->v[b->n - 1].start == at) {
		b->v[b->n - 1].cls = cls;
		if (b->n > 1 && b->v[b->n - 2].cls == cls)
			b->n--; /* merged back into the previous interval */
		return 0;
	}
	if (b->n && b->v[b->n - 1].cls == cls)
		return 0;
	if (grow(&b->v, &b->cap, b->n + 1, sizeof(*b->v)))
		return -ENOMEM;
	b->v[b->n].start = at;
	b->v[b->n].cls = cls;
	b->n++;
	return 0;
}

/* An address as a number: IPv4 in 32 bits, IPv6 in 128. */
static u128 addr_val(const uint8_t *a, int fam)
{
	u128 x = 0;
	int i;

	for (i = 0; i < (fam == 4 ? 4 : 16); i++)
		x = x << 8 | a[i];
	return x;
}

/* Elementary intervals of one field and family: the class of the longest
 * prefix covering each address. e[] is sorted by (family, address,
 * length); *nfam counts the prefixes of the family. */
static int addr_intervals(const struct fg_lpm_ent *e, size_t n, int fam, struct ivls *b,
			  size_t *nfam)
{
	struct {
		u128 end;
		uint32_t cls;
	} *st = malloc((n + 1) * sizeof(*st));
	const unsigned bits = fam == 4 ? 32 : 128;
	const u128 top = fam == 4 ? 0xffffffffu : ~(u128)0;
	size_t sp = 0, i;
	int err = 0;

	if (!st)
		return -ENOMEM;
	err = ivl_emit(b, 0, 0);
	for (i = 0; i < n && !err; i++) {
		u128 s, host;

		if (e[i].family != fam)
			continue;
		++*nfam;
		host = e[i].len ? ((u128)1 << (bits - e[i].len)) - 1 : top;
		s = addr_val(e[i].addr, fam) & ~host;
		while (sp && st[sp - 1].end < s && !err) {
			sp--;
			err = ivl_emit(b, st[sp].end + 1, sp ? st[sp - 1].cls : 0);
		}
		if (!err)
			err = ivl_emit(b, s, e[i].cls);
		st[sp].end = s | host;
		st[sp].cls = e[i].cls;
		sp++;
	}
	while (sp && !err) {
		sp--;
		if (st[sp].end < top)
			err = ivl_emit(b, st[sp].end + 1, sp ? st[sp - 1].cls : 0);
	}
	free(st);
	return err;
}

struct v4build {
	struct fg_heap_slot *s;
	size_t n, cap;
	const struct ivls *b;
	uint32_t digit; /* fg_v4_bucket.digit of the nodes v4_tree makes */
};

static int64_t v4_alloc(struct v4build *vb, size_t nslots)
{
	size_t at = vb->n;

	if (grow(&vb->s, &vb->cap, vb->n + nslots, sizeof(*vb->s)))
		return -ENOMEM;
	memset(vb->s + at, 0, nslots * sizeof(*vb->s));
	vb->n += nslots;
	return at;
}

/*
 * The entry for intervals a..b (indices into the interval list, all in one
 * /16): a class when there is one interval, else a bucket of up to ten
 * intervals, or of up to ten subtrees with the first starts as keys.
 */
static int64_t v4_tree(struct v4build *vb, size_t a, size_t b)
{
	const struct ivl *v = vb->b->v;
	size_t n = b - a + 1, per, g, ng;
	struct fg_v4_bucket *bk;
	uint32_t keys[FG_V4_BUCKET_KEYS], ents[FG_V4_BUCKET_KEYS + 1];
	int64_t at, e;

	if (n == 1)
		return FG_V4_CLASS | v[a].cls;
	per = n <= FG_V4_BUCKET_KEYS + 1 ? 1 : (n + FG_V4_BUCKET_KEYS) / (FG_V4_BUCKET_KEYS + 1);
	for (g = 0, ng = 0; g <= FG_V4_BUCKET_KEYS && a + g * per <= b; g++, ng++) {
		size_t ga = a + g * per, gb = ga + per - 1;

		if (gb > b || g == FG_V4_BUCKET_KEYS)
			gb = b;
		if ((e = v4_tree(vb, ga, gb)) < 0)
			return e;
		ents[g] = e;
		if (g)
			keys[g - 1] = v[ga].start & 0xffff;
	}
	if ((at = v4_alloc(vb, 1)) < 0)
		return at;
	bk = (struct fg_v4_bucket *)vb->s[at].b;
	bk->n = ng - 1;
	bk->digit = vb->digit;
	for (g = 0; g < ng; g++) {
		if (g)
			bk->key[g - 1] = keys[g - 1];
		bk->cls[g] = ents[g];
	}
	return FG_V4_BUCKET | (FG_HEAP_V4_BASE + at);
}

static void v4_set(struct v4build *vb, size_t table, uint32_t idx, uint32_t val)
{
	uint32_t *w = (uint32_t *)vb->s[table + idx / 16].b;

	w[idx % 16] = val;
}

/* ---- IPv6 digit trees (abi.h) -------------------------------------------- */

struct v6build {
	struct v4build *vb;
	const struct ivls *b;
	size_t n0;        /* vb->n before the trees */
	size_t nv6;       /* IPv6 prefixes of both fields */
	size_t max_slots; /* FG_V6_MAX_SLOTS, or the test's */
	size_t table_min; /* intervals of one digit that get a table */
	size_t ntables;
};

/* Where vb->n may go before the trees give way to the trie: 4 slots a
 * prefix plus 8192, plus each direct table's 4096 (it replaces at least
 * table_min intervals' worth of tree), and never past max_slots. */
static size_t v6_cap(const struct v6build *x)
{
	size_t c = 4 * x->nv6 + 8192 + 4096 * x->ntables;

	return x->n0 + (c < x->max_slots ? c : x->max_slots);
}

/* Bucket levels of v4_tree over n intervals. */
static uint32_t tree_levels(size_t n)
{
	uint32_t l = 0;

	while (n > 1) {
		n = n <= FG_V4_BUCKET_KEYS + 1 ? 1 : (n + FG_V4_BUCKET_KEYS) / (FG_V4_BUCKET_KEYS + 1);
		l++;
	}
	return l;
}

/*
 * The value for intervals a..b, which meet the block of digit k that
 * starts at lo (digits 0..k-1 fixed; interval a covers lo): a class when
 * a == b, else a tree on digit k whose results are classes and, for each
 * digit value whose sub-block holds an interval boundary, the node on
 * digit k+1. *steps: bucket lookups on the longest path.
 */
static int64_t v6_node(struct v6build *x, int k, size_t a, size_t b, u128 lo, uint32_t *steps)
{
	const struct ivl *v = x->b->v;
	const unsigned shift = 112 - 16 * k;
	const u128 sub = (u128)1 << shift;
	struct ivls segs = { 0 };
	const struct ivls *saved;
	uint32_t seg = 0, deepest = 0, cs;
	size_t i = a, j, nb;
	int64_t r = 0;

	*steps = 0;
	if (a == b)
		return v[a].cls;
	if (x->vb->n > v6_cap(x))
		return -E2BIG; /* give up early: the trie it will be */
	for (nb = a + 1; nb <= b && r >= 0; nb++) {
		uint32_t d = (uint32_t)((v[nb].start - lo) >> shift);
		u128 sublo, subend;

		if (((v[nb].start - lo) & (sub - 1)) == 0) {
			/* a boundary on a digit value: sub-blocks seg..d-1
			 * lie in interval i */
			if (seg < d && ivl_emit(&segs, seg, v[i].cls))
				r = -ENOMEM;
			seg = d;
			i = nb;
			continue;
		}
		if (seg < d && ivl_emit(&segs, seg, v[i].cls)) {
			r = -ENOMEM;
			break;
		}
		sublo = lo + (u128)d * sub;
		subend = sublo + (sub - 1);
		for (j = nb; j < b && v[j + 1].start <= subend; j++)
			;
		r = v6_node(x, k + 1, i, j, sublo, &cs);
		if (r < 0)
			break;
		if (cs > deepest)
			deepest = cs;
		/* the child holds a boundary, so it is a bucket (on digit
		 * k + 1) */
		if (ivl_emit(&segs, d, (uint32_t)r)) {
			r = -ENOMEM;
			break;
		}
		seg = d + 1;
		i = j;
		nb = j;
	}
	if (r >= 0 && seg <= 0xffff && ivl_emit(&segs, seg, v[i].cls))
		r = -ENOMEM;
	if (r >= 0 && segs.n >= x->table_min) {
		/* a direct table: one load instead of a deep tree */
		int64_t at = v4_alloc(x->vb, 4096);
		size_t g;
		uint32_t dv;

		r = at;
		for (g = 0; at >= 0 && g < segs.n; g++)
			for (dv = segs.v[g].start;
			     dv < (g + 1 < segs.n ? segs.v[g + 1].start : 65536); dv++)
				v4_set(x->vb, at, dv, segs.v[g].cls);
		if (at >= 0) {
			r = FG_V6_TABLE | (uint32_t)k << FG_V6_TABLE_SHIFT |
			    (uint32_t)(FG_HEAP_V4_BASE + at);
			x->ntables++;
		}
		*steps = 1 + deepest;
	} else if (r >= 0) {
		saved = x->vb->b;
		x->vb->b = &segs;
		x->vb->digit = k;
		r = v4_tree(x->vb, 0, segs.n - 1);
		x->vb->digit = 0;
		x->vb->b = saved;
		*steps = tree_levels(segs.n) + deepest;
	}
	if (r >= 0 && x->vb->n > v6_cap(x))
		r = -E2BIG;
	free(segs.v);
	return r;
}

/* The IPv6 digit trees of both fields into vb, or t->v6t.on = 0 (the
 * trie) when they would be too big or too deep. */
static int build_v6_trees(struct fg_tables *t, struct v4build *vb, const struct compile_opts *o)
{
	struct ivls b[2] = { { 0 } };
	size_t n0 = vb->n, nv6 = 0, ntables = 0;
	uint32_t steps[2] = { 0, 0 }, root[2] = { 0, 0 };
	int f, err = 0;

	memset(&t->v6t, 0, sizeof(t->v6t));
	t->nv6slots = t->nv6tables = 0;
	if (o && o->v6_trie)
		return 0;
	for (f = 0; f < 2 && !err; f++)
		err = addr_intervals(f ? t->dst : t->src, f ? t->ndst : t->nsrc, 6, &b[f], &nv6);
	for (f = 0; f < 2 && !err; f++) {
		struct v6build x = { .vb = vb, .b = &b[f], .n0 = n0, .nv6 = nv6,
				     .max_slots = o && o->v6_max_slots ? o->v6_max_slots
								       : FG_V6_MAX_SLOTS,
				     .table_min = o && o->v6_table_min ? o->v6_table_min
								       : FG_V6_TABLE_MIN,
				     .ntables = ntables };
		int64_t r = v6_node(&x, 0, 0, b[f].n - 1, 0, &steps[f]);

		/* the lookup's loop makes FG_V6_MAX_STEPS passes, the last
		 * one to return the class: at most one bucket fewer */
		if (r == -E2BIG || (r >= 0 && steps[f] >= FG_V6_MAX_STEPS)) {
			vb->n = n0; /* drop the nodes: the trie it is */
			goto out;
		}
		if (r < 0)
			err = r;
		else
			root[f] = (uint32_t)r;
		ntables = x.ntables;
	}
	if (!err) {
		t->v6t.on = 1;
		t->v6t.root[0] = root[0];
		t->v6t.root[1] = root[1];
		t->nv6slots = vb->n - n0;
		t->nv6tables = ntables;
	}
out:
	free(b[0].v);
	free(b[1].v);
	return err;
}

/* Every set hash of t (built by hash_split_family) into the v4 region's
 * slots, after the trees. */
static int build_hashes(struct fg_tables *t, struct v4build *vb)
{
	int fi, f, k;

	for (fi = 0; fi < 2; fi++)
		for (f = 0; f < 2; f++)
			for (k = 0; k < FG_SET_HASHES; k++) {
				size_t bytes = t->hbytes[fi][f][k];
				size_t nslots = (bytes + FG_HEAP_SLOT - 1) / FG_HEAP_SLOT;
				int64_t at;

				if (!bytes)
					continue;
				if ((at = v4_alloc(vb, nslots)) < 0)
					return at;
				memset(vb->s + at, 0xff, nslots * sizeof(*vb->s));
				memcpy(vb->s + at, t->htabs[fi][f][k], bytes);
				free(t->htabs[fi][f][k]);
				t->htabs[fi][f][k] = NULL;
				if (fi)
					t->hashes.t6[f][k].base = FG_HEAP_V4_BASE + at;
				else
					t->hashes.t[f][k].base = FG_HEAP_V4_BASE + at;
			}
	return 0;
}

static int build_v4_tables(struct fg_tables *t, const struct compile_opts *o)
{
	struct v4build vb = { 0 };
	struct ivls b[2] = { { 0 } };
	int f, err = 0;
	size_t k, nv4 = 0;
	uint32_t h;

	if (v4_alloc(&vb, 2 * 4096) < 0)
		return -ENOMEM;
	for (f = 0; f < 2 && !err; f++) {
		err = addr_intervals(f ? t->dst : t->src, f ? t->ndst : t->nsrc, 4, &b[f], &nv4);
		vb.b = &b[f];
		/* k: the interval holding the /16's first address */
		for (h = 0, k = 0; h < 65536 && !err; h++) {
			uint64_t lo = (uint64_t)h << 16, end = lo + 65536;
			size_t last = k;
			int64_t v;

			while (last + 1 < b[f].n && b[f].v[last + 1].start < end)
				last++;
			v = v4_tree(&vb, k, last);
			if (v < 0)
				err = v;
			else
				v4_set(&vb, f * 4096, h, v);
			/* the next /16 starts in `last` unless one starts at end */
			k = (last + 1 < b[f].n && b[f].v[last + 1].start == end) ? last + 1 : last;
		}
	}
	free(b[0].v);
	free(b[1].v);
	if (!err)
		err = build_v6_trees(t, &vb, o);
	if (!err)
		err = build_hashes(t, &vb);
	if (err) {
		free(vb.s);
		return err;
	}
	t->v4 = vb.s;
	t->nv4 = vb.n;
	return 0;
}

/* A class value of the trees or port tables as an inline list when the
 * class has a short list and no named sets that matter (FG_V4_LIST,
 * abi.h). A field's set mask matters only when some entry indexed on
 * another field tests membership in a set for this field. */
static uint32_t leaf_inline(const struct fg_tables *t, uint32_t v, bool sets_matter)
{
	const struct fg_class *c;

	if ((v & FG_V4_TYPE_MASK) != FG_V4_CLASS || v >= t->nclasses)
		return v;
	c = &t->classes[v];
	if ((c->setmask && sets_matter) || c->len > FG_LIST_MAX_LEN ||
	    c->off > FG_LIST_OFF_MASK)
		return v;
	return FG_V4_LIST | c->len << FG_LIST_LEN_SHIFT | (c->len ? c->off : 0);
}

/* Every result below tree value *v (a root entry or a bucket's result). */
static void inline_tree(struct fg_tables *t, uint32_t *v, bool sets_matter)
{
	struct fg_v4_bucket *bk;
	uint32_t k;

	if ((*v & FG_V4_TYPE_MASK) == FG_V6_TABLE) {
		uint32_t *w = (uint32_t *)t->v4[(*v & FG_V6_TABLE_SLOT) - FG_HEAP_V4_BASE].b;

		for (k = 0; k < 65536; k++)
			inline_tree(t, &w[k], sets_matter);
		return;
	}
	if ((*v & FG_V4_TYPE_MASK) != FG_V4_BUCKET) {
		*v = leaf_inline(t, *v, sets_matter);
		return;
	}
	bk = (struct fg_v4_bucket *)t->v4[(*v & FG_V4_VALUE_MASK) - FG_HEAP_V4_BASE].b;
	for (k = 0; k <= bk->n && k <= FG_V4_BUCKET_KEYS; k++)
		inline_tree(t, &bk->cls[k], sets_matter);
}

static void inline_leaves(struct fg_tables *t, const bool sets_matter[2])
{
	size_t i, k;
	int f;

	for (i = 0; i < FG_PORT_ENTRIES; i++)
		t->ports[i] = leaf_inline(t, t->ports[i], false);
	for (f = 0; f < 2; f++) /* the src root, then the dst root */
		for (i = 0; i < 4096; i++)
			for (k = 0; k < 16; k++)
				inline_tree(t, (uint32_t *)t->v4[f * 4096 + i].b + k,
					    sets_matter[f]);
	for (f = 0; f < 2 && t->v6t.on; f++)
		inline_tree(t, &t->v6t.root[f], sets_matter[f]);
}

/* ---- top level ---------------------------------------------------------- */

static int assign_set_bits(struct ctx *c)
{
	size_t i;
	int next = 0;

	c->set_bits = malloc((c->p->nsets + 1) * sizeof(int));
	if (!c->set_bits)
		return -ENOMEM;
	for (i = 0; i < c->p->nsets; i++)
		c->set_bits[i] = -1;
	for (i = 0; i < c->p->nrules; i++) {
		int s[2] = { c->p->rules[i].src.set, c->p->rules[i].dst.set }, k;

		for (k = 0; k < 2; k++) {
			if (s[k] < 0 || c->set_bits[s[k]] >= 0)
				continue;
			if (next >= FG_MAX_SETS) {
				snprintf(c->err, c->errlen,
					 "more than %d sets referenced by rules",
					 FG_MAX_SETS);
				return -E2BIG;
			}
			c->set_bits[s[k]] = next++;
		}
	}
	return 0;
}

static void fill_rules(struct ctx *c, struct fg_tables *t)
{
	size_t i;

	for (i = 0; i < c->p->nrules; i++) {
		const struct fg_rule_spec *r = &c->p->rules[i];
		struct fg_rule *o = &t->rules[i];

		o->stat_slot = c->o && c->o->stat_slots ? c->o->stat_slots[i] : i + 1;
		o->action = r->action;
		if (r->rate_pps) {
			o->flags |= FG_RULE_F_RATE;
			o->rate_pps = r->rate_pps;
			o->rate_burst = r->rate_burst ? r->rate_burst : r->rate_pps;
		}
		if (r->state_mask)
			t->cfg.flags |= FG_GEN_F_CT;
		if (r->tcp_set || r->tcp_clear)
			t->cfg.flags |= FG_GEN_F_TCPF;
	}
}

/* The fields some entry constrains (FG_GEN_F_SRC...): a verdict depends
 * on nothing else, so the flow cache may leave the others out of its key. */
static uint32_t key_fields(const struct ctx *c)
{
	uint32_t f = 0;
	size_t i;

	for (i = 0; i < c->nx; i++) {
		uint16_t m = c->x[i].e.match;

		if (m & (FG_M_SRC | FG_M_SRCSET))
			f |= FG_GEN_F_SRC;
		if (m & (FG_M_DST | FG_M_DSTSET))
			f |= FG_GEN_F_DST;
		if (m & FG_M_SPORT)
			f |= FG_GEN_F_SPORT;
		if (m & FG_M_DPORT)
			f |= FG_GEN_F_DPORT;
		if (m & FG_M_PROTO)
			f |= FG_GEN_F_PROTO;
		if (m & FG_M_IFACE)
			f |= FG_GEN_F_IFACE;
	}
	return f;
}

/*
 * Lists and entries. An entry indexed on an address field through a named
 * set sits exactly in the classes of the set's addresses, so its own
 * membership test is dropped; sets_matter[f] says whether an entry indexed
 * elsewhere still tests a set of field f (src 0, dst 1), i.e. whether the
 * datapath needs that field's class set mask.
 */
static int emit_classes(struct ctx *c, struct cons *cs, struct fg_tables *t,
			bool sets_matter[2])
{
	size_t i, j;

	sets_matter[0] = sets_matter[1] = false;
	for (i = 0; i < c->nx; i++) {
		struct xent *x = &c->x[i];

		if (x->field == F_SRC)
			x->e.match &= ~FG_M_SRCSET;
		if (x->field == F_DST)
			x->e.match &= ~FG_M_DSTSET;
		sets_matter[0] |= !!(x->e.match & FG_M_SRCSET);
		sets_matter[1] |= !!(x->e.match & FG_M_DSTSET);
	}

	t->classes = calloc(cs->n, sizeof(*t->classes));
	t->ents = calloc(cs->pool.n ? cs->pool.n : 1, sizeof(*t->ents));
	if (!t->classes || !t->ents)
		return -ENOMEM;
	t->nclasses = cs->n;
	t->nents = cs->pool.n;
	for (i = 0; i < cs->n; i++) {
		const struct cclass *k = &cs->c[i];

		t->classes[i].off = k->off;
		t->classes[i].len = k->len;
		t->classes[i].setmask = k->setmask;
		if (k->len > t->longest_list && i != t->cfg.wild_class)
			t->longest_list = k->len;
		for (j = 0; j < k->len; j++) {
			struct fg_ent *e = &t->ents[k->off + j];
			const struct fg_rule *r;

			*e = c->x[cs->pool.v[k->off + j]].e;
			r = &t->rules[e->rule];
			e->stat_slot = r->stat_slot;
			e->verdict = (r->action & 0xf) | (r->flags & 0xf) << 4;
		}
	}
	return 0;
}

int compile_tables(const struct policy *p, const struct compile_opts *opts,
		   struct fg_tables *t, char *err, size_t errlen)
{
	struct ctx c = { .p = p, .o = opts, .err = err, .errlen = errlen };
	struct cons cs = { 0 };
	struct u32vec wild = { 0 };
	bool sets_matter[2];
	uint32_t id;
	size_t i;
	int ret;

	memset(t, 0, sizeof(*t));
	if (err && errlen)
		err[0] = 0;
	if (p->nrules > FG_MAX_RULES) {
		snprintf(err, errlen, "%zu rules (max %u)", p->nrules, FG_MAX_RULES);
		return -E2BIG;
	}
	t->rules = calloc(p->nrules ? p->nrules : 1, sizeof(*t->rules));
	t->ports = calloc(FG_PORT_ENTRIES, sizeof(*t->ports));
	if (!t->rules || !t->ports) {
		ret = -ENOMEM;
		goto out;
	}
	t->nrules = p->nrules;
	if ((ret = assign_set_bits(&c)))
		goto out;
	for (i = 0; i < p->nrules; i++)
		if ((ret = expand_rule(&c, i)))
			goto out;
	t->nexpanded = c.nx;
	if ((ret = choose_index(&c, t->nindexed)))
		goto out;
	/* class 0: the empty class, for values nothing is indexed on */
	if ((ret = cons_get(&cs, 0, NULL, 0, &id)))
		goto out;
	if ((ret = build_addr_field(&c, &cs, F_SRC, t, &t->src, &t->nsrc)) ||
	    (ret = build_addr_field(&c, &cs, F_DST, t, &t->dst, &t->ndst)) ||
	    (ret = build_port_field(&c, &cs, F_SPORT, t->ports)) ||
	    (ret = build_port_field(&c, &cs, F_DPORT, t->ports)))
		goto out;
	for (i = 0; i < c.nx; i++)
		if (c.x[i].field == F_WILD && (ret = vec_push(&wild, i)))
			goto out;
	if ((ret = cons_get(&cs, 0, wild.v, wild.n, &t->cfg.wild_class)))
		goto out;

	t->cfg.nrules = p->nrules;
	t->cfg.default_action = p->default_action == FG_ACT_DROP ? FG_ACT_DROP
								   : FG_ACT_ALLOW;
	t->cfg.default_slot = opts ? opts->default_slot : FG_SLOT_DEFAULT;
	fill_rules(&c, t);
	/* before emit_classes, which drops the set tests of set-indexed
	 * entries: key_fields must still see that they test the address */
	t->cfg.flags |= key_fields(&c);
	if (t->nindexed[F_SPORT])
		t->cfg.flags |= FG_GEN_F_SPORT_IDX;
	if (t->nindexed[F_DPORT])
		t->cfg.flags |= FG_GEN_F_DPORT_IDX;
	if ((ret = emit_classes(&c, &cs, t, sets_matter)))
		goto out;
	if (!(ret = build_v4_tables(t, opts)))
		inline_leaves(t, sets_matter);
out:
	if (ret == -E2BIG && err && !err[0])
		snprintf(err, errlen, "policy too large for the classifier: more than %u list entries",
			 FG_MAX_LIST_ENTS);
	if (ret == -EOVERFLOW && err && !err[0])
		snprintf(err, errlen, "cannot build the hash tables of the big sets");
	if (ret == -ENOMEM && err && !err[0])
		snprintf(err, errlen, "out of memory compiling the policy");
	if (ret)
		compile_free(t);
	cons_free(&cs);
	free(wild.v);
	free(c.x);
	free(c.set_bits);
	return ret;
}

void compile_free(struct fg_tables *t)
{
	int fi, f, h;

	free(t->src);
	free(t->dst);
	free(t->ports);
	free(t->classes);
	free(t->ents);
	free(t->rules);
	free(t->v4);
	for (fi = 0; fi < 2; fi++)
		for (f = 0; f < 2; f++)
			for (h = 0; h < FG_SET_HASHES; h++)
				free(t->htabs[fi][f][h]);
	memset(t, 0, sizeof(*t));
}
