// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Capability dropping (libcap). See caps.h and docs/daemon.md. */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/capability.h>

#include "caps.h"
#include "log.h"

/*
 * CAP_BPF: every bpf() call (kernel.unprivileged_bpf_disabled), loading a
 * new generation's programs and maps. CAP_PERFMON: the verifier refuses
 * the generation's programs without it (pointer arithmetic: packet end
 * minus start) and would add Spectre mitigations to them. CAP_NET_ADMIN:
 * attaching XDP and tcx links to interfaces a new policy adds. Verified by
 * running the integration tests with only these three; see
 * docs/daemon.md.
 */
const cap_value_t caps_runtime[] = {CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN};
const int caps_nruntime = sizeof(caps_runtime) / sizeof(caps_runtime[0]);

static bool kept(cap_value_t c, const cap_value_t *keep, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (keep[i] == c)
			return true;
	return false;
}

/* Shrink the bounding set while CAP_SETPCAP is still ours (best effort:
 * inside a container it may be gone already). */
static void drop_bounding(const cap_value_t *keep, int n)
{
	cap_value_t c;

	for (c = 0; c <= CAP_LAST_CAP; c++)
		if (!kept(c, keep, n) && CAP_IS_SUPPORTED(c))
			prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
}

int caps_drop(const cap_value_t *keep, int n)
{
	cap_t caps;
	int err = 0;

	drop_bounding(keep, n);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	caps = cap_init();
	if (!caps)
		return -errno;
	if (cap_set_flag(caps, CAP_PERMITTED, n, keep, CAP_SET) ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, keep, CAP_SET) || cap_set_proc(caps))
		err = -errno;
	cap_free(caps);
	if (err) {
		pr_err("cannot drop capabilities: %s\n", strerror(-err));
		return err;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return 0;
}

bool caps_have(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps)
		return false;
	cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

char *caps_text(void)
{
	cap_t caps = cap_get_proc();
	char *s;

	if (!caps)
		return NULL;
	s = cap_to_text(caps, NULL);
	cap_free(caps);
	return s;
}
