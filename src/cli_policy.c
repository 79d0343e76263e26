// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CLI commands that change what runs: check (no daemon, no root), apply,
 * reload, detach; and explain, which is still to come.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "policy.h"

#define CLI_POLICY_MAX (256UL << 20) /* a 1M-entry inline set is ~30 MB */

static size_t set_entries(const struct policy *p)
{
	size_t i, n = 0;

	for (i = 0; i < p->nsets; i++)
		n += p->sets[i].ncidrs;
	return n;
}

int cmd_check(struct cli *cli, const struct cli_args *a)
{
	const char *path = a->argv[0];
	const char *un[8];
	struct policy p;
	size_t nun, i;
	int nerr = 0;

	(void)cli;
	if (policy_load(path, NULL, &p, stderr, &nerr))
		return CLI_EUSER;
	printf("%s: ok (%zu rules, %zu sets, %zu entries)\n", path, p.nrules, p.nsets,
	       set_entries(&p));
	nun = policy_unenforced(&p, un, sizeof(un) / sizeof(un[0]));
	for (i = 0; i < nun; i++)
		fprintf(stderr, "%s: note: section \"%s\" is checked but not enforced yet\n", path,
			un[i]);
	policy_free(&p);
	return CLI_OK;
}

/* Read a whole file (or stdin for "-") into a NUL-terminated buffer. */
static int read_all(const char *path, char **out, size_t *len)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	size_t cap = 0, n = 0;
	char *buf = NULL, *nb;
	ssize_t r = 0;
	int err = 0;

	if (fd < 0)
		return -errno;
	do {
		if (n + 65536 + 1 > cap) {
			cap = cap ? cap * 2 : 65536 + 1;
			nb = cap > CLI_POLICY_MAX ? NULL : realloc(buf, cap);
			if (!nb) {
				err = cap > CLI_POLICY_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = nb;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno != EINTR)
			err = -errno;
		else if (r > 0)
			n += r;
	} while (!err && r != 0);
	if (fd)
		close(fd);
	if (err || !buf) {
		free(buf);
		return err ?: -ENOMEM;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

static long long answer_generation(const json_t *ans)
{
	const json_t *g = json_object_get(ans, "generation");

	if (!g)
		g = json_object_get(json_object_get(ans, "policy"), "generation");
	return json_is_integer(g) ? json_integer_value(g) : -1;
}

/* A 400 answer to PUT /v1/policy: the file's errors, named after FILE. */
static int apply_rejected(const char *path, const struct client_resp *r)
{
	json_t *doc = json_loads(r->body ? r->body : "", 0, NULL);
	int n = doc ? fmt_policy_errors(stderr, doc, path) : 0;

	json_decref(doc);
	if (!n)
		return cli_report_http("apply", r, stderr);
	fprintf(stderr, "flowgate: apply: %s rejected; the running policy is unchanged\n", path);
	return CLI_EUSER;
}

static int apply_done(struct cli *cli, const char *path, const struct client_resp *r)
{
	json_t *ans = r->len ? json_loads(r->body, JSON_DECODE_ANY, NULL) : NULL;
	long long gen = answer_generation(ans);

	if (cli->json && ans)
		cli_print_json(stdout, ans);
	else if (gen >= 0)
		printf("applied generation %lld\n", gen);
	else
		printf("applied %s\n", path);
	json_decref(ans);
	return CLI_OK;
}

/* "X-Flowgate-Source: /abs/path": the daemon records it as the policy's
 * source (status shows "api:/abs/path"). NULL for stdin. */
static char *source_header(const char *path)
{
	char *abs = strcmp(path, "-") ? realpath(path, NULL) : NULL;
	char *h = NULL;

	if (abs && asprintf(&h, "X-Flowgate-Source: %s", abs) < 0)
		h = NULL;
	free(abs);
	return h;
}

int cmd_apply(struct cli *cli, const struct cli_args *a)
{
	const char *path = a->argv[0];
	struct client_resp r;
	char *text = NULL;
	size_t len = 0;
	int err, rc;

	err = read_all(path, &text, &len);
	if (err) {
		fprintf(stderr, "flowgate: apply: cannot read %s: %s\n", path, strerror(-err));
		return CLI_EUSER;
	}
	cli->client.header = source_header(path);
	err = client_request(&cli->client, "PUT", "/v1/policy", text, len, "application/yaml", &r);
	free((char *)cli->client.header);
	cli->client.header = NULL;
	free(text);
	if (err)
		return cli_report_unreachable(cli, "apply", err);
	if (r.status == 400)
		rc = apply_rejected(path, &r);
	else if (cli_exit_for_status(r.status))
		rc = cli_report_http("apply", &r, stderr);
	else
		rc = apply_done(cli, path, &r);
	client_resp_free(&r);
	return rc;
}

int cmd_reload(struct cli *cli, const struct cli_args *a)
{
	json_t *ans;
	long long gen;
	int rc;

	(void)a;
	rc = cli_call(cli, "reload", "POST", "/v1/reload", NULL, &ans);
	if (rc)
		return rc;
	gen = answer_generation(ans);
	if (cli->json)
		cli_print_json(stdout, ans);
	else if (gen >= 0)
		printf("reloaded: generation %lld\n", gen);
	else
		printf("reloaded\n");
	json_decref(ans);
	return CLI_OK;
}

int cmd_detach(struct cli *cli, const struct cli_args *a)
{
	json_t *ans;
	int rc;

	(void)a;
	rc = cli_call(cli, "detach", "POST", "/v1/detach", NULL, &ans);
	if (rc)
		return rc;
	if (cli->json)
		cli_print_json(stdout, ans);
	else
		printf("detached: programs and pins removed, traffic is no longer managed\n");
	json_decref(ans);
	return CLI_OK;
}

int cmd_explain(struct cli *cli, const struct cli_args *a)
{
	(void)cli, (void)a;
	fprintf(stderr, "flowgate: explain: not implemented yet\n");
	return CLI_EUSER;
}
