#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Each monitor in a cgroup v2 of its own with the VM's limits (vmmd/cgroup.c):
#   /proc/PID/cgroup is /PARENT/<vmmd's instance hash>/vm-NAME; memory.max = RAM + 64 MiB, pids.max =
#   vCPUs + 16, cpu.weight from the definition (300) or the default (100);
#   the group goes when the VM stops; a bad cgroup_parent is refused naming
#   the key (and a bad "machined"). A host without cgroup v2 controllers (a v1 or hybrid host) runs
#   this test in the test host, whose kernel has them.
. tests/lib/common.sh
cg_ok() { grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null; }
if ! cg_ok; then
	[ -z "${TESTHOST:-}" ] && [ -x testhost/run ] || skip "no cgroup v2 controllers here"
	echo "no cgroup v2 controllers here: running in the test host"
	rm -rf "$TMP"
	exec testhost/run --timeout "$(scaled 300)" -- bash "$0"
fi
. tests/vmmd/lib.sh
refuses_config '{"cgroup_parent": "/etc"}' 'cgroup_parent: a path under /sys/fs/cgroup'
refuses_config '{"machined": "yes"}' 'machined: must be "auto" or "no"'

PARENT=vmmtest$$
echo "{\"cgroup_parent\": \"$PARENT\"}" >"$TMP/cg.json"
CLEANUP+=("rmdir /sys/fs/cgroup/$PARENT/*/vm-* /sys/fs/cgroup/$PARENT/* /sys/fs/cgroup/$PARENT 2>/dev/null")
VMDIRS=()
start_vmmd --config "$TMP/cg.json"
cat >"$TMP/heavy.json" <<EOF
{"name": "heavy", "kernel": "$GUEST_ABS", "cmdline": "idle", "memory_mib": 32, "vcpus": 2,
 "cpu_weight": 300}
EOF
vmctl create --file "$TMP/heavy.json" >/dev/null || fail "create heavy"
create_idle light
for n in heavy light; do vmctl start $n >/dev/null || fail "start $n: $(tail -n 3 "$S/logs/$n.log")"; done
# expect NAME MEM_MIB VCPUS WEIGHT
expect() {
	local pid dir
	pid=$(vm_pid "$1")
	cg=$(cat /proc/$pid/cgroup)
	[[ $cg =~ ^0::/$PARENT/[0-9a-f]{8}/vm-$1$ ]] || fail "$1: cgroup $cg"
	dir=/sys/fs/cgroup/${cg#0::/}
	VMDIRS+=("$dir")
	[ "$(cat $dir/memory.max)" = $((($2 + 64) * 1048576)) ] || fail "$1: memory.max $(cat $dir/memory.max)"
	[ "$(cat $dir/pids.max)" = $(($3 + 16)) ] || fail "$1: pids.max $(cat $dir/pids.max)"
	[ "$(cat $dir/cpu.weight)" = "$4" ] || fail "$1: cpu.weight $(cat $dir/cpu.weight)"
	grep -qx "$pid" $dir/cgroup.procs || fail "$1: pid $pid not in $dir"
}
expect heavy 32 2 300
expect light 16 1 100
grep -qE '"cpu_weight": ?300' "$S/vms/heavy.json" || fail "cpu_weight not stored"
for n in heavy light; do vmctl stop $n >/dev/null || fail "stop $n"; done
for dir in "${VMDIRS[@]}"; do [ ! -d "$dir" ] || fail "cgroup left: $dir"; done
echo '{"name": "w", "kernel": "'"$GUEST_ABS"'", "cpu_weight": 0}' >"$TMP/w.json"
vmctl create --file "$TMP/w.json" 2>"$TMP/err" && fail "cpu_weight 0 accepted"
grep -q 'cpu_weight' "$TMP/err" || fail "cpu_weight 0: $(cat "$TMP/err")"
echo "ok: monitors in their cgroups with the VM's limits, removed at stop"
