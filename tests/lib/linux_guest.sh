# Helpers for the tests of a stock Linux guest (source after common.sh; the
# test sets NAME). The guest is scripts/build-linux-guest.sh's, in
# $LINUX_GUEST (default build/linux).
LINUX_GUEST=${LINUX_GUEST_DIR:-build/linux}
# The serial console, no KASLR (stable addresses in reports), a panic ends
# the VM (reset) instead of hanging it.
LINUX_CMDLINE="console=ttyS0 panic=-1 nokaslr mitigations=off init_on_alloc=0"

info() { echo "$NAME: $*" >&2; }

# Inside the test host (nested KVM under QEMU TCG) the guest boots with
# testhost/guest-args: without KVM's paravirtual features (nopv), which lose
# wakeups there (a Linux with 2 vCPUs hangs within seconds of its SMP
# bring-up, and QEMU -accel kvm -smp 2 the same way), and with its TSC
# frequency given, since its own calibration fails there and it would read
# the time from the ACPI PM timer, an exit each time (testhost/README.md).
# Elsewhere nothing is added.
LINUX_CMDLINE+=" $(testhost/guest-args)"
LINUX_CMDLINE=${LINUX_CMDLINE% }

# What a guest kernel's death looks like on its console.
LINUX_DIED_RE='Kernel panic|Oops|BUG:|general protection fault'

# linux_platform_died SERIAL RC: true (0) inside the test host when the guest
# kernel died (panic, oops) or stopped (the monitor's exit 84, halted; 124,
# timed out) there: its other hazard, random faults of a guest kernel under
# nested KVM (testhost/README.md), which a test meets now and then whatever
# the monitor does, so it may boot once more. Elsewhere always false.
linux_platform_died() {
	[ -n "${TESTHOST:-}" ] || return 1
	[[ $2 == 84 || $2 == 124 ]] && return 0
	grep -aqE "$LINUX_DIED_RE" "$1"
}

# linux_platform_fail WHY: a guest kernel died under the test. Inside the
# test host that is the nested machine's hazard, not a verdict: exit 75, and
# tests/run.sh runs the test once more (a second 75 fails it). Elsewhere it
# fails the test.
linux_platform_fail() {
	if [ -n "${TESTHOST:-}" ]; then
		echo "PLATFORM: $* (in the test host: testhost/README.md)" >&2
		exit 75
	fi
	fail "$*"
}

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
