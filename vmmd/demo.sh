#!/bin/bash
# The main job in one command (`make demo`): inside a network namespace of its
# own, vmmd with switch sw0 (eBPF, netbridge) whose host port demo-host has
# 198.51.100.1/24; a netguest VM demo1 ("echo ip=198.51.100.2") with a PCnet
# NIC on sw0; ping from the namespace; `vmctl list` and `vmctl stats demo1`;
# then everything is stopped and removed (VM, vmmd, switch, taps, pins,
# namespace, temporary folder). Needs root (namespace, BPF) and /dev/kvm.
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
	$VMCTL stop demo1 --force >/dev/null 2>&1
	$VMCTL delete demo1 >/dev/null 2>&1
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
run list
run stats demo1
run stop demo1
echo "--- console log ($T/state/logs/demo1.log):"
cat "$T/state/logs/demo1.log"
