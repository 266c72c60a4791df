#!/bin/bash
# Runs the fuzz targets built by tests/fuzz/build.mk (make fuzz, make fuzz-smoke).
#   run.sh long SECONDS TARGET...  each target SECONDS, its corpus growing in
#                                  build/fuzz/corpus/<t> (seeded from
#                                  tests/fuzz/corpus/<t>), crashes saved to
#                                  build/fuzz/crashes/<t>-*
#   run.sh smoke RUNS TARGET...    each target over its seeds, then at most
#                                  RUNS inputs or FUZZ_SMOKE_SECONDS (default 2)
#                                  seconds, whichever ends first; nothing kept
# Exits 1 if any target crashed or broke an invariant, and prints which.
set -u
cd "$(dirname "$0")/../.." || exit 2
mode=$1 amount=$2
shift 2
b=build/fuzz
failed=()
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for t in "$@"; do
	bin=$b/fuzz_$t seeds=tests/fuzz/corpus/$t
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	mkdir -p "$b/crashes"
	log=$b/fuzz_$t.$mode.log
	if [ "$mode" = long ]; then
		mkdir -p "$b/corpus/$t"
		args=(-max_total_time="$amount" -print_final_stats=1
		      -artifact_prefix="$b/crashes/$t-" "$b/corpus/$t" "$seeds")
	else
		mkdir -p "$tmp/$t"
		args=(-runs="$amount" -max_total_time="${FUZZ_SMOKE_SECONDS:-2}" -print_final_stats=1
		      -artifact_prefix="$tmp/$t-" "$tmp/$t" "$seeds")
	fi
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
		"$bin" "${dict[@]}" "${args[@]}" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	eps=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 |
	      grep -oE 'cov: [0-9]+ ft: [0-9]+')
	if [ $rc -ne 0 ]; then
		failed+=("$t")
		printf 'FAIL fuzz_%s (exit %d, see %s)\n' "$t" "$rc" "$log"
		grep -E 'ERROR|invariant failed|runtime error|^    #[0-9]' "$log" | head -20 | sed 's/^/    /'
		ls "$tmp/$t-"* "$b/crashes/$t-"* 2>/dev/null | sed 's/^/    input: /'
		[ "$mode" = smoke ] && for a in "$tmp/$t-"*; do
			[ -f "$a" ] && cp "$a" "$b/crashes/"
		done
	else
		printf 'ok   fuzz_%s: %s runs, %s exec/s, %s\n' "$t" "${runs:-?}" "${eps:-?}" "${cov:-?}"
	fi
done
[ ${#failed[@]} -eq 0 ] || { echo "fuzz: failed: ${failed[*]}"; exit 1; }
