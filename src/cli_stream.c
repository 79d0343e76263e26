// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Streamed CLI commands: events (the audit stream, JSON lines) and capture
 * (dropped packets as a pcap stream). Both stop cleanly on Ctrl-C/SIGTERM
 * or after --count items, leaving complete lines or pcap records behind.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static volatile int stream_stop;

static void on_signal(int sig)
{
	(void)sig;
	stream_stop = 1;
}

/* Ctrl-C and SIGTERM end a stream quietly (exit 0) instead of killing it. */
void cli_catch_stop(volatile int **flag)
{
	struct sigaction sa = {.sa_handler = on_signal};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stream_stop = 0;
	*flag = &stream_stop;
}

/* ---- lines across chunks ------------------------------------------------ */

int line_buf_feed(struct line_buf *lb, const char *data, size_t len, line_fn fn, void *ctx)
{
	const char *nl;
	char *nb;
	int rc;

	while (len && (nl = memchr(data, '\n', len))) {
		size_t n = nl - data;

		if (lb->len) { /* the line began in an earlier chunk */
			nb = realloc(lb->buf, lb->len + n);
			if (!nb)
				return -ENOMEM;
			memcpy(nb + lb->len, data, n);
			lb->buf = nb;
			rc = fn(nb, lb->len + n, ctx);
			lb->len = 0;
		} else {
			rc = fn(data, n, ctx);
		}
		if (rc)
			return rc;
		len -= n + 1;
		data = nl + 1;
	}
	if (!len)
		return 0;
	nb = realloc(lb->buf, lb->len + len);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + lb->len, data, len);
	lb->buf = nb;
	lb->len += len;
	return 0;
}

int line_buf_finish(struct line_buf *lb, line_fn fn, void *ctx)
{
	int rc = lb->len ? fn(lb->buf, lb->len, ctx) : 0;

	lb->len = 0;
	return rc;
}

void line_buf_free(struct line_buf *lb)
{
	free(lb->buf);
	memset(lb, 0, sizeof(*lb));
}

/* ---- events ------------------------------------------------------------ */

struct events_out {
	bool json;
	long max, seen; /* --count, events printed */
	struct line_buf lines;
};

/*
 * Print one JSON line: as is with --json, else as a one-line event.
 * Returns non-zero to stop: --count reached, or stdout is gone (EPIPE).
 */
static int event_line(const char *line, size_t len, void *ctx)
{
	struct events_out *o = ctx;
	json_t *ev;

	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return 0;
	ev = o->json ? NULL : json_loadb(line, len, 0, NULL);
	if (ev)
		fmt_event(stdout, ev);
	else
		printf("%.*s\n", (int)len, line);
	json_decref(ev);
	o->seen++;
	if (fflush(stdout) || ferror(stdout))
		return 1;
	return o->max && o->seen >= o->max;
}

static int events_chunk(const char *data, size_t len, void *ctx)
{
	struct events_out *o = ctx;

	return line_buf_feed(&o->lines, data, len, event_line, o) != 0;
}

/* Without -f: the answer may be JSON lines or one JSON array. */
static void events_print_all(struct events_out *o, const char *body, size_t len)
{
	json_t *arr = len && *body == '[' ? json_loadb(body, len, 0, NULL) : NULL;
	size_t i;
	json_t *ev;

	if (!arr) {
		if (!line_buf_feed(&o->lines, body, len, event_line, o))
			line_buf_finish(&o->lines, event_line, o);
		return;
	}
	json_array_foreach(arr, i, ev)
	{
		char *s = json_dumps(ev, JSON_COMPACT);
		int stop = s ? event_line(s, strlen(s), o) : 1;

		free(s);
		if (stop)
			break;
	}
	json_decref(arr);
}

int cmd_events(struct cli *cli, const struct cli_args *a)
{
	struct events_out o = {.json = cli->json, .max = a->count};
	const char *path = a->follow ? "/v1/events?follow=1" : "/v1/events";
	volatile int *stop;
	struct client_resp r;
	int err, rc = CLI_OK;

	cli_catch_stop(&stop);
	if (a->follow)
		err = client_stream(&cli->client, path, events_chunk, &o, stop, &r);
	else
		err = client_request(&cli->client, "GET", path, NULL, 0, NULL, &r);
	if (err)
		rc = cli_report_unreachable(cli, "events", err);
	else if (cli_exit_for_status(r.status))
		rc = cli_report_http("events", &r, stderr);
	else if (!a->follow)
		events_print_all(&o, r.body ? r.body : "", r.len);
	client_resp_free(&r);
	line_buf_free(&o.lines);
	return rc;
}

/* ---- capture ----------------------------------------------------------- */

#define PCAP_GLOBAL_HDR 24
#define PCAP_REC_HDR 16

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

void pcap_scan_init(struct pcap_scan *s, long max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	s->need = PCAP_GLOBAL_HDR;
}

/* A header is complete in s->hdr: decide what comes next. */
static int pcap_scan_header(struct pcap_scan *s)
{
	uint32_t magic;

	if (s->state == PCAP_S_GLOBAL) {
		memcpy(&magic, s->hdr, 4);
		if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
			s->swap = true;
			magic = __builtin_bswap32(magic);
			if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d)
				return -EPROTO;
		}
		s->state = PCAP_S_RECHDR;
		s->need = PCAP_REC_HDR;
		return 0;
	}
	s->state = PCAP_S_DATA;
	s->need = rd32(s->hdr + 8, s->swap); /* incl_len */
	if (s->need > (1U << 24))
		return -EPROTO;
	if (!s->need) { /* an empty record */
		s->state = PCAP_S_RECHDR;
		s->need = PCAP_REC_HDR;
		s->records++;
	}
	return 0;
}

/* Consume one piece of the current unit; returns bytes used or -errno. */
static long pcap_scan_step(struct pcap_scan *s, const uint8_t *p, size_t len)
{
	size_t take = len < s->need ? len : s->need;

	if (s->state != PCAP_S_DATA)
		memcpy(s->hdr + s->have, p, take);
	s->have += take;
	s->need -= take;
	if (s->need)
		return (long)take;
	s->have = 0;
	if (s->state == PCAP_S_DATA) {
		s->records++;
		s->state = PCAP_S_RECHDR;
		s->need = PCAP_REC_HDR;
		return (long)take;
	}
	return pcap_scan_header(s) ?: (long)take;
}

long pcap_scan(struct pcap_scan *s, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t used = 0;
	long n;

	while (used < len && !(s->max && s->records >= s->max)) {
		n = pcap_scan_step(s, p + used, len - used);
		if (n < 0)
			return n;
		used += n;
	}
	return (long)used;
}

struct capture_out {
	FILE *f;
	struct pcap_scan scan;
	bool broken;
};

static int capture_chunk(const char *data, size_t len, void *ctx)
{
	struct capture_out *o = ctx;
	long n = pcap_scan(&o->scan, data, len);

	if (n < 0)
		n = (long)len; /* not pcap as we know it: pass it through */
	if (fwrite(data, 1, n, o->f) != (size_t)n || fflush(o->f)) {
		o->broken = true;
		return 1;
	}
	return o->scan.max && o->scan.records >= o->scan.max;
}

/* The FILTER words, joined and escaped into the query. */
static char *capture_path(const struct cli_args *a)
{
	size_t len = 1;
	char *filter, *esc, *path = NULL;
	int i;

	for (i = 0; i < a->argc; i++)
		len += strlen(a->argv[i]) + 1;
	filter = calloc(1, len);
	if (!filter)
		return NULL;
	for (i = 0; i < a->argc; i++)
		strcat(strcat(filter, i ? " " : ""), a->argv[i]);
	esc = client_escape(filter);
	if (esc && asprintf(&path, "/v1/capture%s%s", *filter ? "?filter=" : "", esc) < 0)
		path = NULL;
	free(esc);
	free(filter);
	return path;
}

static FILE *capture_open(const struct cli_args *a)
{
	bool std = !a->write || !strcmp(a->write, "-");
	FILE *f;

	if (std && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "flowgate: capture: refusing to write binary pcap to a terminal; "
				"use -w FILE, or pipe it: flowgate capture | tcpdump -nr -\n");
		return NULL;
	}
	f = std ? stdout : fopen(a->write, "we");
	if (!f)
		fprintf(stderr, "flowgate: capture: cannot write %s: %s\n", a->write,
			strerror(errno));
	return f;
}

static int capture_write_failed(const char *path)
{
	fprintf(stderr, "flowgate: capture: writing %s failed: %s\n", path, strerror(errno));
	return CLI_ESYS;
}

int cmd_capture(struct cli *cli, const struct cli_args *a)
{
	struct capture_out o = {0};
	struct client_resp r = {0};
	volatile int *stop;
	char *path;
	int err, rc = CLI_OK;

	o.f = capture_open(a);
	if (!o.f)
		return CLI_EUSER;
	pcap_scan_init(&o.scan, a->count);
	path = capture_path(a);
	cli_catch_stop(&stop);
	err = path ? client_stream(&cli->client, path, capture_chunk, &o, stop, &r) : -ENOMEM;
	if (err)
		rc = cli_report_unreachable(cli, "capture", err);
	else if (cli_exit_for_status(r.status))
		rc = cli_report_http("capture", &r, stderr);
	else if (o.broken && o.f != stdout)
		rc = capture_write_failed(a->write);
	client_resp_free(&r);
	if (o.f != stdout && fclose(o.f) && !rc)
		rc = CLI_ESYS;
	/* a refused capture leaves no empty file behind */
	if (o.f != stdout && rc && !o.scan.records && !o.scan.have && o.scan.state == PCAP_S_GLOBAL)
		unlink(a->write);
	free(path);
	return rc;
}
