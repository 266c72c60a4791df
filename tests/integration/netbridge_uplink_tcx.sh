#!/bin/bash
# netbridge uplink, host port, learning and aging with tcx links and the
# native XDP fast path on the (veth) uplink: see tests/netbridge/uplink.sh.
. tests/lib/common.sh
unset NB_ATTACH NB_UPLINK
WANT_MODE=tcx
WANT_UPLINK=xdpdrv+tcx
. tests/netbridge/uplink.sh
