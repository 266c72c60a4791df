#!/bin/bash
# netbridge uplink, host port, learning and aging with tcx links: see
# tests/netbridge/uplink.sh.
. tests/lib/common.sh
unset NB_ATTACH
WANT_MODE=tcx
. tests/netbridge/uplink.sh
