#!/usr/bin/env bash
# Generic-mode XDP runs after GRO, so it sees aggregated TCP segments of up
# to 64 KiB. They must be parsed and allowed like any other packet, not
# dropped as malformed: a 20 MB transfer through a generic-mode gateway
# with GRO on completes, and nothing is counted as truncated.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway
ip netns exec "$G" ethtool -K "$GC" gro on >/dev/null 2>&1 || fail "cannot turn GRO on"

fg_policy "$T/p.yaml" <<EOF
default: allow
rules:
  - name: bulk
    action: allow
    proto: tcp
    dport: 5001
EOF
sed -i "s/^interfaces: \[$GC\]/interfaces: [{ name: $GC, mode: generic }]/" "$T/p.yaml"
fg_start "$T/p.yaml"
fg status --json | jq -e --arg i "$GC" '.interfaces[] | select(.name == $i) | .mode == "generic"' \
	>/dev/null || fail "not in generic mode: $(fg status)"

in_s timeout 30 socat -u TCP-LISTEN:5001,reuseaddr "OPEN:$T/recv,creat,trunc" &
sleep 0.3
in_c timeout 20 sh -c "head -c 20000000 /dev/zero | socat -u STDIN TCP:$SERVER_IP:5001" ||
	fail "transfer did not complete: $(fg stats)"
sleep 0.5
[ "$(stat -c %s "$T/recv")" = 20000000 ] || fail "received $(stat -c %s "$T/recv") of 20000000 bytes"
trunc=$(fg stats --json | jq '.drops.truncated')
[ "$trunc" = 0 ] || fail "$trunc packets dropped as truncated"
big=$(fg stats --json | jq '.rules[] | select(.name == "bulk") | .bytes')
pk=$(fg stats --json | jq '.rules[] | select(.name == "bulk") | .packets')
ok "20 MB through generic XDP with GRO: $pk packets, $big bytes on rule bulk, none truncated"
