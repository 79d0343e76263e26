#!/usr/bin/env bash
# Run every test: C unit and datapath test binaries (lines "PASS x"/"FAIL x"),
# then integration scripts in tests/integ (each one test; exit 0 = pass).
# Ends with one line "N passed, N failed"; exits non-zero on any failure.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
pass=0; fail=0; failed=()
log=$(mktemp -d /tmp/fgtest.XXXXXX)
scripts/bpffs.sh >/dev/null
run_bin() {
	local bin=$1 name out rc
	name=$(basename "$bin")
	out="$log/$name.out"
	timeout 600 "$bin" >"$out" 2>&1; rc=$?
	local p f
	p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; grep -q . "$out" || echo "(no output)" >"$out"; echo "FAIL $name (exit $rc)" >>"$out"; fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -gt 0 ]; then failed+=("$name"); echo "--- $name"; grep -v '^PASS ' "$out" | tail -40; else echo "ok   $name ($p)"; fi
}
for b in "$BUILD"/tests/test_*; do [ -x "$b" ] && run_bin "$b"; done
for t in tests/integ/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	out="$log/$name.out"
	if timeout 600 bash "$t" >"$out" 2>&1; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); failed+=("$name"); echo "--- $name"; tail -40 "$out"
	fi
done
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]} (logs in $log)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
