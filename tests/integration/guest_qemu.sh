#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# netguest on QEMU microvm: selftest passes (debug-exit 0, QEMU status 1) and
# prints its result line; an unknown mode fails with debug-exit 1 (status 3).
set -u
. tests/guest/qemu_lib.sh
guest_require_qemu

tmp=$TMP

t0=$(date +%s%N)
guest_qemu 30 "$tmp/selftest" selftest
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ $rc -ne 1 ] || ! grep -q '^netguest: mode=selftest result=pass checks=7 failed=0' "$tmp/selftest"; then
	guest_show "$tmp/selftest"
	fail "selftest: QEMU exit $rc (want 1 = guest status 0) or no result=pass line"
fi
for check in start_info memmap cmdline user_exception user_checksum pit_irq pci; do
	grep -q "^netguest: check=$check status=ok" "$tmp/selftest" ||
		{ guest_show "$tmp/selftest"; fail "selftest: no ok line for check $check"; }
done
echo "selftest passed in ${ms} ms (QEMU wall time, boot included)"

guest_qemu 30 "$tmp/unknown" "bogus key=value"
rc=$?
if [ $rc -ne 3 ] || ! grep -q '^netguest: result=fail error=unknown-mode mode=bogus$' "$tmp/unknown"; then
	guest_show "$tmp/unknown"
	fail "unknown mode: QEMU exit $rc (want 3 = guest status 1) or no error=unknown-mode line"
fi

guest_qemu 30 "$tmp/empty" ""
rc=$?
if [ $rc -ne 3 ] || ! grep -q '^netguest: result=fail error=unknown-mode mode=$' "$tmp/empty"; then
	guest_show "$tmp/empty"
	fail "empty cmdline: QEMU exit $rc (want 3) or no error=unknown-mode line"
fi
echo "unknown and empty modes failed as expected"
