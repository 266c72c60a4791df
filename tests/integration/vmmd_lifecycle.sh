#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# vmmd + vmctl end to end with netguest VMs (no NIC): create, start, list,
# info, stats, status, restart, stop (graceful and forced), delete, events,
# the console log, create --file, and a guest that ends by itself.
. tests/vmmd/lib.sh
start_vmmd

vmctl version | grep -q 'protocol 1' || fail "version"
[ "$(vmctl list --output json | field '.__len__()')" = 0 ] || fail "list not empty: $(vmctl list --output json)"

# events from here on
python3 -u - "$SOCK" >"$TMP/events" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"id":1,"method":"events.subscribe"}\n')
f = s.makefile("rb")
for line in f:
    sys.stdout.write(line.decode())
PY
EV=$!
CLEANUP+=("kill $EV 2>/dev/null")
wait_for grep -qs '"subscribed":true' "$TMP/events" || fail "events.subscribe"
# vmctl events too, in the table form
"$VMCTL" --socket "$SOCK" events >"$TMP/events.txt" 2>&1 &
EV2=$!
CLEANUP+=("kill $EV2 2>/dev/null")

create_idle web1
[ "$(vm_state web1)" = defined ] || fail "state after create: $(vm_state web1)"
[ -f "$S/vms/web1.json" ] || fail "definition not persisted"
vmctl start web1 | grep -q 'running' || fail "start output"
[ "$(vm_state web1)" = running ] || fail "not running"
pid=$(vm_pid web1)
is_monitor "$pid" || fail "pid $pid is not a vmm-monitor"
[ -f "$S/run/web1.json" ] || fail "no runtime record"
[ -S "$R/vms/web1.sock" ] || fail "no monitor socket"
wait_for grep -q 'mode=idle ready' "$S/logs/web1.log" || fail "console log: $(cat "$S/logs/web1.log")"
grep -Eq '^<6>vmmd: vm.start web1 requested by pid [0-9]+ uid [0-9]+$' "$VMMD_LOG" || fail "no audit line with the peer's credentials"

# list: table and json with name, state, pid
vmctl list | grep -Eq "^web1 +running +$pid " || fail "list table: $(vmctl list)"
vmctl list --output json | python3 -c '
import json,sys
l=json.load(sys.stdin); v=l[0]
assert len(l)==1 and v["name"]=="web1" and v["state"]=="running" and v["pid"]=='"$pid"', l' ||
	fail "list json"
vmctl status web1 >/dev/null || fail "status of a running VM: exit $?"
vmctl start web1 | grep -q 'already running' || fail "second start not idempotent"

# stats: the monitor's counters
[ "$(vmctl stats web1 --output json | field '["exits"]["total"] > 0')" = True ] || fail "stats json"
vmctl stats web1 | grep -q '^exits: ' || fail "stats table: $(vmctl stats web1)"
[ "$(timeout 1.5 "$VMCTL" --socket "$SOCK" stats web1 --watch --interval 0.2 | grep -c '^[0-9:]* ')" -ge 4 ] ||
	fail "stats --watch"

# restart: a new monitor
vmctl restart web1 >/dev/null || fail "restart"
pid2=$(vm_pid web1)
[ "$pid2" != "$pid" ] && is_monitor "$pid2" || fail "restart: pid $pid -> $pid2"
kill -0 "$pid" 2>/dev/null && fail "old monitor $pid still alive after restart"

# graceful stop: the guest sees Ctrl-Alt-Del and powers off
vmctl stop web1 | grep -q 'stopped' || fail "stop output"
[ "$(vm_state web1)" = stopped ] || fail "not stopped"
[ "$(vmctl info web1 --output json | field '["reason"]')" = user ] || fail "stop reason"
grep -q 'result=stopped' "$S/logs/web1.log" || fail "guest did not see the stop request"
[ -e "$S/run/web1.json" ] && fail "runtime record left behind"
[ -e "$R/vms/web1.sock" ] && fail "monitor socket left behind"
vmctl status web1 >/dev/null; [ $? -eq 3 ] || fail "status of a stopped VM: want exit 3"
vmctl stats web1 2>"$TMP/err"; [ $? -eq 3 ] || fail "stats of a stopped VM: want exit 3"
grep -q '^error: ' "$TMP/err" || fail "no error: line"
vmctl stop web1 | grep -q 'already stopped' || fail "second stop not idempotent"

# forced stop
vmctl start web1 >/dev/null || fail "start again"
vmctl stop --force web1 >/dev/null || fail "forced stop"
[ "$(vmctl info web1 --output json | field '["reason"]')" = user-forced ] || fail "forced reason"

# create --file, with every field
cat >"$TMP/db1.json" <<JSON
{"name":"db1","kernel":"$GUEST_ABS","cmdline":"idle","memory_mib":32,"vcpus":2,
 "autostart":false,"restart":"on-failure"}
JSON
vmctl create --file "$TMP/db1.json" >/dev/null || fail "create --file"
[ "$(vmctl info db1 --output json | field '["definition"]["vcpus"]')" = 2 ] || fail "vcpus"
vmctl start db1 >/dev/null || fail "start db1"
[ "$(vmctl list --output json | field '[0]["name"]')" = db1 ] || fail "list order"

# a guest that finishes by itself: stopped, guest-shutdown
vmctl create quick --kernel "$(realpath --relative-to=. "$GUEST_ABS")" --cmdline selftest --memory 16 >/dev/null || fail "create quick (relative kernel path)"
vmctl start quick >/dev/null || fail "start quick"
WAIT_SECS=10 wait_for sh -c "[ \"\$($VMCTL --socket $SOCK info quick --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"state\"])')\" = stopped ]" ||
	fail "selftest VM did not stop: $(vmctl info quick)"
[ "$(vmctl info quick --output json | field '["reason"]')" = guest-shutdown ] || fail "quick reason"

# delete
vmctl delete db1 2>/dev/null; [ $? -eq 1 ] || fail "delete of a running VM must fail"
vmctl stop db1 >/dev/null || fail "stop db1"
for n in web1 db1 quick; do vmctl delete $n >/dev/null || fail "delete $n"; done
[ -e "$S/vms/web1.json" ] && fail "definition file left after delete"
vmctl info web1 2>/dev/null; [ $? -eq 4 ] || fail "info of a deleted VM: want exit 4"
[ -z "$(our_monitors)" ] || fail "monitors left: $(our_monitors)"

# the events seen by the subscriber
sleep 0.2
kill $EV $EV2 2>/dev/null
grep -Eq '^[0-9:]+ vm.state web1 deleted \(user\)$' "$TMP/events.txt" || fail "vmctl events: $(cat "$TMP/events.txt")"
for s in defined starting running stopping stopped deleted; do
	grep -q "\"name\":\"web1\",\"state\":\"$s\"" "$TMP/events" || fail "no $s event for web1: $(cat "$TMP/events")"
done

# SIGTERM: vmmd exits 0 and removes its socket
kill -TERM $VMMD_PID
wait $VMMD_PID || fail "vmmd exit status $?"
[ -e "$SOCK" ] && fail "socket left after SIGTERM"

# autostart: a VM so marked starts with vmmd; the others stay defined
start_vmmd
create_idle auto1 --autostart
create_idle manual1
kill -TERM $VMMD_PID
wait $VMMD_PID || fail "vmmd exit status $?"
start_vmmd
wait_state auto1 running 10 || fail "autostart: $(vmctl info auto1)"
[ "$(vm_state manual1)" = defined ] || fail "manual1 started"
vmctl stop auto1 >/dev/null || fail "stop auto1"
echo pass
