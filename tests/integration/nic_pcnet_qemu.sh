#!/bin/bash
# netguest's PCnet driver against QEMU's own pcnet (see tests/lib/nic_qemu_e2e.sh),
# with the paper's 12 I/O instructions and 1 interrupt per transmitted frame
# (QEMU transmits and interrupts during the TDMD write).
NIC_NS=vmmnicq$$ NIC_TAP=vmmtapq0 NIC_QEMU_DEVICE=pcnet NIC_GUEST_ARGS=
nic_tx_check() { # FILE N
	grep -q "errors=0 irqs=$2 io_ops=$(($2 * 12)) " "$1" ||
		fail "tx: want $2 interrupts and $(($2 * 12)) I/O instructions"
}
. tests/lib/nic_qemu_e2e.sh
