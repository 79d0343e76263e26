#!/usr/bin/env bash
# A failed restart does not stop enforcement. flowgated runs a policy that
# drops ICMP on the gateway's client-side veth and is stopped (SIGTERM: the
# datapath keeps filtering); its -c file then names an interface that does
# not exist, or one that cannot be attached as asked. The next start exits
# 2, and the policy that ran before still runs where it ran: the veth keeps
# its XDP link and pins, pings stay dropped, and a start with the old file
# adopts the generation that never stopped running. The same holds for an
# upgrade (a daemon of another ABI version) whose start fails: the old
# version's links are not touched and the new version's pins are removed.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

run_fg() { # POLICY [FLOWGATED]: a start in the foreground; prints its exit code
	timeout 30 ip netns exec "$G" "${2:-$FLOWGATED}" -c "$1" -f --pin-root "$PIN_ROOT" \
		--state-dir "$T/state" >"$T/run.log" 2>&1
	echo $?
}
pinged() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }
xdp_on() { ip -n "$G" link show "$1" | grep -q xdp; }
stop_fg() { kill -TERM "$FG_PID"; wait "$FG_PID"; FG_PID=; }
# still_filtering WHAT: the veth runs a program and ICMP is dropped
still_filtering() {
	xdp_on "$GC" || fail "$1: XDP gone from $GC: $(cat "$T/run.log")"
	pinged && fail "$1: ICMP passes: $(cat "$T/run.log")"
	true
}

pinged || fail "no ping through the lab without flowgate"
fg_policy "$T/p.yaml" <<EOF
rules:
  - name: no-icmp
    action: drop
    proto: icmp
EOF
cp "$T/p.yaml" "$T/p.orig"
fg_start "$T/p.yaml"
gen=$(curl -sS --unix-socket "$SOCK" http://x/v1/status | jq .policy.generation)
pinged && fail "ICMP passes under the policy"
stop_fg
still_filtering "daemon stopped"
ok "SIGTERM leaves generation $gen filtering"

# 1. the -c file names an interface that does not exist
sed -i "s/^interfaces: \[$GC\]/interfaces: [$GC, nosuchif0]/" "$T/p.yaml"
[ "$(run_fg "$T/p.yaml")" = 2 ] || fail "missing interface: exit $(run_fg "$T/p.yaml")"
grep -q "no interface named nosuchif0" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
still_filtering "missing interface"
[ -e "$PIN_ROOT/v$ABI/links/xdp-$GC" ] && [ -e "$PIN_ROOT/v$ABI/fg_active" ] ||
	fail "pins removed: $(ls -R "$PIN_ROOT")"
[ -e "$SOCK" ] && fail "socket left by a failed start"
ok "a missing interface: exit 2, the running policy still drops ICMP, pins kept"

# 2. an interface that cannot be attached as asked, after the veth (whose
# program the start has swapped by then): loopback has no native XDP. The
# new policy lets ICMP pass: had its generation stayed installed, pings
# would go through.
cat >"$T/p.yaml" <<EOF
version: 1
interfaces: [$GC, { name: lo, mode: native }]
api: { socket: $SOCK }
default: allow
rules:
  - name: no-udp
    action: drop
    proto: udp
EOF
[ "$(run_fg "$T/p.yaml")" = 2 ] || fail "native XDP on lo: exit $(run_fg "$T/p.yaml")"
grep -q "cannot attach XDP to lo in native mode" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
still_filtering "attach failure"
xdp_on lo && fail "lo left attached"
[ -e "$PIN_ROOT/v$ABI/links/xdp-lo" ] && fail "lo's link pin left"
ok "an attach failure: exit 2, the running policy still drops ICMP"

# 3. the old file again: the generation that ran all along is adopted
cp "$T/p.orig" "$T/p.yaml"
fg_start "$T/p.yaml"
grep -q "kept generation $gen running" "$T/flowgated.log" ||
	fail "generation $gen not adopted: $(tail -5 "$T/flowgated.log")"
pinged && fail "ICMP passes after the restart"
stop_fg
ok "the old -c file again: generation $gen adopted, never interrupted"

# 4. an upgrade (another ABI version) whose start fails leaves the old
# version's links alone and removes its own pins
B99=$T/b99
make -s -C "$ROOT" BUILD="$B99" EXTRA_CFLAGS=-DFG_ABI_VERSION=99 "$B99/flowgated" \
	>"$T/build.log" 2>&1 || { cat "$T/build.log"; fail "build with ABI 99"; }
sed -i "s/^interfaces: \[$GC\]/interfaces: [$GC, nosuchif0]/" "$T/p.yaml"
[ "$(run_fg "$T/p.yaml" "$B99/flowgated")" = 2 ] || fail "upgrade with a missing interface: exit"
grep -q "no interface named nosuchif0" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
still_filtering "failed upgrade"
[ -e "$PIN_ROOT/v$ABI/links/xdp-$GC" ] || fail "the old version's link pin is gone: $(ls -R "$PIN_ROOT")"
[ -e "$PIN_ROOT/v99" ] && fail "the failed upgrade left its pins: $(ls -R "$PIN_ROOT/v99")"
ok "a failed upgrade: exit 2, the old version's links untouched, no new pins left"
