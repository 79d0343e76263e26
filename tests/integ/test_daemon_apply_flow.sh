#!/usr/bin/env bash
# Applies are atomic under traffic: while `ping -i 0.01` runs through the
# gateway, the API flips 30 times between two policies that both allow it;
# no ping is lost, and the counter of the rule both policies share (by name)
# counts every echo request exactly once across the flips.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

policy() { # NAME EXTRA-RULE-PORT
	fg_policy "$T/$1.yaml" <<EOF
default: drop
rules:
  - name: drop-$1
    action: drop
    proto: udp
    dport: $2
  - name: icmp
    action: allow
    proto: icmp
  - name: only-in-$1
    action: allow
    proto: tcp
    dport: $2
EOF
}
policy a 1111
policy b 2222
fg_start "$T/a.yaml"

in_c ping -q -i 0.01 -c 600 -W 1 "$SERVER_IP" >"$T/ping.out" 2>&1 &
png=$!
sleep 0.2
for i in $(seq 1 15); do
	for p in b a; do
		c=$(curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
			--data-binary @"$T/$p.yaml" http://x/v1/policy)
		[ "$c" = 200 ] || fail "apply $p: $c $(cat "$T/body")"
	done
done
gen=$(api http://x/v1/status | jq .policy.generation)
[ "$gen" = 31 ] || fail "generation $gen after 30 applies"
ok "30 applies while ping runs"

wait "$png" || fail "ping: $(cat "$T/ping.out")"
grep -q '600 packets transmitted, 600 received' "$T/ping.out" || fail "ping: $(cat "$T/ping.out")"
ok "no ping lost"

n=$(api http://x/v1/stats | jq '.rules[] | select(.name == "icmp") | .packets')
[ "$n" = 600 ] || fail "icmp counted $n of 600 across the flips"
api http://x/v1/stats | jq -e '.rules | map(.name) == ["drop-a", "icmp", "only-in-a"]' >/dev/null ||
	fail "rules of the running policy"
ok "shared rule counted exactly (600) across 30 generations"

# Interfaces follow the policy: added ones are attached, dropped ones
# detached (with the daemon's reduced capabilities).
sed "s/^interfaces: \[$GC\]/interfaces: [$GC, {name: $GS, mode: generic}]/" "$T/a.yaml" >"$T/two.yaml"
c=$(curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
	--data-binary @"$T/two.yaml" http://x/v1/policy)
[ "$c" = 200 ] || fail "apply with two interfaces: $c $(cat "$T/body")"
api http://x/v1/status | jq -e ".interfaces == [{\"name\":\"$GC\",\"mode\":\"native\"},
	{\"name\":\"$GS\",\"mode\":\"generic\"}]" >/dev/null || fail "status: $(api http://x/v1/status)"
ip -n "$G" link show "$GS" | grep -q xdpgeneric || fail "$GS not attached in generic mode"
c=$(curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
	--data-binary @"$T/a.yaml" http://x/v1/policy)
[ "$c" = 200 ] || fail "apply with one interface: $c $(cat "$T/body")"
ip -n "$G" link show "$GS" | grep -q xdp && fail "$GS still attached"
[ -e "$PIN_ROOT/v$ABI/links/xdp-$GS" ] && fail "$GS's link pin left"
in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null || fail "ping after the interface changes"
ok "interfaces added and removed by applies"
