#!/bin/bash
# The main job in one command (`make demo`): inside a network namespace of its
# own, vmmd with switch sw0 (eBPF, netbridge) whose host port demo-host has
# 198.51.100.1/24; a netguest VM demo1 ("echo ip=198.51.100.2") with a PCnet
# NIC on sw0; ping from the namespace; a stock Linux VM demo2 (Debian's
# kernel and our initramfs from BUILD_DIR/linux, stock pcnet32 driver,
# 198.51.100.3) on sw0 that pings demo1 and the host port, then waits;
# `vmctl list` and `vmctl stats`; demo2 stopped by its ACPI power button;
# then everything is stopped and removed (VMs, vmmd, switch, taps, pins,
# namespace, temporary folder). Needs root (namespace, BPF) and /dev/kvm;
# without BUILD_DIR/linux or on a kvm_pvm host (no Linux user space there)
# demo2 is left out, saying why. Inside the test host demo2 boots with
# testhost/guest-args (nopv: KVM's paravirtual features lose wakeups there).
# Usage: vmmd/demo.sh [BUILD_DIR]
set -eu
B=$(cd "${1:-build}" && pwd)
for f in vmmd vmctl vmm-monitor netguest.elf nbctl; do
	[ -e "$B/$f" ] || { echo "demo: $B/$f missing (run make)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: needs root (network namespace, eBPF switch)" >&2; exit 1; }
[ -c /dev/kvm ] || { echo "demo: /dev/kvm absent (make demo runs this inside the test host where there is none)" >&2; exit 1; }

T=$(mktemp -d /tmp/vmmd-demo.XXXXXX)
NS=vmmdemo$$
RT=vmmdemo$$
NSPATH=/var/run/netns/$NS
VMCTL="$B/vmctl --socket $T/run/vmmd.sock"
pid=
# Tools run in the namespace with nsenter --net (ip netns exec would remount
# /sys and hide the bpffs pins).
inns() { nsenter --net="$NSPATH" "$@"; }
cleanup() {
	set +e
	for vm in demo1 demo2; do
		$VMCTL stop $vm --force >/dev/null 2>&1
		$VMCTL delete $vm >/dev/null 2>&1
	done
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	[ -e "$NSPATH" ] && inns "$B/nbctl" -r "$RT" destroy-all >/dev/null 2>&1
	rm -rf "/sys/fs/bpf/$RT"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$T"
	echo "--- cleaned up: VM, vmmd, switch, namespace $NS, $T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS"
inns ip link set lo up
inns sh -c 'echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6'
cat >"$T/vmmd.json" <<EOF
{
  "netbridge_runtime": "$RT",
  "switches": [{"name": "sw0", "uplink": null, "host_port": "demo-host"}]
}
EOF
echo "== vmmd in namespace $NS, config:"
cat "$T/vmmd.json"
# nsenter execs vmmd (no fork): $! is vmmd's pid
nsenter --net="$NSPATH" "$B/vmmd" --config "$T/vmmd.json" --state-dir "$T/state" \
	--runtime-dir "$T/run" >"$T/vmmd.log" 2>&1 </dev/null &
pid=$!
for _ in $(seq 1 100); do $VMCTL version >/dev/null 2>&1 && break; sleep 0.05; done
inns ip addr add 198.51.100.1/24 dev demo-host

run() { echo "\$ vmctl $*"; $VMCTL "$@"; }
run create demo1 --kernel "$B/netguest.elf" --cmdline "echo ip=198.51.100.2" --memory 32 \
	--nic model=pcnet,switch=sw0
run start demo1
run switch list
for _ in $(seq 1 100); do grep -q 'mode=echo ready' "$T/state/logs/demo1.log" && break; sleep 0.05; done
echo "\$ ping -c 3 198.51.100.2   (in namespace $NS, from demo-host 198.51.100.1)"
inns ping -c 3 -i 0.2 -W 3 198.51.100.2

L=$B/linux
linux=yes
if [ ! -s "$L/bzImage" ] || [ ! -s "$L/initramfs.cpio.gz" ]; then
	linux="no Linux guest in $L (scripts/build-linux-guest.sh $L)"
elif [ -d /sys/module/kvm_pvm ]; then
	linux="this /dev/kvm is kvm_pvm, which cannot run Linux to user space"
fi
pv=$("$(dirname "$0")/../testhost/guest-args")
pv=${pv:+ $pv}
if [ "$linux" = yes ]; then
	run create demo2 --kernel "$L/bzImage" --initrd "$L/initramfs.cpio.gz" --memory 256 \
		--cmdline "console=ttyS0 panic=-1$pv vmm.ip0=198.51.100.3/24 vmm.run=\"ping -c 3 198.51.100.2 && ping -c 3 198.51.100.1 && echo DEMO2-PINGS-OK; sleep 100000\"" \
		--nic model=pcnet,switch=sw0
	run start demo2
	echo "--- waiting for the Linux guest to boot and ping (minutes in a nested test host)"
	for _ in $(seq 1 1200); do
		grep -qa '^DEMO2-PINGS-OK\|run: exit' "$T/state/logs/demo2.log" && break
		sleep 0.5
	done
	echo "--- demo2's console: its NIC, and its pings of demo1 and the host port"
	grep -a 'vmm-linux-guest: eth0\|pcnet32.*79C970A\|bytes from\|packet loss' "$T/state/logs/demo2.log" | tr -d '\r'
	grep -qa '^DEMO2-PINGS-OK' "$T/state/logs/demo2.log" || { echo "demo: demo2's pings failed"; exit 1; }
else
	echo "--- demo2 (a stock Linux guest) left out: $linux"
fi
run list
run stats demo1
run stop demo1
echo "--- console log ($T/state/logs/demo1.log):"
cat "$T/state/logs/demo1.log"
if [ "$linux" = yes ]; then
	run stats demo2
	run stop demo2 --timeout 120
	echo "--- demo2's shutdown (ACPI power button), from its console:"
	grep -a 'power button\|shutting down\|Power down' "$T/state/logs/demo2.log" | tr -d '\r'
fi
