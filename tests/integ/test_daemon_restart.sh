#!/usr/bin/env bash
# A daemon restart is hitless: a long-lived TCP connection and a steady ping
# stream through the gateway survive `kill -9` of flowgated and its restart
# with no packet lost and no reset; the restarted daemon adopts the running
# generation (the policy did not change) and the counters go on.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

fg_policy "$T/p.yaml" <<EOF
default: drop
rules:
  - name: icmp
    action: allow
    proto: icmp
  - name: tcp-7000
    action: allow
    proto: tcp
    dport: 7000
  - name: replies
    action: allow
    state: established
EOF
fg_start "$T/p.yaml"
gen=$(api http://x/v1/status | jq .policy.generation)
# id of the program that classifies now: slot 0 of the pinned prog array
gen_prog() { bpftool -j map dump pinned "$PIN_ROOT/v$ABI/fg_gen_xdp" | jq '.[0].value'; }
prog0=$(gen_prog)
[ -n "$prog0" ] && [ "$prog0" != null ] || fail "no generation program in fg_gen_xdp"

# TCP: the client sends a line every 100 ms for 6 s; the server keeps them.
in_s socat -u TCP-LISTEN:7000,reuseaddr "OPEN:$T/tcp.out,creat,append" &
srv=$!
sleep 0.3
(for i in $(seq 1 60); do echo "line $i"; sleep 0.1; done) |
	in_c socat -u - "TCP:$SERVER_IP:7000" 2>"$T/tcp.err" &
cli=$!
in_c ping -q -i 0.05 -c 200 -W 1 "$SERVER_IP" >"$T/ping.out" 2>&1 &
png=$!

sleep 2
before=$(rule_packets icmp)
[ "$before" -gt 0 ] || fail "icmp counter $before"
kill -9 "$FG_PID"
wait "$FG_PID" 2>/dev/null
FG_PID=
sleep 0.5
rm -f "$SOCK" # stale after SIGKILL; the new daemon would remove it too
fg_start "$T/p.yaml"
ok "restarted flowgated under traffic"

streams_survived 60 200 "60 of 60 lines, no reset"

after=$(rule_packets icmp)
[ "$after" -ge 200 ] && [ "$after" -ge "$before" ] || fail "icmp counter $before -> $after"
[ "$(api http://x/v1/status | jq .policy.generation)" = "$gen" ] || fail "generation changed"
grep -q "kept generation $gen running" "$T/flowgated.log" || fail "did not adopt the running generation"
prog1=$(gen_prog)
[ -n "$prog1" ] && [ "$prog1" != null ] && [ "$prog1" != "$prog0" ] ||
	fail "the restarted daemon did not load its own programs ($prog0 -> $prog1)"
ok "generation $gen adopted with the new daemon's programs, counters kept ($before -> $after)"

# A restart with a changed -c file installs the new policy (hitless too).
sed -i 's/dport: 7000/dport: 7001/' "$T/p.yaml"
kill -TERM "$FG_PID"
wait "$FG_PID"
FG_PID=
fg_start "$T/p.yaml"
[ "$(api http://x/v1/status | jq .policy.generation)" = $((gen + 1)) ] || fail "changed policy not installed"
[ "$(rule_packets icmp)" -ge "$after" ] || fail "icmp counter reset by the new generation"
in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null || fail "ping after the policy change"
ok "a changed -c file is installed at start; counters of kept rules go on"
