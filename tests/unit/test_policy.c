// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Policy parser tests: every class of error with its exact
 * "NAME:LINE:COL: message", the parsed form of a full policy, every example
 * and fuzz corpus file, set files (errors, confinement, a 1M-line file) and
 * the shared helpers. Run from the repository root (tests/run.sh does).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <flowgate/abi.h>
#include "policy.h"
#include "test.h"

FG_TEST_GLOBALS;

static char tmpdir[64];

/* Parse `yaml` as "policy.yaml"; *errs gets everything written to err. */
static int parse(const char *yaml, const struct policy_opts *opts, struct policy *p, char **errs,
		 int *nerr)
{
	size_t len = 0;
	FILE *f = open_memstream(errs, &len);
	int rc;

	rc = policy_parse("policy.yaml", yaml, strlen(yaml), opts, p, f, nerr);
	fclose(f);
	return rc;
}

/* The policy must fail and its error output must contain `want`. */
static void expect_error(const char *yaml, const char *want, const char *name)
{
	struct policy p;
	char *errs = NULL;
	int n = 0, rc;

	rc = parse(yaml, NULL, &p, &errs, &n);
	ASSERT_EQ(rc, -EINVAL, name);
	ASSERT_GE(n, 1, name);
	ASSERT_STRSTR(errs, want, name);
	ASSERT_EQ(p.nrules, 0, "freed on error");
	free(errs);
}

/* The policy must parse with no output at all. */
static bool expect_ok(const char *yaml, const struct policy_opts *opts, struct policy *p,
		      const char *name)
{
	char *errs = NULL;
	int n = -1, rc;
	bool ok;

	rc = parse(yaml, opts, p, &errs, &n);
	ok = ASSERT_OK(rc, name) & ASSERT_EQ(n, 0, name) & ASSERT_STREQ(errs, "", name);
	free(errs);
	return ok;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		FG_TEST_FAILF("cannot write %s", path);
		return;
	}
	fputs(text, f);
	fclose(f);
}

#define V1 "version: 1\n"

/* ---- error classes ------------------------------------------------------ */

static void test_unknown_key_top_level(void)
{
	expect_error(V1 "rulez: []\n",
		     "policy.yaml:2:1: unknown key \"rulez\" (did you mean \"rules\"?); expected "
		     "version, interfaces, default, sets, rules, protect, services, shaping, log, "
		     "metrics or api\n",
		     "top-level unknown key");
}

static void test_unknown_key_nested(void)
{
	expect_error(V1 "rules:\n"
			"  - name: a\n"
			"    action: drop\n"
			"    dprot: 22\n",
		     "policy.yaml:5:5: rules[0]: unknown key \"dprot\" (did you mean \"dport\"?)",
		     "rule unknown key");
	expect_error(
	    V1 "protect:\n  per_source: {pps: 10, bann: 1s}\n",
	    "policy.yaml:3:25: protect.per_source: unknown key \"bann\" (did you mean \"ban\"?)",
	    "protect unknown key");
	expect_error(V1 "sets:\n  a: {file: x, mode: y}\n",
		     "policy.yaml:3:16: sets.a: unknown key \"mode\"; expected file\n",
		     "set unknown key");
}

static void test_bad_action_value(void)
{
	expect_error(V1 "rules:\n"
			"  - name: a\n"
			"    action: allow\n"
			"  - name: b\n"
			"    action: allow\n"
			"  - action: deny\n"
			"    name: c\n",
		     "policy.yaml:7:13: rules[2].action: unknown value \"deny\"; expected allow, "
		     "drop or log\n",
		     "action deny");
	expect_error(V1 "default: deny\n",
		     "policy.yaml:2:10: default: unknown value \"deny\"; expected allow or drop\n",
		     "default deny");
}

static void test_bad_cidr(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, src: 10.0.0.300}\n",
		     "policy.yaml:3:34: rules[0].src: bad CIDR \"10.0.0.300\"; expected an IPv4 "
		     "or IPv6 address, optionally with /len\n",
		     "bad v4");
	expect_error(V1 "rules:\n  - {name: a, action: drop, dst: [10.0.0.0/8, \"fe80::/129\"]}\n",
		     "policy.yaml:3:47: rules[0].dst[1]: bad CIDR \"fe80::/129\": prefix length "
		     "above 128\n",
		     "bad v6 prefix");
	expect_error(V1 "sets:\n  a: [010.0.0.1]\n", "policy.yaml:3:7: sets.a[0]: bad CIDR",
		     "leading zero");
}

static void test_host_bits_set(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, src: 10.0.0.1/8}\n",
		     "policy.yaml:3:34: rules[0].src: 10.0.0.1/8 has host bits set; did you mean "
		     "10.0.0.0/8?\n",
		     "v4 host bits");
	expect_error(V1 "sets:\n  a: [\"2001:db8::1/32\"]\n",
		     "policy.yaml:3:7: sets.a[0]: 2001:db8::1/32 has host bits set; did you mean "
		     "2001:db8::/32?\n",
		     "v6 host bits");
}

static void test_port_range_upside_down(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, proto: tcp, dport: 200-100}\n",
		     "policy.yaml:3:48: rules[0].dport: port range upside down: \"200-100\"; did "
		     "you mean \"100-200\"?\n",
		     "upside down");
}

static void test_port_out_of_range(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, sport: [1, 65536]}\n",
		     "policy.yaml:3:40: rules[0].sport[1]: port 65536 out of range; expected "
		     "0-65535\n",
		     "port 65536");
	expect_error(V1 "rules:\n  - {name: a, action: drop, dport: 1-99999}\n",
		     "policy.yaml:3:36: rules[0].dport: port 99999 out of range", "range hi");
	expect_error(V1 "rules:\n  - {name: a, action: drop, dport: http}\n",
		     "policy.yaml:3:36: rules[0].dport: expected a port 0-65535, a range "
		     "\"lo-hi\" or a list of those, got \"http\"\n",
		     "port name");
}

static void test_duplicate_rule_name(void)
{
	expect_error(V1 "rules:\n"
			"  - name: ssh\n"
			"    action: allow\n"
			"  - name: web\n"
			"    action: allow\n"
			"  - name: ssh\n"
			"    action: drop\n",
		     "policy.yaml:7:11: rules[2].name: duplicate rule name \"ssh\" (first used by "
		     "rules[0] at line 3)\n",
		     "duplicate rule");
	expect_error(V1 "services:\n"
			"  - {name: w, vip: 10.0.0.1, port: 80, backends: [{address: 10.0.1.1}]}\n"
			"  - {name: w, vip: 10.0.0.2, port: 80, backends: [{address: 10.0.1.1}]}\n",
		     "policy.yaml:4:12: services[1].name: duplicate service name \"w\"",
		     "duplicate service");
}

static void test_duplicate_set_name(void)
{
	expect_error(V1 "sets:\n  a: [10.0.0.0/8]\n  b: []\n  a: [10.0.0.0/9]\n",
		     "policy.yaml:5:3: sets: duplicate set name \"a\" (first defined at line 3)\n",
		     "duplicate set");
}

static void test_undefined_set(void)
{
	expect_error(V1 "sets:\n  admins: [10.0.0.0/8]\n"
			"rules:\n  - {name: a, action: drop, src: \"@admin\"}\n",
		     "policy.yaml:5:34: rules[0].src: undefined set \"@admin\"; define it under "
		     "sets:\n",
		     "undefined set");
}

static void test_bad_proto(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, proto: sctp}\n",
		     "policy.yaml:3:36: rules[0].proto: unknown value \"sctp\"; expected tcp, "
		     "udp, icmp, icmpv6, any or a protocol number 0-255\n",
		     "proto sctp");
	expect_error(V1 "rules:\n  - {name: a, action: drop, proto: 256}\n",
		     "policy.yaml:3:36: rules[0].proto: protocol number 256 out of range; "
		     "expected 0-255\n",
		     "proto 256");
}

static void test_ports_need_tcp_or_udp(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: drop, proto: icmp, dport: 22}\n",
		     "policy.yaml:3:49: rules[0].dport: ports need proto tcp or udp, not "
		     "\"icmp\"\n",
		     "ports with icmp");
	expect_error(V1 "rules:\n  - {name: a, action: drop, proto: udp, tcp_flags: [syn]}\n",
		     "policy.yaml:3:52: rules[0].tcp_flags: needs proto tcp, not \"udp\"\n",
		     "flags with udp");
}

static void test_bad_duration(void)
{
	expect_error(V1 "protect:\n  per_source: {pps: 100, ban: 10 minutes}\n",
		     "policy.yaml:3:31: protect.per_source.ban: bad duration \"10 minutes\"; "
		     "expected a duration like 500ms, 30s, 10m or 1h (plain number = seconds)\n",
		     "bad duration");
	expect_error(V1 "protect:\n  port_scan: {window: 0s}\n",
		     "policy.yaml:3:23: protect.port_scan.window: duration must be above zero\n",
		     "zero duration");
}

static void test_bad_rate(void)
{
	expect_error(V1 "rules:\n  - {name: a, action: allow, rate: 1000}\n",
		     "policy.yaml:3:36: rules[0].rate: bad rate \"1000\"; expected packets per "
		     "second like \"1000/s\"\n",
		     "rate without /s");
	expect_error(V1 "shaping:\n  - {name: s, interface: eth0, rate: 10mbps}\n",
		     "policy.yaml:3:38: shaping[0].rate: bad rate \"10mbps\"", "shaping rate");
	expect_error(V1 "rules:\n  - {name: a, action: allow, burst: 5}\n",
		     "policy.yaml:3:37: rules[0].burst: burst needs a rate\n", "burst alone");
}

static void test_multiple_errors_all_reported(void)
{
	const char *yaml = V1 "default: maybe\n"
			      "rules:\n"
			      "  - name: a\n"
			      "    action: deny\n"
			      "    src: 10.0.0.1/8\n"
			      "    colour: red\n"
			      "  - name: a\n"
			      "    action: drop\n"
			      "    dport: 9-1\n"
			      "bogus: 1\n";
	const char *want =
	    "policy.yaml:2:10: default: unknown value \"maybe\"; expected allow or drop\n"
	    "policy.yaml:5:13: rules[0].action: unknown value \"deny\"; expected allow, drop "
	    "or log\n"
	    "policy.yaml:6:10: rules[0].src: 10.0.0.1/8 has host bits set; did you mean "
	    "10.0.0.0/8?\n"
	    "policy.yaml:7:5: rules[0]: unknown key \"colour\"; expected name, action, src, "
	    "dst, proto, sport, dport, tcp_flags, state, iface, rate or burst\n"
	    "policy.yaml:8:11: rules[1].name: duplicate rule name \"a\" (first used by "
	    "rules[0] at line 4)\n"
	    "policy.yaml:10:12: rules[1].dport: port range upside down: \"9-1\"; did you "
	    "mean \"1-9\"?\n"
	    "policy.yaml:11:1: unknown key \"bogus\"; expected version, interfaces, default, "
	    "sets, rules, protect, services, shaping, log, metrics or api\n";
	struct policy p;
	char *errs = NULL;
	int n = 0;

	ASSERT_EQ(parse(yaml, NULL, &p, &errs, &n), -EINVAL, "rc");
	ASSERT_EQ(n, 7, "all seven counted");
	ASSERT_STREQ(errs, want, "all seven reported, in file order");
	free(errs);
}

static void test_yaml_syntax_error(void)
{
	expect_error(V1 "rules:\n  - name: a\n   action: drop\n",
		     "policy.yaml:4:4: YAML syntax error: did not find expected '-' indicator",
		     "bad indent");
	expect_error(V1 "rules: [\n", "policy.yaml:3:1: YAML syntax error:", "unclosed flow");
	expect_error(V1 "---\nversion: 1\n",
		     "policy.yaml:2:1: a policy file holds one YAML document", "two documents");
	expect_error("version: 1\nrules: *nope\n",
		     "policy.yaml:2:8: alias \"nope\" refers to no anchor defined before it",
		     "unknown alias");
	expect_error("- 1\n", "policy.yaml:1:1: expected a mapping of policy sections",
		     "list at top");
}

static void test_version_missing_or_wrong(void)
{
	expect_error("rules: []\n",
		     "policy.yaml:1:1: version: missing; the file must start with \"version: 1\"\n",
		     "missing");
	expect_error("version: 2\n",
		     "policy.yaml:1:10: version: unsupported version \"2\"; expected 1\n", "2");
	expect_error("", "policy.yaml:1:1: empty policy", "empty file");
}

static void test_misc_errors(void)
{
	expect_error(V1 "interfaces: [eth0, {name: eth1, mode: turbo}]\n",
		     "policy.yaml:2:39: interfaces[1].mode: unknown value \"turbo\"; expected "
		     "auto, native or generic\n",
		     "iface mode");
	expect_error(V1 "interfaces: [eth0, eth0]\n",
		     "policy.yaml:2:20: interfaces[1]: duplicate interface name \"eth0\"",
		     "dup iface");
	expect_error(V1 "rules:\n  - {name: a, action: drop, state: [new, sleepy]}\n",
		     "policy.yaml:3:42: rules[0].state[1]: unknown value \"sleepy\"; expected "
		     "established, new, related or invalid\n",
		     "state");
	expect_error(V1 "rules:\n  - {name: a, action: drop, tcp_flags: [syn, \"!syn\"]}\n",
		     "policy.yaml:3:46: rules[0].tcp_flags[1]: syn is required both set and "
		     "clear\n",
		     "flag both ways");
	expect_error(V1 "rules:\n  - {action: drop}\n",
		     "policy.yaml:3:5: rules[0]: missing key \"name\"", "name required");
	expect_error(V1 "rules:\n  - {name: a, action: drop, src: [\"@a\"]}\nsets: {a: []}\n",
		     "rules[0].src[0]: a set reference must stand alone", "set in list");
	expect_error(V1 "services:\n  - {name: w, vip: 10.0.0.1, port: 80, backends: "
			"[{address: \"::1\"}]}\n",
		     "services[0].backends[0].address: backend is IPv6 but the vip is IPv4",
		     "backend family");
	expect_error(V1 "metrics: {listen: 9464}\n",
		     "policy.yaml:2:19: metrics.listen: bad address \"9464\"", "listen");
	expect_error(V1 "shaping:\n  - {name: s, interface: eth0, rate: 1mbit, burst: 1t}\n",
		     "policy.yaml:3:52: shaping[0].burst: bad size \"1t\"", "burst size");
	expect_error(V1 "log: {audit: \"a\\0b\"}\n",
		     "policy.yaml:2:14: log.audit: value contains a NUL byte", "NUL byte");
}

static void test_too_many_sets(void)
{
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	fprintf(f, V1 "sets:\n");
	for (int i = 0; i <= FG_MAX_SETS; i++)
		fprintf(f, "  s%d: [10.%d.0.0/16]\n", i, i);
	fprintf(f, "rules:\n");
	for (int i = 0; i <= FG_MAX_SETS; i++)
		fprintf(f, "  - {name: r%d, action: drop, src: \"@s%d\"}\n", i, i);
	fclose(f);
	/* 65 sets on lines 3-67, "rules:" on 68: rules[64] is on line 133. */
	expect_error(yaml,
		     "policy.yaml:133:36: rules[64].src: rules reference more than 64 distinct "
		     "sets\n",
		     "65 sets");
	free(yaml);
}

/* ---- the parsed form --------------------------------------------------------- */

static const char full_yaml[] =
    V1 "interfaces:\n"
       "  - name: eth0\n"
       "    mode: native\n"
       "  - eth1\n"
       "default: drop\n"
       "sets:\n"
       "  admins: [198.51.100.0/24, \"2001:db8:1::/48\", 192.0.2.7]\n"
       "  empty: []\n"
       "rules:\n"
       "  - name: admins-ssh\n"
       "    action: allow\n"
       "    src: \"@admins\"\n"
       "    proto: tcp\n"
       "    dport: 22\n"
       "  - name: web\n"
       "    action: log\n"
       "    dport: [80, 8000-8100]\n"
       "  - name: no-xmas\n"
       "    action: drop\n"
       "    iface: [eth0, eth1]\n"
       "    dst: 10.0.0.0/8\n"
       "    sport: 1024-65535\n"
       "    tcp_flags: [fin, psh, urg, \"!ack\"]\n"
       "  - name: dns-limit\n"
       "    action: allow\n"
       "    proto: udp\n"
       "    dport: 53\n"
       "    rate: 1000/s\n"
       "  - name: burst\n"
       "    action: allow\n"
       "    proto: 47\n"
       "    rate: 10/s\n"
       "    burst: 50\n"
       "  - name: replies\n"
       "    action: allow\n"
       "    state: [established, related]\n"
       "    src: [10.1.0.0/16, \"fd00::\"]\n"
       "  - name: any\n"
       "    action: allow\n"
       "    proto: any\n"
       "    state: new\n"
       "protect:\n"
       "  per_source: { pps: 50000, ban: 60s }\n"
       "  syn_flood: { cookies: auto, threshold: 20000/s }\n"
       "  port_scan: { ports: 64, window: 10s, action: ban, ban: 10m }\n"
       "  auto: { enabled: true }\n"
       "services:\n"
       "  - name: web\n"
       "    vip: 10.0.0.10\n"
       "    port: 80\n"
       "    proto: tcp\n"
       "    scheduler: least_conn\n"
       "    backends:\n"
       "      - { address: 10.0.1.2, port: 8080, weight: 1 }\n"
       "      - { address: 10.0.1.3, weight: 3 }\n"
       "    health: { type: http, interval: 2s, timeout: 500ms, rise: 2, fall: 3 }\n"
       "shaping:\n"
       "  - name: backups\n"
       "    interface: eth0\n"
       "    match: { proto: tcp, dport: 873 }\n"
       "    rate: 10mbit\n"
       "    burst: 64k\n"
       "log:\n"
       "  audit: /var/log/flowgate/audit.jsonl\n"
       "  pcap: /var/log/flowgate/drops.pcap\n"
       "metrics:\n"
       "  listen: 127.0.0.1:9464\n"
       "api:\n"
       "  socket: /run/flowgate/flowgate.sock\n";

static void check_rules(const struct policy *p)
{
	const struct fg_rule_spec *r = p->rules;

	ASSERT_EQ(p->nrules, 7, "nrules");
	ASSERT_STREQ(r[0].name, "admins-ssh", "r0 name");
	ASSERT_EQ(r[0].pos.line, 11, "r0 line");
	ASSERT_EQ(r[0].action, FG_ACT_ALLOW, "r0 action");
	ASSERT_EQ(r[0].src.set, 0, "r0 src set");
	ASSERT_FALSE(r[0].src.any, "r0 src not any");
	ASSERT_TRUE(r[0].dst.any, "r0 dst any");
	ASSERT_EQ(r[0].dst.set, -1, "r0 dst no set");
	ASSERT_EQ(r[0].proto_kind, FG_PROTO_NUM, "r0 proto kind");
	ASSERT_EQ(r[0].proto, 6, "r0 tcp");
	ASSERT_EQ(r[0].ndports, 1, "r0 ndports");
	ASSERT_EQ(r[0].dports[0].lo, 22, "r0 dport lo");
	ASSERT_EQ(r[0].dports[0].hi, 22, "r0 dport hi");
	ASSERT_EQ(r[0].nsports, 0, "r0 any sport");

	ASSERT_EQ(r[1].action, FG_ACT_LOG, "r1 log");
	ASSERT_EQ(r[1].proto_kind, FG_PROTO_TCPUDP, "ports without proto: tcp and udp");
	ASSERT_EQ(r[1].ndports, 2, "r1 ndports");
	ASSERT_EQ(r[1].dports[1].lo, 8000, "r1 range lo");
	ASSERT_EQ(r[1].dports[1].hi, 8100, "r1 range hi");

	ASSERT_EQ(r[2].nifaces, 2, "r2 ifaces");
	ASSERT_STREQ(r[2].ifaces[1], "eth1", "r2 iface");
	ASSERT_EQ(r[2].dst.ncidrs, 1, "r2 dst");
	ASSERT_EQ(r[2].dst.cidrs[0].family, 4, "r2 dst family");
	ASSERT_EQ(r[2].dst.cidrs[0].len, 8, "r2 dst len");
	ASSERT_EQ(r[2].dst.cidrs[0].addr[0], 10, "r2 dst addr");
	ASSERT_EQ(r[2].sports[0].lo, 1024, "r2 sport lo");
	ASSERT_EQ(r[2].sports[0].hi, 65535, "r2 sport hi");
	ASSERT_EQ(r[2].proto_kind, FG_PROTO_NUM, "tcp_flags without proto: tcp");
	ASSERT_EQ(r[2].proto, 6, "r2 tcp");
	ASSERT_EQ(r[2].tcp_set, FG_TCP_FIN | FG_TCP_PSH | FG_TCP_URG, "r2 flags set");
	ASSERT_EQ(r[2].tcp_clear, FG_TCP_ACK, "r2 flags clear");

	ASSERT_EQ(r[3].proto, 17, "r3 udp");
	ASSERT_EQ(r[3].rate_pps, 1000, "r3 rate");
	ASSERT_EQ(r[3].rate_burst, 1000, "r3 burst defaults to rate");

	ASSERT_EQ(r[4].proto, 47, "r4 proto number");
	ASSERT_EQ(r[4].rate_pps, 10, "r4 rate");
	ASSERT_EQ(r[4].rate_burst, 50, "r4 burst");

	ASSERT_EQ(r[5].state_mask, FG_CT_ESTABLISHED | FG_CT_RELATED, "r5 state");
	ASSERT_EQ(r[5].src.ncidrs, 2, "r5 src list");
	ASSERT_EQ(r[5].src.cidrs[1].family, 6, "r5 v6");
	ASSERT_EQ(r[5].src.cidrs[1].len, 128, "no /len: host route");
	ASSERT_EQ(r[5].src.cidrs[1].addr[0], 0xfd, "r5 v6 addr");

	ASSERT_EQ(r[6].proto_kind, FG_PROTO_ANY, "proto any");
	ASSERT_EQ(r[6].state_mask, FG_CT_NEW, "state new");
}

static void check_sections(const struct policy *p)
{
	const struct fg_service_spec *s = p->services;
	const struct fg_shaping_spec *sh = p->shaping;
	const char *names[4];

	ASSERT_EQ(p->protect.present, true, "protect");
	ASSERT_EQ(p->protect.ps_pps, 50000, "pps");
	ASSERT_EQ(p->protect.ps_ban_ms, 60000, "ban");
	ASSERT_EQ(p->protect.syn_cookies, 2, "cookies auto");
	ASSERT_EQ(p->protect.syn_threshold_pps, 20000, "syn threshold");
	ASSERT_EQ(p->protect.scan_ports, 64, "scan ports");
	ASSERT_EQ(p->protect.scan_window_ms, 10000, "scan window");
	ASSERT_EQ(p->protect.scan_action, 4, "scan ban");
	ASSERT_EQ(p->protect.scan_ban_ms, 600000, "scan ban time");
	ASSERT_EQ(p->protect.auto_enabled, true, "auto");

	ASSERT_EQ(p->nservices, 1, "services");
	ASSERT_STREQ(s->name, "web", "svc name");
	ASSERT_EQ(s->vip.len, 32, "vip host");
	ASSERT_EQ(s->port, 80, "svc port");
	ASSERT_EQ(s->scheduler, 2, "least_conn");
	ASSERT_EQ(s->nbackends, 2, "backends");
	ASSERT_EQ(s->backends[1].port, 80, "backend port defaults to service port");
	ASSERT_EQ(s->backends[1].weight, 3, "weight");
	ASSERT_EQ(s->health_type, 1, "http");
	ASSERT_EQ(s->health_interval_ms, 2000, "interval");
	ASSERT_EQ(s->health_timeout_ms, 500, "timeout");

	ASSERT_EQ(p->nshaping, 1, "shaping");
	ASSERT_STREQ(sh->iface, "eth0", "shaping iface");
	ASSERT_EQ(sh->rate_bps, 10000000, "10mbit is 1000-based");
	ASSERT_EQ(sh->burst_bytes, 65536, "64k is 1024-based");
	ASSERT_EQ(sh->has_proto, true, "shaping proto");
	ASSERT_EQ(sh->dports[0].lo, 873, "shaping port");

	ASSERT_STREQ(p->log_audit, "/var/log/flowgate/audit.jsonl", "audit");
	ASSERT_STREQ(p->log_pcap, "/var/log/flowgate/drops.pcap", "pcap");
	ASSERT_STREQ(p->metrics_listen, "127.0.0.1:9464", "listen");
	ASSERT_STREQ(p->api_socket, "/run/flowgate/flowgate.sock", "socket");

	ASSERT_EQ(policy_unenforced(p, names, 4), 3, "unenforced");
	ASSERT_STREQ(names[0], "protect", "unenforced 0");
	ASSERT_STREQ(names[2], "shaping", "unenforced 2");
	ASSERT_TRUE(names[3] == NULL, "NULL-terminated");
}

static void test_full_policy_values(void)
{
	struct policy p;

	if (!expect_ok(full_yaml, NULL, &p, "full"))
		return;
	ASSERT_STREQ(p.path, "policy.yaml", "path");
	ASSERT_EQ(p.version, 1, "version");
	ASSERT_EQ(p.default_action, FG_ACT_DROP, "default");
	ASSERT_EQ(p.nifaces, 2, "ifaces");
	ASSERT_EQ(p.ifaces[0].mode, FG_MODE_NATIVE, "native");
	ASSERT_STREQ(p.ifaces[1].name, "eth1", "plain iface");
	ASSERT_EQ(p.ifaces[1].mode, FG_MODE_AUTO, "plain iface is auto");
	ASSERT_EQ(p.nsets, 2, "sets");
	ASSERT_STREQ(p.sets[0].name, "admins", "set name");
	ASSERT_EQ(p.sets[0].ncidrs, 3, "admins size");
	ASSERT_EQ(p.sets[0].cidrs[2].len, 32, "bare v4 is /32");
	ASSERT_EQ(p.sets[1].ncidrs, 0, "empty set");
	ASSERT_TRUE(p.sets[0].file == NULL, "inline set has no file");
	check_rules(&p);
	check_sections(&p);
	policy_free(&p);
}

static void test_defaults(void)
{
	struct policy p;
	const char *names[1];

	if (!expect_ok(V1, NULL, &p, "version only"))
		return;
	ASSERT_EQ(p.default_action, FG_ACT_ALLOW, "default allow");
	ASSERT_EQ(p.nrules + p.nsets + p.nifaces + p.nservices, 0, "nothing else");
	ASSERT_EQ(policy_unenforced(&p, names, 1), 0, "nothing unenforced");
	policy_free(&p);
	if (!expect_ok(V1 "rules:\nsets:\nprotect:\n", NULL, &p, "null sections"))
		return;
	ASSERT_EQ(p.protect.present, false, "empty protect");
	policy_free(&p);
}

static void test_aliases(void)
{
	struct policy p;

	if (!expect_ok(V1 "sets:\n  a: &nets [10.0.0.0/8, 10.1.0.0/16]\n"
			  "rules:\n  - {name: r, action: drop, src: *nets}\n",
		       NULL, &p, "alias"))
		return;
	ASSERT_EQ(p.rules[0].src.ncidrs, 2, "alias expanded");
	policy_free(&p);
}

static void test_alias_bomb(void)
{
	char yaml[4096];
	size_t o = snprintf(yaml, sizeof(yaml), V1 "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");

	for (int i = 1; i < 10; i++) {
		o += snprintf(yaml + o, sizeof(yaml) - o, "a%d: &a%d [", i, i);
		for (int j = 0; j < 10; j++)
			o += snprintf(yaml + o, sizeof(yaml) - o, "%s*a%d", j ? ", " : "", i - 1);
		o += snprintf(yaml + o, sizeof(yaml) - o, "]\n");
	}
	expect_error(yaml, "aliases expand to too many nodes", "billion laughs");
}

/* Anchor, alias and nesting limits (inputs too big for the fuzzer). */
static void test_yaml_limits(void)
{
	char *yaml = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&yaml, &len);

	fprintf(f, V1 "x: [");
	for (int i = 0; i <= 1024; i++)
		fprintf(f, "%s&a%d 1", i ? ", " : "", i);
	fprintf(f, "]\n");
	fclose(f);
	expect_error(yaml, "policy.yaml:2:", "anchors");
	expect_error(yaml, "more than 1024 YAML anchors", "anchors message");
	free(yaml);

	f = open_memstream(&yaml, &len);
	fprintf(f, V1 "a: &a 1\nx: [");
	for (int i = 0; i <= 4096; i++)
		fprintf(f, "%s*a", i ? ", " : "");
	fprintf(f, "]\n");
	fclose(f);
	expect_error(yaml, "more than 4096 YAML aliases", "aliases");
	free(yaml);

	f = open_memstream(&yaml, &len);
	fprintf(f, V1 "x: ");
	for (int i = 0; i < 100; i++)
		fputc('[', f);
	for (int i = 0; i < 100; i++)
		fputc(']', f);
	fputc('\n', f);
	fclose(f);
	expect_error(yaml, "policy.yaml:2:67: nesting deeper than 64 levels", "nesting");
	free(yaml);
}

/* ---- set files ---------------------------------------------------------------- */

static void test_set_file(void)
{
	char path[128], yaml[512];
	struct policy_opts o = {.base_dir = tmpdir};
	struct policy p;
	char *errs = NULL;
	int n;

	snprintf(path, sizeof(path), "%s/good.txt", tmpdir);
	write_file(path, "# comment\n\n10.0.0.0/8\n  192.0.2.1   # trailing comment\r\n"
			 "2001:db8::/32\n");
	snprintf(yaml, sizeof(yaml), V1 "sets:\n  s: {file: good.txt}\n");
	if (expect_ok(yaml, &o, &p, "set file via base_dir")) {
		ASSERT_EQ(p.sets[0].ncidrs, 3, "three entries");
		ASSERT_EQ(p.sets[0].cidrs[1].len, 32, "host");
		ASSERT_STREQ(p.sets[0].file, "good.txt", "file as written");
		ASSERT_STREQ(p.sets[0].file_resolved, path, "resolved");
		policy_free(&p);
	}
	/* Relative to the policy file's folder when there is no base_dir. */
	snprintf(path, sizeof(path), "%s/p.yaml", tmpdir);
	write_file(path, yaml);
	ASSERT_OK(policy_load(path, NULL, &p, stderr, &n), "load: relative to policy folder");
	ASSERT_EQ(p.nsets == 1 ? p.sets[0].ncidrs : 0, 3, "loaded set");
	policy_free(&p);

	snprintf(path, sizeof(path), "%s/bad.txt", tmpdir);
	write_file(path, "10.0.0.0/8\n\n   10.0.0.1/8\n1.2.3.4 5.6.7.8\n");
	snprintf(yaml, sizeof(yaml), V1 "sets:\n  s: {file: %s}\n", path);
	ASSERT_EQ(parse(yaml, NULL, &p, &errs, &n), -EINVAL, "bad set file");
	ASSERT_EQ(n, 2, "two bad lines");
	snprintf(yaml, sizeof(yaml),
		 "%s:3:4: 10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?\n"
		 "%s:4:9: unexpected text after the CIDR; one CIDR a line, '#' starts a "
		 "comment\n",
		 path, path);
	ASSERT_STREQ(errs, yaml, "SETFILE:LINE:COL");
	free(errs);

	expect_error(V1 "sets:\n  s: {file: /nonexistent/flowgate/x.txt}\n",
		     "policy.yaml:3:13: sets.s.file: cannot read set file "
		     "\"/nonexistent/flowgate/x.txt\": No such file or directory\n",
		     "missing set file");
}

static void test_set_file_confined(void)
{
	char dir[128], path[160], yaml[512];
	struct policy_opts o = {0};
	struct policy p;
	char *errs = NULL;
	int n;

	snprintf(dir, sizeof(dir), "%s/confine", tmpdir);
	mkdir(dir, 0700);
	o.confine_dir = dir;
	snprintf(path, sizeof(path), "%s/outside.txt", tmpdir);
	write_file(path, "secret-text\n");
	snprintf(path, sizeof(path), "%s/inside.txt", dir);
	write_file(path, "10.0.0.0/8\nsecret-inside\n");
	snprintf(path, sizeof(path), "%s/link.txt", dir);
	unlink(path);
	if (symlink("../outside.txt", path))
		FG_TEST_FAILF("symlink: %s", strerror(errno));

	/* base_dir = the confined folder, as the daemon does for API policies */
	o.base_dir = dir;
	snprintf(yaml, sizeof(yaml),
		 V1 "sets:\n  a: {file: ../outside.txt}\n  b: {file: link.txt}\n"
		    "  c: {file: /etc/passwd}\n  d: {file: inside.txt}\n");
	ASSERT_EQ(parse(yaml, &o, &p, &errs, &n), -EINVAL, "confined");
	ASSERT_EQ(n, 4, "four errors");
	ASSERT_STRSTR(errs, "policy.yaml:3:13: sets.a.file: set file \"../outside.txt\" is outside",
		      "dot-dot refused");
	ASSERT_STRSTR(errs, "policy.yaml:4:13: sets.b.file: set file \"link.txt\" is outside",
		      "symlink out refused");
	ASSERT_STRSTR(errs, "policy.yaml:5:13: sets.c.file: set file \"/etc/passwd\" is outside",
		      "absolute path refused");
	ASSERT_STRSTR(errs, "inside.txt:2:1: bad CIDR; expected", "inside read");
	ASSERT_TRUE(!strstr(errs, "secret"), "no file contents in errors");
	ASSERT_TRUE(!strstr(errs, "root"), "nothing of /etc/passwd");
	free(errs);
}

static void test_skip_set_files(void)
{
	struct policy_opts o = {.skip_set_files = true, .base_dir = "/x"};
	struct policy p;

	if (!expect_ok(V1 "sets:\n  s: {file: nothere.txt}\n", &o, &p, "skip"))
		return;
	ASSERT_EQ(p.sets[0].ncidrs, 0, "not read");
	ASSERT_STREQ(p.sets[0].file_resolved, "/x/nothere.txt", "still resolved");
	policy_free(&p);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_large_set_file(void)
{
	char path[128], yaml[256];
	struct policy p;
	char *errs = NULL;
	double t0, t1;
	FILE *f;
	int rc, n;

	snprintf(path, sizeof(path), "%s/big.txt", tmpdir);
	f = fopen(path, "w");
	if (!ASSERT_TRUE(f != NULL, "create big set file"))
		return;
	for (unsigned i = 0; i < 1000000; i++) {
		if (i % 10 == 9)
			fprintf(f, "2001:db8:%x:%x::/64\n", i >> 16, i & 0xffff);
		else
			fprintf(f, "%u.%u.%u.%u\n", 10 + (i >> 24), (i >> 16) & 255, (i >> 8) & 255,
				i & 255);
	}
	fclose(f);
	snprintf(yaml, sizeof(yaml),
		 V1 "sets:\n  big: {file: %s}\nrules:\n  - {name: b, action: drop, src: "
		    "\"@big\"}\n",
		 path);
	t0 = now_s();
	rc = parse(yaml, NULL, &p, &errs, &n);
	t1 = now_s();
	if (ASSERT_OK(rc, "1M-line set"))
		ASSERT_EQ(p.sets[0].ncidrs, 1000000, "1M entries");
	printf("  1M-line set file loaded in %.3f s\n", t1 - t0);
	policy_free(&p);
	free(errs);
	unlink(path);
}

/* ---- examples and the fuzz corpus ------------------------------------------- */

/* Every regular file in `dir` ending in `suffix` ("" = all) through fn. */
static int each_file(const char *dir, const char *suffix, void (*fn)(const char *path))
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort), count = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		size_t ln = strlen(ents[i]->d_name), ls = strlen(suffix);
		char path[512];

		if (ents[i]->d_name[0] != '.' && ln >= ls &&
		    !strcmp(ents[i]->d_name + ln - ls, suffix)) {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			fn(path);
			count++;
		}
		free(ents[i]);
	}
	free(ents);
	return count;
}

static void example_ok(const char *path)
{
	struct policy p;
	int n = -1;

	if (ASSERT_OK(policy_load(path, NULL, &p, stderr, &n), path))
		ASSERT_GE(p.nrules + p.nservices, 1, path);
	ASSERT_EQ(n, 0, path);
	policy_free(&p);
}

static void test_examples_parse(void)
{
	ASSERT_GE(each_file("examples", ".yaml", example_ok), 4, "examples found");
}

/* As tests/fuzz/fuzz_policy.c does: a "#@setfile" line splits off the text
 * of set.txt, and set files are confined to the temporary folder. */
static void corpus_one(const char *path)
{
	static const char mark[] = "\n#@setfile\n";
	struct policy_opts o = {.confine_dir = tmpdir, .base_dir = tmpdir};
	FILE *devnull = fopen("/dev/null", "w"), *f = fopen(path, "r");
	char setfile[128], *buf = malloc(1 << 20), *split;
	struct policy p;
	size_t len = 0;
	int rc, n;

	if (!ASSERT_TRUE(f && buf && devnull, path))
		goto out;
	len = fread(buf, 1, (1 << 20) - 1, f);
	buf[len] = 0;
	snprintf(setfile, sizeof(setfile), "%s/set.txt", tmpdir);
	unlink(setfile);
	split = memmem(buf, len, mark, sizeof(mark) - 1);
	if (split) {
		FILE *sf = fopen(setfile, "w");

		if (sf) {
			fwrite(split + sizeof(mark) - 1, 1,
			       len - (split - buf) - (sizeof(mark) - 1), sf);
			fclose(sf);
		}
		len = split - buf;
	}
	rc = policy_parse(path, buf, len, &o, &p, devnull, &n);
	ASSERT_TRUE(rc == 0 || rc == -EINVAL, path);
	ASSERT_TRUE((rc == 0) == (n == 0), "errors counted");
	policy_free(&p);
out:
	if (f)
		fclose(f);
	if (devnull)
		fclose(devnull);
	free(buf);
}

static void test_fuzz_corpus(void)
{
	ASSERT_GE(each_file("tests/fuzz/corpus", "", corpus_one), 10, "corpus found");
}

/* ---- helpers ------------------------------------------------------------------- */

static void test_cidr_helpers(void)
{
	struct fg_cidr c;
	uint8_t a[16] = {10, 1, 2, 3};
	char buf[64], msg[128];

	ASSERT_OK(parse_cidr("10.0.0.0/8", &c), "v4");
	ASSERT_TRUE(cidr_contains(&c, 4, a), "contains");
	a[0] = 11;
	ASSERT_FALSE(cidr_contains(&c, 4, a), "not contains");
	ASSERT_FALSE(cidr_contains(&c, 6, a), "other family");
	ASSERT_EQ(format_cidr(&c, buf, sizeof(buf)), 10, "format len");
	ASSERT_STREQ(buf, "10.0.0.0/8", "format");
	ASSERT_OK(parse_cidr("2001:db8::/33", &c), "v6");
	ASSERT_EQ(c.len, 33, "v6 len");
	ASSERT_OK(parse_cidr("0.0.0.0/0", &c), "default route");
	ASSERT_TRUE(cidr_contains(&c, 4, a), "/0 contains all");
	ASSERT_OK(parse_cidr("::ffff:1.2.3.4", &c), "v4-mapped");
	ASSERT_EQ(c.family, 6, "mapped is v6");
	ASSERT_EQ(parse_cidr("10.0.0.1/8", &c), -EINVAL, "host bits");
	ASSERT_EQ(parse_cidr_msg("10.0.0.1/8", &c, msg, sizeof(msg)), -EINVAL, "msg");
	ASSERT_STREQ(msg, "10.0.0.1/8 has host bits set; did you mean 10.0.0.0/8?", "msg text");
	ASSERT_EQ(parse_cidr("1.2.3", &c), -EINVAL, "short");
	ASSERT_EQ(parse_cidr("1.2.3.4/", &c), -EINVAL, "empty len");
	ASSERT_EQ(parse_cidr("1.2.3.4/08", &c), -EINVAL, "leading zero len");
	ASSERT_EQ(parse_cidr("1.2.3.4/33", &c), -EINVAL, "len 33");
	ASSERT_EQ(parse_cidr(" 1.2.3.4", &c), -EINVAL, "space");
	ASSERT_EQ(parse_cidr("fe80::1%eth0", &c), -EINVAL, "zone");
	ASSERT_EQ(format_cidr(&(struct fg_cidr){.family = 4, .len = 8}, buf, 4), -ENOSPC,
		  "small buffer");
}

static void test_duration_helper(void)
{
	uint64_t ms = 0;

	ASSERT_OK(parse_duration_ms("500ms", &ms), "ms");
	ASSERT_EQ(ms, 500, "500ms");
	ASSERT_OK(parse_duration_ms("60", &ms), "plain");
	ASSERT_EQ(ms, 60000, "plain is seconds");
	ASSERT_OK(parse_duration_ms("10m", &ms), "m");
	ASSERT_EQ(ms, 600000, "10m");
	ASSERT_OK(parse_duration_ms("2h", &ms), "h");
	ASSERT_EQ(ms, 7200000, "2h");
	ASSERT_EQ(parse_duration_ms("1d", &ms), -EINVAL, "days");
	ASSERT_EQ(parse_duration_ms("-1s", &ms), -EINVAL, "negative");
	ASSERT_EQ(parse_duration_ms("", &ms), -EINVAL, "empty");
	ASSERT_EQ(parse_duration_ms("99999999999999999999h", &ms), -ERANGE, "overflow");
}

static void test_load_missing_file(void)
{
	struct policy p;
	char *errs = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&errs, &len);
	int n = 0;

	ASSERT_EQ(policy_load("/nonexistent/policy.yaml", NULL, &p, f, &n), -ENOENT, "rc");
	fclose(f);
	ASSERT_STREQ(errs, "cannot read /nonexistent/policy.yaml: No such file or directory\n",
		     "message");
	free(errs);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", tmpdir);
}

int main(void)
{
	strcpy(tmpdir, "/tmp/fg-policy.XXXXXX");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN_TEST(test_unknown_key_top_level);
	RUN_TEST(test_unknown_key_nested);
	RUN_TEST(test_bad_action_value);
	RUN_TEST(test_bad_cidr);
	RUN_TEST(test_host_bits_set);
	RUN_TEST(test_port_range_upside_down);
	RUN_TEST(test_port_out_of_range);
	RUN_TEST(test_duplicate_rule_name);
	RUN_TEST(test_duplicate_set_name);
	RUN_TEST(test_undefined_set);
	RUN_TEST(test_bad_proto);
	RUN_TEST(test_ports_need_tcp_or_udp);
	RUN_TEST(test_bad_duration);
	RUN_TEST(test_bad_rate);
	RUN_TEST(test_multiple_errors_all_reported);
	RUN_TEST(test_yaml_syntax_error);
	RUN_TEST(test_version_missing_or_wrong);
	RUN_TEST(test_misc_errors);
	RUN_TEST(test_too_many_sets);
	RUN_TEST(test_full_policy_values);
	RUN_TEST(test_defaults);
	RUN_TEST(test_aliases);
	RUN_TEST(test_alias_bomb);
	RUN_TEST(test_yaml_limits);
	RUN_TEST(test_set_file);
	RUN_TEST(test_set_file_confined);
	RUN_TEST(test_skip_set_files);
	RUN_TEST(test_large_set_file);
	RUN_TEST(test_examples_parse);
	RUN_TEST(test_fuzz_corpus);
	RUN_TEST(test_cidr_helpers);
	RUN_TEST(test_duration_helper);
	RUN_TEST(test_load_missing_file);
	cleanup();
	return FG_TEST_EXIT();
}
