// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Control-plane logic of flowgated that needs no kernel: stats slots across
 * applies, the state folder round trip, what an API policy may touch (set
 * file confinement, operator settings), the API peer check and the audit
 * event format.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "test.h"
#include "api.h"
#include "audit.h"
#include "daemon.h"
#include "policy.h"

FG_TEST_GLOBALS;

/* A policy with just rule names (all slots_assign looks at). */
static void names_policy(struct policy *p, const char *const *names, size_t n)
{
	size_t i;

	memset(p, 0, sizeof(*p));
	p->rules = calloc(n + 1, sizeof(*p->rules));
	for (i = 0; i < n; i++)
		p->rules[i].name = strdup(names[i]);
	p->nrules = n;
}

static void names_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		free(p->rules[i].name);
	free(p->rules);
}

static bool has(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void test_slots_keep_names_across_applies(void)
{
	static const char *const a[] = {"a", "b", "c"}, *const b[] = {"c", "d", "a"};
	static const char *const c[] = {"e"};
	struct slotmap empty = {0}, m1, m2, m3;
	struct policy pa, pb, pc;
	uint32_t *fresh, avoid;
	size_t nf;

	names_policy(&pa, a, 3);
	names_policy(&pb, b, 3);
	names_policy(&pc, c, 1);
	if (!ASSERT_OK(slots_assign(&empty, &pa, &m1, NULL, 0, &fresh, &nf), "first apply"))
		goto out;
	ASSERT_EQ(nf, 3, "all fresh");
	ASSERT_FALSE(has(m1.slots, 3, FG_SLOT_DEFAULT), "slot 0 is the default's");
	ASSERT_NEQ(m1.slots[0], m1.slots[1], "distinct");
	ASSERT_NEQ(m1.slots[1], m1.slots[2], "distinct");
	free(fresh);

	if (!ASSERT_OK(slots_assign(&m1, &pb, &m2, NULL, 0, &fresh, &nf), "second apply"))
		goto out;
	ASSERT_EQ(m2.slots[0], slots_lookup(&m1, "c"), "c keeps its slot");
	ASSERT_EQ(m2.slots[2], slots_lookup(&m1, "a"), "a keeps its slot");
	ASSERT_EQ(nf, 1, "only d is fresh");
	ASSERT_EQ(fresh[0], m2.slots[1], "d's slot is the fresh one");
	/* b's slot was freed by this apply: packets of the old generation may
	 * still count on it, so d must not get it. */
	ASSERT_NEQ(m2.slots[1], slots_lookup(&m1, "b"), "freed slot not reused at once");
	ASSERT_FALSE(has(m1.slots, 3, m2.slots[1]), "d's slot unused before");
	free(fresh);

	/* a CPU still holds back a count for b's old slot: not handed out */
	avoid = slots_lookup(&m1, "b");
	if (!ASSERT_OK(slots_assign(&m2, &pc, &m3, &avoid, 1, &fresh, &nf), "held-back slot"))
		goto out;
	ASSERT_NEQ(m3.slots[0], avoid, "a slot with a held-back count is not reused");
	ASSERT_FALSE(has(m2.slots, 3, m3.slots[0]), "nor one in use");
	free(fresh);
	slots_free(&m3);

	if (!ASSERT_OK(slots_assign(&m2, &pc, &m3, NULL, 0, &fresh, &nf), "third apply"))
		goto out;
	ASSERT_EQ(m3.slots[0], slots_lookup(&m1, "b"), "b's old slot is free again");
	free(fresh);
	slots_free(&m3);
out:
	slots_free(&m1);
	slots_free(&m2);
	names_free(&pa);
	names_free(&pb);
	names_free(&pc);
}

static void test_slots_run_out(void)
{
	size_t n = FG_MAX_STAT_SLOTS, i;
	struct slotmap empty = {0}, m = {0};
	struct policy p = {0};
	uint32_t *fresh = NULL;
	size_t nf;
	char name[16];

	/* slot 0 is reserved: FG_MAX_STAT_SLOTS rules do not fit */
	p.rules = calloc(n, sizeof(*p.rules));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "r%zu", i);
		p.rules[i].name = strdup(name);
	}
	p.nrules = n;
	ASSERT_EQ(slots_assign(&empty, &p, &m, NULL, 0, &fresh, &nf), -ENOSPC, "one too many");
	p.nrules = n - 1;
	if (ASSERT_OK(slots_assign(&empty, &p, &m, NULL, 0, &fresh, &nf), "exactly full"))
		ASSERT_EQ(m.slots[n - 2], FG_MAX_STAT_SLOTS - 1, "last slot used");
	p.nrules = n;
	free(fresh);
	slots_free(&m);
	names_free(&p);
}

static char *mkdtemp_s(void)
{
	char tmpl[] = "/tmp/fgtest-daemon.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rm_rf(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

static void test_state_round_trip(void)
{
	static const char *const names[] = {"web", "ssh"};
	static const uint32_t slots[] = {7, 3};
	struct dstate s = {0}, l = {0};
	char *dir = mkdtemp_s(), sub[256];
	struct fg_cidr c[2];
	struct stat st;

	if (!ASSERT_TRUE(dir, "tmpdir"))
		return;
	snprintf(sub, sizeof(sub), "%s/state", dir);
	ASSERT_EQ(state_load(sub, &l), -ENOENT, "no state yet");
	s.generation = 42;
	s.loaded_at = 1700000000;
	s.from_api = true;
	s.source = strdup("api:prod.yaml");
	s.config_path = strdup("/etc/flowgate/policy.yaml");
	s.config_text = strdup("version: 1\n");
	s.config_len = strlen(s.config_text);
	s.policy_text = strdup("version: 1\nrules: []\n# \"quotes\" and \\ backslashes\n");
	s.policy_len = strlen(s.policy_text);
	s.slots.n = 2;
	s.slots.names = calloc(2, sizeof(char *));
	s.slots.slots = calloc(2, sizeof(uint32_t));
	s.slots.names[0] = strdup(names[0]);
	s.slots.names[1] = strdup(names[1]);
	memcpy(s.slots.slots, slots, sizeof(slots));
	parse_cidr("10.0.0.0/8", &c[0]);
	parse_cidr("2001:db8::/32", &c[1]);
	s.sets = calloc(1, sizeof(*s.sets));
	s.sets[0].name = strdup("blocked");
	s.sets[0].cidrs = malloc(sizeof(c));
	memcpy(s.sets[0].cidrs, c, sizeof(c));
	s.sets[0].n = 2;
	s.nsets = 1;
	if (!ASSERT_OK(state_save(sub, &s), "save") || !ASSERT_OK(state_load(sub, &l), "load"))
		goto out;
	ASSERT_EQ(l.generation, 42, "generation");
	ASSERT_EQ(l.loaded_at, 1700000000, "loaded_at");
	ASSERT_TRUE(l.from_api, "origin");
	ASSERT_STREQ(l.source, "api:prod.yaml", "source");
	ASSERT_STREQ(l.config_path, s.config_path, "config path");
	ASSERT_STREQ(l.config_text, s.config_text, "config text");
	ASSERT_STREQ(l.policy_text, s.policy_text, "policy text");
	ASSERT_EQ(l.policy_len, s.policy_len, "policy length");
	ASSERT_EQ(slots_lookup(&l.slots, "web"), 7, "web's slot");
	ASSERT_EQ(slots_lookup(&l.slots, "ssh"), 3, "ssh's slot");
	ASSERT_EQ(slots_lookup(&l.slots, "nope"), UINT32_MAX, "unknown name");
	if (ASSERT_EQ(l.nsets, 1, "one set override")) {
		ASSERT_STREQ(l.sets[0].name, "blocked", "set name");
		ASSERT_EQ(l.sets[0].n, 2, "set entries");
		ASSERT_OK(memcmp(l.sets[0].cidrs, c, sizeof(c)), "set content");
	}
	ASSERT_OK(stat(sub, &st), "state dir");
	ASSERT_EQ(st.st_mode & 0777, 0700, "state dir is 0700");
	snprintf(sub, sizeof(sub), "%s/state/state.json", dir);
	ASSERT_OK(stat(sub, &st), "state file");
	ASSERT_EQ(st.st_mode & 0777, 0600, "state file is 0600");
out:
	state_free(&s);
	state_free(&l);
	rm_rf(dir);
	free(dir);
}

static void test_state_corrupt_is_ignored(void)
{
	char *dir = mkdtemp_s(), path[256];
	struct dstate l;
	FILE *f;

	if (!ASSERT_TRUE(dir, "tmpdir"))
		return;
	snprintf(path, sizeof(path), "%s/state.json", dir);
	f = fopen(path, "w");
	fputs("{\"generation\": 3, truncated", f);
	fclose(f);
	ASSERT_EQ(state_load(dir, &l), -EINVAL, "corrupt state refused");
	rm_rf(dir);
	free(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Parse an API policy against config folder `conf`; errors into *err. */
static int api_parse(const char *conf, const char *text, struct policy *p, char **err)
{
	struct policy_opts o;
	size_t len = 0;
	FILE *f;
	int rc;

	*err = NULL;
	f = open_memstream(err, &len);
	api_policy_opts(conf, &o);
	rc = policy_parse(FG_API_NAME, text, strlen(text), &o, p, f, NULL);
	fclose(f);
	return rc;
}

static void test_api_set_files_confined(void)
{
	char *dir = mkdtemp_s(), conf[256], text[1024], link[512], *err;
	static const char secret[] = "SECRET-4242 not a cidr\n";
	struct policy p;

	if (!ASSERT_TRUE(dir, "tmpdir"))
		return;
	snprintf(conf, sizeof(conf), "%s/conf", dir);
	mkdir(conf, 0700);
	write_file(conf, "inside.txt", "192.0.2.0/24\n");
	write_file(dir, "outside.txt", secret);
	snprintf(link, sizeof(link), "%s/link.txt", conf);
	snprintf(text, sizeof(text), "%s/outside.txt", dir);
	ASSERT_OK(symlink(text, link), "symlink");

	/* relative to the -c file's folder, inside it: fine */
	ASSERT_OK(api_parse(conf, "version: 1\nsets:\n  s: { file: inside.txt }\n", &p, &err),
		  "inside");
	if (p.nsets == 1)
		ASSERT_EQ(p.sets[0].ncidrs, 1, "set read");
	policy_free(&p);
	free(err);

	static const char *const outside[] = {"../outside.txt", "link.txt", NULL};
	for (int i = 0; outside[i]; i++) {
		snprintf(text, sizeof(text), "version: 1\nsets:\n  s: { file: %s }\n", outside[i]);
		ASSERT_EQ(api_parse(conf, text, &p, &err), -EINVAL, outside[i]);
		ASSERT_STRSTR(err, "<api>:3:", "error names the line");
		ASSERT_FALSE(err && strstr(err, "SECRET"), "no file content in the error");
		free(err);
	}
	/* absolute paths outside too */
	snprintf(text, sizeof(text), "version: 1\nsets:\n  s: { file: %s/outside.txt }\n", dir);
	ASSERT_EQ(api_parse(conf, text, &p, &err), -EINVAL, "absolute outside");
	ASSERT_FALSE(err && strstr(err, "SECRET"), "no file content in the error");
	free(err);
	rm_rf(dir);
	free(dir);
}

/*
 * A set file that is a FIFO (or a device) is refused without blocking:
 * the daemon parses under its lock, and an open() of a FIFO with no writer
 * would wait forever. alarm() turns a hang into a failure.
 */
static void test_set_file_not_regular(void)
{
	char *dir = mkdtemp_s(), fifo[256], *err;
	struct policy p;
	int i;

	if (!ASSERT_TRUE(dir, "tmpdir"))
		return;
	snprintf(fifo, sizeof(fifo), "%s/fifo.txt", dir);
	if (!ASSERT_OK(mkfifo(fifo, 0600), "mkfifo"))
		goto out;
	alarm(10);
	static const char *const files[] = {"fifo.txt", "/dev/zero", NULL};
	for (i = 0; files[i]; i++) {
		char text[256];

		snprintf(text, sizeof(text), "version: 1\nsets:\n  s: { file: %s }\n", files[i]);
		/* unconfined (the -c file) for both; the FIFO also as an API policy */
		{
			struct policy_opts o = {.base_dir = dir};
			size_t len = 0;
			FILE *f;

			err = NULL;
			f = open_memstream(&err, &len);
			ASSERT_EQ(policy_parse("p.yaml", text, strlen(text), &o, &p, f, NULL), -EINVAL,
				  files[i]);
			fclose(f);
			ASSERT_STRSTR(err, "is not a regular file", files[i]);
			free(err);
		}
		if (i == 0) {
			ASSERT_EQ(api_parse(dir, text, &p, &err), -EINVAL, "FIFO over the API");
			ASSERT_STRSTR(err, "is not a regular file", "FIFO over the API");
			free(err);
		}
	}
	alarm(0);
out:
	rm_rf(dir);
	free(dir);
}

static void test_api_operator_settings(void)
{
	static const char base[] = "version: 1\n"
				   "log: { audit: logs/audit.jsonl }\n"
				   "metrics: { listen: \"127.0.0.1:9464\" }\n"
				   "api: { socket: /run/fg.sock }\n";
	struct op_settings ops;
	struct policy p, q;
	json_t *detail;
	char *err;

	if (!ASSERT_OK(api_parse("/", base, &p, &err), "operator policy"))
		return;
	free(err);
	ASSERT_OK(ops_from_policy(&p, "/etc/fg", &ops), "ops");
	ASSERT_STREQ(ops.audit, "/etc/fg/logs/audit.jsonl", "relative to the -c folder");
	ASSERT_STREQ(ops.api, "/run/fg.sock", "api socket");
	ASSERT_TRUE(!ops.pcap, "no pcap");

	/* the same settings again: allowed */
	detail = json_array();
	ASSERT_OK(ops_check_api(&ops, &p, "/etc/fg", detail), "same settings");
	json_decref(detail);

	/* left out: allowed (the operator's stay) */
	ASSERT_OK(api_parse("/", "version: 1\n", &q, &err), "bare policy");
	free(err);
	detail = json_array();
	ASSERT_OK(ops_check_api(&ops, &q, "/etc/fg", detail), "left out");
	json_decref(detail);
	policy_free(&q);

	/* changed: refused, one message per setting */
	ASSERT_OK(api_parse("/",
			    "version: 1\nlog: { audit: /tmp/x, pcap: /tmp/y }\n"
			    "api: { socket: /tmp/s }\n",
			    &q, &err),
		  "changing policy");
	free(err);
	detail = json_array();
	ASSERT_EQ(ops_check_api(&ops, &q, "/etc/fg", detail), -EPERM, "changed settings");
	ASSERT_EQ(json_array_size(detail), 3, "three differences");
	ASSERT_STRSTR(json_string_value(json_array_get(detail, 0)), "log.audit", "names it");
	ASSERT_FALSE(strstr(json_string_value(json_array_get(detail, 0)), "/etc/fg"),
		     "does not echo the daemon's path");
	json_decref(detail);
	policy_free(&q);
	policy_free(&p);
	ops_free(&ops);
}

static void test_api_peer_check(void)
{
	gid_t groups[] = {100, 998};

	ASSERT_TRUE(api_peer_allowed(0, 0, NULL, 0, 998), "root");
	ASSERT_TRUE(api_peer_allowed(1000, 998, NULL, 0, 998), "primary group");
	ASSERT_TRUE(api_peer_allowed(1000, 1000, groups, 2, 998), "supplementary group");
	ASSERT_FALSE(api_peer_allowed(1000, 1000, groups, 1, 998), "not in the group");
	ASSERT_FALSE(api_peer_allowed(1000, 1000, NULL, 0, 998), "no groups");
}

static void test_audit_event_format(void)
{
	struct fg_event e = {0};
	json_t *o;

	e.type = FG_EV_DROP;
	e.reason = FG_R_RULE;
	e.stat_slot = 5;
	e.ifindex = 1; /* lo */
	e.pkt_len = 98;
	e.suppressed = 7;
	e.pkt.family = FG_FAM_V4;
	e.pkt.proto = 17;
	e.pkt.flags = FG_PKT_L4;
	e.pkt.sport = 40000;
	e.pkt.dport = 9999;
	inet_pton(AF_INET, "10.10.1.2", e.pkt.src);
	inet_pton(AF_INET, "10.10.2.2", e.pkt.dst);
	o = audit_event_json(&e, "drop-udp", 1700000000123456789LL);
	if (!ASSERT_TRUE(o, "event"))
		return;
	ASSERT_STREQ(json_string_value(json_object_get(o, "ts")), "2023-11-14T22:13:20.123Z",
		     "RFC3339 UTC, ms");
	ASSERT_STREQ(json_string_value(json_object_get(o, "event")), "drop", "event");
	ASSERT_STREQ(json_string_value(json_object_get(o, "reason")), "rule", "reason");
	ASSERT_STREQ(json_string_value(json_object_get(o, "rule")), "drop-udp", "rule");
	ASSERT_STREQ(json_string_value(json_object_get(o, "src")), "10.10.1.2", "src");
	ASSERT_STREQ(json_string_value(json_object_get(o, "dst")), "10.10.2.2", "dst");
	ASSERT_EQ(json_integer_value(json_object_get(o, "dport")), 9999, "dport");
	ASSERT_STREQ(json_string_value(json_object_get(o, "proto")), "udp", "proto");
	ASSERT_STREQ(json_string_value(json_object_get(o, "iface")), "lo", "iface");
	ASSERT_EQ(json_integer_value(json_object_get(o, "suppressed")), 7, "suppressed");
	json_decref(o);

	e.pkt.family = FG_FAM_NONE;
	e.reason = FG_R_TRUNCATED;
	e.suppressed = 0;
	o = audit_event_json(&e, NULL, 0);
	ASSERT_TRUE(o && !json_object_get(o, "src"), "no addresses for a non-IP frame");
	ASSERT_TRUE(o && !json_object_get(o, "suppressed"), "suppressed only when some were");
	ASSERT_STREQ(json_string_value(json_object_get(o, "reason")), "truncated", "reason");
	json_decref(o);
}

static int lines_in(const char *path)
{
	char buf[512];
	int n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(buf, sizeof(buf), f))
		n++;
	fclose(f);
	return n;
}

static void test_audit_log_ring_and_followers(void)
{
	char *dir = mkdtemp_s(), path[256], old[300], *line = NULL;
	struct audit *a;
	uint64_t seq;

	if (!ASSERT_TRUE(dir, "tmpdir"))
		return;
	snprintf(path, sizeof(path), "%s/logs/audit.jsonl", dir);
	if (!ASSERT_OK(audit_open(path, NULL, -1, &a), "open"))
		goto out;
	audit_emit(a, json_pack("{s:s,s:i}", "event", "policy", "n", 1));
	audit_emit(a, json_pack("{s:s,s:i}", "event", "policy", "n", 2));
	audit_emit(a, json_pack("{s:s,s:i}", "event", "policy", "n", 3));
	ASSERT_EQ(lines_in(path), 3, "three lines written (folder created)");

	seq = audit_seq_recent(a, 2);
	if (ASSERT_EQ(audit_next_line(a, &seq, &line, 0), 1, "second event"))
		ASSERT_STRSTR(line, "\"n\":2", "oldest of the last two first");
	ASSERT_TRUE(line && !strncmp(line, "{\"ts\":\"", 7), "ts comes first");
	free(line);
	ASSERT_EQ(audit_next_line(a, &seq, &line, 0), 1, "third event");
	free(line);
	ASSERT_EQ(audit_next_line(a, &seq, &line, 50), 0, "nothing new: timeout");

	/* external rotation, then SIGUSR1's reopen */
	snprintf(old, sizeof(old), "%s.old", path);
	rename(path, old);
	audit_reopen(a);
	audit_emit(a, json_pack("{s:s}", "event", "ban"));
	ASSERT_EQ(lines_in(path), 1, "new file after reopen");
	ASSERT_EQ(lines_in(old), 3, "old file untouched");
	ASSERT_EQ(audit_lost(a), 0, "nothing lost");

	/* a reload naming a path that cannot be opened keeps the old file */
	ASSERT_NEQ(audit_set_paths(a, "/proc/no/such/audit.jsonl", NULL), 0, "bad new path");
	audit_emit(a, json_pack("{s:s}", "event", "unban"));
	ASSERT_EQ(lines_in(path), 2, "still logging to the old file");

	audit_stop(a);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(audit_next_line(a, &seq, &line, 50), 1, "kept events still readable");
		free(line);
	}
	ASSERT_EQ(audit_next_line(a, &seq, &line, 50), -1, "followers see the end");
	audit_free(a);
out:
	rm_rf(dir);
	free(dir);
}

int main(void)
{
	RUN_TEST(test_slots_keep_names_across_applies);
	RUN_TEST(test_slots_run_out);
	RUN_TEST(test_state_round_trip);
	RUN_TEST(test_state_corrupt_is_ignored);
	RUN_TEST(test_api_set_files_confined);
	RUN_TEST(test_set_file_not_regular);
	RUN_TEST(test_api_operator_settings);
	RUN_TEST(test_api_peer_check);
	RUN_TEST(test_audit_event_format);
	RUN_TEST(test_audit_log_ring_and_followers);
	return FG_TEST_EXIT();
}
