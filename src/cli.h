/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flowgate CLI (DESIGN.md §3): the command table, one option parser for
 * every command, the calls into the daemon's API and the human formatting
 * of its JSON answers. Formatting functions are pure (JSON in, text out) so
 * unit tests can check them without a daemon.
 */
#ifndef FG_CLI_H
#define FG_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "client.h"

#include "version.h"

/* Exit codes: 0 ok, 1 user error, 2 system error. */
enum cli_exit {
	CLI_OK = 0,
	CLI_EUSER = 1,
	CLI_ESYS = 2,
};

/* Options a command may accept (struct cli_cmd.opts). */
enum cli_opt {
	CLI_O_JSON = 1 << 0,	 /* --json */
	CLI_O_FOLLOW = 1 << 1,	 /* -f, --follow */
	CLI_O_TTL = 1 << 2,	 /* --ttl D */
	CLI_O_WRITE = 1 << 3,	 /* -w, --write FILE */
	CLI_O_COUNT = 1 << 4,	 /* -c, --count N */
	CLI_O_ONCE = 1 << 5,	 /* --once */
	CLI_O_ITER = 1 << 6,	 /* -n, --iterations N */
	CLI_O_INTERVAL = 1 << 7, /* -d, --interval SECONDS */
};

/* A command's parsed options and positional arguments. */
struct cli_args {
	bool help;
	bool json;
	bool follow;
	bool once;
	const char *ttl;
	const char *write;
	const char *socket;
	long count;	 /* 0 = no limit */
	long iterations; /* 0 = forever */
	double interval; /* seconds */
	int argc;	 /* positional arguments */
	char **argv;
};

/* What every command runs with. */
struct cli {
	const char *socket;
	bool json;
	struct client client;
};

struct cli_cmd {
	const char *name;
	const char *synopsis;	/* arguments, for the usage line */
	const char *summary;	/* one line, for `flowgate --help` */
	const char *help;	/* description, options and EXAMPLES */
	unsigned opts;		/* enum cli_opt */
	int min_args, max_args; /* positional arguments; max -1 = any */
	int (*run)(struct cli *cli, const struct cli_args *a);
};

/* ---- flowgate.c: the command table ---- */
const struct cli_cmd *cli_find(const char *name);
void cli_usage(FILE *f);
void cli_cmd_help(const struct cli_cmd *cmd, FILE *f);

/* ---- cli.c: options, errors, API calls ---- */
/*
 * Parse a command's arguments (argv[0] is the command name). Returns 0,
 * or CLI_EUSER after printing what is wrong to `err`. --help sets a->help.
 */
int cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a, FILE *err);
/* 0 for 2xx, 1 for 4xx, 2 for anything else. */
int cli_exit_for_status(long status);
/* Print why the daemon could not be reached; returns CLI_ESYS. */
int cli_report_unreachable(const struct cli *cli, const char *what, int err);
/* Print an API error answer ("what: error: detail"); returns its exit code. */
int cli_report_http(const char *what, const struct client_resp *r, FILE *f);
/*
 * Send a request (body: JSON or NULL) and parse the answer's JSON into *out
 * (may be NULL if not wanted). Errors are reported on stderr under `what`;
 * returns the exit code.
 */
int cli_call(struct cli *cli, const char *what, const char *method, const char *path, json_t *body,
	     json_t **out);
/* Print a JSON document as the CLI's --json output. */
void cli_print_json(FILE *f, const json_t *doc);
/* Seconds from a duration ("10m", "90s", "500ms", plain seconds); -1 bad. */
long long cli_parse_ttl(const char *s);

/* ---- cli_fmt.c: human formatting ---- */
void fmt_duration(char *buf, size_t len, long long secs);
void fmt_stats(FILE *f, const json_t *stats);
void fmt_status(FILE *f, const json_t *status);
void fmt_bans(FILE *f, const json_t *bans);
void fmt_services(FILE *f, const json_t *services);
void fmt_event(FILE *f, const json_t *ev);
void fmt_doctor(FILE *f, const json_t *doc);
/*
 * One policy error line from the API ("<api>:3:7: msg") rewritten with the
 * operator's FILE ("policy.yaml:3:7: msg"). Malloc'd.
 */
char *fmt_policy_error(const char *line, const char *file);
/* Print the errors of a 400 answer to PUT /v1/policy; returns how many. */
int fmt_policy_errors(FILE *f, const json_t *answer, const char *file);
/* One `top` screen from two /v1/stats samples `dt` seconds apart. */
void fmt_top(FILE *f, const json_t *prev, const json_t *cur, double dt);

/* ---- commands ---- */
int cmd_check(struct cli *cli, const struct cli_args *a);
int cmd_apply(struct cli *cli, const struct cli_args *a);
int cmd_reload(struct cli *cli, const struct cli_args *a);
int cmd_detach(struct cli *cli, const struct cli_args *a);
int cmd_status(struct cli *cli, const struct cli_args *a);
int cmd_stats(struct cli *cli, const struct cli_args *a);
int cmd_ban(struct cli *cli, const struct cli_args *a);
int cmd_set(struct cli *cli, const struct cli_args *a);
int cmd_services(struct cli *cli, const struct cli_args *a);
int cmd_events(struct cli *cli, const struct cli_args *a);
int cmd_capture(struct cli *cli, const struct cli_args *a);
int cmd_top(struct cli *cli, const struct cli_args *a);
int cmd_doctor(struct cli *cli, const struct cli_args *a);
int cmd_explain(struct cli *cli, const struct cli_args *a);

/* cli_stream.c: Ctrl-C/SIGTERM set *flag instead of killing the CLI. */
void cli_catch_stop(volatile int **flag);

/* Splits a byte stream into lines (without the '\n') across chunks. */
struct line_buf {
	char *buf; /* the start of a line whose end has not come yet */
	size_t len;
};
/* Called with each line; non-zero stops the feeding and is returned. */
typedef int (*line_fn)(const char *line, size_t len, void *ctx);
int line_buf_feed(struct line_buf *lb, const char *data, size_t len, line_fn fn, void *ctx);
/* A last line that ended without '\n'. */
int line_buf_finish(struct line_buf *lb, line_fn fn, void *ctx);
void line_buf_free(struct line_buf *lb);

/* Follows a pcap stream to count whole records (capture --count). */
enum pcap_scan_state { PCAP_S_GLOBAL = 0, PCAP_S_RECHDR, PCAP_S_DATA };
struct pcap_scan {
	int state; /* enum pcap_scan_state */
	bool swap; /* file written in the other byte order */
	uint8_t hdr[24];
	size_t have;  /* bytes of the current header in hdr */
	size_t need;  /* bytes left in the current unit */
	long records; /* complete records seen */
	long max;     /* stop after this many; 0 = never */
};
void pcap_scan_init(struct pcap_scan *s, long max);
/*
 * Feed stream bytes; returns how many belong before the end of record
 * number `max` (all of them while under it), or -EPROTO if this is not a
 * pcap stream.
 */
long pcap_scan(struct pcap_scan *s, const void *data, size_t len);

#endif /* FG_CLI_H */
