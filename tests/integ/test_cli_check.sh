#!/usr/bin/env bash
# flowgate check validates a policy with no daemon and no root: exit 0 and
# "FILE: ok (N rules, M sets, K entries)" on a good file; on a bad one every
# error as FILE:LINE:COL: message on stderr and exit 1. Also as an
# unprivileged user.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FLOWGATE=${BUILD:-$ROOT/build}/flowgate
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
[ -x "$FLOWGATE" ] || fail "$FLOWGATE not built"
T=$(mktemp -d /tmp/fgcheck.XXXX)
made_user=
cleanup() {
	local rc=$?
	rm -rf "$T"
	# the unprivileged user goes again if this test made it
	[ -n "$made_user" ] && userdel fgtuser 2>/dev/null
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
chmod 755 "$T"
export FLOWGATE_SOCKET=$T/no-daemon.sock # check must not need one

printf '10.1.0.0/16\n# a comment\n192.0.2.7\n' >"$T/block.txt"
cat >"$T/good.yaml" <<'EOF'
version: 1
interfaces: [eth0]
default: drop
sets:
  blocked: { file: block.txt }
  admins: [198.51.100.0/24]
rules:
  - name: drop-blocked
    action: drop
    src: "@blocked"
  - name: ssh
    action: allow
    src: "@admins"
    proto: tcp
    dport: 22
EOF
# Four errors; the positions are of the offending values (of the key for
# an unknown key).
cat >"$T/bad.yaml" <<'EOF'
version: 1
interfaces: [eth0]
default: maybe
rules:
  - name: r1
    action: drop
    src: 10.0.0.1/8
  - name: r2
    action: allow
    proto: tcp
    dport: 70000
    colour: red
EOF
chmod 644 "$T"/*

# check_as WHO: run the cases, as root or as fgtuser
check_as() {
	local run=() who=$1 out err rc
	[ "$who" = root ] || run=(runuser -u "$who" --)
	cd "$T" || fail "cd"

	out=$("${run[@]}" "$FLOWGATE" check good.yaml 2>"$T/err.$who"); rc=$?
	[ $rc -eq 0 ] || fail "$who: good.yaml exit $rc: $(cat "$T/err.$who")"
	[ "$out" = "good.yaml: ok (2 rules, 2 sets, 3 entries)" ] || fail "$who: good.yaml said: $out"
	[ -s "$T/err.$who" ] && fail "$who: good.yaml wrote to stderr: $(cat "$T/err.$who")"
	ok "$who: good file: exit 0, counts"

	out=$("${run[@]}" "$FLOWGATE" check "$T/good.yaml" 2>/dev/null) || fail "$who: absolute path"
	[ "$out" = "$T/good.yaml: ok (2 rules, 2 sets, 3 entries)" ] || fail "$who: abs said: $out"
	ok "$who: set file relative to the policy's folder"

	out=$("${run[@]}" "$FLOWGATE" check bad.yaml 2>"$T/err.$who"); rc=$?
	[ $rc -eq 1 ] || fail "$who: bad.yaml exit $rc, want 1"
	[ -z "$out" ] || fail "$who: bad.yaml wrote to stdout: $out"
	err=$(cut -d: -f1-3 "$T/err.$who")
	[ "$err" = "$(printf 'bad.yaml:3:10\nbad.yaml:7:10\nbad.yaml:11:12\nbad.yaml:12:5')" ] ||
		fail "$who: bad.yaml positions: $(cat "$T/err.$who")"
	grep -q '^bad.yaml:3:10: .*maybe' "$T/err.$who" || fail "$who: default message"
	grep -q '^bad.yaml:7:10: .*did you mean 10.0.0.0/8' "$T/err.$who" || fail "$who: cidr message"
	grep -q '^bad.yaml:11:12: .*70000' "$T/err.$who" || fail "$who: port message"
	grep -q '^bad.yaml:12:5: .*colour' "$T/err.$who" || fail "$who: unknown key message"
	ok "$who: bad file: every error as FILE:LINE:COL, exit 1"

	"${run[@]}" "$FLOWGATE" check - <"$T/good.yaml" >/dev/null 2>&1 || fail "$who: stdin"
	"${run[@]}" "$FLOWGATE" check "$T/missing.yaml" >/dev/null 2>"$T/err.$who"; rc=$?
	[ $rc -eq 1 ] || fail "$who: missing file exit $rc"
	grep -q 'missing.yaml' "$T/err.$who" || fail "$who: missing file not named"
	ok "$who: stdin, missing file"
}

check_as root

"$FLOWGATE" check >/dev/null 2>&1; [ $? -eq 1 ] || fail "no FILE: want exit 1"
"$FLOWGATE" check a b >/dev/null 2>&1; [ $? -eq 1 ] || fail "two FILEs: want exit 1"
"$FLOWGATE" check --help | grep -q EXAMPLES || fail "check --help"
ok "usage errors exit 1"

if ! id fgtuser >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin fgtuser || fail "useradd fgtuser"
	made_user=1
fi
check_as fgtuser
