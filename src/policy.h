/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The policy: the in-memory form of one policy YAML file (DESIGN.md §2),
 * fully validated. policy_load() parses and validates; everything after it
 * (compiler, daemon, reference model) may assume a struct policy is valid.
 */
#ifndef FG_POLICY_H
#define FG_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A CIDR: family 4 or 6, address in network byte order (v4 in addr[0..3],
 * rest zero), host bits already cleared. */
struct fg_cidr {
	uint8_t family;
	uint8_t len;
	uint8_t addr[16];
};

struct fg_port_range {
	uint16_t lo, hi;
};

/* Where a value came from, for error messages after parsing. */
struct fg_srcpos {
	int line, col; /* 1-based */
};

/* src/dst of a rule: any, or a list of CIDRs, or one named set. */
struct fg_addr_match {
	bool any;           /* field absent */
	int set;            /* index into policy.sets, or -1 */
	struct fg_cidr *cidrs;
	size_t ncidrs;
};

enum fg_proto_kind {
	FG_PROTO_ANY = 0,   /* field absent or "any" */
	FG_PROTO_NUM = 1,   /* proto holds the number (tcp=6, udp=17, ...) */
	FG_PROTO_TCPUDP = 2,/* ports given with no proto: TCP and UDP */
};

struct fg_rule_spec {
	char *name;
	struct fg_srcpos pos;
	int action;                 /* enum fg_action */
	struct fg_addr_match src, dst;
	int proto_kind;             /* enum fg_proto_kind */
	uint8_t proto;
	struct fg_port_range *sports; size_t nsports; /* 0 = any */
	struct fg_port_range *dports; size_t ndports; /* 0 = any */
	uint8_t tcp_set, tcp_clear; /* FG_TCP_* */
	uint8_t state_mask;         /* FG_CT_*; 0 = any */
	char **ifaces; size_t nifaces; /* 0 = any */
	uint32_t rate_pps;          /* 0 = no rate */
	uint32_t rate_burst;        /* packets; default = rate_pps */
};

struct fg_set_spec {
	char *name;
	struct fg_srcpos pos;
	char *file;              /* as written (NULL for inline) */
	char *file_resolved;     /* absolute path, NULL for inline */
	struct fg_cidr *cidrs;
	size_t ncidrs;
};

enum fg_iface_mode { FG_MODE_AUTO = 0, FG_MODE_NATIVE, FG_MODE_GENERIC };

struct fg_iface_spec {
	char *name;
	int mode; /* enum fg_iface_mode */
	struct fg_srcpos pos;
};

/* Sections validated now and enforced by later work. Kept as parsed. */
struct fg_protect_spec {
	bool present;
	bool per_source; uint32_t ps_pps; uint64_t ps_ban_ms;
	bool syn_flood; int syn_cookies; /* 0 off, 1 on, 2 auto */
	uint32_t syn_threshold_pps;
	bool port_scan; uint32_t scan_ports; uint64_t scan_window_ms;
	int scan_action; /* enum fg_action, or 4 = ban */
	uint64_t scan_ban_ms;
	bool auto_enabled;
};

struct fg_backend_spec {
	struct fg_cidr addr; /* len = 32 or 128 */
	uint16_t port;
	uint32_t weight;
};

struct fg_service_spec {
	char *name;
	struct fg_srcpos pos;
	struct fg_cidr vip;
	uint16_t port;
	uint8_t proto;
	int scheduler; /* 0 maglev, 1 round_robin, 2 least_conn */
	struct fg_backend_spec *backends; size_t nbackends;
	bool health; int health_type; /* 0 tcp, 1 http? */
	uint64_t health_interval_ms, health_timeout_ms;
	uint32_t health_rise, health_fall;
};

struct fg_shaping_spec {
	char *name;
	struct fg_srcpos pos;
	char *iface;
	uint8_t proto; bool has_proto;
	struct fg_port_range *dports; size_t ndports;
	struct fg_port_range *sports; size_t nsports;
	uint64_t rate_bps;   /* bits per second */
	uint64_t burst_bytes;
};

struct policy {
	char *path;        /* file the policy came from ("-" or API: "<api>") */
	int version;
	struct fg_iface_spec *ifaces; size_t nifaces;
	int default_action;           /* FG_ACT_ALLOW (default) or FG_ACT_DROP */
	struct fg_set_spec *sets; size_t nsets;
	struct fg_rule_spec *rules; size_t nrules;
	struct fg_protect_spec protect;
	struct fg_service_spec *services; size_t nservices;
	struct fg_shaping_spec *shaping; size_t nshaping;
	char *log_audit;   /* NULL when absent */
	char *log_pcap;
	char *metrics_listen;
	char *api_socket;
};

/* Options for loading: where set files may be read from. */
struct policy_opts {
	/* When non-NULL, set files must resolve (realpath) inside this folder;
	 * used for policies received over the API. NULL: any path (CLI/-c). */
	const char *confine_dir;
	/* Folder relative set-file paths are resolved against; NULL = the
	 * policy file's folder. */
	const char *base_dir;
	/* Do not read set files (check syntax only). */
	bool skip_set_files;
};

/*
 * Parse and validate a policy. `name` is used in error messages, `buf`/`len`
 * hold the YAML text. Every error is written to `err` as
 * "NAME:LINE:COL: message\n". Returns 0 and fills *out, or -EINVAL with the
 * number of errors in *nerrors (optional), or another -errno.
 */
int policy_parse(const char *name, const char *buf, size_t len,
		 const struct policy_opts *opts, struct policy *out,
		 FILE *err, int *nerrors);

/* Read FILE then policy_parse(). */
int policy_load(const char *path, const struct policy_opts *opts,
		struct policy *out, FILE *err, int *nerrors);

void policy_free(struct policy *p);

/* Names of sections parsed but not enforced by the datapath yet
 * ("protect", "services", "shaping"), NULL-terminated, only those present. */
size_t policy_unenforced(const struct policy *p, const char **names, size_t max);

/* Helpers shared with the CLI and the API. */
int parse_cidr(const char *s, struct fg_cidr *out); /* 0 or -EINVAL */
/* parse_cidr() that also says what is wrong, e.g. "10.0.0.1/8 has host bits
 * set; did you mean 10.0.0.0/8?" (msg may be NULL). */
int parse_cidr_msg(const char *s, struct fg_cidr *out, char *msg, size_t msglen);
int format_cidr(const struct fg_cidr *c, char *buf, size_t len);
int parse_duration_ms(const char *s, uint64_t *ms); /* "10m", "500ms", "60" (s) */
bool cidr_contains(const struct fg_cidr *net, int family, const uint8_t *addr);

#endif /* FG_POLICY_H */
