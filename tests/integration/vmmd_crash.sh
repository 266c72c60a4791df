#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Supervision: kill -9 of a monitor is noticed at once (crashed,
# killed-by-SIGKILL); restart policies no / on-failure / always are honoured,
# with backoff; a stop during the backoff cancels the restart; a monitor that
# fails to start reports why.
. tests/vmmd/lib.sh
start_vmmd


create_idle norestart
create_idle onfail --restart on-failure
create_idle always --restart always
for n in norestart onfail always; do vmctl start $n >/dev/null || fail "start $n"; done

# restart no: crashed and stays so
p=$(vm_pid norestart)
kill -9 "$p"
wait_state norestart crashed 5 || fail "norestart not crashed: $(vmctl info norestart)"
[ "$(vmctl info norestart --output json | field '["reason"]')" = killed-by-SIGKILL ] || fail "reason: $(vmctl info norestart --output json | field '["reason"]')"
[ "$(vmctl info norestart --output json | field '["last_exit_status"]')" = 137 ] || fail "exit status"
sleep 1.5
[ "$(vm_state norestart)" = crashed ] || fail "norestart restarted"
vmctl status norestart >/dev/null; [ $? -eq 3 ] || fail "status of crashed: want 3"

# on-failure: restarted with a new pid after ~1 s
p=$(vm_pid onfail)
kill -9 "$p"
wait_ended onfail "$p" crashed 5 || fail "onfail not crashed"
wait_new_pid onfail "$p" 5 || fail "onfail not restarted: $(vmctl info onfail)"
p2=$(vm_pid onfail)
[ "$p2" != "$p" ] && is_monitor "$p2" || fail "onfail pid $p -> $p2"
[ "$(vmctl info onfail --output json | field '["restarts"]')" = 1 ] || fail "restart count"
# ... but a clean stop is not a failure
vmctl stop onfail >/dev/null || fail "stop onfail"
sleep 1.5
[ "$(vm_state onfail)" = stopped ] || fail "onfail restarted after a user stop"

# always: also after a guest shutdown; the second crash waits longer (backoff 2 s)
p=$(vm_pid always)
kill -9 "$p"
wait_new_pid always "$p" 5 || fail "always not restarted"
p=$(vm_pid always)
kill -9 "$p"
wait_ended always "$p" crashed 5 || fail "always not crashed the second time"
grep -q 'vm always: restart policy always: restarting in 2000 ms' "$VMMD_LOG" || fail "backoff not doubled"
# pending during the 2 s backoff, unless this check itself took longer (the
# test host's TCG): then the restart has already begun
[ "$(vmctl info always --output json | field '["restart_pending"]')" = True ] ||
	grep -q 'vm always: restarting (policy always, restart #2)' "$VMMD_LOG" || fail "no restart pending"
wait_new_pid always "$p" 5 || fail "always not restarted the second time"
# kill it, then stop it during the backoff (4 s): stays stopped
p=$(vm_pid always)
kill -9 "$p"
wait_ended always "$p" crashed 5 || fail "always crash 3"
vmctl stop always >/dev/null || fail "stop during backoff"
[ "$(vm_state always)" = stopped ] || fail "not stopped"
sleep 5
[ "$(vm_state always)" = stopped ] || fail "restarted after a stop during the backoff"

# a monitor that fails at start: start_failed with the reason, exit 1
vmctl create bad --kernel /etc/hostname --memory 16 >/dev/null || fail "create bad"
vmctl start bad 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] || fail "start of a bad kernel: exit $rc"
grep -q 'start_failed' "$TMP/err" && grep -q 'image-corrupt' "$TMP/err" || fail "start error: $(cat "$TMP/err")"
[ "$(vm_state bad)" = crashed ] || fail "bad state"

# a restart pending when vmmd is killed is done by the next vmmd: two
# crashes, so that the second backoff (2 s) leaves time to see the record
# under a slow (sanitizer, loaded CI) vmmd
vmctl start always >/dev/null || fail "start always again"
p=$(vm_pid always)
kill -9 "$p"
wait_new_pid always "$p" 5 || fail "always not restarted after crash 4"
p=$(vm_pid always)
kill -9 "$p"
WAIT_SECS=2 wait_for grep -q '"restart_pending": *true' "$S/run/always.json" ||
	fail "pending restart not recorded: $(cat "$S/run/always.json")"
kill -9 $VMMD_PID
wait $VMMD_PID 2>/dev/null
start_vmmd
wait_new_pid always "$p" 5 || fail "pending restart lost across a vmmd restart: $(vmctl info always)"
grep -q 'policy restart was pending' "$VMMD_LOG" || fail "no log of the pending restart"
# ... and a user stop during the backoff leaves nothing pending
p=$(vm_pid always)
kill -9 "$p"
wait_ended always "$p" crashed 5 || fail "always crash 5"
vmctl stop always >/dev/null
[ -e "$S/run/always.json" ] && fail "pending restart record kept after a stop"

kill -0 $VMMD_PID || fail "vmmd died"
echo pass
