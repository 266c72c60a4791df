#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# netguest idle on QEMU microvm with an i8042: after "mode=idle ready", a
# Ctrl-Alt-Del from the QEMU monitor (sendkey, scancode set 2 like
# Firecracker's SendCtrlAltDel) must give "result=stopped" and a power-off;
# QEMU has no 0x604 port, so the guest falls back to debug-exit 0 (status 1).
set -u
. tests/guest/qemu_lib.sh
guest_require_qemu
command -v mkfifo >/dev/null || skip "mkfifo not found"

tmp=$TMP
qpid=
cleanup() {
	[ -n "$qpid" ] && kill "$qpid" 2>/dev/null
	exec 3>&- 2>/dev/null
}
CLEANUP+=(cleanup)

mkfifo "$tmp/mon.in" "$tmp/mon.out"
guest_qemu 30 "$tmp/idle" idle -device i8042 -monitor "pipe:$tmp/mon" &
qpid=$!
exec 3<>"$tmp/mon.in"	# held open: QEMU sees no EOF between commands
cat "$tmp/mon.out" >"$tmp/monitor.log" &

for _ in $(seq 100); do
	grep -q '^netguest: mode=idle ready' "$tmp/idle" 2>/dev/null && break
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^netguest: mode=idle ready' "$tmp/idle"; then
	guest_show "$tmp/idle"
	fail "idle: no 'mode=idle ready' line within 10 s"
fi

# Still idle after a while: no stop without the request.
sleep 0.3
if grep -q 'result=' "$tmp/idle" || ! kill -0 "$qpid" 2>/dev/null; then
	guest_show "$tmp/idle"
	fail "idle: stopped before the stop request"
fi

echo "sendkey ctrl-alt-delete" >&3
wait "$qpid"
rc=$?
qpid=
if [ $rc -ne 1 ] || ! grep -q '^netguest: mode=idle result=stopped' "$tmp/idle"; then
	guest_show "$tmp/idle"
	fail "idle: QEMU exit $rc (want 1 = debug-exit 0 after poweroff) or no result=stopped"
fi
echo "idle stopped on Ctrl-Alt-Del: $(grep -o 'result=stopped.*' "$tmp/idle")"
