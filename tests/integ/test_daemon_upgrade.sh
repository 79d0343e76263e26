#!/usr/bin/env bash
# An upgrade to a flowgated whose ABI version differs (its pins live in
# another folder) is hitless too: it takes the running links over in place,
# carries conntrack, bans and counters over (their layouts did not change),
# and retires the old pins only once its programs are attached. A TCP
# connection and a ping stream survive; a banned source stays banned. A
# rule the new version's policy adds, in the slot of a rule deleted
# before the upgrade, starts from 0: only the rules that keep their slot
# bring their counts over.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

# The "new version": the same code built with another ABI number.
B99=$T/b99
make -s -C "$ROOT" BUILD="$B99" EXTRA_CFLAGS=-DFG_ABI_VERSION=99 "$B99/flowgated" \
	>"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "build with ABI 99"; }

rules3='  - name: icmp
    action: allow
    proto: icmp
  - name: tcp-7000
    action: allow
    proto: tcp
    dport: 7000
    state: new
  - name: replies
    action: allow
    state: established'
fg_policy "$T/p.yaml" <<EOF
default: drop
rules:
$rules3
  - name: gone
    action: drop
    proto: udp
    dport: 5555
EOF
fg_start "$T/p.yaml"
[ -d "$PIN_ROOT/v$ABI" ] || fail "no v$ABI pins"

# "gone" counts 3 packets, then an apply drops it: its slot is free, but
# the old version's counters keep its 3 until the slot is given again.
in_c bash -c "for i in 1 2 3; do echo x > /dev/udp/$SERVER_IP/5555; done"
[ "$(rule_packets gone)" = 3 ] || fail "gone counted $(rule_packets gone), want 3"
fg_policy "$T/p1.yaml" <<EOF
default: drop
rules:
$rules3
EOF
[ "$(api -o /dev/null -w '%{http_code}' -X PUT --data-binary @"$T/p1.yaml" http://x/v1/policy)" = 200 ] ||
	fail "apply without gone"
# the new version starts with a rule that takes the free slot
fg_policy "$T/p2.yaml" <<EOF
default: drop
rules:
$rules3
  - name: newcomer
    action: drop
    proto: udp
    dport: 6666
EOF
api -X POST -d '{"cidr":"10.10.1.99/32"}' http://x/v1/bans >/dev/null

in_s socat -u TCP-LISTEN:7000,reuseaddr "OPEN:$T/tcp.out,creat,append" &
srv=$!
sleep 0.3
(for i in $(seq 1 50); do echo "line $i"; sleep 0.1; done) |
	in_c socat -u - "TCP:$SERVER_IP:7000" 2>"$T/tcp.err" &
cli=$!
in_c ping -q -i 0.05 -c 160 -W 1 "$SERVER_IP" >"$T/ping.out" 2>&1 &
png=$!

sleep 2
before=$(rule_packets icmp)
kill -9 "$FG_PID"
wait "$FG_PID" 2>/dev/null
FG_PID=
rm -f "$SOCK"
FLOWGATED=$B99/flowgated fg_start "$T/p2.yaml"
ok "replaced flowgated (ABI $ABI) with ABI 99 under traffic"

[ -d "$PIN_ROOT/v99/links" ] || fail "no v99 pins"
[ ! -e "$PIN_ROOT/v$ABI" ] || fail "v$ABI pins not retired: $(ls -R "$PIN_ROOT/v$ABI")"
grep -q "carried .* entries over" "$T/flowgated.log" || fail "no state carried over"
ok "old pins retired after the takeover"

streams_survived 50 160 "conntrack carried over (replies still established)"

after=$(rule_packets icmp)
[ "$after" = 160 ] || fail "icmp counter $before -> $after, want exactly the 160 pings"
ok "counters carried over ($before -> $after)"
n=$(rule_packets newcomer)
[ "$n" = 0 ] || fail "newcomer counts $n packets: it took gone's slot and its old counts"
ok "a new rule in a freed slot starts from 0, not from the deleted rule's counts"
api http://x/v1/bans | jq -e '.[] | select(.cidr == "10.10.1.99/32")' >/dev/null ||
	fail "ban lost: $(api http://x/v1/bans)"
ok "ban carried over"
