#!/usr/bin/env bash
# Runtime set changes: POST /v1/sets/NAME {"add":[..]} and DELETE with
# {"del":[..]} change a named set as a new generation, without a full
# apply. The change is runtime state: kept across a restart with the same
# -c file, reset by the next apply of the file.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

code() { curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
gen() { curl -sS --unix-socket "$SOCK" http://x/v1/status | jq .policy.generation; }
pinged() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }
set_op() { code -X "$1" -H 'Content-Type: application/json' -d "$2" "http://x/v1/sets/$3"; }

fg_policy "$T/p.yaml" <<EOF
sets:
  blocked: [192.0.2.0/24]
rules:
  - name: drop-blocked
    action: drop
    src: "@blocked"
EOF
fg_start "$T/p.yaml"
g0=$(gen)
pinged || fail "ping before"

[ "$(set_op POST '{"add":["10.10.1.0/24","10.10.1.0/24"]}' blocked)" = 200 ] || fail "add: $(cat "$T/body")"
jq -e ".generation == $((g0 + 1)) and .set == \"blocked\" and .entries == 2" "$T/body" >/dev/null ||
	fail "add answer: $(cat "$T/body")"
pinged && fail "added source still passes"
ok "add: a new generation, enforced"

[ "$(set_op DELETE '{"del":["198.51.100.0/24"]}' blocked)" = 400 ] || fail "del of a missing entry"
jq -e '.error == "not in the set" and .detail == ["198.51.100.0/24"]' "$T/body" >/dev/null ||
	fail "missing: $(cat "$T/body")"
[ "$(set_op POST '{"add":["10.1.2.3/8"]}' blocked)" = 400 ] || fail "bad CIDR accepted"
[ "$(set_op POST '{"add":["10.0.0.0/8"]}' nosuch)" = 404 ] || fail "unknown set"
[ "$(set_op DELETE '{"add":["10.0.0.0/8"]}' blocked)" = 400 ] || fail "DELETE with add"
[ "$(gen)" = $((g0 + 1)) ] || fail "a refused change moved the generation"
ok "refused changes: 400/404, nothing applied"

# runtime state: kept across a restart with the same -c file
kill -9 "$FG_PID"
wait "$FG_PID" 2>/dev/null
FG_PID=
rm -f "$SOCK"
fg_start "$T/p.yaml"
[ "$(gen)" = $((g0 + 1)) ] || fail "restart reinstalled"
pinged && fail "set change lost across the restart"
[ "$(set_op DELETE '{"del":["10.10.1.0/24"]}' blocked)" = 200 ] || fail "del after restart: $(cat "$T/body")"
jq -e '.entries == 1' "$T/body" >/dev/null || fail "del answer: $(cat "$T/body")"
pinged || fail "deleted source still dropped"
ok "kept across a restart; del lifts it"

[ "$(set_op POST '{"add":["10.10.1.2"]}' blocked)" = 200 ] || fail "add host"
pinged && fail "added host passes"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "reload"
pinged || fail "reload of the file did not reset the runtime set change"
ok "an apply of the file resets runtime set changes"

# several deletions in one request: each is found (the set stays sorted
# until all are looked up), and one missing entry refuses them all
[ "$(set_op POST '{"add":["192.0.2.1","192.0.2.2","192.0.2.3"]}' blocked)" = 200 ] ||
	fail "add three: $(cat "$T/body")"
jq -e '.entries == 4' "$T/body" >/dev/null || fail "add three: $(cat "$T/body")"
g=$(gen)
[ "$(set_op DELETE '{"del":["192.0.2.2","192.0.2.1","203.0.113.9"]}' blocked)" = 400 ] ||
	fail "del with one missing: $(cat "$T/body")"
jq -e '.error == "not in the set" and .detail == ["203.0.113.9/32"]' "$T/body" >/dev/null ||
	fail "del with one missing: $(cat "$T/body")"
[ "$(gen)" = "$g" ] || fail "a refused deletion moved the generation"
[ "$(set_op DELETE '{"del":["192.0.2.2","192.0.2.1"]}' blocked)" = 200 ] ||
	fail "del of two: $(cat "$T/body")"
jq -e '.entries == 2' "$T/body" >/dev/null || fail "del of two: $(cat "$T/body")"
[ "$(set_op DELETE '{"del":["192.0.2.1"]}' blocked)" = 400 ] || fail "192.0.2.1 still in the set"
[ "$(set_op DELETE '{"del":["192.0.2.3","192.0.2.0/24"]}' blocked)" = 200 ] ||
	fail "del of the rest: $(cat "$T/body")"
jq -e '.entries == 0' "$T/body" >/dev/null || fail "del of the rest: $(cat "$T/body")"
ok "several deletions in one request"
