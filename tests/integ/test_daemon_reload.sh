#!/usr/bin/env bash
# Reloads of the -c file through a symlink swapped as Kubernetes updates a
# ConfigMap (FILE -> ..data/FILE, ..data -> ..VERSION renamed over by a link
# to a new folder, the old folder deleted): reload and SIGHUP apply the new
# policy and its new set file, an API policy's set files are still confined
# to (and found in) the -c file's folder, and a restart compares the -c path
# as given: the policy it loaded last is adopted.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

code() { curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" "$@"; }
gen() { curl -sS --unix-socket "$SOCK" http://x/v1/status | jq .policy.generation; }
rules() { curl -sS --unix-socket "$SOCK" http://x/v1/stats | jq -c '[.rules[].name]'; }
pinged() { in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null 2>&1; }
send_udp() { echo "x" | in_c socat -u - "UDP-SENDTO:$SERVER_IP:$1"; }
# wait_for CMD...: poll for up to 5 s until CMD succeeds
wait_for() {
	local _
	for _ in $(seq 1 50); do "$@" && return 0; sleep 0.1; done
	return 1
}

# ---- a ConfigMap-style folder ----
CM=$T/cm
# cm_version NAME BLOCKED RULE: a new version folder, made the current one
cm_version() {
	mkdir -p "$CM/..$1"
	printf '%s\n' "$2" >"$CM/..$1/blocked.txt"
	fg_policy "$CM/..$1/policy.yaml" <<EOF
sets:
  blocked: { file: blocked.txt }
rules:
  - name: $3
    action: drop
    src: "@blocked"
EOF
	ln -sfn "..$1" "$CM/..data_tmp"
	mv -T "$CM/..data_tmp" "$CM/..data"
}
mkdir -p "$CM"
cm_version v1 192.0.2.1 rule-v1
ln -s ..data/policy.yaml "$CM/policy.yaml"
ln -s ..data/blocked.txt "$CM/blocked.txt"
fg_start "$CM/policy.yaml"
g0=$(gen)
pinged || fail "ping blocked by v1"
[ "$(rules)" = '["rule-v1"]' ] || fail "rules: $(rules)"

cm_version v2 10.10.1.0/24 rule-v2
rm -rf "$CM/..v1"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "reload after the swap: $(cat "$T/body")"
[ "$(rules)" = '["rule-v2"]' ] || fail "rules after the swap: $(rules)"
pinged && fail "the new set file is not applied"
ok "reload through a swapped ConfigMap symlink applies the new policy and set file"

cm_version v3 192.0.2.3 rule-v3
rm -rf "$CM/..v2"
kill -HUP "$FG_PID"
wait_for pinged || fail "SIGHUP after the swap: the old set still drops"
[ "$(rules)" = '["rule-v3"]' ] || fail "rules after SIGHUP: $(rules)"
ok "SIGHUP after another swap"

# an API policy's set file: confined to the -c file's folder, as given
sed 's/rule-v3/rule-api/' "$CM/policy.yaml" >"$T/api.yaml"
[ "$(code -X PUT --data-binary @"$T/api.yaml" http://x/v1/policy)" = 200 ] ||
	fail "API policy with a set file in the ConfigMap: $(cat "$T/body")"
sed 's/file: blocked.txt/file: ..\/..\/etc\/hostname/' "$T/api.yaml" >"$T/api-out.yaml"
[ "$(code -X PUT --data-binary @"$T/api-out.yaml" http://x/v1/policy)" = 400 ] ||
	fail "API set file outside the folder accepted: $(cat "$T/body")"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "reload: $(cat "$T/body")"
g=$(gen)
ok "API set files confined to the -c file's folder (not the folder it pointed to at start)"

# a restart compares the -c path as given: unchanged, so it adopts
kill -TERM "$FG_PID"
wait "$FG_PID"
FG_PID=
fg_start "$CM/policy.yaml"
[ "$(gen)" = "$g" ] || fail "restart reinstalled: generation $(gen), was $g"
grep -q "kept generation $g running" "$T/flowgated.log" || fail "not adopted"
ok "restart after swaps: generation $g adopted"
[ "$g" -gt "$g0" ] || fail "generations did not move"
