#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# The console tee: --console file:LOG,unix:SOCK (either order). The log file
# gets everything from boot; a client of the socket gets a live view (and
# sends input), one at a time, the newest wins; the socket is removed at the
# end; malformed tees are usage errors (64).
. tests/lib/common.sh
need_kvm
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first: $MONITOR, $GUEST"

for bad in "file:$TMP/a,file:$TMP/b" "file:,unix:$TMP/s" "unix:$TMP/s,file:" "file:$TMP/a,unix:$TMP/s,x" "stdio,unix:$TMP/s"; do
	"$MONITOR" --kernel "$GUEST" --cmdline selftest --console "$bad" --stats none >/dev/null 2>"$TMP/err"
	rc=$?
	[ $rc -eq 64 ] || fail "--console '$bad': exit $rc, want 64"
done

for order in file-first unix-first; do
	rm -f "$TMP/con.log"
	if [ $order = file-first ]; then spec="file:$TMP/con.log,unix:$TMP/con.sock"
	else spec="unix:$TMP/con.sock,file:$TMP/con.log"; fi
	"$MONITOR" --kernel "$GUEST" --cmdline idle --memory 32 --console "$spec" \
		--control "$TMP/ctl.sock" --stats none >"$TMP/out" 2>"$TMP/err" &
	pid=$!
	CLEANUP+=("kill -9 $pid 2>/dev/null")
	wait_for grep -qs 'mode=idle ready' "$TMP/con.log" || fail "$order: log lacks the boot lines"
	[ -S "$TMP/con.sock" ] || fail "$order: no console socket"
	python3 - "$TMP/con.sock" "$TMP/ctl.sock" <<'PY' || fail "$order: tee client"
import json, socket, sys, time
old = socket.socket(socket.AF_UNIX); old.connect(sys.argv[1]); old.settimeout(10)
time.sleep(0.1)
con = socket.socket(socket.AF_UNIX); con.connect(sys.argv[1]); con.settimeout(10)
time.sleep(0.1)
# the newest client wins: the first one is closed
assert old.recv(100) == b"", "old client not dropped"
con.sendall(b"typed input\r")   # goes to the UART; must not disturb anything
time.sleep(0.1)
ctl = socket.socket(socket.AF_UNIX); ctl.connect(sys.argv[2])
ctl.sendall(b'{"id":1,"method":"stop"}\n')
data = b""
while b"result=stopped" not in data:
    chunk = con.recv(4096)
    if not chunk:
        break
    data += chunk
assert b"result=stopped" in data, data
# the live view starts at attach time: the boot lines are only in the file
assert b"boot cmdline" not in data, data
PY
	for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
	wait $pid
	rc=$?
	[ $rc -eq 0 ] || fail "$order: exit $rc: $(cat "$TMP/err")"
	grep -q 'boot cmdline' "$TMP/con.log" && grep -q 'result=stopped' "$TMP/con.log" ||
		fail "$order: log incomplete: $(cat "$TMP/con.log")"
	[ ! -e "$TMP/con.sock" ] || fail "$order: console socket left behind"
	[ ! -s "$TMP/out" ] || fail "$order: wrote to stdout: $(cat "$TMP/out")"
done
echo pass
