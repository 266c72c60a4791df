#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# netguest's PCnet driver against QEMU's own pcnet (see tests/lib/nic_qemu_e2e.sh),
# with the paper's 12 I/O instructions and 1 interrupt per transmitted frame
# (QEMU transmits and interrupts during the TDMD write). QEMU's pcnet also
# polls its ring on a timer: where the guest is slow (nested KVM under TCG)
# that poll sometimes sends first and raises an interrupt of its own, so up to
# a tenth more interrupts are allowed, each with at most one handler's 12 I/O.
NIC_NS=vmmnicq$$ NIC_TAP=vmmtapq0 NIC_QEMU_DEVICE=pcnet NIC_GUEST_ARGS=
nic_tx_check() { # FILE N
	local n=$2 irqs io
	grep -q "errors=0 irqs=[0-9]* io_ops=[0-9]* " "$1" || fail "tx: no summary with errors=0"
	irqs=$(sed -n 's/.* errors=0 irqs=\([0-9]*\) .*/\1/p' "$1")
	io=$(sed -n 's/.* io_ops=\([0-9]*\) .*/\1/p' "$1")
	[ "$irqs" -ge "$n" ] && [ "$irqs" -le $((n + n / 10)) ] &&
		[ "$io" -ge $((n * 12)) ] && [ "$io" -le $((n * 12 + (irqs - n) * 12)) ] ||
		fail "tx: $irqs interrupts and $io I/O instructions for $n frames; want $n-$((n + n / 10)) and 12 per frame, 12 more per extra interrupt at most"
	echo "tx: $n frames, $irqs interrupts, $io I/O instructions"
}
. tests/lib/nic_qemu_e2e.sh
