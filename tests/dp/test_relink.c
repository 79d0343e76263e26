// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Attaching over pinned links: a restart replaces the program behind the
 * links it finds; a link whose interface was deleted (and re-created)
 * while no daemon ran is dead, and is replaced by a fresh attach instead of
 * failing the start. Runs in a private network namespace with its own pin
 * root, both gone when the test ends.
 */

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_link.h>
#include <bpf/libbpf.h>

#include "test.h"
#include "dptest.h"

FG_TEST_GLOBALS;

static char root[64];

static int xdp_prog_id(const char *ifname)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	int ifindex = if_nametoindex(ifname);

	if (!ifindex || bpf_xdp_query(ifindex, 0, &q))
		return -1;
	return q.prog_id;
}

static int attach(const char *ifname)
{
	struct dp_opts o = { .pin_root = root };
	char why[256];
	struct dp *dp;
	bool native;
	int err;

	if ((err = dp_open(&o, &dp)))
		return err;
	err = dp_attach(dp, ifname, DP_MODE_AUTO, &native, why, sizeof(why));
	if (err)
		fprintf(stderr, "  attach: %s\n", why);
	dp_close(dp); /* the pinned links keep the programs attached */
	return err;
}

static void test_relink_after_recreate(void)
{
	int id1, id2, id3;

	if (!ASSERT_OK(attach("fgt0"), "first attach"))
		return;
	id1 = xdp_prog_id("fgt0");
	ASSERT_TRUE(id1 > 0, "attached");
	/* a restart: the same link, a new program */
	if (!ASSERT_OK(attach("fgt0"), "restart over the pinned link"))
		return;
	id2 = xdp_prog_id("fgt0");
	ASSERT_TRUE(id2 > 0 && id2 != id1, "program replaced in place");
	/* the interface goes away and comes back while nothing runs */
	ASSERT_OK(system("ip link del fgt0 && ip link add fgt0 type veth peer name fgt1 && "
			 "ip link set fgt0 up && ip link set fgt1 up"),
		  "re-create the interface");
	ASSERT_EQ(xdp_prog_id("fgt0"), 0, "nothing attached to the new interface");
	ASSERT_OK(attach("fgt0"), "start over the severed link");
	id3 = xdp_prog_id("fgt0");
	ASSERT_TRUE(id3 > 0, "attached again");
}

int main(void)
{
	char cmd[128];
	int rc;

	if (unshare(CLONE_NEWNET)) {
		perror("unshare");
		return 1;
	}
	if (system("ip link add fgt0 type veth peer name fgt1 && ip link set fgt0 up && "
		   "ip link set fgt1 up")) {
		fprintf(stderr, "cannot create veths\n");
		return 1;
	}
	snprintf(root, sizeof(root), "/run/flowgate/bpf/fgt-relink-%d", getpid());
	RUN_TEST(test_relink_after_recreate);
	rc = FG_TEST_EXIT();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		rc = 1;
	return rc;
}
