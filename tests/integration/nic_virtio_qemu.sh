#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# netguest's virtio-net driver against QEMU's own virtio-net-pci, modern only
# (see tests/lib/nic_qemu_e2e.sh), once with MSI-X (QEMU's device has it: 3
# vectors) and once with INTx; then TSO: "tx tso=1" frames of 65000 bytes
# reach the tap as exactly one GSO packet each (host_tso4 is on by default
# with a vnet_hdr tap).
NIC_NS=vmmnicvq$$ NIC_TAP=vmmtapvq0 NIC_QEMU_DEVICE=virtio-net-pci,disable-legacy=on
NIC_GUEST_ARGS=" nic=virtio" NIC_INTR="msix intx"
nic_tx_check() { # FILE N
	grep -q "nic model=virtio" "$1" || fail "tx: the virtio driver was not picked"
}
nic_extra_checks() {
	local n=20 size=65000 before bytes rc
	before=$(counter rx_packets)
	bytes=$(counter rx_bytes)
	qemu "$TMP/tso" "tx count=$n size=$size tso=1"
	rc=$?
	cat "$TMP/tso"
	[ $rc -eq 1 ] || fail "tso: QEMU exit $rc, want 1"
	grep -q "mode=tx ready count=$n size=$size tso=1" "$TMP/tso" || fail "tso: no ready line"
	grep -q "mode=tx result=pass tx_frames=$n tx_bytes=$((n * size)) errors=0 " "$TMP/tso" ||
		fail "tso: want $n frames"
	[ $(($(counter rx_packets) - before)) -eq $n ] ||
		fail "tso: tap received $(($(counter rx_packets) - before)) packets, want $n"
	[ $(($(counter rx_bytes) - bytes)) -eq $((n * size)) ] ||
		fail "tso: tap received $(($(counter rx_bytes) - bytes)) bytes, want $((n * size))"
}
. tests/lib/nic_qemu_e2e.sh
