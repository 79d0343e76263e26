// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowgate top: poll /v1/stats every interval and show rates (per-rule
 * pps and bit rate, drops by reason, interface rx pps). On a terminal the
 * screen is redrawn with plain ANSI codes; otherwise (or with --once / -n)
 * each sample is printed after the last, for scripts.
 */
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep `secs` unless *stop is raised (a signal interrupts nanosleep). */
static void nap(double secs, volatile int *stop)
{
	struct timespec ts = {.tv_sec = (time_t)secs,
			      .tv_nsec = (long)((secs - (time_t)secs) * 1e9)};

	while (!*stop && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void top_header(FILE *f, bool redraw, double interval)
{
	char when[32];
	time_t t = time(NULL);

	strftime(when, sizeof(when), "%H:%M:%S", localtime(&t));
	if (redraw)
		fputs("\033[H\033[2J", f); /* home, clear screen */
	fprintf(f, "flowgate top  %s  every %.1fs%s\n\n", when, interval,
		redraw ? "  (Ctrl-C to quit)" : "");
}

int cmd_top(struct cli *cli, const struct cli_args *a)
{
	long iters = a->once ? 1 : a->iterations;
	bool redraw = !iters && isatty(STDOUT_FILENO);
	json_t *prev = NULL, *cur = NULL;
	double t0, t1 = 0;
	volatile int *stop;
	long n;
	int rc;

	cli_catch_stop(&stop);
	rc = cli_call(cli, "top", "GET", "/v1/stats", NULL, &prev);
	t0 = now_s();
	for (n = 0; !rc && !*stop && (!iters || n < iters); n++) {
		nap(a->interval, stop);
		if (*stop)
			break;
		rc = cli_call(cli, "top", "GET", "/v1/stats", NULL, &cur);
		t1 = now_s();
		if (rc)
			break;
		top_header(stdout, redraw, a->interval);
		fmt_top(stdout, prev, cur, t1 - t0);
		if (!redraw && (!iters || n + 1 < iters))
			putchar('\n');
		fflush(stdout);
		json_decref(prev);
		prev = cur;
		cur = NULL;
		t0 = t1;
	}
	json_decref(prev);
	return rc;
}
