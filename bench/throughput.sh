#!/usr/bin/env bash
# Drop-throughput benchmark (DESIGN.md section 6): how many 60-byte packets per
# second each filter drops on the same veth, fed the same packets, in one run.
#
#   root ns: pktgen --dev fgb-tx ──veth──► fgb-rx (netns fgb-bench): filter under test
#
# Configurations, each at 1 rule and at --rules rules (the matching rule last,
# after rules that never match: source /32s in 10.200.0.0/16), measured in
# rounds (every configuration once per round) so that other load on the
# machine falls on all of them alike:
#   ceiling     an XDP program that drops everything (bench/xdp_drop.bpf.c)
#   iptables    iptables-legacy, raw table PREROUTING, behind an XDP_PASS program
#   nft         nftables netdev ingress chain, behind an XDP_PASS program
#   xdp-filter  xdp-tools' xdp-filter (exact addresses in a hash: one lookup)
#   flowgate    build/flowgated with a generated policy (skipped until built)
# The XDP_PASS program (bench/xdp_pass.bpf.c) is needed because a veth drops
# frames sent into it with XDP_TX unless it has an XDP program (KNOWN.md).
#
# Receive rate = frames the receiving veth's XDP hook saw (ethtool -S
# rx_queue_0_xdp_packets, before/after) per second of sending, where the time
# is pktgen's measured window (see bench/pktgen.c: the kernel's fixed per-call
# setup cost is left out) and frames are scaled to that window. Each
# configuration, in each of --runs rounds: set up, a short warm-up, one run of
# --secs seconds, tear down; the table shows the median and ratios to the
# ceiling and to each baseline at the same rule count. "dropped" checks that
# the filter itself dropped what was seen.
#
# Only traffic between the namespace and veth pair made here; all removed on exit.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}

usage() {
	cat <<EOF
Usage: bench/throughput.sh [--runs N] [--secs S] [--rules N] [--only "CONF..."] [--out FILE]

  --runs N      rounds, i.e. measured runs per configuration (default 5)
  --secs S      seconds of traffic per run (default 2)
  --rules N     rules in the large configurations: N-1 that never match, then
                the matching one (default 10000, the most xdp-filter holds)
  --only LIST   configurations to run, of: ceiling iptables nft xdp-filter flowgate
  --out FILE    where the markdown table goes (default $BUILD/bench/results/throughput-DATE.md)

Example: bench/throughput.sh --runs 3 --secs 2
EOF
}

RUNS=5 SECS=2 RULES=10000 ONLY="ceiling iptables nft xdp-filter flowgate" OUT=
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--rules) RULES=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) echo "throughput.sh: unknown argument '$1'" >&2; usage >&2; exit 1 ;;
	esac
done
case "$RUNS$RULES" in *[!0-9]*|"") echo "throughput.sh: --runs and --rules take numbers" >&2; exit 1 ;; esac
awk -v s="$SECS" 'BEGIN { exit !(s ~ /^[0-9]+(\.[0-9]+)?$/ && s > 0 && s <= 60) }' ||
	{ echo "throughput.sh: --secs takes seconds, 0 < S <= 60" >&2; exit 1; }
[ "$RUNS" -ge 1 ] && [ "$RULES" -ge 2 ] && [ "$RULES" -le 10000 ] ||
	{ echo "throughput.sh: need --runs >= 1 and 2 <= --rules <= 10000" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "throughput.sh: run as root (namespaces, XDP)" >&2; exit 2; }

NS=fgb-bench TX=fgb-tx RX=fgb-rx
SIZE=60 SRC=10.99.0.2 SRC_RANGE=200 SPORT=1024 SPORT_RANGE=64 DST=10.99.1.2 DPORT=9
PKTGEN=$BUILD/bench/pktgen
# The daemon and CLI under test; overridable to try the hook with stand-ins.
FLOWGATED=${FLOWGATED:-$BUILD/flowgated}
FLOWGATE=${FLOWGATE:-$BUILD/flowgate}
STAMP=$(date -u +%Y%m%d-%H%M%S)
[ -n "$OUT" ] || OUT=$BUILD/bench/results/throughput-$STAMP.md
TMP=$(mktemp -d /tmp/fgb-bench.XXXXXX)
# Our own corner of the root namespace's bpffs: pins made inside `ip netns
# exec` (iproute2's, xdp-filter's) go here, never to a shared directory.
PINS=/run/flowgate/bpf/fgb-bench-$$
FG_PID=
RAW=$TMP/raw.tsv
ROUND=0

cleanup() {
	trap - EXIT INT TERM
	if [ -n "$FG_PID" ]; then
		kill "$FG_PID" 2>/dev/null
		wait "$FG_PID" 2>/dev/null
	fi
	ip netns del "$NS" 2>/dev/null
	ip link del "$TX" 2>/dev/null
	rm -rf "$PINS" "$TMP"
	exec 9>&-
}
trap cleanup EXIT
trap 'echo "throughput.sh: interrupted" >&2; exit 130' INT TERM

# One benchmark at a time: two would share the CPUs and the lab names.
exec 9>/run/fgb-bench.lock
flock -n 9 || { echo "throughput.sh: another run holds /run/fgb-bench.lock" >&2; exit 2; }

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# Run a command in the namespace with our pin directory as its /sys/fs/bpf
# (ip netns exec mounts a fresh /sys, without any bpffs).
in_ns() {
	ip netns exec "$NS" sh -c 'mount --bind "$0" /sys/fs/bpf && exec "$@"' "$PINS" "$@"
}

lab_up() {
	ip netns del "$NS" 2>/dev/null   # a leftover of a killed run (our prefix)
	ip link del "$TX" 2>/dev/null
	ip netns add "$NS" &&
	ip link add "$TX" type veth peer name "$RX" netns "$NS" &&
	# No IPv6: neighbour discovery would add frames to the counts.
	sysctl -qw "net.ipv6.conf.$TX.disable_ipv6=1" &&
	ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$RX.disable_ipv6=1" &&
	ip -n "$NS" addr add "$DST/24" dev "$RX" &&
	ip link set "$TX" up && ip -n "$NS" link set "$RX" up && ip -n "$NS" link set lo up &&
	mkdir -p "$PINS"
}

xdp_attach() { in_ns ip link set dev "$RX" xdpdrv obj "$1" sec xdp; }
xdp_detach() { ip -n "$NS" link set dev "$RX" xdpdrv off 2>/dev/null; }

# ethtool -S counter of the receiving veth.
rx_stat() {
	ip netns exec "$NS" ethtool -S "$RX" | awk -v k="$1:" '$1 == k { print $2 }'
}

# Rule sets. fill_addr I: the I-th never-matching source address.
fill_addr() { echo "10.200.$(($1 >> 8)).$(($1 & 255))"; }
fills() { local i; for ((i = 1; i < $1; i++)); do fill_addr "$i"; done; }

# The "dropped" check of each kind: packets its own counters say it dropped.
dropped_xdp() { rx_stat rx_queue_0_xdp_drops; }
dropped_iptables() {
	ip netns exec "$NS" iptables-legacy -t raw -L PREROUTING "$1" -v -x -n | awk '{ print $1 }'
}
# nft gets no counter (it would cost it ~8% here, and iptables-legacy counts
# anyway): what the hook saw minus what reached IP (Ip InReceives) was dropped.
dropped_nft() {
	echo $(($(rx_stat rx_queue_0_xdp_packets) - $(ip netns exec "$NS" awk \
		'$1 == "Ip:" && $2 ~ /^[0-9]+$/ { print $4 }' /proc/net/snmp)))
}

# The same packets for every configuration; bounded by --duration.
pktgen() {
	"$PKTGEN" --dev "$TX" --size "$SIZE" --dst-mac "$RX_MAC" --src "$SRC" \
		--src-range "$SRC_RANGE" --sport "$SPORT" --sport-range "$SPORT_RANGE" \
		--dst "$DST" --dport "$DPORT" --count 2000000000 --cpu "$CPU" -q "$@"
}

# measure NAME RULES DROPPED_CMD...: a warm-up, then one run (this round's).
# Its receive rate = pktgen's rate in its measured window x the share of all
# its frames that the receiving XDP hook saw (frames the veth ring had no
# room for are lost before the hook). Appends "name rules round total window
# secs seen dropped" to RAW; DROPPED_CMD prints a cumulative count of what the
# filter itself dropped.
measure() {
	local name=$1 rules=$2 out total win secs seen0 seen d0
	shift 2
	pktgen --duration 0.5 >/dev/null || { log "$name/$rules: pktgen failed"; return 1; }
	d0=$("$@")
	seen0=$(rx_stat rx_queue_0_xdp_packets)
	out=$(pktgen --duration "$SECS") || { log "$name/$rules: pktgen failed: $out"; return 1; }
	seen=$(($(rx_stat rx_queue_0_xdp_packets) - seen0))
	read -r total win secs <<<"$(echo "$out" | awk '{ print $3, $5, $7 }')"
	echo -e "$name\t$rules\t$ROUND\t$total\t$win\t$secs\t$seen\t$(($("$@") - d0))" >>"$RAW"
	log "$name/$rules round $ROUND: $(awk -v t="$total" -v w="$win" -v s="$secs" -v n="$seen" \
		'BEGIN { printf "%.3f Mpps received, %.1f%% of sent", w / s * n / t / 1e6, 100 * n / t }')" \
		"($out)"
}

run_ceiling() {
	xdp_attach "$BUILD/bench/xdp_drop.bpf.o" || { log "ceiling: cannot attach XDP"; return; }
	measure ceiling 0 dropped_xdp
	xdp_detach
}

run_iptables() {
	local n=$1 f=$TMP/ipt.rules
	{
		echo "*raw"
		echo ":PREROUTING ACCEPT [0:0]"
		fills "$n" | sed 's|.*|-A PREROUTING -s &/32 -j DROP|'
		echo "-A PREROUTING -d $DST/32 -j DROP"
		echo "COMMIT"
	} >"$f"
	if ! ip netns exec "$NS" iptables-legacy-restore <"$f"; then
		log "iptables: restore failed"
	elif ! xdp_attach "$BUILD/bench/xdp_pass.bpf.o"; then
		log "iptables: cannot attach XDP_PASS"
	else
		measure iptables-legacy "$n" dropped_iptables "$n"
	fi
	xdp_detach
	ip netns exec "$NS" iptables-legacy -t raw -F PREROUTING
}

run_nft() {
	local n=$1 f=$TMP/nft.rules
	{
		echo "table netdev fgb {"
		echo "  chain in {"
		echo "    type filter hook ingress device $RX priority 0;"
		fills "$n" | sed 's|.*|    ip saddr & drop|'
		echo "    ip daddr $DST drop"
		echo "  }"
		echo "}"
	} >"$f"
	if ! ip netns exec "$NS" nft -f "$f"; then
		log "nft: loading the rules failed"
	elif ! xdp_attach "$BUILD/bench/xdp_pass.bpf.o"; then
		log "nft: cannot attach XDP_PASS"
	else
		measure nft "$n" dropped_nft
	fi
	xdp_detach
	ip netns exec "$NS" nft delete table netdev fgb 2>/dev/null
}

# xdp-filter keeps addresses in a hash (max 10000 IPv4 entries): the matching
# rule is added with xdp-filter itself, the rest are written into its pinned
# map in one bpftool batch (10k xdp-filter processes would take a minute),
# with the value xdp-filter gives a source-mode address (read back first).
run_xdp_filter() {
	local n=$1
	if in_ns xdp-filter load "$RX" -m native -p allow -f ipv4 && xdp_filter_fill "$n"; then
		measure xdp-filter "$n" dropped_xdp
	else
		log "xdp-filter/$n: setup failed"
	fi
	in_ns xdp-filter unload "$RX" >/dev/null || xdp_detach
	rm -rf "$PINS/xdp-filter"
}

xdp_filter_fill() {
	local n=$1 map=$PINS/xdp-filter/filter_ipv4 val
	in_ns xdp-filter ip "$DST" -m dst || return
	if [ "$n" -gt 1 ]; then
		in_ns xdp-filter ip "$(fill_addr 1)" -m src
		val=$(bpftool -j map lookup pinned "$map" key $(fill_addr 1 | tr . ' ') |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["values"][0]["value"])')
		fills "$n" | tail -n +2 | awk -v m="$map" -v v="$val" -F. '{
			printf "map update pinned %s key %d %d %d %d value", m, $1, $2, $3, $4
			for (i = 0; i < 8; i++) printf " %d", int(v / 256 ^ i) % 256
			printf "\n" }' >"$TMP/xdpf.batch"
		bpftool batch file "$TMP/xdpf.batch" >/dev/null || return
		[ "$ROUND" -gt 1 ] || log "xdp-filter: $(bpftool -j map dump pinned "$map" |
			python3 -c 'import json,sys; print(len(json.load(sys.stdin)))') addresses in its map"
	fi
}

# flowgate's hook. Interface (the daemon's contract, DESIGN.md sections 2-3):
#   ip netns exec NS build/flowgated -c POLICY -f --pin-root /run/flowgate/bpf/NAME
#       [--state-dir DIR, when its --help lists it]
# with POLICY = interfaces: [RX], the rules, default: allow, api: {socket: PATH};
# ready when PATH appears; stopped with `build/flowgate --socket PATH detach`,
# then SIGTERM.
run_flowgate() {
	local n=$1 policy=$TMP/flowgate-$1.yaml sock=$TMP/fg-$1.sock flog=$TMP/flowgated-$1.log
	local pin=$PINS/flowgate-$1 state=$TMP/flowgate-state-$1 i
	{
		echo "version: 1"
		echo "interfaces: [$RX]"
		echo "default: allow"
		echo "api:"
		echo "  socket: $sock"
		echo "rules:"
		fills "$n" | awk '{ printf "  - name: fill%d\n    action: drop\n    src: %s/32\n", NR, $0 }'
		echo "  - name: hit"
		echo "    action: drop"
		echo "    dst: $DST/32"
	} >"$policy"
	# A state folder of our own: the default (/var/lib/flowgate) would keep
	# this policy as "what runs" for the next daemon started on the machine.
	rm -rf "$state"
	mkdir -p "$state"
	ip netns exec "$NS" "$FLOWGATED" -c "$policy" -f --pin-root "$pin" ${FG_STATE_OPT:+"$FG_STATE_OPT" "$state"} \
		>"$flog" 2>&1 &
	FG_PID=$!
	for ((i = 0; i < 600; i++)); do
		[ -S "$sock" ] && break
		kill -0 "$FG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -S "$sock" ]; then
		if kill -0 "$FG_PID" 2>/dev/null; then
			log "flowgate/$n: no API socket $sock after 60 s; daemon log:"
			kill "$FG_PID" 2>/dev/null
			wait "$FG_PID" 2>/dev/null
		else
			wait "$FG_PID"
			log "flowgate/$n: daemon exited (status $?) before its API socket appeared; log:"
		fi
		tail -20 "$flog" >&2
		FG_PID=
		rm -rf "$pin"
		xdp_detach
		return
	fi
	measure flowgate "$n" dropped_xdp
	timeout 30 ip netns exec "$NS" "$FLOWGATE" --socket "$sock" detach >/dev/null ||
		log "flowgate/$n: detach failed"
	kill "$FG_PID" 2>/dev/null
	for ((i = 0; i < 50; i++)); do kill -0 "$FG_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$FG_PID" 2>/dev/null
	wait "$FG_PID" 2>/dev/null
	FG_PID=
	rm -rf "$pin"
	xdp_detach
}

# ---- run ----
bench/build.sh || { echo "throughput.sh: cannot build the bench tools" >&2; exit 2; }
scripts/bpffs.sh || { echo "throughput.sh: cannot mount bpffs" >&2; exit 2; }
lab_up || { echo "throughput.sh: cannot build the veth lab" >&2; exit 2; }
RX_MAC=$(ip -n "$NS" -j link show "$RX" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
# pktgen's worker, and with it the receiving veth's NAPI poll (it runs on
# the sending CPU), pinned to one CPU so that runs do not migrate.
CPU=$(($(nproc) - 1))
: >"$RAW"
START=$(date +%s)
confs=
for conf in $ONLY; do
	case $conf in
	ceiling|iptables|nft) confs="$confs $conf" ;;
	xdp-filter)
		if command -v xdp-filter >/dev/null; then confs="$confs $conf"
		else echo "xdp-filter: not installed (scripts/deps.sh); skipping" >&2; fi ;;
	flowgate)
		if [ -x "$FLOWGATED" ] && [ -x "$FLOWGATE" ]; then confs="$confs $conf"
		else echo "flowgate: not built yet ($FLOWGATED or $FLOWGATE missing); skipping" >&2; fi ;;
	*) echo "throughput.sh: unknown configuration '$conf' (skipped)" >&2 ;;
	esac
done
# Daemons that know --state-dir get a private one (see run_flowgate).
FG_STATE_OPT=
case " $confs " in *" flowgate "*)
	"$FLOWGATED" --help 2>&1 | grep -q -- --state-dir && FG_STATE_OPT=--state-dir ;;
esac
log "lab: $TX -> $NS/$RX; $RUNS rounds of${confs:- nothing}, ${SECS}s each, large = $RULES rules"

for ((ROUND = 1; ROUND <= RUNS; ROUND++)); do
	for conf in $confs; do
		case $conf in
		ceiling) run_ceiling ;;
		iptables) run_iptables 1; run_iptables "$RULES" ;;
		nft) run_nft 1; run_nft "$RULES" ;;
		xdp-filter) run_xdp_filter 1; run_xdp_filter "$RULES" ;;
		flowgate) run_flowgate 1; run_flowgate "$RULES" ;;
		esac
	done
done

mkdir -p "$(dirname "$OUT")"
{
	echo "## Drop throughput, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	echo "Command: \`bench/throughput.sh --runs $RUNS --secs $SECS --rules $RULES\`" \
		"(kernel $(uname -r), $(nproc) CPUs, load before: $(cut -d' ' -f1-3 /proc/loadavg))."
	echo "Packets: $SIZE B UDP $SRC+$SRC_RANGE:$SPORT+$SPORT_RANGE -> $DST:$DPORT" \
		"($((SRC_RANGE * SPORT_RANGE)) flows), pktgen (XDP live frames) on CPU $CPU."
	echo
	python3 - "$RAW" "$ONLY" <<'EOF'
import statistics, sys
runs, dropped, order = {}, {}, []
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    key = (f[0], int(f[1]))
    if key not in runs:
        runs[key] = []
        order.append(key)
    total, win, secs, seen, drop = int(f[3]), int(f[4]), float(f[5]), int(f[6]), int(f[7])
    runs[key].append(win / secs * seen / total / 1e6 if total and secs else 0.0)
    s0, d0 = dropped.get(key, (0, 0))
    dropped[key] = (s0 + seen, d0 + drop)
med = {k: statistics.median(v) for k, v in runs.items()}
ceiling = med.get(("ceiling", 0))
def ratio(v, base):
    return "%.3gx" % (v / base) if base else "-"
def mpps(v):
    return "%.2f" % v if v >= 1 else "%.3g" % v
print("| configuration | rules | Mpps (median) | runs | ns/pkt over ceiling | vs ceiling | vs iptables-legacy | vs nft | vs xdp-filter | dropped |")
print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|")
for k in order:
    name, rules = k
    v = med[k]
    same = lambda b: med.get((b, rules))
    seen, drop = dropped.get(k, (0, 0))
    print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        name, rules if rules else "-", mpps(v), " ".join(mpps(r) for r in runs[k]),
        "%.1f" % (1e3 / v - 1e3 / ceiling) if ceiling and v else "-",
        ratio(v, ceiling),
        "-" if name == "iptables-legacy" else ratio(v, same("iptables-legacy")),
        "-" if name == "nft" else ratio(v, same("nft")),
        "-" if name == "xdp-filter" else ratio(v, same("xdp-filter")),
        "%.1f%%" % (100.0 * drop / seen) if seen else "-"))
print("\nMpps: frames the receiving XDP hook saw per second, median of the runs. "
      "ns/pkt over ceiling: 1000/Mpps - 1000/ceiling Mpps, the filter's own cost per "
      "packet (pktgen shares the CPU, so rates are 1/(generator + receiver)). "
      "vs X: this row's median / X's median at the same rule count. "
      "dropped: share of the frames seen that the filter's own counters dropped.")
fg = [k for k in order if k[0] == "flowgate"]
if not fg and "flowgate" in sys.argv[2].split():
    print("\nflowgate: not measured (not built yet, or it failed to start; see the log).")
for k in fg:
    v, r = med[k], k[1]
    if r == 1:
        what = "DESIGN.md section 6 targets"
        checks = [("2x iptables-legacy", med.get(("iptables-legacy", r)), 2.0),
                  ("2x nft", med.get(("nft", r)), 2.0),
                  ("1.5x xdp-filter", med.get(("xdp-filter", r)), 1.5),
                  ("75% of ceiling", ceiling, 0.75)]
    else:
        # The large rule set's target (issue 2): still at least twice what
        # iptables-legacy does with ONE rule. Beating iptables at the same
        # rule count, which walks its rules, is in the table but is no target.
        what = "target"
        checks = [("2x iptables-legacy at 1 rule", med.get(("iptables-legacy", 1)), 2.0)]
    print("\nflowgate at %d rule%s, %s: %s" % (r, "s" if r > 1 else "", what, "; ".join(
        "%s %s" % (n, "n/a" if not b else ("met (%.2fx)" % (v / b) if v >= f * b
                                           else "MISSED (%.2fx)" % (v / b)))
        for n, b, f in checks)))
    # Rates include the generator's ~50 ns, which compresses every ratio;
    # the filters' own costs show how far apart they really are.
    if ceiling:
        print("(own cost per packet over the ceiling: %s)" % ", ".join(
            "%s %.1f ns" % (n, 1e3 / med[(n, r)] - 1e3 / ceiling)
            for n in ("flowgate", "xdp-filter", "nft", "iptables-legacy") if (n, r) in med))
EOF
} >"$OUT"
cat "$OUT"
log "done in $(($(date +%s) - START)) s; table in $OUT"
