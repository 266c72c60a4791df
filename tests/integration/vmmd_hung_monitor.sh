#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# A hung monitor (SIGSTOP) stalls nobody but its own requests: vm.stats of it
# answers monitor_error "timed out" after ~2 s while every other client (list,
# stats of another VM, on other connections) is answered at once, and later
# requests on the same connection keep their order; after SIGCONT all is
# normal. A monitor killed while a request to it is in flight, a stop of a
# hung monitor, and SIGTERM of vmmd with requests in flight end cleanly.
. tests/vmmd/lib.sh
start_vmmd
create_idle h1
create_idle h2
vmctl start h1 >/dev/null || fail "start h1"
vmctl start h2 >/dev/null || fail "start h2"
p1=$(vm_pid h1)
p2=$(vm_pid h2)
kill -STOP "$p1"
CLEANUP+=("kill -CONT $p1 $p2 2>/dev/null")

# checks the stalled call and the prompt answers around it
hung_check() {
	python3 - "$SOCK" <<'PY'
import json, sys, threading, time
sys.path.insert(0, "tests/vmmd")
from jsonl_client import conn, read_lines
path = sys.argv[1]

# connection A: stats of the hung VM, then two quick requests pipelined behind it
a = conn(path, 10)
t0 = time.monotonic()
a.sendall(b'{"id":1,"method":"vm.stats","params":{"name":"h1"}}\n'
          b'{"id":2,"method":"daemon.version"}\n{"id":3,"method":"vm.list"}\n')
res = {}
ta = []
th = threading.Thread(target=lambda: res.update(a=read_lines(a, 3, ta)))
th.start()
time.sleep(0.3)
# meanwhile, others are answered at once
for method, params in [("vm.list", None), ("vm.stats", {"name": "h2"}),
                       ("vm.info", {"name": "h1"}), ("vm.stats", {"name": "h2"})]:
    b = conn(path, 10)
    q = {"id": 9, "method": method}
    if params:
        q["params"] = params
    t = time.monotonic()
    b.sendall(json.dumps(q).encode() + b"\n")
    r, = read_lines(b, 1)
    t1 = time.monotonic()
    b.close()
    assert "result" in r, (method, r)
    assert t1 - t < 0.5, "%s took %.2f s while h1 hung" % (method, t1 - t)
    assert t1 - t0 < 1.5, "%s answered %.2f s after the hung request" % (method, t1 - t0)
th.join(10)
r1, r2, r3 = res["a"]
e = r1.get("error", {})
assert r1["id"] == 1 and e.get("code") == "monitor_error", r1
assert "timed out" in e["message"] and "h1" in e["message"], e
assert 1.8 <= ta[0] - t0 <= 3.5, "timeout after %.2f s" % (ta[0] - t0)
assert [r2["id"], r3["id"]] == [2, 3] and "result" in r2 and "result" in r3, (r2, r3)
assert ta[2] - ta[0] < 0.5, "later requests were slow"
print("stats of the hung h1: %.2f s; others at once" % (ta[0] - t0))
PY
}
hung_check || fail "hung monitor check"
# inflight_then NAME SIG PID: vm.stats of NAME in flight (connected and sent),
# then kill -SIG PID; prints the reply, then "killed_at_ns=<CLOCK_REALTIME>"
inflight_then() {
	python3 - "$SOCK" "$@" <<'PY'
import os, sys, time
sys.path.insert(0, "tests/vmmd")
from jsonl_client import conn, read_lines
path, name, sig, pid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s = conn(path, 10)
s.sendall(b'{"id":1,"method":"vm.stats","params":{"name":"%s"}}\n' % name.encode())
time.sleep(0.3)
t, killed_at = time.monotonic(), time.time_ns()
os.kill(pid, getattr(__import__("signal"), "SIG" + sig))
r, = read_lines(s, 1)
print(r)
print("killed_at_ns=%d" % killed_at)
assert time.monotonic() - t < 1.0, "answered %.2f s after the kill" % (time.monotonic() - t)
PY
}
# vmctl shows the same clear error
t0=$(date +%s%N)
out=$(vmctl stats h1 2>&1) && fail "stats of a hung monitor succeeded: $out"
dt=$((($(date +%s%N) - t0) / 1000000))
echo "$out" | grep -q "timed out" || fail "vmctl stats h1: $out"
[ "$dt" -ge 1500 ] && [ "$dt" -le 3500 ] || fail "vmctl stats h1 took $dt ms"

# SIGCONT: normal again (the monitor answers the requests it missed, unread)
kill -CONT "$p1"
t0=$(date +%s%N)
vmctl stats h1 >/dev/null || fail "stats h1 after SIGCONT"
dt=$((($(date +%s%N) - t0) / 1000000))
[ "$dt" -lt 1000 ] || fail "stats h1 after SIGCONT took $dt ms"
[ "$(vm_state h1)" = running ] || fail "h1 not running"

# a monitor killed with a request in flight: the request is answered at once
kill -STOP "$p1"
inflight_then h1 KILL "$p1" >"$TMP/inflight" 2>&1 || fail "stats in flight at the kill: $(cat "$TMP/inflight")"
grep -q "'monitor_error'" "$TMP/inflight" || fail "stats in flight at the kill: $(cat "$TMP/inflight")"
wait_state h1 crashed 5 || fail "h1 not crashed"
vmctl stats h2 >/dev/null || fail "stats h2 after h1's kill"

# a graceful stop of a hung monitor: the stop request times out, SIGTERM waits
# for SIGCONT; clients are answered meanwhile, and the VM ends once continued
kill -STOP "$p2"
vmctl stop h2 --timeout 5 >"$TMP/stop" 2>&1 &
sp=$!
sleep 0.3
t0=$(date +%s%N)
vmctl list >/dev/null || fail "list during the stop"
dt=$((($(date +%s%N) - t0) / 1000000))
[ "$dt" -lt 1000 ] || fail "list during a stop of a hung monitor took $dt ms"
sleep 2.5
kill -CONT "$p2"
wait "$sp" || fail "stop h2: $(cat "$TMP/stop")"
[ "$(vm_state h2)" = stopped ] || fail "h2 not stopped: $(vm_state h2)"
grep -q "stop through .* failed (Connection timed out); sending SIGTERM" "$VMMD_LOG" ||
	fail "no SIGTERM after the stop request timed out"

# SIGTERM of vmmd with requests to a hung monitor in flight: a clean exit, the
# waiting client told so, the VM left running
vmctl start h2 >/dev/null || fail "start h2 again"
p2=$(vm_pid h2)
CLEANUP+=("kill -CONT $p2 2>/dev/null")
kill -STOP "$p2"
inflight_then h2 TERM "$VMMD_PID" >"$TMP/atexit" 2>&1 || fail "request in flight at exit: $(cat "$TMP/atexit")"
wait "$VMMD_PID"
rc=$?
VMMD_PID=
# from the SIGTERM on (a python start before it can take a second under TCG)
t0=$(sed -n 's/^killed_at_ns=//p' "$TMP/atexit")
dt=$((($(date +%s%N) - t0) / 1000000))
[ "$rc" = 0 ] || fail "vmmd exit status $rc after SIGTERM with a request in flight"
[ "$dt" -lt 2500 ] || fail "vmmd took $dt ms to exit"
grep -q "'shutting_down'" "$TMP/atexit" || fail "request in flight at exit: $(cat "$TMP/atexit")"
kill -0 "$p2" || fail "h2's monitor did not outlive vmmd"
kill -CONT "$p2"
echo pass
