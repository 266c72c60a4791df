#!/bin/bash
# netbridge uplink scenario with the uplink forced to tc only (NB_UPLINK=tc,
# no XDP fast path): the same frames and exact counters as with XDP; see
# tests/netbridge/uplink.sh.
. tests/lib/common.sh
unset NB_ATTACH
export NB_UPLINK=tc
WANT_MODE=tcx
WANT_UPLINK=tcx
. tests/netbridge/uplink.sh
