#!/bin/bash
# netguest's virtio-net driver against QEMU's own virtio-net-pci, modern only
# (see tests/lib/nic_qemu_e2e.sh).
NIC_NS=vmmnicvq$$ NIC_TAP=vmmtapvq0 NIC_QEMU_DEVICE=virtio-net-pci,disable-legacy=on
NIC_GUEST_ARGS=" nic=virtio"
nic_tx_check() { # FILE N
	grep -q "nic model=virtio" "$1" || fail "tx: the virtio driver was not picked"
}
. tests/lib/nic_qemu_e2e.sh
