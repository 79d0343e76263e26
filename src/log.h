/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Logging: one module with levels; libbpf's messages are routed through it
 * (debug ones only with -v). The daemon logs to stderr or the journal. */
#ifndef FG_LOG_H
#define FG_LOG_H

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* Route libbpf's output through this module. */
void log_setup_libbpf(void);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif /* FG_LOG_H */
