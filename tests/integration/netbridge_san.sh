#!/bin/bash
# The switching scenario (tests/netbridge/switching.sh) with nbctl and nbframe
# built under ASan+UBSan: memory errors and leaks in the control plane abort.
. tests/lib/common.sh
export NBCTL=build/nbctl-san NBFRAME=build/nbframe-san
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1
unset NB_ATTACH
WANT_MODE=tcx
. tests/netbridge/switching.sh
