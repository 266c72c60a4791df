#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# kill -9 of vmmd while a start is half done, at several points between the
# request and the monitor answering: the next vmmd finds every monitor that
# was spawned (by its runtime record, or by its socket path when the record
# had no pid yet), starts nothing twice, leaves no stray process, and the
# VMs can be stopped.
. tests/vmmd/lib.sh
start_vmmd
delays="0 0.0005 0.001 0.002 0.004 0.008 0.015 0.03"
i=0
for d in $delays; do i=$((i + 1)); create_idle "k$i"; done
i=0
for d in $delays; do
	i=$((i + 1))
	python3 - "$SOCK" "k$i" "$d" "$VMMD_PID" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b'{"id":1,"method":"vm.start","params":{"name":"%s"}}\n' % sys.argv[2].encode())
time.sleep(float(sys.argv[3]))
os.kill(int(sys.argv[4]), 9)
PY
	wait $VMMD_PID 2>/dev/null
	start_vmmd
	# every monitor of ours belongs to a VM that vmmd shows with that pid
	for p in $(our_monitors); do
		[ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] && continue
		vmctl list --output json | python3 -c "
import json,sys; l=json.load(sys.stdin); sys.exit(0 if any(v['pid']==$p for v in l) else 1)" ||
			fail "stray monitor $p after killing vmmd $d s into a start: $(vmctl list)"
	done
	st=$(vm_state_pid "k$i")
	case $st in "running "[0-9]*|"starting "[0-9]*|"defined None") ;; *) fail "k$i after a kill at $d s: $st" ;; esac
	n=$(for p in $(our_monitors); do tr '\0' ' ' </proc/$p/cmdline; echo; done | grep -c -- "--name k$i ")
	[ "$n" -le 1 ] || fail "k$i started $n times"
done
# everything can be stopped, and then nothing is left
i=0
for d in $delays; do i=$((i + 1)); vmctl stop "k$i" >/dev/null || fail "stop k$i"; done
sleep 0.2
for p in $(our_monitors); do [ "$(awk '{print $3}' /proc/$p/stat 2>/dev/null)" = Z ] || fail "monitor $p left"; done
[ -z "$(ls "$S/run")" ] || fail "runtime records left: $(ls "$S/run")"
echo pass
