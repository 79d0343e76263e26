/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Names shared by stats, metrics, logs and the CLI: one spelling each. */
#ifndef FG_NAMES_H
#define FG_NAMES_H

#include <stdint.h>

/* "rule", "default", "truncated", ... (abi.h FG_REASONS); "?" if unknown */
const char *fg_reason_name(uint32_t reason);
/* -1 if unknown */
int fg_reason_from_name(const char *name);
/* "allow", "drop", "log" */
const char *fg_action_name(uint32_t action);
/* "tcp", "udp", "icmp", "icmpv6", or the number as text in buf */
const char *fg_proto_name(uint8_t proto, char *buf, unsigned len);

#endif /* FG_NAMES_H */
