#!/bin/bash
# The library API as vmmd uses it (tap fds handed back, close/reopen), by
# build/nb_apicheck in a namespace of its own; then nothing may be left.
. tests/lib/common.sh
. tests/netbridge/lib.sh
[ -x build/nb_apicheck ] || fail "build first: make build/nb_apicheck"
nb_setup
in_ns "$NS" build/nb_apicheck "$RT" || fail "nb_apicheck"
[ -e "/sys/fs/bpf/$RT" ] && fail "pins left: $(ls "/sys/fs/bpf/$RT")"
in_ns "$NS" ip -o link show | grep -q vmm- && fail "taps left: $(in_ns "$NS" ip -o link show)"
exit 0
