#!/usr/bin/env bash
# Bans: POST /v1/bans drops a source at once; GET lists it with its reason
# and time left; DELETE lifts it. Bans are runtime state kept across
# restarts, and their deadlines are checked in the datapath: a 2 s ban
# expires even when flowgated is killed right after adding it.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

code() { curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
pinged() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }
ban() { code -X POST -H 'Content-Type: application/json' -d "$1" http://x/v1/bans; }

fg_policy "$T/p.yaml" <<EOF
log: { audit: $T/audit.jsonl }
rules: []
EOF
fg_start "$T/p.yaml"
pinged || fail "ping before any ban"

[ "$(ban '{"cidr":"10.10.1.0/24","ttl":"10m"}')" = 200 ] || fail "ban: $(cat "$T/body")"
jq -e '.cidr == "10.10.1.0/24" and .reason == "manual" and .expires_in_s == 600' "$T/body" >/dev/null ||
	fail "ban answer: $(cat "$T/body")"
pinged && fail "banned source still passes"
[ "$(code http://x/v1/bans)" = 200 ] || fail "list"
jq -e 'length == 1 and .[0].cidr == "10.10.1.0/24" and .[0].expires_in_s <= 600 and .[0].expires_in_s > 590' \
	"$T/body" >/dev/null || fail "list: $(cat "$T/body")"
curl -sS --unix-socket "$SOCK" http://x/v1/stats | jq -e '.drops.ban >= 1' >/dev/null || fail "ban drops"
ok "ban drops the source, listed with its time left"

# kept across a restart (kill -9)
kill -9 "$FG_PID"
wait "$FG_PID" 2>/dev/null
FG_PID=
rm -f "$SOCK"
pinged && fail "ban lost with the daemon down"
fg_start "$T/p.yaml"
code http://x/v1/bans >/dev/null
jq -e 'length == 1' "$T/body" >/dev/null || fail "ban lost across restart: $(cat "$T/body")"
[ "$(code -X DELETE http://x/v1/bans/10.10.1.0%2F24)" = 200 ] || fail "delete: $(cat "$T/body")"
pinged || fail "ping after unban"
[ "$(code -X DELETE http://x/v1/bans/10.10.1.0%2F24)" = 404 ] || fail "second delete"
grep -q '"event":"ban","cidr":"10.10.1.0/24","reason":"manual","ttl_s":600' "$T/audit.jsonl" || fail "audit ban"
grep -q '"event":"unban","cidr":"10.10.1.0/24"' "$T/audit.jsonl" || fail "audit unban"
ok "kept across a restart; DELETE lifts it (404 the second time); audited"

[ "$(ban '{"cidr":"10.10.1.2/24"}')" = 400 ] || fail "host bits accepted"
jq -e '.detail | contains("10.10.1.0/24")' "$T/body" >/dev/null || fail "hint: $(cat "$T/body")"
[ "$(ban '{"cidr":"10.10.1.2","ttl":"soon"}')" = 400 ] || fail "bad ttl accepted"
[ "$(ban 'not json')" = 400 ] || fail "bad JSON accepted"
ok "bad CIDR, TTL and JSON: 400"

# TTLs: positive, at most 10 years (315360000 s); nothing is banned otherwise
for ttl in 9223372036854775807 1e300 315360001 315360000.5 '"87601h"' '"99999999999999999999h"' \
	0 -5 0.0 '"0s"'; do
	[ "$(ban '{"cidr":"192.0.2.7","ttl":'"$ttl"'}')" = 400 ] || fail "ttl $ttl: $(cat "$T/body")"
	jq -e '.error == "bad ttl"' "$T/body" >/dev/null || fail "ttl $ttl: $(cat "$T/body")"
done
code http://x/v1/bans >/dev/null
jq -e 'length == 0' "$T/body" >/dev/null || fail "an out-of-range ttl banned: $(cat "$T/body")"
for ttl in 315360000 '"87600h"' 0.5; do
	[ "$(ban '{"cidr":"192.0.2.7","ttl":'"$ttl"'}')" = 200 ] || fail "ttl $ttl: $(cat "$T/body")"
	jq -e '.expires_in_s > 0 and .expires_in_s <= 315360000' "$T/body" >/dev/null ||
		fail "ttl $ttl: $(cat "$T/body")"
	[ "$(code -X DELETE http://x/v1/bans/192.0.2.7%2F32)" = 200 ] || fail "unban after ttl $ttl"
done
ok "ban TTLs out of range (overflowing, huge floats, zero, negative): 400"

# the path is decoded once (by libmicrohttpd): %252F is "%2F", not "/"
[ "$(ban '{"cidr":"192.0.2.8"}')" = 200 ] || fail "ban 192.0.2.8"
[ "$(code -X DELETE http://x/v1/bans/192.0.2.8%252F32)" = 400 ] || fail "double-decoded: $(cat "$T/body")"
[ "$(code -X DELETE http://x/v1/bans/192.0.2.8%2F32)" = 200 ] || fail "unban 192.0.2.8"
ok "the URL path is decoded once"

# a 2 s ban expires in the datapath, with no daemon
[ "$(ban '{"cidr":"10.10.1.2","ttl":2}')" = 200 ] || fail "short ban: $(cat "$T/body")"
t0=$(date +%s.%N)
kill -9 "$FG_PID"
wait "$FG_PID" 2>/dev/null
FG_PID=
pinged && fail "short ban not enforced"
# until 3 s after the ban (bash and awk only: no bc)
sleep "$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN { d = t0 + 3 - now; printf "%.3f", (d > 0 ? d : 0) }')"
pinged || fail "ban did not expire with the daemon down"
ok "a 2 s ban expires in the datapath with the daemon killed"

rm -f "$SOCK"
fg_start "$T/p.yaml"
code http://x/v1/bans >/dev/null
jq -e 'length == 0' "$T/body" >/dev/null || fail "expired ban listed: $(cat "$T/body")"
grep -q '"event":"unban","cidr":"10.10.1.2/32","reason":"expired"' "$T/audit.jsonl" ||
	fail "expired ban not audited"
ok "expired bans are not listed (and are removed)"
