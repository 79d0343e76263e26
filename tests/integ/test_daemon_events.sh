#!/usr/bin/env bash
# The event streams: GET /v1/events?follow=1 streams audit events as JSON
# lines as they happen; GET /v1/capture?filter=udp streams the dropped
# packets that match as pcap (readable by tcpdump); a bad filter is a 400;
# a follower that hangs up frees its thread; SIGUSR1 reopens the audit log
# after an external rotation.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

threads() { ls /proc/"$FG_PID"/task | wc -l; }
send_udp() { echo "x$1" | in_c socat -u - "UDP-SENDTO:$SERVER_IP:${2:-9999}"; }
pcap_to() { tcpdump -nr "$1" 2>/dev/null | grep -c "> $SERVER_IP.$2: UDP"; }
# wait_for CMD...: poll for up to 10 s until CMD succeeds
wait_for() {
	local _
	for _ in $(seq 1 100); do "$@" && return 0; sleep 0.1; done
	return 1
}

fg_policy "$T/p.yaml" <<EOF
log: { audit: $T/audit.jsonl }
rules:
  - name: drop-udp
    action: drop
    proto: udp
    dport: 9999
  - name: drop-telnet
    action: drop
    proto: tcp
    dport: 23
  - name: drop-marker
    action: drop
    proto: udp
    dport: 9998
EOF
fg_start "$T/p.yaml"
idle=$(threads)

# curl itself in the background (not a function: $! must be curl's pid)
curl -sS -N --unix-socket "$SOCK" 'http://x/v1/events?follow=1' >"$T/ev.out" &
ev=$!
curl -sS -N --unix-socket "$SOCK" \
	'http://x/v1/capture?filter=udp%20and%20(dst%20port%209999%20or%20dst%20port%209998)' \
	>"$T/cap.pcap" &
cap=$!
# Both followers are connected once they show a marker (a drop on port
# 9998): send markers until they do, however slow the machine.
followers_ready() {
	send_udp m 9998
	sleep 0.1
	grep -q '"rule":"drop-marker"' "$T/ev.out" && [ "$(pcap_to "$T/cap.pcap" 9998)" -gt 0 ]
}
wait_for followers_ready || fail "followers not connected: $(cat "$T/ev.out")"
[ "$(threads)" -ge $((idle + 2)) ] || fail "followers have no threads?"
for i in 1 2 3; do send_udp "$i"; done
in_c timeout 1 socat -u - "TCP:$SERVER_IP:23,connect-timeout=0.5" </dev/null 2>/dev/null
all_seen() {
	[ "$(grep -c '"rule":"drop-udp"' "$T/ev.out")" -ge 3 ] && grep -q '"rule":"drop-telnet"' "$T/ev.out" &&
		[ "$(pcap_to "$T/cap.pcap" 9999)" -ge 3 ]
}
wait_for all_seen || fail "not every drop was streamed: $(cat "$T/ev.out")"
sleep 0.2 # anything more (there should be nothing) would show below
kill "$ev" "$cap"
wait "$ev" "$cap" 2>/dev/null

[ "$(grep -c '"rule":"drop-udp"' "$T/ev.out")" = 3 ] || fail "events: $(cat "$T/ev.out")"
grep -q '"rule":"drop-telnet","src":"10.10.1.2","dst":"10.10.2.2","sport":[0-9]*,"dport":23' "$T/ev.out" ||
	fail "telnet event: $(cat "$T/ev.out")"
jq -e . "$T/ev.out" >/dev/null || fail "not JSON lines"
ok "events followed as JSON lines"

n=$(tcpdump -nr "$T/cap.pcap" 2>/dev/null | wc -l)
u=$(pcap_to "$T/cap.pcap" 9999)
m=$(pcap_to "$T/cap.pcap" 9998)
[ "$u" = 3 ] && [ "$n" = $((u + m)) ] ||
	fail "capture: $n packets, $u UDP to 9999, $m markers: $(tcpdump -nr "$T/cap.pcap" 2>&1)"
ok "capture streams only the filtered drops, as pcap"

for _ in $(seq 1 30); do [ "$(threads)" -le "$idle" ] && break; sleep 0.1; done
[ "$(threads)" -le "$idle" ] || fail "follower threads left: $(threads) > $idle"
ok "hung-up followers free their threads"

c=$(curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" 'http://x/v1/capture?filter=port%20banana')
[ "$c" = 400 ] && jq -e '.error == "bad filter"' "$T/body" >/dev/null || fail "bad filter: $c $(cat "$T/body")"
[ "$(api 'http://x/v1/events?n=2' | wc -l)" = 2 ] || fail "events?n=2"
ok "bad filter: 400; ?n= limits the recent events"

mv "$T/audit.jsonl" "$T/audit.jsonl.old"
kill -USR1 "$FG_PID"
# the reopen creates the file (under the audit lock): then it is in use
wait_for test -e "$T/audit.jsonl" || fail "SIGUSR1 did not reopen the log"
send_udp 4
wait_for grep -q '"rule":"drop-udp"' "$T/audit.jsonl" || fail "nothing in the reopened log"
[ "$(grep -c '"rule":"drop-udp"' "$T/audit.jsonl.old")" = 3 ] || fail "old log changed"
ok "SIGUSR1 reopens the audit log"
