// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Prometheus metrics: rendering and the optional TCP listener. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>

#include "audit.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"

#define PROM_CTYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	struct audit *a;
	int fd;
};

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value, escaped as the text format wants. */
static void label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static long long jint(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* One metric per element of arr: name{lbl="elem.key"} elem.field */
static void per_elem(FILE *f, const json_t *arr, const char *name, const char *lbl, const char *key,
		     const char *field)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
	{
		fprintf(f, "%s{%s=", name, lbl);
		label(f, json_string_value(json_object_get(e, key)) ?: "");
		fprintf(f, "} %lld\n", jint(e, field));
	}
}

static void render_rules(FILE *f, const json_t *st)
{
	const json_t *rules = json_object_get(st, "rules"), *dflt = json_object_get(st, "default");

	head(f, "flowgate_rule_packets_total", "counter", "Packets that matched a rule.");
	per_elem(f, rules, "flowgate_rule_packets_total", "rule", "name", "packets");
	head(f, "flowgate_rule_bytes_total", "counter", "L2 bytes of packets that matched a rule.");
	per_elem(f, rules, "flowgate_rule_bytes_total", "rule", "name", "bytes");
	head(f, "flowgate_default_packets_total", "counter",
	     "Packets that got the default verdict.");
	fprintf(f, "flowgate_default_packets_total %lld\n", jint(dflt, "packets"));
	head(f, "flowgate_default_bytes_total", "counter",
	     "L2 bytes of packets that got the default verdict.");
	fprintf(f, "flowgate_default_bytes_total %lld\n", jint(dflt, "bytes"));
}

static void render_drops(FILE *f, const json_t *st)
{
	const char *reason;
	json_t *v;

	head(f, "flowgate_drops_total", "counter", "Packets dropped, by reason.");
	json_object_foreach(json_object_get(st, "drops"), reason, v)
	{
		fputs("flowgate_drops_total{reason=", f);
		label(f, reason);
		fprintf(f, "} %lld\n", (long long)json_integer_value(v));
	}
}

static void render_ifaces(FILE *f, const json_t *st)
{
	const json_t *ifs = json_object_get(st, "interfaces");

	head(f, "flowgate_interface_rx_packets_total", "counter",
	     "Frames seen by the XDP ingress program.");
	per_elem(f, ifs, "flowgate_interface_rx_packets_total", "interface", "name", "rx_packets");
	head(f, "flowgate_interface_rx_bytes_total", "counter",
	     "Bytes of frames seen by the XDP ingress program.");
	per_elem(f, ifs, "flowgate_interface_rx_bytes_total", "interface", "name", "rx_bytes");
}

static void render_policy(FILE *f, struct daemon *d, struct audit *a)
{
	struct daemon_info in;

	daemon_info(d, &in);
	head(f, "flowgate_policy_generation", "gauge", "Generation of the running policy.");
	fprintf(f, "flowgate_policy_generation %llu\n", (unsigned long long)in.generation);
	head(f, "flowgate_policy_last_apply_timestamp_seconds", "gauge",
	     "Unix time of the last apply attempt.");
	fprintf(f, "flowgate_policy_last_apply_timestamp_seconds %lld\n", (long long)in.last_apply);
	head(f, "flowgate_policy_last_apply_success", "gauge",
	     "1 if the last apply attempt succeeded, else 0.");
	fprintf(f, "flowgate_policy_last_apply_success %d\n", in.last_apply_ok ? 1 : 0);
	head(f, "flowgate_events_lost_total", "counter",
	     "Audit events suppressed by the datapath's budget or lost by the daemon.");
	fprintf(f, "flowgate_events_lost_total %llu\n",
		(unsigned long long)(in.ev_suppressed + (a ? audit_lost(a) : 0)));
}

int metrics_render(struct daemon *d, struct audit *a, char **out, size_t *len)
{
	json_t *st = daemon_stats(d);
	FILE *f;

	*out = NULL;
	*len = 0;
	f = open_memstream(out, len);
	if (!f || !st) {
		if (f)
			fclose(f);
		free(*out);
		json_decref(st);
		return -ENOMEM;
	}
	render_rules(f, st);
	render_drops(f, st);
	render_ifaces(f, st);
	render_policy(f, d, a);
	json_decref(st);
	return fclose(f) ? -ENOMEM : 0;
}

/* ---- the TCP listener ---- */

static int split_hostport(const char *s, char *host, size_t hlen, const char **port)
{
	const char *colon;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		snprintf(host, hlen, "%.*s", (int)(close - s - 1), s + 1);
		*port = close + 2;
		return 0;
	}
	colon = strrchr(s, ':');
	if (!colon)
		return -EINVAL;
	snprintf(host, hlen, "%.*s", (int)(colon - s), s);
	*port = colon + 1;
	return 0;
}

static int bind_one(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int metrics_listen(const char *hostport, int *fd)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res, *ai;
	const char *port;
	char host[256];
	int rc;

	if (split_hostport(hostport, host, sizeof(host), &port))
		return -EINVAL;
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc) {
		pr_err("metrics.listen %s: %s\n", hostport, gai_strerror(rc));
		return -EINVAL;
	}
	rc = -EADDRNOTAVAIL;
	for (ai = res; ai && rc < 0; ai = ai->ai_next)
		rc = bind_one(ai);
	freeaddrinfo(res);
	if (rc < 0) {
		pr_err("cannot listen on %s for metrics: %s\n", hostport, strerror(-rc));
		return rc;
	}
	*fd = rc;
	return 0;
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *upload,
			     size_t *upload_size, void **req)
{
	struct metrics *m = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body;
	size_t len;
	int code = 200;

	(void)version, (void)upload, (void)upload_size, (void)req;
	if (strcmp(url, "/metrics") || (strcmp(method, "GET") && strcmp(method, "HEAD"))) {
		static char nf[] = "not found; try /metrics\n";

		r = MHD_create_response_from_buffer(strlen(nf), nf, MHD_RESPMEM_PERSISTENT);
		code = 404;
	} else if (metrics_render(m->d, m->a, &body, &len)) {
		return MHD_NO;
	} else {
		r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
		MHD_add_response_header(r, "Content-Type", PROM_CTYPE);
	}
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

int metrics_start(int fd, struct daemon *d, struct audit *a, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->d = d;
	m->a = a;
	m->fd = fd;
	m->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL,
				  serve, m, MHD_OPTION_LISTEN_SOCKET, fd,
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	if (!m->mhd) {
		free(m);
		return -EIO;
	}
	*out = m;
	return 0;
}

void metrics_stop(struct metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd); /* closes the listening socket too */
	free(m);
}
