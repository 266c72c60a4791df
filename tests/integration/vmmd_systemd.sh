#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# vmmd's systemd protocol without a real systemd: READY=1 only once the
# socket answers, STATUS= lines, WATCHDOG=1 at half of WATCHDOG_USEC,
# RELOADING=1/READY=1 around SIGHUP (config reloaded), STOPPING=1 on
# SIGTERM; socket activation through systemd-socket-activate (both the
# read-write and the read-only socket, by name), with VMs running across a
# restart of the activated vmmd; idle exit only when socket-activated.
. tests/vmmd/lib.sh

# a fake $NOTIFY_SOCKET: logs each datagram; on READY=1 it asks the control
# socket at once and logs whether it answered
python3 -u - "$TMP/notify.sock" "$SOCK" >"$TMP/notify.log" 2>&1 <<'PY' &
import json, socket, sys
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); n.bind(sys.argv[1])
print("listening")
while True:
    msg = n.recv(4096).decode()
    for line in msg.split("\n"):
        print("MSG " + line)
    if "READY=1" in msg.split("\n"):
        c = socket.socket(socket.AF_UNIX); c.settimeout(5)
        try:
            c.connect(sys.argv[2]); c.sendall(b'{"id":1,"method":"daemon.version"}\n')
            r = json.loads(c.makefile().readline())
            print("ANSWERED protocol=%d" % r["result"]["protocol"])
        except Exception as e:
            print("NOT-ANSWERED %r" % e)
PY
NP=$!
CLEANUP+=("kill $NP 2>/dev/null")
wait_for grep -q listening "$TMP/notify.log" || fail "notify listener"

printf '{"log_level":"info"}\n' >"$TMP/conf.json"
NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000 start_vmmd --config "$TMP/conf.json"
wait_for grep -q '^ANSWERED protocol=1' "$TMP/notify.log" || fail "READY=1 without an answering socket: $(cat "$TMP/notify.log")"
grep -q '^NOT-ANSWERED' "$TMP/notify.log" && fail "socket did not answer at READY=1"
grep -q '^MSG STATUS=0 VMs defined, 0 running' "$TMP/notify.log" || fail "no STATUS line"
sleep 1
[ "$(grep -c '^MSG WATCHDOG=1' "$TMP/notify.log")" -ge 3 ] || fail "watchdog pings: $(grep -c WATCHDOG=1 "$TMP/notify.log") in 1 s at 0.2 s"
create_idle s1
vmctl start s1 >/dev/null || fail "start s1"
wait_for grep -q '^MSG STATUS=1 VMs defined, 1 running' "$TMP/notify.log" || fail "STATUS after start"

# SIGHUP: reload; a bad config is refused and the old one kept
printf '{"log_level":"debug"}\n' >"$TMP/conf.json"
kill -HUP $VMMD_PID
wait_for grep -q 'reloaded config' "$VMMD_LOG" || fail "no reload"
grep -q '^MSG RELOADING=1' "$TMP/notify.log" || fail "no RELOADING=1"
printf '{"log_level":"loud"}\n' >"$TMP/conf.json"
kill -HUP $VMMD_PID
wait_for grep -q 'keeping the old config' "$VMMD_LOG" || fail "bad config accepted"
vmctl list >/dev/null || fail "vmmd not answering after reloads"

kill -TERM $VMMD_PID
wait $VMMD_PID || fail "exit status"
wait_for grep -q '^MSG STOPPING=1' "$TMP/notify.log" || fail "no STOPPING=1"
ps1=$(our_monitors)
[ -n "$ps1" ] || fail "VM stopped with vmmd"

# socket activation: the sockets belong to systemd-socket-activate
command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
rm -f "$SOCK" "$R/vmmd-ro.sock"
printf '{"idle_exit_s": 1}\n' >"$TMP/idle.json"
activate() {
	systemd-socket-activate -l "$SOCK" -l "$R/vmmd-ro.sock" --fdname=vmmd:ro \
		"$VMMD" --config "$TMP/idle.json" --state-dir "$S" --runtime-dir "$R" >>"$VMMD_LOG" 2>&1 &
	VMMD_PID=$!
	wait_for test -S "$R/vmmd-ro.sock" || fail "activation sockets"
}
activate
[ "$(vmctl list --output json | field '[0]["pid"]')" = "$ps1" ] || fail "activated vmmd did not adopt s1"
grep -q 'socket activation: using fd 3 (vmmd)' "$VMMD_LOG" || fail "fd 3 not used: $(tail "$VMMD_LOG")"
grep -q 'socket activation: using fd 4 (ro) as the read-only socket' "$VMMD_LOG" || fail "ro fd"
[ "$($CTL "$R/vmmd-ro.sock" vm.start '{"name":"s1"}' | field '["error"]["code"]')" = read_only ] || fail "activated ro socket is not read-only"
# running VMs keep an idle socket-activated vmmd alive ...
sleep 2
kill -0 $VMMD_PID || fail "activated vmmd exited while a VM ran"
vmctl stop s1 >/dev/null || fail "stop s1 through the activated vmmd"
# ... and without them it exits after idle_exit_s (systemd would start it again)
gone() { ! kill -0 $VMMD_PID 2>/dev/null; }
WAIT_SECS=5 wait_for gone || fail "idle activated vmmd did not exit"
wait $VMMD_PID || fail "idle exit status $?"
grep -q 'idle for 1 s with no VM running; exiting' "$VMMD_LOG" || fail "no idle exit line"
# not activated: never exits for idleness
start_vmmd --config "$TMP/idle.json"
sleep 2
kill -0 $VMMD_PID || fail "a vmmd that was not socket-activated exited when idle"
kill -TERM $VMMD_PID
wait $VMMD_PID
echo pass
