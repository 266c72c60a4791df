#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# build/vmm-monitor boots netguest's selftest to its pass line and exits 0,
# with 1 and 2 vCPUs, and under ASan+UBSan; the exit accounting is reported.
. tests/lib/common.sh
need_kvm
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first: $MONITOR, $GUEST"

for mon in "$MONITOR" build/vmm-monitor-san; do
	for vcpus in 1 2; do
		out=$TMP/out.$vcpus
		timeout 30 "$mon" --kernel "$GUEST" --cmdline selftest --vcpus "$vcpus" \
			--stats json --stats-file "$TMP/stats.json" >"$out" 2>"$TMP/err"
		rc=$?
		cat "$out"
		[ $rc -eq 0 ] || { cat "$TMP/err"; fail "$mon --vcpus $vcpus: exit $rc, want 0"; }
		grep -q 'result=pass' "$out" || fail "$mon: no result=pass line"
		python3 - "$TMP/stats.json" <<'PY' || fail "$mon: stats file incomplete"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["end"] == "debug-exit", s["end"]
assert s["exit_status"] == 0
io = s["exits"]["by_reason"]["io"]["count"]
assert io > 10, io
com1 = [r for r in s["regions"] if r["name"] == "com1"][0]
assert com1["writes"] > 10
assert any(r["name"] == "debug-exit" and r["writes"] == 1 for r in s["regions"]), s["regions"]
PY
	done
done
# The human summary names the reason and the ports.
"$MONITOR" --kernel "$GUEST" --cmdline selftest >/dev/null 2>"$TMP/human" || fail "human run"
grep -q 'ended: debug-exit, exit status 0' "$TMP/human" || fail "human summary: $(cat "$TMP/human")"
grep -q 'com1' "$TMP/human" || fail "human summary lacks the com1 row"
# A failing guest status passes through: unknown mode makes netguest exit 1.
"$MONITOR" --kernel "$GUEST" --cmdline bogus-mode --stats none >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "unknown mode: exit $rc, want 1"
grep -q 'result=fail' "$TMP/out" || fail "unknown mode: no result=fail line"
echo "pass"
