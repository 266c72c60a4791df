#!/bin/bash
# Runs every test and ends with one line "N passed, N failed[, N skipped]".
#   unit tests (cmocka, TAP output): build/tests/*/test_* and the ASan+UBSan
#   builds build/tests-san/*/test_*; each test case counts once per build.
#   integration tests: tests/integration/*.sh; exit 0 pass, 77 skip, else fail
#   (75 inside the test host: a guest kernel died under the test, the nested
#   machine's hazard; it runs once more, and a second 75 fails it).
#
# A test that needs KVM says so in its header ("# needs: kvm"; "# needs:
# kvm-linux" when it runs a stock Linux guest to user space, which kvm_pvm
# cannot). Where this machine's /dev/kvm cannot run them (testhost/kvm-usable
# [--linux]), those tests run inside the test host (testhost/run: nested KVM
# under QEMU TCG), booted once, while the others run here; the first line
# says so. A header line
# "# prepare: CMD" names what such a test needs from the network (the test
# host has none): it runs here first. "# parallel: no" keeps other tests from
# running beside it when --jobs is more than 1 (a benchmark measures).
#
# Usage: tests/run.sh [--only kvm|other] [--jobs N] [--summary FILE] [--names A|B] [PATTERN]
#   PATTERN     only tests whose path contains it
#   --only      kvm: only the integration tests that need KVM (no unit tests);
#               other: everything else
#   --jobs N    integration tests run N at a time (default 1 here, 2 inside
#               the test host, where most of a test's time is waiting)
#   --summary   also write "passed failed skipped" and the failures to FILE
#   --names     only the integration tests of these names (what the test
#               host is given)
# Environment: VMM_SKIP_SLOW=1 skips the slow tests (they check it
# themselves); VMM_TESTHOST=auto|always|never (testhost/kvm-usable);
# VMM_TESTHOST_TIMEOUT (seconds for the test host's whole run, default 5400: its tests
# take 20-25 minutes, and were still running after 55 with three busy loops
# beside the test host).
set -u
cd "$(dirname "$0")/.." || exit 2
only="" summary="" jobs="" pattern="" names_only=""
while [ $# -gt 0 ]; do
	case $1 in
	--only) only=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--summary) summary=$2; shift 2 ;;
	--names) names_only=$2; shift 2 ;;
	--*) echo "tests/run.sh: unknown option $1" >&2; exit 2 ;;
	*) pattern=$1; shift ;;
	esac
done
case $only in "" | kvm | other) ;; *) echo "tests/run.sh: --only $only: expected kvm or other" >&2; exit 2 ;; esac
[ -n "$jobs" ] || { [ -n "${TESTHOST:-}" ] && jobs=2 || jobs=1; }
passed=0 failed=0 skipped=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

needs_kvm() { grep -q '^# needs: kvm' "$1"; }
needs_kvm_linux() { grep -q '^# needs: kvm-linux' "$1"; }
testhost_cpus() { sed -n 's/^# testhost-cpus: \([1-9][0-9]*\)\( .*\)\{0,1\}$/\1/p' "$1" | grep . || echo 1; }
testhost_names() { # CPUS: the names of the test-host tests that ask for that many CPUs
	local t
	for t in "${host_tests[@]}"; do
		[ "$(testhost_cpus "$t")" = "$1" ] && basename "$t" .sh
	done | paste -sd'|'
}

run_unit() { # binary
	local bin=$1 log out ok nok
	log="$logdir/$(echo "$bin" | tr / _).log"
	CMOCKA_MESSAGE_OUTPUT=TAP ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		timeout 120 "$bin" >"$log" 2>&1
	local rc=$?
	ok=$(grep -c '^ok ' "$log")
	nok=$(grep -c '^not ok ' "$log")
	passed=$((passed + ok))
	failed=$((failed + nok))
	if [ "$nok" -gt 0 ] || [ "$rc" -ne 0 ]; then
		[ "$nok" -eq 0 ] && failed=$((failed + 1)) # crashed or sanitizer abort
		failures+=("$bin (see $log)")
		printf 'FAIL %s\n' "$bin"
		grep -E '^not ok|ERROR|runtime error|Sanitizer' "$log" | head -20 | sed 's/^/    /'
	else
		printf 'ok   %s (%d cases)\n' "$bin" "$ok"
	fi
}

# A test's time limit: 15 minutes; 30 in the test host, where everything runs
# under TCG and a loaded machine stretches it further (linux_net took 372 s
# there with one busy loop beside the test host, over 900 s with three).
test_timeout=$([ -n "${TESTHOST:-}" ] && echo 1800 || echo 900)

# One integration test in the background: its status and time go to
# $logdir/NAME.result ("RC SECONDS") for collect().
start_integration() { # script
	local t=$1 name
	name=$(basename "$t" .sh)
	(
		start=$(date +%s%N)
		timeout "$test_timeout" bash "$t" >"$logdir/$name.log" 2>&1
		rc=$?
		# 75 inside the test host: a guest kernel died under the test (the
		# nested machine's hazard, testhost/README.md); once more, and a
		# second 75 fails it. Elsewhere 75 is a failure like any other.
		if [ "$rc" = 75 ] && [ -n "${TESTHOST:-}" ]; then
			mv "$logdir/$name.log" "$logdir/$name.try1.log"
			{ tail -n 3 "$logdir/$name.try1.log"; echo "tests: $name: exit 75 (the platform failed under it); once more"; } >"$logdir/$name.log"
			timeout "$test_timeout" bash "$t" >>"$logdir/$name.log" 2>&1
			rc=$?
		fi
		ds=$((($(date +%s%N) - start) / 100000000))
		echo "$rc $((ds / 10)).$((ds % 10))" >"$logdir/$name.result"
	) &
	running[$!]=$t
}

collect() { # pid
	local t=${running[$1]} name rc secs log why
	unset "running[$1]"
	name=$(basename "$t" .sh)
	log=$logdir/$name.log
	read -r rc secs <"$logdir/$name.result" || { rc=125 secs=?; }
	case $rc in
	0) passed=$((passed + 1)); printf 'ok   %s (%ss)\n' "$t" "$secs" ;;
	77) skipped=$((skipped + 1)); printf 'skip %s: %s\n' "$t" "$(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1))
	   # the test's own first FAIL line goes into the closing list too: a
	   # CI log that keeps only its tail still says why
	   why=$(grep -m1 '^FAIL' "$log" | cut -c1-300)
	   failures+=("$t (exit $rc, see $log)${why:+: $why}")
	   printf 'FAIL %s (exit %d, %ss)\n' "$t" "$rc" "$secs"; tail -n 15 "$log" | sed 's/^/    /' ;;
	esac
}

run_integrations() { # script...
	declare -A running=()
	local t pid
	for t in "$@"; do
		# "# parallel: no" in a header: it runs alone (a benchmark, say)
		local limit=$jobs
		grep -q '^# parallel: no' "$t" && limit=1
		while [ ${#running[@]} -ge "$limit" ]; do
			wait -n -p pid "${!running[@]}"
			collect "$pid"
		done
		start_integration "$t"
		if [ "$limit" = 1 ] && [ "$jobs" -gt 1 ]; then
			wait -n -p pid "${!running[@]}"
			collect "$pid"
		fi
	done
	while [ ${#running[@]} -gt 0 ]; do
		wait -n -p pid "${!running[@]}"
		collect "$pid"
	done
}

# The selected integration tests, split by whether they need KVM.
kvm_tests=() other_tests=()
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case $t in *"$pattern"*) ;; *) continue ;; esac
	base=${t##*/}
	[ -z "$names_only" ] || case "|$names_only|" in *"|${base%.sh}|"*) ;; *) continue ;; esac
	if needs_kvm "$t"; then kvm_tests+=("$t"); else other_tests+=("$t"); fi
done
case $only in kvm) other_tests=() ;; other) kvm_tests=() ;; esac

# Where the KVM tests run: here, or in the test host beside the others (all
# of them where KVM is unusable, the Linux ones where it is kvm_pvm).
testhost_pid=""
testhost_summary=$logdir/testhost.summary
host_tests=()
if [ ${#kvm_tests[@]} -gt 0 ] && ! why=$(testhost/kvm-usable); then
	host_tests=("${kvm_tests[@]}")
	kvm_tests=()
	echo "tests: $why: the ${#host_tests[@]} tests that need KVM run in the test host (nested KVM under QEMU TCG), the others here"
elif [ ${#kvm_tests[@]} -gt 0 ] && ! why=$(testhost/kvm-usable --linux); then
	here=()
	for t in "${kvm_tests[@]}"; do
		if needs_kvm_linux "$t"; then host_tests+=("$t"); else here+=("$t"); fi
	done
	kvm_tests=("${here[@]}")
	[ ${#host_tests[@]} -eq 0 ] ||
		echo "tests: $why: the ${#host_tests[@]} tests of a Linux guest run in the test host (nested KVM under QEMU TCG), the others here"
fi
if [ ${#host_tests[@]} -gt 0 ]; then
	for t in "${host_tests[@]}"; do
		sed -n 's/^# prepare: //p' "$t"
	done | sort -u | while read -r cmd; do
		echo "tests: preparing outside the test host: $cmd"
		$cmd >"$logdir/prepare.log" 2>&1 || { echo "tests: warning: '$cmd' failed:"; tail -n 3 "$logdir/prepare.log"; }
	done
	# One test host per CPU count (a test's "# testhost-cpus: N", default
	# 1; testhost/README.md says why), one after the other, each with its
	# own summary.
	testhost_cpu_counts=$(for t in "${host_tests[@]}"; do testhost_cpus "$t"; done | sort -u)
	rm -f "$testhost_summary".*
	(
		for cpus in $testhost_cpu_counts; do
			# 123: the test host got stuck for good (testhost/README.md,
			# the fourth hazard) and was ended: its tests once more, in a
			# new one; a second time counts as the test host's failure.
			for try in 1 2; do
				testhost/run --cpus "$cpus" --timeout "${VMM_TESTHOST_TIMEOUT:-5400}" -- \
					tests/run.sh --only kvm --names "$(testhost_names "$cpus")" \
					--summary "$testhost_summary.$cpus" 2>&1 |
					sed -u "s/^/[testhost cpus=$cpus] /"
				[ "${PIPESTATUS[0]}" = 123 ] && [ "$try" = 1 ] || break
				rm -f "$testhost_summary.$cpus"
				echo "[testhost cpus=$cpus] tests: the test host got stuck (above); its tests once more in a new one"
			done
		done
	) &
	testhost_pid=$!
fi

if [ "$only" != kvm ]; then
	for bin in build/tests/*/test_* build/tests-san/*/test_*; do
		[ -x "$bin" ] || continue
		case $bin in *"$pattern"*) run_unit "$bin" ;; esac
	done
fi
run_integrations "${kvm_tests[@]}" "${other_tests[@]}"

if [ -n "$testhost_pid" ]; then
	wait "$testhost_pid"
	for cpus in $testhost_cpu_counts; do
		sf=$testhost_summary.$cpus
		if [ -s "$sf" ] && read -r p n s <"$sf"; then
			passed=$((passed + p)) failed=$((failed + n)) skipped=$((skipped + s))
			while IFS= read -r line; do failures+=("$line (in the test host)"); done < <(tail -n +2 "$sf")
		else
			failed=$((failed + 1))
			failures+=("the test host (--cpus $cpus) ended before its tests did: none of $(testhost_names "$cpus") counted (see the [testhost cpus=$cpus] lines)")
		fi
	done
fi

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
if [ -n "$summary" ]; then
	{
		echo "$passed $failed $skipped"
		[ ${#failures[@]} -eq 0 ] || printf '%s\n' "${failures[@]}"
	} >"$summary.tmp" && mv "$summary.tmp" "$summary"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
