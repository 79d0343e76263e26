// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Names of reasons, actions and protocols, from the ABI's one list. */
#include <stdio.h>
#include <string.h>
#include <flowgate/abi.h>

#include "names.h"

static const char *const reason_names[] = {
#define FG_X_NAME(n, s) s,
	FG_REASONS(FG_X_NAME)
#undef FG_X_NAME
};

const char *fg_reason_name(uint32_t reason)
{
	return reason < FG_R_MAX ? reason_names[reason] : "?";
}

int fg_reason_from_name(const char *name)
{
	int i;

	for (i = 0; i < FG_R_MAX; i++)
		if (!strcmp(reason_names[i], name))
			return i;
	return -1;
}

const char *fg_action_name(uint32_t action)
{
	switch (action) {
	case FG_ACT_ALLOW:
		return "allow";
	case FG_ACT_DROP:
		return "drop";
	case FG_ACT_LOG:
		return "log";
	}
	return "none";
}

const char *fg_proto_name(uint8_t proto, char *buf, unsigned len)
{
	switch (proto) {
	case 6:
		return "tcp";
	case 17:
		return "udp";
	case 1:
		return "icmp";
	case 58:
		return "icmpv6";
	}
	snprintf(buf, len, "%u", proto);
	return buf;
}
