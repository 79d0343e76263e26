#!/usr/bin/env bash
# Start-up failures: a bad policy (it does not parse, or the datapath cannot
# take it) exits 1 with the errors; an unreadable -c file exits 2, and so
# does an interface that cannot be attached, leaving nothing attached and
# no pins; a stale socket is replaced, a live one (another daemon) is not.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

run_fg() { # POLICY: flowgated in the foreground; prints its exit code
	timeout 20 ip netns exec "$G" "$FLOWGATED" -c "$1" -f --pin-root "$PIN_ROOT" \
		--state-dir "$T/state" >"$T/run.log" 2>&1
	echo $?
}

fg_policy "$T/bad.yaml" <<EOF
default: maybe
rules:
  - name: x
    action: allow
    dport: 70000
EOF
[ "$(run_fg "$T/bad.yaml")" = 1 ] || fail "bad policy: exit $(run_fg "$T/bad.yaml")"
grep -q "^$T/bad.yaml:4:10: " "$T/run.log" || fail "no FILE:LINE:COL for default: $(cat "$T/run.log")"
grep -q "^$T/bad.yaml:8:12: " "$T/run.log" || fail "not every error reported: $(cat "$T/run.log")"
[ -e "$SOCK" ] && fail "socket created for a bad policy"
ok "bad policy: exit 1, every error as FILE:LINE:COL"

# a policy the datapath cannot take (refused when compiled) is a bad policy too
# (a rule whose port lists combine into 1025 x 1024 entries)
{
	echo "rules:"
	echo "  - name: combos"
	echo "    action: drop"
	echo "    proto: tcp"
	echo "    sport: [$(seq -s, 1 1025)]"
	echo "    dport: [$(seq -s, 1 1024)]"
} | fg_policy "$T/big.yaml"
[ "$(run_fg "$T/big.yaml")" = 1 ] || fail "policy refused by the compiler: exit $(run_fg "$T/big.yaml")"
grep -q "rule combos expands into" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
ip -n "$G" link show "$GC" | grep -q xdp && fail "$GC attached for a refused policy"
[ -e "$PIN_ROOT/v$ABI" ] && fail "pins left: $(ls -R "$PIN_ROOT")"
ok "a policy too large for the datapath: exit 1, nothing attached"

# system errors are exit 2, even those that are EINVAL inside: a -c file
# that is missing or not a regular file
[ "$(run_fg "$T/missing.yaml")" = 2 ] || fail "missing -c file: exit $(run_fg "$T/missing.yaml")"
grep -q "cannot read $T/missing.yaml: No such file or directory" "$T/run.log" ||
	fail "reason: $(cat "$T/run.log")"
mkdir "$T/dir.yaml"
[ "$(run_fg "$T/dir.yaml")" = 2 ] || fail "-c FOLDER: exit $(run_fg "$T/dir.yaml")"
grep -q "cannot read $T/dir.yaml: not a regular file" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
mkfifo "$T/fifo.yaml"
[ "$(run_fg "$T/fifo.yaml")" = 2 ] || fail "-c FIFO: exit $(run_fg "$T/fifo.yaml")"
grep -q "cannot read $T/fifo.yaml: not a regular file" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
ok "an unreadable -c file (missing, a folder, a FIFO): exit 2, at once"

cat >"$T/noif.yaml" <<EOF
version: 1
interfaces: [$GC, ${PFX}nosuch]
api: { socket: $SOCK }
EOF
[ "$(run_fg "$T/noif.yaml")" = 2 ] || fail "missing interface: exit $(run_fg "$T/noif.yaml")"
grep -q "no interface named ${PFX}nosuch" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
ip -n "$G" link show "$GC" | grep -q xdp && fail "$GC left attached"
[ -e "$PIN_ROOT/v$ABI" ] && fail "pins left: $(ls -R "$PIN_ROOT")"
[ -e "$SOCK" ] && fail "socket left"
ok "attach failure: exit 2, nothing half-attached, no pins"

# a stale socket (its daemon died) is replaced
fg_policy "$T/p.yaml" <<EOF
rules: []
EOF
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$SOCK"
[ -S "$SOCK" ] || fail "could not make a stale socket"
ip netns exec "$G" "$FLOWGATED" -c "$T/p.yaml" -f --pin-root "$PIN_ROOT" --state-dir "$T/state" \
	>>"$T/flowgated.log" 2>&1 &
FG_PID=$!
for _ in $(seq 1 100); do
	curl -s --unix-socket "$SOCK" http://x/v1/status >/dev/null && break
	sleep 0.1
done
curl -sS --unix-socket "$SOCK" http://x/v1/status | jq -e .version >/dev/null || fail "no API after a stale socket"
ok "stale socket replaced"

[ "$(run_fg "$T/p.yaml")" = 2 ] || fail "second daemon on the same socket: exit $(run_fg "$T/p.yaml")"
grep -q "another flowgated answers at $SOCK" "$T/run.log" || fail "reason: $(cat "$T/run.log")"
curl -sS --unix-socket "$SOCK" http://x/v1/status | jq -e .version >/dev/null || fail "first daemon hurt"
ok "a second daemon on a live socket exits 2 and leaves the first alone"
