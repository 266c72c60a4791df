#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# vmctl console through vmmd: vm.info names the console socket (the monitor's
# tee with the log); `vmctl console NAME` with stdin not a terminal copies
# plainly: input until its end, output until the VM ends (exit 0); the log
# keeps everything from boot; a stopped VM has no console (exit 3).
. tests/vmmd/lib.sh
start_vmmd
create_idle a
vmctl console a </dev/null 2>"$TMP/err"
[ $? = 3 ] || fail "console of a VM never started: want exit 3 ($(cat "$TMP/err"))"
vmctl start a >/dev/null || fail "start a"
sock=$(vmctl info a --output json | field '["console"]')
[ "$sock" = "$R/vms/a.console" ] && [ -S "$sock" ] || fail "vm.info console: '$sock'"
wait_for grep -qs 'mode=idle ready' "$S/logs/a.log" || fail "no boot line in the log"
printf 'hello\r' | "$VMCTL" --socket "$SOCK" console a >"$TMP/con.out" 2>"$TMP/con.err" &
cpid=$!
sleep 0.3
kill -0 $cpid 2>/dev/null || fail "vmctl console ended early: $(cat "$TMP/con.err")"
vmctl stop a >/dev/null || fail "stop a"
for _ in $(seq 1 100); do kill -0 $cpid 2>/dev/null || break; sleep 0.05; done
wait $cpid
rc=$?
[ $rc = 0 ] || fail "vmctl console: exit $rc: $(cat "$TMP/con.err")"
grep -q 'result=stopped' "$TMP/con.out" || fail "console output: $(cat "$TMP/con.out")"
grep -q 'boot cmdline' "$S/logs/a.log" && grep -q 'result=stopped' "$S/logs/a.log" ||
	fail "log incomplete: $(cat "$S/logs/a.log")"
[ ! -e "$sock" ] || fail "console socket left behind"
[ "$(vmctl info a --output json | field '["console"]')" = null ] || fail "console of a stopped VM"
vmctl console a </dev/null 2>/dev/null
[ $? = 3 ] || fail "console of a stopped VM: want exit 3"
# SIGTERM detaches quietly (exit 0) while the VM runs on
vmctl start a >/dev/null || fail "start a again"
"$VMCTL" --socket "$SOCK" console a </dev/null >/dev/null 2>&1 &
cpid=$!
sleep 0.3
kill -TERM $cpid
wait $cpid
[ $? = 0 ] || fail "console after SIGTERM: nonzero exit"
[ "$(vm_state a)" = running ] || fail "VM stopped by a detach"
vmctl stop a --force >/dev/null
echo pass
