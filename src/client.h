/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The CLI's way into flowgated: HTTP/1.1 over the daemon's unix socket
 * (DESIGN.md §3), with libcurl. One call per request; streamed responses
 * (events, capture) go through a callback as they arrive.
 */
#ifndef FG_CLIENT_H
#define FG_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#ifndef FG_DEFAULT_SOCKET /* also in daemon.h */
#define FG_DEFAULT_SOCKET "/run/flowgate/flowgate.sock"
#endif

struct client {
	const char *socket; /* path of the API socket */
	long timeout_ms;    /* whole request; 0 = none (streams) */
	const char *header; /* extra request header line, or NULL */
	int os_errno;	    /* why the last request could not connect */
	char err[256];	    /* transport error of the last request */
};

/* A complete response: status and body (NUL-terminated). */
struct client_resp {
	long status;
	char *body;
	size_t len;
};

/*
 * Called with each piece of a streamed 2xx body. Return 0 to go on,
 * non-zero to stop the transfer (not an error).
 */
typedef int (*client_chunk_fn)(const char *data, size_t len, void *ctx);

/* Socket from `opt`, else $FLOWGATE_SOCKET, else the default. */
const char *client_socket_path(const char *opt);

void client_init(struct client *c, const char *socket);

/*
 * Send METHOD PATH with an optional body (NULL = none) of content type
 * `ctype`. Returns 0 with *resp filled (any HTTP status), or a negative
 * errno when the daemon could not be reached or the transfer broke
 * (c->err says why).
 */
int client_request(struct client *c, const char *method, const char *path, const char *body,
		   size_t len, const char *ctype, struct client_resp *resp);

/*
 * GET PATH and hand the body to `fn` piece by piece while it arrives. A
 * non-2xx response is not streamed: it is returned whole in *resp (whose
 * status is set either way). `stop` is polled about once a second; when it
 * points to a non-zero value the transfer ends quietly. Returns 0 or a
 * negative errno as client_request().
 */
int client_stream(struct client *c, const char *path, client_chunk_fn fn, void *ctx,
		  volatile int *stop, struct client_resp *resp);

void client_resp_free(struct client_resp *resp);

/* Percent-encode `s` for use in a URL path or query (malloc'd). */
char *client_escape(const char *s);

#endif /* FG_CLIENT_H */
