// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Doctor checks (see doctor.h). Interface XDP support comes from the
 * kernel's "netdev" generic netlink family (xdp-features, Linux 6.3+),
 * which answers without attaching anything; the current attach mode from
 * an XDP query. Nothing here changes the system.
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <bpf/libbpf.h>

#include "doctor.h"

/* include/uapi/linux/netdev.h (absent from this system's headers) */
#define FG_NETDEV_CMD_DEV_GET 1
#define FG_NETDEV_A_DEV_IFINDEX 1
#define FG_NETDEV_A_DEV_XDP_FEATURES 3

static const char *const xdp_feature_names[] = {
    "basic", "redirect", "ndo_xmit", "xsk_zerocopy", "hw_offload", "rx_sg", "ndo_xmit_sg",
};

/* ---- generic netlink, just enough for one request ---- */

struct nlreq {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[128];
};

static void nla_put(struct nlmsghdr *n, int type, const void *data, int len)
{
	struct nlattr *a = (struct nlattr *)((char *)n + NLMSG_ALIGN(n->nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Send req; the answer's attributes go to resp. Returns their length. */
static int genl_call(int fd, struct nlreq *req, char *resp, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)resp;
	ssize_t n;

	if (send(fd, req, req->n.nlmsg_len, 0) < 0)
		return -errno;
	n = recv(fd, resp, len, 0);
	if (n < 0)
		return -errno;
	if (!NLMSG_OK(h, (size_t)n))
		return -EPROTO;
	if (h->nlmsg_type == NLMSG_ERROR) {
		struct nlmsgerr *e = NLMSG_DATA(h);

		return e->error ? e->error : -EPROTO;
	}
	return (int)h->nlmsg_len;
}

/* Find attribute `type` in the genl message at buf. */
static struct nlattr *genl_attr(char *buf, int len, int type)
{
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	char *p = (char *)NLMSG_DATA(h) + GENL_HDRLEN;
	char *end = buf + len;

	while (p + NLA_HDRLEN <= end) {
		struct nlattr *a = (struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static void genl_req(struct nlreq *r, uint16_t family, uint8_t cmd)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->n.nlmsg_type = family;
	r->n.nlmsg_flags = NLM_F_REQUEST;
	r->g.cmd = cmd;
	r->g.version = 1;
}

static int genl_family(int fd, const char *name)
{
	char resp[4096];
	struct nlreq r;
	struct nlattr *a;
	int n;

	genl_req(&r, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	nla_put(&r.n, CTRL_ATTR_FAMILY_NAME, name, strlen(name) + 1);
	n = genl_call(fd, &r, resp, sizeof(resp));
	if (n < 0)
		return n;
	a = genl_attr(resp, n, CTRL_ATTR_FAMILY_ID);
	if (!a)
		return -ENOENT;
	return *(uint16_t *)((char *)a + NLA_HDRLEN);
}

static int nl_socket(void)
{
	struct timeval tv = {.tv_sec = 1};
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

int doctor_xdp_features(int ifindex, uint64_t *features)
{
	char resp[4096];
	struct nlattr *a;
	struct nlreq r;
	int fd, fam, n;
	uint32_t idx = ifindex;

	fd = nl_socket();
	if (fd < 0)
		return fd;
	fam = genl_family(fd, "netdev");
	if (fam < 0) {
		close(fd);
		return fam == -ENOENT || fam == -EINVAL ? -ENOENT : fam;
	}
	genl_req(&r, fam, FG_NETDEV_CMD_DEV_GET);
	nla_put(&r.n, FG_NETDEV_A_DEV_IFINDEX, &idx, sizeof(idx));
	n = genl_call(fd, &r, resp, sizeof(resp));
	close(fd);
	if (n < 0)
		return n;
	a = genl_attr(resp, n, FG_NETDEV_A_DEV_XDP_FEATURES);
	if (!a)
		return -ENOENT;
	memcpy(features, (char *)a + NLA_HDRLEN, sizeof(*features));
	return 0;
}

/* ---- checks ---- */

static void add_check(json_t *checks, const char *name, bool ok, const char *detail,
		      const char *hint)
{
	json_t *c = json_pack("{s:s,s:b,s:s}", "name", name, "ok", ok, "detail", detail);

	if (c && hint && !ok)
		json_object_set_new(c, "hint", json_string(hint));
	json_array_append_new(checks, c);
}

static bool check_kernel(json_t *doc, json_t *checks)
{
	struct utsname u;
	int maj = 0, min = 0;
	char detail[160];
	bool ok;

	if (uname(&u)) {
		add_check(checks, "kernel", false, strerror(errno), NULL);
		return false;
	}
	sscanf(u.release, "%d.%d", &maj, &min);
	ok = maj > 6 || (maj == 6 && min >= 6);
	snprintf(detail, sizeof(detail), "Linux %s%s", u.release,
		 ok ? "" : ": flowgate attaches its egress program with tcx (Linux 6.6)");
	add_check(checks, "kernel", ok, detail, "use Linux 6.6 or newer");
	json_object_set_new(doc, "kernel", json_string(u.release));
	return ok;
}

static bool check_btf(json_t *checks)
{
	bool ok = !access("/sys/kernel/btf/vmlinux", R_OK);

	add_check(checks, "btf", ok,
		  ok ? "/sys/kernel/btf/vmlinux present" : "/sys/kernel/btf/vmlinux missing",
		  "use a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	return ok;
}

/* The pin root, or the closest folder above it that exists, on bpffs? */
static bool check_bpffs(json_t *checks, const char *root)
{
	char path[4096], detail[4200], *slash;
	struct statfs st;
	bool ok = false;

	snprintf(path, sizeof(path), "%s", root);
	while (statfs(path, &st) && (slash = strrchr(path, '/')) && slash != path)
		*slash = 0;
	ok = !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
	if (!ok && !statfs("/sys/fs/bpf", &st) && st.f_type == BPF_FS_MAGIC) {
		snprintf(detail, sizeof(detail),
			 "%s is not on a bpffs yet; flowgated mounts one there at start", root);
		ok = true;
	} else {
		snprintf(detail, sizeof(detail), "%s %s on a bpf file system", path,
			 ok ? "is" : "is not");
	}
	add_check(checks, "bpffs", ok, detail,
		  "mount -t bpf bpf /sys/fs/bpf (flowgated mounts its pin root itself)");
	return ok;
}

static bool has_cap(cap_value_t v)
{
	cap_flag_value_t on = CAP_CLEAR;
	cap_t caps = cap_get_proc();
	bool ok = caps && !cap_get_flag(caps, v, CAP_EFFECTIVE, &on) && on == CAP_SET;

	cap_free(caps);
	return ok;
}

static bool check_caps(json_t *checks)
{
	bool bpf = has_cap(CAP_BPF) || has_cap(CAP_SYS_ADMIN), net = has_cap(CAP_NET_ADMIN);

	add_check(checks, "privileges", bpf && net,
		  bpf && net ? "CAP_BPF and CAP_NET_ADMIN held"
			     : "this process lacks CAP_BPF or CAP_NET_ADMIN; BPF probes skipped",
		  "run as root (flowgated keeps CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN; at start it may "
		  "also need CAP_SYS_ADMIN to mount bpffs and CAP_CHOWN for the API socket)");
	return bpf && net;
}

static bool probe(json_t *checks, const char *name, int r)
{
	add_check(checks, name, r == 1,
		  r == 1   ? "supported"
		  : r == 0 ? "not supported by this kernel"
			   : strerror(-r),
		  "a kernel with this BPF feature is needed");
	return r == 1;
}

static bool check_probes(json_t *checks)
{
	bool ok = true;

	ok &= probe(checks, "xdp programs", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_XDP, NULL));
	ok &=
	    probe(checks, "tc programs", libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_SCHED_CLS, NULL));
	ok &=
	    probe(checks, "lpm_trie maps", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LPM_TRIE, NULL));
	ok &= probe(checks, "array_of_maps maps",
		    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_ARRAY_OF_MAPS, NULL));
	ok &= probe(checks, "prog_array maps",
		    libbpf_probe_bpf_map_type(BPF_MAP_TYPE_PROG_ARRAY, NULL));
	ok &=
	    probe(checks, "lru_hash maps", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_LRU_HASH, NULL));
	ok &= probe(checks, "ring buffers", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL));
	return ok;
}

/* ---- interfaces ---- */

static void driver_name(const char *ifname, char *buf, size_t len)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(buf, len, "unknown");
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&di;
	if (!ioctl(fd, SIOCETHTOOL, &ifr))
		snprintf(buf, len, "%s", di.driver);
	close(fd);
}

static const char *attached_mode(int ifindex)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(ifindex, 0, &q))
		return "unknown";
	switch (q.attach_mode) {
	case XDP_ATTACHED_DRV:
		return "native";
	case XDP_ATTACHED_SKB:
		return "generic";
	case XDP_ATTACHED_HW:
		return "offload";
	case XDP_ATTACHED_MULTI:
		return "multi";
	default:
		return "none";
	}
}

static json_t *features_json(uint64_t f)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < sizeof(xdp_feature_names) / sizeof(xdp_feature_names[0]); i++)
		if (f & (1ULL << i))
			json_array_append_new(a, json_string(xdp_feature_names[i]));
	return a;
}

/* One interface: its record, and a check saying whether its mode works. */
static bool check_iface(json_t *ifs, json_t *checks, const char *name, int mode)
{
	char drv[64], detail[256], cname[64];
	unsigned idx = if_nametoindex(name);
	uint64_t f = 0;
	int rc;
	bool native, ok;

	snprintf(cname, sizeof(cname), "interface %s", name);
	if (!idx) {
		add_check(checks, cname, false, "no such interface in this network namespace",
			  "check the name, or run flowgated in the namespace that has it");
		return false;
	}
	driver_name(name, drv, sizeof(drv));
	rc = doctor_xdp_features(idx, &f);
	native = !rc && (f & 1);
	json_array_append_new(
	    ifs, json_pack("{s:s,s:i,s:s,s:o,s:o,s:s}", "name", name, "ifindex", idx, "driver", drv,
			   "xdp_native", rc ? json_null() : json_boolean(native), "xdp_features",
			   rc ? json_array() : features_json(f), "attached", attached_mode(idx)));
	ok = native || mode != FG_MODE_NATIVE;
	if (rc)
		snprintf(detail, sizeof(detail), "driver %s; native XDP support unknown (%s)", drv,
			 strerror(-rc));
	else
		snprintf(detail, sizeof(detail), "driver %s: %s%s", drv,
			 native ? "native XDP" : "no native XDP; generic (skb) mode will be used",
			 ok ? "" : ", but the policy asks for mode: native");
	add_check(checks, cname, ok, detail, "use mode: auto or generic for this interface");
	return ok;
}

static bool check_ifaces(json_t *doc, json_t *checks, const struct policy *p)
{
	json_t *ifs = json_array();
	struct if_nameindex *all, *i;
	bool ok = true;
	size_t k;

	if (p) {
		for (k = 0; k < p->nifaces; k++)
			ok &= check_iface(ifs, checks, p->ifaces[k].name, p->ifaces[k].mode);
	} else if ((all = if_nameindex())) {
		for (i = all; i->if_index; i++)
			if (strcmp(i->if_name, "lo"))
				check_iface(ifs, checks, i->if_name, FG_MODE_AUTO);
		if_freenameindex(all);
	}
	json_object_set_new(doc, "interfaces", ifs);
	return ok;
}

/* ---- policy sections ---- */

static void feature(json_t *fs, json_t *checks, const char *section, bool enforced,
		    const char *detail)
{
	char name[64];

	json_array_append_new(fs, json_pack("{s:s,s:b,s:s}", "section", section, "enforced",
					    enforced, "detail", detail));
	if (!enforced) {
		snprintf(name, sizeof(name), "policy %s", section);
		add_check(checks, name, false, detail,
			  "the section is validated and kept; a later flowgate enforces it");
	}
}

static void check_features(json_t *doc, json_t *checks, const struct policy *p)
{
	json_t *fs = json_array();
	bool state = false, rate = false;
	size_t i;

	for (i = 0; i < p->nrules; i++) {
		state |= p->rules[i].state_mask != 0;
		rate |= p->rules[i].rate_pps != 0;
	}
	feature(fs, checks, "rules", true, "XDP classifier, atomic generation swap");
	feature(fs, checks, "sets", true, "address trees and set hashes in the classifier");
	if (state)
		feature(fs, checks, "state", true, "connection tracking (XDP ingress, tcx egress)");
	if (rate)
		feature(fs, checks, "rate", true, "per-source token buckets");
	feature(fs, checks, "bans", true, "LPM trie with deadlines checked in the datapath");
	if (p->protect.present)
		feature(fs, checks, "protect", false, "parsed, not enforced yet");
	if (p->nservices)
		feature(fs, checks, "services", false, "parsed, not enforced yet");
	if (p->nshaping)
		feature(fs, checks, "shaping", false, "parsed, not enforced yet");
	json_object_set_new(doc, "features", fs);
}

json_t *doctor_report(const struct doctor_opts *o)
{
	json_t *doc = json_object(), *checks = json_array();
	bool ok = true;

	json_object_set_new(doc, "source", json_string(o->source ? o->source : "local"));
	ok &= check_kernel(doc, checks);
	ok &= check_btf(checks);
	ok &= check_bpffs(checks, o->pin_root ? o->pin_root : "/sys/fs/bpf/flowgate");
	if (check_caps(checks))
		ok &= check_probes(checks);
	else
		ok = false;
	ok &= check_ifaces(doc, checks, o->policy);
	if (o->policy)
		check_features(doc, checks, o->policy);
	json_object_set_new(doc, "ok", json_boolean(ok));
	json_object_set_new(doc, "checks", checks);
	return doc;
}
