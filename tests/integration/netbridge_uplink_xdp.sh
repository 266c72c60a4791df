#!/bin/bash
# netbridge uplink scenario with the VM taps and the host port in generic XDP
# (NB_ATTACH=xdp, the last step of the fallback chain) and the uplink in
# native XDP + tcx: see tests/netbridge/uplink.sh.
. tests/lib/common.sh
export NB_ATTACH=xdp
unset NB_UPLINK
WANT_MODE=xdpgeneric
WANT_UPLINK=xdpdrv+tcx
. tests/netbridge/uplink.sh
