#!/usr/bin/env bash
# flowgate's egress program (tcx) passes packets on to what comes after it:
# an operator's own clsact egress filter on the same interface still
# applies once flowgate is attached (TC_ACT_OK would end the chain and
# silently disable it).
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

# The operator's filter: a direct-action cls_bpf program dropping every
# IPv4 packet leaving the gateway towards the client (this kernel has no
# tc action modules, so no u32/flower "action drop").
cat >"$T/drop.c" <<'CSRC'
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
__attribute__((section("tc"), used)) int drop_ipv4(struct __sk_buff *skb)
{
	return skb->protocol == __builtin_bswap16(ETH_P_IP) ? TC_ACT_SHOT : TC_ACT_OK;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
CSRC
clang -O2 -target bpf -I"/usr/include/$(uname -m)-linux-gnu" -c "$T/drop.c" -o "$T/drop.o" ||
	fail "cannot build the operator's filter"
ip netns exec "$G" tc qdisc add dev "$GC" clsact
ip netns exec "$G" tc filter add dev "$GC" egress bpf da obj "$T/drop.o" sec tc ||
	fail "cannot add the operator's filter"
in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1 && fail "operator filter not effective before flowgate"

fg_policy "$T/p.yaml" <<EOF
default: allow
rules:
  - name: replies
    action: allow
    state: established
EOF
fg_start "$T/p.yaml"
in_c ping -c 2 -W 1 "$SERVER_IP" >/dev/null 2>&1 &&
	fail "with flowgate attached the operator's egress filter no longer applies"
ok "operator's egress filter still drops after flowgate's tcx program"

ip netns exec "$G" tc filter del dev "$GC" egress
in_c ping -c 2 -W 1 "$SERVER_IP" >/dev/null || fail "ping fails without the operator's filter"
ok "and without it, traffic flows (flowgate's egress program never drops)"
