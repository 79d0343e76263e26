// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HTTP client for the daemon's API over its unix socket (libcurl's
 * CURLOPT_UNIX_SOCKET_PATH). Buffered requests for the JSON endpoints and
 * a streaming GET for events and capture.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curl/curl.h>

#include "client.h"

#define CLIENT_CONNECT_TIMEOUT_MS 5000L
#define CLIENT_REQUEST_TIMEOUT_MS 120000L /* a 1M-entry apply takes ~1 s */
#define CLIENT_BODY_MAX (64UL << 20)	  /* no API answer is this big */

const char *client_socket_path(const char *opt)
{
	const char *env = getenv("FLOWGATE_SOCKET");

	if (opt && *opt)
		return opt;
	if (env && *env)
		return env;
	return FG_DEFAULT_SOCKET;
}

void client_init(struct client *c, const char *socket)
{
	memset(c, 0, sizeof(*c));
	c->socket = socket;
	c->timeout_ms = CLIENT_REQUEST_TIMEOUT_MS;
}

void client_resp_free(struct client_resp *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

char *client_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);
	char *out = e ? strdup(e) : NULL;

	curl_free(e);
	return out;
}

/* Append to a response body, keeping it NUL-terminated. */
static int resp_append(struct client_resp *r, const char *data, size_t len)
{
	char *nb;

	if (r->len + len + 1 > CLIENT_BODY_MAX)
		return -EFBIG;
	nb = realloc(r->body, r->len + len + 1);
	if (!nb)
		return -ENOMEM;
	memcpy(nb + r->len, data, len);
	r->len += len;
	nb[r->len] = '\0';
	r->body = nb;
	return 0;
}

/* State of one transfer, shared by the libcurl callbacks. */
struct xfer {
	CURL *curl;
	struct client_resp *resp;
	client_chunk_fn fn; /* NULL: buffer everything */
	void *ctx;
	volatile int *stop;
	bool stopped; /* ended by fn or *stop: not an error */
};

static size_t xfer_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * nmemb;
	long status = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->fn && status >= 200 && status < 300) {
		if (x->fn(data, len, x->ctx)) {
			x->stopped = true;
			return 0;
		}
		return len;
	}
	return resp_append(x->resp, data, len) ? 0 : len;
}

static int xfer_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	if (x->stop && *x->stop) {
		x->stopped = true;
		return 1;
	}
	return 0;
}

/* Map a failed transfer to -errno and a message in c->err. */
static int xfer_error(struct client *c, CURL *curl, CURLcode rc, const char *ebuf)
{
	long oserr = 0;

	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &oserr);
	c->os_errno = (int)oserr;
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		snprintf(c->err, sizeof(c->err), "%s",
			 oserr ? strerror((int)oserr) : "connection failed");
		return oserr ? -(int)oserr : -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(c->err, sizeof(c->err), "no answer in time");
		return -ETIMEDOUT;
	case CURLE_OUT_OF_MEMORY:
		snprintf(c->err, sizeof(c->err), "out of memory");
		return -ENOMEM;
	default:
		snprintf(c->err, sizeof(c->err), "%s", *ebuf ? ebuf : curl_easy_strerror(rc));
		return -EPROTO;
	}
}

/* Append to a header list; on failure free it all and return NULL. */
static struct curl_slist *hdr_add(struct curl_slist *h, const char *line)
{
	struct curl_slist *n = curl_slist_append(h, line);

	if (!n)
		curl_slist_free_all(h);
	return n;
}

static struct curl_slist *xfer_headers(const char *ctype, const char *extra)
{
	struct curl_slist *h = hdr_add(NULL, "Expect:");
	char line[128];

	if (h && extra)
		h = hdr_add(h, extra);
	if (h && ctype) {
		snprintf(line, sizeof(line), "Content-Type:%s%s", *ctype ? " " : "", ctype);
		h = hdr_add(h, line);
	}
	return h;
}

static void xfer_setup(struct client *c, struct xfer *x, const char *method, const char *url)
{
	CURL *curl = x->curl;

	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CLIENT_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, xfer_write);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "flowgate");
	if (strcmp(method, "GET"))
		curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (x->stop) {
		curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, xfer_progress);
		curl_easy_setopt(curl, CURLOPT_XFERINFODATA, x);
	}
}

static int xfer_run(struct client *c, struct xfer *x, const char *method, const char *path,
		    const char *body, size_t len, const char *ctype)
{
	char url[4096], ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	CURLcode rc;
	int err = 0;

	c->err[0] = '\0';
	c->os_errno = 0;
	memset(x->resp, 0, sizeof(*x->resp));
	if (snprintf(url, sizeof(url), "http://localhost%s", path) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	x->curl = curl_easy_init();
	/* a body-less POST must not claim to be a form */
	hdrs = xfer_headers(ctype ? ctype : strcmp(method, "GET") ? "" : NULL, c->header);
	if (!x->curl || !hdrs) {
		err = -ENOMEM;
		goto out;
	}
	xfer_setup(c, x, method, url);
	curl_easy_setopt(x->curl, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(x->curl, CURLOPT_HTTPHEADER, hdrs);
	if (body || strcmp(method, "GET")) {
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(x->curl, CURLOPT_POSTFIELDS, body ? body : "");
	}
	rc = curl_easy_perform(x->curl);
	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->resp->status);
	if (rc != CURLE_OK && !x->stopped)
		err = xfer_error(c, x->curl, rc, ebuf);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(x->curl);
	if (err)
		client_resp_free(x->resp);
	return err;
}

int client_request(struct client *c, const char *method, const char *path, const char *body,
		   size_t len, const char *ctype, struct client_resp *resp)
{
	struct xfer x = {.resp = resp};

	return xfer_run(c, &x, method, path, body, len, ctype);
}

int client_stream(struct client *c, const char *path, client_chunk_fn fn, void *ctx,
		  volatile int *stop, struct client_resp *resp)
{
	struct xfer x = {.resp = resp, .fn = fn, .ctx = ctx, .stop = stop};
	long saved = c->timeout_ms;
	int err;

	c->timeout_ms = 0;
	err = xfer_run(c, &x, "GET", path, NULL, 0, NULL);
	c->timeout_ms = saved;
	return err;
}
