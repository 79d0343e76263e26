// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate doctor: the daemon's GET /v1/doctor when it answers; otherwise
 * the same report made here (src/doctor.c) for every interface, without a
 * policy: kernel, BTF, bpffs, privileges, program and map types, XDP.
 */
#include <errno.h>

#include "cli.h"
#include "doctor.h"

/* Is this error "nobody is listening" (as opposed to a broken answer)? */
static bool no_daemon(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED || err == -ENOTSOCK || err == -ENOTDIR;
}

int cmd_doctor(struct cli *cli, const struct cli_args *a)
{
	struct client_resp r;
	json_t *doc = NULL;
	int err, rc = CLI_OK;

	(void)a;
	err = client_request(&cli->client, "GET", "/v1/doctor", NULL, 0, NULL, &r);
	if (err && !no_daemon(err))
		return cli_report_unreachable(cli, "doctor", err);
	if (err) {
		fprintf(stderr,
			"flowgate: doctor: flowgated is not running at %s; local checks only\n",
			cli->socket);
		doc = doctor_report(&(struct doctor_opts){.source = "local"});
	} else if (cli_exit_for_status(r.status)) {
		rc = cli_report_http("doctor", &r, stderr);
	} else {
		doc = json_loadb(r.body ? r.body : "", r.len, JSON_DECODE_ANY, NULL);
		rc = doc ? CLI_OK : CLI_ESYS;
		if (!doc)
			fprintf(stderr, "flowgate: doctor: flowgated's answer is not JSON\n");
	}
	if (doc && cli->json)
		cli_print_json(stdout, doc);
	else if (doc)
		fmt_doctor(stdout, doc);
	json_decref(doc);
	client_resp_free(&r);
	return rc;
}
