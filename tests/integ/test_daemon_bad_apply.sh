#!/usr/bin/env bash
# A broken policy PUT over the API is refused with 400 and every error as
# <api>:LINE:COL; an API policy may not change the operator's paths; the old
# policy stays enforced (a dropped packet is still dropped). A good policy
# then applies as the next generation, and SIGHUP / POST /v1/reload re-read
# the -c file.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

code() { curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
gen() { api http://x/v1/status | jq .policy.generation; }
drops() { api http://x/v1/stats | jq '.rules[] | select(.name == "drop-udp") | .packets'; }
send_udp() { echo x | in_c socat -u - "UDP-SENDTO:$SERVER_IP:9999"; }

fg_policy "$T/p.yaml" <<EOF
log: { audit: $T/audit.jsonl }
rules:
  - name: drop-udp
    action: drop
    proto: udp
    dport: 9999
EOF
fg_start "$T/p.yaml"
g0=$(gen)

cat >"$T/bad.yaml" <<EOF
version: 1
interfaces: [$GC]
rules:
  - name: r1
    action: dropp
    proto: udp
  - name: r2
    action: allow
    colour: blue
EOF
[ "$(code -X PUT --data-binary @"$T/bad.yaml" http://x/v1/policy)" = 400 ] || fail "bad policy accepted: $(cat "$T/body")"
jq -e '.error == "invalid policy"' "$T/body" >/dev/null || fail "error: $(cat "$T/body")"
jq -e '.detail | length == 2' "$T/body" >/dev/null || fail "expected 2 errors: $(cat "$T/body")"
jq -e '.detail[0] | startswith("<api>:5:13: ")' "$T/body" >/dev/null || fail "line:col: $(cat "$T/body")"
jq -e '.detail[1] | startswith("<api>:9:5: ")' "$T/body" >/dev/null || fail "line:col: $(cat "$T/body")"
ok "400 with every error as <api>:LINE:COL"

[ "$(gen)" = "$g0" ] || fail "generation moved"
before=$(drops)
send_udp
sleep 0.2
[ "$(drops)" = $((before + 1)) ] || fail "old policy no longer drops"
api http://x/metrics | grep -q '^flowgate_policy_last_apply_success 0$' || fail "metrics apply 0"
ok "old policy still enforced"

# operator settings: not over the API
sed "s#^log: .*#log: { audit: /tmp/elsewhere.jsonl }#" "$T/p.yaml" >"$T/paths.yaml"
[ "$(code -X PUT --data-binary @"$T/paths.yaml" http://x/v1/policy)" = 400 ] || fail "log path changed over the API"
jq -e '.detail[0] | contains("log.audit")' "$T/body" >/dev/null || fail "paths: $(cat "$T/body")"
ok "an API policy cannot move the audit log"

# a good policy: the next generation, over the API
sed 's/dport: 9999/dport: 9998/' "$T/p.yaml" >"$T/good.yaml"
[ "$(code -X PUT -H 'X-Flowgate-Source: good.yaml' --data-binary @"$T/good.yaml" http://x/v1/policy)" = 200 ] ||
	fail "good policy: $(cat "$T/body")"
jq -e ".generation == $((g0 + 1))" "$T/body" >/dev/null || fail "generation: $(cat "$T/body")"
api http://x/v1/status | jq -e '.policy.source == "api:good.yaml" and .policy.origin == "api"' >/dev/null ||
	fail "source"
grep -q '"event":"policy","change":"apply","ok":true' "$T/audit.jsonl" || fail "audit policy event"
ok "a good policy applies as generation $((g0 + 1))"

# SIGHUP and POST /v1/reload re-read the -c file
kill -HUP "$FG_PID"
for _ in $(seq 1 50); do [ "$(gen)" = $((g0 + 2)) ] && break; sleep 0.1; done
api http://x/v1/status | jq -e ".policy.generation == $((g0 + 2)) and .policy.origin == \"file\"" >/dev/null ||
	fail "SIGHUP did not reload"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "reload: $(cat "$T/body")"
jq -e ".generation == $((g0 + 3))" "$T/body" >/dev/null || fail "reload generation"
echo "rules: [ {name: x, action: nope} ]" >>"$T/p.yaml"
[ "$(code -X POST http://x/v1/reload)" = 400 ] || fail "broken -c file reloaded"
grep -q "$T/p.yaml:" "$T/body" || fail "reload errors name the file: $(cat "$T/body")"
[ "$(gen)" = $((g0 + 3)) ] || fail "generation moved on a failed reload"
ok "SIGHUP and /v1/reload re-read the -c file; a broken one is refused"
