# The QEMU end-to-end NIC test shared by nic_pcnet_qemu.sh and
# nic_virtio_qemu.sh: netguest's driver against QEMU's own device (-M pc,
# tap backend, vhost off), in a network namespace the test owns: an
# independent check of the driver, and through it of our model. ping to
# "echo ip=198.51.100.2" is answered; "tx count=N" puts exactly N frames on
# the tap; "rx count=N" counts N frames. Set before sourcing: NIC_NS,
# NIC_TAP, NIC_QEMU_DEVICE (QEMU -device driver and options), NIC_GUEST_ARGS
# (appended to the echo command line), and a function nic_tx_check FILE N
# with the model's own checks of the tx output. NIC_INTR (optional): the
# intr= values to run all three checks with, in turn; each run must print
# "intr=VALUE" on its nic line. nic_extra_checks (optional function): the
# model's own checks, run last, with qemu, counter and fail at hand.
. tests/lib/common.sh
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, tap)"
[ -c /dev/net/tun ] || skip "/dev/net/tun absent"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -f "$GUEST" ] || fail "build first: $GUEST"

NS=$NIC_NS
TAP=$NIC_TAP
NIC_TAP_ADDR=198.51.100.1/24
. tests/lib/nic_netns.sh

qemu() { # OUT CMDLINE [args]
	local out=$1 cmdline=$2
	shift 2
	inns timeout --kill-after=5 "$(scaled 60)" qemu-system-x86_64 -M pc -accel kvm -m 64 -nodefaults \
		-no-user-config -nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$GUEST" -append "$cmdline" \
		-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off \
		-device $NIC_QEMU_DEVICE,netdev=n0,romfile=,mac=52:54:00:ab:cd:ef "$@" </dev/null >"$out" 2>"$out.err"
}
wait_line() { WAIT_SECS=$(scaled 30) wait_for grep -q "$2" "$1"; }
intr_check() { # FILE WHAT
	[ -z "$INTR" ] || grep -q "nic model=.* intr=$INTR " "$1" || fail "$2: want intr=$INTR"
}

# One round per NIC_INTR value, or one plain round (the body is not indented,
# to keep it readable as the straight script it was).
for INTR in ${NIC_INTR:-""}; do
IA=${INTR:+ intr=$INTR}
[ -z "$INTR" ] || echo "---- intr=$INTR"

# ---- echo ----
rm -f "$TMP/mon.sock"
qemu "$TMP/echo" "echo ip=198.51.100.2$NIC_GUEST_ARGS$IA" -monitor "unix:$TMP/mon.sock,server=on,wait=off" &
PID=$!
CLEANUP+=("kill $PID 2>/dev/null")
wait_line "$TMP/echo" 'mode=echo ready' || { cat "$TMP/echo" "$TMP/echo.err"; fail "echo: no ready line"; }
if command -v ping >/dev/null; then
	inns ping -c 5 -i 0.2 -W 3 198.51.100.2 >"$TMP/ping" || { cat "$TMP/ping"; fail "ping: no answer"; }
fi
python3 - "$TMP/mon.sock" <<'PY' || fail "QEMU monitor: sendkey"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(0.2)
s.sendall(b"sendkey ctrl-alt-delete\n"); time.sleep(0.5)
PY
wait $PID
rc=$?
cat "$TMP/echo"
# The poweroff lands on PIIX4 PM's 0x604 (QEMU exit 0) once SeaBIOS has
# enabled it, else the fallback debug-exit 0 gives 1.
[ $rc -eq 0 ] || [ $rc -eq 1 ] || fail "echo: QEMU exit $rc, want 0 (poweroff) or 1 (debug-exit 0)"
grep -q 'mode=echo result=stopped' "$TMP/echo" || fail "echo: no result line after the stop"
if command -v ping >/dev/null; then
	grep -q 'icmp_replies=5 dropped=0' "$TMP/echo" || fail "echo: summary line wrong"
fi
intr_check "$TMP/echo" echo

# ---- tx ----
N=100
before=$(counter rx_packets)
qemu "$TMP/tx" "tx count=$N size=100$IA"
rc=$?
after=$(counter rx_packets)
cat "$TMP/tx"
[ $rc -eq 1 ] || fail "tx: QEMU exit $rc, want 1"
grep -q "mode=tx result=pass tx_frames=$N tx_bytes=$((N * 100)) errors=0 " "$TMP/tx" ||
	fail "tx: want $N frames"
nic_tx_check "$TMP/tx" $N
intr_check "$TMP/tx" tx
[ $((after - before)) -eq $N ] || fail "tx: tap received $((after - before)), want $N"

# ---- rx ----
N=100
qemu "$TMP/rx" "rx count=$N time=50$IA" &
PID=$!
CLEANUP+=("kill $PID 2>/dev/null")
wait_line "$TMP/rx" 'mode=rx ready' || { cat "$TMP/rx" "$TMP/rx.err"; fail "rx: no ready line"; }
# neither QEMU's pcnet ring nor the guest's 32 virtio buffers take more than
# 16 at once: a pause after each 16, long enough for the guest to empty them
# (10 ms; in the test host 100 ms: with QEMU slowed by a loaded machine, QEMU's
# pcnet missed 13 of 100 frames behind 10 ms pauses)
send_test_frames $N 200 "$([ "$TEST_TIME_SCALE" -gt 1 ] && echo 0.1 || echo 0.01)" ||
	fail "rx: sending frames"
wait $PID
rc=$?
cat "$TMP/rx"
[ $rc -eq 1 ] || fail "rx: QEMU exit $rc, want 1"
grep -q "mode=rx result=pass rx_frames=$N rx_bytes=$((N * 218)) other=0 errors=0" "$TMP/rx" ||
	fail "rx: summary line wrong"
intr_check "$TMP/rx" rx
done
! declare -F nic_extra_checks >/dev/null || nic_extra_checks
echo "pass"
