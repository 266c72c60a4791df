#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# 20 VMs at once (16 MiB each): created and started concurrently, all
# running with distinct monitors, stats from each, stopped concurrently,
# deleted; nothing left behind.
. tests/vmmd/lib.sh
start_vmmd
N=20
for i in $(seq 1 $N); do create_idle "vm$i"; done
pids=()
for i in $(seq 1 $N); do vmctl start "vm$i" >"$TMP/start$i" 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a start failed: $(cat "$TMP"/start*)"; done
vmctl list --output json >"$TMP/list"
python3 - "$TMP/list" $N <<'PY' || fail "list: $(cat "$TMP/list")"
import json, os, sys
l = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert len(l) == n, len(l)
assert all(v["state"] == "running" for v in l), [v for v in l if v["state"] != "running"]
pids = {v["pid"] for v in l}
assert len(pids) == n and all(os.path.basename(os.readlink("/proc/%d/exe" % p)) == "vmm-monitor" for p in pids)
PY
[ "$(our_monitors | wc -l)" = $N ] || fail "monitors: $(our_monitors | wc -l), want $N"
for i in $(seq 1 $N); do
	[ "$(vmctl stats "vm$i" --output json | field '["exits"]["total"] > 0')" = True ] || fail "stats vm$i"
done
pids=()
for i in $(seq 1 $N); do vmctl stop "vm$i" >/dev/null 2>&1 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a stop failed"; done
[ "$(vmctl list --output json | python3 -c 'import json,sys; print(sorted({v["state"] for v in json.load(sys.stdin)}))')" = "['stopped']" ] ||
	fail "not all stopped: $(vmctl list)"
for i in $(seq 1 $N); do vmctl delete "vm$i" >/dev/null || fail "delete vm$i"; done
[ -z "$(our_monitors)" ] || fail "monitors left"
[ -z "$(ls -A "$S/vms" "$S/run" | grep json)" ] || fail "state left: $(ls -A "$S/vms" "$S/run")"
echo pass
