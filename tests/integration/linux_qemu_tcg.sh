#!/usr/bin/env bash
# linux_qemu_tcg.sh: the Linux guest of scripts/build-linux-guest.sh boots to
# its /init under QEMU TCG (software emulation, no KVM), both as PVH
# (-kernel vmlinux) and as bzImage, and its /init loads the NIC modules and
# finds a pcnet32 and a virtio_net NIC. A reference check of the guest image
# itself, independent of our monitor.
# Exit: 0 pass, 77 skip (reason on stderr), anything else fail.
# Environment: LINUX_GUEST_DIR (default build/linux), QEMU (default
# qemu-system-x86_64), LINUX_TCG_TIMEOUT seconds per boot (default 120).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1

NAME=linux_qemu_tcg
GUEST=${LINUX_GUEST_DIR:-build/linux}
QEMU=${QEMU:-qemu-system-x86_64}
BOOT_TIMEOUT=${LINUX_TCG_TIMEOUT:-120}
BUILD_TIMEOUT=900

skip() { echo "$NAME: SKIP: $*" >&2; exit 77; }
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
info() { echo "$NAME: $*" >&2; }

command -v "$QEMU" >/dev/null 2>&1 || skip "$QEMU not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) not installed"

have_guest() {
	[[ -s $GUEST/vmlinux && -s $GUEST/bzImage && -s $GUEST/initramfs.cpio.gz && -s $GUEST/VERSION ]]
}
# The build script is idempotent (seconds when up to date) and falls back to
# cached .debs without network; a failed build is a skip, not a failure,
# unless an earlier build left usable outputs.
build_log=$(mktemp)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK" "$build_log"' EXIT
if ! timeout "$BUILD_TIMEOUT" scripts/build-linux-guest.sh "$GUEST" >"$build_log" 2>&1; then
	if have_guest; then
		info "warning: build-linux-guest.sh failed; using the existing $GUEST: $(tail -n1 "$build_log")"
	else
		tail -n 5 "$build_log" >&2
		skip "cannot build the Linux guest (scripts/build-linux-guest.sh failed; no apt access?)"
	fi
fi
have_guest || skip "no Linux guest in $GUEST after building"
info "guest: $(head -n1 "$GUEST/VERSION")"

# boot <label> <kernel>: boots, watches the serial log, checks the markers.
boot() {
	local label=$1 kernel=$2 log=$WORK/$1.log pid start now t_init="" rc
	start=$(date +%s.%N)
	timeout -s KILL "$BOOT_TIMEOUT" "$QEMU" -accel tcg -m 256 -smp 1 -nographic -monitor none \
		-no-reboot -nic none -device pcnet,romfile= -device virtio-net-pci,romfile= \
		-kernel "$kernel" -initrd "$GUEST/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1" </dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if [[ -z $t_init ]] && grep -q "vmm-linux-guest: init reached" "$log" 2>/dev/null; then
			now=$(date +%s.%N)
			t_init=$(awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2f", b - a }')
		fi
		sleep 0.1
	done
	wait "$pid"
	rc=$?
	local total
	total=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	local ok=1 why=""
	if ((rc == 137)); then ok=0 why="QEMU killed after ${BOOT_TIMEOUT}s"
	elif ((rc != 0)); then ok=0 why="QEMU exited with status $rc"; fi
	for marker in "Linux version " "Command line: console=ttyS0 panic=-1" \
		"vmm-linux-guest: init reached" "vmm-linux-guest: modules loaded: " \
		"vmm-linux-guest: powering off" "reboot: Power down"; do
		grep -qF "$marker" "$log" || { ok=0 why="${why:+$why; }missing '$marker'"; }
	done
	grep -qE "vmm-linux-guest: modules loaded: [0-9]+ ok, 0 failed" "$log" ||
		{ ok=0 why="${why:+$why; }a module failed to load"; }
	local nics
	nics=$(grep -a "vmm-linux-guest: nics:" "$log" | tr -d '\r' | head -n1)
	[[ $nics == *":pcnet32"* ]] || { ok=0 why="${why:+$why; }no pcnet32 NIC"; }
	[[ $nics == *":virtio_net"* ]] || { ok=0 why="${why:+$why; }no virtio_net NIC"; }
	if ((ok)); then
		info "$label: ok: init reached after ${t_init:-?} s, powered off after $total s (${nics#*: })"
		return 0
	fi
	info "$label: FAILED: $why (after $total s); last serial lines:"
	tail -n 25 "$log" | sed "s/^/  | /" >&2
	return 1
}

failed=0
boot pvh "$GUEST/vmlinux" || failed=1
boot bzimage "$GUEST/bzImage" || failed=1
((failed == 0)) || fail "the Linux guest did not boot under QEMU TCG"
echo "$NAME: PASS"
