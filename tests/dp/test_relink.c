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

/*
 * A daemon that takes over the pins of ABI 1, whose counters were per-CPU
 * arrays, adds them into its own (a region per CPU): every CPU's share,
 * once, and the old pin is gone afterwards.
 */
static void test_counters_from_abi1(void)
{
	char dir[128], path[192], cmd[160];
	int ncpu = libbpf_num_possible_cpus(), fd, i;
	struct fg_counter *v = calloc(ncpu, sizeof(*v)), got = { 0 };
	struct dp_opts o = { .pin_root = dir };
	uint64_t want_p = 0, want_b = 0;
	uint32_t slot = 5;
	struct dp *dp = NULL;

	snprintf(dir, sizeof(dir), "%s-abi1", root);
	snprintf(path, sizeof(path), "%s/v1/fg_rule_stats", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/v1", dir);
	if (!v || !ASSERT_OK(system(cmd), "old pin folder"))
		goto out;
	fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "fg_rule_stats", sizeof(uint32_t),
			    sizeof(struct fg_counter), FG_MAX_STAT_SLOTS, NULL);
	if (!ASSERT_TRUE(fd >= 0, "an ABI 1 counter map"))
		goto out;
	for (i = 0; i < ncpu; i++) {
		v[i] = (struct fg_counter){ 10 + i, 1000 + 7 * i };
		want_p += 10 + i;
		want_b += 1000 + 7 * i;
	}
	ASSERT_OK(bpf_map_update_elem(fd, &slot, v, 0), "old counters");
	ASSERT_OK(bpf_obj_pin(fd, path), "pinned as ABI 1 did");
	close(fd);
	if (!ASSERT_OK(dp_open(&o, &dp), "open over ABI 1 pins"))
		goto out;
	ASSERT_TRUE(dp_migrating(dp), "ABI 1 pins found");
	ASSERT_OK(dp_retire_old(dp, NULL), "retire ABI 1");
	ASSERT_OK(dp_counter(dp, dp_map_fd(dp, "fg_rule_stats"), slot, &got), "read");
	ASSERT_EQ(got.packets, want_p, "packets of every CPU carried over");
	ASSERT_EQ(got.bytes, want_b, "bytes of every CPU carried over");
	ASSERT_TRUE(access(path, F_OK) != 0, "old pin removed");
	dp_detach_all(dp);
out:
	dp_close(dp);
	free(v);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
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
	RUN_TEST(test_counters_from_abi1);
	rc = FG_TEST_EXIT();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	if (system(cmd))
		rc = 1;
	return rc;
}
