// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgated: the flowgate control plane (docs/daemon.md).
 *
 * Start: validate the -c file, open the logs and the listening sockets,
 * open the datapath and attach, drop capabilities, start the threads (audit
 * consumer, API, metrics), move the API socket into place, tell systemd.
 * Then wait for signals: SIGHUP reloads, SIGUSR1 reopens the logs, SIGTERM
 * and SIGINT exit leaving the datapath running. Never forks.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "audit.h"
#include "caps.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"

#define EXIT_POLICY 1
#define EXIT_SYSTEM 2

static const char usage[] =
    "Usage: flowgated -c FILE [-f] [-v] [--pin-root DIR] [--state-dir DIR]\n"
    "                 [--detach-on-exit]\n"
    "\n"
    "The flowgate daemon: loads the XDP datapath, applies the policy in FILE\n"
    "and serves the API. It never forks (systemd Type=notify).\n"
    "\n"
    "  -c, --config FILE     the policy (YAML); SIGHUP or `flowgate reload` re-reads it\n"
    "  -f, --foreground      log to stderr (flowgated always runs in the foreground)\n"
    "  -v, --verbose         debug messages, including libbpf's\n"
    "      --pin-root DIR    bpffs folder for pins (default " FG_DEFAULT_PIN_ROOT ")\n"
    "      --state-dir DIR   what runs, across restarts (default " FG_DEFAULT_STATE_DIR ")\n"
    "      --detach-on-exit  remove programs and pins on SIGTERM (default: keep them)\n"
    "  -V, --version         print the version\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit: 0 stopped, 1 bad policy, 2 system error.\n"
    "Signals: HUP reload, USR1 reopen logs, TERM/INT exit (datapath stays).\n"
    "\n"
    "Examples:\n"
    "  flowgated -c /etc/flowgate/policy.yaml\n"
    "  flowgated -c policy.yaml -f -v --pin-root /run/flowgate/bpf --state-dir /tmp/fg\n";

struct run {
	struct daemon *d;
	struct audit *audit;
	struct api *api;
	struct metrics *metrics;
	int api_fd, metrics_fd;
	char *api_tmp;
	gid_t api_gid;
};

static int parse_args(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"foreground", no_argument, NULL, 'f'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"pin-root", required_argument, NULL, 'P'},
	    {"state-dir", required_argument, NULL, 'S'},
	    {"detach-on-exit", no_argument, NULL, 'D'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:fvVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 'f':
			break;
		case 'v':
			log_set_level(LOG_LVL_DEBUG);
			break;
		case 'P':
			o->pin_root = optarg;
			break;
		case 'S':
			o->state_dir = optarg;
			break;
		case 'D':
			o->detach_on_exit = true;
			break;
		case 'V':
			printf("flowgated %s\n", FG_VERSION);
			exit(0);
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			return -EINVAL;
		}
	}
	if (!o->config || optind != argc) {
		fprintf(stderr, "flowgated: %s\n%s",
			o->config ? "unexpected argument" : "-c FILE is required", usage);
		return -EINVAL;
	}
	return 0;
}

/* Signals are taken synchronously by the main loop: block them in every
 * thread (threads inherit the mask), before any thread starts. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Privileged, before the datapath: files and listening sockets, so that a
 * failure here leaves nothing attached. */
static int open_io(struct run *r)
{
	const struct op_settings *ops = daemon_ops(r->d);
	int rc;

	if ((rc = audit_open(ops->audit, ops->pcap, -1, &r->audit)))
		return rc;
	if (ops->metrics && (rc = metrics_listen(ops->metrics, &r->metrics_fd)))
		return rc;
	return api_socket_create(ops->api, &r->api_fd, &r->api_tmp, &r->api_gid);
}

static int start_threads(struct run *r)
{
	const struct op_settings *ops = daemon_ops(r->d);
	int rc;

	if ((rc = audit_start(r->audit)))
		return rc;
	if (r->metrics_fd >= 0) {
		if ((rc = metrics_start(r->metrics_fd, r->d, r->audit, &r->metrics)))
			return rc;
		r->metrics_fd = -1; /* libmicrohttpd's now */
		pr_info("metrics on %s\n", ops->metrics);
	}
	if ((rc = api_start(r->api_fd, ops->api, r->api_gid, r->d, r->audit, &r->api)))
		return rc;
	r->api_fd = -1;
	/* The socket appears only now: policy applied, datapath attached. */
	if ((rc = api_socket_publish(r->api_tmp, ops->api)))
		return rc;
	free(r->api_tmp);
	r->api_tmp = NULL;
	pr_info("API on %s\n", ops->api);
	return 0;
}

static void log_answer(const char *what, int code, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT);

	if (code == 200)
		pr_info("%s: %s\n", what, s ? s : "done");
	else
		pr_err("%s failed: %s\n", what, s ? s : "?");
	free(s);
	json_decref(resp);
}

static void reload(struct run *r)
{
	json_t *resp = NULL;
	int code;

	sd_notify(0, "RELOADING=1");
	code = daemon_reload(r->d, &resp);
	log_answer("reload", code, resp);
	sd_notify(0, "READY=1");
}

static void serve(struct run *r, const sigset_t *set)
{
	struct timespec tick = {0, 250 * 1000000L};
	siginfo_t si;
	int sig;

	for (;;) {
		sig = sigtimedwait(set, &si, &tick);
		if (sig == SIGTERM || sig == SIGINT) {
			pr_info("%s: exiting; the datapath keeps running\n", strsignal(sig));
			return;
		}
		if (sig == SIGHUP)
			reload(r);
		else if (sig == SIGUSR1 && r->audit)
			audit_reopen(r->audit);
		if (daemon_exit_requested(r->d))
			return;
	}
}

static void run_close(struct run *r, bool detach)
{
	const struct op_settings *ops = r->d ? daemon_ops(r->d) : NULL;

	if (r->audit)
		audit_stop(r->audit); /* ends the followers' streams */
	api_stop(r->api);
	metrics_stop(r->metrics);
	if (r->api_fd >= 0)
		close(r->api_fd);
	if (r->metrics_fd >= 0)
		close(r->metrics_fd);
	if (r->api_tmp)
		unlink(r->api_tmp);
	else if (r->api && ops && !daemon_detached(r->d))
		unlink(ops->api);
	free(r->api_tmp);
	if (r->d)
		daemon_set_audit(r->d, NULL);
	daemon_free(r->d, detach);
	audit_free(r->audit);
}

/* 1 only for a policy refused as such; every -errno is a system error
 * (a missing interface, an unreadable file, a busy socket...). */
static int exit_code(int rc)
{
	return rc == DAEMON_BAD_POLICY ? EXIT_POLICY : EXIT_SYSTEM;
}

int main(int argc, char **argv)
{
	struct daemon_opts o = {0};
	struct run r = {.api_fd = -1, .metrics_fd = -1};
	sigset_t set;
	int rc;

	log_setup_libbpf();
	if (parse_args(argc, argv, &o))
		return EXIT_POLICY;
	block_signals(&set);
	if ((rc = daemon_init(&o, &r.d)))
		return exit_code(rc);
	if ((rc = open_io(&r)) || (rc = daemon_start(r.d)))
		goto out;
	if ((rc = audit_set_ring(r.audit, daemon_map_fd(r.d, "fg_events"))))
		goto out;
	daemon_set_audit(r.d, r.audit);
	if ((rc = caps_drop(caps_runtime, caps_nruntime)) || (rc = start_threads(&r)))
		goto out;
	sd_notify(0, "READY=1\nSTATUS=policy applied, datapath attached");
	serve(&r, &set);
	sd_notify(0, "STOPPING=1");
	rc = 0;
out:
	run_close(&r, o.detach_on_exit);
	return rc ? exit_code(rc) : 0;
}
