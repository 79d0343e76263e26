/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Least privilege for flowgated: after the privileged start (bpffs mount,
 * program load, attach, socket chown) the daemon keeps only the
 * capabilities its run time needs (docs/daemon.md says which and why).
 * Capabilities are per thread: call caps_drop() before starting threads;
 * threads created afterwards inherit the reduced sets.
 */
#ifndef FG_CAPS_H
#define FG_CAPS_H

#include <stdbool.h>
#include <sys/capability.h>

/* What flowgated keeps at run time. */
extern const cap_value_t caps_runtime[];
extern const int caps_nruntime;

/*
 * Keep only `keep` in the permitted and effective sets of the calling
 * thread, clear the inheritable and ambient sets, shrink the bounding set
 * and set no_new_privs. Returns 0 or -errno.
 */
int caps_drop(const cap_value_t *keep, int n);

/* Whether the calling thread has `cap` effective. */
bool caps_have(cap_value_t cap);

/* The calling thread's effective set as text (caller frees with cap_free). */
char *caps_text(void);

#endif /* FG_CAPS_H */
