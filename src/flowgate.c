// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate: the command line of flowgated (DESIGN.md §3). This file holds
 * the command table with every command's help, and main(): global options,
 * then one command. Exit codes: 0 ok, 1 user error, 2 system error.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "cli.h"

#define SOCKET_HELP                                                                                \
	"  --socket PATH   flowgated's API socket (default: $FLOWGATE_SOCKET, "                    \
	"else " FG_DEFAULT_SOCKET ")\n"

static const struct cli_cmd cmds[] = {
    {"check", "FILE", "validate a policy file (no daemon, no root needed)",
     "Parse and validate FILE as flowgated would. Errors go to stderr as\n"
     "FILE:LINE:COL: message, every one of them; the exit status is 1 if any.\n"
     "FILE \"-\" reads standard input.\n"
     "\nEXAMPLES:\n"
     "    flowgate check /etc/flowgate/policy.yaml\n"
     "    flowgate check policy.yaml && flowgate apply policy.yaml\n",
     0, 1, 1, cmd_check},
    {"apply", "FILE", "replace the running policy atomically",
     "Send FILE to flowgated, which swaps it in atomically. If FILE has errors\n"
     "they are printed as FILE:LINE:COL: message, the exit status is 1 and the\n"
     "running policy stays. Set files named in FILE are read by the daemon,\n"
     "from its policy folder.\n"
     "\nOPTIONS:\n"
     "  --json          print the daemon's answer as JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate apply /etc/flowgate/policy.yaml   # prints: applied generation N\n"
     "    flowgate --socket /tmp/fg.sock apply lab.yaml\n",
     CLI_O_JSON, 1, 1, cmd_apply},
    {"reload", "", "re-read the daemon's -c file",
     "Ask flowgated to re-read the policy file it was started with (-c), as\n"
     "SIGHUP does.\n"
     "\nOPTIONS:\n"
     "  --json          print the daemon's answer as JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate reload\n",
     CLI_O_JSON, 0, 0, cmd_reload},
    {"detach", "", "remove programs and pins; traffic is no longer managed",
     "Detach every flowgate program, remove the pinned maps and stop flowgated.\n"
     "This is the only way traffic stops being managed: stopping the daemon\n"
     "leaves the last policy enforced.\n"
     "\nOPTIONS:\n"
     "  --json          print the daemon's answer as JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate detach\n",
     CLI_O_JSON, 0, 0, cmd_detach},
    {"explain", "PACKET", "(later) what the datapath would do with a packet",
     "Not implemented yet.\n"
     "\nEXAMPLES:\n"
     "    flowgate explain 'tcp 10.0.0.1:1234 > 10.0.0.2:22'\n",
     0, 0, -1, cmd_explain},
    {"status", "[--json]", "interfaces, attach modes, policy generation, uptime",
     "Show flowgated's version and uptime, the running policy (generation, when\n"
     "it was loaded, where from), each interface with its XDP mode, and the\n"
     "policy sections that are checked but not enforced yet.\n"
     "\nOPTIONS:\n"
     "  --json          {\"version\",\"policy\":{\"generation\",\"loaded_at\",\"source\"},\n"
     "                   \"interfaces\":[{\"name\",\"mode\"}],\"not_enforced\":[...]}\n" SOCKET_HELP
     "\nEXAMPLES:\n"
     "    flowgate status\n"
     "    flowgate status --json | jq .policy.generation\n",
     CLI_O_JSON, 0, 0, cmd_status},
    {"stats", "[--json]", "per-rule counters, drops by reason, interfaces",
     "Show packets and bytes (L2 frame bytes) per rule and for the default\n"
     "verdict, drops by reason, and packets seen per interface.\n"
     "\nOPTIONS:\n"
     "  --json          {\"rules\":[{\"name\",\"action\",\"packets\",\"bytes\"}],\n"
     "                   \"default\":{\"packets\",\"bytes\"},\"drops\":{\"REASON\":packets},\n"
     "                   \"interfaces\":[{\"name\",\"mode\",\"rx_packets\"}]}\n" SOCKET_HELP
     "\nEXAMPLES:\n"
     "    flowgate stats\n"
     "    flowgate stats --json | jq '.rules[] | select(.name==\"ssh\").packets'\n",
     CLI_O_JSON, 0, 0, cmd_stats},
    {"ban", "list [--json] | add CIDR [--ttl D] | del CIDR", "list, add or remove bans",
     "Banned sources are dropped before any rule. A ban without --ttl lasts\n"
     "until it is removed; bans are runtime state and survive a daemon restart\n"
     "and an apply.\n"
     "\nOPTIONS:\n"
     "  --ttl D         ban for D: 90s, 10m, 2h, or plain seconds\n"
     "  --json          ban list as [{\"cidr\",\"reason\",\"expires_in_s\"}]\n" SOCKET_HELP
     "\nEXAMPLES:\n"
     "    flowgate ban list\n"
     "    flowgate ban add 198.51.100.7 --ttl 10m\n"
     "    flowgate ban add 2001:db8::/32\n"
     "    flowgate ban del 198.51.100.7/32\n",
     CLI_O_JSON | CLI_O_TTL, 1, 2, cmd_ban},
    {"set", "add|del NAME CIDR...", "change a named set without a full apply",
     "Add addresses to, or remove them from, the policy's set NAME. Rules that\n"
     "use \"@NAME\" see the change at once. The change lasts until the next\n"
     "apply or reload, which load the set from the policy again.\n"
     "\nOPTIONS:\n"
     "  --json          print the daemon's answer as JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate set add blocklist 203.0.113.0/24 198.51.100.9\n"
     "    flowgate set del blocklist 203.0.113.0/24\n",
     CLI_O_JSON, 3, -1, cmd_set},
    {"services", "[--json]", "load-balanced services, backends and health",
     "Show each service (VIP, port, scheduler) with its backends, their health\n"
     "and connections.\n"
     "\nOPTIONS:\n"
     "  --json          print the daemon's JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate services\n"
     "    flowgate services --json\n",
     CLI_O_JSON, 0, 0, cmd_services},
    {"events", "[-f] [--json] [-c N]", "the audit stream: drops, bans, alerts",
     "Print recent audit events, one line each; with -f keep following new ones\n"
     "until Ctrl-C.\n"
     "\nOPTIONS:\n"
     "  -f, --follow    keep printing events as they happen\n"
     "  -c, --count N   stop after N events\n"
     "  --json          print the JSON lines as the daemon sends them\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate events\n"
     "    flowgate events -f\n"
     "    flowgate events -f --json -c 1 | jq .rule\n",
     CLI_O_JSON | CLI_O_FOLLOW | CLI_O_COUNT, 0, 0, cmd_events},
    {"capture", "[-w FILE] [-c N] [FILTER]", "dropped packets as pcap",
     "Stream dropped packets as pcap, to FILE or to standard output (never to a\n"
     "terminal), until Ctrl-C or N packets. FILTER (pcap-filter syntax, e.g.\n"
     "\"udp port 53\") is applied by the daemon.\n"
     "\nOPTIONS:\n"
     "  -w, --write FILE  write to FILE (\"-\": standard output)\n"
     "  -c, --count N     stop after N packets\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate capture -w drops.pcap\n"
     "    flowgate capture -c 10 udp port 53 | tcpdump -nr -\n",
     CLI_O_WRITE | CLI_O_COUNT, 0, -1, cmd_capture},
    {"top", "[--once | -n N] [-d SECONDS]", "live view of rates and drops",
     "Poll the counters every interval and show per-rule packets/s and bit rate,\n"
     "drops by reason per second and interface rx packets/s. On a terminal the\n"
     "screen is redrawn until Ctrl-C; with --once or -n the samples are printed\n"
     "one after the other, for scripts.\n"
     "\nOPTIONS:\n"
     "  --once               one sample (over one interval), then exit\n"
     "  -n, --iterations N   N samples, then exit\n"
     "  -d, --interval S     seconds between samples (default 1)\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate top\n"
     "    flowgate top --once\n"
     "    flowgate top -n 5 -d 0.5 > rates.txt\n",
     CLI_O_ONCE | CLI_O_ITER | CLI_O_INTERVAL, 0, 0, cmd_top},
    {"doctor", "[--json]", "what this kernel/NIC supports, what would fail and why",
     "Ask flowgated what this machine supports and what would fail. When no\n"
     "daemon runs, check what the CLI can see itself (kernel, BTF, bpffs,\n"
     "privileges, program and map types).\n"
     "\nOPTIONS:\n"
     "  --json          print the checks as JSON\n" SOCKET_HELP "\nEXAMPLES:\n"
     "    flowgate doctor\n"
     "    flowgate doctor --json\n",
     CLI_O_JSON, 0, 0, cmd_doctor},
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct cli_cmd *cli_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	return NULL;
}

void cli_usage(FILE *f)
{
	size_t i;

	fprintf(f, "USAGE: flowgate [--socket PATH] [--json] COMMAND [ARGS]\n\n"
		   "The command line of flowgated, the eBPF/XDP traffic manager.\n\n"
		   "COMMANDS:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "    %-10s %s\n", cmds[i].name, cmds[i].summary);
	fprintf(f, "\nOPTIONS:\n" SOCKET_HELP "  --json          JSON output for listings\n"
		   "  -h, --help      this help; flowgate COMMAND --help for one command\n"
		   "  --version       print the version\n"
		   "\nExit status: 0 ok, 1 user error (bad arguments, invalid policy, refused\n"
		   "request), 2 system error (daemon unreachable or failing).\n"
		   "\nEXAMPLES:\n"
		   "    flowgate check policy.yaml\n"
		   "    flowgate apply policy.yaml\n"
		   "    flowgate status\n"
		   "    flowgate --socket /tmp/fg.sock stats --json\n");
}

void cli_cmd_help(const struct cli_cmd *cmd, FILE *f)
{
	fprintf(f, "USAGE: flowgate %s%s%s\n\n%s\n\n%s", cmd->name, *cmd->synopsis ? " " : "",
		cmd->synopsis, cmd->summary, cmd->help);
}

/* Global options before the command; returns the index of the command or
 * -1 after a usage error, or 0 when the run is over (help/version). */
static int parse_global(int argc, char **argv, struct cli *cli, int *rc)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];

		if (!strcmp(o, "--json")) {
			cli->json = true;
		} else if (!strcmp(o, "--socket") && i + 1 < argc) {
			cli->socket = argv[++i];
		} else if (!strncmp(o, "--socket=", 9)) {
			cli->socket = o + 9;
		} else if (!strcmp(o, "-h") || !strcmp(o, "--help")) {
			cli_usage(stdout);
			return 0;
		} else if (!strcmp(o, "--version")) {
			printf("flowgate %s\n", FG_VERSION);
			return 0;
		} else {
			if (!strcmp(o, "--socket"))
				fprintf(stderr, "flowgate: --socket needs a PATH\n");
			else
				fprintf(stderr, "flowgate: unknown option %s\n", o);
			fprintf(stderr, "Try 'flowgate --help'.\n");
			*rc = CLI_EUSER;
			return 0;
		}
	}
	return i;
}

/* `flowgate help [COMMAND]` */
static int run_help(int argc, char **argv)
{
	const struct cli_cmd *cmd = argc > 1 ? cli_find(argv[1]) : NULL;

	if (argc > 1 && !cmd) {
		fprintf(stderr, "flowgate: unknown command \"%s\"\n\n", argv[1]);
		cli_usage(stderr);
		return CLI_EUSER;
	}
	if (cmd)
		cli_cmd_help(cmd, stdout);
	else
		cli_usage(stdout);
	return CLI_OK;
}

static int run_cmd(struct cli *cli, const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_args a;
	int rc;

	rc = cli_parse_args(cmd, argc, argv, &a, stderr);
	if (rc)
		return rc;
	if (a.help) {
		cli_cmd_help(cmd, stdout);
		return CLI_OK;
	}
	if (a.socket)
		cli->socket = a.socket;
	cli->socket = client_socket_path(cli->socket);
	cli->json = cli->json || a.json;
	client_init(&cli->client, cli->socket);
	return cmd->run(cli, &a);
}

int main(int argc, char **argv)
{
	struct cli cli = {0};
	const struct cli_cmd *cmd;
	int i, rc = CLI_OK;

	i = parse_global(argc, argv, &cli, &rc);
	if (!i)
		return rc;
	if (i >= argc) {
		fprintf(stderr, "flowgate: no command given\n\n");
		cli_usage(stderr);
		return CLI_EUSER;
	}
	if (!strcmp(argv[i], "help"))
		return run_help(argc - i, argv + i);
	cmd = cli_find(argv[i]);
	if (!cmd) {
		fprintf(stderr, "flowgate: unknown command \"%s\"\n\n", argv[i]);
		cli_usage(stderr);
		return CLI_EUSER;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error to handle, not death */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = run_cmd(&cli, cmd, argc - i, argv + i);
	curl_global_cleanup();
	fflush(stdout);
	return rc;
}
