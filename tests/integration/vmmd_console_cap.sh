#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# A guest cannot fill the host's disk through its console: with
# console_max_bytes 16384 a netguest printing without end (mode print) keeps
# STATE/logs/NAME.log and NAME.log.1 within the cap (plus one console
# write), the log rotates while the VM runs on, the newest lines are in the
# log; a bad cap in the config is refused naming the key; by hand,
# --console-max caps a console file the same way.
. tests/vmmd/lib.sh
CAP=16384
refuses_config '{"console_max_bytes": 100}' 'console_max_bytes: must be 0 (no cap) or 4096'

echo "{\"console_max_bytes\": $CAP}" >"$TMP/cap.json"
start_vmmd --config "$TMP/cap.json"
vmctl create chatty --kernel "$GUEST_ABS" --cmdline "print count=0" --memory 16 >/dev/null ||
	fail "create chatty"
vmctl start chatty >/dev/null || fail "start chatty: $(tail -n 3 "$S/logs/chatty.log")"
LOG=$S/logs/chatty.log
# size FILE: bytes (0 when absent)
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
# lines printed so far, by the newest line number in either file
newest() { cat "$LOG.1" "$LOG" 2>/dev/null | sed -n 's/.*print line=0*\([0-9][0-9]*\) .*/\1/p' | tail -n 1; }
WAIT_SECS=$(scaled 30) wait_for test -s "$LOG.1" || fail "no rotation: $(size "$LOG") bytes"
first=$(newest)
max=0
for i in $(seq 1 20); do
	for f in "$LOG" "$LOG.1"; do
		s=$(size "$f")
		[ "$s" -gt "$max" ] && max=$s
	done
	sleep 0.1
done
[ "$max" -le $((CAP + 4096)) ] || fail "a console file reached $max bytes (cap $CAP)"
[ "$(vm_state chatty)" = running ] || fail "chatty: $(vm_state chatty)"
[ "${first:-0}" -lt "$(newest)" ] || fail "no newer lines after the rotation ($first)"
vmctl stop chatty >/dev/null || fail "stop chatty"
grep -q 'mode=print result=stopped' "$LOG" "$LOG.1" || fail "no end line in the logs"

# by hand
"$MONITOR" --kernel "$GUEST_ABS" --memory 16 --cmdline "print count=300" --stats none \
	--console "file:$TMP/hand.log" --console-max 8192 >/dev/null 2>&1 || fail "by hand"
[ "$(size "$TMP/hand.log")" -le $((8192 + 4096)) ] && [ "$(size "$TMP/hand.log.1")" -le 12288 ] ||
	fail "by hand: $(size "$TMP/hand.log") and $(size "$TMP/hand.log.1") bytes (cap 8192)"
grep -q 'line=0000000299' "$TMP/hand.log" "$TMP/hand.log.1" || fail "by hand: the last line is lost"
"$MONITOR" --kernel "$GUEST_ABS" --console-max 10 >"$TMP/err" 2>&1 && fail "--console-max 10 taken"
grep -q 'console-max' "$TMP/err" || fail "--console-max 10: $(cat "$TMP/err")"
echo "ok: console logs held within $max bytes (cap $CAP), lines up to $(newest) kept"
