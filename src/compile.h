/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The rule compiler: turns a validated policy into the classifier tables of
 * one generation (docs/datapath.md explains the scheme). Pure user-space
 * code with no BPF calls, so it is unit-testable and benchmarkable alone.
 */
#ifndef FG_COMPILE_H
#define FG_COMPILE_H

#include <stddef.h>
#include <stdint.h>
#include <flowgate/abi.h>
#include "policy.h"

/* An LPM trie entry: prefix -> class id. */
struct fg_lpm_ent {
	uint8_t family; /* 4 or 6 */
	uint8_t len;
	uint8_t addr[16];
	uint32_t cls;
};

struct fg_tables {
	struct fg_lpm_ent *src, *dst; /* both families mixed */
	size_t nsrc, ndst;
	uint32_t *ports;               /* FG_PORT_ENTRIES class ids */
	struct fg_class *classes;
	size_t nclasses;
	struct fg_ent *ents;           /* class lists, back to back */
	size_t nents;
	struct fg_rule *rules;         /* by rule index */
	/* IPv4 tables, to be placed at heap slot FG_HEAP_V4_BASE: src root,
	 * dst root (4096 slots each), then bucket-tree nodes. */
	struct fg_heap_slot *v4;
	size_t nv4;
	size_t nrules;
	/* Set hashes (abi.h): descriptors with absolute heap slots; by
	 * family ([0] IPv4, [1] IPv6), field and table, how many keys, and
	 * until they are placed in the v4 slots, the tables themselves. */
	struct fg_set_hashes hashes;
	size_t nhkeys[2][2][FG_SET_HASHES];
	void *htabs[2][2][FG_SET_HASHES];
	size_t hbytes[2][2][FG_SET_HASHES];
	/* IPv6 digit trees (abi.h): roots, or on = 0 for the trie; their
	 * nodes are in the v4 slots */
	struct fg_v6_trees v6t;
	size_t nv6slots, nv6tables;
	struct fg_heap_hdr cfg;        /* generation and bases: set at install */
	/* Statistics of the build, for logs and benchmarks. */
	size_t nexpanded;              /* rule entries before indexing */
	size_t nindexed[5];            /* src, dst, sport, dport, wild */
	size_t longest_list;
};

/* Resolve an interface name to an ifindex (0 when absent). */
typedef uint32_t (*fg_ifindex_fn)(const char *name, void *arg);

struct compile_opts {
	fg_ifindex_fn ifindex;   /* NULL: if_nametoindex() */
	void *ifindex_arg;
	/* stats slot of each rule (nrules entries); NULL: slot = index + 1 */
	const uint32_t *stat_slots;
	uint32_t default_slot;   /* default: FG_SLOT_DEFAULT */
	/* fewest CIDRs of one family, length and set mask that get a set
	 * hash instead of tree intervals or trie entries; 0: FG_SET_HASH_MIN
	 * (tests lower it) */
	size_t set_hash_min;
	/* fault injection for tests: bit h set makes the table of the h-th
	 * largest group of each family and field fail to build (as keys made
	 * to collide in every attempt would), so the group stays in the tree
	 * or trie; 0 in production */
	unsigned set_hash_fail;
	/* IPv6 digit trees (abi.h): fewest intervals of one digit that get
	 * a direct table (0: FG_V6_TABLE_MIN; tests change it), and, when
	 * set, no trees at all: IPv6 prefixes in the LPM trie */
	size_t v6_table_min;
	bool v6_trie;
	/* most heap slots the IPv6 trees may take; 0: FG_V6_MAX_SLOTS
	 * (tests lower it to reach the fallback to the trie) */
	size_t v6_max_slots;
};

/*
 * Build the tables for policy p. Returns 0, or -E2BIG when the policy
 * expands beyond the datapath's limits (message in err), -ENOMEM.
 */
int compile_tables(const struct policy *p, const struct compile_opts *opts,
		   struct fg_tables *out, char *err, size_t errlen);

void compile_free(struct fg_tables *t);

#endif /* FG_COMPILE_H */
