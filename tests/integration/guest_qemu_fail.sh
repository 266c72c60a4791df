#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# netguest selftest can fail, check by check: inject=CHECK drives each check
# down its own failure path, which must give result=fail check=CHECK and
# debug-exit 1 (QEMU status 3). Also the cmdline's own failures: an unknown
# argument, a bad value, and expect_pci not met.
set -u
. tests/guest/qemu_lib.sh
guest_require_qemu

tmp=$TMP

expect_fail() { # NAME CMDLINE CHECK
	local name=$1 cmdline=$2 check=$3 rc
	guest_qemu 30 "$tmp/$name" "$cmdline"
	rc=$?
	if [ $rc -ne 3 ] || ! grep -q "^netguest: mode=selftest result=fail check=$check " "$tmp/$name" ||
		! grep -q "^netguest: check=$check status=fail " "$tmp/$name"; then
		guest_show "$tmp/$name"
		fail "'$cmdline': QEMU exit $rc (want 3) or no result=fail check=$check"
	fi
	if grep -q 'result=pass' "$tmp/$name"; then
		guest_show "$tmp/$name"
		fail "'$cmdline': a result=pass line next to the failure"
	fi
	echo "ok: '$cmdline' failed check $check"
}

for check in start_info memmap cmdline user_exception user_checksum pit_irq pci; do
	expect_fail "inject_$check" "selftest inject=$check" "$check"
done
expect_fail unknown_arg "selftest colour=blue" cmdline
expect_fail bad_value "selftest expect_pci=many" cmdline
expect_fail expect_pci "selftest expect_pci=3" pci

# and the knobs themselves do not break a passing run
guest_qemu 30 "$tmp/expect0" "selftest expect_pci=0 virtio_mmio.device=ignored"
rc=$?
if [ $rc -ne 1 ] || ! grep -q '^netguest: mode=selftest result=pass ' "$tmp/expect0"; then
	guest_show "$tmp/expect0"
	fail "'selftest expect_pci=0': QEMU exit $rc (want 1) or no result=pass"
fi
echo "ok: 'selftest expect_pci=0 virtio_mmio.device=ignored' passed"
