#!/bin/bash
# netbridge switching with the VM taps in generic XDP (NB_ATTACH=xdp, the
# last step of the tcx -> clsact -> generic XDP chain): the same scenario and
# exact counters as tcx/clsact; see tests/netbridge/switching.sh.
. tests/lib/common.sh
export NB_ATTACH=xdp
WANT_MODE=xdpgeneric
. tests/netbridge/switching.sh
