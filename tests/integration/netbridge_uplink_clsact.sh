#!/bin/bash
# netbridge uplink, host port, learning and aging with the netlink clsact
# fallback (native XDP in front on the uplink): see tests/netbridge/uplink.sh.
. tests/lib/common.sh
export NB_ATTACH=clsact
unset NB_UPLINK
WANT_MODE=clsact
WANT_UPLINK=xdpdrv+clsact
. tests/netbridge/uplink.sh
