#!/bin/bash
# netbridge uplink, host port, learning and aging with the netlink clsact
# fallback: see tests/netbridge/uplink.sh.
. tests/lib/common.sh
export NB_ATTACH=clsact
WANT_MODE=clsact
. tests/netbridge/uplink.sh
