#!/usr/bin/env bash
# Reloads of the -c file.
# - Through a symlink swapped as Kubernetes updates a ConfigMap (FILE ->
#   ..data/FILE, ..data -> ..VERSION renamed over by a link to a new folder,
#   the old folder deleted): reload and SIGHUP apply the new policy and its
#   new set file, an API policy's set files are still confined to (and
#   found in) the -c file's folder, and a restart compares the -c path as
#   given: the policy it loaded last is adopted.
# - A reload whose apply fails keeps the audit log and pcap where they
#   were (the new paths are not even created); a log path that cannot be
#   opened refuses the reload; a good reload moves both.
# - A -c file or set file that root cannot read without DAC override: the
#   reload fails and says what to do.
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

# ---- the logs follow only a successful reload ----
mkdir -p "$T/logs"
pol_logs() { # AUDIT PCAP [EXTRA_IFACE]
	cat >"$T/l.yaml" <<EOF
version: 1
interfaces: [$GC${3:+, $3}]
api: { socket: $SOCK }
log: { audit: $1, pcap: $2 }
rules:
  - name: drop-udp
    action: drop
    proto: udp
    dport: 9999
EOF
}
kill -TERM "$FG_PID"
wait "$FG_PID"
FG_PID=
pol_logs "$T/logs/a1.jsonl" "$T/logs/p1.pcap"
fg_start "$T/l.yaml"
g=$(gen)
drops_in() { grep -c '"rule":"drop-udp"' "$1" 2>/dev/null; }
# more_drops LOG N: one more drop, then LOG holds more than N
more_drops() { send_udp 9999; sleep 0.1; [ "$(drops_in "$1")" -gt "$2" ]; }
udp_in() { more_drops "$1" 0; }
more_pcap() {
	send_udp 9999
	sleep 0.1
	[ "$(tcpdump -nr "$1" 2>/dev/null | grep -c "> $SERVER_IP.9999: UDP")" -gt 0 ]
}
wait_for udp_in "$T/logs/a1.jsonl" || fail "no drop in a1"

pol_logs "$T/logs2/a2.jsonl" "$T/logs2/p2.pcap" nosuchif0
[ "$(code -X POST http://x/v1/reload)" = 400 ] || fail "reload naming nosuchif0: $(cat "$T/body")"
jq -e '.detail | contains("no interface named nosuchif0")' "$T/body" >/dev/null ||
	fail "reason: $(cat "$T/body")"
[ -e "$T/logs2" ] && fail "a failed reload created $(ls -R "$T/logs2")"
n1=$(drops_in "$T/logs/a1.jsonl")
wait_for more_drops "$T/logs/a1.jsonl" "$n1" || fail "a failed reload moved the audit log"
[ "$(gen)" = "$g" ] || fail "a failed reload moved the generation"
ok "a failed reload keeps the audit log and pcap paths"

pol_logs /proc/flowgate-nope/a.jsonl "$T/logs/p1.pcap"
[ "$(code -X POST http://x/v1/reload)" = 500 ] || fail "unopenable log: $(cat "$T/body")"
jq -e '.error == "cannot open the new log"' "$T/body" >/dev/null || fail "answer: $(cat "$T/body")"
[ "$(gen)" = "$g" ] || fail "a reload refused for its log applied the policy"
ok "a log path that cannot be opened refuses the reload, nothing applied"

pol_logs "$T/logs2/a2.jsonl" "$T/logs2/p2.pcap"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "good reload: $(cat "$T/body")"
wait_for udp_in "$T/logs2/a2.jsonl" || fail "no drop in the new audit log"
wait_for more_pcap "$T/logs2/p2.pcap" || fail "no drop in the new pcap"
ok "a good reload moves the audit log and pcap"

# ---- files root cannot read without DAC override ----
cp "$T/l.yaml" "$T/l.orig"
chown 65534 "$T/l.yaml"
chmod 0600 "$T/l.yaml"
[ "$(code -X POST http://x/v1/reload)" = 500 ] || fail "unreadable -c: $(cat "$T/body")"
jq -e --arg f "$T/l.yaml" '.detail == "cannot read \($f): Permission denied (flowgated keeps no DAC capability: make it readable by root)"' \
	"$T/body" >/dev/null || fail "message: $(cat "$T/body")"
chown 0 "$T/l.yaml"
printf '10.10.9.0/24\n' >"$T/set.txt"
chown 65534 "$T/set.txt"
chmod 0600 "$T/set.txt"
cat "$T/l.orig" - >"$T/l.yaml" <<EOF
sets:
  s: { file: set.txt }
EOF
sed -i 's/    dport: 9999/    dport: 9999\n  - name: s\n    action: drop\n    src: "@s"/' "$T/l.yaml"
[ "$(code -X POST http://x/v1/reload)" = 400 ] || fail "unreadable set file: $(cat "$T/body")"
jq -e '.detail | any(contains("cannot read set file \"set.txt\": Permission denied (flowgated keeps no DAC capability: make it readable by root)"))' \
	"$T/body" >/dev/null || fail "set file message: $(cat "$T/body")"
chmod 0644 "$T/set.txt"
[ "$(code -X POST http://x/v1/reload)" = 200 ] || fail "readable again: $(cat "$T/body")"
ok "unreadable -c and set files: the answer says to make them readable by root"
