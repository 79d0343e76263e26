#!/usr/bin/env bash
# `make fuzz`, two parts:
#  1. the datapath against the reference model: build/tests/test_diff with
#     a fresh seed and many more random policies and packets than the
#     fixed-seed run in `make test` (FUZZ_DIFF_ITERS, default 2000 policies
#     x 500 packets; a mismatch prints the seed and a minimal policy);
#  2. the policy parser with libFuzzer + ASan + UBSan for FUZZ_SECONDS
#     (default 60) on tests/fuzz/corpus. New interesting inputs are kept in
#     build/fuzz-corpus (the seed corpus stays as committed); crashes land
#     in build/fuzz-crashes.
# Exit non-zero on any mismatch, crash, leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
mkdir -p "$BUILD" "$BUILD/fuzz-corpus" "$BUILD/fuzz-crashes"

seed=${FUZZ_DIFF_SEED:-$(date +%s)}
echo "fuzz: datapath vs reference model, seed $seed, ${FUZZ_DIFF_ITERS:-2000} policies"
scripts/bpffs.sh
FG_DIFF_SEED=$seed FG_DIFF_ITERS=${FUZZ_DIFF_ITERS:-2000} FG_DIFF_BIG=${FUZZ_DIFF_BIG:-20} \
	"$BUILD/tests/test_diff"

clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -Iinclude -Isrc \
	tests/fuzz/fuzz_policy.c src/policy.c -lyaml -o "$BUILD/fuzz_policy"
echo "fuzz: policy parser for ${FUZZ_SECONDS}s"
exec "$BUILD/fuzz_policy" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-dict=tests/fuzz/policy.dict \
	-artifact_prefix="$BUILD/fuzz-crashes/" \
	"$BUILD/fuzz-corpus" tests/fuzz/corpus
