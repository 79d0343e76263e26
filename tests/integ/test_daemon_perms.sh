#!/usr/bin/env bash
# Who may use the API: the socket is 0660, group `flowgate`; a non-root user
# without the group cannot connect, and gets 403 even when the file mode is
# loosened (the daemon checks SO_PEERCRED/SO_PEERGROUPS itself); with the
# group (primary or supplementary) it gets 200.
. "$(dirname "$0")/lib.sh"
lab_init
lab_gateway

USER_NAME=fgtdaemon
made_user=; made_group=
cleanup_ids() {
	[ -n "$made_user" ] && userdel "$USER_NAME" 2>/dev/null
	[ -n "$made_group" ] && groupdel flowgate 2>/dev/null
}
trap 'rc=$?; cleanup_ids; (exit $rc); lab_cleanup' EXIT
if ! getent group flowgate >/dev/null; then
	groupadd --system flowgate || fail "groupadd"
	made_group=1
fi
if ! id "$USER_NAME" >/dev/null 2>&1; then
	useradd --system -M -s /usr/sbin/nologin "$USER_NAME" || fail "useradd"
	made_user=1
fi
uid=$(id -u "$USER_NAME")
gid=$(id -g "$USER_NAME")
fgid=$(getent group flowgate | cut -d: -f3)
chmod 711 "$T" # the user must reach the socket inside

# as_user SETPRIV-GROUP-ARGS... -- CURL-ARGS...: prints the HTTP status
# (000: could not connect); the body goes to $T/body (opened by root).
as_user() {
	local args=()
	while [ "$1" != -- ]; do args+=("$1"); shift; done
	shift
	setpriv --reuid="$uid" "${args[@]}" curl -s -w '%{stderr}%{http_code}' \
		--unix-socket "$SOCK" "$@" 2>&1 >"$T/body"
}

fg_policy "$T/p.yaml" <<EOF
rules: []
EOF
fg_start "$T/p.yaml"
[ "$(stat -c '%a %G' "$SOCK")" = "660 flowgate" ] || fail "socket: $(stat -c '%a %G' "$SOCK")"
ok "socket is 0660, group flowgate"

c=$(as_user --regid="$gid" --clear-groups -- http://x/v1/status)
[ "$c" = 000 ] || fail "user without the group connected: $c"
ok "without the group: cannot connect (file mode)"

chmod 666 "$SOCK"
c=$(as_user --regid="$gid" --clear-groups -- http://x/v1/status)
[ "$c" = 403 ] || fail "user without the group got $c"
jq -e '.error == "forbidden"' "$T/body" >/dev/null || fail "403 body: $(cat "$T/body")"
c=$(as_user --regid="$gid" --clear-groups -- -X PUT --data-binary @"$T/p.yaml" http://x/v1/policy)
[ "$c" = 403 ] || fail "user without the group could apply: $c"
chmod 660 "$SOCK"
ok "without the group, even with a 0666 socket: 403"

c=$(as_user --regid="$gid" --groups="$fgid" -- http://x/v1/status)
[ "$c" = 200 ] || fail "supplementary group member got $c"
c=$(as_user --regid="$fgid" --clear-groups -- http://x/v1/stats)
[ "$c" = 200 ] || fail "primary group member got $c"
c=$(curl -sS -o /dev/null -w '%{http_code}' --unix-socket "$SOCK" http://x/v1/status)
[ "$c" = 200 ] || fail "root got $c"
ok "group members (primary or supplementary) and root: 200"
grep -q "refused an API connection from uid $uid" "$T/flowgated.log" || fail "refusal not logged"
