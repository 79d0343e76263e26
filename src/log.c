// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Logging module: levels, a "flowgate: " prefix, libbpf routed through. */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;

void log_set_level(enum log_level lvl)
{
	cur_level = lvl;
}

enum log_level log_get_level(void)
{
	return cur_level;
}

static void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };

	if (lvl > cur_level)
		return;
	fprintf(stderr, "%s", tag[lvl]);
	vfprintf(stderr, fmt, ap);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level lvl = level == LIBBPF_WARN   ? LOG_LVL_WARN
			     : level == LIBBPF_INFO ? LOG_LVL_DEBUG
						    : LOG_LVL_DEBUG;

	log_vmsg(lvl, fmt, ap);
	return 0;
}

void log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
