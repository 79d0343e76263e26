// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The HTTP API over the unix socket (see api.h, docs/api.md).
 *
 * Requests are routed by method and path to the daemon's entry points,
 * which lock the daemon. Streams (events?follow=1, capture) are responses
 * whose reader blocks on the audit module's rings; every half second it
 * also checks whether the client hung up, so a dead follower frees its
 * thread.
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "audit.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"

#define JSON_CTYPE "application/json"
#define WAIT_MS 500

struct api {
	struct MHD_Daemon *mhd;
	struct daemon *d;
	struct audit *a;
	char *path;
	gid_t gid; /* the socket's group when created */
	atomic_bool stopping;
};

struct req {
	char *body;
	size_t len, cap;
	bool refused; /* answered before the body */
	bool too_big;
	bool detach; /* exit once this answer is sent */
};

/* ---- the socket ---- */

bool api_peer_allowed(uid_t uid, gid_t gid, const gid_t *groups, int ngroups, gid_t sock_gid)
{
	int i;

	if (uid == 0 || gid == sock_gid)
		return true;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == sock_gid)
			return true;
	return false;
}

/* Is a daemon answering at path? */
static bool socket_live(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	live = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return live;
}

static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("%s exists and is not a socket; not removing it\n", path);
		return -EEXIST;
	}
	if (socket_live(path)) {
		pr_err("another flowgated answers at %s\n", path);
		return -EADDRINUSE;
	}
	if (unlink(path))
		return -errno;
	pr_info("removed stale socket %s\n", path);
	return 0;
}

static void mkdir_for(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		mkdir(dir, 0755);
	}
}

static int bind_unix(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Mode 0660, group `flowgate` when it exists. */
static int socket_perms(const char *path)
{
	struct group *g = getgrnam("flowgate");

	if (chmod(path, 0660))
		return -errno;
	if (g && chown(path, (uid_t)-1, g->gr_gid))
		pr_warn("cannot give the API socket to group flowgate (%s; CAP_CHOWN is needed): "
			"only root can use the API\n",
			strerror(errno));
	return 0;
}

int api_socket_create(const char *path, int *fd, char **tmp, gid_t *gid)
{
	struct stat st;
	int rc;

	*tmp = NULL;
	mkdir_for(path);
	if ((rc = remove_stale(path)))
		return rc;
	if (asprintf(tmp, "%s.%d.tmp", path, (int)getpid()) < 0)
		return -ENOMEM;
	rc = bind_unix(*tmp);
	if (rc >= 0) {
		*fd = rc;
		rc = socket_perms(*tmp);
		if (!rc && !stat(*tmp, &st)) {
			*gid = st.st_gid;
			return 0;
		}
		close(*fd);
		unlink(*tmp);
	}
	pr_err("cannot create the API socket %s: %s\n", path, strerror(-rc));
	free(*tmp);
	*tmp = NULL;
	return rc;
}

int api_socket_publish(const char *tmp, const char *path)
{
	if (rename(tmp, path)) {
		int err = -errno;

		pr_err("cannot move the API socket into place at %s: %s\n", path, strerror(-err));
		unlink(tmp);
		return err;
	}
	return 0;
}

/* ---- answers ---- */

static enum MHD_Result send_buf(struct MHD_Connection *c, int code, char *buf, size_t len,
				const char *ctype)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* Answer with a JSON document (stolen) and a newline. */
static enum MHD_Result send_json(struct MHD_Connection *c, int code, json_t *doc)
{
	char *s, *out;
	size_t n;

	if (!doc)
		return send_json(c, 500, json_error("out of memory", NULL));
	s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(doc);
	if (!s)
		return MHD_NO;
	n = strlen(s);
	out = realloc(s, n + 2);
	if (!out) {
		free(s);
		return MHD_NO;
	}
	out[n] = '\n';
	out[n + 1] = 0;
	return send_buf(c, code, out, n + 1, JSON_CTYPE);
}

static enum MHD_Result send_err(struct MHD_Connection *c, int code, const char *error,
				const char *detail)
{
	return send_json(c, code, json_error(error, detail ? json_string(detail) : NULL));
}

/* ---- the peer check ---- */

static int peer_groups(int fd, gid_t **out)
{
	socklen_t len = 64 * sizeof(gid_t);
	gid_t *g = malloc(len);

	while (g && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len)) {
		gid_t *ng;

		if (errno != ERANGE) {
			free(g);
			return -errno;
		}
		ng = realloc(g, len);
		if (!ng)
			break;
		g = ng;
	}
	if (!g)
		return -ENOMEM;
	*out = g;
	return len / sizeof(gid_t);
}

static bool peer_ok(struct api *api, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct ucred cr;
	socklen_t len = sizeof(cr);
	gid_t *groups = NULL, sock_gid = api->gid;
	struct stat st;
	int n;
	bool ok;

	if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cr, &len))
		return false;
	if (!stat(api->path, &st))
		sock_gid = st.st_gid; /* the operator may have changed it */
	n = peer_groups(ci->connect_fd, &groups);
	ok = api_peer_allowed(cr.uid, cr.gid, groups, n > 0 ? n : 0, sock_gid);
	free(groups);
	if (!ok)
		pr_warn(
		    "refused an API connection from uid %u pid %d: not root and not in group %u\n",
		    (unsigned)cr.uid, (int)cr.pid, (unsigned)sock_gid);
	return ok;
}

/* ---- bodies ---- */

static bool body_append(struct req *r, const char *data, size_t n, size_t max)
{
	if (r->too_big || r->len + n > max) {
		r->too_big = true;
		return false;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb) {
			r->too_big = true;
			return false;
		}
		r->body = nb;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = 0;
	return true;
}

static json_t *body_json(const struct req *r, json_t **err)
{
	json_error_t je;
	json_t *o;

	o = json_loadb(r->body ? r->body : "", r->len, 0, &je);
	if (!o) {
		char msg[256];

		snprintf(msg, sizeof(msg), "line %d column %d: %s", je.line, je.column, je.text);
		*err = json_error("bad JSON", json_string(msg));
	}
	return o;
}

/* ---- streams: events and capture ---- */

struct stream {
	struct api *api;
	int fd; /* the connection, to notice a hang-up */
	bool pcap;
	uint64_t seq;
	char *pend; /* bytes ready to send */
	size_t plen, poff;
	struct bpf_program prog;
	bool filtered;
};

static bool hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int pend_set(struct stream *s, const void *a, size_t alen, const void *b, size_t blen)
{
	char *p = malloc(alen + blen);

	if (!p)
		return -1;
	memcpy(p, a, alen);
	memcpy(p + alen, b, blen);
	free(s->pend);
	s->pend = p;
	s->plen = alen + blen;
	s->poff = 0;
	return 1;
}

/* Next events line: 1 ready, 0 nothing yet, -1 end. */
static int next_event(struct stream *s)
{
	char *line;
	int rc = audit_next_line(s->api->a, &s->seq, &line, WAIT_MS);

	if (rc != 1)
		return rc;
	rc = pend_set(s, line, strlen(line), "\n", 1);
	free(line);
	return rc;
}

/* pcap record header, host byte order (the file header's magic says so) */
struct pcap_rec {
	uint32_t sec, usec, caplen, len;
};

static int next_pkt(struct stream *s)
{
	struct pcap_pkthdr h;
	struct audit_pkt p;
	struct pcap_rec rec;
	int rc = audit_next_pkt(s->api->a, &s->seq, &p, WAIT_MS);

	if (rc != 1)
		return rc;
	h.ts = p.ts;
	h.caplen = p.caplen;
	h.len = p.len;
	if (s->filtered && !pcap_offline_filter(&s->prog, &h, p.data))
		return 0;
	rec = (struct pcap_rec){p.ts.tv_sec, p.ts.tv_usec, p.caplen, p.len};
	return pend_set(s, &rec, sizeof(rec), p.data, p.caplen);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	size_t n;
	int rc;

	(void)pos;
	while (s->poff >= s->plen) {
		if (atomic_load(&s->api->stopping))
			return MHD_CONTENT_READER_END_OF_STREAM;
		rc = s->pcap ? next_pkt(s) : next_event(s);
		if (rc < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (rc == 0 && hung_up(s->fd))
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	n = s->plen - s->poff < max ? s->plen - s->poff : max;
	memcpy(buf, s->pend + s->poff, n);
	s->poff += n;
	return n;
}

static void stream_free(void *cls)
{
	struct stream *s = cls;

	if (s->filtered)
		pcap_freecode(&s->prog);
	free(s->pend);
	free(s);
}

static enum MHD_Result send_stream(struct MHD_Connection *c, struct stream *s, const char *ctype)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
	if (!r) {
		stream_free(s);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	MHD_add_response_header(r, "Cache-Control", "no-cache");
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

static struct stream *stream_new(struct api *api, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct stream *s = calloc(1, sizeof(*s));

	if (s) {
		s->api = api;
		s->fd = ci ? ci->connect_fd : -1;
	}
	return s;
}

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static bool arg_true(struct MHD_Connection *c, const char *key)
{
	const char *v = arg(c, key);

	return v && (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !*v);
}

/* Recent events as JSON lines: all kept, or the last ?n=. */
static enum MHD_Result events_recent(struct api *api, struct MHD_Connection *c, unsigned n)
{
	uint64_t seq = audit_seq_recent(api->a, n), end = audit_seq_recent(api->a, 0);
	char *buf = NULL, *line;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return MHD_NO;
	while (seq < end && audit_next_line(api->a, &seq, &line, 0) == 1) {
		fprintf(f, "%s\n", line);
		free(line);
	}
	fclose(f);
	return send_buf(c, 200, buf, len, "application/x-ndjson");
}

static enum MHD_Result get_events(struct api *api, struct MHD_Connection *c)
{
	const char *ns = arg(c, "n");
	bool follow = arg_true(c, "follow");
	unsigned n = ns ? (unsigned)strtoul(ns, NULL, 10) : follow ? 0 : AUDIT_RING;
	struct stream *s;

	if (!follow)
		return events_recent(api, c, n);
	s = stream_new(api, c);
	if (!s)
		return MHD_NO;
	s->seq = audit_seq_recent(api->a, n);
	return send_stream(c, s, "application/x-ndjson");
}

/* pcap file header, host byte order like the records */
static const struct {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
} pcap_file_hdr = {0xa1b2c3d4, 2, 4, 0, 0, 65535, DLT_EN10MB};

/* The filter, compiled on a dead handle, applied in user space. */
static int capture_filter(struct stream *s, const char *expr, json_t **err)
{
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	int rc = 0;

	if (!dead) {
		*err = json_error("out of memory", NULL);
		return -ENOMEM;
	}
	if (pcap_compile(dead, &s->prog, expr, 1, PCAP_NETMASK_UNKNOWN)) {
		*err = json_error("bad filter", json_string(pcap_geterr(dead)));
		rc = -EINVAL;
	} else {
		s->filtered = true;
	}
	pcap_close(dead);
	return rc;
}

static enum MHD_Result get_capture(struct api *api, struct MHD_Connection *c)
{
	const char *filter = arg(c, "filter");
	struct stream *s = stream_new(api, c);
	json_t *err = NULL;

	if (!s)
		return MHD_NO;
	s->pcap = true;
	if (filter && *filter && capture_filter(s, filter, &err)) {
		stream_free(s);
		return send_json(c, 400, err);
	}
	s->seq = audit_pkt_seq_now(api->a);
	if (pend_set(s, &pcap_file_hdr, sizeof(pcap_file_hdr), "", 0) < 0) {
		stream_free(s);
		return MHD_NO;
	}
	return send_stream(c, s, "application/vnd.tcpdump.pcap");
}

/* ---- routes ---- */

static enum MHD_Result answer(struct MHD_Connection *c, int code, json_t *doc)
{
	return send_json(c, code, doc);
}

static enum MHD_Result put_policy(struct api *api, struct MHD_Connection *c, struct req *r)
{
	const char *label = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Flowgate-Source");
	char clean[128];
	json_t *resp = NULL;
	size_t i;
	int code;

	if (label) {
		/* the client's name for the file, kept printable and short */
		for (i = 0; label[i] && i < sizeof(clean) - 1; i++)
			clean[i] = label[i] >= 0x20 && label[i] < 0x7f ? label[i] : '?';
		clean[i] = 0;
	}
	code =
	    daemon_apply_text(api->d, r->body ? r->body : "", r->len, label ? clean : NULL, &resp);
	return answer(c, code, resp);
}

typedef int (*json_call)(struct daemon *d, const json_t *body, json_t **resp);

static enum MHD_Result with_body(struct api *api, struct MHD_Connection *c, struct req *r,
				 json_call fn)
{
	json_t *body, *resp = NULL;
	int code;

	body = body_json(r, &resp);
	if (!body)
		return answer(c, 400, resp);
	code = fn(api->d, body, &resp);
	json_decref(body);
	return answer(c, code, resp);
}

/*
 * `name` and `cidr` come from the URL path, which libmicrohttpd has
 * already %-decoded (its default unescaper): decoding again would turn
 * "%252F" into "/".
 */
static enum MHD_Result sets(struct api *api, struct MHD_Connection *c, struct req *r,
			    const char *name, bool del)
{
	json_t *body, *resp = NULL;
	int code;

	body = body_json(r, &resp);
	if (!body)
		return answer(c, 400, resp);
	code = daemon_set_change(api->d, name, body, del, &resp);
	json_decref(body);
	return answer(c, code, resp);
}

static enum MHD_Result ban_del(struct api *api, struct MHD_Connection *c, const char *cidr)
{
	json_t *resp = NULL;
	int code = daemon_ban_del(api->d, cidr, &resp);

	return answer(c, code, resp);
}

static enum MHD_Result simple(struct MHD_Connection *c, struct daemon *d,
			      int (*fn)(struct daemon *, json_t **))
{
	json_t *resp = NULL;
	int code = fn(d, &resp);

	return answer(c, code, resp);
}

static enum MHD_Result get_metrics(struct api *api, struct MHD_Connection *c)
{
	char *buf;
	size_t len;

	if (metrics_render(api->d, api->a, &buf, &len))
		return send_err(c, 500, "cannot render the metrics", NULL);
	return send_buf(c, 200, buf, len, "text/plain; version=0.0.4; charset=utf-8");
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
	char detail[64];

	snprintf(detail, sizeof(detail), "allowed: %s", allow);
	return send_err(c, 405, "method not allowed", detail);
}

#define IS(m) (!strcmp(method, m))

static const char *const get_paths[] = {
    "/v1/status", "/v1/stats",	 "/v1/services", "/v1/doctor",
    "/v1/events", "/v1/capture", "/metrics",	 NULL,
};

static bool is_get_path(const char *url)
{
	int i;

	for (i = 0; get_paths[i]; i++)
		if (!strcmp(url, get_paths[i]))
			return true;
	return false;
}

static enum MHD_Result route_get(struct api *api, struct MHD_Connection *c, const char *url)
{
	if (!strcmp(url, "/v1/status"))
		return answer(c, 200, daemon_status(api->d));
	if (!strcmp(url, "/v1/stats"))
		return answer(c, 200, daemon_stats(api->d));
	if (!strcmp(url, "/v1/services"))
		return answer(c, 200, daemon_services(api->d));
	if (!strcmp(url, "/v1/doctor"))
		return answer(c, 200, daemon_doctor(api->d));
	if (!strcmp(url, "/v1/events"))
		return get_events(api, c);
	if (!strcmp(url, "/v1/capture"))
		return get_capture(api, c);
	return get_metrics(api, c);
}

static enum MHD_Result route(struct api *api, struct MHD_Connection *c, const char *url,
			     const char *method, struct req *r)
{
	if (is_get_path(url))
		return IS("GET") ? route_get(api, c, url) : method_not_allowed(c, "GET");
	if (!strcmp(url, "/v1/policy"))
		return IS("PUT") ? put_policy(api, c, r) : method_not_allowed(c, "PUT");
	if (!strcmp(url, "/v1/reload"))
		return IS("POST") ? simple(c, api->d, daemon_reload)
				  : method_not_allowed(c, "POST");
	if (!strcmp(url, "/v1/detach")) {
		if (!IS("POST"))
			return method_not_allowed(c, "POST");
		r->detach = true;
		return simple(c, api->d, daemon_detach);
	}
	if (!strcmp(url, "/v1/bans")) {
		if (IS("GET"))
			return simple(c, api->d, daemon_bans);
		return IS("POST") ? with_body(api, c, r, daemon_ban_add)
				  : method_not_allowed(c, "GET, POST");
	}
	if (!strncmp(url, "/v1/bans/", 9) && url[9])
		return IS("DELETE") ? ban_del(api, c, url + 9) : method_not_allowed(c, "DELETE");
	if (!strncmp(url, "/v1/sets/", 9) && url[9]) {
		if (IS("POST") || IS("DELETE"))
			return sets(api, c, r, url + 9, IS("DELETE"));
		return method_not_allowed(c, "POST, DELETE");
	}
	return send_err(c, 404, "not found", url);
}

/* ---- libmicrohttpd glue ---- */

static size_t body_limit(const char *url)
{
	return !strcmp(url, "/v1/policy") ? API_MAX_POLICY : API_MAX_JSON;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **ctx)
{
	struct api *api = cls;
	struct req *r = *ctx;

	(void)version;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		*ctx = r;
		if (peer_ok(api, c))
			return MHD_YES;
		r->refused = true;
		return send_err(c, 403, "forbidden",
				"only root and members of the socket's group may use the API");
	}
	if (*upload_size) {
		if (!r->refused)
			body_append(r, upload, *upload_size, body_limit(url));
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->refused)
		return MHD_YES;
	if (r->too_big)
		return send_err(c, 413, "request body too large", NULL);
	if (daemon_detached(api->d) && strcmp(url, "/v1/status"))
		return send_err(c, 503, "flowgated has detached and is exiting", NULL);
	return route(api, c, url, method, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **ctx,
		      enum MHD_RequestTerminationCode toe)
{
	struct api *api = cls;
	struct req *r = *ctx;

	(void)c, (void)toe;
	if (!r)
		return;
	if (r->detach && daemon_detached(api->d))
		daemon_request_exit(api->d);
	free(r->body);
	free(r);
	*ctx = NULL;
}

int api_start(int fd, const char *path, gid_t gid, struct daemon *d, struct audit *a,
	      struct api **out)
{
	struct api *api = calloc(1, sizeof(*api));

	if (!api)
		return -ENOMEM;
	api->d = d;
	api->a = a;
	api->path = strdup(path);
	api->gid = gid;
	api->mhd = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	    NULL, handle, api, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, completed,
	    api, MHD_OPTION_CONNECTION_TIMEOUT, 300u, MHD_OPTION_END);
	if (!api->mhd || !api->path) {
		free(api->path);
		free(api);
		pr_err("cannot start the API server\n");
		return -EIO;
	}
	*out = api;
	return 0;
}

void api_stop(struct api *api)
{
	if (!api)
		return;
	atomic_store(&api->stopping, true);
	MHD_stop_daemon(api->mhd); /* joins the connection threads */
	free(api->path);
	free(api);
}
