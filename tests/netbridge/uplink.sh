# Uplink and host-port scenario, sourced by
# tests/integration/netbridge_uplink_{tcx,clsact,tc,xdp}.sh with WANT_MODE (the
# VM ports' attach mode) and WANT_UPLINK (the uplink's: "xdpdrv+tcx" when the
# native XDP fast path is in front of the tc program, "tcx" with NB_UPLINK=tc). Switch sw0 in $NS with
# VM ports A and B, an uplink upl0 (a veth whose peer ext0 is in a second
# namespace, "outside") and a host port (veth nbhost0 into $NS's stack).
. tests/netbridge/lib.sh
nb_setup
NSX=nbext$$
ns_add "$NSX"

A=02:00:00:00:00:0a B=02:00:00:00:00:0b
BCAST=ff:ff:ff:ff:ff:ff UNKNOWN=02:00:00:00:00:99

in_ns "$NS" ip link add upl0 type veth peer name ext0 || fail "veth upl0/ext0"
in_ns "$NS" ip link set ext0 netns "$NSX" || fail "move ext0"
in_ns "$NS" ip addr add 198.51.100.1/24 dev upl0
in_ns "$NS" ip link set upl0 up
in_ns "$NSX" ip addr add 198.51.100.2/24 dev ext0
in_ns "$NSX" ip link set ext0 up
X=$(in_ns "$NSX" ip -o link show ext0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
[ -n "$X" ] || fail "no MAC for ext0"

nbctl switch add sw0 || fail "switch add"
nbctl port add sw0 vmm-a-0 $A >/dev/null || fail "port add A"
nbctl port add sw0 vmm-b-0 $B >/dev/null || fail "port add B"
nbctl uplink sw0 nosuch0 2>"$TMP/err" && fail "missing uplink accepted"
grep -q 'uplink nosuch0: no such interface' "$TMP/err" || fail "message: $(cat "$TMP/err")"
nbctl uplink sw0 upl0 || fail "uplink"
HP=$(nbctl host sw0 nbhost0 | sed -n 's/^nbhost0 port=//p')
[ -n "$HP" ] || fail "host port: no switch-side name"
H=$(in_ns "$NS" ip -o link show nbhost0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)
nbctl ports sw0 | grep -q "^upl0 type=uplink .*attach=$WANT_UPLINK\$" || fail "ports: $(nbctl ports sw0)"
nbctl ports sw0 | grep -q "^$HP type=host .*mac=$H" || fail "ports: $(nbctl ports sw0)"

EPS="tap:vmm-a-0 tap:vmm-b-0 pkt:ext0@$NSX pkt:nbhost0"
frames $EPS \
	-- send ext0 $A $X 5 60 \
	-- send ext0 $BCAST $X 3 60 \
	-- send ext0 $UNKNOWN $X 4 60 \
	-- send ext0 $B $A 2 60 \
	-- wait 100 \
	-- send vmm-a-0 $X $A 6 60 \
	-- send vmm-a-0 $BCAST $A 2 60 \
	-- send vmm-b-0 $A $B 1 60 \
	-- send nbhost0 $A $H 3 60 \
	-- send vmm-b-0 $H $B 4 60 \
	-- wait 300 -- report >"$TMP/r1" || fail "nbframe: $(cat "$TMP/r1")"
r=$TMP/r1
# uplink -> VM MAC: redirected to that VM only
expect_flow $r vmm-a-0 $X $A 5
# uplink broadcast: every port (and the host stack, see the ping below)
expect_flow $r vmm-a-0 $X $BCAST 3
expect_flow $r vmm-b-0 $X $BCAST 3
expect_flow $r nbhost0 $X $BCAST 3
# uplink unicast not for a VM: left to the host stack, never flooded
expect_flow $r vmm-a-0 $X $UNKNOWN 0
expect_flow $r vmm-b-0 $X $UNKNOWN 0
# the outside cannot take over a VM's MAC: A stays reachable on its tap
expect_flow $r vmm-b-0 $A $B 2
expect_flow $r vmm-a-0 $B $A 1
nbctl fdb sw0 | grep -q "^$A vmm-a-0 static" || fail "A's entry: $(nbctl fdb sw0)"
# VM -> learned outside MAC: out of the uplink only
expect_flow $r ext0 $A $X 6
expect_flow $r vmm-b-0 $A $X 0
expect_flow $r ext0 $A $BCAST 2
expect_flow $r vmm-b-0 $A $BCAST 2
expect_flow $r nbhost0 $A $BCAST 2
# host port both ways
expect_flow $r vmm-a-0 $H $A 3
expect_flow $r nbhost0 $B $H 4
expect_rx $r vmm-a-0 12
expect_rx $r vmm-b-0 7
expect_rx $r ext0 8
expect_rx $r nbhost0 9
nbctl fdb sw0 | grep -q "^$X upl0 learned" || fail "X not learned: $(nbctl fdb sw0)"
#              port  rx_frames rx_bytes tx_frames tx_bytes
expect_stats vmm-a-0 12 720 8 480
expect_stats vmm-b-0 7 420 5 300
expect_stats upl0 8 480 10 600
expect_stats "$HP" 9 540 3 180
echo "uplink redirect, flooding, learning, host port, counters ok"

# Aging: the control plane removes learned entries; X is unknown again and
# flooded (B, the uplink and the host port get it).
[ "$(nbctl age 0)" = "removed 1" ] || fail "age: $(nbctl fdb sw0)"
nbctl fdb sw0 | grep -q "^$X" && fail "X still in the table after aging"
frames $EPS -- send vmm-a-0 $X $A 1 60 -- wait 200 -- report >"$TMP/r2" || fail "nbframe"
expect_flow "$TMP/r2" vmm-b-0 $A $X 1
expect_flow "$TMP/r2" ext0 $A $X 1
expect_flow "$TMP/r2" nbhost0 $A $X 1
echo "aging ok"

# The host stack behind the uplink still works (ARP broadcast cloned to the
# VMs and passed up; ICMP to the uplink's own MAC untouched).
frames tap:vmm-a-0 tap:vmm-b-0 -- wait 2500 -- report >"$TMP/r3" &
fpid=$!
sleep 0.5
in_ns "$NSX" ping -c 3 -i 0.2 -W 2 198.51.100.1 >"$TMP/ping" 2>&1 || fail "ping through the uplink: $(cat "$TMP/ping")"
wait $fpid || fail "nbframe during ping"
grep -q "^vmm-a-0 $X>$BCAST type=0x0806" "$TMP/r3" || fail "VM did not see the ARP broadcast: $(cat "$TMP/r3")"
grep -q "type=0x0800" "$TMP/r3" && fail "ICMP to the host leaked to a VM: $(cat "$TMP/r3")"
echo "host stack behind the uplink ok"

# Teardown: taps and the host veth deleted, the uplink kept but bare.
ids=""
for p in vmm-a-0 vmm-b-0 "$HP" upl0; do ids="$ids $(attached_ids "$p")"; done
[ "$(echo $ids | wc -w)" -ge 5 ] || fail "found too few attached programs: $ids"
nbctl destroy-all || fail "destroy-all"
[ -e "/sys/fs/bpf/$RT" ] && fail "pins left: $(ls "/sys/fs/bpf/$RT")"
in_ns "$NS" ip -o link show | grep -qE 'vmm-|nbh' && fail "interfaces left: $(in_ns "$NS" ip -o link show)"
in_ns "$NS" ip link show upl0 >/dev/null || fail "uplink deleted"
[ -z "$(in_ns "$NS" tc filter show dev upl0 ingress)" ] || fail "filter left on upl0"
in_ns "$NS" tc qdisc show dev upl0 | grep -q clsact && fail "clsact qdisc left on upl0"
in_ns "$NS" ip -d link show upl0 | grep -q 'prog/xdp' && fail "XDP program left on upl0"
for id in $ids; do
	WAIT_SECS=5 wait_for gone "$id" || fail "$id still exists after teardown"
done
echo "teardown: nothing left ($(echo $ids | wc -w) objects checked), uplink kept"
