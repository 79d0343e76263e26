#!/usr/bin/env bash
# `make demo`: flowgate on a lab of network namespaces (DESIGN.md §5).
#
#   client   10.10.1.2  ──┐
#   attacker 10.10.2.66 ──┼── gateway (flowgated on its three veths) ── backend 10.10.100.1 (HTTP :8080)
#
# It builds the lab, starts flowgated on the gateway with a default-drop
# policy, sends allowed and denied traffic, shows status, stats, a ban and
# the audit log, and removes everything it created, whatever happens.
# Only addresses inside these namespaces are used.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-$ROOT/build}
P=fgdemo
T=$(mktemp -d /tmp/$P.XXXX)
PIN=/run/flowgate/bpf/$P
SOCK=$T/flowgate.sock
FG_PID=

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '\033[2m$ %s\033[0m\n' "$*"; "$@"; }
gw() { ip netns exec $P-gw "$@"; }
fg() { gw "$BUILD/flowgate" --socket "$SOCK" "$@"; }

cleanup() {
	[ -S "$SOCK" ] && fg detach >/dev/null 2>&1
	[ -n "$FG_PID" ] && kill "$FG_PID" 2>/dev/null && wait "$FG_PID" 2>/dev/null
	for ns in gw client attacker backend; do
		ip netns pids $P-$ns 2>/dev/null | xargs -r kill 2>/dev/null
		ip netns del $P-$ns 2>/dev/null
	done
	rm -rf "$PIN" "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "make demo needs root (network namespaces, XDP)" >&2; exit 2; }
scripts/bpffs.sh
cleanup 2>/dev/null
T=$(mktemp -d /tmp/$P.XXXX); SOCK=$T/flowgate.sock

bold "Building the lab: client, attacker, backend behind a gateway"
for ns in gw client attacker backend; do ip netns add $P-$ns; ip -n $P-$ns link set lo up; done
link() { # ns ifname addr  <->  gw gwif gwaddr
	ip link add "$2" netns $P-$1 type veth peer name "$4" netns $P-gw
	ip -n $P-$1 addr add "$3" dev "$2"; ip -n $P-gw addr add "$5" dev "$4"
	ip -n $P-$1 link set "$2" up; ip -n $P-gw link set "$4" up
	ip -n $P-$1 route add default via "${5%/*}"
}
link client eth0 10.10.1.2/24 gw-client 10.10.1.1/24
link attacker eth0 10.10.2.66/24 gw-attacker 10.10.2.1/24
link backend eth0 10.10.100.1/24 gw-backend 10.10.100.254/24
gw sysctl -qw net.ipv4.ip_forward=1
mkdir -p "$T/www" && echo "hello from the backend" >"$T/www/index.html"
ip netns exec $P-backend python3 -m http.server 8080 --bind 10.10.100.1 --directory "$T/www" \
	>/dev/null 2>&1 &
echo "client 10.10.1.2, attacker 10.10.2.66, backend 10.10.100.1:8080 (HTTP)"

cat >"$T/blocklist.txt" <<'EOF'
# sources dropped outright
10.10.2.66/32
10.10.3.0/24
EOF
cat >"$T/policy.yaml" <<EOF
version: 1
interfaces: [gw-client, gw-attacker, gw-backend]
default: drop
sets:
  blocklist: { file: blocklist.txt }
  lab: [10.10.0.0/16]
rules:
  - name: drop-blocklist
    action: drop
    src: "@blocklist"
  - name: replies
    action: allow
    state: established
  - name: web
    action: allow
    src: "@lab"
    proto: tcp
    dport: [80, 443, 8000-8100]
  - name: ping
    action: log
    proto: icmp
  - name: backends-out
    action: allow
    iface: gw-backend
    src: 10.10.100.0/24
protect:
  per_source: { pps: 50000, ban: 60s }
log:
  audit: $T/audit.jsonl
api:
  socket: $SOCK
EOF

bold "The policy (default drop; blocklist first; web and ping allowed)"
sed -n '/^default/,/^protect/p' "$T/policy.yaml" | sed '$d'
run "$BUILD/flowgate" check "$T/policy.yaml" || exit 1

bold "Starting flowgated on the gateway"
gw "$BUILD/flowgated" -c "$T/policy.yaml" -f --pin-root "$PIN" --state-dir "$T/state" \
	>"$T/flowgated.log" 2>&1 &
FG_PID=$!
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$T/flowgated.log"; echo "flowgated did not start" >&2; exit 2; }
run fg status

bold "Allowed: the client fetches a page from the backend"
run ip netns exec $P-client curl -s -m 3 http://10.10.100.1:8080/ || echo "(failed)"
bold "Allowed and logged: the client pings the backend"
run ip netns exec $P-client ping -c 3 -i 0.2 -W 1 10.10.100.1 | tail -2
bold "Denied by the blocklist: the attacker tries the same page"
run ip netns exec $P-attacker curl -s -m 2 http://10.10.100.1:8080/ || echo "(blocked: curl timed out)"
bold "Denied by default: the client tries port 9999"
run ip netns exec $P-client curl -s -m 2 http://10.10.100.1:9999/ || echo "(blocked: curl timed out)"

bold "Banning the client for 30s, live"
run fg ban add 10.10.1.2 --ttl 30s
run ip netns exec $P-client ping -c 2 -i 0.2 -W 1 10.10.100.1 | grep transmitted
run fg ban list
run fg ban del 10.10.1.2
run ip netns exec $P-client ping -c 2 -i 0.2 -W 1 10.10.100.1 | grep transmitted

bold "Counters"
run fg stats
bold "The audit log (drops, logged pings, bans), last lines"
sleep 1
run tail -n 6 "$T/audit.jsonl"
bold "Done: removing the lab"
