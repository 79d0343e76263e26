#!/usr/bin/env bash
# flowgated enforces its -c policy: UDP to port 9999 from the client is
# dropped, ping and UDP 9998 pass; /v1/stats, /metrics, the audit log and the
# pcap count the drops exactly; every thread runs with CAP_BPF+CAP_NET_ADMIN.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

jqe() { jq -e "$1" >/dev/null <<<"$2" || fail "$3: $1 on $2"; }

fg_policy "$T/p.yaml" <<EOF
default: allow
log: { audit: $T/log/audit.jsonl, pcap: $T/log/drops.pcap }
rules:
  - name: drop-udp-9999
    action: drop
    proto: udp
    dport: 9999
  - name: udp-9998
    action: allow
    proto: udp
    dport: 9998
EOF
fg_start "$T/p.yaml"
[ "$(stat -c %a "$SOCK")" = 660 ] || fail "socket mode $(stat -c %a "$SOCK")"

in_c ping -c 3 -i 0.2 -W 1 "$SERVER_IP" >/dev/null || fail "ping through the gateway"
ok "ping passes"

in_s timeout 3 socat -u UDP-RECV:9999 "OPEN:$T/got9999,creat" &
r1=$!
in_s timeout 3 socat -u UDP-RECV:9998 "OPEN:$T/got9998,creat" &
r2=$!
sleep 0.5
for i in 1 2 3 4 5; do
	echo "x$i" | in_c socat -u - "UDP-SENDTO:$SERVER_IP:9999"
	echo "y$i" | in_c socat -u - "UDP-SENDTO:$SERVER_IP:9998"
done
wait $r1 $r2
[ ! -s "$T/got9999" ] || fail "UDP to 9999 got through: $(cat "$T/got9999")"
[ "$(grep -c y "$T/got9998")" = 5 ] || fail "UDP to 9998: $(grep -c y "$T/got9998") of 5"
ok "UDP 9999 dropped, 9998 passes"

stats=$(api http://x/v1/stats)
jqe '.rules[0] | .name == "drop-udp-9999" and .action == "drop" and .packets == 5' "$stats" stats
jqe '.rules[1] | .name == "udp-9998" and .action == "allow" and .packets == 5' "$stats" stats
jqe '.rules[0].bytes > 5 * 42' "$stats" "L2 bytes"
jqe '.drops.rule == 5 and .drops.ban == 0 and (.drops | has("too_many_ext_headers"))' "$stats" drops
jqe '.default.action == "allow" and .default.packets >= 3' "$stats" default
jqe ".interfaces[0].name == \"$GC\" and .interfaces[0].rx_packets >= 13" "$stats" interfaces
ok "stats exact"

status=$(api http://x/v1/status)
jqe '.version and .policy.generation >= 1 and .policy.source and .policy.loaded_at' "$status" status
jqe ".interfaces == [{\"name\":\"$GC\",\"mode\":\"native\"}] and .not_enforced == []" "$status" status
jqe '.uptime_s >= 0 and .pin_root' "$status" status

m=$(api http://x/metrics)
grep -q '^flowgate_rule_packets_total{rule="drop-udp-9999"} 5$' <<<"$m" || fail "metrics: $m"
grep -q '^flowgate_drops_total{reason="rule"} 5$' <<<"$m" || fail "metrics drops"
grep -q '^# TYPE flowgate_policy_generation gauge$' <<<"$m" || fail "metrics TYPE"
grep -q '^flowgate_policy_last_apply_success 1$' <<<"$m" || fail "metrics apply"
grep -q "^flowgate_interface_rx_packets_total{interface=\"$GC\"}" <<<"$m" || fail "metrics iface"
ok "metrics"

sleep 0.5
n=$(grep -c '"event":"drop","reason":"rule","rule":"drop-udp-9999"' "$T/log/audit.jsonl")
[ "$n" = 5 ] || fail "audit log has $n drops: $(cat "$T/log/audit.jsonl")"
grep -q '"dport":9999,"proto":"udp"' "$T/log/audit.jsonl" || fail "audit fields"
[ "$(api http://x/v1/events | grep -c '"rule":"drop-udp-9999"')" = 5 ] || fail "/v1/events"
n=$(tcpdump -nr "$T/log/drops.pcap" 2>/dev/null | grep -c "$SERVER_IP.9999: UDP")
[ "$n" = 5 ] || fail "pcap has $n packets"
ok "audit log, events and pcap"

doc=$(api http://x/v1/doctor)
jqe ".checks | map(select(.name == \"interface $GC\")) | .[0].ok" "$doc" doctor
jqe '.interfaces[0].xdp_native == true and .interfaces[0].attached == "native"' "$doc" doctor
ok "doctor"

for t in /proc/"$FG_PID"/task/*; do
	eff=$(awk '/^CapEff/ {print $2}' "$t/status")
	# CAP_BPF (39), CAP_PERFMON (38), CAP_NET_ADMIN (12)
	[ "$eff" = 000000c000001000 ] || fail "thread $t has CapEff $eff"
done
[ "$(ls /proc/"$FG_PID"/task | wc -l)" -ge 3 ] || fail "expected API and audit threads"
ok "every thread keeps only CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN"

[ "$(stat -c %a "$PIN_ROOT/v$ABI")" = 700 ] || fail "pin dir mode"
api -X POST http://x/v1/nothing | jq -e '.error == "not found"' >/dev/null || fail "404"
[ "$(api -o /dev/null -w '%{http_code}' -X DELETE http://x/v1/status)" = 405 ] || fail "405"
ok "pins 0700, errors"
