#!/usr/bin/env bash
# Paths are the operator's: a policy sent over the API may read set files
# only inside the -c file's folder (relative paths resolve there); a set
# file outside it (by ../, an absolute path or a symlink) is refused with a
# line:col error that does not contain the file's contents, and the running
# policy stays.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

put() {
	curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X PUT \
		--data-binary @"$1" http://x/v1/policy
}
gen() { curl -sS --unix-socket "$SOCK" http://x/v1/status | jq .policy.generation; }

mkdir "$T/conf"
echo "$CLIENT_IP/32" >"$T/conf/inside.txt"
printf 'TOP-SECRET-7731 not a cidr\n10.0.0.0/8\n' >"$T/secret.txt"
ln -s "$T/secret.txt" "$T/conf/link.txt"
fg_policy "$T/conf/p.yaml" <<EOF
rules: []
EOF
fg_start "$T/conf/p.yaml"
g0=$(gen)

api_policy() { # SET-FILE
	fg_policy "$T/api.yaml" <<EOF
sets:
  s: { file: $1 }
rules:
  - name: drop-set
    action: drop
    src: "@s"
EOF
}

for f in ../secret.txt "$T/secret.txt" link.txt; do
	api_policy "$f"
	c=$(put "$T/api.yaml")
	[ "$c" = 400 ] || fail "$f: got $c $(cat "$T/body")"
	grep -q TOP-SECRET "$T/body" && fail "$f: the error shows the file: $(cat "$T/body")"
	grep -q '10\.0\.0\.0' "$T/body" && fail "$f: the error shows the file: $(cat "$T/body")"
	jq -e '.detail[0] | test("^<api>:5:[0-9]+: ")' "$T/body" >/dev/null || fail "$f: $(cat "$T/body")"
done
[ "$(gen)" = "$g0" ] || fail "generation moved"
ok "set files outside the policy folder refused, contents not shown"

api_policy inside.txt
[ "$(put "$T/api.yaml")" = 200 ] || fail "inside: $(cat "$T/body")"
in_c ping -c 1 -W 1 "$SERVER_IP" >/dev/null && fail "set from inside.txt not enforced"
ok "a set file inside the folder (relative to it) applies"

# The -c file itself (the operator's) may name any path.
sed -i 's#^rules: \[\]#sets:\n  s: { file: '"$T"'/secret-ok.txt }\nrules: []#' "$T/conf/p.yaml"
echo "10.99.0.0/16" >"$T/secret-ok.txt"
c=$(curl -sS -o "$T/body" -w '%{http_code}' --unix-socket "$SOCK" -X POST http://x/v1/reload)
[ "$c" = 200 ] || fail "-c file with an outside set file: $c $(cat "$T/body")"
ok "the -c file may use paths anywhere"
