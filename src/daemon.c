// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Daemon core: start-up decision (adopt what runs, or install the -c file),
 * the apply pipeline (validate, compile, attach, install, detach, record),
 * runtime changes (sets, bans), and the JSON views the API serves.
 *
 * Apply order, chosen so that an error leaves the old policy running and
 * no program ever runs on tables without the new policy: slots -> compile
 * (no side effects) -> every interface exists -> zero fresh counters ->
 * install the generation (atomic flip) -> attach interfaces the new policy
 * adds (a start swaps the new programs in everywhere) -> detach interfaces
 * it drops -> commit in memory -> save the state folder. An attach failure
 * detaches what this apply attached and switches the previous generation
 * back in (dp_revert); its number is reused by the next install.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "audit.h"
#include "compile.h"
#include "daemon.h"
#include "dataplane.h"
#include "doctor.h"
#include "log.h"
#include "names.h"

#define POLICY_MAX_BYTES (256u << 20)

struct iface_att {
	char *name;
	bool native;
	bool was_present; /* attached before this apply (rollback keeps it) */
};

struct daemon {
	pthread_mutex_t lock;
	char *config;	  /* -c as given: the name in error messages */
	char *config_abs; /* made absolute, symlinks NOT resolved: read, compared */
	char *config_dir; /* its folder (not resolved either) */
	char *pin_root;
	char *state_dir;
	struct dp *dp;
	struct op_settings ops;
	struct policy pol; /* what runs */
	struct dstate st;  /* what the state folder holds */
	struct policy cfg; /* the -c file, between init and start */
	char *cfg_text;
	size_t cfg_len;
	struct iface_att *ifs;
	size_t nifs;
	struct audit *audit;
	int lock_fd; /* flock on the state folder: one daemon per state */
	bool installed_at_start;
	bool refused; /* the last apply failed on the policy itself (exit 1) */
	time_t started;
	int64_t last_apply;
	bool last_apply_ok;
	atomic_bool exit_req;
	atomic_bool detached;
};

json_t *json_error(const char *error, json_t *detail)
{
	json_t *o = json_pack("{s:s}", "error", error);

	if (detail)
		json_object_set_new(o, "detail", detail);
	return o;
}

static void nbans_sync(struct daemon *d);

static int http_status(int err)
{
	switch (err) {
	case 0:
		return 200;
	case -EINVAL:
	case -E2BIG:
	case -ENODEV:
	case -ENOSPC:
	case -EPERM:
		return 400;
	case -ENOENT:
		return 404;
	default:
		return 500;
	}
}

static char *xstrdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* ---- files ---- */

/*
 * Read a whole regular file. O_NONBLOCK: a FIFO (or a device) put in the
 * -c file's place must not block the caller, who may hold the daemon lock;
 * anything but a regular file is refused (-EINVAL).
 */
static int read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	char *buf = NULL;
	size_t cap = 0, n = 0;
	struct stat st;
	int err = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	for (;;) {
		ssize_t r;

		if (cap - n < 65536) {
			char *nb;

			cap = cap ? cap * 2 : 65536;
			if (cap > POLICY_MAX_BYTES) {
				err = -EFBIG;
				break;
			}
			nb = realloc(buf, cap + 1);
			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			break;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}

/*
 * Why `path` could not be read, as a sentence. flowgated runs without
 * CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH (dropped at start, and not in the
 * systemd unit's bounding set): a file root cannot read by its mode alone
 * is EACCES, and the message says what to do.
 */
static void read_error(const char *path, int err, char *buf, size_t len)
{
	if (err == -EACCES)
		snprintf(buf, len,
			 "cannot read %s: %s (flowgated keeps no DAC capability: make it "
			 "readable by root)",
			 path, strerror(-err));
	else if (err == -EINVAL)
		snprintf(buf, len, "cannot read %s: not a regular file", path);
	else
		snprintf(buf, len, "cannot read %s: %s", path, strerror(-err));
}

/* Write `data` to dir/name atomically: temporary file, fsync, rename. */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len && !err) {
		ssize_t w = write(fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			err = -errno;
		else {
			data += w;
			len -= w;
		}
	}
	if (!err && fsync(fd))
		err = -errno;
	close(fd);
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

static char *path_join(const char *dir, const char *p)
{
	char *out;

	if (!p)
		return NULL;
	if (p[0] == '/' || !dir)
		return strdup(p);
	if (asprintf(&out, "%s/%s", dir, p) < 0)
		return NULL;
	return out;
}

/* ---- stats slots ---- */

struct name_idx {
	const char *name;
	uint32_t slot;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct name_idx *)a)->name, ((const struct name_idx *)b)->name);
}

static struct name_idx *slots_index(const struct slotmap *m)
{
	struct name_idx *v = calloc(m->n ? m->n : 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < m->n; i++)
		v[i] = (struct name_idx){m->names[i], m->slots[i]};
	qsort(v, m->n, sizeof(*v), name_cmp);
	return v;
}

static uint32_t index_find(const struct name_idx *v, size_t n, const char *name)
{
	struct name_idx key = {name, 0}, *hit;

	hit = n ? bsearch(&key, v, n, sizeof(*v), name_cmp) : NULL;
	return hit ? hit->slot : UINT32_MAX;
}

uint32_t slots_lookup(const struct slotmap *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->names[i], name))
			return m->slots[i];
	return UINT32_MAX;
}

void slots_free(struct slotmap *m)
{
	size_t i;

	for (i = 0; m->names && i < m->n; i++)
		free(m->names[i]);
	free(m->names);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

#define BIT_SET(b, i) ((b)[(i) / 64] |= 1ULL << ((i) % 64))
#define BIT_GET(b, i) (((b)[(i) / 64] >> ((i) % 64)) & 1)

/* Slots in use by `old`, the default slot and the avoid list: never
 * handed out. */
static uint64_t *slots_used(const struct slotmap *old, const uint32_t *avoid, size_t navoid)
{
	uint64_t *used = calloc(FG_MAX_STAT_SLOTS / 64 + 1, sizeof(*used));
	size_t i;

	if (!used)
		return NULL;
	BIT_SET(used, FG_SLOT_DEFAULT);
	for (i = 0; i < old->n; i++)
		if (old->slots[i] < FG_MAX_STAT_SLOTS)
			BIT_SET(used, old->slots[i]);
	for (i = 0; i < navoid; i++)
		if (avoid[i] < FG_MAX_STAT_SLOTS)
			BIT_SET(used, avoid[i]);
	return used;
}

static int slots_alloc(struct slotmap *out, size_t n)
{
	out->names = calloc(n ? n : 1, sizeof(*out->names));
	out->slots = calloc(n ? n : 1, sizeof(*out->slots));
	out->n = 0;
	return out->names && out->slots ? 0 : -ENOMEM;
}

int slots_assign(const struct slotmap *old, const struct policy *p, struct slotmap *out,
		 const uint32_t *avoid, size_t navoid, uint32_t **fresh, size_t *nfresh)
{
	struct name_idx *idx = slots_index(old);
	uint64_t *used = slots_used(old, avoid, navoid);
	uint32_t next = 0, *fr = calloc(p->nrules ? p->nrules : 1, sizeof(*fr));
	size_t i, nf = 0;
	int err = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!idx || !used || !fr || slots_alloc(out, p->nrules))
		goto fail;
	for (i = 0; i < p->nrules; i++) {
		uint32_t s = index_find(idx, old->n, p->rules[i].name);

		if (s == UINT32_MAX) {
			while (next < FG_MAX_STAT_SLOTS && BIT_GET(used, next))
				next++;
			if (next >= FG_MAX_STAT_SLOTS) {
				err = -ENOSPC;
				goto fail;
			}
			s = next;
			BIT_SET(used, s);
			fr[nf++] = s;
		}
		out->names[i] = strdup(p->rules[i].name);
		if (!out->names[i])
			goto fail;
		out->slots[i] = s;
		out->n = i + 1;
	}
	free(idx);
	free(used);
	*fresh = fr;
	*nfresh = nf;
	return 0;
fail:
	free(idx);
	free(used);
	free(fr);
	slots_free(out);
	return err;
}

/* Does m give a slot to every rule of p, in rule order? */
static bool slots_match(const struct slotmap *m, const struct policy *p)
{
	size_t i;

	if (m->n != p->nrules)
		return false;
	for (i = 0; i < m->n; i++)
		if (strcmp(m->names[i], p->rules[i].name))
			return false;
	return true;
}

/* ---- the state folder ---- */

static json_t *cidrs_json(const struct fg_cidr *c, size_t n)
{
	json_t *a = json_array();
	char buf[64];
	size_t i;

	for (i = 0; i < n; i++)
		if (format_cidr(&c[i], buf, sizeof(buf)) > 0)
			json_array_append_new(a, json_string(buf));
	return a;
}

static json_t *state_json(const struct dstate *s)
{
	json_t *o, *slots = json_object(), *sets = json_object();
	size_t i;

	for (i = 0; i < s->slots.n; i++)
		json_object_set_new(slots, s->slots.names[i], json_integer(s->slots.slots[i]));
	for (i = 0; i < s->nsets; i++)
		json_object_set_new(sets, s->sets[i].name,
				    cidrs_json(s->sets[i].cidrs, s->sets[i].n));
	o = json_pack("{s:i,s:I,s:I,s:s,s:s?,s:s?}", "version", 1, "generation",
		      (json_int_t)s->generation, "loaded_at", (json_int_t)s->loaded_at, "origin",
		      s->from_api ? "api" : "file", "source", s->source, "config_path",
		      s->config_path);
	if (!o)
		return NULL;
	if (s->config_text)
		json_object_set_new(o, "config_text", json_stringn(s->config_text, s->config_len));
	if (s->policy_text)
		json_object_set_new(o, "policy_text", json_stringn(s->policy_text, s->policy_len));
	json_object_set_new(o, "slots", slots);
	json_object_set_new(o, "sets", sets);
	return o;
}

int state_save(const char *dir, const struct dstate *s)
{
	json_t *o;
	char *text;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	o = state_json(s);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	err = write_atomic(dir, "state.json", text, strlen(text));
	free(text);
	/* A copy for people; never read back (state.json is the truth). */
	if (!err && s->policy_text)
		write_atomic(dir, "policy.yaml", s->policy_text, s->policy_len);
	return err;
}

static char *json_text(const json_t *o, const char *key, size_t *len)
{
	json_t *v = json_object_get(o, key);
	char *out;

	if (!json_is_string(v))
		return NULL;
	*len = json_string_length(v);
	out = malloc(*len + 1);
	if (out) {
		memcpy(out, json_string_value(v), *len);
		out[*len] = 0;
	}
	return out;
}

static int state_slots_load(const json_t *slots, struct slotmap *m)
{
	const char *name;
	json_t *v;

	if (slots_alloc(m, json_object_size(slots)))
		return -ENOMEM;
	json_object_foreach((json_t *)slots, name, v)
	{
		json_int_t s = json_integer_value(v);

		if (s <= 0 || s >= FG_MAX_STAT_SLOTS)
			continue;
		m->names[m->n] = strdup(name);
		if (!m->names[m->n])
			return -ENOMEM;
		m->slots[m->n++] = s;
	}
	return 0;
}

static int override_load(const char *name, const json_t *arr, struct set_override *o)
{
	size_t i;
	json_t *v;

	o->name = strdup(name);
	o->cidrs = calloc(json_array_size(arr) + 1, sizeof(*o->cidrs));
	if (!o->name || !o->cidrs)
		return -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && !parse_cidr(json_string_value(v), &o->cidrs[o->n]))
			o->n++;
	}
	return 0;
}

static int state_sets_load(const json_t *sets, struct dstate *s)
{
	const char *name;
	json_t *v;
	int err;

	s->sets = calloc(json_object_size(sets) + 1, sizeof(*s->sets));
	if (!s->sets)
		return -ENOMEM;
	json_object_foreach((json_t *)sets, name, v)
	{
		if ((err = override_load(name, v, &s->sets[s->nsets++])))
			return err;
	}
	return 0;
}

int state_load(const char *dir, struct dstate *s)
{
	char path[PATH_MAX];
	json_error_t je;
	json_t *o;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	if (access(path, F_OK))
		return -ENOENT;
	o = json_load_file(path, 0, &je);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		pr_warn("ignoring %s: %s (line %d)\n", path, je.text, je.line);
		return -EINVAL;
	}
	s->generation = json_integer_value(json_object_get(o, "generation"));
	s->loaded_at = json_integer_value(json_object_get(o, "loaded_at"));
	s->from_api = !strcmp(json_string_value(json_object_get(o, "origin")) ?: "", "api");
	s->source = xstrdup0(json_string_value(json_object_get(o, "source")));
	s->config_path = xstrdup0(json_string_value(json_object_get(o, "config_path")));
	s->config_text = json_text(o, "config_text", &s->config_len);
	s->policy_text = json_text(o, "policy_text", &s->policy_len);
	err = state_slots_load(json_object_get(o, "slots"), &s->slots);
	if (!err)
		err = state_sets_load(json_object_get(o, "sets"), s);
	json_decref(o);
	if (err)
		state_free(s);
	return err;
}

static void overrides_free(struct dstate *s)
{
	size_t i;

	for (i = 0; i < s->nsets; i++) {
		free(s->sets[i].name);
		free(s->sets[i].cidrs);
	}
	free(s->sets);
	s->sets = NULL;
	s->nsets = 0;
}

void state_free(struct dstate *s)
{
	free(s->source);
	free(s->config_path);
	free(s->config_text);
	free(s->policy_text);
	slots_free(&s->slots);
	overrides_free(s);
	memset(s, 0, sizeof(*s));
}

/* ---- operator settings ---- */

int ops_from_policy(const struct policy *p, const char *base_dir, struct op_settings *out)
{
	memset(out, 0, sizeof(*out));
	out->audit = path_join(base_dir, p->log_audit);
	out->pcap = path_join(base_dir, p->log_pcap);
	out->metrics = xstrdup0(p->metrics_listen);
	out->api = path_join(base_dir, p->api_socket ? p->api_socket : FG_DEFAULT_SOCKET);
	if ((p->log_audit && !out->audit) || (p->log_pcap && !out->pcap) ||
	    (p->metrics_listen && !out->metrics) || !out->api) {
		ops_free(out);
		return -ENOMEM;
	}
	return 0;
}

void ops_free(struct op_settings *o)
{
	free(o->audit);
	free(o->pcap);
	free(o->metrics);
	free(o->api);
	memset(o, 0, sizeof(*o));
}

static bool str_differs(const char *a, const char *b)
{
	return !a || !b ? a != b : strcmp(a, b) != 0;
}

static void ops_check_one(const char *key, const char *running, const char *asked,
			  const char *base_dir, bool is_path, json_t *detail, int *n)
{
	char *resolved;
	bool differs;
	char msg[160];

	if (!asked)
		return; /* left out: the operator's stays */
	resolved = is_path ? path_join(base_dir, asked) : strdup(asked);
	differs = !resolved || str_differs(running, resolved);
	free(resolved);
	if (!differs)
		return;
	snprintf(msg, sizeof(msg),
		 "%s: differs from the daemon's; it is set by the daemon's -c file, "
		 "not over the API",
		 key);
	json_array_append_new(detail, json_string(msg));
	(*n)++;
}

int ops_check_api(const struct op_settings *ops, const struct policy *p, const char *base_dir,
		  json_t *detail)
{
	int n = 0;

	ops_check_one("log.audit", ops->audit, p->log_audit, base_dir, true, detail, &n);
	ops_check_one("log.pcap", ops->pcap, p->log_pcap, base_dir, true, detail, &n);
	ops_check_one("metrics.listen", ops->metrics, p->metrics_listen, base_dir, false, detail,
		      &n);
	ops_check_one("api.socket", ops->api, p->api_socket, base_dir, true, detail, &n);
	return n ? -EPERM : 0;
}

void api_policy_opts(const char *config_dir, struct policy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->confine_dir = config_dir;
	o->base_dir = config_dir;
}

/* ---- interfaces ---- */

static enum dp_mode dp_mode_of(int mode)
{
	return mode == FG_MODE_NATIVE	 ? DP_MODE_NATIVE
	       : mode == FG_MODE_GENERIC ? DP_MODE_GENERIC
					 : DP_MODE_AUTO;
}

static bool mode_ok(int mode, bool native)
{
	return mode == FG_MODE_AUTO || (mode == FG_MODE_NATIVE) == native;
}

static struct iface_att *iface_find(struct iface_att *v, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

static void ifaces_free(struct iface_att *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Attach one interface; an existing link in the wrong mode is redone. */
static int attach_one(struct daemon *d, const struct fg_iface_spec *s, bool *native, char *err,
		      size_t len)
{
	char why[256];
	int rc;

	rc = dp_attach(d->dp, s->name, dp_mode_of(s->mode), native, why, sizeof(why));
	if (!rc && !mode_ok(s->mode, *native)) {
		pr_info("%s runs XDP in %s mode; re-attaching in the mode the policy asks\n",
			s->name, *native ? "native" : "generic");
		dp_detach(d->dp, s->name);
		rc = dp_attach(d->dp, s->name, dp_mode_of(s->mode), native, why, sizeof(why));
	}
	if (rc) {
		snprintf(err, len, "%s", why[0] ? why : strerror(-rc));
		return rc;
	}
	if (why[0])
		pr_warn("%s\n", why);
	pr_info("attached to %s (%s XDP)\n", s->name, *native ? "native" : "generic");
	return 0;
}

/* Undo an attach: detach what was not attached before it. */
static void ifaces_rollback(struct daemon *d, struct iface_att *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!v[i].was_present)
			dp_detach(d->dp, v[i].name);
}

/*
 * Attach every interface of np. Those already attached in a fitting mode
 * are kept as they are, unless `force` (start: swap in the new program).
 */
static int ifaces_attach(struct daemon *d, const struct policy *np, bool force,
			 struct iface_att **out, char *err, size_t len)
{
	struct iface_att *v = calloc(np->nifaces + 1, sizeof(*v)), *cur;
	size_t i;
	int rc;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < np->nifaces; i++) {
		const struct fg_iface_spec *s = &np->ifaces[i];

		cur = iface_find(d->ifs, d->nifs, s->name);
		v[i].name = strdup(s->name);
		v[i].was_present = cur != NULL;
		if (!v[i].name) {
			rc = -ENOMEM;
			goto fail;
		}
		if (cur && !force && mode_ok(s->mode, cur->native)) {
			v[i].native = cur->native;
			continue;
		}
		if ((rc = attach_one(d, s, &v[i].native, err, len))) {
			free(v[i].name);
			goto fail;
		}
	}
	*out = v;
	return 0;
fail:
	ifaces_rollback(d, v, i);
	ifaces_free(v, i);
	return rc;
}

/* Detach what runs but np does not name. */
static void ifaces_detach_removed(struct daemon *d, const struct policy *np)
{
	size_t i, k;

	for (i = 0; i < d->nifs; i++) {
		for (k = 0; k < np->nifaces; k++)
			if (!strcmp(np->ifaces[k].name, d->ifs[i].name))
				break;
		if (k < np->nifaces)
			continue;
		if (dp_detach(d->dp, d->ifs[i].name))
			pr_warn("cannot detach from %s\n", d->ifs[i].name);
		else
			pr_info("detached from %s (not in the policy)\n", d->ifs[i].name);
	}
}

/* ---- generations ---- */

static int build_tables(const struct policy *np, const struct slotmap *sm, struct fg_tables *t,
			char *err, size_t len)
{
	struct compile_opts co = {.default_slot = FG_SLOT_DEFAULT};
	uint32_t *rs = calloc(np->nrules + 1, sizeof(*rs));
	int rc;

	if (!rs)
		return -ENOMEM;
	memcpy(rs, sm->slots, np->nrules * sizeof(*rs));
	co.stat_slots = rs;
	rc = compile_tables(np, &co, t, err, len);
	free(rs);
	return rc;
}

/* Zero fresh slots, then install t as the next generation. */
static int install(struct daemon *d, const struct fg_tables *t, const uint32_t *fresh,
		   size_t nfresh, char *err, size_t len)
{
	int fd = dp_map_fd(d->dp, "fg_rule_stats");
	uint64_t gen = d->st.generation + 1;
	size_t i;
	int rc;

	for (i = 0; i < nfresh; i++) {
		if ((rc = dp_counter_reset(d->dp, fd, fresh[i]))) {
			snprintf(err, len, "cannot reset the counters of stats slot %u: %s",
				 fresh[i], strerror(-rc));
			return rc;
		}
	}
	rc = dp_install(d->dp, t, gen);
	if (rc) {
		snprintf(err, len, "cannot install generation %llu: %s", (unsigned long long)gen,
			 strerror(-rc));
		return rc;
	}
	d->st.generation = gen;
	return 0;
}

/* The last apply's bookkeeping, for /metrics. */
static void note_apply(struct daemon *d, bool ok)
{
	d->last_apply = time(NULL);
	d->last_apply_ok = ok;
}

/*
 * Every interface of np exists now. Checked before anything is installed
 * or attached, so that the common failure (a typo, an interface not
 * created yet) has no side effect at all; dp_attach reports the same
 * should one vanish in between.
 */
static int ifaces_exist(const struct policy *np, char *err, size_t len)
{
	size_t i;

	for (i = 0; i < np->nifaces; i++) {
		if (!if_nametoindex(np->ifaces[i].name)) {
			snprintf(err, len, "no interface named %s", np->ifaces[i].name);
			return -ENODEV;
		}
	}
	return 0;
}

/*
 * Attaching failed after generation `gen` was installed: switch the
 * previous generation back in (its number is then reused by the next
 * install; the flow cache is keyed by a per-install epoch, so that is
 * safe).
 */
static void install_undo(struct daemon *d, uint64_t gen)
{
	int rc = dp_revert(d->dp);

	if (!rc) {
		d->st.generation = gen - 1;
		return;
	}
	if (rc == -ENOENT && !d->nifs)
		return; /* nothing ran before and nothing runs: nothing to go back to */
	pr_err("cannot switch back to the previous generation after the failed attach: %s; "
	       "generation %llu (the refused policy) stays active on the interfaces that "
	       "run it\n",
	       strerror(-rc), (unsigned long long)gen);
}

/*
 * The apply pipeline (see the top of this file). Takes np over on success
 * (the old policy is freed); on error np is untouched and nothing packets
 * see has changed. d->refused tells whether an error is the policy's own
 * (cannot be compiled, no free stats slots) or the system's.
 */
static int apply_locked(struct daemon *d, struct policy *np, bool force_attach, char *err,
			size_t len)
{
	struct fg_tables t = {0};
	struct iface_att *nifs = NULL;
	struct slotmap sm;
	uint32_t *fresh = NULL, *pend = NULL;
	size_t nfresh = 0, npend = 0;
	int rc;

	d->refused = false;
	/* A CPU may still hold back a count (abi.h, struct fg_pend), and a
	 * remembered fragment still count, on a slot the running policy no
	 * longer uses: such a slot is not handed to a new rule. The running
	 * generation makes neither for a slot outside its policy
	 * (docs/datapath.md, "Counters"). */
	if ((rc = dp_pending_slots(d->dp, &pend, &npend))) {
		snprintf(err, len, "cannot read the held-back rule counts: %s", strerror(-rc));
		return rc;
	}
	rc = slots_assign(&d->st.slots, np, &sm, pend, npend, &fresh, &nfresh);
	if (rc == -ENOSPC && npend &&
	    !slots_assign(&d->st.slots, np, &sm, NULL, 0, &fresh, &nfresh)) {
		/* it fits but for slots still in use for a moment: not the
		 * policy's fault, and the next new flow or 30 s frees them */
		slots_free(&sm);
		free(fresh);
		free(pend);
		snprintf(err, len, "some stats slots are still counting packets of deleted rules "
			 "(held-back counts, fragments); try again in 30 s");
		return -EAGAIN;
	}
	free(pend);
	if (rc) {
		snprintf(err, len, "no free stats slot for the policy's rules: %s", strerror(-rc));
		d->refused = rc == -ENOSPC;
		return rc;
	}
	if ((rc = build_tables(np, &sm, &t, err, len))) {
		d->refused = rc == -E2BIG;
		goto out;
	}
	if ((rc = ifaces_exist(np, err, len)))
		goto out;
	/* Install first, then attach: a program attached (or swapped in by a
	 * restart) must never run on tables without this policy. */
	if ((rc = install(d, &t, fresh, nfresh, err, len)))
		goto out;
	if ((rc = ifaces_attach(d, np, force_attach, &nifs, err, len))) {
		/* the previous generation is intact in the other slot */
		install_undo(d, d->st.generation);
		goto out;
	}
	ifaces_detach_removed(d, np);
	ifaces_free(d->ifs, d->nifs);
	d->ifs = nifs;
	d->nifs = np->nifaces;
	policy_free(&d->pol);
	d->pol = *np;
	memset(np, 0, sizeof(*np));
	slots_free(&d->st.slots);
	d->st.slots = sm;
	memset(&sm, 0, sizeof(sm));
	if (d->audit)
		audit_set_names(d->audit, &d->st.slots);
out:
	slots_free(&sm);
	free(fresh);
	compile_free(&t);
	return rc;
}

/* Record what was applied in the state folder. */
static void state_record(struct daemon *d, const char *text, size_t len, bool from_api,
			 const char *source)
{
	char *copy = malloc(len + 1), *src = strdup(source);
	int rc;

	if (!copy || !src) {
		free(copy);
		free(src);
		pr_warn("out of memory recording the state\n");
		return;
	}
	memcpy(copy, text, len);
	copy[len] = 0;
	free(d->st.policy_text);
	d->st.policy_text = copy;
	d->st.policy_len = len;
	free(d->st.source);
	d->st.source = src;
	d->st.from_api = from_api;
	d->st.loaded_at = time(NULL);
	overrides_free(&d->st);
	if ((rc = state_save(d->state_dir, &d->st)))
		pr_warn("cannot save the state in %s: %s; a restart may re-apply the -c file\n",
			d->state_dir, strerror(-rc));
}

/* Keep the -c file's text as last loaded (a restart compares against it). */
static int state_config(struct daemon *d, const char *text, size_t len)
{
	char *copy = malloc(len + 1), *path = strdup(d->config_abs);

	if (!copy || !path) {
		free(copy);
		free(path);
		return -ENOMEM;
	}
	memcpy(copy, text, len);
	copy[len] = 0;
	free(d->st.config_text);
	free(d->st.config_path);
	d->st.config_text = copy;
	d->st.config_len = len;
	d->st.config_path = path;
	return 0;
}

static void audit_policy(struct daemon *d, const char *change, bool ok, const char *detail)
{
	json_t *ev;

	if (!d->audit)
		return;
	ev = json_pack("{s:s,s:s,s:b,s:I,s:s?,s:i}", "event", "policy", "change", change, "ok", ok,
		       "generation", (json_int_t)d->st.generation, "source", d->st.source, "rules",
		       (int)d->pol.nrules);
	if (ev && detail)
		json_object_set_new(ev, "detail", json_string(detail));
	audit_emit(d->audit, ev);
}

/* ---- start ---- */

static int parse_text(struct daemon *d, const char *text, size_t len, bool from_api,
		      struct policy *out, FILE *err, int *nerr)
{
	struct policy_opts po;

	if (from_api)
		api_policy_opts(d->config_dir, &po);
	else
		po = (struct policy_opts){.base_dir = d->config_dir};
	return policy_parse(from_api ? FG_API_NAME : d->config, text, len, &po, out, err, nerr);
}

/* Sets changed at run time, applied again over the policy they belong to. */
static void overrides_apply(struct policy *p, const struct dstate *s)
{
	size_t i, k;

	for (i = 0; i < s->nsets; i++) {
		for (k = 0; k < p->nsets; k++) {
			struct fg_cidr *c;

			if (strcmp(p->sets[k].name, s->sets[i].name))
				continue;
			c = malloc((s->sets[i].n + 1) * sizeof(*c));
			if (!c)
				continue;
			memcpy(c, s->sets[i].cidrs, s->sets[i].n * sizeof(*c));
			free(p->sets[k].cidrs);
			p->sets[k].cidrs = c;
			p->sets[k].ncidrs = s->sets[i].n;
		}
	}
}

/* The -c path the state recorded is ours. States written before the path
 * was kept as given recorded its realpath: that counts too. */
static bool config_path_same(const struct daemon *d, const char *recorded)
{
	char *real;
	bool same;

	if (!strcmp(recorded, d->config_abs))
		return true;
	real = realpath(d->config_abs, NULL);
	same = real && !strcmp(recorded, real);
	free(real);
	return same;
}

static bool config_changed(const struct daemon *d, const struct dstate *st, const char *text,
			   size_t len)
{
	return !st->config_text || !st->config_path || !config_path_same(d, st->config_path) ||
	       st->config_len != len || memcmp(st->config_text, text, len);
}

/*
 * What runs after the start: the state's policy when the -c file did not
 * change since it was last loaded (it may have come over the API), else
 * the -c file. *cand gets it; returns true when it is the state's.
 */
static bool choose_policy(struct daemon *d, struct dstate *st, const char *text, size_t len,
			  struct policy *cfg, struct policy *cand)
{
	int rc;

	if (config_changed(d, st, text, len) || !st->policy_text) {
		*cand = *cfg;
		memset(cfg, 0, sizeof(*cfg));
		return false;
	}
	rc = parse_text(d, st->policy_text, st->policy_len, st->from_api, cand, NULL, NULL);
	if (rc) {
		pr_warn("the policy in %s no longer loads (%s); using %s\n", d->state_dir,
			strerror(-rc), d->config);
		*cand = *cfg;
		memset(cfg, 0, sizeof(*cfg));
		return false;
	}
	overrides_apply(cand, st);
	return true;
}

/* Pinned links found at start (this version's and, during an upgrade,
 * another version's): what "runs now" for the attach step. */
static int ifaces_pinned(struct daemon *d)
{
	char **names;
	size_t n, i;
	int rc;

	if ((rc = dp_attached(d->dp, &names, &n)))
		return rc;
	d->ifs = calloc(n + 1, sizeof(*d->ifs));
	if (!d->ifs) {
		for (i = 0; i < n; i++)
			free(names[i]);
		free(names);
		return -ENOMEM;
	}
	/* they ran before this start: a failed start must leave them running */
	for (i = 0; i < n; i++) {
		d->ifs[i].name = names[i];
		d->ifs[i].was_present = true;
	}
	d->nifs = n;
	free(names);
	return 0;
}

/* Running generation kept as is: take over its slots and interfaces. */
static int adopt_running(struct daemon *d, struct policy *cand)
{
	struct iface_att *nifs;
	struct fg_tables t;
	char err[256];
	int rc;

	/* The running generation's programs are the previous binary's: load
	 * this binary's for the same policy, under the same number and stats
	 * slots, so a restart also brings new datapath code (one prog-array
	 * update: hitless). */
	rc = build_tables(cand, &d->st.slots, &t, err, sizeof(err));
	if (!rc) {
		rc = dp_install(d->dp, &t, d->st.generation);
		compile_free(&t);
		if (rc)
			snprintf(err, sizeof(err), "cannot reload generation %llu: %s",
				 (unsigned long long)d->st.generation, strerror(-rc));
	}
	if (rc) {
		pr_err("%s\n", err);
		return rc;
	}
	rc = ifaces_attach(d, cand, true, &nifs, err, sizeof(err));
	if (rc) {
		pr_err("%s\n", err);
		return rc;
	}
	ifaces_detach_removed(d, cand);
	ifaces_free(d->ifs, d->nifs);
	d->ifs = nifs;
	d->nifs = cand->nifaces;
	d->pol = *cand;
	memset(cand, 0, sizeof(*cand));
	pr_info("kept generation %llu running (policy unchanged since it was loaded; "
		"reloaded with this binary's programs)\n",
		(unsigned long long)d->st.generation);
	return 0;
}

static int start_install(struct daemon *d, struct policy *cand)
{
	char err[512];
	int rc;

	rc = apply_locked(d, cand, true, err, sizeof(err));
	note_apply(d, !rc);
	if (rc) {
		pr_err("%s\n", err);
		return d->refused ? DAEMON_BAD_POLICY : rc;
	}
	d->installed_at_start = true;
	pr_info("installed generation %llu (%zu rules)\n", (unsigned long long)d->st.generation,
		d->pol.nrules);
	return 0;
}

/* Decide, attach and install; `st` is the state folder's content. */
static int start_run(struct daemon *d, struct dstate *st, const char *text, size_t len,
		     struct policy *cfg)
{
	uint64_t running = dp_generation(d->dp);
	struct policy cand;
	bool kept = choose_policy(d, st, text, len, cfg, &cand);
	bool same_gen = running && running == st->generation;
	int rc;

	if (dp_adopted(d->dp) && !running)
		pr_warn("pinned maps found but no running generation recorded in them; "
			"installing the policy anew, counters restart\n");
	d->st = *st;
	memset(st, 0, sizeof(*st));
	/* counters of an unknown mapping; but counters carried over from
	 * another version's pins keep their slots */
	if (!same_gen && !dp_migrating(d->dp))
		slots_free(&d->st.slots);
	if (d->st.generation < running)
		d->st.generation = running;
	if (!kept) {
		overrides_free(&d->st);
		if ((rc = state_config(d, text, len)))
			goto out;
	}
	if ((rc = ifaces_pinned(d)))
		goto out;
	if (kept && same_gen && slots_match(&d->st.slots, &cand)) {
		rc = adopt_running(d, &cand);
		note_apply(d, !rc);
		goto out;
	}
	if ((rc = start_install(d, &cand)))
		goto out;
	if (!kept) {
		state_record(d, text, len, false, d->config);
	} else {
		/* the state's policy again (pins were gone): same text, origin */
		d->st.loaded_at = time(NULL);
		if (state_save(d->state_dir, &d->st))
			pr_warn("cannot save the state in %s\n", d->state_dir);
	}
out:
	policy_free(&cand);
	return rc;
}

/*
 * p made absolute against the working folder, lexically ("." and empty
 * components dropped), with symlinks NOT resolved: a -c path through a
 * symlink swapped as a whole (a Kubernetes ConfigMap: FILE -> ..data/FILE,
 * ..data -> a new folder on every update, the old one deleted) must name
 * the new file at every reload, never the folder it pointed to at start.
 */
static char *path_absolute(const char *p)
{
	char cwd[PATH_MAX], *joined, *out, *o;
	const char *s;

	if (p[0] == '/') {
		joined = strdup(p);
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		if (asprintf(&joined, "%s/%s", cwd, p) < 0)
			joined = NULL;
	}
	if (!joined)
		return NULL;
	out = malloc(strlen(joined) + 2);
	if (!out) {
		free(joined);
		return NULL;
	}
	o = out;
	for (s = joined; *s;) {
		const char *e = strchr(s, '/');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n && !(n == 1 && s[0] == '.')) {
			*o++ = '/';
			memcpy(o, s, n);
			o += n;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	if (o == out)
		*o++ = '/';
	*o = 0;
	free(joined);
	return out;
}

static int daemon_paths(struct daemon *d, const struct daemon_opts *o)
{
	char *slash;

	d->config = strdup(o->config);
	d->config_abs = path_absolute(o->config);
	d->pin_root = strdup(o->pin_root ? o->pin_root : FG_DEFAULT_PIN_ROOT);
	d->state_dir = strdup(o->state_dir ? o->state_dir : FG_DEFAULT_STATE_DIR);
	if (!d->config || !d->config_abs || !d->pin_root || !d->state_dir)
		return -ENOMEM;
	d->config_dir = strdup(d->config_abs);
	if (!d->config_dir)
		return -ENOMEM;
	slash = strrchr(d->config_dir, '/');
	if (slash == d->config_dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	return 0;
}

/*
 * Read and validate the -c file; errors as FILE:LINE:COL on stderr.
 * Returns 0, DAEMON_BAD_POLICY, or -errno (cannot read it: a system error).
 */
static int load_config(struct daemon *d, char **text, size_t *len, struct policy *cfg)
{
	char msg[PATH_MAX + 160];
	int rc = read_file(d->config_abs, text, len);

	if (rc) {
		read_error(d->config, rc, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return rc;
	}
	rc = parse_text(d, *text, *len, false, cfg, stderr, NULL);
	if (rc) {
		free(*text);
		*text = NULL;
		return rc == -EINVAL ? DAEMON_BAD_POLICY : rc;
	}
	return 0;
}

/*
 * The maps dp_open pinned for this version next to another version's pins
 * (an upgrade) when the start fails: removed, so that the next start
 * copies the old version's state again, unless a link of ours uses them
 * (an interface taken over before the failure: it runs them now).
 */
static void own_pins_remove(struct daemon *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	bool used = false;
	DIR *dh;

	snprintf(dir, sizeof(dir), "%s/v%d", d->pin_root, FG_ABI_VERSION);
	snprintf(path, sizeof(path), "%s/links", dir);
	if ((dh = opendir(path))) {
		while (!used && (de = readdir(dh)))
			used = de->d_name[0] != '.';
		closedir(dh);
		if (used) {
			pr_err("interfaces already taken over from the other flowgate version keep "
			       "running this version's programs and maps (%s)\n",
			       dir);
			return;
		}
	}
	rmdir(path);
	if (!(dh = opendir(dir)))
		return;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, "fg_", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(dh);
	rmdir(dir);
}

/*
 * A failed start leaves nothing half-attached. The apply already undid
 * what it attached itself (ifaces_attach's rollback) and switched the
 * previous generation back in. Then:
 * - no pins were found: everything under the pin root is this start's;
 *   remove it all;
 * - pins were found (this version's, adopted, or another version's, to be
 *   taken over): what they run keeps running, as before the start. Only
 *   interfaces this start attached anew are detached; dp_detach_all is
 *   never called, as it would detach every interface, including those of
 *   another version's pins.
 */
static void start_cleanup(struct daemon *d)
{
	size_t i;

	if (!dp_adopted(d->dp) && !dp_migrating(d->dp)) {
		dp_detach_all(d->dp);
		return;
	}
	for (i = 0; i < d->nifs; i++)
		if (!d->ifs[i].was_present)
			dp_detach(d->dp, d->ifs[i].name);
	if (!dp_adopted(d->dp))
		own_pins_remove(d);
	pr_info("the start failed; what ran before it keeps running\n");
}

int daemon_init(const struct daemon_opts *o, struct daemon **out)
{
	struct daemon *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->lock_fd = -1;
	d->started = time(NULL);
	if ((rc = daemon_paths(d, o)) ||
	    (rc = load_config(d, &d->cfg_text, &d->cfg_len, &d->cfg)) ||
	    (rc = ops_from_policy(&d->cfg, d->config_dir, &d->ops))) {
		daemon_free(d, false);
		return rc;
	}
	*out = d;
	return 0;
}

/* Pins are the daemon's alone: 0700 even if the folders existed before. */
static void pins_private(struct daemon *d)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/v%d", d->pin_root, FG_ABI_VERSION);
	if (chmod(d->pin_root, 0700) || chmod(path, 0700))
		pr_warn("cannot make the pin folders under %s private: %s\n", d->pin_root,
			strerror(errno));
}

/* One daemon per state folder (and so per pin root it records). */
static int state_lock(struct daemon *d)
{
	char path[PATH_MAX];

	if (mkdir(d->state_dir, 0700) && errno != EEXIST) {
		pr_err("cannot create the state folder %s: %s\n", d->state_dir, strerror(errno));
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/lock", d->state_dir);
	d->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (d->lock_fd < 0)
		return -errno;
	if (flock(d->lock_fd, LOCK_EX | LOCK_NB)) {
		pr_err("another flowgated uses the state folder %s\n", d->state_dir);
		return -EBUSY;
	}
	return 0;
}

int daemon_start(struct daemon *d)
{
	struct dp_opts dpo = {.pin_root = d->pin_root};
	struct dstate st = {0};
	uint64_t *pre;
	int rc;

	if ((rc = state_lock(d)))
		return rc;
	rc = state_load(d->state_dir, &st);
	if (rc && rc != -ENOENT)
		pr_warn("starting without the state in %s\n", d->state_dir);
	/* slots of the state's rules: after an upgrade, only the rules that
	 * keep theirs bring their counts over */
	pre = slots_used(&st.slots, NULL, 0);
	if (!pre) {
		state_free(&st);
		return -ENOMEM;
	}
	if ((rc = dp_open(&dpo, &d->dp))) {
		state_free(&st);
		free(pre);
		return rc;
	}
	pins_private(d);
	rc = start_run(d, &st, d->cfg_text, d->cfg_len, &d->cfg);
	if (rc) {
		start_cleanup(d);
	} else {
		/* another version's pins stayed until now: programs attached */
		uint64_t *cur = slots_used(&d->st.slots, NULL, 0);
		size_t w;

		for (w = 0; w < FG_MAX_STAT_SLOTS / 64 + 1; w++)
			pre[w] &= cur ? cur[w] : 0; /* no memory: carry none over */
		if (dp_retire_old(d->dp, pre))
			pr_warn("cannot remove the pins of another flowgate version\n");
		free(cur);
		nbans_sync(d);
	}
	free(pre);
	state_free(&st);
	free(d->cfg_text);
	d->cfg_text = NULL;
	policy_free(&d->cfg);
	return rc;
}

void daemon_free(struct daemon *d, bool detach)
{
	if (!d)
		return;
	if (detach && d->dp && !atomic_load(&d->detached)) {
		dp_detach_all(d->dp);
		pr_info("detached everything and removed the pins (--detach-on-exit)\n");
	}
	dp_close(d->dp);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	free(d->cfg_text);
	policy_free(&d->cfg);
	ifaces_free(d->ifs, d->nifs);
	policy_free(&d->pol);
	state_free(&d->st);
	ops_free(&d->ops);
	free(d->config);
	free(d->config_abs);
	free(d->config_dir);
	free(d->pin_root);
	free(d->state_dir);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const struct op_settings *daemon_ops(const struct daemon *d)
{
	return &d->ops;
}

int daemon_map_fd(struct daemon *d, const char *name)
{
	return dp_map_fd(d->dp, name);
}

void daemon_set_audit(struct daemon *d, struct audit *a)
{
	pthread_mutex_lock(&d->lock);
	d->audit = a;
	if (a) {
		audit_set_names(a, &d->st.slots);
		audit_policy(d, d->installed_at_start ? "start" : "adopt", true, NULL);
	}
	pthread_mutex_unlock(&d->lock);
}

void daemon_request_exit(struct daemon *d)
{
	atomic_store(&d->exit_req, true);
}

bool daemon_exit_requested(struct daemon *d)
{
	return atomic_load(&d->exit_req);
}

bool daemon_detached(struct daemon *d)
{
	return atomic_load(&d->detached);
}

/* ---- applies from the API and SIGHUP ---- */

/* Parser messages (one a line) as a JSON array of strings. */
static json_t *lines_json(const char *buf, size_t len)
{
	json_t *a = json_array();
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + 1;
	}
	return a;
}

/* Parse with messages collected; *resp gets the 400 answer on error. */
static int parse_for_api(struct daemon *d, const char *text, size_t len, bool from_api,
			 struct policy *out, json_t **resp)
{
	char *buf = NULL;
	size_t blen = 0;
	FILE *err = open_memstream(&buf, &blen);
	int rc;

	if (!err)
		return -ENOMEM;
	rc = parse_text(d, text, len, from_api, out, err, NULL);
	fclose(err);
	if (rc == -EINVAL)
		*resp = json_error("invalid policy", lines_json(buf, blen));
	else if (rc)
		*resp = json_error("cannot load the policy", json_string(strerror(-rc)));
	free(buf);
	return rc;
}

/* Apply np (locked). Fills *resp; returns the HTTP status. */
static int apply_and_answer(struct daemon *d, struct policy *np, const char *text, size_t len,
			    bool from_api, const char *source, json_t **resp)
{
	char err[512];
	int rc;

	rc = apply_locked(d, np, false, err, sizeof(err));
	note_apply(d, !rc);
	if (rc) {
		audit_policy(d, from_api ? "apply" : "reload", false, err);
		*resp = json_error(rc == -E2BIG ? "policy too large" : "cannot apply the policy",
				   json_string(err));
		return http_status(rc);
	}
	if (!from_api)
		state_config(d, text, len);
	state_record(d, text, len, from_api, source);
	audit_policy(d, from_api ? "apply" : "reload", true, NULL);
	pr_info("applied generation %llu from %s (%zu rules)\n",
		(unsigned long long)d->st.generation, source, d->pol.nrules);
	*resp = json_pack("{s:I}", "generation", (json_int_t)d->st.generation);
	return 200;
}

static bool refuse_detached(struct daemon *d, json_t **resp)
{
	if (!atomic_load(&d->detached))
		return false;
	*resp = json_error("flowgated has detached and is exiting", NULL);
	return true;
}

int daemon_apply_text(struct daemon *d, const char *text, size_t len, const char *label,
		      json_t **resp)
{
	struct policy np;
	char source[256];
	json_t *detail;
	int rc;

	snprintf(source, sizeof(source), "api%s%s", label ? ":" : "", label ? label : "");
	pthread_mutex_lock(&d->lock);
	if (refuse_detached(d, resp)) {
		rc = 503;
		goto out;
	}
	if ((rc = parse_for_api(d, text, len, true, &np, resp))) {
		note_apply(d, false);
		rc = http_status(rc);
		goto out;
	}
	detail = json_array();
	if (ops_check_api(&d->ops, &np, d->config_dir, detail)) {
		*resp = json_error("the policy changes operator settings", detail);
		policy_free(&np);
		note_apply(d, false);
		rc = 400;
		goto out;
	}
	json_decref(detail);
	rc = apply_and_answer(d, &np, text, len, true, source, resp);
	policy_free(&np);
out:
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/*
 * A reload may change log.audit or log.pcap. The new files are opened
 * (created if need be) before the apply, so a path that cannot be opened
 * refuses the reload with nothing changed; the audit module switches to
 * them only after the apply succeeded. A file (and its folder) the probe
 * created is removed again when the apply fails.
 */
struct log_probe {
	char *path;
	bool made_file, made_dir;
};

static void parent_of(const char *path, char *dir, size_t len)
{
	char *slash;

	snprintf(dir, len, "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = 0;
	else
		dir[0] = 0;
}

static void log_unprobe(struct log_probe *pr)
{
	char dir[PATH_MAX];

	if (pr->made_file)
		unlink(pr->path);
	if (pr->made_dir) {
		parent_of(pr->path, dir, sizeof(dir));
		rmdir(dir);
	}
	memset(pr, 0, sizeof(*pr));
}

static int log_probe(char *path, struct log_probe *pr, char *err, size_t len)
{
	const int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
	char dir[PATH_MAX];
	int fd, rc;

	memset(pr, 0, sizeof(*pr));
	pr->path = path;
	parent_of(path, dir, sizeof(dir));
	if (dir[0] && !mkdir(dir, 0750))
		pr->made_dir = true; /* as the audit module does: one level */
	fd = open(path, flags | O_CREAT | O_EXCL, 0640);
	if (fd >= 0)
		pr->made_file = true;
	else if (errno == EEXIST)
		fd = open(path, flags);
	if (fd < 0) {
		rc = -errno;
		if (rc == -EACCES)
			snprintf(err, len,
				 "cannot open %s: %s (flowgated keeps no DAC capability: root "
				 "must be able to write it by its mode)",
				 path, strerror(-rc));
		else
			snprintf(err, len, "cannot open %s: %s", path, strerror(-rc));
		log_unprobe(pr);
		return rc;
	}
	close(fd);
	return 0;
}

/* Open the new log paths of n that differ from the running ones. */
static int logs_prepare(struct daemon *d, const struct op_settings *n, struct log_probe pr[2],
			char *err, size_t len)
{
	int rc = 0;

	memset(pr, 0, 2 * sizeof(*pr));
	if (n->audit && str_differs(n->audit, d->ops.audit))
		rc = log_probe(n->audit, &pr[0], err, len);
	if (!rc && n->pcap && str_differs(n->pcap, d->ops.pcap))
		rc = log_probe(n->pcap, &pr[1], err, len);
	if (rc)
		log_unprobe(&pr[0]);
	return rc;
}

/* The apply failed: remove what logs_prepare created (in reverse: the
 * folder the first probe made may hold the second file). */
static void logs_unprepare(struct log_probe pr[2])
{
	log_unprobe(&pr[1]);
	log_unprobe(&pr[0]);
}

/* After a successful apply: the audit module writes to the new paths. */
static void logs_switch(struct daemon *d, struct op_settings *n, json_t *warnings)
{
	char msg[PATH_MAX + 160];
	int rc;

	if (!str_differs(n->audit, d->ops.audit) && !str_differs(n->pcap, d->ops.pcap))
		return;
	if ((rc = audit_set_paths(d->audit, n->audit, n->pcap))) {
		snprintf(msg, sizeof(msg),
			 "log.audit/log.pcap changed but cannot be opened (%s); logging goes on "
			 "at the old paths",
			 strerror(-rc));
		json_array_append_new(warnings, json_string(msg));
		return;
	}
	free(d->ops.audit);
	free(d->ops.pcap);
	d->ops.audit = n->audit;
	d->ops.pcap = n->pcap;
	n->audit = n->pcap = NULL;
}

/* The listeners (metrics, API socket) follow at the next start. */
static void listeners_warn(const struct daemon *d, const struct op_settings *n, json_t *warnings)
{
	if (str_differs(n->metrics, d->ops.metrics))
		json_array_append_new(warnings, json_string("metrics.listen changed: it takes "
							    "effect when flowgated restarts"));
	if (str_differs(n->api, d->ops.api))
		json_array_append_new(warnings, json_string("api.socket changed: it takes effect "
							    "when flowgated restarts"));
}

static int reload_refused(struct daemon *d, const char *error, const char *detail, int code,
			  json_t **resp)
{
	note_apply(d, false);
	audit_policy(d, "reload", false, detail);
	*resp = json_error(error, json_string(detail));
	return code;
}

int daemon_reload(struct daemon *d, json_t **resp)
{
	struct log_probe pr[2] = {{0}};
	struct op_settings n = {0};
	char msg[PATH_MAX + 200];
	json_t *warnings = NULL;
	struct policy np;
	char *text = NULL;
	size_t len = 0;
	int rc;

	pthread_mutex_lock(&d->lock);
	if (refuse_detached(d, resp)) {
		rc = 503;
		goto out;
	}
	rc = read_file(d->config_abs, &text, &len);
	if (rc) {
		read_error(d->config, rc, msg, sizeof(msg));
		rc = reload_refused(d, "cannot read the -c file", msg, 500, resp);
		goto out;
	}
	if ((rc = parse_for_api(d, text, len, false, &np, resp))) {
		note_apply(d, false);
		audit_policy(d, "reload", false, "invalid policy");
		rc = http_status(rc);
		goto out;
	}
	if ((rc = ops_from_policy(&np, d->config_dir, &n))) {
		policy_free(&np);
		rc = reload_refused(d, "cannot apply the policy", strerror(-rc), 500, resp);
		goto out;
	}
	if (d->audit && (rc = logs_prepare(d, &n, pr, msg, sizeof(msg)))) {
		policy_free(&np);
		rc = reload_refused(d, "cannot open the new log", msg, 500, resp);
		goto out;
	}
	warnings = json_array();
	rc = apply_and_answer(d, &np, text, len, false, d->config, resp);
	policy_free(&np);
	if (rc != 200) {
		logs_unprepare(pr);
		goto out;
	}
	if (d->audit)
		logs_switch(d, &n, warnings);
	listeners_warn(d, &n, warnings);
	if (json_array_size(warnings))
		json_object_set(*resp, "warnings", warnings);
out:
	pthread_mutex_unlock(&d->lock);
	json_decref(warnings);
	ops_free(&n);
	free(text);
	return rc;
}

/* ---- runtime set changes ---- */

static int cidr_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct fg_cidr));
}

/* A JSON array of CIDR strings; bad ones are described in detail. */
static int cidrs_from_json(const json_t *arr, struct fg_cidr **out, size_t *n, json_t *detail)
{
	struct fg_cidr *v = calloc(json_array_size(arr) + 1, sizeof(*v));
	char msg[256], line[320];
	size_t i;
	json_t *e;
	int bad = 0;

	if (!v)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		memset(&v[i], 0, sizeof(v[i]));
		if (json_is_string(e) &&
		    !parse_cidr_msg(json_string_value(e), &v[i], msg, sizeof(msg)))
			continue;
		snprintf(line, sizeof(line), "entry %zu: %s", i + 1,
			 json_is_string(e) ? msg : "not a string");
		json_array_append_new(detail, json_string(line));
		bad++;
	}
	if (bad) {
		free(v);
		return -EINVAL;
	}
	*out = v;
	*n = json_array_size(arr);
	return 0;
}

/*
 * The set's new content: (old + add) sorted and unique, minus del. Every
 * deletion is looked up in the sorted array as it is, and only marked
 * (in `gone`): the array is compacted once all are found.
 */
static int set_merge(const struct fg_set_spec *s, const struct fg_cidr *add, size_t nadd,
		     const struct fg_cidr *del, size_t ndel, struct fg_cidr **out, size_t *nout,
		     json_t *missing)
{
	size_t n = s->ncidrs + nadd, i, k = 0;
	struct fg_cidr *v = malloc((n + 1) * sizeof(*v)), *hit;
	bool *gone = calloc(n + 1, sizeof(*gone));
	char buf[64];

	if (!v || !gone) {
		free(v);
		free(gone);
		return -ENOMEM;
	}
	memcpy(v, s->cidrs, s->ncidrs * sizeof(*v));
	memcpy(v + s->ncidrs, add, nadd * sizeof(*v));
	qsort(v, n, sizeof(*v), cidr_cmp);
	for (i = 0; i < n; i++)
		if (!k || cidr_cmp(&v[k - 1], &v[i]))
			v[k++] = v[i];
	for (i = 0; i < ndel; i++) {
		hit = bsearch(&del[i], v, k, sizeof(*v), cidr_cmp);
		if (hit)
			gone[hit - v] = true;
		else if (format_cidr(&del[i], buf, sizeof(buf)) > 0)
			json_array_append_new(missing, json_string(buf));
	}
	for (i = n = 0; i < k; i++)
		if (!gone[i])
			v[n++] = v[i];
	free(gone);
	*out = v;
	*nout = n;
	return 0;
}

static int override_record(struct dstate *st, const char *name, const struct fg_cidr *c, size_t n)
{
	struct set_override *o = NULL, *nv;
	size_t i;

	for (i = 0; i < st->nsets && !o; i++)
		if (!strcmp(st->sets[i].name, name))
			o = &st->sets[i];
	if (!o) {
		nv = realloc(st->sets, (st->nsets + 1) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		st->sets = nv;
		o = &nv[st->nsets++];
		memset(o, 0, sizeof(*o));
		o->name = strdup(name);
	}
	free(o->cidrs);
	o->cidrs = malloc((n + 1) * sizeof(*c));
	if (!o->cidrs || !o->name)
		return -ENOMEM;
	memcpy(o->cidrs, c, n * sizeof(*c));
	o->n = n;
	return 0;
}

/* Install the running policy again (after its set changed). */
static int reinstall_locked(struct daemon *d, char *err, size_t len)
{
	struct fg_tables t = {0};
	int rc = build_tables(&d->pol, &d->st.slots, &t, err, len);

	if (!rc)
		rc = install(d, &t, NULL, 0, err, len);
	compile_free(&t);
	return rc;
}

static struct fg_set_spec *set_find(struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nsets; i++)
		if (!strcmp(p->sets[i].name, name))
			return &p->sets[i];
	return NULL;
}

struct set_req {
	struct fg_cidr *add, *del;
	size_t nadd, ndel;
};

static int set_req_parse(const json_t *body, bool del_only, struct set_req *r, json_t **resp)
{
	const json_t *add = json_object_get(body, "add"), *del = json_object_get(body, "del");
	json_t *detail;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(body) || (add && !json_is_array(add)) || (del && !json_is_array(del)) ||
	    (!add && !del) || (del_only && add)) {
		*resp =
		    json_error("bad request", json_string(del_only ? "expected {\"del\":[CIDR...]}"
								   : "expected {\"add\":[CIDR...]} "
								     "or {\"del\":[CIDR...]}"));
		return -EINVAL;
	}
	detail = json_array();
	if ((add && cidrs_from_json(add, &r->add, &r->nadd, detail)) ||
	    (del && cidrs_from_json(del, &r->del, &r->ndel, detail))) {
		free(r->add);
		*resp = json_error("bad CIDR", detail);
		return -EINVAL;
	}
	json_decref(detail);
	return 0;
}

static int set_apply_locked(struct daemon *d, struct fg_set_spec *s, const struct set_req *r,
			    json_t **resp)
{
	struct fg_cidr *nv = NULL, *old;
	json_t *missing = json_array();
	size_t n = 0, oldn;
	char err[512];
	int rc;

	rc = set_merge(s, r->add, r->nadd, r->del, r->ndel, &nv, &n, missing);
	if (!rc && json_array_size(missing)) {
		*resp = json_error("not in the set", json_incref(missing));
		rc = -ENOENT;
		goto out;
	}
	if (rc)
		goto fail;
	old = s->cidrs;
	oldn = s->ncidrs;
	s->cidrs = nv;
	s->ncidrs = n;
	if ((rc = reinstall_locked(d, err, sizeof(err)))) {
		s->cidrs = old;
		s->ncidrs = oldn;
		*resp = json_error("cannot change the set", json_string(err));
		goto out;
	}
	free(old);
	nv = NULL;
	override_record(&d->st, s->name, s->cidrs, s->ncidrs);
	if (state_save(d->state_dir, &d->st))
		pr_warn("cannot save the state in %s\n", d->state_dir);
	*resp = json_pack("{s:I,s:s,s:I}", "generation", (json_int_t)d->st.generation, "set",
			  s->name, "entries", (json_int_t)s->ncidrs);
	goto out;
fail:
	*resp = json_error("cannot change the set", json_string(strerror(-rc)));
out:
	free(nv);
	json_decref(missing);
	return rc;
}

int daemon_set_change(struct daemon *d, const char *name, const json_t *body, bool del,
		      json_t **resp)
{
	struct fg_set_spec *s;
	struct set_req r;
	char detail[128];
	int rc;

	if (set_req_parse(body, del, &r, resp))
		return 400;
	pthread_mutex_lock(&d->lock);
	if (refuse_detached(d, resp)) {
		rc = 503;
		goto out;
	}
	s = set_find(&d->pol, name);
	if (!s) {
		*resp = json_error("no such set", json_string(name));
		rc = 404;
		goto out;
	}
	rc = set_apply_locked(d, s, &r, resp);
	note_apply(d, !rc);
	snprintf(detail, sizeof(detail), "set %s: %zu added, %zu removed", name, r.nadd, r.ndel);
	audit_policy(d, "set", !rc, detail);
	rc = rc == -ENOENT ? 400 : http_status(rc);
out:
	pthread_mutex_unlock(&d->lock);
	free(r.add);
	free(r.del);
	return rc;
}

/* ---- bans ---- */

/* The longest ban TTL the API takes: 10 years of 365 days. */
#define BAN_TTL_MAX_S (10ULL * 365 * 24 * 3600)

/*
 * Ban TTL: seconds (a number) or a duration string; absent = permanent.
 * Positive and at most BAN_TTL_MAX_S: a huge number would overflow the
 * deadline (or, as a float, turn into 0 = permanent). A positive TTL under
 * a millisecond counts as 1 ms.
 */
static int ttl_parse(const json_t *v, uint64_t *ms)
{
	double r;

	*ms = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i <= 0 || (uint64_t)i > BAN_TTL_MAX_S)
			return -ERANGE;
		*ms = (uint64_t)i * 1000;
		return 0;
	}
	if (json_is_real(v)) {
		r = json_real_value(v);
		if (!(r > 0) || r > (double)BAN_TTL_MAX_S) /* NaN fails too */
			return -ERANGE;
		*ms = (uint64_t)(r * 1000);
		if (!*ms)
			*ms = 1;
		return 0;
	}
	if (json_is_string(v)) {
		int rc = parse_duration_ms(json_string_value(v), ms);

		if (rc == -ERANGE || (!rc && (!*ms || *ms > BAN_TTL_MAX_S * 1000)))
			return -ERANGE;
		return rc ? -EINVAL : 0;
	}
	return -EINVAL;
}

/*
 * fg_runtime[0].nbans tells packets whether the ban trie can be skipped,
 * so it must not be 0 while a ban exists: recount after every change.
 * (A walk: fine for the thousands of bans an API adds.)
 */
static void nbans_sync(struct daemon *d)
{
	int fd = dp_map_fd(d->dp, "fg_ban"), rt = dp_map_fd(d->dp, "fg_runtime");
	struct fg_lpm_key key, prev;
	struct fg_runtime r = {0};
	uint32_t zero = 0, n = 0;
	bool first = true;

	if (fd < 0 || rt < 0)
		return;
	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &key)) {
		first = false;
		prev = key;
		n++;
	}
	bpf_map_lookup_elem(rt, &zero, &r); /* keep the other knobs */
	r.nbans = n;
	if (bpf_map_update_elem(rt, &zero, &r, BPF_ANY))
		pr_warn("cannot update the ban count: %s\n", strerror(errno));
}

static const char *ban_reason(uint32_t r)
{
	return r == FG_R_BAN ? "manual" : fg_reason_name(r);
}

static json_t *ban_json(const struct fg_cidr *c, const struct fg_ban *b, uint64_t now)
{
	json_t *o, *exp;
	char buf[64];

	format_cidr(c, buf, sizeof(buf));
	exp = b->expires_ns ? json_integer((b->expires_ns - now + 999999999ULL) / 1000000000ULL)
			    : json_null();
	o = json_pack("{s:s,s:s}", "cidr", buf, "reason", ban_reason(b->reason));
	json_object_set_new(o, "expires_in_s", exp);
	return o;
}

static void audit_ban(struct daemon *d, const char *event, const struct fg_cidr *c,
		      const char *what, json_int_t ttl_s)
{
	char buf[64];
	json_t *ev;

	if (!d->audit)
		return;
	format_cidr(c, buf, sizeof(buf));
	ev = json_pack("{s:s,s:s,s:s}", "event", event, "cidr", buf, "reason", what);
	if (ev && ttl_s >= 0)
		json_object_set_new(ev, "ttl_s", json_integer(ttl_s));
	audit_emit(d->audit, ev);
}

int daemon_ban_add(struct daemon *d, const json_t *body, json_t **resp)
{
	const char *s = json_string_value(json_object_get(body, "cidr"));
	struct fg_ban b = {.reason = FG_R_BAN};
	struct fg_cidr c;
	char msg[256];
	uint64_t ms, now;
	int rc;

	if (!s || parse_cidr_msg(s, &c, msg, sizeof(msg))) {
		*resp = json_error("bad CIDR", json_string(s ? msg : "expected {\"cidr\":CIDR}"));
		return 400;
	}
	if ((rc = ttl_parse(json_object_get(body, "ttl"), &ms))) {
		*resp = json_error("bad ttl",
				   json_string(rc == -ERANGE
						   ? "out of range: a ttl is above zero and at most "
						     "10 years (315360000 s, 87600h)"
						   : "expected seconds or a duration like 90s, 10m, 2h"));
		return 400;
	}
	pthread_mutex_lock(&d->lock);
	now = mono_ns();
	b.expires_ns = ms ? now + ms * 1000000ULL : 0;
	rc = atomic_load(&d->detached) ? -ESHUTDOWN : dp_ban_add(d->dp, &c, b.expires_ns, b.reason);
	if (rc) {
		*resp = json_error("cannot add the ban", json_string(strerror(-rc)));
	} else {
		nbans_sync(d);
		audit_ban(d, "ban", &c, "manual", ms ? (json_int_t)(ms / 1000) : -1);
		*resp = ban_json(&c, &b, now);
	}
	pthread_mutex_unlock(&d->lock);
	return rc ? 500 : 200;
}

int daemon_ban_del(struct daemon *d, const char *cidr, json_t **resp)
{
	struct fg_cidr c;
	char msg[256];
	int rc;

	if (parse_cidr_msg(cidr, &c, msg, sizeof(msg))) {
		*resp = json_error("bad CIDR", json_string(msg));
		return 400;
	}
	pthread_mutex_lock(&d->lock);
	rc = atomic_load(&d->detached) ? -ESHUTDOWN : dp_ban_del(d->dp, &c);
	if (rc == -ENOENT) {
		*resp = json_error("no such ban", json_string(cidr));
	} else if (rc) {
		*resp = json_error("cannot remove the ban", json_string(strerror(-rc)));
	} else {
		nbans_sync(d);
		audit_ban(d, "unban", &c, "manual", -1);
		format_cidr(&c, msg, sizeof(msg));
		*resp = json_pack("{s:s}", "cidr", msg);
	}
	pthread_mutex_unlock(&d->lock);
	return http_status(rc);
}

static void key_to_cidr(const struct fg_lpm_key *k, struct fg_cidr *c)
{
	memset(c, 0, sizeof(*c));
	c->family = k->tag == FG_TAG_SRC4 ? 4 : 6;
	c->len = k->prefixlen - 8;
	memcpy(c->addr, k->addr, c->family == 4 ? 4 : 16);
}

/* Walk the ban trie; expired bans are left out, then deleted. */
static int bans_walk(struct daemon *d, json_t *out)
{
	int fd = dp_map_fd(d->dp, "fg_ban"), rc = 0;
	struct fg_lpm_key key, prev, *expired = NULL, *nv;
	size_t nexp = 0, i;
	uint64_t now = mono_ns();
	struct fg_cidr c;
	bool first = true;
	struct fg_ban b;

	while (!bpf_map_get_next_key(fd, first ? NULL : &prev, &key)) {
		first = false;
		prev = key;
		if (bpf_map_lookup_elem(fd, &key, &b))
			continue;
		key_to_cidr(&key, &c);
		if (!b.expires_ns || b.expires_ns > now) {
			json_array_append_new(out, ban_json(&c, &b, now));
			continue;
		}
		nv = realloc(expired, (nexp + 1) * sizeof(*nv));
		if (!nv) {
			rc = -ENOMEM;
			break;
		}
		expired = nv;
		expired[nexp++] = key;
	}
	for (i = 0; i < nexp; i++) {
		bpf_map_delete_elem(fd, &expired[i]);
		key_to_cidr(&expired[i], &c);
		audit_ban(d, "unban", &c, "expired", -1);
	}
	if (nexp)
		nbans_sync(d);
	free(expired);
	return rc;
}

int daemon_bans(struct daemon *d, json_t **resp)
{
	json_t *arr = json_array();
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = atomic_load(&d->detached) ? 0 : bans_walk(d, arr);
	pthread_mutex_unlock(&d->lock);
	if (rc) {
		json_decref(arr);
		*resp = json_error("cannot list the bans", json_string(strerror(-rc)));
		return 500;
	}
	*resp = arr;
	return 200;
}

/* ---- detach ---- */

int daemon_detach(struct daemon *d, json_t **resp)
{
	int rc;

	pthread_mutex_lock(&d->lock);
	rc = atomic_load(&d->detached) ? 0 : dp_detach_all(d->dp);
	if (rc) {
		*resp = json_error("cannot detach", json_string(strerror(-rc)));
		pthread_mutex_unlock(&d->lock);
		return 500;
	}
	atomic_store(&d->detached, true);
	ifaces_free(d->ifs, d->nifs);
	d->ifs = NULL;
	d->nifs = 0;
	unlink(d->ops.api);
	rmdir(d->pin_root); /* only if empty and not a mount point */
	audit_policy(d, "detach", true, NULL);
	pr_info("detached from every interface and removed the pins; exiting\n");
	*resp = json_pack("{s:b}", "detached", 1);
	pthread_mutex_unlock(&d->lock);
	return 200;
}

/* ---- views ---- */

static void rfc3339_secs(int64_t secs, char *buf, size_t len)
{
	time_t t = secs;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *prog_json(struct daemon *d, bool xdp)
{
	struct bpf_prog_info info = {0};
	__u32 len = sizeof(info);
	int fd = dp_prog_fd(d->dp, xdp);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return json_null();
	return json_pack("{s:s,s:I}", "name", xdp ? "fg_xdp_ingress" : "fg_tc_egress", "id",
			 (json_int_t)info.id);
}

static json_t *status_ifaces(struct daemon *d)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < d->nifs; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "name", d->ifs[i].name, "mode",
						   d->ifs[i].native ? "native" : "generic"));
	return a;
}

static json_t *not_enforced(const struct policy *p)
{
	const char *names[8];
	size_t n = policy_unenforced(p, names, 8), i;
	json_t *a = json_array();

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_string(names[i]));
	return a;
}

json_t *daemon_status(struct daemon *d)
{
	char loaded[64];
	json_t *o, *pol;

	pthread_mutex_lock(&d->lock);
	rfc3339_secs(d->st.loaded_at, loaded, sizeof(loaded));
	pol = json_pack("{s:I,s:s,s:s?,s:s,s:i}", "generation", (json_int_t)d->st.generation,
			"loaded_at", loaded, "source", d->st.source, "origin",
			d->st.from_api ? "api" : "file", "rules", (int)d->pol.nrules);
	o = json_pack("{s:s,s:o,s:o,s:o,s:I,s:s,s:s,s:b}", "version", FG_VERSION, "policy", pol,
		      "interfaces", status_ifaces(d), "not_enforced", not_enforced(&d->pol),
		      "uptime_s", (json_int_t)(time(NULL) - d->started), "pin_root", d->pin_root,
		      "config", d->config, "detached", (int)atomic_load(&d->detached));
	if (o && !atomic_load(&d->detached))
		json_object_set_new(o, "programs",
				    json_pack("[o,o]", prog_json(d, true), prog_json(d, false)));
	pthread_mutex_unlock(&d->lock);
	return o;
}

/* o.packets, o.bytes = the counter (summed over CPUs); returns o */
static json_t *counter_set(json_t *o, struct daemon *d, int fd, uint32_t key)
{
	struct fg_counter c = {0};

	dp_counter(d->dp, fd, key, &c);
	json_object_set_new(o, "packets", json_integer(c.packets));
	json_object_set_new(o, "bytes", json_integer(c.bytes));
	return o;
}

static json_t *stats_rules(struct daemon *d)
{
	int fd = dp_map_fd(d->dp, "fg_rule_stats");
	json_t *a = json_array(), *r;
	size_t i;

	for (i = 0; i < d->pol.nrules && i < d->st.slots.n; i++) {
		r = json_pack("{s:s,s:s}", "name", d->pol.rules[i].name, "action",
			      fg_action_name(d->pol.rules[i].action));
		json_array_append_new(a, counter_set(r, d, fd, d->st.slots.slots[i]));
	}
	return a;
}

static json_t *stats_drops(struct daemon *d)
{
	int fd = dp_map_fd(d->dp, "fg_drop_stats");
	struct fg_counter c;
	json_t *o = json_object();
	uint32_t r;

	for (r = FG_R_NONE + 1; r < FG_R_MAX; r++) {
		if (dp_counter(d->dp, fd, r, &c))
			c.packets = 0;
		json_object_set_new(o, fg_reason_name(r), json_integer(c.packets));
	}
	return o;
}

static json_t *stats_ifaces(struct daemon *d)
{
	int fd = dp_map_fd(d->dp, "fg_if_stats");
	json_t *a = json_array();
	struct fg_counter c;
	size_t i;

	for (i = 0; i < d->nifs; i++) {
		unsigned idx = if_nametoindex(d->ifs[i].name);

		if (!idx || dp_counter(d->dp, fd, FG_IF_SLOT(idx), &c))
			memset(&c, 0, sizeof(c));
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:I}", "name", d->ifs[i].name,
						   "mode", d->ifs[i].native ? "native" : "generic",
						   "rx_packets", (json_int_t)c.packets, "rx_bytes",
						   (json_int_t)c.bytes));
	}
	return a;
}

json_t *daemon_stats(struct daemon *d)
{
	json_t *o, *dflt;

	pthread_mutex_lock(&d->lock);
	if (atomic_load(&d->detached)) {
		pthread_mutex_unlock(&d->lock);
		return json_pack("{s:[],s:{s:i,s:i},s:{},s:[]}", "rules", "default", "packets", 0,
				 "bytes", 0, "drops", "interfaces");
	}
	dflt = json_pack("{s:s}", "action", fg_action_name(d->pol.default_action));
	counter_set(dflt, d, dp_map_fd(d->dp, "fg_rule_stats"), FG_SLOT_DEFAULT);
	o = json_pack("{s:o,s:o,s:o,s:o,s:I}", "rules", stats_rules(d), "default", dflt, "drops",
		      stats_drops(d), "interfaces", stats_ifaces(d), "generation",
		      (json_int_t)d->st.generation);
	pthread_mutex_unlock(&d->lock);
	return o;
}

static const char *const sched_names[] = {"maglev", "round_robin", "least_conn"};

static json_t *service_json(const struct fg_service_spec *s)
{
	json_t *bes = json_array(), *o;
	char vip[64], proto[16], *slash;
	size_t i;

	for (i = 0; i < s->nbackends; i++) {
		char a[64];

		format_cidr(&s->backends[i].addr, a, sizeof(a));
		if ((slash = strchr(a, '/')))
			*slash = 0;
		json_array_append_new(bes, json_pack("{s:s,s:i,s:I,s:s}", "address", a, "port",
						     s->backends[i].port, "weight",
						     (json_int_t)s->backends[i].weight, "health",
						     "unknown"));
	}
	format_cidr(&s->vip, vip, sizeof(vip));
	if ((slash = strchr(vip, '/')))
		*slash = 0;
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:o,s:b,s:s}", "name", s->name, "vip", vip, "port",
		      s->port, "proto", fg_proto_name(s->proto, proto, sizeof(proto)), "scheduler",
		      sched_names[s->scheduler >= 0 && s->scheduler < 3 ? s->scheduler : 0],
		      "backends", bes, "enforced", 0, "status", "not enforced yet");
	return o;
}

json_t *daemon_services(struct daemon *d)
{
	json_t *a = json_array();
	size_t i;

	pthread_mutex_lock(&d->lock);
	for (i = 0; i < d->pol.nservices; i++)
		json_array_append_new(a, service_json(&d->pol.services[i]));
	pthread_mutex_unlock(&d->lock);
	return a;
}

json_t *daemon_doctor(struct daemon *d)
{
	struct doctor_opts o = {.source = "daemon"};
	json_t *r;

	pthread_mutex_lock(&d->lock);
	o.policy = &d->pol;
	o.pin_root = d->pin_root;
	r = doctor_report(&o);
	pthread_mutex_unlock(&d->lock);
	return r;
}

static uint64_t ev_suppressed(struct daemon *d)
{
	int fd = dp_map_fd(d->dp, "fg_evbudget"), n = libbpf_num_possible_cpus(), i;
	struct fg_evbudget *v;
	uint32_t zero = 0;
	uint64_t sum = 0;

	if (fd < 0 || n < 1 || !(v = calloc(n, sizeof(*v))))
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, v))
		for (i = 0; i < n; i++)
			sum += v[i].suppressed;
	free(v);
	return sum;
}

void daemon_info(struct daemon *d, struct daemon_info *out)
{
	pthread_mutex_lock(&d->lock);
	out->generation = d->st.generation;
	out->last_apply = d->last_apply;
	out->last_apply_ok = d->last_apply_ok;
	out->ev_suppressed = atomic_load(&d->detached) ? 0 : ev_suppressed(d);
	pthread_mutex_unlock(&d->lock);
}

/* ---- the event ring buffer (see daemon.h) ---- */

struct events *events_open(int map_fd, events_fn fn, void *ctx)
{
	return (struct events *)ring_buffer__new(map_fd, fn, ctx, NULL);
}

int events_poll(struct events *e, int timeout_ms)
{
	return ring_buffer__poll((struct ring_buffer *)e, timeout_ms);
}

void events_free(struct events *e)
{
	ring_buffer__free((struct ring_buffer *)e);
}
