// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CLI commands that show or change runtime state through the API: status,
 * stats, services, ban, set. Listings print tables, or the daemon's JSON
 * with --json.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "policy.h"

/* GET `path` and print it as JSON or with `fmt`. */
static int show(struct cli *cli, const char *what, const char *path,
		void (*fmt)(FILE *, const json_t *))
{
	json_t *doc;
	int rc;

	rc = cli_call(cli, what, "GET", path, NULL, &doc);
	if (rc)
		return rc;
	if (cli->json)
		cli_print_json(stdout, doc);
	else
		fmt(stdout, doc);
	json_decref(doc);
	return CLI_OK;
}

int cmd_status(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	return show(cli, "status", "/v1/status", fmt_status);
}

int cmd_stats(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	return show(cli, "stats", "/v1/stats", fmt_stats);
}

int cmd_services(struct cli *cli, const struct cli_args *a)
{
	(void)a;
	return show(cli, "services", "/v1/services", fmt_services);
}

/* A CIDR argument, checked here so a typo gets a precise message. */
static int check_cidr(const char *what, const char *s)
{
	struct fg_cidr c;
	char msg[160] = "";

	if (!parse_cidr_msg(s, &c, msg, sizeof(msg)))
		return CLI_OK;
	fprintf(stderr, "flowgate: %s: bad address \"%s\": %s\n", what, s,
		*msg ? msg : "expected an IPv4 or IPv6 address or CIDR");
	return CLI_EUSER;
}

/* POST/DELETE with a JSON body, then print `done` (or the answer). */
static int change(struct cli *cli, const char *what, const char *method, const char *path,
		  json_t *body, const char *done)
{
	json_t *ans;
	int rc;

	rc = cli_call(cli, what, method, path, body, &ans);
	if (rc)
		return rc;
	if (cli->json)
		cli_print_json(stdout, ans);
	else
		printf("%s\n", done);
	json_decref(ans);
	return CLI_OK;
}

static int ban_add(struct cli *cli, const struct cli_args *a, const char *cidr)
{
	long long ttl = a->ttl ? cli_parse_ttl(a->ttl) : 0;
	char done[256], dur[32];
	json_t *body;
	int rc;

	if (ttl < 0) {
		fprintf(stderr,
			"flowgate: ban add: bad --ttl \"%s\": want a duration like 90s, 10m, 2h or "
			"seconds\n",
			a->ttl);
		return CLI_EUSER;
	}
	body = json_pack("{ss}", "cidr", cidr);
	if (body && ttl)
		json_object_set_new(body, "ttl", json_integer(ttl));
	fmt_duration(dur, sizeof(dur), ttl);
	snprintf(done, sizeof(done), "banned %s %s%s", cidr, ttl ? "for " : "until unbanned",
		 ttl ? dur : "");
	rc = change(cli, "ban add", "POST", "/v1/bans", body, done);
	json_decref(body);
	return rc;
}

static int ban_del(struct cli *cli, const char *cidr)
{
	char *esc = client_escape(cidr);
	char path[512], done[256];
	int rc;

	if (!esc)
		return CLI_ESYS;
	snprintf(path, sizeof(path), "/v1/bans/%s", esc);
	snprintf(done, sizeof(done), "unbanned %s", cidr);
	rc = change(cli, "ban del", "DELETE", path, NULL, done);
	free(esc);
	return rc;
}

int cmd_ban(struct cli *cli, const struct cli_args *a)
{
	const char *sub = a->argv[0];
	bool list = !strcmp(sub, "list");

	if (list && a->argc == 1)
		return show(cli, "ban list", "/v1/bans", fmt_bans);
	if (!list && a->argc == 2 && (!strcmp(sub, "add") || !strcmp(sub, "del"))) {
		if (check_cidr(sub[0] == 'a' ? "ban add" : "ban del", a->argv[1]))
			return CLI_EUSER;
		if (sub[0] == 'd' && a->ttl) {
			fprintf(stderr, "flowgate: ban del: --ttl is for ban add\n");
			return CLI_EUSER;
		}
		return sub[0] == 'a' ? ban_add(cli, a, a->argv[1]) : ban_del(cli, a->argv[1]);
	}
	fprintf(stderr, "flowgate: ban: usage: flowgate ban list | add CIDR [--ttl D] | del CIDR\n"
			"Try 'flowgate ban --help'.\n");
	return CLI_EUSER;
}

/* {"add":[CIDR...]} or {"del":[...]}; NULL after a bad CIDR was reported. */
static json_t *set_body(const char *what, const char *key, char **cidrs, int n)
{
	json_t *arr = json_array(), *body;
	int i;

	for (i = 0; i < n; i++) {
		if (check_cidr(what, cidrs[i])) {
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_string(cidrs[i]));
	}
	body = json_object();
	json_object_set_new(body, key, arr);
	return body;
}

int cmd_set(struct cli *cli, const struct cli_args *a)
{
	const char *sub = a->argv[0], *name = a->argv[1];
	bool add = !strcmp(sub, "add");
	char path[512], done[512], what[16];
	json_t *body;
	char *esc;
	int rc;

	if (!add && strcmp(sub, "del")) {
		fprintf(stderr, "flowgate: set: usage: flowgate set add|del NAME CIDR...\n"
				"Try 'flowgate set --help'.\n");
		return CLI_EUSER;
	}
	snprintf(what, sizeof(what), "set %s", sub);
	body = set_body(what, sub, a->argv + 2, a->argc - 2);
	if (!body)
		return CLI_EUSER;
	esc = client_escape(name);
	snprintf(path, sizeof(path), "/v1/sets/%s", esc ? esc : "");
	snprintf(done, sizeof(done), "set %s: %s %d address%s", name, add ? "added" : "removed",
		 a->argc - 2, a->argc == 3 ? "" : "es");
	rc = change(cli, what, add ? "POST" : "DELETE", path, body, done);
	free(esc);
	json_decref(body);
	return rc;
}
