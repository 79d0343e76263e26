/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The daemon core: what runs (the policy, its generation, stats slots, the
 * attached interfaces), the apply pipeline shared by start, SIGHUP, the API
 * and set changes, and the state folder that lets a restarted daemon keep
 * running what was applied last (DESIGN.md §1, docs/daemon.md).
 *
 * Threads: every daemon_* entry point below that takes a `struct daemon`
 * locks it, so the API threads, the signal loop and the metrics thread may
 * call them concurrently. The pure helpers (slots_*, state_*, ops_*) take
 * no lock and are unit-tested on their own.
 */
#ifndef FG_DAEMON_H
#define FG_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#include "policy.h"
#include "version.h"

#define FG_DEFAULT_PIN_ROOT "/sys/fs/bpf/flowgate"
#define FG_DEFAULT_STATE_DIR "/var/lib/flowgate"
#define FG_DEFAULT_SOCKET "/run/flowgate/flowgate.sock"
/* Policy name used in error messages of policies received over the API. */
#define FG_API_NAME "<api>"

/* {"error": error, "detail": detail} (detail may be NULL; stolen). */
json_t *json_error(const char *error, json_t *detail);

/* ---- stats slots: rule name -> slot, kept across applies ---- */

struct slotmap {
	size_t n;
	char **names;
	uint32_t *slots;
};

/*
 * Give every rule of p a stats slot: the slot its name had in `old`, or a
 * slot no rule of `old` uses (never slot FG_SLOT_DEFAULT). A slot freed by
 * this apply is not reused by it, so packets still counted by the old
 * generation cannot land on a new rule; nor is any of the navoid slots in
 * avoid (those of the rule counts the CPUs hold back, dp_pending_slots).
 * *fresh gets the newly given slots (to be zeroed before the generation is
 * installed). Returns 0, -ENOSPC, -ENOMEM.
 */
int slots_assign(const struct slotmap *old, const struct policy *p, struct slotmap *out,
		 const uint32_t *avoid, size_t navoid, uint32_t **fresh, size_t *nfresh);
/* Slot of a rule name, or UINT32_MAX. */
uint32_t slots_lookup(const struct slotmap *m, const char *name);
void slots_free(struct slotmap *m);

/* ---- the state folder ---- */

/* A set changed at run time (POST /v1/sets): its full content. */
struct set_override {
	char *name;
	struct fg_cidr *cidrs;
	size_t n;
};

struct dstate {
	uint64_t generation;
	int64_t loaded_at; /* unix seconds */
	bool from_api;	   /* the running policy came over the API */
	char *source;	   /* -c path, or "api" / "api:NAME" */
	char *config_path; /* the -c path (absolute, symlinks kept) when last loaded */
	char *config_text; /* its text then */
	size_t config_len;
	char *policy_text; /* the running policy's text */
	size_t policy_len;
	struct slotmap slots;
	struct set_override *sets;
	size_t nsets;
};

/* Write the state atomically (temporary files, fsync, rename). */
int state_save(const char *dir, const struct dstate *s);
/* -ENOENT when the folder holds no state. */
int state_load(const char *dir, struct dstate *s);
void state_free(struct dstate *s);

/* ---- operator settings: fixed by the -c file, never by the API ---- */

struct op_settings {
	char *audit; /* absolute paths; NULL when not configured */
	char *pcap;
	char *metrics; /* HOST:PORT */
	char *api;     /* socket path (FG_DEFAULT_SOCKET when absent) */
};

/* Take p's log/metrics/api settings, relative paths against base_dir. */
int ops_from_policy(const struct policy *p, const char *base_dir, struct op_settings *out);
void ops_free(struct op_settings *o);
/*
 * An API policy may repeat the operator's settings or leave them out, not
 * change them. Returns 0, or -EPERM with one message per difference
 * appended to `detail` (a JSON array).
 */
int ops_check_api(const struct op_settings *ops, const struct policy *p, const char *base_dir,
		  json_t *detail);
/* Load options for a policy received over the API: set files confined to
 * (and relative ones resolved against) the -c file's folder. */
void api_policy_opts(const char *config_dir, struct policy_opts *o);

/* ---- the daemon ---- */

struct daemon_opts {
	const char *config; /* -c FILE */
	const char *pin_root;
	const char *state_dir;
	bool detach_on_exit;
};

struct daemon;
struct audit;

/*
 * Returned (a positive value, unlike the -errno codes) when the policy
 * itself is refused: it does not parse or validate (errors on stderr as
 * FILE:LINE:COL), or it cannot be compiled (too large for the datapath, no
 * free stats slots). flowgated exits 1 for it, 2 for anything else.
 */
#define DAEMON_BAD_POLICY 1

/*
 * Load and validate the -c file (its operator settings are then known).
 * Returns 0, DAEMON_BAD_POLICY, or -errno (e.g. the file cannot be read).
 */
int daemon_init(const struct daemon_opts *o, struct daemon **out);
/*
 * The privileged start: open the datapath (adopting pins), decide what
 * runs (DESIGN.md §1), install and attach. Returns 0, DAEMON_BAD_POLICY
 * when the policy cannot be compiled, or -errno. On error nothing is left
 * half-attached: a start over pins it found undoes only what it attached
 * itself (what ran before keeps running); a start on an empty pin root
 * removes everything it made.
 */
int daemon_start(struct daemon *d);
/* Close fds and free; with detach, remove programs and pins first. */
void daemon_free(struct daemon *d, bool detach);

const struct op_settings *daemon_ops(const struct daemon *d);
int daemon_map_fd(struct daemon *d, const char *name);
/* Hand the audit module to the daemon (policy/ban events, slot names). */
void daemon_set_audit(struct daemon *d, struct audit *a);

/*
 * API entry points. Each returns an HTTP status and sets *resp to the JSON
 * body: the result, or {"error": "...", "detail": ...}.
 */
int daemon_apply_text(struct daemon *d, const char *text, size_t len, const char *label,
		      json_t **resp);
int daemon_reload(struct daemon *d, json_t **resp);
int daemon_set_change(struct daemon *d, const char *name, const json_t *body, bool del,
		      json_t **resp);
int daemon_ban_add(struct daemon *d, const json_t *body, json_t **resp);
int daemon_ban_del(struct daemon *d, const char *cidr, json_t **resp);
int daemon_bans(struct daemon *d, json_t **resp);
int daemon_detach(struct daemon *d, json_t **resp);
json_t *daemon_status(struct daemon *d);
json_t *daemon_stats(struct daemon *d);
json_t *daemon_services(struct daemon *d);
json_t *daemon_doctor(struct daemon *d);

/* Values for /metrics beyond the stats. */
struct daemon_info {
	uint64_t generation;
	int64_t last_apply; /* unix seconds of the last apply attempt */
	bool last_apply_ok;
	uint64_t ev_suppressed; /* held back in the datapath, not yet reported */
};
void daemon_info(struct daemon *d, struct daemon_info *out);

/*
 * The fg_events ring buffer for the audit thread: libbpf's ring_buffer,
 * wrapped here because libpcap's headers and libbpf's cannot share a file
 * (both define struct bpf_insn).
 */
struct events;
typedef int (*events_fn)(void *ctx, void *data, size_t size);
struct events *events_open(int map_fd, events_fn fn, void *ctx);
int events_poll(struct events *e, int timeout_ms);
void events_free(struct events *e);

/* The main loop's view: exit requested (POST /v1/detach), and the code. */
void daemon_request_exit(struct daemon *d);
bool daemon_exit_requested(struct daemon *d);
bool daemon_detached(struct daemon *d);

#endif /* FG_DAEMON_H */
