// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What every CLI command shares: one option parser (each command says which
 * options it takes), API calls that turn failures into messages and exit
 * codes, and --json output.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy.h"

static const struct option cli_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, 'j'},
    {"follow", no_argument, NULL, 'f'},
    {"ttl", required_argument, NULL, 't'},
    {"write", required_argument, NULL, 'w'},
    {"count", required_argument, NULL, 'c'},
    {"once", no_argument, NULL, 'o'},
    {"iterations", required_argument, NULL, 'n'},
    {"interval", required_argument, NULL, 'd'},
    {"socket", required_argument, NULL, 'S'},
    {NULL, 0, NULL, 0},
};

/* Which enum cli_opt bit an option character needs (0: always allowed). */
static unsigned opt_bit(int c)
{
	switch (c) {
	case 'j':
		return CLI_O_JSON;
	case 'f':
		return CLI_O_FOLLOW;
	case 't':
		return CLI_O_TTL;
	case 'w':
		return CLI_O_WRITE;
	case 'c':
		return CLI_O_COUNT;
	case 'o':
		return CLI_O_ONCE;
	case 'n':
		return CLI_O_ITER;
	case 'd':
		return CLI_O_INTERVAL;
	}
	return 0;
}

static int parse_positive(const char *cmd, const char *opt, const char *s, long *out, FILE *err)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0) {
		fprintf(err, "flowgate %s: %s wants a positive number, not \"%s\"\n", cmd, opt, s);
		return CLI_EUSER;
	}
	*out = v;
	return 0;
}

static int parse_seconds(const char *cmd, const char *s, double *out, FILE *err)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.1 && v <= 3600)) {
		fprintf(err,
			"flowgate %s: --interval wants seconds between 0.1 and 3600, not \"%s\"\n",
			cmd, s);
		return CLI_EUSER;
	}
	*out = v;
	return 0;
}

/* Store one option's value; returns 0 or CLI_EUSER. */
static int set_opt(const struct cli_cmd *cmd, int c, struct cli_args *a, FILE *err)
{
	switch (c) {
	case 'h':
		a->help = true;
		return 0;
	case 'j':
		a->json = true;
		return 0;
	case 'f':
		a->follow = true;
		return 0;
	case 'o':
		a->once = true;
		return 0;
	case 't':
		a->ttl = optarg;
		return 0;
	case 'w':
		a->write = optarg;
		return 0;
	case 'S':
		a->socket = optarg;
		return 0;
	case 'c':
		return parse_positive(cmd->name, "--count", optarg, &a->count, err);
	case 'n':
		return parse_positive(cmd->name, "--iterations", optarg, &a->iterations, err);
	case 'd':
		return parse_seconds(cmd->name, optarg, &a->interval, err);
	}
	return CLI_EUSER;
}

static int bad_usage(const struct cli_cmd *cmd, FILE *err, const char *fmt, const char *arg)
{
	fprintf(err, "flowgate %s: ", cmd->name);
	fprintf(err, fmt, arg);
	fprintf(err, "\nusage: flowgate %s %s\nTry 'flowgate %s --help'.\n", cmd->name,
		cmd->synopsis, cmd->name);
	return CLI_EUSER;
}

int cli_parse_args(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a, FILE *err)
{
	int c, rc;

	memset(a, 0, sizeof(*a));
	a->interval = 1.0;
	optind = 0; /* glibc: restart scanning from scratch */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hfw:c:n:d:", cli_longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return bad_usage(cmd, err, "bad option or missing value: %s",
					 argv[optind - 1]);
		if (opt_bit(c) && !(cmd->opts & opt_bit(c)))
			return bad_usage(cmd, err, "this command has no option %s",
					 argv[optind - 1]);
		rc = set_opt(cmd, c, a, err);
		if (rc)
			return rc;
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	if (a->help)
		return 0;
	if (a->argc < cmd->min_args)
		return bad_usage(cmd, err, "%s", "missing argument");
	if (cmd->max_args >= 0 && a->argc > cmd->max_args)
		return bad_usage(cmd, err, "unexpected argument \"%s\"", a->argv[cmd->max_args]);
	return 0;
}

int cli_exit_for_status(long status)
{
	if (status >= 200 && status < 300)
		return CLI_OK;
	if (status >= 400 && status < 500)
		return CLI_EUSER;
	return CLI_ESYS;
}

int cli_report_unreachable(const struct cli *cli, const char *what, int err)
{
	const char *sock = cli->socket;

	switch (-err) {
	case EACCES:
	case EPERM:
		fprintf(stderr,
			"flowgate: cannot reach flowgated at %s: %s (run as root or as a member of "
			"group flowgate)\n",
			sock, strerror(-err));
		break;
	case ENOENT:
	case ECONNREFUSED:
	case ENOTDIR:
	case ENOTSOCK:
		fprintf(stderr,
			"flowgate: cannot reach flowgated at %s: %s (is the daemon running? use "
			"--socket)\n",
			sock, strerror(-err));
		break;
	case ETIMEDOUT:
		fprintf(stderr, "flowgate: %s: flowgated at %s did not answer in time\n", what,
			sock);
		break;
	default:
		fprintf(stderr, "flowgate: %s: talking to flowgated at %s failed: %s\n", what, sock,
			cli->client.err[0] ? cli->client.err : strerror(-err));
	}
	return CLI_ESYS;
}

static void print_detail(FILE *f, const json_t *detail)
{
	size_t i;
	json_t *v;
	char *s;

	if (json_is_string(detail)) {
		fprintf(f, "  %s\n", json_string_value(detail));
		return;
	}
	if (json_is_array(detail)) {
		json_array_foreach(detail, i, v) print_detail(f, v);
		return;
	}
	if (!detail || json_is_null(detail))
		return;
	s = json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		fprintf(f, "  %s\n", s);
	free(s);
}

int cli_report_http(const char *what, const struct client_resp *r, FILE *f)
{
	json_t *doc = r->body ? json_loads(r->body, JSON_DECODE_ANY, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(doc, "error"));

	if (msg) {
		fprintf(f, "flowgate: %s: %s (HTTP %ld)\n", what, msg, r->status);
		print_detail(f, json_object_get(doc, "detail"));
	} else if (r->len) {
		fprintf(f, "flowgate: %s: flowgated answered HTTP %ld: %.*s\n", what, r->status,
			(int)strcspn(r->body, "\n"), r->body);
	} else {
		fprintf(f, "flowgate: %s: flowgated answered HTTP %ld\n", what, r->status);
	}
	json_decref(doc);
	return cli_exit_for_status(r->status) ?: CLI_ESYS;
}

/* Parse a 2xx answer's body (empty = JSON null). */
static int parse_answer(const char *what, const struct client_resp *r, json_t **out)
{
	json_error_t jerr;

	if (!out)
		return CLI_OK;
	if (!r->len) {
		*out = json_null();
		return CLI_OK;
	}
	*out = json_loads(r->body, JSON_DECODE_ANY, &jerr);
	if (*out)
		return CLI_OK;
	fprintf(stderr, "flowgate: %s: flowgated's answer is not JSON (%s at byte %d)\n", what,
		jerr.text, jerr.position);
	return CLI_ESYS;
}

int cli_call(struct cli *cli, const char *what, const char *method, const char *path, json_t *body,
	     json_t **out)
{
	struct client_resp r;
	char *text = NULL;
	int err, rc;

	if (out)
		*out = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			fprintf(stderr, "flowgate: %s: out of memory\n", what);
			return CLI_ESYS;
		}
	}
	err = client_request(&cli->client, method, path, text, text ? strlen(text) : 0,
			     "application/json", &r);
	free(text);
	if (err)
		return cli_report_unreachable(cli, what, err);
	if (cli_exit_for_status(r.status))
		rc = cli_report_http(what, &r, stderr);
	else
		rc = parse_answer(what, &r, out);
	client_resp_free(&r);
	return rc;
}

void cli_print_json(FILE *f, const json_t *doc)
{
	json_dumpf(doc, f, JSON_INDENT(2) | JSON_ENCODE_ANY);
	fputc('\n', f);
	fflush(f);
}

long long cli_parse_ttl(const char *s)
{
	uint64_t ms;

	if (!s || parse_duration_ms(s, &ms) || ms == 0)
		return -1;
	return (long long)((ms + 999) / 1000);
}
