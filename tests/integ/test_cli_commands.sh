#!/usr/bin/env bash
# Every flowgate command against a real flowgated in the lab: status and
# stats (exact counts after known traffic), apply (good: generation goes
# up; bad: FILE:LINE:COL, exit 1, old policy still enforced), ban and set
# changes that block the client, events and capture of a drop, doctor,
# services, top, reload, detach (traffic then flows unfiltered, daemon
# exits), --help everywhere, exit codes 1 and 2.
. "$(dirname "$0")/lib.sh"

# JSON field of stdin: jf 'd["policy"]["generation"]'
jf() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }

# send_udp N PORT: N datagrams from the client to the server
send_udp() {
	in_c python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[1])):
    s.sendto(b"flowgate-test", (sys.argv[2], int(sys.argv[3])))
    time.sleep(0.02)' "$1" "$SERVER_IP" "$2"
}
can_ping() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }
rule_packets() { fg stats --json | jf "[r['packets'] for r in d['rules'] if r['name']=='$1'][0]"; }
generation() { fg status --json | jf 'd["policy"]["generation"]'; }

lab_init
lab_gateway

fg_policy "$T/p1.yaml" <<'EOF'
default: allow
sets:
  blocked: []
rules:
  - name: drop-udp
    action: drop
    proto: udp
    dport: 9999
  - name: drop-blocked
    action: drop
    src: "@blocked"
  - name: ping
    action: allow
    proto: icmp
  - name: drop-marker
    action: drop
    proto: udp
    dport: 9997
EOF
"$FLOWGATE" check "$T/p1.yaml" >/dev/null || fail "lab policy does not check"
fg_start "$T/p1.yaml"

# ---- help, usage and exit codes ----
for c in check apply reload detach explain status stats ban set services events capture top doctor; do
	out=$("$FLOWGATE" "$c" --help) || fail "$c --help exit $?"
	grep -q '^EXAMPLES:' <<<"$out" || fail "$c --help has no EXAMPLES"
	grep -q '^USAGE: flowgate '"$c" <<<"$out" || fail "$c --help has no USAGE"
done
out=$("$FLOWGATE" --help) || fail "--help exit"
for c in check apply status stats ban set events capture top doctor; do
	grep -q "^    $c " <<<"$out" || fail "--help does not list $c"
done
rc=0; "$FLOWGATE" frobnicate >/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 1 ] && grep -q USAGE "$T/err" || fail "unknown command: exit $rc"
rc=0; fg stats --bogus >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "unknown option: exit $rc"
rc=0; fg explain x >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "explain: exit $rc"
rc=0; ip netns exec "$G" "$FLOWGATE" --socket "$T/nobody.sock" status 2>"$T/err" || rc=$?
[ $rc -eq 2 ] || fail "unreachable daemon: exit $rc"
grep -q "cannot reach flowgated at $T/nobody.sock" "$T/err" || fail "unreachable message: $(cat "$T/err")"
rc=0; FLOWGATE_SOCKET=$T/nobody.sock ip netns exec "$G" "$FLOWGATE" stats 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "\$FLOWGATE_SOCKET not used: exit $rc"
ok "help, usage, exit codes 1 and 2"

# ---- status ----
out=$(fg status) || fail "status exit $?"
grep -q "generation 1" <<<"$out" || fail "status: $out"
grep -Eq "$GC \((native|generic)" <<<"$out" || fail "status interfaces: $out"
js=$(fg status --json) || fail "status --json"
[ "$(jf 'd["policy"]["generation"]' <<<"$js")" = 1 ] || fail "status generation: $js"
[ "$(jf 'd["interfaces"][0]["name"]' <<<"$js")" = "$GC" ] || fail "status iface: $js"
jf 'd["interfaces"][0]["mode"] in ("native","generic") or exit(1)' <<<"$js" >/dev/null ||
	fail "status mode: $js"
jf 'd["version"] and d["policy"]["loaded_at"] and d["policy"]["source"] or exit(1)' <<<"$js" \
	>/dev/null || fail "status fields: $js"
jf 'isinstance(d["not_enforced"], list) or exit(1)' <<<"$js" >/dev/null || fail "not_enforced"
ok "status text and --json"

# ---- events and capture of drops, stats exact ----
# wait_for CMD...: poll for up to 10 s until CMD succeeds
wait_for() {
	local _
	for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
	return 1
}
pcap_to() { tcpdump -nr "$1" 2>/dev/null | grep -c "> $SERVER_IP.$2: UDP"; }
# streams in the background: the CLI itself (ip netns exec execs it), so
# that $! is its pid and a kill ends it
FGX=(ip netns exec "$G" "$FLOWGATE" --socket "$SOCK")
"${FGX[@]}" events -f --json >"$T/events.json" 2>"$T/events.err" &
EV=$!
"${FGX[@]}" events -f >"$T/events.txt" 2>&1 &
EVT=$!
"${FGX[@]}" capture -w "$T/drops.pcap" udp port 9999 or udp port 9997 2>"$T/capture.err" &
CAP=$!
# The followers are connected once each shows a marker (a drop on port
# 9997): send markers until they do, however slow the machine.
followers_ready() {
	send_udp 1 9997
	sleep 0.1
	grep -q '"rule":"drop-marker"' "$T/events.json" && grep -q 'rule=drop-marker' "$T/events.txt" &&
		[ "$(pcap_to "$T/drops.pcap" 9997)" -gt 0 ]
}
wait_for followers_ready || fail "followers not connected: $(cat "$T"/events.* "$T/capture.err")"
markers=$(rule_packets drop-marker)
in_c ping -c 3 -i 0.2 -W 1 "$SERVER_IP" >/dev/null || fail "ping before any drop"
send_udp 5 9999
counted() { [ "$(rule_packets drop-udp)" = 5 ] && [ "$(rule_packets ping)" = 3 ]; }
wait_for counted || fail "counters: $(fg stats --json)"
[ "$(rule_packets drop-udp)" = 5 ] || fail "drop-udp packets: $(fg stats --json)"
[ "$(rule_packets ping)" = 3 ] || fail "ping packets: $(fg stats --json)"
[ "$(rule_packets drop-marker)" = "$markers" ] || fail "marker packets: $(fg stats --json)"
js=$(fg stats --json)
[ "$(jf 'd["drops"]["rule"]' <<<"$js")" = $((5 + markers)) ] || fail "drops.rule: $js"
jf '[r["bytes"] for r in d["rules"] if r["name"]=="drop-udp"][0] > 0 or exit(1)' <<<"$js" \
	>/dev/null || fail "bytes: $js"
jf '"packets" in d["default"] and "bytes" in d["default"] or exit(1)' <<<"$js" >/dev/null ||
	fail "default: $js"
jf 'd["interfaces"][0]["rx_packets"] >= 8 or exit(1)' <<<"$js" >/dev/null || fail "rx: $js"
out=$(fg stats) || fail "stats exit"
grep -Eq '^drop-udp +drop +5 ' <<<"$out" || fail "stats text: $out"
grep -Eq '^ping +allow +3 ' <<<"$out" || fail "stats text: $out"
grep -Eq "^rule +$((5 + markers))\$" <<<"$out" || fail "stats drops text: $out"
ok "stats: exact per-rule counts, drops by reason, text and --json"

all_seen() {
	[ "$(grep -c '"rule":"drop-udp"' "$T/events.json")" -ge 5 ] &&
		[ "$(grep -c 'rule=drop-udp' "$T/events.txt")" -ge 5 ] &&
		[ "$(pcap_to "$T/drops.pcap" 9999)" -ge 5 ]
}
wait_for all_seen || fail "not every drop was streamed: $(cat "$T"/events.*)"
for p in $EV $EVT $CAP; do
	kill "$p"
	wait "$p" 2>/dev/null
done
while read -r line; do
	case "$(jf 'd["event"], d["rule"], d["dport"]' <<<"$line")" in
	"('drop', 'drop-udp', 9999)" | "('drop', 'drop-marker', 9997)") ;;
	*) fail "events --json: $line" ;;
	esac
done <"$T/events.json"
[ "$(grep -c '"rule":"drop-udp"' "$T/events.json")" = 5 ] || fail "events --json: $(cat "$T/events.json")"
[ "$(grep -c "drop rule=drop-udp .*udp $CLIENT_IP:[0-9]* -> $SERVER_IP:9999" "$T/events.txt")" = 5 ] ||
	fail "events text: $(cat "$T/events.txt")"
ok "events -f (JSON and text) saw each drop with its rule"

# -c N: the stream ends by itself after N items
"${FGX[@]}" events -f --json -c 2 >"$T/count.json" 2>"$T/count.err" &
EV=$!
"${FGX[@]}" capture -w "$T/count.pcap" -c 2 udp port 9997 2>"$T/capture.err" &
CAP=$!
ended() { ! kill -0 "$EV" 2>/dev/null && ! kill -0 "$CAP" 2>/dev/null; }
more_markers_until_ended() { send_udp 1 9997; sleep 0.1; ended; }
wait_for more_markers_until_ended || { kill "$EV" "$CAP" 2>/dev/null; fail "streams did not end after 2 items"; }
wait "$EV" || fail "events -c 2 exit $?: $(cat "$T/count.err")"
wait "$CAP" || fail "capture -c 2 exit $?: $(cat "$T/capture.err")"
[ "$(wc -l <"$T/count.json")" = 2 ] || fail "events --json -c 2: $(cat "$T/count.json")"
[ "$(tcpdump -nr "$T/count.pcap" 2>/dev/null | wc -l)" = 2 ] || fail "capture -c 2"
ok "events -f -c and capture -c end after N items"
tcpdump -nr "$T/drops.pcap" 2>/dev/null >"$T/pcap.txt" || fail "capture: not a pcap file"
[ "$(grep -c "$CLIENT_IP.* > $SERVER_IP.9999: UDP" "$T/pcap.txt")" = 5 ] ||
	fail "capture: $(cat "$T/pcap.txt")"
[ "$(grep -vc "$CLIENT_IP.* > $SERVER_IP.999[79]: UDP" "$T/pcap.txt")" = 0 ] ||
	fail "capture: packets the filter does not match: $(cat "$T/pcap.txt")"
rc=0; fg capture -w "$T/x.pcap" 'udp port' 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "capture with a bad filter: exit $rc"
[ -e "$T/x.pcap" ] && fail "a refused capture left $T/x.pcap"
rc=0; script -qec "$FLOWGATE --socket $SOCK capture" /dev/null >/dev/null 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "capture to a terminal: exit $rc"
ok "capture -w: valid pcap holding the dropped packet; refuses a terminal"

# ---- top ----
out=$(fg top --once) || fail "top --once exit"
grep -Eq '^drop-udp +drop ' <<<"$out" && grep -q 'DROP REASON' <<<"$out" || fail "top: $out"
out=$(fg top -n 2 -d 0.2) || fail "top -n 2"
[ "$(grep -c '^RULE' <<<"$out")" = 2 ] || fail "top -n 2: $out"
ok "top --once, -n"

# ---- ban ----
can_ping || fail "ping before ban"
out=$(fg ban add "$CLIENT_IP" --ttl 10m) || fail "ban add exit"
grep -q "banned $CLIENT_IP" <<<"$out" || fail "ban add: $out"
can_ping && fail "ping passes while banned"
out=$(fg ban list) || fail "ban list"
grep -q "^$CLIENT_IP/32 " <<<"$out" || fail "ban list: $out"
js=$(fg ban list --json)
jf '[b for b in d if b["cidr"]=="'"$CLIENT_IP"'/32" and 0 < b["expires_in_s"] <= 600] or exit(1)' \
	<<<"$js" >/dev/null || fail "ban list --json: $js"
fg ban del "$CLIENT_IP" >/dev/null || fail "ban del"
can_ping || fail "ping after unban"
[ "$(fg ban list --json | jf 'len(d)')" = 0 ] || fail "ban list not empty"
rc=0; fg ban add 10.10.1.2/8 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "ban add bad CIDR: exit $rc"
rc=0; fg ban del 10.10.1.99 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "ban del of no ban: exit $rc"
rc=0; fg ban add "$CLIENT_IP" --ttl soon 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "ban add --ttl soon: exit $rc"
ok "ban add/list/del: client blocked while banned"

# ---- set ----
fg set add blocked "$CLIENT_IP" 10.10.9.0/24 >/dev/null || fail "set add"
can_ping && fail "ping passes while in @blocked"
fg set del blocked "$CLIENT_IP" >/dev/null || fail "set del"
can_ping || fail "ping after set del"
rc=0; fg set add nosuchset 10.10.9.9 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "set add to no set: exit $rc"
rc=0; fg set add blocked not-an-ip 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "set add bad CIDR: exit $rc"
ok "set add/del change @blocked at once"

# ---- apply ----
fg_policy "$T/p2.yaml" <<'EOF'
default: allow
sets:
  blocked: []
rules:
  - name: drop-udp
    action: drop
    proto: udp
    dport: [9999, 9998]
  - name: ping
    action: allow
    proto: icmp
EOF
gen=$(generation)
out=$(fg apply "$T/p2.yaml") || fail "apply good exit $?"
[ "$out" = "applied generation $((gen + 1))" ] || fail "apply said: $out"
[ "$(generation)" = $((gen + 1)) ] || fail "generation after apply"
fg status --json | jf 'd["policy"]["source"]' | grep -q "$T/p2.yaml" || fail "apply: source"
fg_policy "$T/p3.yaml" <<'EOF'
default: allow
rules:
  - name: x
    action: dropp
EOF
rc=0; fg apply "$T/p3.yaml" >/dev/null 2>"$T/err" || rc=$?
[ $rc -eq 1 ] || fail "apply bad: exit $rc"
grep -q "^$T/p3.yaml:7:13: " "$T/err" || fail "apply bad: $(cat "$T/err")"
[ "$(generation)" = $((gen + 1)) ] || fail "generation changed by a bad apply"
before=$(rule_packets drop-udp)
send_udp 2 9998
two_more() { [ "$(rule_packets drop-udp)" = $((before + 2)) ]; }
wait_for two_more || fail "old policy not enforced after bad apply"
rc=0; fg apply "$T/missing.yaml" 2>/dev/null || rc=$?
[ $rc -eq 1 ] || fail "apply missing file: exit $rc"
ok "apply: generation up; bad file -> FILE:LINE:COL, exit 1, old policy kept"

# ---- services, doctor, reload ----
fg services >/dev/null || fail "services exit"
fg services --json | jf 'd' >/dev/null || fail "services --json"
out=$(fg doctor) || fail "doctor exit"
[ -n "$out" ] || fail "doctor printed nothing"
fg doctor --json | jf 'd' >/dev/null || fail "doctor --json"
gen=$(generation)
fg reload >/dev/null || fail "reload exit"
[ "$(generation)" = $((gen + 1)) ] || fail "reload: generation"
fg stats --json | jf '[r["name"] for r in d["rules"]]' | grep -q drop-blocked ||
	fail "reload did not bring back the -c policy"
ok "services, doctor, reload"

# ---- detach ----
in_s python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999)); s.settimeout(5)
print(s.recvfrom(100)[0].decode())' >"$T/udp.out" 2>&1 &
RECV=$!
sleep 0.3
out=$(fg detach) || fail "detach exit"
for _ in $(seq 50); do kill -0 "$FG_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$FG_PID" 2>/dev/null && fail "flowgated still running after detach"
FG_PID=
ip -n "$G" link show "$GC" | grep -q xdp && fail "XDP still attached after detach"
send_udp 1 9999
wait "$RECV"
grep -q flowgate-test "$T/udp.out" || fail "UDP 9999 not delivered after detach: $(cat "$T/udp.out")"
rc=0; fg status 2>/dev/null || rc=$?
[ $rc -eq 2 ] || fail "status after detach: exit $rc"
ok "detach: daemon exits, traffic flows unfiltered"
fg doctor >"$T/doctor.out" 2>"$T/err" || fail "doctor without daemon: exit $?"
grep -q "local checks only" "$T/err" && grep -q "^ok    kernel" "$T/doctor.out" ||
	fail "doctor without daemon: $(cat "$T/err" "$T/doctor.out")"
ok "doctor without a daemon checks locally"
