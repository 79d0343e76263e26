/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Prometheus metrics (text format 0.0.4): rendered from the daemon's
 * stats, served at /metrics on the API socket and, when metrics.listen is
 * set, on that TCP address (docs/api.md lists the metrics).
 */
#ifndef FG_METRICS_H
#define FG_METRICS_H

#include <stddef.h>

struct daemon;
struct audit;
struct metrics;

/* The metrics page; caller frees *out. audit may be NULL. */
int metrics_render(struct daemon *d, struct audit *a, char **out, size_t *len);

/* Bind and listen on HOST:PORT, [V6]:PORT or :PORT (privileged step). */
int metrics_listen(const char *hostport, int *fd);
/* Serve GET /metrics on fd (a thread of libmicrohttpd's). */
int metrics_start(int fd, struct daemon *d, struct audit *a, struct metrics **out);
void metrics_stop(struct metrics *m);

#endif /* FG_METRICS_H */
