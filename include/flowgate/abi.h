/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * flowgate ABI: every map key/value, event, enum and limit shared by the
 * datapath (bpf/) and user space (src/). Defined once, here. Nothing in this
 * file may be redefined on either side.
 *
 * Bump FG_ABI_VERSION whenever a pinned map's key or value layout changes:
 * the daemon compares it with the stamp in the pin root before adopting pins.
 */
#ifndef FLOWGATE_ABI_H
#define FLOWGATE_ABI_H

#ifdef __bpf__
/* BPF side: types come from vmlinux.h / linux headers already included. */
#else
#include <linux/types.h>
#endif

#ifndef FG_ABI_VERSION
#define FG_ABI_VERSION 2
#endif

/* ---- limits (each overridable at build time) -------------------------- */

/* VLAN tags parsed (802.1Q / 802.1ad); one more is malformed. */
#ifndef FG_MAX_VLANS
#define FG_MAX_VLANS 2
#endif
/* IPv6 extension headers followed before L4; one more is malformed. */
#ifndef FG_MAX_EXT_HDRS
#define FG_MAX_EXT_HDRS 6
#endif
/* Rules in one policy (rule index space; also the per-rule stats slots). */
#ifndef FG_MAX_RULES
#define FG_MAX_RULES 262144
#endif
/* Stats slots: rules keep their slot across applies by name. */
#define FG_MAX_STAT_SLOTS FG_MAX_RULES
/* Named sets a policy may reference in rules (one bit each per class). */
#define FG_MAX_SETS 64
/* Interfaces flowgate can be attached to at once. */
#define FG_MAX_IFACES 64
/* Connection tracking: established flows, and half-open/new flows kept in a
 * separate LRU so that a SYN flood cannot evict established entries. */
#ifndef FG_CT_MAX
#define FG_CT_MAX 262144
#endif
#ifndef FG_CT_NEW_MAX
#define FG_CT_NEW_MAX 65536
#endif
/* First-fragment verdicts remembered for later fragments. */
#ifndef FG_FRAG_MAX
#define FG_FRAG_MAX 16384
#endif
/* Bans (runtime state): per family LPM trie entries. */
#ifndef FG_BAN_MAX
#define FG_BAN_MAX 1048576
#endif
/* Per-(rule, source) token buckets for `rate:` rules. */
#ifndef FG_RATE_MAX
#define FG_RATE_MAX 262144
#endif
/* Per-flow verdict cache, buckets per CPU (powers of two), 2 entries
 * each: IPv4 buckets are one 64-byte cache line. */
#ifndef FG_FLOW4_BITS
#define FG_FLOW4_BITS 15
#endif
#define FG_FLOW4_BUCKETS (1u << FG_FLOW4_BITS)
#ifndef FG_FLOW_BUCKETS
#define FG_FLOW_BUCKETS 8192
#endif
/* Per-interface counters: a per-CPU array indexed by FG_IF_SLOT(ifindex). */
#define FG_IF_SLOTS 65536
#define FG_IF_SLOT(ifindex) ((ifindex) & (FG_IF_SLOTS - 1))
/* Event ring buffer size in bytes (power of two). */
#ifndef FG_EVENTS_BYTES
#define FG_EVENTS_BYTES (4 * 1024 * 1024)
#endif
/* Bytes of the packet copied into a drop/log event (for pcap). */
#define FG_EVENT_SNAP 128
/* Datapath event budget: events per CPU per ~1 s window (2^30 ns). */
#ifndef FG_EVENT_RATE
#define FG_EVENT_RATE 1000
#endif
#define FG_EVENT_WINDOW_SHIFT 30
/* Fragment verdict lifetime (RFC 791 reassembly timeout order). */
#define FG_FRAG_TIMEOUT_NS (30ULL * 1000000000ULL)

/* Port classes live in one array: sport at [p], dport at [65536 + p]. */
#define FG_PORT_ENTRIES (2 * 65536)

/* fg_geninfo entries: the running and the previous generation's header. */
#define FG_SLOTS 2

/* ---- verdicts and reasons --------------------------------------------- */

enum fg_action {
	FG_ACT_NONE = 0,
	FG_ACT_ALLOW = 1,
	FG_ACT_DROP = 2,
	FG_ACT_LOG = 3, /* allow and record an event */
};

/*
 * Why a packet got its verdict. The same spelling (fg_reason_name() in user
 * space) is used in stats, metrics and the audit log; docs/reasons.md lists
 * them. Keep the order: values are stored in pinned per-CPU counters.
 */
#define FG_REASONS(X)                                                           \
	X(NONE, "none")                 /* not a verdict */                     \
	X(RULE, "rule")                 /* a rule matched */                    \
	X(DEFAULT, "default")           /* no rule matched */                   \
	X(BAN, "ban")                   /* source is banned */                  \
	X(RATE, "rate")                 /* rule's per-source rate exceeded */   \
	X(FRAGMENT, "fragment")         /* non-first fragment, first unseen */  \
	X(TRUNCATED, "truncated")       /* frame ends inside a header */        \
	X(BAD_IHL, "bad_ihl")           /* IPv4 ihl < 5 */                      \
	X(BAD_TOTLEN, "bad_totlen")     /* IP length below its own header */    \
	X(BAD_VERSION, "bad_version")   /* IP version != ethertype */           \
	X(BAD_DOFF, "bad_doff")         /* TCP data offset < 5 or past IP */    \
	X(TOO_MANY_VLANS, "too_many_vlans")                                     \
	X(TOO_MANY_EXT_HEADERS, "too_many_ext_headers")                         \
	X(TINY_FRAGMENT, "tiny_fragment") /* first frag lacks full L4 hdr */    \
	X(FRAG_OVERLAP, "frag_overlap") /* later frag overlaps the L4 hdr */    \
	X(SYN, "syn")                   /* reserved: SYN flood defence */       \
	X(SCAN, "scan")                 /* reserved: port scan */

enum fg_reason {
#define FG_X_ENUM(n, s) FG_R_##n,
	FG_REASONS(FG_X_ENUM)
#undef FG_X_ENUM
	FG_R_MAX
};

/* ---- packet summary (parser output, also the reference model's input) -- */

enum fg_family {
	FG_FAM_NONE = 0, /* non-IP frame */
	FG_FAM_V4 = 4,
	FG_FAM_V6 = 6,
};

/* TCP flag bits as in the TCP header's 13th byte. */
#define FG_TCP_FIN 0x01
#define FG_TCP_SYN 0x02
#define FG_TCP_RST 0x04
#define FG_TCP_PSH 0x08
#define FG_TCP_ACK 0x10
#define FG_TCP_URG 0x20
#define FG_TCP_ECE 0x40
#define FG_TCP_CWR 0x80

/* Connection-tracking states a rule can match (bit per state). */
#define FG_CT_NEW (1u << 0)
#define FG_CT_ESTABLISHED (1u << 1)
#define FG_CT_RELATED (1u << 2)
#define FG_CT_INVALID (1u << 3)

/* fg_pkt.flags */
#define FG_PKT_L4 (1u << 0)        /* ports/flags/icmp fields are valid */
#define FG_PKT_FRAG (1u << 1)      /* packet is a fragment (first or later) */
#define FG_PKT_FRAG_LATER (1u << 2)/* non-first fragment: no L4 header */
#define FG_PKT_ND (1u << 3)        /* ICMPv6 neighbour discovery 133..137,
				    * unfragmented (RFC 6980) */

/*
 * What the classifier sees of a packet. Addresses are in network byte
 * order; an IPv4 address occupies addr[0..3] and the rest is zero.
 */
struct fg_pkt {
	__u8 src[16];
	__u8 dst[16];
	__u32 ifindex;
	__u32 frag_id;   /* IPv4 id or IPv6 fragment id (FG_PKT_FRAG) */
	__u16 sport;     /* host order; TCP/UDP only */
	__u16 dport;     /* host order; TCP/UDP only */
	__u16 frag_off;  /* fragment offset in 8-byte units (FG_PKT_FRAG) */
	__u16 l3_off;    /* offset of the IP header in the frame */
	__u32 pkt_len;   /* L2 frame bytes */
	__u8 family;     /* enum fg_family */
	__u8 proto;      /* L4 protocol after extension headers */
	__u8 tcp_flags;
	__u8 ct_state;   /* one FG_CT_* bit */
	__u16 flags;     /* FG_PKT_* */
	__u8 icmp_type;  /* ICMP/ICMPv6 with FG_PKT_L4 */
	__u8 icmp_code;
	__u16 l4_off;    /* offset of the L4 header in the frame (FG_PKT_L4) */
	__u8 frag_next;  /* fragments: IPv4 protocol, or the IPv6 fragment
			  * header's next header (the same in every fragment) */
	__u8 pad0;
	__u16 frag_data; /* fragments: frame offset where the fragmentable
			  * part (what fragment offsets count) begins */
	__u16 pad1;
};

/* ---- classifier tables (one set per loaded generation) ----------------- */

/*
 * Classifier tables of one generation live in two maps of its own program
 * (docs/datapath.md, "Generations"):
 *
 *  - fg_lpm, an LPM trie for the IPv6 address fields: the key starts with
 *    a tag byte (field and family), so prefixlen = 8 + the prefix length.
 *    The value is a __u32 class id.
 *  - fg_heap, an array of 64-byte slots. Slot 0 is unused; then port
 *    classes (16 __u32 a slot), the IPv4 trees, classes (4 a slot), rules
 *    (4 a slot), and entries (1 a slot), at the bases fg_heap_hdr gives.
 */
enum fg_lpm_tag {
	FG_TAG_SRC4 = 1,
	FG_TAG_DST4 = 2,
	FG_TAG_SRC6 = 3,
	FG_TAG_DST6 = 4,
	/* bans use their own tries: FG_TAG_SRC4/6 with prefixlen 8 + len */
};

struct fg_lpm_key {
	__u32 prefixlen; /* 8 + address prefix length */
	__u8 tag;        /* enum fg_lpm_tag */
	__u8 addr[16];   /* IPv4 in addr[0..3] */
	__u8 pad0[3];
};

#define FG_HEAP_SLOT 64
/* Fixed part of the heap layout: unused slot 0, port classes, then the IPv4
 * tables (src root, dst root, buckets); the rest follows. */
#define FG_HEAP_PORT_BASE 1
#define FG_HEAP_V4_BASE (FG_HEAP_PORT_BASE + FG_PORT_ENTRIES / 16)
#define FG_HEAP_PORTS_PER_SLOT 16
#define FG_HEAP_CLASSES_PER_SLOT 4
#define FG_HEAP_RULES_PER_SLOT 4

struct fg_heap_slot {
	__u8 b[FG_HEAP_SLOT];
};

/*
 * IPv4 address classes: a 16-bit root table plus small B-trees, in the
 * heap, so a lookup is a few cache lines instead of an LPM trie walk. The
 * root has 65536 __u32 entries (one per /16, 16 a slot); an entry is
 *   FG_V4_CLASS | class id   the whole range has one class,
 *   FG_V4_LIST | len << 22 | off
 *                            the same for a class without named sets whose
 *                            list (entries off..off+len-1, len <= 255) is
 *                            given inline, sparing the lookup of the class,
 *   FG_V4_BUCKET | slot      a bucket: up to FG_V4_BUCKET_KEYS interval
 *                            starts (the address's low 16 bits) in one
 *                            64-byte slot; each of its FG_V4_BUCKET_KEYS+1
 *                            results is again a class or a child bucket.
 * Trees have fanout 10, so a /16 with every boundary possible is at most
 * FG_V4_MAX_DEPTH buckets deep. The port tables hold the same class or
 * list values.
 */
#define FG_V4_TYPE_MASK 0xc0000000u
#define FG_V4_CLASS 0x00000000u
#define FG_V4_BUCKET 0x40000000u
#define FG_V4_LIST 0x80000000u
#define FG_V4_VALUE_MASK 0x3fffffffu
#define FG_LIST_LEN_SHIFT 22
#define FG_LIST_MAX_LEN 255u
#define FG_LIST_OFF_MASK ((1u << FG_LIST_LEN_SHIFT) - 1)
#define FG_V4_BUCKET_KEYS 9
#define FG_V4_MAX_DEPTH 5

/*
 * IPv6 address classes: digit trees, the IPv4 scheme carried on through
 * the address. The address is read as eight 16-bit digits. The tree for
 * digit k covers one block of addresses (digits 0..k-1 fixed) and is made
 * of fg_v4_bucket nodes whose keys are digit k (the node's `digit`); a
 * result is a class or list, as in the IPv4 trees, or FG_V4_BUCKET | slot:
 * a child node, on the same digit or, for a digit value whose sub-block
 * holds a prefix boundary, on the next; or FG_V6_TABLE | k << 27 | slot:
 * for a digit with many boundaries, a table of 65536 results (4096
 * slots) indexed by digit k, one load where a tree would take three to
 * five. Prefixes up to /16 end in digit
 * 0's tree, up to /32 in digit 1's, and so on; a lookup is one bucket per
 * level, at most FG_V6_MAX_STEPS. fg_v6cfg (the generation program's
 * read-only data) gives each field's root value; the nodes live in the
 * heap with the IPv4 trees. When the trees would take more than 4 slots
 * (256 bytes) a prefix plus 8192 (plus 4096 a direct table), or more than
 * FG_V6_MAX_SLOTS (64 MB) in all (a big set of long, scattered prefixes
 * that set hashes did not take), or a path would need FG_V6_MAX_STEPS
 * buckets (only with a raised table threshold: with the default one a
 * digit's tree has at most 4 levels, a path at most 32), the generation
 * uses the LPM trie fg_lpm instead (on = 0).
 */
#define FG_V6_MAX_STEPS 40
#define FG_V6_MAX_SLOTS (1u << 20)
#define FG_V6_TABLE 0xc0000000u
#define FG_V6_TABLE_SHIFT 27
#define FG_V6_TABLE_SLOT 0x07ffffffu
#define FG_V6_TABLE_MIN 2048 /* intervals of one digit that get a table */

struct fg_v6_trees {
	__u32 on;      /* 1: IPv6 addresses use the trees; 0: the trie */
	__u32 root[2]; /* [0] source, [1] destination */
	__u32 pad0;
};

/*
 * Set hashes. When a named set holds many CIDRs of one prefix length (a
 * 1M-entry blocklist of /32s and /24s, or of IPv6 /128s and /64s), those
 * CIDRs leave the IPv4 trees or the IPv6 trie: the CIDRs of one family and
 * length that belong to the same sets go into a hash table whose hit
 * means "in these sets". A lookup is two independent cache lines instead
 * of two or three dependent tree levels (or a trie walk), and an IPv4
 * table takes about 5 bytes a CIDR instead of 25.
 *
 * Bucketized cuckoo hashing: a key sits in one of its two buckets.
 *  - IPv4: the key is the address >> (32 - prefix length); bucket i =
 *    ((key * mul[i]) mod 2^32 * nbuckets) >> 32. A bucket is
 *    FG_V4_HASH_WAYS keys, half a heap slot. Unused keys are
 *    FG_V4_HASH_EMPTY, which no key can equal (255.255.255.255/32 stays in
 *    the tree).
 *    Compact IPv4 tables, for big groups (rbits != 0): nbuckets = 2^b,
 *    buckets of FG_V4_QWAYS __u16 entries (8 bytes, eight a slot). With
 *    L the prefix length and r = L - b <= FG_V4_QMAX_RBITS:
 *    pi_i = (key * mul[i]) mod 2^L, bucket i = pi_i >> r, and the entry
 *    (pi_i mod 2^r) | i << r. A bucket and an entry give back pi_i, and
 *    pi_i the key (mul[i] is odd: a bijection), so a match is exact, in
 *    2 bytes a key instead of 4: the 1M-entry blocklist's 875k /32s take
 *    2 MB. Unused entries are FG_V4_QEMPTY (entries are below 2^15).
 *  - IPv6: the key is the address masked to the prefix, as two 8-byte
 *    words loaded from the packet (hi = bytes 0-7, lo = 8-15); with
 *    f = hi * mul[i] + lo * mul[1 - i] (mod 2^64), bucket i =
 *    ((f >> 32) * nbuckets) >> 32. A bucket is FG_V6_HASH_WAYS keys, one
 *    heap slot. Unused keys are all ones, which no key can equal
 *    (ffff:...:ffff/128 stays in the trie).
 * Both words go through the multipliers, which the compiler draws again
 * when an insertion fails: keys made to collide for one draw do not for
 * the next. A group whose table cannot be built stays in the tree or trie.
 * At most FG_SET_HASHES tables per family and address field, each for
 * FG_SET_HASH_MIN CIDRs or more (src/compile.c). The descriptors are the
 * generation program's read-only fg_hcfg.
 */
#define FG_SET_HASHES 2
#define FG_SET_HASH_MIN 1024
#define FG_V4_HASH_WAYS 8
#define FG_V4_HASH_EMPTY 0xffffffffu
#define FG_V4_QWAYS 4
#define FG_V4_QMAX_RBITS 14
#define FG_V4_QEMPTY 0xffffu
#define FG_V6_HASH_WAYS 4

struct fg_v4_hash {
	__u32 base;     /* heap slot of buckets 0 and 1; 0: no table */
	__u32 nbuckets;
	__u32 mul[2];   /* odd multipliers of the two bucket choices */
	__u32 shift;    /* 32 - prefix length (1..31 for /1../31, 0 for /32) */
	__u32 rbits;    /* compact table: 1 + remainder width r; 0: full keys */
};

struct fg_v6_hash {
	__u32 base;     /* heap slot of bucket 0; 0: no table */
	__u32 nbuckets;
	__u64 mul[2];   /* odd multipliers of the two bucket choices */
	__u64 mask[2];  /* the prefix's mask over hi and lo, as loaded */
};

/* [f]: [0] source address, [1] destination address. cls[fam][f][hits]
 * (fam 0: IPv4, 1: IPv6): the class (set mask and the list of entries
 * indexed on those sets) of an address whose prefixes are in exactly the
 * tables of bit mask hits, so a packet walks one list per field however
 * many tables hold it. */
struct fg_set_hashes {
	struct fg_v4_hash t[2][FG_SET_HASHES];
	struct fg_v6_hash t6[2][FG_SET_HASHES];
	__u32 cls[2][2][1 << FG_SET_HASHES];
};

struct fg_v4_bucket {
	__u16 n;                       /* boundaries used */
	__u16 key[FG_V4_BUCKET_KEYS];  /* interval starts (low 16 bits), sorted */
	__u32 cls[FG_V4_BUCKET_KEYS + 1]; /* cls[i]: from key[i-1] below key[i] */
	__u32 digit;                   /* IPv6 trees: which 16-bit digit (0-7)
					* of the address the keys are */
};

/*
 * A class: what one field value (an address range, a port) selects. The
 * class's list holds, sorted by rule index, the rule entries indexed on this
 * field whose value for this field matches; setmask has bit i when the value
 * is inside named set i (used to verify set fields of entries indexed on
 * another field).
 */
struct fg_class {
	__u32 off;     /* first entry in the entries array */
	__u32 len;     /* number of entries */
	__u64 setmask; /* FG_MAX_SETS bits */
};

/* fg_ent.match: which fields an entry constrains */
#define FG_M_SRC (1u << 0)      /* src_net/src_len */
#define FG_M_DST (1u << 1)      /* dst_net/dst_len */
#define FG_M_SRCSET (1u << 2)   /* src in set src_set */
#define FG_M_DSTSET (1u << 3)   /* dst in set dst_set */
#define FG_M_PROTO (1u << 4)
#define FG_M_SPORT (1u << 5)
#define FG_M_DPORT (1u << 6)
#define FG_M_TCPF (1u << 7)
#define FG_M_IFACE (1u << 8)
#define FG_M_STATE (1u << 9)
#define FG_M_FAMILY (1u << 10)
#define FG_M_ICMPTYPE (1u << 11) /* reserved */

/*
 * One rule entry: a rule with lists (several CIDRs, several port ranges,
 * several interfaces) is expanded into one entry per combination. Entries
 * sit inline in class lists so that verifying a candidate touches one or
 * two cache lines.
 */
struct fg_ent {
	__u32 rule;      /* rule index = priority (lower wins) */
	__u16 match;     /* FG_M_* */
	__u8 family;     /* FG_FAM_V4/V6 when FG_M_FAMILY */
	__u8 proto;
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u8 src_len, dst_len;
	__u8 src_set, dst_set;
	__u8 tcp_set, tcp_clear; /* flags that must be set / clear */
	__u8 state_mask;         /* FG_CT_* */
	__u8 verdict;            /* the rule's action | its flags << 4 */
	__u32 ifindex;
	__u8 src_net[16];
	__u8 dst_net[16];
	__u32 stat_slot;         /* the rule's: a match needs no rule lookup */
};

/* Per-rule data of a generation, indexed by rule index. */
#define FG_RULE_F_RATE (1u << 0)
struct fg_rule {
	__u32 stat_slot;  /* index into fg_rule_stats */
	__u8 action;      /* enum fg_action */
	__u8 flags;       /* FG_RULE_F_* */
	__u16 pad0;
	__u32 rate_pps;   /* per-source tokens per second */
	__u32 rate_burst; /* bucket depth in packets */
};

/* A generation's configuration and table bases: its program's fg_cfg
 * (read-only constants) and its fg_geninfo entry. Heap slot 0 is unused. */
struct fg_heap_hdr {
	__u64 generation;     /* policy generation, monotonic, never 0 */
	__u32 nrules;
	__u32 default_action; /* FG_ACT_ALLOW or FG_ACT_DROP */
	__u32 default_slot;   /* stats slot of the default verdict */
	__u32 wild_class;     /* class whose list holds unindexed entries */
	__u32 flags;          /* FG_GEN_F_* */
	__u32 port_base;      /* heap slot of port class 0 */
	__u32 class_base;
	__u32 rule_base;
	__u32 ent_base;
	__u32 nclasses;
	__u32 nents;
	__u32 v4_src_root;    /* heap slot of the src 16-bit table (IPv4) */
	__u32 v4_dst_root;
	__u32 epoch;          /* unique per install, even when a reverted
			       * generation's number is used again */
};

/* fg_heap_hdr.flags */
#define FG_GEN_F_CT (1u << 0)   /* some rule matches `state`: track flows */
#define FG_GEN_F_TCPF (1u << 1) /* some rule matches tcp_flags */
/* Fields some rule constrains: the only ones a verdict can depend on, so
 * the flow cache keys IPv4 flows on these alone (flows differing only in
 * other fields share one entry). */
#define FG_GEN_F_SRC (1u << 2)
#define FG_GEN_F_DST (1u << 3)
#define FG_GEN_F_SPORT (1u << 4)
#define FG_GEN_F_DPORT (1u << 5)
#define FG_GEN_F_PROTO (1u << 6)
#define FG_GEN_F_IFACE (1u << 7)
/* Some entry is indexed on the source / destination port: without one,
 * the port tables hold only the empty class and are not looked at. */
#define FG_GEN_F_SPORT_IDX (1u << 8)
#define FG_GEN_F_DPORT_IDX (1u << 9)

/* fg_geninfo[slot]: the header of the running generation and of the one
 * before, written before the switch, so user space reads the running
 * generation from a plain array (programs never read it). */

/* fg_active[0]: which fg_geninfo entry is the running generation's. */
struct fg_active {
	__u32 slot;
	__u32 pad0;
};

/* ---- runtime state (pinned, kept across applies and restarts) ---------- */

/* Counters: fg_rule_stats (FG_MAX_STAT_SLOTS a CPU), fg_drop_stats
 * (FG_R_MAX) and fg_if_stats (FG_IF_SLOTS) are plain mmapable arrays
 * with one region per possible CPU: counter k of CPU c is element
 * c * N + k. A counter's value is the sum over the regions. */
struct fg_counter {
	__u64 packets;
	__u64 bytes;
};

/*
 * A rule count held back (fg_pend[c], one 64-byte element per possible
 * CPU, mmapable). The packet that a CPU classifies (a flow-cache miss) is
 * not counted at once: it leaves its count here, and the CPU's next
 * classification adds it to fg_rule_stats first thing, so that the
 * counter line's cache miss overlaps that packet's own table lookups
 * instead of stalling the end of this one (docs/datapath.md,
 * "Counters"). Packets of known flows count at once.
 *
 * rec is FG_PEND_VALID | bytes << 32 | stats slot, or 0. A CPU moves a
 * record into fg_rule_stats as seq++ (odd), rec = 0, the counter update,
 * seq++ (even), in that order; it writes a new record (rec = ...) only
 * while rec is 0. A reader of counter k on CPU c takes seq, rec and the
 * counter, then seq again, and retries unless both seq reads are the same
 * even value; then counter + (rec's slot == k ? rec : 0) is exact at one
 * instant, so reads never go backwards. The datapath's side relies on
 * the CPU keeping its stores in program order, as x86-64 does: elsewhere
 * dp_install leaves fg_hold_counts 0 and nothing is held back.
 */
#define FG_PEND_VALID (1ull << 63)
#define FG_PEND_BYTES_MAX 0x7fffffffu

struct fg_pend {
	__u64 rec;
	__u32 seq;
	__u32 pad0;
	__u64 pad1[6];
};

/* Bans: LPM tries keyed by struct fg_lpm_key (tag FG_TAG_SRC4/SRC6). Value. expires_ns is CLOCK_MONOTONIC (bpf_ktime_get_ns);
 * 0 means never. Checked in the datapath so bans expire without the daemon. */
struct fg_ban {
	__u64 expires_ns;
	__u32 reason;
	__u32 prefixlen; /* the entry's own prefix length (0..128) */
};

/* Nested bans followed past expired ones (a /24 that expired inside a
 * live /16): at most this many lookups per banned packet. */
#define FG_BAN_NEST 4

/* Connection tracking key: addresses and ports of the flow as first seen,
 * normalised so that both directions hash to one key (lower address first). */
struct fg_ct_key {
	__u8 a[16];
	__u8 b[16];
	__u16 port_a; /* network order */
	__u16 port_b;
	__u8 family;
	__u8 proto;
	__u16 pad0;
};

/* fg_ct_val.state */
enum fg_ct_tcp {
	FG_CTS_NONE = 0,
	FG_CTS_SYN_SENT,      /* initiator's SYN seen */
	FG_CTS_SYN_RECV,      /* responder's SYN-ACK seen */
	FG_CTS_ESTABLISHED,   /* reply traffic seen */
	FG_CTS_FIN_WAIT,      /* a FIN seen */
	FG_CTS_CLOSE,         /* RST, or FIN from both sides */
	FG_CTS_UDP,           /* datagram pseudo-state */
	FG_CTS_ICMP,          /* echo pseudo-state */
};

/* fg_ct_val.flags */
#define FG_CTF_ORIG_IS_A (1u << 0)   /* initiator is key.a */
#define FG_CTF_REPLIED (1u << 1)     /* a packet in reply direction seen */
#define FG_CTF_FIN_A (1u << 2)
#define FG_CTF_FIN_B (1u << 3)

struct fg_ct_val {
	__u64 expires_ns;
	__u64 created_ns;
	__u64 packets;
	__u64 bytes;
	__u8 state; /* enum fg_ct_tcp */
	__u8 flags; /* FG_CTF_* */
	__u16 pad0;
	__u32 ifindex; /* where the flow was first seen */
};

/* Timeouts (ns). Half-open and one-way flows are short-lived. */
#define FG_SEC 1000000000ULL
#define FG_CT_TO_SYN (30ULL * FG_SEC)
#define FG_CT_TO_EST (3600ULL * FG_SEC)
#define FG_CT_TO_FIN (60ULL * FG_SEC)
#define FG_CT_TO_CLOSE (10ULL * FG_SEC)
#define FG_CT_TO_UDP_NEW (30ULL * FG_SEC)
#define FG_CT_TO_UDP_EST (180ULL * FG_SEC)
#define FG_CT_TO_ICMP (30ULL * FG_SEC)

/* Fragments: first fragment's verdict, keyed by addresses, id and
 * fg_pkt.frag_next (RFC 791 / RFC 8200). */
struct fg_frag_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 id;
	__u8 family;
	__u8 proto;
	__u16 pad0;
};

struct fg_frag_val {
	__u64 expires_ns;
	__u32 stat_slot; /* counted on the same rule/default */
	__u8 action;     /* FG_ACT_* of the first fragment */
	__u8 reason;
	__u16 l4_end;    /* end of the minimal L4 header, counted from the
			  * fragmentable part: later fragments must start here
			  * or beyond (RFC 1858) */
};

/*
 * Per-flow verdict cache: the classifier's answer for a flow, valid while
 * the install it was computed in runs (any apply or set change, or a
 * revert, invalidates every entry at once). The key holds every field a
 * rule can match: TCP flags and conntrack state only when the generation
 * has rules on them (FG_GEN_F_TCPF / FG_GEN_F_CT), else 0.
 *
 * The cache is a per-CPU, 2-way set-associative array (fg_flows): a flow
 * hashes to one bucket of two entries; a new flow replaces the one used
 * less recently (so two colliding flows do not evict each other). No
 * locks, no cache line shared between CPUs on the hot path.
 */
struct fg_flow_key {
	__u8 src[16];
	__u8 dst[16];
	__u32 ifindex;
	__u16 sport, dport; /* host order, 0 unless TCP/UDP */
	__u8 family, proto, tcp_flags, ct_state;
};

struct fg_flow_val {
	__u32 epoch;     /* fg_heap_hdr.epoch it was computed in; 0 = empty */
	__u32 rule;      /* rule index, or 0xffffffff: no rule matched */
	__u32 stat_slot;
	__u8 action;
	__u8 rule_flags;
	__u16 pad0;
};

struct fg_flow_ent {
	struct fg_flow_key key;
	struct fg_flow_val val;
};

struct fg_flow_bucket {
	struct fg_flow_ent e[2];
	__u32 pad1; /* was the most-recently-used way; unused */
	__u32 pad0;
};

/*
 * The IPv4 cache's compact entry (32 bytes, two to a cache line). It is a
 * plain array, CPU c owning buckets [c * FG_FLOW4_BUCKETS, ...), so every
 * bucket is one aligned line and no CPU writes another's.
 */
struct fg_flow4_ent {
	__be32 src, dst;
	__u32 ifindex;
	__u32 ports;   /* sport | dport << 16, 0 unless TCP/UDP */
	__u32 misc;    /* proto | tcp_flags << 8 | ct_state << 16 (see abi) */
	__u32 epoch;   /* 0 = empty */
	__u32 rule;    /* FG_FLOW4_RULE | action << 24 | rule_flags << 28 */
	__u32 stat_slot;
};

#define FG_FLOW4_RULE 0x00ffffffu /* FG_FLOW4_RULE itself: no rule */

struct fg_flow4_bucket {
	struct fg_flow4_ent e[2];
};

/* fg_runtime[0]: runtime knobs the daemon maintains. */
struct fg_runtime {
	__u32 nbans; /* entries in fg_ban; 0 lets packets skip the lookup */
	__u32 pad0;
};

/* Per-source token bucket for `rate:` rules. */
struct fg_rate_key {
	__u8 src[16];
	__u32 stat_slot;
	__u8 family;
	__u8 pad0[3];
};

struct fg_rate_val {
	__u64 last_ns;
	__u64 tokens_milli; /* tokens x 1000 */
};

/* Event budget per CPU (fg_evbudget): at most FG_EVENT_RATE events in
 * each window of 2^30 ns (about a second) of the coarse clock. Once it is
 * spent, the clock is read again only when jiffies moved (a plain load),
 * so a flood costs no clock call per packet (a new window is noticed
 * within two ticks). */
struct fg_evbudget {
	__u64 window;     /* coarse ns >> FG_EVENT_WINDOW_SHIFT */
	__u64 jiffies;    /* when the spent budget last read the clock */
	__u64 suppressed; /* held back since the last event sent */
	__u32 sent;       /* in this window */
	__u32 pad0;
};

/* ---- events (ring buffer fg_events) ----------------------------------- */

enum fg_event_type {
	FG_EV_DROP = 1,
	FG_EV_LOG = 2,
};

struct fg_event {
	__u64 ts_ns;      /* bpf_ktime_get_ns() */
	__u32 type;       /* enum fg_event_type */
	__u32 reason;     /* enum fg_reason */
	__u32 stat_slot;  /* rule's stats slot, or default slot */
	__u32 ifindex;
	__u32 pkt_len;    /* frame bytes */
	__u32 cap_len;    /* bytes in data[] */
	__u64 suppressed; /* events suppressed on this CPU since last sent */
	struct fg_pkt pkt;
	__u8 data[FG_EVENT_SNAP];
};

/* Stats slot reserved for the default verdict. */
#define FG_SLOT_DEFAULT 0

/* Limits that hold by arithmetic, checked so that changing one cannot
 * break another silently. */
#ifndef __bpf__
_Static_assert(FG_MAX_RULES < FG_FLOW4_RULE,
	       "rule indexes must fit the IPv4 flow cache's 24-bit field");
_Static_assert(FG_V4_MAX_DEPTH >= 5,
	       "a /16 may hold 65536 intervals: 5 levels of fanout-10 buckets");
_Static_assert(sizeof(struct fg_pend) == 64, "one cache line a CPU");
#endif

#endif /* FLOWGATE_ABI_H */
