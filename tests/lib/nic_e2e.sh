# The end-to-end NIC test shared by nic_pcnet.sh and nic_virtio.sh (source it
# after setting NIC_MODEL, NIC_NS, NIC_TAP and NIC_OPT_CHECK, a Python
# expression over the NIC's stats `n` that holds when the no-exit switch
# works), in a network namespace the test owns (removed on every exit path;
# optional: NIC_TX_OPTS, the opt= values of the tx runs, default "all none";
# NIC_TX_CHECK_ALL and NIC_TX_CHECK_NONE, expressions over `n` that the tx
# run's stats must satisfy with opt=all and opt=none),
# through a tap inside it, addresses in 198.51.100.0/24:
#   echo: ping -c 5 198.51.100.2 from the tap side is answered by netguest
#         "echo ip=198.51.100.2"; a graceful stop ends it with its counts;
#   tx:   netguest sends N frames; the tap's rx_packets grows by exactly N and
#         the NIC's tx counter says N, with every optimization on and all off
#         (and under ASan+UBSan);
#   rx:   N frames sent into the tap; netguest counts exactly N, the NIC too.
. tests/lib/common.sh
need_kvm
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespace, tap)"
[ -c /dev/net/tun ] || skip "/dev/net/tun absent"
command -v ip >/dev/null || skip "iproute2 (ip) absent"
[ -x "$MONITOR" ] && [ -f "$GUEST" ] || fail "build first: $MONITOR, $GUEST"

NS=$NIC_NS
TAP=$NIC_TAP
NIC_TAP_ADDR=198.51.100.1/24
. tests/lib/nic_netns.sh

# Starts the monitor in the namespace in the background: start NAME ARGS...
start() {
	local name=$1
	shift
	inns "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	PID=$!
	CLEANUP+=("kill $PID 2>/dev/null")
}
wait_line() { # FILE PATTERN
	WAIT_SECS=${WAIT_SECS:-20} wait_for grep -q "$2" "$1"
}
nicstat() { # FILE EXPR (python over the first NIC's stats)
	python3 -c "import json,sys; n=json.load(open(sys.argv[1]))['nics'][0]; print($2)" "$1"
}

# ---- echo: ping answered ----
start echo timeout "$(scaled 60)" "$MONITOR" --kernel "$GUEST" --cmdline "echo ip=198.51.100.2" \
	--nic model=$NIC_MODEL,tap=$TAP --control "$TMP/echo.sock" --stats none \
	--stats-file "$TMP/echo.json"
wait_line "$TMP/echo.out" 'mode=echo ready' || { cat "$TMP/echo.err"; fail "echo: no ready line"; }
if command -v ping >/dev/null; then
	inns ping -c 5 -i 0.2 -W 3 198.51.100.2 >"$TMP/ping" || { cat "$TMP/ping"; fail "ping: no answer"; }
	grep -q '5 received' "$TMP/ping" || fail "ping: $(cat "$TMP/ping")"
else # no iputils: the same ICMP echo by a raw socket
	inns python3 - <<'PY' || fail "icmp echo (python): no answer"
import socket, struct, os, time
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
sk = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); sk.settimeout(3)
for seq in range(5):
    body = struct.pack('!BBHHH', 8, 0, 0, os.getpid() & 0xffff, seq) + b'x' * 56
    body = body[:2] + struct.pack('!H', csum(body)) + body[4:]
    sk.sendto(body, ('198.51.100.2', 0))
    while True:
        d = sk.recv(2048)
        if d[20] == 0 and struct.unpack('!H', d[26:28])[0] == seq:
            break
    time.sleep(0.2)
PY
fi
$CTL "$TMP/echo.sock" stats >"$TMP/stats.reply" || fail "stats request"
python3 - "$TMP/stats.reply" "$NIC_MODEL" "$NIC_OPT_CHECK" <<'PY' || fail "stats: no nics entry: $(cat "$TMP/stats.reply")"
import json, sys
n = json.load(open(sys.argv[1]))["result"]["nics"][0]
model, opt_check = sys.argv[2], sys.argv[3]
assert n["name"] == model + "0" and n["model"] == model, n
assert n["rx"]["frames"] >= 6 and n["tx"]["frames"] >= 6, n
assert n["opts"] == {"coalesce": True, "combine": True, "irqfd": True}, n
assert eval(opt_check), (opt_check, n)
PY
$CTL "$TMP/echo.sock" stop '{"timeout_ms": 10000}' >/dev/null || fail "stop request"
wait $PID
rc=$?
cat "$TMP/echo.out"
[ $rc -eq 0 ] || { cat "$TMP/echo.err"; fail "echo: monitor exit $rc"; }
grep -Eq 'mode=echo result=stopped arp_replies=[1-9][0-9]* icmp_replies=5 dropped=0' "$TMP/echo.out" ||
	fail "echo: summary line wrong"

# ---- tx: N frames out, counted at both ends ----
N=500
for mon in "$MONITOR" build/vmm-monitor-san; do
	for opt in ${NIC_TX_OPTS:-all none}; do
		before=$(counter rx_packets)
		inns timeout "$(scaled 60)" "$mon" --kernel "$GUEST" --cmdline "tx count=$N size=100" \
			--nic model=$NIC_MODEL,tap=$TAP,opt=$opt --stats none --stats-file "$TMP/tx.json" \
			>"$TMP/tx.out" 2>"$TMP/tx.err"
		rc=$?
		after=$(counter rx_packets)
		[ $rc -eq 0 ] || { cat "$TMP/tx.out" "$TMP/tx.err"; fail "tx $mon opt=$opt: exit $rc"; }
		grep -q "mode=tx result=pass tx_frames=$N tx_bytes=$((N * 100)) " "$TMP/tx.out" ||
			fail "tx opt=$opt: $(grep result= "$TMP/tx.out")"
		[ $((after - before)) -eq $N ] || fail "tx opt=$opt: tap received $((after - before)), want $N"
		[ "$(nicstat "$TMP/tx.json" "n['tx']['frames'], n['tx']['bytes'], sum(n['drops'].values())")" = "$N $((N * 100)) 0" ] ||
			fail "tx opt=$opt: NIC counters $(nicstat "$TMP/tx.json" n)"
		check=
		[ "$opt" = all ] && check=${NIC_TX_CHECK_ALL:-}
		[ "$opt" = none ] && check=${NIC_TX_CHECK_NONE:-}
		if [ -n "$check" ] && [ "$(nicstat "$TMP/tx.json" "bool($check)")" != True ]; then
			fail "tx $mon opt=$opt: want $check: $(nicstat "$TMP/tx.json" n)"
		fi
		echo "tx $mon opt=$opt: $N frames; exits $(nicstat "$TMP/tx.json" "n['exits']['total']")"
	done
done

# ---- rx: N frames in, counted exactly (all switches on, then off) ----
N=300
for opt in all none; do
	start rx timeout "$(scaled 60)" "$MONITOR" --kernel "$GUEST" --cmdline "rx count=$N time=50" \
		--nic model=$NIC_MODEL,tap=$TAP,mac=52:54:00:ab:cd:ef,opt=$opt --stats none \
		--stats-file "$TMP/rx.json"
	wait_line "$TMP/rx.out" 'mode=rx ready mac=52:54:00:ab:cd:ef' ||
		{ cat "$TMP/rx.err"; fail "rx opt=$opt: no ready line"; }
	before=$(counter tx_packets)
	send_test_frames $N 200 || fail "rx: sending frames"
	wait $PID
	rc=$?
	after=$(counter tx_packets)
	cat "$TMP/rx.out"
	[ $rc -eq 0 ] || { cat "$TMP/rx.err"; fail "rx opt=$opt: monitor exit $rc"; }
	grep -q "mode=rx result=pass rx_frames=$N rx_bytes=$((N * 218)) other=0 errors=0" "$TMP/rx.out" ||
		fail "rx opt=$opt: summary line wrong"
	[ $((after - before)) -eq $N ] || fail "rx opt=$opt: tap sent $((after - before)), want $N"
	[ "$(nicstat "$TMP/rx.json" "n['rx']['frames'], n['rx']['bytes'], sum(n['drops'].values())")" = "$N $((N * 218)) 0" ] ||
		fail "rx opt=$opt: NIC counters $(nicstat "$TMP/rx.json" n)"
	rm -f "$TMP/rx.out"
done
echo "pass"
