#!/bin/bash
# The fuzz targets (tests/fuzz: device models and parsers) build with clang's
# libFuzzer and ASan+UBSan, and a short run of each over its seed corpus and
# new inputs finds no crash, sanitizer report or broken invariant. Skips when clang or
# its fuzzer runtime is missing. make fuzz runs them for longer.
. tests/lib/common.sh
CC_FUZZ=${FUZZ_CC:-clang}
command -v "$CC_FUZZ" >/dev/null || skip "$CC_FUZZ not installed (apt-get install clang)"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$TMP/probe.c"
"$CC_FUZZ" -fsanitize=fuzzer,address,undefined "$TMP/probe.c" -o "$TMP/probe" 2>"$TMP/probe.err" ||
	skip "$CC_FUZZ has no libFuzzer runtime (apt-get install libclang-rt-14-dev): $(head -n 1 "$TMP/probe.err")"

make --no-print-directory -s -j"$(nproc)" fuzz-build >"$TMP/build.log" 2>&1 || {
	tail -n 30 "$TMP/build.log"
	fail "make fuzz-build failed"
}
# Each target: its seeds, then at most FUZZ_SMOKE_RUNS inputs or 2 s.
start=$(date +%s)
make --no-print-directory -s fuzz-smoke FUZZ_SMOKE_RUNS=${FUZZ_SMOKE_RUNS:-20000} ||
	fail "a fuzz target crashed (the input is in build/fuzz/crashes; see tests/fuzz/README.md)"
echo "fuzz smoke: $(($(date +%s) - start)) s"
