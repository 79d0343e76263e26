// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The CLI without a daemon: option parsing, exit codes, human formatting of
 * the API's JSON, policy error rewriting for apply, the pcap record counter
 * of capture --count.
 */
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "cli.h"

FG_TEST_GLOBALS;

/* ---- helpers ---- */

/* Run fmt on the JSON text and return what it printed (malloc'd). */
static char *render(void (*fmt)(FILE *, const json_t *), const char *jtext)
{
	json_t *doc = json_loads(jtext, JSON_DECODE_ANY, NULL);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (doc && f)
		fmt(f, doc);
	if (f)
		fclose(f);
	json_decref(doc);
	return out;
}

static const struct cli_cmd t_ban = {
    "ban", "list | add CIDR [--ttl D] | del CIDR", "", "", CLI_O_JSON | CLI_O_TTL, 1, 2, NULL,
};
static const struct cli_cmd t_top = {
    "top", "", "", "", CLI_O_ONCE | CLI_O_ITER | CLI_O_INTERVAL, 0, 0, NULL,
};

/* Parse a command line given as words; returns cli_parse_args()'s result. */
static int parse(const struct cli_cmd *cmd, struct cli_args *a, char **words, int n)
{
	static char *argv[16];
	FILE *null = fopen("/dev/null", "w");
	int i, rc;

	for (i = 0; i < n; i++)
		argv[i] = words[i];
	argv[n] = NULL;
	rc = cli_parse_args(cmd, n, argv, a, null);
	fclose(null);
	return rc;
}

/* ---- tests ---- */

static void test_cli_args_options_after_positionals(void)
{
	char *w[] = {"ban", "add", "10.0.0.1", "--ttl", "10m", "--json"};
	struct cli_args a;

	if (!ASSERT_OK(parse(&t_ban, &a, w, 6), "parse"))
		return;
	ASSERT_EQ(a.argc, 2, "positionals");
	ASSERT_STREQ(a.argv[0], "add", "sub");
	ASSERT_STREQ(a.argv[1], "10.0.0.1", "cidr");
	ASSERT_STREQ(a.ttl, "10m", "ttl");
	ASSERT_TRUE(a.json, "json");
}

static void test_cli_args_rejects_foreign_option(void)
{
	char *w1[] = {"ban", "list", "--follow"};
	char *w2[] = {"ban", "list", "--bogus"};
	char *w3[] = {"top", "--ttl", "5"};
	struct cli_args a;

	ASSERT_EQ(parse(&t_ban, &a, w1, 3), CLI_EUSER, "--follow on ban");
	ASSERT_EQ(parse(&t_ban, &a, w2, 3), CLI_EUSER, "unknown option");
	ASSERT_EQ(parse(&t_top, &a, w3, 3), CLI_EUSER, "--ttl on top");
}

static void test_cli_args_counts_positionals(void)
{
	char *w1[] = {"ban"};
	char *w2[] = {"ban", "add", "1.2.3.4", "extra"};
	char *w3[] = {"ban", "--help"};
	struct cli_args a;

	ASSERT_EQ(parse(&t_ban, &a, w1, 1), CLI_EUSER, "too few");
	ASSERT_EQ(parse(&t_ban, &a, w2, 4), CLI_EUSER, "too many");
	ASSERT_OK(parse(&t_ban, &a, w3, 2), "--help needs no arguments");
	ASSERT_TRUE(a.help, "help set");
}

static void test_cli_args_numbers(void)
{
	char *w1[] = {"top", "-n", "3", "-d", "0.5"};
	char *w2[] = {"top", "-n", "0"};
	char *w3[] = {"top", "-n", "x3"};
	char *w4[] = {"top", "-d", "0"};
	struct cli_args a;

	if (ASSERT_OK(parse(&t_top, &a, w1, 5), "-n 3 -d 0.5")) {
		ASSERT_EQ(a.iterations, 3, "iterations");
		ASSERT_TRUE(a.interval > 0.49 && a.interval < 0.51, "interval");
	}
	ASSERT_EQ(parse(&t_top, &a, w2, 3), CLI_EUSER, "-n 0");
	ASSERT_EQ(parse(&t_top, &a, w3, 3), CLI_EUSER, "-n x3");
	ASSERT_EQ(parse(&t_top, &a, w4, 3), CLI_EUSER, "-d 0");
}

static void test_cli_exit_codes_from_http_status(void)
{
	ASSERT_EQ(cli_exit_for_status(200), CLI_OK, "200");
	ASSERT_EQ(cli_exit_for_status(204), CLI_OK, "204");
	ASSERT_EQ(cli_exit_for_status(400), CLI_EUSER, "400");
	ASSERT_EQ(cli_exit_for_status(404), CLI_EUSER, "404");
	ASSERT_EQ(cli_exit_for_status(409), CLI_EUSER, "409");
	ASSERT_EQ(cli_exit_for_status(500), CLI_ESYS, "500");
	ASSERT_EQ(cli_exit_for_status(503), CLI_ESYS, "503");
	ASSERT_EQ(cli_exit_for_status(0), CLI_ESYS, "no answer");
}

static void test_cli_http_error_message_and_code(void)
{
	struct client_resp r = {.status = 404};
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	int rc;

	r.body = strdup("{\"error\":\"no set named x\",\"detail\":\"sets: a, b\"}");
	r.len = strlen(r.body);
	rc = cli_report_http("set add", &r, f);
	fclose(f);
	ASSERT_EQ(rc, CLI_EUSER, "404 is a user error");
	ASSERT_STREQ(out, "flowgate: set add: no set named x (HTTP 404)\n  sets: a, b\n", "text");
	free(out);
	r.status = 500;
	f = fopen("/dev/null", "w");
	ASSERT_EQ(cli_report_http("x", &r, f), CLI_ESYS, "500 is a system error");
	fclose(f);
	free(r.body);
}

static void test_cli_socket_path_precedence(void)
{
	setenv("FLOWGATE_SOCKET", "/env.sock", 1);
	ASSERT_STREQ(client_socket_path("/opt.sock"), "/opt.sock", "option wins");
	ASSERT_STREQ(client_socket_path(NULL), "/env.sock", "then the environment");
	unsetenv("FLOWGATE_SOCKET");
	ASSERT_STREQ(client_socket_path(NULL), FG_DEFAULT_SOCKET, "then the default");
}

static void test_cli_ttl_parsing(void)
{
	ASSERT_EQ(cli_parse_ttl("10m"), 600, "10m");
	ASSERT_EQ(cli_parse_ttl("90"), 90, "plain seconds");
	ASSERT_EQ(cli_parse_ttl("2h"), 7200, "2h");
	ASSERT_EQ(cli_parse_ttl("500ms"), 1, "rounded up");
	ASSERT_EQ(cli_parse_ttl("0"), -1, "zero");
	ASSERT_EQ(cli_parse_ttl("soon"), -1, "words");
}

static void test_cli_duration_format(void)
{
	char b[32];

	fmt_duration(b, sizeof(b), 0);
	ASSERT_STREQ(b, "0s", "0");
	fmt_duration(b, sizeof(b), 600);
	ASSERT_STREQ(b, "10m", "600");
	fmt_duration(b, sizeof(b), 3725);
	ASSERT_STREQ(b, "1h2m5s", "3725");
	fmt_duration(b, sizeof(b), 90061);
	ASSERT_STREQ(b, "1d1h1m1s", "90061");
}

static void test_cli_stats_table(void)
{
	char *out =
	    render(fmt_stats,
		   "{\"rules\":[{\"name\":\"drop-udp\",\"action\":\"drop\",\"packets\":5,"
		   "\"bytes\":420},{\"name\":\"ping\",\"action\":\"allow\",\"packets\":3,"
		   "\"bytes\":294}],\"default\":{\"packets\":12,\"bytes\":1000},"
		   "\"drops\":{\"rule\":5,\"ban\":0,\"truncated\":1},"
		   "\"interfaces\":[{\"name\":\"eth0\",\"mode\":\"native\",\"rx_packets\":20}]}");

	ASSERT_STREQ(out,
		     "RULE       ACTION       PACKETS           BYTES\n"
		     "drop-udp   drop               5             420\n"
		     "ping       allow              3             294\n"
		     "(default)                    12            1000\n"
		     "\n"
		     "DROP REASON                  PACKETS\n"
		     "rule                               5\n"
		     "truncated                          1\n"
		     "\n"
		     "INTERFACE  MODE       RX_PACKETS\n"
		     "eth0       native             20\n",
		     "stats");
	free(out);
}

static void test_cli_stats_no_drops(void)
{
	char *out = render(fmt_stats, "{\"rules\":[],\"drops\":{\"rule\":0}}");

	ASSERT_STRSTR(out, "(no drops)", "no drops line");
	free(out);
}

static void test_cli_status_text(void)
{
	char *out = render(fmt_status,
			   "{\"version\":\"0.1.0\",\"uptime_s\":3725,\"policy\":{\"generation\":4,"
			   "\"loaded_at\":\"2025-01-01T00:00:00Z\",\"source\":\"/etc/p.yaml\","
			   "\"rules\":3},\"detached\":false,\"programs\":[{\"name\":\"fg_xdp\","
			   "\"id\":12},null],"
			   "\"interfaces\":[{\"name\":\"eth0\",\"mode\":\"native\"},"
			   "{\"name\":\"eth1\",\"mode\":\"generic\"}],"
			   "\"not_enforced\":[\"protect\",\"services\"],\"pid\":42}");

	ASSERT_STREQ(out,
		     "flowgated     0.1.0\n"
		     "uptime        1h2m5s\n"
		     "policy        generation 4, 3 rules, loaded 2025-01-01T00:00:00Z from "
		     "/etc/p.yaml\n"
		     "interfaces    eth0 (native)\n"
		     "              eth1 (generic)\n"
		     "programs      fg_xdp (id 12)\n"
		     "not enforced  protect, services\n"
		     "pid           42\n",
		     "status");
	free(out);
}

static void test_cli_bans_table(void)
{
	char *out = render(fmt_bans, "[{\"cidr\":\"10.0.0.1/32\",\"reason\":\"manual\","
				     "\"expires_in_s\":600},{\"cidr\":\"2001:db8::/32\","
				     "\"reason\":\"scan\",\"expires_in_s\":null}]");

	ASSERT_STREQ(out,
		     "CIDR                REASON      EXPIRES IN\n"
		     "10.0.0.1/32         manual      10m\n"
		     "2001:db8::/32       scan        never\n",
		     "bans");
	free(out);
	out = render(fmt_bans, "[]");
	ASSERT_STREQ(out, "no bans\n", "empty");
	free(out);
}

static void test_cli_event_line(void)
{
	char *out = render(
	    fmt_event, "{\"ts\":\"2025-01-01T00:00:01Z\",\"event\":\"drop\",\"reason\":\"rule\","
		       "\"rule\":\"no-udp\",\"src\":\"10.0.0.1\",\"dst\":\"fd00::2\","
		       "\"sport\":4000,\"dport\":53,\"proto\":\"udp\",\"iface\":\"eth0\"}");

	ASSERT_STREQ(out,
		     "2025-01-01T00:00:01Z drop rule=no-udp reason=rule udp 10.0.0.1:4000 -> "
		     "[fd00::2]:53 iface=eth0\n",
		     "event");
	free(out);
}

static void test_cli_doctor_checks(void)
{
	char *out = render(fmt_doctor, "{\"checks\":[{\"name\":\"btf\",\"ok\":true,\"detail\":"
				       "\"present\"},{\"name\":\"native xdp\",\"ok\":false,"
				       "\"detail\":\"eth0: driver lacks support\",\"hint\":"
				       "\"use mode: generic\"}]}");

	ASSERT_STREQ(out,
		     "ok    btf        present\n"
		     "FAIL  native xdp eth0: driver lacks support (use mode: generic)\n",
		     "doctor");
	free(out);
}

static void test_cli_policy_error_renamed(void)
{
	char *s = fmt_policy_error("<api>:3:7: rules[0]: unknown key \"x\"", "p.yaml");

	ASSERT_STREQ(s, "p.yaml:3:7: rules[0]: unknown key \"x\"", "<api> prefix");
	free(s);
	s = fmt_policy_error("12:1: bad", "dir/p.yaml");
	ASSERT_STREQ(s, "dir/p.yaml:12:1: bad", "bare line:col");
	free(s);
	s = fmt_policy_error("document is empty", "p.yaml");
	ASSERT_STREQ(s, "p.yaml: document is empty", "no position");
	free(s);
}

static void test_cli_policy_errors_shapes(void)
{
	static const char *const answers[] = {
	    "{\"error\":\"invalid\",\"detail\":[\"<api>:1:2: a\",\"<api>:3:4: b\"]}",
	    "{\"error\":\"invalid\",\"detail\":\"<api>:1:2: a\\n<api>:3:4: b\\n\"}",
	    "{\"error\":\"invalid\",\"detail\":[{\"line\":1,\"col\":2,\"message\":\"a\"},"
	    "{\"line\":3,\"col\":4,\"message\":\"b\"}]}",
	    "{\"error\":\"invalid\",\"errors\":[\"<api>:1:2: a\",\"<api>:3:4: b\"]}",
	};
	size_t i;

	for (i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		json_t *doc = json_loads(answers[i], 0, NULL);
		char *out = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&out, &len);

		ASSERT_EQ(fmt_policy_errors(f, doc, "p.yaml"), 2, answers[i]);
		fclose(f);
		ASSERT_STREQ(out, "p.yaml:1:2: a\np.yaml:3:4: b\n", answers[i]);
		free(out);
		json_decref(doc);
	}
}

static void test_cli_top_rates(void)
{
	json_t *prev = json_loads("{\"rules\":[{\"name\":\"r\",\"action\":\"drop\",\"packets\":10,"
				  "\"bytes\":1000}],\"default\":{\"packets\":0,\"bytes\":0},"
				  "\"drops\":{\"rule\":10},\"interfaces\":[{\"name\":\"e\","
				  "\"mode\":\"native\",\"rx_packets\":100}]}",
				  0, NULL);
	json_t *cur = json_loads("{\"rules\":[{\"name\":\"r\",\"action\":\"drop\",\"packets\":30,"
				 "\"bytes\":251000}],\"default\":{\"packets\":0,\"bytes\":0},"
				 "\"drops\":{\"rule\":30},\"interfaces\":[{\"name\":\"e\","
				 "\"mode\":\"native\",\"rx_packets\":300}]}",
				 0, NULL);
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fmt_top(f, prev, cur, 2.0);
	fclose(f);
	/* 20 packets and 250000 bytes in 2 s: 10 pps, 1 Mbit/s */
	ASSERT_STRSTR(out, "r          drop            10       1.0Mbit            30\n", "rule");
	ASSERT_STRSTR(out, "rule                            10            30\n", "drops");
	ASSERT_STRSTR(out, "e          native          100           300\n", "iface");
	free(out);
	json_decref(prev);
	json_decref(cur);
}

struct lines_seen {
	char text[256];
	int n, stop_at;
};

static int collect_line(const char *line, size_t len, void *ctx)
{
	struct lines_seen *l = ctx;
	size_t off = strlen(l->text);

	snprintf(l->text + off, sizeof(l->text) - off, "[%.*s]", (int)len, line);
	return ++l->n == l->stop_at;
}

static void test_cli_lines_split_across_chunks(void)
{
	static const char *const chunks[] = {"{\"a\":1}\n{\"b\"",
					     ":2}\n",
					     "{\"c\":3}\n{\"d\":4}\n",
					     "",
					     "{\"e\"",
					     ":5",
					     "}\n",
					     "tail"};
	struct lines_seen l = {.stop_at = -1};
	struct line_buf lb = {0};
	size_t i;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		ASSERT_OK(line_buf_feed(&lb, chunks[i], strlen(chunks[i]), collect_line, &l),
			  chunks[i]);
	ASSERT_EQ(l.n, 5, "lines before the tail");
	ASSERT_OK(line_buf_finish(&lb, collect_line, &l), "finish");
	ASSERT_STREQ(l.text, "[{\"a\":1}][{\"b\":2}][{\"c\":3}][{\"d\":4}][{\"e\":5}][tail]",
		     "lines");
	line_buf_free(&lb);
}

static void test_cli_lines_stop_when_asked(void)
{
	struct lines_seen l = {.stop_at = 2};
	struct line_buf lb = {0};
	const char *data = "one\ntwo\nthree\n";

	ASSERT_EQ(line_buf_feed(&lb, data, strlen(data), collect_line, &l), 1, "stopped");
	ASSERT_STREQ(l.text, "[one][two]", "lines until the stop");
	line_buf_free(&lb);
}

/* A pcap stream: global header and `n` records of 60 bytes. */
static size_t make_pcap(uint8_t *buf, int n, bool swap)
{
	uint32_t magic = swap ? 0xd4c3b2a1 : 0xa1b2c3d4, caplen = 60;
	size_t off = 24;
	int i;

	memset(buf, 0, 24 + n * 76);
	memcpy(buf, &magic, 4);
	if (swap)
		caplen = __builtin_bswap32(caplen);
	for (i = 0; i < n; i++, off += 76) {
		memcpy(buf + off + 8, &caplen, 4);
		memcpy(buf + off + 12, &caplen, 4);
	}
	return off;
}

static void test_cli_pcap_count_stops_at_record_end(void)
{
	uint8_t buf[24 + 5 * 76];
	size_t len = make_pcap(buf, 5, false);
	struct pcap_scan s;

	pcap_scan_init(&s, 2);
	ASSERT_EQ(pcap_scan(&s, buf, len), 24 + 2 * 76, "whole stream: bytes kept");
	ASSERT_EQ(s.records, 2, "records");

	pcap_scan_init(&s, 3);
	long kept = 0;
	for (size_t i = 0; i < len; i++)
		kept += pcap_scan(&s, buf + i, 1);
	ASSERT_EQ(kept, 24 + 3 * 76, "byte by byte");
	ASSERT_EQ(s.records, 3, "records byte by byte");

	pcap_scan_init(&s, 0);
	ASSERT_EQ(pcap_scan(&s, buf, len), (long)len, "no limit");
	ASSERT_EQ(s.records, 5, "all records");
}

static void test_cli_pcap_other_byte_order_and_garbage(void)
{
	uint8_t buf[24 + 2 * 76];
	size_t len = make_pcap(buf, 2, true);
	struct pcap_scan s;

	pcap_scan_init(&s, 1);
	ASSERT_EQ(pcap_scan(&s, buf, len), 24 + 76, "swapped");
	memset(buf, 'x', 24);
	pcap_scan_init(&s, 1);
	ASSERT_TRUE(pcap_scan(&s, buf, len) < 0, "not pcap");
}

int main(void)
{
	RUN_TEST(test_cli_args_options_after_positionals);
	RUN_TEST(test_cli_args_rejects_foreign_option);
	RUN_TEST(test_cli_args_counts_positionals);
	RUN_TEST(test_cli_args_numbers);
	RUN_TEST(test_cli_exit_codes_from_http_status);
	RUN_TEST(test_cli_http_error_message_and_code);
	RUN_TEST(test_cli_socket_path_precedence);
	RUN_TEST(test_cli_ttl_parsing);
	RUN_TEST(test_cli_duration_format);
	RUN_TEST(test_cli_stats_table);
	RUN_TEST(test_cli_stats_no_drops);
	RUN_TEST(test_cli_status_text);
	RUN_TEST(test_cli_bans_table);
	RUN_TEST(test_cli_event_line);
	RUN_TEST(test_cli_doctor_checks);
	RUN_TEST(test_cli_policy_error_renamed);
	RUN_TEST(test_cli_policy_errors_shapes);
	RUN_TEST(test_cli_top_rates);
	RUN_TEST(test_cli_lines_split_across_chunks);
	RUN_TEST(test_cli_lines_stop_when_asked);
	RUN_TEST(test_cli_pcap_count_stops_at_record_end);
	RUN_TEST(test_cli_pcap_other_byte_order_and_garbage);
	return FG_TEST_EXIT();
}
