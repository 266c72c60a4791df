#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Two hosts in one L2 segment over a VXLAN uplink: two network namespaces
# ("hosts" A and B) joined by a veth underlay (198.51.100.129 and .130, MTU 1550
# so that a 1500-byte frame fits with its 50 bytes of VXLAN), each with its
# own vmmd, netbridge runtime and switch sw0 whose uplink is a VXLAN device
# (VNI 42) with the other host as its static remote, and a host port.
#   a netguest VM on each: the one on A pings the one on B (ARP and ICMP
#   cross the tunnel), and the frames on the underlay are VXLAN (UDP 4789);
#   learning: B's VM MAC sits behind A's uplink in A's forwarding table;
#   vmctl switch stats shows the uplink's counters;
#   a bad vxlan definition keeps vmmd from starting, naming the key;
#   B's vmmd stopped with its VMs (stop_vms_on_exit): its VXLAN device is
#   gone, and A's vmmd, VM and switch keep running (A's host pings A's VM).
. tests/vmmd/lib.sh
net_prereqs
ip link add vmmdvx-probe type vxlan id 1 dstport 4789 local 127.0.0.1 2>/dev/null ||
	skip "this kernel has no VXLAN devices"
ip link del vmmdvx-probe

A=vmmdvxa$$
B=vmmdvxb$$
ina() { nsenter --net="/var/run/netns/$A" "$@"; }
inb() { nsenter --net="/var/run/netns/$B" "$@"; }
net_ns_add $A
net_ns_add $B
ip link add ula netns $A mtu 1550 type veth peer name ulb netns $B mtu 1550 || fail "underlay veth"
ina ip addr add 198.51.100.129/25 dev ula && ina ip link set ula up
inb ip addr add 198.51.100.130/25 dev ulb && inb ip link set ulb up

# Host B: its own state, runtime folder and socket; killed on every exit
# path with its monitors (kill_ours covers host A's).
SB=$TMP/stateB RB=$TMP/runB SOCKB=$TMP/runB/vmmd.sock VMMDB_PID=
kill_b() {
	[ -n "$VMMDB_PID" ] && kill -9 "$VMMDB_PID" 2>/dev/null
	local f
	for f in $(grep -lzx -- "$RB/vms/.*\.sock" /proc/[0-9]*/cmdline 2>/dev/null); do
		f=${f#/proc/}
		kill -9 "${f%/cmdline}" 2>/dev/null
	done
	return 0
}
CLEANUP+=(kill_b)
vmctlb() { "$VMCTL" --socket "$SOCKB" "$@"; }

# conf NS LOCAL REMOTE: the config of one host
conf() {
	cat >"$TMP/$1.json" <<EOF
{"netbridge_runtime": "$1", "stop_vms_on_exit": true, "stop_timeout_s": 5,
 "switches": [{"name": "sw0", "host_port": "vx-host",
   "vxlan": {"vni": 42, "local": "$2", "remote": ["$3"], "name": "vx42"}}]}
EOF
}
conf $A 198.51.100.129 198.51.100.130
conf $B 198.51.100.130 198.51.100.129

# a bad definition: vmmd refuses to start and names the key
refuses_config '{"switches": [{"name": "sw0", "vxlan": {"vni": 42, "local": "198.51.100.129"}}]}' \
	'switches\[0\].vxlan: needs a remote or a group'

nsenter --net="/var/run/netns/$A" "$VMMD" --config "$TMP/$A.json" --state-dir "$S" \
	--runtime-dir "$R" >>"$VMMD_LOG" 2>&1 </dev/null &
VMMD_PID=$!
nsenter --net="/var/run/netns/$B" "$VMMD" --config "$TMP/$B.json" --state-dir "$SB" \
	--runtime-dir "$RB" >>"$TMP/vmmdB.log" 2>&1 </dev/null &
VMMDB_PID=$!
wait_for vmctl version >/dev/null 2>&1 || fail "vmmd A did not answer"
wait_for vmctlb version >/dev/null 2>&1 || fail "vmmd B did not answer: $(tail "$TMP/vmmdB.log")"
grep -q 'switch sw0: vxlan uplink vx42 (VNI 42, 1 remote' "$VMMD_LOG" || fail "no vxlan uplink on A"
ina ip -d link show vx42 | grep -q 'vxlan id 42 .*local 198.51.100.129' ||
	fail "A's vx42: $(ina ip -d link show vx42 2>&1)"
ina ip addr add 198.51.100.1/25 dev vx-host
inb ip addr add 198.51.100.4/25 dev vx-host

MACA=52:54:00:5e:01:01
MACB=52:54:00:5e:01:02
vmctlb create vmb --kernel "$GUEST_ABS" --cmdline "echo ip=198.51.100.3" --memory 16 \
	--nic model=virtio-net,switch=sw0,mac=$MACB >/dev/null || fail "create vmb"
vmctlb start vmb >/dev/null || fail "start vmb"
WAIT_SECS=$(scaled 20) wait_for grep -q 'mode=echo ready' "$SB/logs/vmb.log" ||
	fail "vmb not ready: $(tail -n 5 "$SB/logs/vmb.log")"

# capture on A's underlay while A's VM pings B's: UDP to port 4789, both ways
ina python3 - "$TMP/capture" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))  # ETH_P_ALL: both ways
s.bind(("ula", 0))
s.settimeout(1)
seen = {"out": 0, "in": 0}
end = time.time() + 60
open(sys.argv[1] + ".ready", "w").close()
while time.time() < end and min(seen.values()) < 3:
    try:
        f, addr = s.recvfrom(2048)
    except socket.timeout:
        continue
    ihl = (f[0] & 15) * 4
    if addr[1] == 0x0800 and f[9] == 17 and int.from_bytes(f[ihl + 2:ihl + 4], "big") == 4789:
        seen["out" if addr[2] == socket.PACKET_OUTGOING else "in"] += 1
open(sys.argv[1], "w").write("%d %d\n" % (seen["out"], seen["in"]))
PY
CAP_PID=$!
wait_for test -f "$TMP/capture.ready" || fail "capture did not start"
vmctl create vma --kernel "$GUEST_ABS" --cmdline "echo ip=198.51.100.2 ping=198.51.100.3 count=5" \
	--memory 16 --nic model=pcnet,switch=sw0,mac=$MACA >/dev/null || fail "create vma"
vmctl start vma >/dev/null || fail "start vma"
WAIT_SECS=$(scaled 40) wait_for grep -q 'ping=198.51.100.3 result=' "$S/logs/vma.log" ||
	fail "vma: no ping result: $(tail -n 5 "$S/logs/vma.log")"
grep -q 'ping=198.51.100.3 result=pass sent=5 received=5' "$S/logs/vma.log" ||
	fail "vma could not ping vmb across the tunnel: $(grep ping= "$S/logs/vma.log")"
wait "$CAP_PID"
read -r out in <"$TMP/capture" || fail "no capture result"
[ "$out" -ge 3 ] && [ "$in" -ge 3 ] ||
	fail "underlay: $out VXLAN packets out, $in in (want >= 3 each)"

# learning: B's VM behind A's uplink, A's VM static on its port
ina "$NBCTL" -r $A fdb sw0 >"$TMP/fdb" || fail "fdb A"
grep -q "^$MACB vx42 learned" "$TMP/fdb" || fail "A's fdb: $(cat "$TMP/fdb")"
grep -q "^$MACA vmm-vma-0 static" "$TMP/fdb" || fail "A's fdb: $(cat "$TMP/fdb")"
vmctl switch stats sw0 >"$TMP/sw" || fail "switch stats"
grep -q 'uplink vxlan (VNI 42, local 198.51.100.129)' "$TMP/sw" || fail "switch stats: $(cat "$TMP/sw")"
read -r urx utx < <(vmctl switch stats sw0 --output json | python3 -c '
import json, sys
p = [p for p in json.load(sys.stdin)["switches"][0]["ports"] if p["type"] == "uplink"][0]
print(p["rx_frames"], p["tx_frames"])')
[ "${urx:-0}" -ge 6 ] && [ "${utx:-0}" -ge 6 ] || fail "uplink counters rx=$urx tx=$utx (want >= 6)"

# B goes down with its VM; its VXLAN device goes with it; A runs on
kill -TERM "$VMMDB_PID"
WAIT_SECS=$(scaled 20) wait_for sh -c "! kill -0 $VMMDB_PID 2>/dev/null" || fail "vmmd B did not exit"
VMMDB_PID=
inb ip link show vx42 >/dev/null 2>&1 && fail "B's vx42 is left after vmmd B stopped its VMs"
grep -q 'switch sw0: vxlan uplink removed' "$TMP/vmmdB.log" || fail "B: $(tail "$TMP/vmmdB.log")"
[ "$(vm_state vma)" = running ] || fail "vma: $(vm_state vma) after B went down"
ina ip link show vx42 >/dev/null || fail "A's vx42 vanished"
ina ping -c 3 -i 0.2 -W 3 198.51.100.2 >"$TMP/ping" 2>&1 || fail "A's host -> vma: $(cat "$TMP/ping")"
vmctl stop vma >/dev/null || fail "stop vma"
echo "ok: VM to VM over VXLAN ($out/$in packets on the underlay), learned behind the uplink, one side down and the other up"
