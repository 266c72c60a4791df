#!/usr/bin/env bash
# needs: kvm-linux (tests/run.sh runs it in the test host where this machine's KVM cannot run Linux)
# prepare: scripts/build-linux-guest.sh build/linux
# parallel: no (its 2-vCPU guests load the test host; other guests there stall more beside them)
# testhost-cpus: 2 (its guest has 2 vCPUs: in a one-CPU test host they starve, testhost/README.md)
# linux_boot.sh (slow): a stock Debian kernel on our monitor with 2 vCPUs and
# both NIC models finds the machine through our ACPI tables and powers off
# cleanly, as bzImage and as PVH vmlinux:
#   - ACPI: the kernel reads our RSDP/XSDT/FADT/MADT/DSDT (no "ACPI BIOS
#     Error", no "ACPI Error", no "ACPI Warning"), finds 2 CPUs in the MADT
#     ("smpboot: Allowing 2 CPUs") and brings both up ("smp: Brought up 1
#     node, 2 CPUs"), routes PCI INTx through the IOAPIC from the DSDT's
#     _PRT;
#   - the guest's /init loads the modules and sees eth0:pcnet32 and
#     eth1:virtio_net, then powers off: "reboot: Power down" and the monitor
#     exits 0 with end "poweroff" (ACPI S5 at PM1a_CNT);
#   - a guest `reboot` resets the machine (FADT RESET_REG, the i8042's
#     pulse): the monitor exits 80 with end "reset" (1 vCPU, bzImage);
#   - the boot touches few ports that nothing claims (fewer than 200
#     accesses; it was 40,000 before the FADT said "no CMOS RTC": Linux
#     polled the absent RTC's update flag), and they are listed.
# In the test host a boot whose guest kernel dies or stops is tried again, up
# to 3 times (tests/lib/linux_guest.sh, linux_platform_died); 3 in a row skip
# the test there (no verdict), never pass it. Elsewhere a death fails it.
# Exit: 0 pass, 77 skip, 1 fail.
# Environment: LINUX_GUEST_DIR (default build/linux), VMM_LINUX_BOOT_TIMEOUT
# seconds per boot (default 180).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/common.sh
. tests/lib/linux_guest.sh

NAME=linux_boot
# a boot takes 30-60 s in the test host; a stalled one is tried once more there
LIMIT=${VMM_LINUX_BOOT_TIMEOUT:-180}
linux_guest_prereqs

ip link add vmlb-br0 type bridge 2>/dev/null || true
CLEANUP+=("ip link del vmlb-br0 2>/dev/null")
for t in vmlb-t0 vmlb-t1; do
	ip tuntap add dev "$t" mode tap || fail "tap $t"
	CLEANUP+=("ip link del $t 2>/dev/null")
	ip link set "$t" master vmlb-br0 up
done

# boot_tries LABEL OUT ERR MONITOR-ARGS...: runs the monitor, and in the test
# host again while its guest kernel dies or stalls there, up to 3 times; 3 in
# a row skip the test (no verdict, never a pass). Sets rc.
boot_tries() {
	local label=$1 out=$2 err=$3 try
	shift 3
	for try in 1 2 3; do
		timeout "$LIMIT" "$MONITOR" "$@" </dev/null >"$out" 2>"$err"
		rc=$?
		linux_platform_died "$out" $rc || return 0
		info "$label: try $try: the guest kernel died or stopped in the test host (monitor exit $rc;" \
			"$(grep -aoE -m1 "($LINUX_DIED_RE).*" "$out" | tr -d '\r')):" \
			"the nested machine's hazard (testhost/README.md)"
	done
	skip "$label: the guest kernel died or stopped 3 times in a row in the test host" \
		"(testhost/README.md, the second hazard): no verdict"
}

boot_case() { # label kernel vcpus
	local label=$1 kernel=$2 n=$3 out=$TMP/$1.serial err=$TMP/$1.stderr rc
	info "$label: booting $kernel with $n vCPU(s), pcnet + virtio-net"
	boot_tries "$label" "$out" "$err" --kernel "$kernel" \
		--initrd "$LINUX_GUEST/initramfs.cpio.gz" --memory 256 --vcpus "$n" --stats json \
		--nic model=pcnet,tap=vmlb-t0 --nic model=virtio-net,tap=vmlb-t1 \
		--cmdline "$LINUX_CMDLINE"
	linux_expect "$label" "$out" "$err" \
		"smpboot: Allowing $n CPUs?" \
		"smp: Brought up 1 node, $n CPUs?\\b" \
		'ACPI: Interpreter enabled' \
		'vmm-linux-guest: init reached' \
		'nics:.*eth0:pcnet32' \
		'nics:.*eth1:virtio_net' \
		'reboot: Power down'
	linux_refuse "$label" "$out" 'ACPI BIOS Error' 'ACPI Error' 'ACPI Warning' 'Kernel panic' \
		'No irq handler' 'irq [0-9]*: nobody cared'
	[[ $rc == 0 ]] || linux_fail "$label" "$out" "$err" "monitor exit $rc, want 0 (poweroff)"
	grep -q '"end":"poweroff"' "$err" || linux_fail "$label" "$out" "$err" "end reason is not poweroff"
	grep '^{' "$err" | python3 -c '
import json, sys
st = json.loads(sys.stdin.readline())
total = sum(r["reads"] + r["writes"] for r in st["regions"] if r["name"] == "unclaimed")
at = ", ".join("%s %#x: %d r %d w" % (r["space"], r["base"], r["reads"], r["writes"])
               for r in st["regions"] if r["name"] == "unclaimed-at")
print("unclaimed accesses: %d (%s)" % (total, at or "none"), file=sys.stderr)
sys.exit(0 if total < 200 else 1)' || linux_fail "$label" "$out" "$err" "too many accesses to unclaimed ports"
	info "$label: ok ($(grep -ao 'smp: Brought up.*' "$out" | head -1 | tr -d '\r'))"
}

boot_case bzImage "$LINUX_GUEST/bzImage" 2
boot_case vmlinux "$LINUX_GUEST/vmlinux" 2

# reboot: the kernel writes the FADT's reset register (0xfe to port 0x64)
out=$TMP/reboot.serial err=$TMP/reboot.stderr
info "reboot: booting bzImage, 1 vCPU, vmm.run=reboot"
boot_tries reboot "$out" "$err" --kernel "$LINUX_GUEST/bzImage" \
	--initrd "$LINUX_GUEST/initramfs.cpio.gz" --memory 256 --stats json \
	--cmdline "$LINUX_CMDLINE vmm.run=reboot"
linux_expect reboot "$out" "$err" 'vmm-linux-guest: run: reboot' 'reboot: Restarting system'
[[ $rc == 80 ]] || linux_fail reboot "$out" "$err" "monitor exit $rc, want 80 (reset)"
grep -q '"end":"reset"' "$err" || linux_fail reboot "$out" "$err" "end reason is not reset"
info "reboot: ok"
echo "$NAME: PASS"
