/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * flowgate doctor: what this kernel and these interfaces support, what
 * would fail and why, and which policy sections are enforced. Runs in the
 * daemon (GET /v1/doctor) and in the CLI with no daemon; needs no daemon
 * state, only (for the BPF probes) CAP_BPF.
 */
#ifndef FG_DOCTOR_H
#define FG_DOCTOR_H

#include <stdint.h>
#include <jansson.h>

#include "policy.h"

struct doctor_opts {
	const struct policy *policy; /* NULL: every interface, no policy checks */
	const char *pin_root;	     /* NULL: /sys/fs/bpf/flowgate */
	const char *source;	     /* "daemon" or "local" */
};

/*
 * {"source", "ok", "kernel", "checks":[{"name","ok","detail","hint"?}],
 *  "interfaces":[{"name","ifindex","driver","xdp_native","xdp_features",
 *                 "attached"}],
 *  "features":[{"section","enforced","detail"}]}
 * "ok" covers the system checks; sections not enforced yet are listed in
 * "features" and as checks that are not ok.
 */
json_t *doctor_report(const struct doctor_opts *o);

/* NETDEV_XDP_ACT_* bits of an interface (Linux 6.3+ netdev netlink family):
 * 0, -ENOENT when the kernel has no such family, or -errno. */
int doctor_xdp_features(int ifindex, uint64_t *features);

#endif /* FG_DOCTOR_H */
