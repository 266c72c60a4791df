#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# virtio-net interrupts and TSO on our monitor, in a network namespace this
# test owns (198.51.100.0/24):
#   netguest "intr=msix" must get MSI-X (the device offers it), "intr=intx"
#   INTx; for each, with every optimization on (irqfds on MSI routes) and all
#   off (KVM_SIGNAL_MSI / KVM_IRQ_LINE): tx of N frames and rx of N frames are
#   exact at both ends, the guest took interrupts, the monitor injected them,
#   and with MSI-X the driver never read the ISR register (no isr_read exit);
#   "tx ... tso=1": 64 KiB TCP frames (HOST_TSO4) reach the tap whole and
#   exact, one packet per frame, with every switch on and off.
. tests/lib/common.sh
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, tap)"
[ -c /dev/net/tun ] || skip "/dev/net/tun absent"
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first: $MONITOR, $GUEST"

NS=vmmnicmx$$
TAP=vmmtapmx0
. tests/lib/nic_netns.sh
nicstat() { # FILE EXPR (python over the first NIC's stats)
	python3 -c "import json,sys; n=json.load(open(sys.argv[1]))['nics'][0]; print($2)" "$1"
}

N=400
for intr in msix intx; do
	for opt in all none; do
		what="intr=$intr opt=$opt"
		# tx: enough frames to fill the 32-entry ring, so completions interrupt.
		before=$(counter rx_packets)
		inns timeout 60 "$MONITOR" --kernel "$GUEST" --cmdline "tx count=$N size=64 nic=virtio intr=$intr" \
			--nic model=virtio-net,tap=$TAP,opt=$opt --stats none --stats-file "$TMP/tx.json" \
			>"$TMP/tx.out" 2>"$TMP/tx.err"
		rc=$?
		after=$(counter rx_packets)
		[ $rc -eq 0 ] || { cat "$TMP/tx.out" "$TMP/tx.err"; fail "tx $what: exit $rc"; }
		grep -q "nic model=virtio .*intr=$intr" "$TMP/tx.out" ||
			fail "tx $what: driver line: $(grep 'nic model' "$TMP/tx.out")"
		grep -q "mode=tx result=pass tx_frames=$N " "$TMP/tx.out" ||
			fail "tx $what: $(grep result= "$TMP/tx.out")"
		[ $((after - before)) -eq $N ] || fail "tx $what: tap received $((after - before)), want $N"
		[ "$(nicstat "$TMP/tx.json" "n['tx']['frames']")" = $N ] || fail "tx $what: $(nicstat "$TMP/tx.json" n)"

		# rx: frames into the tap; every one reaches the guest by interrupt.
		inns timeout 60 "$MONITOR" --kernel "$GUEST" --cmdline "rx count=$N time=50 nic=virtio intr=$intr" \
			--nic model=virtio-net,tap=$TAP,mac=52:54:00:ab:cd:ef,opt=$opt --stats none \
			--stats-file "$TMP/rx.json" >"$TMP/rx.out" 2>"$TMP/rx.err" &
		PID=$!
		CLEANUP+=("kill $PID 2>/dev/null")
		WAIT_SECS=20 wait_for grep -q 'mode=rx ready' "$TMP/rx.out" ||
			{ cat "$TMP/rx.err"; fail "rx $what: no ready line"; }
		send_test_frames $N 100 0.002 || fail "rx: sending frames"
		wait $PID
		rc=$?
		[ $rc -eq 0 ] || { cat "$TMP/rx.out" "$TMP/rx.err"; fail "rx $what: exit $rc"; }
		grep -q "mode=rx result=pass rx_frames=$N " "$TMP/rx.out" ||
			fail "rx $what: $(grep result= "$TMP/rx.out")"
		irqs=$(sed -n 's/.*mode=rx result=pass.* irqs=\([0-9]*\).*/\1/p' "$TMP/rx.out")
		[ "${irqs:-0}" -gt 0 ] || fail "rx $what: the guest took no interrupt"
		python3 - "$TMP/rx.json" "$intr" "$N" <<'PY' || fail "rx $what: NIC counters $(nicstat "$TMP/rx.json" n)"
import json, sys
n = json.load(open(sys.argv[1]))["nics"][0]
intr, count = sys.argv[2], int(sys.argv[3])
assert n["rx"]["frames"] == count and sum(n["drops"].values()) == 0, n
assert n["interrupts"] > 0 and n["irq_injections"] > 0, n
if intr == "msix":
    assert n["exits"]["isr_read"] == 0, n
else:
    assert n["exits"]["isr_read"] > 0, n
PY
		echo "$what: tx $N, rx $N, guest irqs $irqs, $(nicstat "$TMP/rx.json" "'injections %d isr_read %d' % (n['irq_injections'], n['exits']['isr_read'])")"
	done
done

N=40
SIZE=65000
for opt in all none; do
	before=$(counter rx_packets) bytes=$(counter rx_bytes)
	inns timeout 60 "$MONITOR" --kernel "$GUEST" --cmdline "tx count=$N size=$SIZE tso=1 nic=virtio" \
		--nic model=virtio-net,tap=$TAP,opt=$opt --stats none --stats-file "$TMP/tso.json" \
		>"$TMP/tso.out" 2>"$TMP/tso.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$TMP/tso.out" "$TMP/tso.err"; fail "tso opt=$opt: exit $rc"; }
	grep -q "mode=tx result=pass tx_frames=$N tx_bytes=$((N * SIZE)) " "$TMP/tso.out" ||
		fail "tso opt=$opt: $(grep result= "$TMP/tso.out")"
	[ $(($(counter rx_packets) - before)) -eq $N ] || fail "tso opt=$opt: tap packets"
	[ $(($(counter rx_bytes) - bytes)) -eq $((N * SIZE)) ] || fail "tso opt=$opt: tap bytes"
	[ "$(nicstat "$TMP/tso.json" "n['tx']['frames'], n['tx']['bytes'], sum(n['drops'].values())")" = "$N $((N * SIZE)) 0" ] ||
		fail "tso opt=$opt: NIC counters $(nicstat "$TMP/tso.json" n)"
	echo "tso opt=$opt: $N frames of $SIZE bytes"
done
echo "pass"
