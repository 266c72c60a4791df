#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# The per-VM control socket: status, stats, errors, graceful stop (the guest
# gets Ctrl-Alt-Del and powers off), forced stop, and SIGTERM.
. tests/lib/common.sh
need_kvm
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first"

sock=$TMP/ctl.sock
start_idle() {
	"$MONITOR" --kernel "$GUEST" --cmdline idle --control "$sock" --stats none \
		>"$TMP/console" 2>"$TMP/err" </dev/null &
	pid=$!
	CLEANUP+=("kill -9 $pid 2>/dev/null")
	wait_for grep -q 'mode=idle ready' "$TMP/console" || fail "guest not ready: $(cat "$TMP/console" "$TMP/err")"
	[ -S "$sock" ] || fail "no control socket"
}
ctl() { $CTL "$sock" "$@"; }
field() { python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); print(eval("d"+sys.argv[1]))' "$1"; }
wait_exit() { # pid -> sets rc
	local i
	for i in $(seq 1 200); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$1" 2>/dev/null && fail "monitor $1 did not exit"
	wait "$1"; rc=$?
}

start_idle
[ "$(ctl status | field '["result"]["state"]')" = running ] || fail "state not running"
[ "$(ctl status | field '["result"]["pid"]')" = "$pid" ] || fail "pid mismatch"
[ "$(ctl status | field '["result"]["boot_format"]')" = pvh-elf ] || fail "boot format"
[ "$(ctl stats | field '["result"]["exits"]["total"] > 0')" = True ] || fail "no exits counted"
[ "$(ctl bogus | field '["error"]["code"]')" = method_not_found ] || fail "unknown method"
[ "$(ctl --raw '{oops' | field '["error"]["code"]')" = parse_error ] || fail "parse error"
[ "$(ctl stop '{"force":"yes"}' | field '["error"]["code"]')" = invalid_params ] || fail "bad params"
[ "$(ctl stop '{"speed":1}' | field '["error"]["code"]')" = invalid_params ] || fail "unknown param"
# graceful: Ctrl-Alt-Del reaches the guest, which powers off
[ "$(ctl stop | field '["result"]["state"]')" = stopping ] || fail "stop reply"
wait_exit $pid
[ $rc -eq 0 ] || fail "graceful stop: exit $rc"
grep -q 'result=stopped' "$TMP/console" || fail "guest did not see the stop request"
[ ! -e "$sock" ] || fail "control socket left behind"

# forced
start_idle
ctl stop '{"force":true}' >/dev/null
wait_exit $pid
[ $rc -eq 0 ] || fail "forced stop: exit $rc"
grep -q 'result=stopped' "$TMP/console" && fail "forced stop went through the guest"

# SIGTERM ends it with 128+15
: >"$TMP/console"
start_idle
kill -TERM $pid
wait_exit $pid
[ $rc -eq 143 ] || fail "SIGTERM: exit $rc, want 143"
echo pass
