#!/bin/bash
# Runs every test and ends with one line "N passed, N failed[, N skipped]".
#   unit tests (cmocka, TAP output): build/tests/*/test_* and the ASan+UBSan
#   builds build/tests-san/*/test_*; each test case counts once per build.
#   integration tests: tests/integration/*.sh; exit 0 pass, 77 skip, else fail.
# VMM_SKIP_SLOW=1 skips the slow ones (they check it themselves).
# Usage: tests/run.sh [PATTERN]   (only tests whose path contains PATTERN)
set -u
cd "$(dirname "$0")/.." || exit 2
pattern=${1:-}
passed=0 failed=0 skipped=0
failures=()
logdir=build/test-logs
mkdir -p "$logdir"

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

run_integration() { # script
	local t=$1 log rc start
	log="$logdir/$(basename "$t" .sh).log"
	start=$(date +%s%N)
	timeout 900 bash "$t" >"$log" 2>&1
	rc=$?
	local ds=$((($(date +%s%N) - start) / 100000000))
	local secs="$((ds / 10)).$((ds % 10))"
	case $rc in
	0) passed=$((passed + 1)); printf 'ok   %s (%ss)\n' "$t" "$secs" ;;
	77) skipped=$((skipped + 1)); printf 'skip %s: %s\n' "$t" "$(tail -n 1 "$log")" ;;
	*) failed=$((failed + 1)); failures+=("$t (exit $rc, see $log)")
	   printf 'FAIL %s (exit %d, %ss)\n' "$t" "$rc" "$secs"; tail -n 15 "$log" | sed 's/^/    /' ;;
	esac
}

for bin in build/tests/*/test_* build/tests-san/*/test_*; do
	[ -x "$bin" ] || continue
	case $bin in *"$pattern"*) run_unit "$bin" ;; esac
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	case $t in *"$pattern"*) run_integration "$t" ;; esac
done

if [ ${#failures[@]} -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${failures[@]}"
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]
