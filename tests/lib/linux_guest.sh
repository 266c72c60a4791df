# Helpers for the tests of a stock Linux guest (source after common.sh; the
# test sets NAME). The guest is scripts/build-linux-guest.sh's, in
# $LINUX_GUEST (default build/linux).
LINUX_GUEST=${LINUX_GUEST_DIR:-build/linux}
# The serial console, no KASLR (stable addresses in reports), a panic ends
# the VM (reset) instead of hanging it.
LINUX_CMDLINE="console=ttyS0 panic=-1 nokaslr mitigations=off init_on_alloc=0"

info() { echo "$NAME: $*" >&2; }

# Inside the test host (nested KVM under QEMU TCG) the guest runs without
# KVM's paravirt features (nopv): with them a Linux with 2 vCPUs hangs within
# seconds of its SMP bring-up there, both vCPUs in hlt with interrupts off (a
# paravirt spinlock wait whose kick never comes), and QEMU -accel kvm -smp 2
# hangs the same way (testhost/README.md). With nopv it boots to power-off
# every time, with both vCPUs up. Elsewhere the guest keeps them.
if [ -n "${TESTHOST:-}" ]; then
	LINUX_CMDLINE+=" nopv"
fi

# Skips (fails under CI) where this KVM cannot run Linux to user space;
# builds the guest or skips when it cannot be had.
linux_guest_prereqs() {
	need_kvm
	[ -d /sys/module/kvm_pvm ] &&
		no_kvm "/dev/kvm is kvm_pvm, which cannot run Linux to user space (tests/run.sh runs this test in the test host)"
	[ -x "$MONITOR" ] || fail "$MONITOR not built"
	command -v timeout >/dev/null || skip "timeout (coreutils) not installed"
	if ! timeout 900 scripts/build-linux-guest.sh "$LINUX_GUEST" >"$TMP/build.log" 2>&1; then
		tail -n 3 "$TMP/build.log" >&2
		[ -s "$LINUX_GUEST/VERSION" ] || skip "cannot build the Linux guest (no apt access?)"
		info "warning: build-linux-guest.sh failed; using the existing $LINUX_GUEST"
	fi
	info "guest: $(head -n1 "$LINUX_GUEST/VERSION")"
}

# linux_fail LABEL SERIAL STDERR WHY: the console's and the monitor's tails, then fail.
linux_fail() {
	info "$1: FAILED: $4"
	info "$1: serial (last 40 lines):"
	tail -n 40 "$2" | tr -d '\r' | sed 's/^/  | /' >&2
	info "$1: monitor stderr (last 15 lines):"
	tail -n 15 "$3" | sed 's/^/  | /' >&2
	fail "$1: $4"
}

# linux_expect LABEL SERIAL STDERR REGEX...: every regex is on the console.
linux_expect() {
	local label=$1 out=$2 err=$3 re
	shift 3
	for re in "$@"; do
		grep -aEq -- "$re" "$out" || linux_fail "$label" "$out" "$err" "no '$re' on the console"
	done
}

# linux_refuse LABEL SERIAL REGEX...: none of them is on the console.
linux_refuse() {
	local label=$1 out=$2 re
	shift 2
	for re in "$@"; do
		if grep -aE -- "$re" "$out" >&2; then
			linux_fail "$label" "$out" /dev/null "'$re' on the console"
		fi
	done
}
