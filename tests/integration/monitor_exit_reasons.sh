#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Exit statuses say why the VM ended (reset, triple fault with a register
# dump, a guest halted for good on each of 2 vCPUs), and the console backends
# (file, unix socket) and --config work.
. tests/lib/common.sh
need_kvm
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first"

"$MONITOR" --kernel "$GUEST" --cmdline "fault kind=reset" --stats json >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 80 ] || fail "reset: exit $rc, want 80"
grep -q '"end":"reset"' "$TMP/err" || fail "reset: end reason missing: $(cat "$TMP/err")"

"$MONITOR" --kernel "$GUEST" --cmdline "fault kind=triple" --stats none >"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 81 ] || fail "triple fault: exit $rc, want 81"
grep -q 'guest triple fault (shutdown) at rip=0x' "$TMP/err" || fail "no triple-fault message"
grep -q 'rflags=.*cr0=.*cr3=' "$TMP/err" || fail "no register dump"

# cli; hlt: the watch ends the VM within seconds, with the reason
start=$SECONDS
timeout 30 "$MONITOR" --kernel "$GUEST" --cmdline "fault kind=halt" --vcpus 2 --stats json \
	>"$TMP/out" 2>"$TMP/err"
rc=$?
[ $rc -eq 84 ] || fail "halt: exit $rc, want 84: $(tail -3 "$TMP/err")"
grep -q '"end":"halted"' "$TMP/err" || fail "halt: end reason missing: $(cat "$TMP/err")"
grep -q 'the guest halted: every vCPU is in HLT with interrupts off' "$TMP/err" &&
	grep -q 'vcpu 0 halted at rip=0x' "$TMP/err" && grep -q 'vcpu 1 waits for INIT/SIPI' "$TMP/err" ||
	fail "halt: no message, or the vCPUs' states missing: $(cat "$TMP/err")"
((SECONDS - start <= 15)) || fail "halt: took $((SECONDS - start)) s to notice"

# console to a file
"$MONITOR" --kernel "$GUEST" --cmdline selftest --console "file:$TMP/console.log" --stats none \
	>"$TMP/out" 2>&1 || fail "file console run failed"
grep -q result=pass "$TMP/console.log" || fail "console file lacks the pass line"
[ ! -s "$TMP/out" ] || fail "console file run wrote to stdout: $(cat "$TMP/out")"

# console on a unix socket: a client that connects sees the guest's output
cat >"$TMP/vm.json" <<JSON
{"kernel": "$GUEST", "cmdline": "idle", "memory_mib": 32, "console": "unix:$TMP/console.sock",
 "control": "$TMP/ctl.sock", "stats": "none"}
JSON
"$MONITOR" --config "$TMP/vm.json" >"$TMP/out" 2>"$TMP/err" &
pid=$!
CLEANUP+=("kill -9 $pid 2>/dev/null")
wait_for test -S "$TMP/ctl.sock" || fail "no control socket"
python3 - "$TMP/console.sock" "$TMP/ctl.sock" <<'PY' || fail "unix console"
import json, socket, sys, time
con = socket.socket(socket.AF_UNIX); con.connect(sys.argv[1]); con.settimeout(10)
time.sleep(0.2)
ctl = socket.socket(socket.AF_UNIX); ctl.connect(sys.argv[2])
ctl.sendall(b'{"id":1,"method":"stop"}\n')
data = b""
while b"result=stopped" not in data:
    chunk = con.recv(4096)
    if not chunk:
        break
    data += chunk
assert b"result=stopped" in data, data
PY
for i in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
wait $pid
rc=$?
[ $rc -eq 0 ] || fail "unix console VM: exit $rc: $(cat "$TMP/err")"
[ ! -e "$TMP/console.sock" ] || fail "console socket left behind"
echo pass
