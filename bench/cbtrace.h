/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cbtrace.h: the header-trace file bench/classbench2policy.py --trace writes
 * (format in docs/bench.md; the Python side packs this same layout), and a
 * loader for C benchmarks such as build/bench/nsperpkt.
 *
 * Addresses come from ClassBench's synthetic data: put them in packets for
 * BPF_PROG_TEST_RUN and in maps, never on a wire.
 */
#ifndef FLOWGATE_BENCH_CBTRACE_H
#define FLOWGATE_BENCH_CBTRACE_H

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#define CBTRACE_MAGIC "FGBTRACE"
#define CBTRACE_VERSION 1
/* first_match when the trace was converted without --rules. */
#define CBTRACE_NOT_COMPUTED 0xffffffffU

struct cbtrace_hdr {
	char magic[8]; /* CBTRACE_MAGIC, no NUL */
	__u32 version; /* little-endian */
	__u32 count;   /* records that follow; little-endian */
};

struct cbtrace_rec {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
	__u32 gen_rule;	   /* rule the header was drawn from, 1-based (r<N>); LE */
	__u32 first_match; /* first matching rule under flowgate semantics, 0 = none
			    * (default applies), CBTRACE_NOT_COMPUTED; LE */
};

_Static_assert(sizeof(struct cbtrace_hdr) == 16, "cbtrace header is 16 bytes");
_Static_assert(sizeof(struct cbtrace_rec) == 24, "cbtrace record is 24 bytes");

/* Reads PATH into a malloc'd array (rule numbers converted to host order).
 * Returns 0 and sets *recs, *count, or -errno (-EINVAL: not a trace file). */
static inline int cbtrace_load(const char *path, struct cbtrace_rec **recs, __u32 *count)
{
	struct cbtrace_hdr hdr;
	struct cbtrace_rec *r = NULL;
	int err = 0;
	FILE *f;

	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fread(&hdr, sizeof(hdr), 1, f) != 1 || memcmp(hdr.magic, CBTRACE_MAGIC, 8) ||
	    le32toh(hdr.version) != CBTRACE_VERSION) {
		err = -EINVAL;
		goto out;
	}
	hdr.count = le32toh(hdr.count);
	r = calloc(hdr.count ? hdr.count : 1, sizeof(*r));
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	if (fread(r, sizeof(*r), hdr.count, f) != hdr.count) {
		err = -EINVAL;
		goto out;
	}
	for (__u32 i = 0; i < hdr.count; i++) {
		r[i].gen_rule = le32toh(r[i].gen_rule);
		r[i].first_match = le32toh(r[i].first_match);
	}
	*recs = r;
	*count = hdr.count;
	r = NULL;
out:
	free(r);
	fclose(f);
	return err;
}

#endif /* FLOWGATE_BENCH_CBTRACE_H */
