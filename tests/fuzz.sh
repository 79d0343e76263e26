#!/usr/bin/env bash
# Fuzz the policy parser with libFuzzer + ASan + UBSan for FUZZ_SECONDS
# (default 60) on tests/fuzz/corpus. New interesting inputs are kept in
# build/fuzz-corpus (the seed corpus stays as committed); crashes land in
# build/fuzz-crashes. Exit non-zero on any crash, leak or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
mkdir -p "$BUILD" "$BUILD/fuzz-corpus" "$BUILD/fuzz-crashes"
clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -Iinclude -Isrc \
	tests/fuzz/fuzz_policy.c src/policy.c -lyaml -o "$BUILD/fuzz_policy"
echo "fuzz: policy parser for ${FUZZ_SECONDS}s"
exec "$BUILD/fuzz_policy" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 \
	-rss_limit_mb=2048 -print_final_stats=1 \
	-dict=tests/fuzz/policy.dict \
	-artifact_prefix="$BUILD/fuzz-crashes/" \
	"$BUILD/fuzz-corpus" tests/fuzz/corpus
