#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# vmmd networking end to end, in a network namespace of its own (vmmd runs in
# it, so its taps and host port live there) with a netbridge runtime of its
# own, 198.51.100.0/24 only:
#   two netguest VMs ("echo ip=...") with PCnet NICs on switch sw0, whose host
#   port nt-host has 198.51.100.1; each answers ping from the host port;
#   vm.stats per NIC: switch port and device counters agree and grow by
#   exactly what was sent (5 pings = 5 frames each way, 100 raw frames in);
#   switch.list / switch.stats show the ports and their VMs;
#   stopping a VM removes its tap; kill -9 of vmmd and a new vmmd: the VMs'
#   ports still switch (ping again) and counters are cumulative;
#   delete leaves no tap and no link pin behind.
. tests/vmmd/lib.sh
command -v ping >/dev/null || skip "ping (iputils) not installed"
net_setup vmmdnet

cat >"$TMP/net.json" <<EOF
{"netbridge_runtime": "$RT",
 "switches": [{"name": "sw0", "uplink": null, "host_port": "nt-host"}]}
EOF
start_net_vmmd "$TMP/net.json"
grep -q 'BPF\|netbridge runtime.*: .*not permitted' "$VMMD_LOG" &&
	! grep -q "netbridge runtime $RT: 1 switch" "$VMMD_LOG" && skip "BPF unavailable: $(grep netbridge "$VMMD_LOG" | tail -n 1)"
grep -q "netbridge runtime $RT: 1 switch" "$VMMD_LOG" || fail "switches not set up"
inns ip link show nt-host >/dev/null || fail "host port nt-host missing"
inns ip addr add 198.51.100.1/24 dev nt-host

MAC1=52:54:00:5e:00:01
MAC2=52:54:00:5e:00:02
vmctl create vm1 --kernel "$GUEST_ABS" --cmdline "echo ip=198.51.100.2" --memory 16 \
	--nic model=pcnet,switch=sw0,mac=$MAC1 >/dev/null || fail "create vm1"
vmctl create vm2 --kernel "$GUEST_ABS" --cmdline "echo ip=198.51.100.3" --memory 16 \
	--nic model=pcnet,switch=sw0,mac=$MAC2 >/dev/null || fail "create vm2"
# a NIC on a switch that is not configured: start_failed naming it
vmctl create vm3 --kernel "$GUEST_ABS" --cmdline idle --memory 16 --nic model=pcnet,switch=nosw \
	>/dev/null || fail "create vm3"
vmctl start vm3 2>"$TMP/vm3.err" && fail "vm3 started on an unknown switch"
grep -q "start_failed" "$TMP/vm3.err" && grep -q "no switch named 'nosw'" "$TMP/vm3.err" ||
	fail "vm3: $(cat "$TMP/vm3.err")"
inns ip link show vmm-vm3-0 >/dev/null 2>&1 && fail "vm3's failed start left a tap"
vmctl delete vm3 >/dev/null || fail "delete vm3"

# ready_since NAME N: the N-th "mode=echo ready" line in its log
ready() { [ "$(grep -c 'mode=echo ready' "$S/logs/$1.log" 2>/dev/null)" -ge "$2" ]; }
for n in vm1 vm2; do
	vmctl start $n >/dev/null || fail "start $n"
	WAIT_SECS=20 wait_for ready $n 1 || fail "$n: no ready line: $(tail -n 5 "$S/logs/$n.log")"
done
inns ip link show vmm-vm1-0 >/dev/null && inns ip link show vmm-vm2-0 >/dev/null || fail "taps missing"
# static neighbours: no ARP traffic, so every frame counted is one we sent
inns ip neigh replace 198.51.100.2 lladdr $MAC1 dev nt-host nud permanent
inns ip neigh replace 198.51.100.3 lladdr $MAC2 dev nt-host nud permanent

# nic NAME: "switch_rx switch_tx device_rx device_tx drops" of NIC 0
nic() {
	vmctl stats "$1" --output json | python3 -c '
import json, sys
n = json.load(sys.stdin)["nics"][0]
s, d = n["switch_port"], n["device"]
print(s["rx_frames"], s["tx_frames"], d["rx"]["frames"], d["tx"]["frames"],
      sum(s["drops"].values()) + sum(d["drops"].values()))'
}
# expect_delta NAME BEFORE RX TX: both sources grew by exactly RX and TX frames
expect_delta() {
	local now
	now=$(nic "$1") || fail "stats $1"
	read -r sr st dr dt drops <<<"$now"
	read -r sr0 st0 dr0 dt0 _ <<<"$2"
	[ $((sr - sr0)) = "$3" ] && [ $((dr - dr0)) = "$3" ] && [ $((st - st0)) = "$4" ] &&
		[ $((dt - dt0)) = "$4" ] && [ "$drops" = 0 ] ||
		fail "$1: counters $2 -> $now, want +$3 rx +$4 tx on switch and device, no drops"
	[ "$sr" = "$dr" ] && [ "$st" = "$dt" ] || fail "$1: switch and device disagree: $now"
}
ping_ok() { inns ping -c "${2:-5}" -i 0.2 -W 3 "$1" >"$TMP/ping" 2>&1 && grep -q "${2:-5} received" "$TMP/ping"; }

for i in 1 2; do
	n=vm$i ip=198.51.100.$((i + 1))
	b=$(nic $n)
	ping_ok $ip || fail "ping $ip ($n): $(cat "$TMP/ping")"
	expect_delta $n "$b" 5 5
done
vmctl stats vm1 | grep -q 'nic 0: pcnet 52:54:00:5e:00:01, switch sw0, port vmm-vm1-0' ||
	fail "stats table: $(vmctl stats vm1)"

# 100 raw frames from the host port to vm1 (an ethertype the guest ignores):
# exactly 100 more on the switch port and in the device
b=$(nic vm1)
inns python3 - "$MAC1" <<'PY' || fail "sending raw frames"
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("nt-host", 0))
dst = bytes.fromhex(sys.argv[1].replace(":", ""))
src = s.getsockname()[4][:6]
for i in range(100):
    s.send(dst + src + b"\x88\xb5" + struct.pack("!I", i) + bytes(100))
PY
WAIT_SECS=5 wait_for sh -c "[ \"\$(echo \$( $VMCTL --socket $SOCK stats vm1 --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"nics\"][0][\"device\"][\"rx\"][\"frames\"])'))\" -ge $(( $(echo "$b" | cut -d' ' -f3) + 100 )) ]" ||
	fail "vm1 did not receive 100 frames: $(nic vm1)"
expect_delta vm1 "$b" 100 0

# switch.list / switch.stats
vmctl switch list --output json >"$TMP/sw.json" || fail "switch list"
python3 - "$TMP/sw.json" <<'PY' || fail "switch list: $(cat "$TMP/sw.json")"
import json, sys
r = json.load(open(sys.argv[1]))
sw = r["switches"]
assert [s["name"] for s in sw] == ["sw0"], sw
s = sw[0]
assert s["configured"] and s["host_port"] == "nt-host" and s["uplink"] is None, s
ports = {p["port"]: p for p in s["ports"]}
assert ports["vmm-vm1-0"]["vm"] == "vm1" and ports["vmm-vm1-0"]["nic"] == 0, ports
assert ports["vmm-vm2-0"]["mac"] == "52:54:00:5e:00:02", ports
assert sorted(p["type"] for p in s["ports"]) == ["host", "vm", "vm"], ports
PY
vmctl switch stats sw0 --output json >"$TMP/sws.json" || fail "switch stats"
python3 - "$TMP/sws.json" <<'PY' || fail "switch stats: $(cat "$TMP/sws.json")"
import json, sys
s = json.load(open(sys.argv[1]))["switches"][0]
ports = {p["port"]: p for p in s["ports"]}
assert ports["vmm-vm1-0"]["rx_frames"] == 105 and ports["vmm-vm1-0"]["tx_frames"] == 5, ports
host = [p for p in s["ports"] if p["type"] == "host"][0]
assert host["tx_frames"] == 110 and host["rx_frames"] == 10, host
PY
vmctl switch stats | grep -q 'vmm-vm2-0 *vm *vm2/0' || fail "switch stats table: $(vmctl switch stats)"
vmctl switch stats nosuch 2>/dev/null
[ $? = 4 ] || fail "switch stats of an unknown switch: want exit 4"

# stopping a VM removes its tap; starting it again makes a fresh one
vmctl stop vm1 --force >/dev/null || fail "stop vm1"
inns ip link show vmm-vm1-0 >/dev/null 2>&1 && fail "vm1 stopped but its tap remains"
vmctl start vm1 >/dev/null || fail "restart vm1"
WAIT_SECS=20 wait_for ready vm1 2 || fail "vm1: no second ready line"
ping_ok 198.51.100.2 || fail "ping vm1 after its restart"

# kill -9 of vmmd: the VMs and their ports keep working; a new vmmd adopts
# them and the counters go on from where they were
b1=$(nic vm1) b2=$(nic vm2)
p1=$(vm_pid vm1) p2=$(vm_pid vm2)
kill -9 $VMMD_PID
wait $VMMD_PID 2>/dev/null
ping_ok 198.51.100.2 3 || fail "ping vm1 with vmmd dead"
start_net_vmmd "$TMP/net.json"
[ "$(vm_pid vm1)" = $p1 ] && [ "$(vm_pid vm2)" = $p2 ] || fail "pids changed: $(vmctl list)"
grep -q "switch sw0: adopted" "$VMMD_LOG" || fail "switch not adopted"
inns ip addr show nt-host | grep -q 198.51.100.1/24 || fail "the host port lost its address"
ping_ok 198.51.100.2 || fail "ping vm1 after the vmmd restart"
ping_ok 198.51.100.3 || fail "ping vm2 after the vmmd restart"
expect_delta vm1 "$b1" 8 8
expect_delta vm2 "$b2" 5 5

# delete: no tap, no link pin left for it
for n in vm1 vm2; do
	vmctl stop $n --force >/dev/null || fail "stop $n"
	vmctl delete $n >/dev/null || fail "delete $n"
done
inns ip -o link show | grep -q 'vmm-' && fail "taps left: $(inns ip -o link show | grep vmm-)"
for pin in /sys/fs/bpf/$RT/link-*; do
	[ -e "$pin" ] || continue
	idx=${pin##*/link-}
	idx=${idx%-*}
	inns ip -o link show | grep -q "^$idx: nbh" || fail "pin $pin left for interface $idx"
done
[ "$(vmctl switch list --output json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["switches"][0]["ports"]))')" = 1 ] ||
	fail "ports left: $(vmctl switch list)"
echo "pass"
