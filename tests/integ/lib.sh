# shellcheck shell=bash
# Integration test lab (DESIGN.md §5). Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   lab_init            # name prefix fgt<pid>, cleanup trap on every exit
#   lab_gateway         # client(10.10.1.2) -- gw -- server(10.10.2.2)
#   fg_start policy.yaml  # flowgated in the gw namespace on gw's client-side veth
#
# Namespaces: $C (client), $G (gateway), $S (server); veths: gw side $GC
# (facing the client, where flowgate attaches) and $GS (facing the server).
# Only addresses inside these namespaces are ever used.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# the ABI version in pin paths: PIN_ROOT/v$ABI/...
ABI=$(awk '/define FG_ABI_VERSION/ {print $3; exit}' "$ROOT/include/flowgate/abi.h")
BUILD=${BUILD:-$ROOT/build}
FLOWGATED=$BUILD/flowgated
FLOWGATE=$BUILD/flowgate

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

lab_cleanup() {
	local rc=$?
	[ -n "${FG_PID:-}" ] && kill -9 "$FG_PID" 2>/dev/null
	if [ -n "${PIN_ROOT:-}" ] && [ -d "$PIN_ROOT" ]; then
		# links first (detaches programs), then the maps
		find "$PIN_ROOT" -depth -mindepth 1 -exec rm -rf {} + 2>/dev/null
		rmdir "$PIN_ROOT" 2>/dev/null
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX-"); do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "${T:-}" ] && rm -rf "$T"
	exit $rc
}

lab_init() {
	PFX=fgt$$
	T=$(mktemp -d /tmp/$PFX.XXXX)
	PIN_ROOT=/run/flowgate/bpf/$PFX
	SOCK=$T/api.sock
	trap lab_cleanup EXIT
	trap 'exit 130' INT TERM
	"$ROOT/scripts/bpffs.sh"
	[ -x "$FLOWGATED" ] || fail "$FLOWGATED not built"
}

# lab_ns NAME: create namespace $PFX-NAME with lo up; prints its name
lab_ns() {
	local ns=$PFX-$1
	ip netns add "$ns" || fail "netns add $ns"
	ip -n "$ns" link set lo up
	echo "$ns"
}

# lab_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN [ADDR6_1/LEN ADDR6_2/LEN]
lab_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" || fail "veth $2-$5"
	ip -n "$1" addr add "$3" dev "$2"
	ip -n "$4" addr add "$6" dev "$5"
	if [ $# -ge 8 ]; then
		ip -n "$1" addr add "$7" dev "$2" nodad
		ip -n "$4" addr add "$8" dev "$5" nodad
	fi
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

# client -- gateway -- server, IPv4 and IPv6, routed through the gateway.
lab_gateway() {
	C=$(lab_ns c); G=$(lab_ns g); S=$(lab_ns s)
	GC=${PFX}gc; GS=${PFX}gs
	lab_link "$C" eth0 10.10.1.2/24 "$G" "$GC" 10.10.1.1/24 fd00:1::2/64 fd00:1::1/64
	lab_link "$S" eth0 10.10.2.2/24 "$G" "$GS" 10.10.2.1/24 fd00:2::2/64 fd00:2::1/64
	ip -n "$C" route add default via 10.10.1.1
	ip -n "$S" route add default via 10.10.2.1
	ip -n "$C" -6 route add default via fd00:1::1
	ip -n "$S" -6 route add default via fd00:2::1
	ip netns exec "$G" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	CLIENT_IP=10.10.1.2; SERVER_IP=10.10.2.2
	CLIENT_IP6=fd00:1::2; SERVER_IP6=fd00:2::2
}

# fg_policy FILE: write a policy header for the lab, then the caller's body
# from stdin (rules, default, ...). Interfaces: the gateway's client side.
fg_policy() {
	{
		echo "version: 1"
		echo "interfaces: [$GC]"
		echo "api: { socket: $SOCK }"
		cat
	} >"$1"
}

# fg_start POLICY [extra flowgated args]: run the daemon in the gateway
# namespace and wait until its API answers (= policy applied). A socket
# file left by a killed daemon does not count: it must accept connections.
fg_start() {
	local pol=$1; shift
	ip netns exec "$G" "$FLOWGATED" -c "$pol" -f --pin-root "$PIN_ROOT" \
		--state-dir "$T/state" "$@" >>"$T/flowgated.log" 2>&1 &
	FG_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -S "$SOCK" ] && curl -sf -o /dev/null --unix-socket "$SOCK" \
			http://flowgate/v1/status && return 0
		kill -0 "$FG_PID" 2>/dev/null || { cat "$T/flowgated.log" >&2; fail "flowgated exited"; }
		sleep 0.1
	done
	cat "$T/flowgated.log" >&2
	fail "flowgated did not become ready"
}

# api ARGS...: curl against the lab daemon's API socket
api() { curl -sS --unix-socket "$SOCK" "$@"; }

# rule_packets NAME: packets counted on rule NAME (GET /v1/stats)
rule_packets() { api http://x/v1/stats | jq ".rules[] | select(.name == \"$1\") | .packets"; }

# streams_survived LINES PINGS WHAT: after a daemon was replaced under
# traffic, the TCP client ($cli) delivered all LINES lines to the server
# ($srv, appending to $T/tcp.out) and the ping ($png, output in
# $T/ping.out) got all PINGS replies. WHAT ends the TCP check's message.
streams_survived() {
	wait "$cli" || fail "TCP client failed: $(cat "$T/tcp.err")"
	sleep 0.3
	kill "$srv" 2>/dev/null
	[ "$(grep -c '^line ' "$T/tcp.out")" = "$1" ] ||
		fail "TCP got $(grep -c '^line ' "$T/tcp.out") of $1 lines"
	ok "TCP connection survived: $3"
	wait "$png" || fail "ping: $(cat "$T/ping.out")"
	grep -q "$2 packets transmitted, $2 received" "$T/ping.out" || fail "ping: $(cat "$T/ping.out")"
	ok "ping stream lost nothing"
}

# fg CMD...: the CLI against the lab's daemon
fg() { ip netns exec "$G" "$FLOWGATE" --socket "$SOCK" "$@"; }

# Run in the client namespace
in_c() { ip netns exec "$C" "$@"; }
in_s() { ip netns exec "$S" "$@"; }
