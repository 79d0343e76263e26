/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The dataplane handle: loads the BPF object (adopting pinned maps when a
 * pin root holds them), installs compiled generations atomically, attaches
 * and detaches the programs, and reads counters. All BPF syscalls of the
 * control plane go through here.
 */
#ifndef FG_DATAPLANE_H
#define FG_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include <flowgate/abi.h>
#include "compile.h"

struct dp;

struct dp_opts {
	/* Pin root (e.g. /sys/fs/bpf/flowgate). NULL: nothing is pinned,
	 * everything goes away with the handle (tests). */
	const char *pin_root;
};

int dp_open(const struct dp_opts *o, struct dp **out);
/* Close fds. Pins and attached links stay: traffic stays managed. */
void dp_close(struct dp *dp);

/* True when dp_open adopted maps pinned by an earlier daemon. */
bool dp_adopted(const struct dp *dp);

/*
 * Install compiled tables as a new generation: load its programs with its
 * tables, switch the entry programs to it (one prog-array update), then
 * wait until no packet can still be running the old one. On error nothing
 * packets can see has changed. `generation` must be > the current one.
 */
int dp_install(struct dp *dp, const struct fg_tables *t, uint64_t generation);

/*
 * Run the previous generation again (an apply's attach step failed after
 * its install). -ENOENT if there is none.
 */
int dp_revert(struct dp *dp);
/* Wait until every program running now has finished (RCU grace period). */
int dp_sync(struct dp *dp);

/* Generation running now (0 = none), read from the maps. */
uint64_t dp_generation(struct dp *dp);
/* Header of the running generation (flags, default...). */
int dp_running_hdr(struct dp *dp, struct fg_heap_hdr *out);

/* The attached entry programs (they run the current generation). */
int dp_prog_fd(struct dp *dp, bool xdp);
/* fd of a map by name (fg_rule_stats, fg_ban, fg_events, ...), or -ENOENT */
int dp_map_fd(struct dp *dp, const char *name);

/* XDP attach modes (policy's iface mode) */
enum dp_mode { DP_MODE_AUTO = 0, DP_MODE_NATIVE, DP_MODE_GENERIC };

/*
 * Attach ingress XDP (and egress TC) to ifname, through bpf_links pinned
 * under the pin root, or replace the program of an existing pinned link
 * (hitless restart). *native_out says which XDP mode runs. `why` gets a
 * sentence when native failed and generic was used, or on error.
 */
int dp_attach(struct dp *dp, const char *ifname, enum dp_mode mode,
	      bool *native_out, char *why, size_t whylen);
/* Detach from one interface (links and their pins). */
int dp_detach(struct dp *dp, const char *ifname);
/* True when dp_open found another ABI version's pins to take over: its
 * counters are carried over slot for slot, so keep the slot map. */
bool dp_migrating(const struct dp *dp);
/* After attaching at start: fold the old version's last state in (counters
 * added, entries made since dp_open copied) and remove its pins. keep: a
 * bitmap of FG_MAX_STAT_SLOTS bits, the rule stats slots whose old counts
 * carry over (the rules that kept their slot), or NULL for all: a slot
 * freed before the upgrade and given to a new rule by the first apply
 * must not bring the deleted rule's counts with it. */
int dp_retire_old(struct dp *dp, const uint64_t *keep);
/* Detach everything and remove all pins under the pin root. */
int dp_detach_all(struct dp *dp);
/* Interfaces with pinned links, as names (caller frees each and the array). */
int dp_attached(struct dp *dp, char ***names, size_t *n);

/* A counter of fg_rule_stats, fg_drop_stats or fg_if_stats (map_fd),
 * summed over the CPU regions; -EINVAL for another map. A rule counter
 * includes the counts the CPUs hold back (abi.h, struct fg_pend), read
 * consistently; -EAGAIN if that never succeeds (a datapath bug). */
int dp_counter(struct dp *dp, int map_fd, uint32_t key, struct fg_counter *out);
/* The stats slots the datapath may still count on outside the running
 * policy: those of the rule counts the CPUs hold back now (abi.h, struct
 * fg_pend) and those remembered for the later fragments of unexpired
 * datagrams (fg_frag), into *slots (allocated; the caller frees it), *n
 * of them. A slot in this list must not be handed to a new rule: those
 * counts would land there. 0, -ENOMEM, or -EAGAIN if a record never read
 * consistently (a datapath bug: the moves take a few instructions). */
int dp_pending_slots(struct dp *dp, uint32_t **slots, size_t *n);
/* Zero a counter in every CPU region (new rule names get fresh slots). */
int dp_counter_reset(struct dp *dp, int map_fd, uint32_t key);

/* Bans: the ban trie; expires_ns 0 = never. */
int dp_ban_add(struct dp *dp, const struct fg_cidr *c, uint64_t expires_ns, uint32_t reason);
int dp_ban_del(struct dp *dp, const struct fg_cidr *c);
/* Recount fg_runtime.nbans from the trie (after removing entries by hand). */
int dp_bans_recount(struct dp *dp);

#endif /* FG_DATAPLANE_H */
