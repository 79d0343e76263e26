#!/usr/bin/env bash
# Apply latency through the daemon (DESIGN.md §6: 100k rules or 1M set
# entries "in about a second", atomically): `flowgate apply` of
#   (a) the 100k-rule ClassBench acl1 set (bench/classbench2policy.py), and
#   (b) a policy whose one rule drops a set file of 1,000,000 CIDRs,
# against a flowgated on a veth in its own namespace (fgb-apply*), each
# measured as wall time of the CLI call: parse + compile + install +
# the grace periods of the atomic switch. Removes everything it made.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
CB=${CLASSBENCH:-../shared/classbench}
RUNS=${RUNS:-3}
T=$(mktemp -d /tmp/fgb-apply.XXXX)
NS=fgb-apply
PIN=/run/flowgate/bpf/fgb-apply-$$
SOCK=$T/api.sock
PID=
cleanup() {
	[ -S "$SOCK" ] && "$BUILD/flowgate" --socket "$SOCK" detach >/dev/null 2>&1
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	ip netns del $NS 2>/dev/null
	rm -rf "$PIN" "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
scripts/bpffs.sh
ip netns add $NS
ip -n $NS link add fgba0 type veth peer name fgba1
ip -n $NS link set fgba0 up
ip -n $NS link set fgba1 up

hdr() { printf 'version: 1\ninterfaces: [fgba0]\ndefault: allow\napi: { socket: %s }\n' "$SOCK"; }
hdr >"$T/small.yaml"
printf 'rules:\n  - { name: one, action: drop, proto: udp, dport: 9 }\n' >>"$T/small.yaml"
python3 bench/classbench2policy.py "$CB/acl1_100000.gz" --iface fgba0 --api-socket "$SOCK" \
	-o "$T/acl100k.yaml" >/dev/null || exit 1
python3 - "$T/big.txt" <<'EOF'
import random, sys
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(1000000):
        a = random.getrandbits(32) | 0x01000000
        if i % 8:
            f.write("%d.%d.%d.%d\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255))
        else:
            f.write("%d.%d.%d.0/24\n" % (a >> 24, a >> 16 & 255, a >> 8 & 255))
EOF
{ hdr; printf 'sets:\n  big: { file: big.txt }\nrules:\n  - { name: big, action: drop, src: "@big" }\n'; } >"$T/set1m.yaml"
echo "inputs: $(grep -c 'name:' "$T/acl100k.yaml") rules; $(wc -l <"$T/big.txt") set entries"

ip netns exec $NS "$BUILD/flowgated" -c "$T/small.yaml" -f --pin-root "$PIN" --state-dir "$T/state" \
	>"$T/flowgated.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
	curl -sf -o /dev/null --unix-socket "$SOCK" http://x/v1/status && break
	sleep 0.1
done
time_apply() { # file -> seconds
	local t0 t1
	t0=$(date +%s.%N)
	"$BUILD/flowgate" --socket "$SOCK" apply "$1" >/dev/null || { echo "apply $1 failed" >&2; return 1; }
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
echo
echo "| policy | runs (s) | median (s) |"
echo "|---|---|---:|"
for f in acl100k set1m small; do
	ts=()
	for _ in $(seq 1 "$RUNS"); do
		ts+=("$(time_apply "$T/$f.yaml")") || exit 1
		time_apply "$T/small.yaml" >/dev/null # switch away, so each run replaces
	done
	med=$(printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p")
	printf '| %s | %s | %.2f |\n' "$f" "$(printf '%.2f ' "${ts[@]}")" "$med"
done
