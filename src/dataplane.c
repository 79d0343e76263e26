// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Dataplane handle: BPF object lifecycle, pins, generations, attachment.
 *
 * Pins: <root>/v<ABI>/<map name> for every map, <root>/v<ABI>/links/
 * {xdp,tc}-<ifname> for the links. The ABI version is part of the path, so
 * a daemon with another map layout never adopts maps it cannot read.
 *
 * Generations: see dp_install(). Each is a program of its own (the
 * fg_xdp_gen/fg_tc_gen of one more load of the object, with its tables),
 * run by the attached entry programs through the prog arrays fg_gen_xdp
 * and fg_gen_tc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "dataplane.h"
#include "log.h"
#include "flowgate.skel.h"

/* tcx attach types (Linux 6.6), absent from libbpf 1.1's headers. */
#define FG_BPF_TCX_INGRESS 46
#define FG_BPF_TCX_EGRESS 47

struct dp {
	struct flowgate *skel;
	int sync_fd; /* tiny array put into fg_sync to wait a grace period */
	char dir[PATH_MAX]; /* <root>/v<ABI>, "" when not pinned */
	char old_dir[PATH_MAX]; /* pins of another ABI version, "" if none */
	bool adopted;
	int ncpus;
	/* program fds of the running [0] and the previous [1] generation,
	 * xdp and tc; -1 when none. Held here, not read back from the prog
	 * array: turning a prog id into an fd takes CAP_SYS_ADMIN. */
	int gen[2][2];
	/* the counter maps, mmapped: fd, counters a CPU, the mapping */
	struct dp_ctr {
		int fd;
		size_t n, len;
		struct fg_counter *mem;
	} ctr[3];
	/* fg_pend, mmapped: a rule count held back per CPU (abi.h) */
	volatile struct fg_pend *pend;
	size_t pend_len;
};

/* The counter maps and their counters a CPU (abi.h, "counters"). */
static const struct {
	const char *name;
	size_t n;
} ctr_maps[3] = {
	{ "fg_rule_stats", FG_MAX_STAT_SLOTS },
	{ "fg_drop_stats", FG_R_MAX },
	{ "fg_if_stats", FG_IF_SLOTS },
};

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* The pin root must be on a bpffs; mount one there if it is not. */
static int ensure_bpffs(const char *root)
{
	struct statfs st;
	int err;

	if ((err = mkdir_p(root, 0700)))
		return err;
	if (statfs(root, &st))
		return -errno;
	if (st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", root, "bpf", 0, "mode=0700"))
		return -errno;
	pr_info("mounted bpffs at %s\n", root);
	return 0;
}

static int link_pin_path(const struct dp *dp, const char *kind,
			 const char *ifname, char *buf, size_t len)
{
	if (!dp->dir[0])
		return -ENOENT;
	if (snprintf(buf, len, "%s/links/%s-%s", dp->dir, kind, ifname) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

/* Pins of another ABI version under the root (an upgrade or downgrade):
 * their links are taken over and their state carried over where the map
 * layout allows, then they are retired (dp_retire_old). */
static void find_old_dir(struct dp *dp, const char *root)
{
	struct dirent *de;
	int best = -1, v;
	char c;
	DIR *d;

	d = opendir(root);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (sscanf(de->d_name, "v%d%c", &v, &c) == 1 && v != FG_ABI_VERSION && v > best)
			best = v;
	closedir(d);
	if (best >= 0)
		snprintf(dp->old_dir, sizeof(dp->old_dir), "%s/v%d", root, best);
}

/* Runtime state worth carrying across versions; generation tables are not
 * (the policy is installed anew), nor the flow cache or the event ring.
 * Counters are added up once the old programs are gone; the rest is copied
 * before the new programs start (they need conntrack and bans at once) and
 * again afterwards for entries made in between. */
static const struct {
	const char *name;
	bool counter;
} state_maps[] = {
	{ "fg_rule_stats", true }, { "fg_drop_stats", true }, { "fg_if_stats", true },
	{ "fg_ban", false },        { "fg_ct", false },        { "fg_ct_new", false },
	{ "fg_frag", false },      { "fg_rate", false },
};

/* Maps shared by every generation and pinned: all but the object's
 * .rodata/.bss and the per-generation tables. */
static bool is_state_map(const char *name)
{
	return !strncmp(name, "fg_", 3) && strcmp(name, "fg_heap") && strcmp(name, "fg_lpm");
}

static bool is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

/* Whether the counts of rule stats slot k carry over an upgrade (keep: a
 * bitmap of FG_MAX_STAT_SLOTS bits, dp_retire_old). */
static bool slot_kept(const uint64_t *keep, uint32_t k)
{
	return k < FG_MAX_STAT_SLOTS && (keep[k / 64] >> (k % 64) & 1);
}

/* Copy (flags BPF_ANY or BPF_NOEXIST) or, for per-CPU counters, add every
 * entry of `from` into `to` (of a rule counter map, with keep, only the
 * kept slots'). Returns entries handled or -errno. */
static long merge_entries(struct dp *dp, int from, int to, const struct bpf_map_info *mi,
			  bool add, __u64 flags, const uint64_t *keep)
{
	size_t vsz = is_percpu(mi->type) ? ((mi->value_size + 7) & ~7ul) * dp->ncpus
					 : mi->value_size;
	char *k = malloc(mi->key_size), *next = malloc(mi->key_size);
	__u64 *v = malloc(vsz), *cur = malloc(vsz);
	void *prev = NULL;
	long n = 0;
	size_t i;

	if (!k || !next || !v || !cur) {
		n = -ENOMEM;
		goto out;
	}
	while (!bpf_map_get_next_key(from, prev, next)) {
		memcpy(k, next, mi->key_size);
		prev = k;
		if (keep && !slot_kept(keep, *(uint32_t *)k % FG_MAX_STAT_SLOTS))
			continue;
		if (bpf_map_lookup_elem(from, k, v))
			continue;
		if (add && !bpf_map_lookup_elem(to, k, cur))
			for (i = 0; i < vsz / sizeof(__u64); i++)
				v[i] += cur[i]; /* counters are __u64 fields only */
		if (bpf_map_update_elem(to, k, v, add ? BPF_ANY : flags) && errno != EEXIST) {
			n = -errno;
			break;
		}
		n++;
	}
out:
	free(k);
	free(next);
	free(v);
	free(cur);
	return n;
}

static struct dp_ctr *ctr_of(struct dp *dp, int fd);

/* Add a per-CPU counter array of an older version (fd) into the mapped
 * counters ctr, CPU by CPU. Returns counters handled or -errno. */
static long ctr_add_percpu(struct dp *dp, int fd, struct dp_ctr *ctr,
			   const struct bpf_map_info *oi, const uint64_t *keep)
{
	struct fg_counter *v;
	uint32_t k, n;
	int c;

	if (oi->value_size != sizeof(*v) || oi->key_size != sizeof(k))
		return -EINVAL;
	v = calloc(dp->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = oi->max_entries < ctr->n ? oi->max_entries : ctr->n;
	for (k = 0; k < n; k++) {
		if ((keep && !slot_kept(keep, k)) || bpf_map_lookup_elem(fd, &k, v))
			continue;
		for (c = 0; c < dp->ncpus; c++) {
			ctr->mem[c * ctr->n + k].packets += v[c].packets;
			ctr->mem[c * ctr->n + k].bytes += v[c].bytes;
		}
	}
	free(v);
	return n;
}

/* The rule counts an older version's CPUs held back (its fg_pend, abi.h),
 * added to the counters: its programs no longer run where this version
 * took over (links it keeps on interfaces the new policy drops go after
 * this; docs/datapath.md, "Counters"). Versions before fg_pend have none. */
static void pend_migrate(struct dp *dp, const uint64_t *keep)
{
	struct dp_ctr *ctr = &dp->ctr[0];
	struct bpf_map_info oi = { 0 };
	__u32 len = sizeof(oi), c;
	char path[PATH_MAX + 64];
	struct fg_pend pd;
	int fd, n = 0;

	snprintf(path, sizeof(path), "%s/fg_pend", dp->old_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return;
	if (!ctr->mem || bpf_obj_get_info_by_fd(fd, &oi, &len) ||
	    oi.value_size != sizeof(pd) || oi.key_size != sizeof(c)) {
		pr_warn("fg_pend changed layout since the pinned version: its held-back counts are not carried over\n");
		close(fd);
		return;
	}
	for (c = 0; c < oi.max_entries && c < (__u32)dp->ncpus; c++) {
		uint32_t slot;

		if (bpf_map_lookup_elem(fd, &c, &pd) || !(pd.rec & FG_PEND_VALID))
			continue;
		slot = (uint32_t)pd.rec;
		if (slot >= ctr->n || (keep && !slot_kept(keep, slot)))
			continue;
		ctr->mem[c * ctr->n + slot].packets++;
		ctr->mem[c * ctr->n + slot].bytes += (pd.rec >> 32) & FG_PEND_BYTES_MAX;
		n++;
	}
	pr_info("fg_pend: carried %d held-back counts over from %s\n", n, dp->old_dir);
	unlink(path); /* added, not copied: never twice */
	close(fd);
}

/* One pass over the state maps of old_dir: `late` is the pass after the
 * new programs took over (counters added, the rest copied without
 * overwriting); otherwise the first pass (no counters). keep: the rule
 * stats slots whose counts carry over (NULL: all). */
static void migrate_state(struct dp *dp, bool late, const uint64_t *keep)
{
	size_t i;

	if (late)
		pend_migrate(dp, keep);

	for (i = 0; i < sizeof(state_maps) / sizeof(state_maps[0]); i++) {
		const char *name = state_maps[i].name;
		struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, name);
		struct bpf_map_info oi = { 0 };
		__u32 len = sizeof(oi);
		char path[PATH_MAX + 64];
		long n;
		int fd;

		if (state_maps[i].counter != late && state_maps[i].counter)
			continue; /* counters: late pass only */
		snprintf(path, sizeof(path), "%s/%s", dp->old_dir, name);
		fd = bpf_obj_get(path);
		if (fd < 0 || !m)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &oi, &len) && state_maps[i].counter &&
		    oi.type == BPF_MAP_TYPE_PERCPU_ARRAY && ctr_of(dp, bpf_map__fd(m))) {
			/* ABI 1 kept counters in per-CPU arrays */
			n = ctr_add_percpu(dp, fd, ctr_of(dp, bpf_map__fd(m)), &oi,
					   !strcmp(name, "fg_rule_stats") ? keep : NULL);
			if (n < 0)
				pr_warn("%s: carrying counters over stopped: %s\n", name,
					strerror(-n));
			else
				pr_info("%s: carried %ld counters over from %s\n", name, n,
					dp->old_dir);
			unlink(path);
			close(fd);
			continue;
		}
		if (bpf_obj_get_info_by_fd(fd, &oi, &len) || oi.type != bpf_map__type(m) ||
		    oi.key_size != bpf_map__key_size(m) || oi.value_size != bpf_map__value_size(m)) {
			if (!late)
				pr_warn("%s changed layout since the pinned version: its state is not carried over\n",
					name);
			close(fd);
			continue;
		}
		n = merge_entries(dp, fd, bpf_map__fd(m), &oi, state_maps[i].counter,
				  late ? BPF_NOEXIST : BPF_ANY,
				  !strcmp(name, "fg_rule_stats") ? keep : NULL);
		if (n < 0)
			pr_warn("%s: carrying state over stopped: %s\n", name, strerror(-n));
		else if (!late || state_maps[i].counter)
			pr_info("%s: carried %ld entries over from %s\n", name, n, dp->old_dir);
		/* counters are added, not copied: drop the old ones at once so
		 * an interrupted upgrade cannot add them twice */
		if (late && state_maps[i].counter)
			unlink(path);
		close(fd);
	}
}

/* An fd of the running generation's program, from the prog array (which
 * answers a lookup with the program's id), or -1. */
static int gen_prog_fd(struct dp *dp, bool xdp)
{
	int fd = bpf_map__fd(xdp ? dp->skel->maps.fg_gen_xdp : dp->skel->maps.fg_gen_tc);
	uint32_t zero = 0, id;

	if (bpf_map_lookup_elem(fd, &zero, &id))
		return -1;
	fd = bpf_prog_get_fd_by_id(id);
	return fd < 0 ? -1 : fd;
}

static void gen_close(int fds[2])
{
	int i;

	for (i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

bool dp_migrating(const struct dp *dp)
{
	return dp->old_dir[0] != 0;
}

/* Map the counter maps into memory: reading a counter is then a sum over
 * the CPU regions, with no syscall (stats of 100k rules, every second). */
static int ctr_mmap(struct dp *dp)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t i;
	void *p;

	for (i = 0; i < 3; i++) {
		struct dp_ctr *c = &dp->ctr[i];

		c->fd = dp_map_fd(dp, ctr_maps[i].name);
		c->n = ctr_maps[i].n;
		c->len = (c->n * dp->ncpus * sizeof(struct fg_counter) + page - 1) & ~(page - 1);
		p = mmap(NULL, c->len, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
		if (p == MAP_FAILED) {
			pr_err("cannot map %s: %s\n", ctr_maps[i].name, strerror(errno));
			return -errno;
		}
		c->mem = p;
	}
	dp->pend_len = (dp->ncpus * sizeof(struct fg_pend) + page - 1) & ~(page - 1);
	p = mmap(NULL, dp->pend_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		 dp_map_fd(dp, "fg_pend"), 0);
	if (p == MAP_FAILED) {
		pr_err("cannot map fg_pend: %s\n", strerror(errno));
		return -errno;
	}
	dp->pend = p;
	return 0;
}

static struct dp_ctr *ctr_of(struct dp *dp, int fd)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (dp->ctr[i].mem && dp->ctr[i].fd == fd)
			return &dp->ctr[i];
	return NULL;
}

int dp_open(const struct dp_opts *o, struct dp **out)
{
	struct bpf_map *map;
	struct dp *dp;
	size_t i;
	int err;

	dp = calloc(1, sizeof(*dp));
	if (!dp)
		return -ENOMEM;
	dp->sync_fd = -1;
	memset(dp->gen, -1, sizeof(dp->gen));
	dp->ncpus = libbpf_num_possible_cpus();
	if (dp->ncpus < 1) {
		err = dp->ncpus;
		goto fail;
	}
	dp->skel = flowgate__open();
	if (!dp->skel) {
		err = -errno;
		pr_err("cannot open the BPF object: %s\n", strerror(-err));
		goto fail;
	}
	/* the IPv4 flow cache has a region per CPU */
	if ((err = bpf_map__set_max_entries(dp->skel->maps.fg_flows4,
					    FG_FLOW4_BUCKETS * dp->ncpus)))
		goto fail;
	/* this load holds the state and the entry programs; generations
	 * are loaded by dp_install */
	bpf_program__set_autoload(dp->skel->progs.fg_xdp_gen, false);
	bpf_program__set_autoload(dp->skel->progs.fg_tc_gen, false);
	/* counters: a region per CPU */
	for (i = 0; i < 3; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, ctr_maps[i].name);

		if (!m || (err = bpf_map__set_max_entries(m, ctr_maps[i].n * dp->ncpus)))
			goto fail;
	}
	if ((err = bpf_map__set_max_entries(dp->skel->maps.fg_pend, dp->ncpus)))
		goto fail;
	if (o && o->pin_root) {
		char links[PATH_MAX + 8];

		if ((err = ensure_bpffs(o->pin_root))) {
			pr_err("cannot use %s as a bpffs pin root: %s\n",
			       o->pin_root, strerror(-err));
			goto fail;
		}
		snprintf(dp->dir, sizeof(dp->dir), "%s/v%d", o->pin_root, FG_ABI_VERSION);
		snprintf(links, sizeof(links), "%s/links", dp->dir);
		if ((err = mkdir_p(links, 0700)))
			goto fail;
		find_old_dir(dp, o->pin_root);
		bpf_object__for_each_map(map, dp->skel->obj) {
			char path[PATH_MAX + 64];
			const char *name = bpf_map__name(map);

			/* .rodata/.bss of the object are not state, nor
			 * a generation's own tables */
			if (!is_state_map(name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dp->dir, name);
			if (!access(path, F_OK))
				dp->adopted = true;
			if ((err = bpf_map__set_pin_path(map, path)))
				goto fail;
		}
	}
	err = flowgate__load(dp->skel);
	if (err) {
		pr_err("cannot load the BPF programs: %s (run with -v for the verifier log)\n",
		       strerror(-err));
		goto fail;
	}
	if ((err = ctr_mmap(dp)))
		goto fail;
	if (dp->old_dir[0] && !dp->adopted) {
		pr_info("found pins of another flowgate version in %s: taking them over\n",
			dp->old_dir);
		migrate_state(dp, false, NULL);
	}
	dp->sync_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "fg_sync_in", 4, 4, 1, NULL);
	if (dp->sync_fd < 0) {
		err = dp->sync_fd;
		goto fail;
	}
	/* the generation an earlier daemon left running (still privileged
	 * here): the next install keeps it as the previous one */
	if (dp->adopted) {
		dp->gen[0][0] = gen_prog_fd(dp, true);
		dp->gen[0][1] = gen_prog_fd(dp, false);
		if (dp->gen[0][0] < 0 && dp_generation(dp))
			pr_warn("cannot hold the running generation's programs (no CAP_SYS_ADMIN?): "
				"an apply whose attach step fails cannot switch back to it\n");
	}
	/* adopted bans (or none): make the skip-when-empty count exact */
	if ((err = dp_bans_recount(dp)))
		goto fail;
	*out = dp;
	return 0;
fail:
	dp_close(dp);
	return err;
}

void dp_close(struct dp *dp)
{
	size_t i;

	if (!dp)
		return;
	if (dp->sync_fd >= 0)
		close(dp->sync_fd);
	gen_close(dp->gen[0]);
	gen_close(dp->gen[1]);
	for (i = 0; i < 3; i++)
		if (dp->ctr[i].mem)
			munmap(dp->ctr[i].mem, dp->ctr[i].len);
	if (dp->pend)
		munmap((void *)dp->pend, dp->pend_len);
	flowgate__destroy(dp->skel);
	free(dp);
}

bool dp_adopted(const struct dp *dp)
{
	return dp->adopted;
}

int dp_prog_fd(struct dp *dp, bool xdp)
{
	return bpf_program__fd(xdp ? dp->skel->progs.fg_xdp_ingress
				   : dp->skel->progs.fg_tc_egress);
}

int dp_map_fd(struct dp *dp, const char *name)
{
	struct bpf_map *m = bpf_object__find_map_by_name(dp->skel->obj, name);

	return m ? bpf_map__fd(m) : -ENOENT;
}

/* ---- generations ---- */

static uint32_t active_slot(struct dp *dp)
{
	struct fg_active a = { 0 };
	uint32_t zero = 0;

	bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.fg_active), &zero, &a);
	return a.slot & (FG_SLOTS - 1);
}

/* The running generation's header, from fg_geninfo (no privilege beyond
 * the map fd). Zeroes when none runs. */
int dp_running_hdr(struct dp *dp, struct fg_heap_hdr *out)
{
	uint32_t slot = active_slot(dp);

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.fg_geninfo), &slot, out))
		return -errno;
	return 0;
}

uint64_t dp_generation(struct dp *dp)
{
	struct fg_heap_hdr h;

	if (dp_running_hdr(dp, &h))
		return 0;
	return h.generation;
}

static size_t div_up(size_t a, size_t b)
{
	return (a + b - 1) / b;
}

/* Lay the tables out as heap slots (see abi.h). */
static struct fg_heap_slot *heap_build(const struct fg_tables *t, uint64_t gen,
				       size_t *nslots, struct fg_heap_hdr *out)
{
	size_t ncls = div_up(t->nclasses, FG_HEAP_CLASSES_PER_SLOT);
	size_t nrule = div_up(t->nrules, FG_HEAP_RULES_PER_SLOT);
	size_t cls_base = FG_HEAP_V4_BASE + t->nv4;
	size_t n = cls_base + ncls + nrule + t->nents;
	struct fg_heap_slot *h;
	struct fg_heap_hdr hdr;

	h = calloc(n, sizeof(*h));
	if (!h)
		return NULL;
	hdr = (struct fg_heap_hdr){
		.generation = gen,
		.nrules = t->nrules,
		.default_action = t->cfg.default_action,
		.default_slot = t->cfg.default_slot,
		.wild_class = t->cfg.wild_class,
		.flags = t->cfg.flags,
		.port_base = FG_HEAP_PORT_BASE,
		.class_base = cls_base,
		.rule_base = cls_base + ncls,
		.ent_base = cls_base + ncls + nrule,
		.nclasses = t->nclasses,
		.nents = t->nents,
		.v4_src_root = FG_HEAP_V4_BASE,
		.v4_dst_root = FG_HEAP_V4_BASE + 4096,
	};
	*out = hdr; /* the program's fg_cfg; heap slot 0 stays unused */
	memcpy(&h[hdr.port_base], t->ports, FG_PORT_ENTRIES * sizeof(uint32_t));
	memcpy(&h[FG_HEAP_V4_BASE], t->v4, t->nv4 * sizeof(*h));
	memcpy(&h[hdr.class_base], t->classes, t->nclasses * sizeof(struct fg_class));
	memcpy(&h[hdr.rule_base], t->rules, t->nrules * sizeof(struct fg_rule));
	memcpy(&h[hdr.ent_base], t->ents, t->nents * sizeof(struct fg_ent));
	*nslots = n;
	return h;
}

/* Array maps take batch updates; fall back to single updates if not. */
static int array_fill(int fd, const void *vals, size_t vsize, size_t n)
{
	const size_t chunk = 65536;
	uint32_t *keys;
	size_t i, k;
	int err = 0;

	keys = malloc(chunk * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n && !err; i += chunk) {
		__u32 want = n - i < chunk ? n - i : chunk, cnt = want;

		for (k = 0; k < want; k++)
			keys[k] = i + k;
		/* On failure cnt says how many went in: write the rest one by
		 * one (all of them, not just that many). */
		if (bpf_map_update_batch(fd, keys, (const char *)vals + i * vsize, &cnt, NULL)) {
			for (k = cnt < want ? cnt : 0; k < want && !err; k++)
				if (bpf_map_update_elem(fd, &keys[k],
							(const char *)vals + (i + k) * vsize, 0))
					err = -errno;
		}
	}
	free(keys);
	return err;
}

/* The trie key of an IPv6 prefix of the src or dst field. */
static void lpm_key6(struct fg_lpm_key *k, const struct fg_lpm_ent *e, bool dst)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 8 + e->len;
	k->tag = dst ? FG_TAG_DST6 : FG_TAG_SRC6;
	memcpy(k->addr, e->addr, 16);
}

/* Only IPv6 prefixes live in the trie; IPv4 has its tables in the heap. */
static int lpm_fill(int fd, const struct fg_lpm_ent *v, size_t n, bool dst)
{
	struct fg_lpm_key k;
	size_t i;

	for (i = 0; i < n; i++) {
		if (v[i].family != 6)
			continue;
		lpm_key6(&k, &v[i], dst);
		if (bpf_map_update_elem(fd, &k, &v[i].cls, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Return once every program running now has finished (an RCU grace
 * period): the kernel waits so after any map-in-map update from user
 * space. */
int dp_sync(struct dp *dp)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.fg_sync), &zero, &dp->sync_fd,
				BPF_ANY))
		return -errno;
	return 0;
}

/* An epoch no install has used: above both slots' (flow cache validity). */
static uint32_t next_epoch(struct dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.fg_geninfo);
	struct fg_heap_hdr h;
	uint32_t s, e = 0;

	for (s = 0; s < FG_SLOTS; s++)
		if (!bpf_map_lookup_elem(fd, &s, &h) && h.epoch > e)
			e = h.epoch;
	return e + 1;
}

/* Point slot 0 of prog array map_fd at prog fd (or empty it: fd < 0). */
static int slot_set(int map_fd, int fd)
{
	uint32_t zero = 0;

	if (fd >= 0 ? bpf_map_update_elem(map_fd, &zero, &fd, BPF_ANY)
		    : bpf_map_delete_elem(map_fd, &zero) && errno != ENOENT)
		return -errno;
	return 0;
}

/* Make fds[] (a generation's xdp and tc program) the running one: slot 0
 * of the prog arrays, which the entry programs tail-call. tc first: a
 * packet never needs both to agree, and the xdp switch is the one that
 * changes verdicts. A negative fd empties the slot. If the xdp switch
 * fails, tc goes back to the running generation's program: all or
 * nothing. */
static int gen_publish(struct dp *dp, const int fds[2])
{
	int xdp = bpf_map__fd(dp->skel->maps.fg_gen_xdp);
	int tc = bpf_map__fd(dp->skel->maps.fg_gen_tc);
	int err;

	if ((err = slot_set(tc, fds[1])))
		return err;
	if ((err = slot_set(xdp, fds[0]))) {
		if (slot_set(tc, dp->gen[0][1]))
			pr_warn("egress keeps the refused generation's program: %s\n",
				strerror(errno));
		return err;
	}
	return 0;
}

static int active_set(struct dp *dp, uint32_t slot)
{
	struct fg_active act = { .slot = slot };
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.fg_active), &zero, &act, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * Go back to the previous generation (after an apply whose attach step
 * failed): its programs are still loaded, held by dp. The record of what
 * runs (fg_active) changes first, then the programs; on a failure both
 * stay as they were. The same grace period as an install follows.
 */
int dp_revert(struct dp *dp)
{
	uint32_t cur = active_slot(dp);
	int tmp[2], err;

	if (dp->gen[1][0] < 0)
		return -ENOENT;
	if ((err = active_set(dp, cur ^ 1)))
		return err;
	if ((err = gen_publish(dp, dp->gen[1]))) {
		active_set(dp, cur);
		return err;
	}
	memcpy(tmp, dp->gen[0], sizeof(tmp));
	memcpy(dp->gen[0], dp->gen[1], sizeof(tmp));
	memcpy(dp->gen[1], tmp, sizeof(tmp));
	return dp_sync(dp);
}

/* Load one generation: another instance of the object's generation
 * programs, sharing every state map of dp's load, with fg_cfg set to the
 * generation's header, fg_hcfg to its set hashes, and fg_heap/fg_lpm
 * sized to its tables. */
static struct flowgate *gen_load(struct dp *dp, const struct fg_heap_hdr *hdr,
				 const struct fg_set_hashes *hashes, const struct fg_v6_trees *v6t,
				 size_t nheap, size_t nlpm, int *err)
{
	struct flowgate *g = flowgate__open();
	struct bpf_map *m;

	if (!g) {
		*err = -errno;
		return NULL;
	}
	bpf_program__set_autoload(g->progs.fg_xdp_ingress, false);
	bpf_program__set_autoload(g->progs.fg_tc_egress, false);
	memcpy((void *)&g->rodata->fg_cfg, hdr, sizeof(*hdr));
	memcpy((void *)&g->rodata->fg_hcfg, hashes, sizeof(*hashes));
	memcpy((void *)&g->rodata->fg_v6cfg, v6t, sizeof(*v6t));
	/* the record's sequence count needs stores kept in program order */
#if defined(__x86_64__)
	g->rodata->fg_hold_counts = 1;
#endif
	if ((*err = bpf_map__set_max_entries(g->maps.fg_heap, nheap)) ||
	    (*err = bpf_map__set_max_entries(g->maps.fg_lpm, nlpm ? nlpm : 1)))
		goto fail;
	bpf_object__for_each_map(m, g->obj) {
		const char *name = bpf_map__name(m);
		struct bpf_map *mine;

		if (!is_state_map(name))
			continue;
		mine = bpf_object__find_map_by_name(dp->skel->obj, name);
		if (!mine || (*err = bpf_map__reuse_fd(m, bpf_map__fd(mine))))
			goto fail;
	}
	if ((*err = flowgate__load(g))) {
		pr_err("cannot load the generation's programs: %s (run with -v for the verifier log)\n",
		       strerror(-*err));
		goto fail;
	}
	return g;
fail:
	flowgate__destroy(g);
	return NULL;
}

/*
 * Install a generation.
 *
 * The generation's programs are loaded with their own tables (gen_load),
 * the tables filled, and then slot 0 of the prog arrays pointed at them:
 * from that update on, every packet runs the new generation from start to
 * end; a packet already running the old one finishes with the old one's
 * tables, which live as long as its program. The previous generation
 * moves to slot 1 (dp_revert). The grace period after the switch
 * (dp_sync) means that when dp_install returns no packet runs the old
 * generation any more.
 */
int dp_install(struct dp *dp, const struct fg_tables *t, uint64_t generation)
{
	uint32_t cur = active_slot(dp), next = cur ^ 1;
	int info = bpf_map__fd(dp->skel->maps.fg_geninfo);
	struct fg_heap_hdr hdr, old = { 0 };
	struct fg_heap_slot *heap = NULL;
	size_t nheap = 0, nlpm = 0, i;
	struct flowgate *g = NULL;
	int fds[2] = { -1, -1 }, err;
	bool recorded = false;

	/* IPv6 prefixes go into the trie only when the generation has no
	 * digit trees (abi.h) */
	for (i = 0; i < t->nsrc && !t->v6t.on; i++)
		nlpm += t->src[i].family == 6;
	for (i = 0; i < t->ndst && !t->v6t.on; i++)
		nlpm += t->dst[i].family == 6;
	heap = heap_build(t, generation, &nheap, &hdr);
	if (!heap)
		return -ENOMEM;
	hdr.epoch = next_epoch(dp);
	g = gen_load(dp, &hdr, &t->hashes, &t->v6t, nheap, nlpm, &err);
	if (!g)
		goto out;
	if ((nlpm && (err = lpm_fill(bpf_map__fd(g->maps.fg_lpm), t->src, t->nsrc, false))) ||
	    (nlpm && (err = lpm_fill(bpf_map__fd(g->maps.fg_lpm), t->dst, t->ndst, true))) ||
	    (err = array_fill(bpf_map__fd(g->maps.fg_heap), heap, sizeof(*heap), nheap))) {
		pr_err("cannot fill the rule tables (%zu x 64 bytes, %zu prefixes): %s\n",
		       nheap, nlpm, strerror(-err));
		goto out;
	}
	fds[0] = dup(bpf_program__fd(g->progs.fg_xdp_gen));
	fds[1] = dup(bpf_program__fd(g->progs.fg_tc_gen));
	if (fds[0] < 0 || fds[1] < 0) {
		err = -errno;
		goto out;
	}
	/* The record of what runs (fg_geninfo, fg_active; read by user space
	 * only) first, then the switch: should the daemon die in between,
	 * the next start sees a generation it has no state for and installs
	 * anew, instead of keeping tables it believes run but do not. */
	bpf_map_lookup_elem(info, &next, &old);
	if (bpf_map_update_elem(info, &next, &hdr, BPF_ANY)) {
		err = -errno;
		goto out;
	}
	recorded = true;
	if ((err = active_set(dp, next)) || (err = gen_publish(dp, fds))) {
		pr_err("cannot switch to the new generation: %s\n", strerror(-err));
		goto out;
	}
	/* the running generation becomes the previous one */
	gen_close(dp->gen[1]);
	memcpy(dp->gen[1], dp->gen[0], sizeof(fds));
	memcpy(dp->gen[0], fds, sizeof(fds));
	fds[0] = fds[1] = -1;
	recorded = false;
	err = dp_sync(dp);
out:
	if (recorded) { /* nothing switched: the record goes back too */
		active_set(dp, cur);
		bpf_map_update_elem(info, &next, &old, BPF_ANY);
	}
	gen_close(fds);
	/* dp holds the programs, the programs their maps */
	flowgate__destroy(g);
	free(heap);
	return err;
}

/* ---- attachment ---- */

static int pin_link(struct dp *dp, int link_fd, const char *kind, const char *ifname)
{
	char path[PATH_MAX];
	int err = link_pin_path(dp, kind, ifname, path, sizeof(path));

	if (err == -ENOENT)
		return 0; /* not pinning: the link lives with the fd */
	if (err)
		return err;
	unlink(path);
	if (bpf_obj_pin(link_fd, path))
		return -errno;
	return 0;
}

/*
 * Replace the program behind an existing pinned link; -ENOENT if none. A
 * link pinned by another ABI version is taken over: same link, new
 * program, pin moved to this version's folder. No gap either way.
 */
static int relink(struct dp *dp, const char *kind, const char *ifname, int prog_fd)
{
	char path[PATH_MAX], old[PATH_MAX + 80];
	int fd, err;

	if (link_pin_path(dp, kind, ifname, path, sizeof(path)))
		return -ENOENT;
	fd = bpf_obj_get(path);
	old[0] = 0;
	if (fd < 0 && dp->old_dir[0]) {
		snprintf(old, sizeof(old), "%s/links/%s-%s", dp->old_dir, kind, ifname);
		fd = bpf_obj_get(old);
	}
	if (fd < 0)
		return -ENOENT;
	err = bpf_link_update(fd, prog_fd, NULL) ? -errno : 0;
	if (err == -ENOLINK) {
		/* the interface went away (and maybe came back) while the pin
		 * stayed: the link is dead, so forget it and attach afresh */
		pr_warn("the pinned %s link of %s was severed (interface re-created?); attaching anew\n",
			kind, ifname);
		close(fd);
		unlink(old[0] ? old : path);
		return -ENOENT;
	}
	if (!err && old[0]) {
		if (bpf_obj_pin(fd, path))
			err = -errno;
		else
			unlink(old);
	}
	close(fd);
	return err;
}

static int xdp_link(int prog_fd, int ifindex, __u32 flags)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags);

	return bpf_link_create(prog_fd, ifindex, BPF_XDP, &opts);
}

static int xdp_native_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return -1;
	return q.attach_mode == XDP_ATTACHED_DRV || q.attach_mode == XDP_ATTACHED_HW;
}

int dp_attach(struct dp *dp, const char *ifname, enum dp_mode mode,
	      bool *native_out, char *why, size_t whylen)
{
	int ifindex = if_nametoindex(ifname), xfd = -1, tfd = -1, err;
	int xprog = dp_prog_fd(dp, true), tprog = dp_prog_fd(dp, false);

	if (why && whylen)
		why[0] = 0;
	if (!ifindex) {
		snprintf(why, whylen, "no interface named %s", ifname);
		return -ENODEV;
	}
	/* Hitless path: an earlier daemon left links; swap their programs. */
	err = relink(dp, "xdp", ifname, xprog);
	if (!err) {
		err = relink(dp, "tc", ifname, tprog);
		if (err == -ENOENT)
			goto tc;
		if (err) {
			snprintf(why, whylen, "cannot replace the TC program on %s: %s",
				 ifname, strerror(-err));
			return err;
		}
		*native_out = xdp_native_mode(ifindex) == 1;
		return 0;
	}
	if (err != -ENOENT) {
		snprintf(why, whylen, "cannot replace the XDP program on %s: %s", ifname,
			 strerror(-err));
		return err;
	}
	if (mode != DP_MODE_GENERIC) {
		xfd = xdp_link(xprog, ifindex, XDP_FLAGS_DRV_MODE);
		if (xfd < 0 && mode == DP_MODE_NATIVE) {
			err = xfd;
			snprintf(why, whylen,
				 "cannot attach XDP to %s in native mode: %s; try mode: generic",
				 ifname, strerror(-err));
			return err;
		}
		if (xfd < 0)
			snprintf(why, whylen,
				 "native XDP unavailable on %s (%s); using generic mode",
				 ifname, strerror(-xfd));
	}
	*native_out = xfd >= 0;
	if (xfd < 0) {
		xfd = xdp_link(xprog, ifindex, XDP_FLAGS_SKB_MODE);
		if (xfd < 0) {
			err = xfd;
			snprintf(why, whylen, "cannot attach XDP to %s: %s", ifname,
				 strerror(-err));
			return err;
		}
	}
	if ((err = pin_link(dp, xfd, "xdp", ifname))) {
		snprintf(why, whylen, "cannot pin the XDP link of %s: %s", ifname,
			 strerror(-err));
		goto fail;
	}
tc:
	tfd = bpf_link_create(tprog, ifindex, FG_BPF_TCX_EGRESS, NULL);
	if (tfd < 0) {
		err = tfd;
		snprintf(why, whylen, "cannot attach TC egress to %s: %s", ifname,
			 strerror(-err));
		goto fail;
	}
	if ((err = pin_link(dp, tfd, "tc", ifname))) {
		snprintf(why, whylen, "cannot pin the TC link of %s: %s", ifname,
			 strerror(-err));
		goto fail;
	}
	/* Without pins the links die with their fds: keep them open. */
	if (dp->dir[0]) {
		close(xfd);
		close(tfd);
	}
	return 0;
fail:
	/* Leave nothing half-attached. */
	if (tfd >= 0)
		close(tfd);
	if (xfd >= 0)
		close(xfd);
	dp_detach(dp, ifname);
	return err;
}

static int unpin_link(struct dp *dp, const char *kind, const char *ifname)
{
	char path[PATH_MAX];
	int fd;

	if (dp->old_dir[0]) { /* a link still under another version's pins */
		char old[PATH_MAX + 80];

		snprintf(old, sizeof(old), "%s/links/%s-%s", dp->old_dir, kind, ifname);
		fd = bpf_obj_get(old);
		if (fd >= 0) {
			bpf_link_detach(fd);
			close(fd);
			unlink(old);
		}
	}
	if (link_pin_path(dp, kind, ifname, path, sizeof(path)))
		return 0;
	fd = bpf_obj_get(path);
	if (fd >= 0) {
		bpf_link_detach(fd);
		close(fd);
	}
	if (unlink(path) && errno != ENOENT)
		return -errno;
	return 0;
}

int dp_detach(struct dp *dp, const char *ifname)
{
	int e1 = unpin_link(dp, "xdp", ifname);
	int e2 = unpin_link(dp, "tc", ifname);

	return e1 ? e1 : e2;
}

int dp_attached(struct dp *dp, char ***names, size_t *n)
{
	char path[PATH_MAX + 8];
	struct dirent *de;
	char **v = NULL;
	size_t k = 0;
	DIR *d;

	const char *dirs[2] = { dp->dir, dp->old_dir };
	int i;

	*names = NULL;
	*n = 0;
	for (i = 0; i < 2; i++) {
		if (!dirs[i][0])
			continue;
		snprintf(path, sizeof(path), "%s/links", dirs[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			char **nv;
			size_t j;

			if (strncmp(de->d_name, "xdp-", 4))
				continue;
			for (j = 0; j < k && strcmp(v[j], de->d_name + 4); j++)
				;
			if (j < k)
				continue; /* in both folders */
			nv = realloc(v, (k + 1) * sizeof(*v));
			if (!nv)
				break;
			v = nv;
			v[k++] = strdup(de->d_name + 4);
		}
		closedir(d);
	}
	*names = v;
	*n = k;
	return 0;
}

/* Remove what is left of another version's pins: links of interfaces the
 * policy no longer names (so they detach), and its maps. */
int dp_retire_old(struct dp *dp, const uint64_t *keep)
{
	char path[PATH_MAX + 300];
	struct dirent *de;
	DIR *d;

	if (!dp->old_dir[0])
		return 0;
	/* the old programs are detached everywhere we took over; wait for
	 * any still running, then fold their last state in */
	dp_sync(dp);
	migrate_state(dp, true, keep);
	snprintf(path, sizeof(path), "%s/links", dp->old_dir);
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/links/%s", dp->old_dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "%s/links", dp->old_dir);
	rmdir(path);
	if ((d = opendir(dp->old_dir))) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dp->old_dir, de->d_name);
			unlink(path);
		}
		closedir(d);
	}
	if (rmdir(dp->old_dir) && errno != ENOENT)
		return -errno;
	pr_info("retired the pins in %s\n", dp->old_dir);
	dp->old_dir[0] = 0;
	return 0;
}

int dp_detach_all(struct dp *dp)
{
	struct bpf_map *map;
	char **names;
	size_t n, i;
	char path[PATH_MAX + 8];
	int err;

	if ((err = dp_attached(dp, &names, &n)))
		return err;
	for (i = 0; i < n; i++) {
		dp_detach(dp, names[i]);
		free(names[i]);
	}
	free(names);
	if (!dp->dir[0])
		return 0;
	bpf_object__for_each_map(map, dp->skel->obj) {
		if (bpf_map__is_pinned(map))
			bpf_map__unpin(map, NULL);
	}
	snprintf(path, sizeof(path), "%s/links", dp->dir);
	rmdir(path);
	rmdir(dp->dir);
	return 0;
}

/* ---- counters, bans ---- */

/*
 * CPU cpu's record (*rec) and, with c, its counter c of fg_rule_stats
 * (*cv), read as abi.h (struct fg_pend) says: retried while the CPU moves
 * its record into the counters, so the two are of one instant and a sum
 * of them never goes backwards from one read to the next. -EAGAIN when
 * no read was consistent: a move takes a few instructions of a program
 * that runs to its end, so the bound only keeps a bug from hanging the
 * reader, which then reports no figure rather than a wrong one.
 */
static int pend_snap(const struct dp *dp, int cpu, const volatile struct fg_counter *c,
		     uint64_t *rec, struct fg_counter *cv)
{
	const volatile struct fg_pend *pd = &dp->pend[cpu];
	uint32_t s1, s2, tries;

	for (tries = 0; tries < (1u << 24); tries++) {
		s1 = __atomic_load_n(&pd->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		*rec = __atomic_load_n(&pd->rec, __ATOMIC_ACQUIRE);
		if (c) {
			cv->packets = __atomic_load_n(&c->packets, __ATOMIC_ACQUIRE);
			cv->bytes = __atomic_load_n(&c->bytes, __ATOMIC_ACQUIRE);
		}
		s2 = __atomic_load_n(&pd->seq, __ATOMIC_ACQUIRE);
		if (s1 == s2)
			return 0;
	}
	return -EAGAIN;
}

int dp_counter(struct dp *dp, int map_fd, uint32_t key, struct fg_counter *out)
{
	struct dp_ctr *ctr = ctr_of(dp, map_fd);
	int i;

	memset(out, 0, sizeof(*out));
	if (!ctr)
		return -EINVAL;
	if (key >= ctr->n)
		return -ENOENT;
	for (i = 0; i < dp->ncpus; i++) {
		volatile struct fg_counter *c = &ctr->mem[i * ctr->n + key];

		if (ctr == &dp->ctr[0] && dp->pend) {
			struct fg_counter cv;
			uint64_t rec;

			if (pend_snap(dp, i, c, &rec, &cv))
				return -EAGAIN;
			out->packets += cv.packets;
			out->bytes += cv.bytes;
			if ((rec & FG_PEND_VALID) && (uint32_t)rec == key) {
				out->packets++;
				out->bytes += (rec >> 32) & FG_PEND_BYTES_MAX;
			}
			continue;
		}
		out->packets += c->packets;
		out->bytes += c->bytes;
	}
	return 0;
}

/* The slots that remembered fragments of an unexpired datagram count on
 * (fg_frag keeps a first fragment's slot FG_FRAG_TIMEOUT_NS, across
 * applies), appended to slots[*n] (room for FG_FRAG_MAX more). */
static void frag_slots(struct dp *dp, uint32_t *slots, size_t *n)
{
	int fd = bpf_map__fd(dp->skel->maps.fg_frag);
	struct fg_frag_key k, next;
	struct fg_frag_val v;
	struct timespec ts;
	void *prev = NULL;
	uint64_t now;
	size_t seen = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns's clock */
	now = (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
	while (seen++ < FG_FRAG_MAX && !bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		if (!bpf_map_lookup_elem(fd, &k, &v) && v.expires_ns > now)
			slots[(*n)++] = v.stat_slot;
	}
}

int dp_pending_slots(struct dp *dp, uint32_t **slots, size_t *nslots)
{
	size_t n = 0;
	int i;

	*nslots = 0;
	*slots = calloc(dp->ncpus + FG_FRAG_MAX, sizeof(**slots));
	if (!*slots)
		return -ENOMEM;
	for (i = 0; i < dp->ncpus && dp->pend; i++) {
		uint64_t rec;

		if (pend_snap(dp, i, NULL, &rec, NULL)) {
			free(*slots);
			*slots = NULL;
			return -EAGAIN;
		}
		if (rec & FG_PEND_VALID)
			(*slots)[n++] = (uint32_t)rec;
	}
	frag_slots(dp, *slots, &n);
	*nslots = n;
	return 0;
}

int dp_counter_reset(struct dp *dp, int map_fd, uint32_t key)
{
	struct dp_ctr *ctr = ctr_of(dp, map_fd);
	int i;

	if (!ctr)
		return -EINVAL;
	if (key >= ctr->n)
		return -ENOENT;
	for (i = 0; i < dp->ncpus; i++)
		memset(&ctr->mem[i * ctr->n + key], 0, sizeof(struct fg_counter));
	return 0;
}

static void ban_key(struct fg_lpm_key *k, const struct fg_cidr *c)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 8 + c->len;
	k->tag = c->family == 4 ? FG_TAG_SRC4 : FG_TAG_SRC6;
	memcpy(k->addr, c->addr, c->family == 4 ? 4 : 16);
}

static int runtime_get(struct dp *dp, struct fg_runtime *rt)
{
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(dp->skel->maps.fg_runtime), &zero, rt))
		return -errno;
	return 0;
}

static int runtime_set(struct dp *dp, const struct fg_runtime *rt)
{
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(dp->skel->maps.fg_runtime), &zero, rt, 0))
		return -errno;
	return 0;
}

/*
 * fg_runtime.nbans lets every packet skip the ban trie while it is empty.
 * It counts trie entries (expired ones included, until deleted); only the
 * daemon changes the trie, one operation at a time, so add/del keep it
 * exact, and a recount at start covers anything else.
 */
int dp_bans_recount(struct dp *dp)
{
	int fd = bpf_map__fd(dp->skel->maps.fg_ban);
	struct fg_lpm_key k, next;
	struct fg_runtime rt;
	void *prev = NULL;
	uint32_t n = 0;
	int err;

	if ((err = runtime_get(dp, &rt)))
		return err;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		n++;
		k = next;
		prev = &k;
	}
	rt.nbans = n;
	return runtime_set(dp, &rt);
}

static int bans_adjust(struct dp *dp, int delta)
{
	struct fg_runtime rt;
	int err;

	if ((err = runtime_get(dp, &rt)))
		return err;
	if (delta < 0 && rt.nbans == 0)
		return dp_bans_recount(dp);
	rt.nbans += delta;
	return runtime_set(dp, &rt);
}

int dp_ban_add(struct dp *dp, const struct fg_cidr *c, uint64_t expires_ns, uint32_t reason)
{
	struct fg_ban b = { .expires_ns = expires_ns, .reason = reason,
			    .prefixlen = c->len };
	int fd = bpf_map__fd(dp->skel->maps.fg_ban);
	struct fg_lpm_key k;

	/* The trie honours NOEXIST/EXIST on the exact prefix. */
	ban_key(&k, c);
	if (!bpf_map_update_elem(fd, &k, &b, BPF_NOEXIST))
		return bans_adjust(dp, 1);
	if (errno != EEXIST || bpf_map_update_elem(fd, &k, &b, BPF_EXIST))
		return -errno;
	return 0;
}

int dp_ban_del(struct dp *dp, const struct fg_cidr *c)
{
	struct fg_lpm_key k;

	ban_key(&k, c);
	if (bpf_map_delete_elem(bpf_map__fd(dp->skel->maps.fg_ban), &k))
		return -errno;
	return bans_adjust(dp, -1);
}
