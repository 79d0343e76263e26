#!/usr/bin/env bash
# Failing static: SIGTERM ends flowgated (exit 0) but leaves the programs
# attached and the pins in place, so traffic stays filtered with no daemon;
# POST /v1/detach removes programs and pins (traffic unfiltered) and exits 0;
# --detach-on-exit makes SIGTERM do the same.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

pinged() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }

fg_policy "$T/p.yaml" <<EOF
rules:
  - name: no-ping
    action: drop
    proto: icmp
EOF
fg_start "$T/p.yaml"
pinged && fail "ping passes under the policy"

kill -TERM "$FG_PID"
wait "$FG_PID" || fail "SIGTERM: exit $?"
FG_PID=
[ -e "$SOCK" ] && fail "socket left behind"
pinged && fail "ping passes with the daemon stopped"
[ -e "$PIN_ROOT/v$ABI/links/xdp-$GC" ] || fail "link pin gone"
ip -n "$G" link show "$GC" | grep -q xdp || fail "XDP program gone"
ok "SIGTERM: exit 0, still filtering, pins kept"

fg_start "$T/p.yaml"
pinged && fail "ping passes after the restart"
body=$(curl -sS --unix-socket "$SOCK" -X POST http://x/v1/detach)
jq -e '.detached == true' >/dev/null <<<"$body" || fail "detach: $body"
for _ in $(seq 1 50); do kill -0 "$FG_PID" 2>/dev/null || break; sleep 0.1; done
wait "$FG_PID" || fail "detach: exit $?"
FG_PID=
pinged || fail "ping still dropped after detach"
[ -e "$PIN_ROOT/v$ABI" ] && fail "pins left: $(ls -R "$PIN_ROOT")"
ip -n "$G" link show "$GC" | grep -q xdp && fail "XDP program still attached"
[ -e "$SOCK" ] && fail "socket left behind"
ok "POST /v1/detach: unfiltered, pins gone, exit 0"

fg_start "$T/p.yaml" --detach-on-exit
pinged && fail "ping passes under the policy (again)"
kill -TERM "$FG_PID"
wait "$FG_PID" || fail "SIGTERM with --detach-on-exit: exit $?"
FG_PID=
pinged || fail "ping still dropped after --detach-on-exit"
[ -e "$PIN_ROOT/v$ABI" ] && fail "pins left after --detach-on-exit"
ok "--detach-on-exit: SIGTERM removes everything"
