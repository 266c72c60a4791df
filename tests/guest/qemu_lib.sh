# qemu_lib.sh: sourced by tests/integration/guest_*.sh to boot
# build/netguest.elf on QEMU microvm (an independent check of the guest:
# QEMU's own UART, PIC, PIT, i8042 and isa-debug-exit).
# Run from the repo root. Exit 77 (skip) when QEMU or /dev/kvm is missing.
. tests/lib/common.sh

GUEST_ELF=${GUEST_ELF:-build/netguest.elf}
QEMU=${QEMU:-qemu-system-x86_64}

guest_require_qemu() {
	[ -f "$GUEST_ELF" ] || fail "$GUEST_ELF missing (run make first)"
	command -v "$QEMU" >/dev/null || skip "$QEMU not installed (apt-get install qemu-system-x86)"
	need_kvm
}

# guest_qemu TIMEOUT_S OUTFILE CMDLINE [extra QEMU args...]
# Boots the guest; serial output goes to OUTFILE (QEMU's own messages to
# OUTFILE.stderr). Returns QEMU's exit status: (guest status << 1) | 1 after a
# debug-exit, 124 on timeout.
guest_qemu() {
	local t out=$2 cmdline=$3
	t=$(scaled "$1")
	shift 3
	timeout --kill-after=5 "$t" "$QEMU" -M microvm -accel kvm -m 64 -nodefaults -no-user-config \
		-nographic -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$GUEST_ELF" -append "$cmdline" "$@" </dev/null >"$out" 2>"$out.stderr"
}

# guest_show OUTFILE: the guest's output, for a failure report.
guest_show() {
	sed 's/^/  | /' "$1" >&2
	[ -s "$1.stderr" ] && sed 's/^/  qemu: /' "$1.stderr" >&2
	return 0
}
