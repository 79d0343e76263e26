// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate doctor: the daemon's GET /v1/doctor when it answers; otherwise
 * the checks this CLI can make by itself: kernel, BTF, bpffs, privileges,
 * and (as root) whether the program and map types flowgate needs load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "cli.h"

static void add_check(json_t *checks, const char *name, bool ok, const char *detail,
		      const char *hint)
{
	json_t *c = json_pack("{sssbss}", "name", name, "ok", ok, "detail", detail);

	if (c && hint && !ok)
		json_object_set_new(c, "hint", json_string(hint));
	json_array_append_new(checks, c);
}

static void check_kernel(json_t *checks)
{
	struct utsname u;

	if (uname(&u))
		add_check(checks, "kernel", false, strerror(errno), NULL);
	else
		add_check(checks, "kernel", true, u.release, NULL);
}

static void check_btf(json_t *checks)
{
	bool ok = !access("/sys/kernel/btf/vmlinux", R_OK);

	add_check(checks, "btf", ok,
		  ok ? "/sys/kernel/btf/vmlinux present" : "/sys/kernel/btf/vmlinux missing",
		  "use a kernel built with CONFIG_DEBUG_INFO_BTF=y");
}

static void check_bpffs(json_t *checks)
{
	struct statfs st;
	bool ok = !statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC;

	add_check(checks, "bpffs", ok,
		  ok ? "/sys/fs/bpf is a bpf filesystem" : "/sys/fs/bpf is not a bpf filesystem",
		  "mount -t bpf bpf /sys/fs/bpf (flowgated mounts its pin root itself)");
}

static bool has_cap(cap_t caps, cap_value_t v)
{
	cap_flag_value_t on = CAP_CLEAR;

	return caps && !cap_get_flag(caps, v, CAP_EFFECTIVE, &on) && on == CAP_SET;
}

/* flowgated needs CAP_BPF + CAP_NET_ADMIN (or CAP_SYS_ADMIN). */
static bool check_caps(json_t *checks)
{
	cap_t caps = cap_get_proc();
	bool bpf = has_cap(caps, CAP_BPF) || has_cap(caps, CAP_SYS_ADMIN);
	bool net = has_cap(caps, CAP_NET_ADMIN);

	cap_free(caps);
	add_check(checks, "privileges", bpf && net,
		  bpf && net ? "CAP_BPF and CAP_NET_ADMIN held"
			     : "this user lacks CAP_BPF or CAP_NET_ADMIN",
		  "run flowgated (and this check) as root, or grant CAP_BPF,CAP_NET_ADMIN");
	return bpf && net;
}

static void probe_prog(json_t *checks, const char *name, enum bpf_prog_type t)
{
	int r = libbpf_probe_bpf_prog_type(t, NULL);

	add_check(checks, name, r == 1,
		  r == 1   ? "loads"
		  : r == 0 ? "not supported"
			   : strerror(-r),
		  "a newer kernel, or one with BPF enabled, is needed");
}

static void probe_map(json_t *checks, const char *name, enum bpf_map_type t)
{
	int r = libbpf_probe_bpf_map_type(t, NULL);

	add_check(checks, name, r == 1,
		  r == 1   ? "can be created"
		  : r == 0 ? "not supported"
			   : strerror(-r),
		  "a newer kernel, or one with BPF enabled, is needed");
}

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	(void)l, (void)fmt, (void)ap;
	return 0;
}

json_t *cli_doctor_local(void)
{
	json_t *checks = json_array();
	json_t *doc = json_pack("{sssO}", "source", "local", "checks", checks);

	check_kernel(checks);
	check_btf(checks);
	check_bpffs(checks);
	if (check_caps(checks)) {
		libbpf_set_print(quiet);
		probe_prog(checks, "xdp programs", BPF_PROG_TYPE_XDP);
		probe_prog(checks, "tc programs", BPF_PROG_TYPE_SCHED_CLS);
		probe_map(checks, "lpm_trie maps", BPF_MAP_TYPE_LPM_TRIE);
		probe_map(checks, "percpu maps", BPF_MAP_TYPE_PERCPU_ARRAY);
		probe_map(checks, "ring buffers", BPF_MAP_TYPE_RINGBUF);
	}
	json_decref(checks);
	return doc;
}

/* Is this error "nobody is listening" (as opposed to a broken answer)? */
static bool no_daemon(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED || err == -ENOTSOCK || err == -ENOTDIR;
}

int cmd_doctor(struct cli *cli, const struct cli_args *a)
{
	struct client_resp r;
	json_t *doc = NULL;
	int err, rc = CLI_OK;

	(void)a;
	err = client_request(&cli->client, "GET", "/v1/doctor", NULL, 0, NULL, &r);
	if (err && !no_daemon(err))
		return cli_report_unreachable(cli, "doctor", err);
	if (err) {
		fprintf(stderr,
			"flowgate: doctor: flowgated is not running at %s; local checks only\n",
			cli->socket);
		doc = cli_doctor_local();
	} else if (cli_exit_for_status(r.status)) {
		rc = cli_report_http("doctor", &r, stderr);
	} else {
		doc = json_loadb(r.body ? r.body : "", r.len, JSON_DECODE_ANY, NULL);
		rc = doc ? CLI_OK : CLI_ESYS;
		if (!doc)
			fprintf(stderr, "flowgate: doctor: flowgated's answer is not JSON\n");
	}
	if (doc && cli->json)
		cli_print_json(stdout, doc);
	else if (doc)
		fmt_doctor(stdout, doc);
	json_decref(doc);
	client_resp_free(&r);
	return rc;
}
