#!/usr/bin/env bash
# Run every benchmark in order (`make bench` calls this after building).
# Each writes a markdown table to build/bench/results/ and prints it; copy
# the day's figures into bench/RESULTS.md with the command and date.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
RESULTS=$BUILD/bench/results
STAMP=$(date -u +%Y%m%d-%H%M%S)
mkdir -p "$RESULTS"
rc=0

# 1. Drop throughput on a veth: ceiling, iptables-legacy, nft, xdp-filter,
#    flowgate (skipped until build/flowgated exists). About 3 minutes.
bench/throughput.sh --out "$RESULTS/throughput-$STAMP.md" "$@" || rc=1

# 2. Per-packet cost in ns with BPF_PROG_TEST_RUN against the rule count
#    (DESIGN.md section 6, first target): bench/nsperpkt.c.
if [ -x "$BUILD/bench/nsperpkt" ]; then
	"$BUILD/bench/nsperpkt" | tee "$RESULTS/nsperpkt-$STAMP.md" || rc=1
else
	echo "nsperpkt: not built yet ($BUILD/bench/nsperpkt missing); skipping"
fi

# 3. Apply latency through the daemon: 100k rules, a 1M-entry set.
bench/apply.sh | tee "$RESULTS/apply-$STAMP.md" || rc=1

echo
echo "Results: $RESULTS/*-$STAMP.md (record them in bench/RESULTS.md)"
exit $rc
