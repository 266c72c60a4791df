#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# prepare: scripts/build-systemd-root.sh
# vmmd under a real systemd: systemd as PID 1 of
# its own PID, mount and network namespaces on a Debian root (debootstrap,
# cached in build/cache/), the units from systemd/ installed. Checks socket
# activation (vmmd starts on the first vmctl), Type=notify readiness and
# STATUS, the watchdog, `systemctl restart vmmd` with a VM running (same
# monitor pid after), `systemctl reload`, and journald keeping vmmd's lines
# with their priorities; systemd-machined: the VM is machine vmm-demo of
# class vm, its monitor in machine-vmm\x2ddemo.scope in machine.slice with the
# VM's limits and its tap, kept (not registered again) across the restart, gone after
# stop, and the name free for the next start.
. tests/lib/common.sh
[ "$(id -u)" = 0 ] || skip "needs root"
need_kvm
command -v debootstrap >/dev/null || skip "debootstrap not installed"
for f in build/vmmd build/vmctl build/vmm-monitor build/netguest.elf; do [ -e $f ] || fail "build first: $f"; done

CACHE=build/cache/debian-systemd-root
if ! scripts/build-systemd-root.sh --is-current "$CACHE"; then
	[ "${VMM_SKIP_SLOW:-}" = 1 ] && skip "VMM_SKIP_SLOW and no cached Debian root"
	[ -n "${TESTHOST:-}" ] && fail "no current $CACHE: the test host has no network; tests/run.sh prepares it outside"
	scripts/build-systemd-root.sh "$CACHE" 2>"$TMP/debootstrap.log" ||
		skip "cannot build the Debian root (no archive?): $(tail -n 2 "$TMP/debootstrap.log")"
fi
CACHE=$(realpath "$CACHE")
ROOT=$TMP/root
mkdir -p "$ROOT" "$TMP/upper" "$TMP/work"
BUILD=$(realpath build)

# A short watchdog, so that its pings show within the test: 2 s, stretched in
# the test host, where vm.start alone held vmmd's loop 2.3 s (tap, qdiscs and
# links wait for RCU grace periods; measured under TCG with four busy loops
# beside the test host) and a 2 s watchdog killed vmmd in a loaded CI.
WD=$(scaled 2)

# PID 1 script: the root is an overlay on the cached one; install, boot
cat >"$TMP/pid1.sh" <<PID1
#!/bin/bash
set -e
mount -t overlay overlay -o lowerdir=$CACHE,upperdir=$TMP/upper,workdir=$TMP/work $ROOT 2>/dev/null ||
	{ cp -a $CACHE/. $ROOT/ && mount --bind $ROOT $ROOT; }
install -d $ROOT/usr/local/libexec/vmm $ROOT/usr/local/bin $ROOT/etc/vmmd $ROOT/var/lib/vmm-test
install -m 0755 $BUILD/vmmd $BUILD/vmm-monitor $ROOT/usr/local/libexec/vmm/
install -m 0755 $BUILD/vmctl $ROOT/usr/local/bin/vmctl
install -m 0644 $BUILD/netguest.elf $ROOT/var/lib/vmm-test/
# shared libraries the cached root may lack (a cache made before vmmd linked
# libbpf): the host's, which is the same Debian release
for lib in \$(ldd $BUILD/vmmd $BUILD/vmctl $BUILD/vmm-monitor | awk '\$2 == "=>" && \$3 ~ /^\// { print \$3 }' | sort -u); do
	[ -e $ROOT\$lib ] || cp -L \$lib $ROOT\$lib
done
sed 's|@PREFIX@|/usr/local|g; s|@SYSCONFDIR@|/etc|g' $PWD/systemd/vmmd.service >$ROOT/etc/systemd/system/vmmd.service
cp $PWD/systemd/vmmd.socket $PWD/systemd/vmmd-ro.socket $ROOT/etc/systemd/system/
# the shipped config and a switch, for a VM with a NIC (a tap in this netns)
python3 -c 'import json; c = json.load(open("$PWD/etc/vmmd.json")); c["switches"] = [{"name": "sw0", "uplink": None, "host_port": None}]; json.dump(c, open("$ROOT/etc/vmmd/vmmd.json", "w"))'
mkdir -p $ROOT/etc/systemd/system/vmmd.service.d
printf '[Service]\nWatchdogSec=$WD\n' >$ROOT/etc/systemd/system/vmmd.service.d/test.conf
# no udev here: a getty waiting for ttyS0 would hold the boot for 90 s
for u in serial-getty@.service getty@.service console-getty.service; do ln -sf /dev/null $ROOT/etc/systemd/system/\$u; done
chroot $ROOT getent group kvm >/dev/null || chroot $ROOT groupadd -r kvm
mount -t proc proc $ROOT/proc
mount --rbind /sys $ROOT/sys
# its own cgroup2 tree: the cgroup namespace root is the test's cgroup
umount -R $ROOT/sys/fs/cgroup 2>/dev/null || umount -l $ROOT/sys/fs/cgroup
mount -t cgroup2 cgroup2 $ROOT/sys/fs/cgroup
mount --rbind /dev $ROOT/dev
mount -t tmpfs tmpfs $ROOT/run
mount -t tmpfs tmpfs $ROOT/tmp
exec chroot $ROOT /lib/systemd/systemd --system --log-target=console
PID1
# systemd gets a cgroup of its own (v2), so that it creates nothing in the host's tree
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then CG=/sys/fs/cgroup/vmm-test-$$
elif [ -d /sys/fs/cgroup/unified ]; then CG=/sys/fs/cgroup/unified/vmm-test-$$
else skip "no cgroup2 hierarchy"; fi
mkdir "$CG" || skip "cannot create a cgroup"
CLEANUP+=("find $CG -depth -type d -exec rmdir {} + 2>/dev/null")
bash -c "echo \$\$ >$CG/cgroup.procs && exec unshare --cgroup --fork --pid --mount --net --propagation private bash $TMP/pid1.sh" >"$TMP/systemd.log" 2>&1 &
USH=$!
CLEANUP+=("kill -KILL \$(cat /proc/$USH/task/$USH/children 2>/dev/null) 2>/dev/null; wait $USH 2>/dev/null; sleep 0.2")
sdpid() { cat /proc/$USH/task/$USH/children 2>/dev/null | awk '{print $1}'; }
have_pid1() { [ -n "$(sdpid)" ]; }
WAIT_SECS=10 wait_for have_pid1 || fail "no PID 1: $(tail "$TMP/systemd.log")"
SD=$(sdpid)
in_ns() { nsenter -t "$SD" -p -m -r -w "$@"; }
WAIT_SECS=60 wait_for sh -c "nsenter -t $SD -p -m -r -w systemctl is-system-running 2>/dev/null | grep -Eq 'running|degraded'" ||
	fail "systemd did not come up: $(in_ns systemctl is-system-running 2>&1); $(tail -n 20 "$TMP/systemd.log")"

in_ns systemctl daemon-reload
in_ns systemctl start vmmd.socket vmmd-ro.socket || fail "sockets: $(in_ns systemctl status vmmd.socket 2>&1 | tail)"
[ "$(in_ns systemctl is-active vmmd.service)" = inactive ] || fail "vmmd started before any client"
[ "$(in_ns stat -c '%a %G' /run/vmmd/vmmd.sock)" = "660 kvm" ] || fail "socket: $(in_ns stat -c '%a %G' /run/vmmd/vmmd.sock)"

# socket activation: the first client starts vmmd, and gets its answer
in_ns vmctl version | grep -q 'protocol 1' || fail "vmctl through the activated socket"
[ "$(in_ns systemctl is-active vmmd.service)" = active ] || fail "vmmd not active"
in_ns systemctl show -p StatusText vmmd | grep -q 'VMs defined' || fail "no STATUS: $(in_ns systemctl show -p StatusText vmmd)"
in_ns vmctl create demo --kernel /var/lib/vmm-test/netguest.elf --cmdline idle --memory 16 --nic model=pcnet,switch=sw0 >/dev/null || fail "create"
# journal_tail: vmmd's last lines, and systemd's own words on it (a watchdog
# kill, a core dump), which go to its console
journal_tail() { sleep 1; in_ns journalctl -u vmmd --no-pager | tail; grep -a vmmd "$TMP/systemd.log" | tail; }
in_ns vmctl start demo >/dev/null || fail "start: $(journal_tail)"
pid=$(in_ns vmctl list --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["pid"])')
in_ns systemctl show -p StatusText vmmd | grep -q '1 running' || fail "STATUS after start"

# systemd-machined: 16 MiB + 64, 1 vCPU + 16 tasks, the default weight
check_machine() {
	in_ns machinectl list --no-legend | grep -Eq '^vmm-demo +vm +vmmd' ||
		fail "$1: machinectl list: $(in_ns machinectl list 2>&1); $(in_ns journalctl -u vmmd --no-pager | tail -n 5)"
	unit=$(in_ns machinectl show vmm-demo -p Unit --value)
	[ "$unit" = 'machine-vmm\x2ddemo.scope' ] || fail "$1: unit '$unit'"
	[ "$(in_ns machinectl show vmm-demo -p Leader --value)" = "$pid" ] || fail "$1: leader not $pid"
	props=$(in_ns systemctl show "$unit" -p Slice -p MemoryMax -p TasksMax -p CPUWeight | sort | paste -sd' ')
	[ "$props" = "CPUWeight=100 MemoryMax=$(((16 + 64) << 20)) Slice=machine.slice TasksMax=17" ] ||
		fail "$1: scope properties: $props"
	# (nsenter leaves the cgroup namespace: the path from the host's root)
	in_ns grep '^0::' /proc/$pid/cgroup | grep -qF '/machine.slice/machine-vmm\x2ddemo.scope' ||
		fail "$1: monitor's cgroup: $(in_ns cat /proc/$pid/cgroup)"
	# CreateMachineWithNetwork: the tap's ifindex (in systemd's netns)
	tapidx=$(nsenter -t "$SD" -n ip -o link show vmm-demo-0 | cut -d: -f1)
	ifs=$(in_ns busctl get-property org.freedesktop.machine1 /org/freedesktop/machine1/machine/vmm_2ddemo \
		org.freedesktop.machine1.Machine NetworkInterfaces)
	[ -n "$tapidx" ] && [ "$ifs" = "ai 1 $tapidx" ] || fail "$1: interfaces '$ifs', tap $tapidx"
}
check_machine start

# watchdog at $WD s: still active after more than that, pings seen
w1=$(in_ns systemctl show -p WatchdogTimestampMonotonic --value vmmd)
sleep $((WD + 3))
w2=$(in_ns systemctl show -p WatchdogTimestampMonotonic --value vmmd)
[ "$(in_ns systemctl is-active vmmd)" = active ] || fail "vmmd killed by the watchdog"
[ "$w2" != "$w1" ] && [ "$w2" != 0 ] || fail "no watchdog pings ($w1 -> $w2)"
vpid=$(in_ns systemctl show -p MainPID --value vmmd)

# restart with the VM running: the same monitor, adopted
in_ns systemctl restart vmmd || fail "restart"
[ "$(in_ns systemctl show -p MainPID --value vmmd)" != "$vpid" ] || fail "vmmd not restarted"
state=$(in_ns vmctl list --output json | python3 -c 'import json,sys; v=json.load(sys.stdin)[0]; print(v["state"], v["pid"], v["reason"])')
[ "$state" = "running $pid adopted" ] || fail "after restart: $state (want running $pid adopted)"
check_machine restart
in_ns systemctl reload vmmd || fail "reload"
WAIT_SECS=5 wait_for sh -c "nsenter -t $SD -p -m -r -w journalctl -u vmmd --no-pager | grep -q 'reloaded config'" || fail "reload not logged"

# journald: vmmd's lines, with their priorities
in_ns journalctl -u vmmd --no-pager -o json | python3 -c '
import json, sys
pr = {}
for l in sys.stdin:
    e = json.loads(l); m = e.get("MESSAGE", "")
    if isinstance(m, str): pr[m] = e.get("PRIORITY")
assert any(m.startswith("vmmd: ready:") and p == "6" for m, p in pr.items()), "no ready line at info"
assert any("re-adopted running monitor" in m for m in pr), "no re-adoption line"
' || fail "journal: $(in_ns journalctl -u vmmd --no-pager | tail)"

[ "$(in_ns journalctl -u vmmd --no-pager | grep -c 'vm demo: machine vmm-demo')" = 1 ] ||
	fail "registered not once: $(in_ns journalctl -u vmmd --no-pager | grep machine)"

in_ns vmctl stop demo >/dev/null || fail "stop"
gone() { ! nsenter -t "$SD" -p -m -r -w machinectl show vmm-demo >/dev/null 2>&1; }
WAIT_SECS=5 wait_for gone || fail "machine vmm-demo still there after stop"
# at once again: the name is free
in_ns vmctl start demo >/dev/null || fail "second start"
pid=$(in_ns vmctl list --output json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["pid"])')
check_machine "second start"
in_ns vmctl stop demo >/dev/null || fail "second stop"
WAIT_SECS=5 wait_for gone || fail "machine vmm-demo still there after the second stop"
in_ns systemctl stop vmmd
echo pass
