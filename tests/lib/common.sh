# Shared helpers for integration tests (source it). Tests run from the repo
# root; exit 0 = pass, 77 = skip, anything else = fail.
set -u
MONITOR=${MONITOR:-build/vmm-monitor}
GUEST=${GUEST:-build/netguest.elf}
CTL="python3 tests/lib/vmmctl.py"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }

# A test that needs KVM skips without it, but fails under CI (CI=true), where
# tests/run.sh has put it in the test host: there a missing KVM is a bug.
# no_kvm REASON is that rule for every test; it calls the test's own fail and
# skip where the test defines them after sourcing this file.
no_kvm() {
	[ "${CI:-}" = true ] && fail "$1 (CI=true: a KVM test may not skip; tests/run.sh runs it in the test host)"
	skip "$1"
}
need_kvm() {
	[ -c /dev/kvm ] || no_kvm "/dev/kvm absent"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || no_kvm "/dev/kvm not accessible"
}

# A temporary directory removed on exit; cleanup hooks appended to CLEANUP.
TMP=$(mktemp -d /tmp/vmm-test.XXXXXX)
CLEANUP=()
_cleanup() {
	local i
	for ((i = ${#CLEANUP[@]} - 1; i >= 0; i--)); do eval "${CLEANUP[$i]}" || true; done
	rm -rf "$TMP"
}
trap _cleanup EXIT

. tests/lib/timescale.sh

# wait_for CMD... : retries for up to $WAIT_SECS (default 10) seconds, scaled.
wait_for() {
	local deadline=$(($(date +%s) + $(scaled "${WAIT_SECS:-10}")))
	until "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
