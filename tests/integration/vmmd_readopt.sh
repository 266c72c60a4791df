#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Re-adoption: vmmd killed with -9 (and stopped with SIGTERM) while VMs run;
# a new vmmd finds every monitor from STATE/run and the sockets: same pids,
# nothing stopped, duplicated or forgotten; stop, stats and supervision work
# on adopted monitors; a start that a killed vmmd left half done is found by
# its socket; a monitor that ended while no vmmd ran is reported; a second
# vmmd on the same state is refused; stop_vms_on_exit stops them all.
. tests/vmmd/lib.sh
start_vmmd

create_idle a
create_idle b
create_idle c --restart on-failure
create_idle half
for n in a b c; do vmctl start $n >/dev/null || fail "start $n"; done
pa=$(vm_pid a) pb=$(vm_pid b) pc=$(vm_pid c)

# a second vmmd on the same state directory is refused
"$VMMD" --state-dir "$S" --runtime-dir "$TMP/other" >"$TMP/second.log" 2>&1 && fail "second vmmd ran"
grep -q 'in use by another vmmd' "$TMP/second.log" || fail "second vmmd message: $(cat "$TMP/second.log")"

kill -9 $VMMD_PID
wait $VMMD_PID 2>/dev/null
for p in $pa $pb $pc; do is_monitor $p || fail "monitor $p died with vmmd"; done

# a start left half done: record without pid, monitor already running
setsid "$MONITOR" --no-sandbox --name half --kernel "$GUEST_ABS" --cmdline idle --memory 16 \
	--control "$R/vms/half.sock" --console "file:$S/logs/half.log" --stats none \
	</dev/null >/dev/null 2>&1 &
ph=$!
printf '{"pid":0,"starttime":0,"started_at_ms":0,"control":"%s"}\n' "$R/vms/half.sock" >"$S/run/half.json"
wait_for grep -qs 'mode=idle ready' "$S/logs/half.log" || fail "half monitor did not start"

start_vmmd
for n in a b c half; do [ "$(vm_state $n)" = running ] || fail "$n not running after re-adoption: $(vmctl info $n)"; done
[ "$(vm_pid a)" = $pa ] && [ "$(vm_pid b)" = $pb ] && [ "$(vm_pid c)" = $pc ] && [ "$(vm_pid half)" = $ph ] ||
	fail "pids changed: $(vmctl list)"
[ "$(vmctl info a --output json | field '["adopted"]')" = True ] || fail "not marked adopted"
[ "$(our_monitors | wc -l)" = 4 ] || fail "monitors: $(our_monitors | tr '\n' ' '), want 4"
grep -q "\"pid\": *$ph" "$S/run/half.json" || fail "half record not rewritten: $(cat "$S/run/half.json")"
vmctl stats a --output json | field '["exits"]["total"]' >/dev/null || fail "stats of an adopted VM"

# stop works on an adopted monitor; its end file says how it ended
vmctl stop a | grep -q stopped || fail "stop adopted a"
kill -0 $pa 2>/dev/null && [ "$(awk '{print $3}' /proc/$pa/stat)" != Z ] && fail "monitor a still alive"
[ "$(vmctl info a --output json | field '["reason"]')" = user ] || fail "a reason"

# supervision of adopted monitors (pidfd): kill -9 is noticed, policy applies
kill -9 $pb
wait_state b crashed 5 || fail "b not crashed: $(vmctl info b)"
kill -9 $pc
wait_new_pid c $pc 5 || fail "c (on-failure) not restarted: $(vmctl info c)"

# a monitor that ends while no vmmd runs
vmctl start a >/dev/null || fail "start a"
pa=$(vm_pid a)
kill -9 $VMMD_PID
wait $VMMD_PID 2>/dev/null
$CTL "$R/vms/a.sock" stop >/dev/null || fail "stop a through its monitor"
WAIT_SECS=10 wait_for sh -c "! kill -0 $pa 2>/dev/null || [ \"\$(awk '{print \$3}' /proc/$pa/stat)\" = Z ]" || fail "a did not end"
start_vmmd
[ "$(vm_state a)" = stopped ] && [ "$(vmctl info a --output json | field '["reason"]')" = guest-shutdown ] ||
	fail "a after ending unwatched: $(vmctl info a)"
[ -e "$S/run/a.json" ] && fail "stale record of a kept"

# SIGTERM (default): VMs keep running and are adopted again
pc=$(vm_pid c) ph=$(vm_pid half)
kill -TERM $VMMD_PID
wait $VMMD_PID || fail "vmmd SIGTERM exit $?"
is_monitor $pc && is_monitor $ph || fail "SIGTERM stopped VMs"
start_vmmd
[ "$(vm_pid c)" = $pc ] && [ "$(vm_pid half)" = $ph ] || fail "not adopted after SIGTERM: $(vmctl list)"

# stop_vms_on_exit: SIGTERM stops every VM, then vmmd exits
kill -TERM $VMMD_PID
wait $VMMD_PID
printf '{"stop_vms_on_exit": true, "stop_timeout_s": 5}\n' >"$TMP/conf.json"
start_vmmd --config "$TMP/conf.json"
kill -TERM $VMMD_PID
wait $VMMD_PID || fail "vmmd exit $?"
[ -z "$(our_monitors)" ] || fail "monitors left after stop_vms_on_exit: $(our_monitors)"
start_vmmd
for n in a b c half; do
	case $(vm_state $n) in defined) ;; *) fail "$n: $(vm_state $n)" ;; esac
done
echo pass
