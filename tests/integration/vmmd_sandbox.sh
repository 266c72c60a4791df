#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# Jailed monitors (monitor/sandbox.h), as vmmd runs them and by hand:
#   each running monitor's /proc/PID/status: every Uid and Gid non-zero and
#   from vmmd's range, one uid per VM, CapEff/CapPrm/CapBnd 0, NoNewPrivs 1,
#   Seccomp 2; its own PID, mount and IPC namespaces; its root is empty; its
#   fds are only its own (devices, sockets, its log and stats file, no
#   kernel, no host directory); the VM works (NIC echo answers ping);
#   a vmmd restart re-adopts it and a new VM gets another uid;
#   "sandbox": false runs the monitor as root (the switch works);
#   vmm-monitor --sandbox by hand: selftest passes, the status pid is the
#   one started, nothing is left behind.
. tests/vmmd/lib.sh
net_setup vmmdsb
command -v ping >/dev/null || skip "ping (iputils) not installed"
BASE=2130706432 # VMMD_DEFAULT_SANDBOX_UID_BASE
cat >"$TMP/net.json" <<EOF
{"netbridge_runtime": "$RT", "switches": [{"name": "sw0", "host_port": "sb-host"}]}
EOF
start_net_vmmd "$TMP/net.json"
inns ip addr add 198.51.100.1/24 dev sb-host

vmctl create web --kernel "$GUEST_ABS" --cmdline "echo ip=198.51.100.2" --memory 16 \
	--nic model=pcnet,switch=sw0,mac=52:54:00:5e:03:01 >/dev/null || fail "create web"
create_idle idle1
for n in web idle1; do vmctl start $n >/dev/null || fail "start $n: $(tail -n 3 "$S/logs/$n.log")"; done
WAIT_SECS=$(scaled 20) wait_for grep -q 'mode=echo ready' "$S/logs/web.log" || fail "web not ready"
inns ping -c 3 -i 0.2 -W 3 198.51.100.2 >"$TMP/ping" 2>&1 || fail "ping the jailed VM: $(cat "$TMP/ping")"

# pst PID KEY: a line of /proc/PID/status, without the key
pst() { awk -v k="$2:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$1/status"; }
jailed() { # NAME -> its uid on stdout
	local pid uid f
	pid=$(vm_pid "$1")
	is_monitor "$pid" || fail "$1: pid $pid is not a vmm-monitor"
	read -r -a uid <<<"$(pst "$pid" Uid)"
	for f in "${uid[@]}" $(pst "$pid" Gid); do
		[ "$f" -ge $BASE ] || fail "$1: Uid/Gid $(pst "$pid" Uid) / $(pst "$pid" Gid)"
	done
	[ -z "$(pst "$pid" Groups)" ] || fail "$1: supplementary groups $(pst "$pid" Groups)"
	for f in CapEff CapPrm CapInh CapBnd CapAmb; do
		[ "$(pst "$pid" $f)" = 0000000000000000 ] || fail "$1: $f $(pst "$pid" $f)"
	done
	[ "$(pst "$pid" NoNewPrivs)" = 1 ] || fail "$1: NoNewPrivs $(pst "$pid" NoNewPrivs)"
	[ "$(pst "$pid" Seccomp)" = 2 ] || fail "$1: Seccomp $(pst "$pid" Seccomp)"
	# PID 1 of its own PID namespace; mount and IPC namespaces of its own
	[ "$(pst "$pid" NSpid | awk '{ print $NF }')" = 1 ] || fail "$1: NSpid $(pst "$pid" NSpid)"
	for f in mnt ipc pid_for_children; do
		[ "$(readlink /proc/$pid/ns/$f)" != "$(readlink /proc/self/ns/$f)" ] ||
			fail "$1: shares the host's $f namespace"
	done
	[ -z "$(ls -A /proc/$pid/root/)" ] || fail "$1: its root is not empty: $(ls -A /proc/$pid/root/)"
	# its fds: anonymous inodes, sockets, /dev/kvm, /dev/null, taps, its log (and .1)
	# and stats file, its own /proc status (peak RSS)
	for f in /proc/$pid/fd/*; do
		case $(readlink "$f") in
		anon_inode:* | socket:* | /dev/kvm | /dev/null | /dev/net/tun) ;;
		"$S/logs/$1.log" | "$S/logs/$1.log.1" | "$R/vms/$1.end.json" | "/proc/$pid/status") ;;
		*) fail "$1: fd $(basename "$f") -> $(readlink "$f")" ;;
		esac
	done
	echo "${uid[0]}"
}
u1=$(jailed web) || exit 1
u2=$(jailed idle1) || exit 1
[ "$u1" != "$u2" ] || fail "two VMs share uid $u1"

# vmmd killed and restarted: the monitors are re-adopted with their uids,
# and a new VM gets a uid neither has
kill -9 "$VMMD_PID"
wait "$VMMD_PID" 2>/dev/null
start_net_vmmd "$TMP/net.json"
wait_state web running || fail "web not re-adopted"
create_idle idle2
vmctl start idle2 >/dev/null || fail "start idle2"
u3=$(jailed idle2) || exit 1
[ "$u3" != "$u1" ] && [ "$u3" != "$u2" ] || fail "idle2 got uid $u3 (web $u1, idle1 $u2)"
inns ping -c 2 -i 0.2 -W 3 198.51.100.2 >"$TMP/ping" 2>&1 || fail "ping after re-adoption"
for n in web idle1 idle2; do vmctl stop $n --force >/dev/null || fail "stop $n"; done
[ -z "$(ls "$R/vms/" | grep -E '\.(sock|console)$')" ] || fail "sockets left: $(ls "$R/vms")"

# the switch: "sandbox": false
kill -TERM "$VMMD_PID"
wait "$VMMD_PID" 2>/dev/null
python3 -c '
import json, sys
c = json.load(open(sys.argv[1])); c["sandbox"] = False
json.dump(c, open(sys.argv[1], "w"))' "$TMP/net.json"
start_net_vmmd "$TMP/net.json"
vmctl start idle1 >/dev/null || fail "start idle1 unjailed"
[ "$(pst "$(vm_pid idle1)" Uid | awk '{ print $1 }')" = 0 ] || fail "sandbox false: not root"
vmctl stop idle1 --force >/dev/null

# by hand
"$MONITOR" --sandbox --kernel "$GUEST_ABS" --memory 16 --cmdline selftest --stats none \
	>"$TMP/selftest" 2>&1 || fail "selftest in the sandbox: $(tail -n 5 "$TMP/selftest")"
grep -q 'result=pass' "$TMP/selftest" || fail "selftest: $(tail -n 3 "$TMP/selftest")"
"$MONITOR" --sandbox --sandbox-uid 0 --kernel "$GUEST_ABS" >"$TMP/root" 2>&1 &&
	fail "--sandbox-uid 0 was accepted"
grep -q 'never runs as root' "$TMP/root" || fail "--sandbox-uid 0: $(cat "$TMP/root")"
"$MONITOR" --sandbox --kernel "$GUEST_ABS" --memory 16 --cmdline idle --stats none \
	--control "$TMP/hand.sock" >"$TMP/hand" 2>&1 </dev/null &
hp=$!
CLEANUP+=("kill -9 $hp 2>/dev/null")
wait_for test -S "$TMP/hand.sock" || fail "by hand: no control socket: $(cat "$TMP/hand")"
[ "$($CTL "$TMP/hand.sock" status | field '["result"]["pid"]')" = "$hp" ] || fail "by hand: status pid"
kill -TERM "$hp"
wait "$hp"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 143 ] || fail "by hand: SIGTERM gave $rc: $(tail -n 3 "$TMP/hand")"
[ ! -e "$TMP/hand.sock" ] || fail "by hand: control socket left behind"
echo "ok: monitors jailed (uids $u1 $u2 $u3), re-adopted, unjailed on request, by hand"
