#!/bin/bash
# netbridge switching with the netlink clsact fallback (NB_ATTACH=clsact):
# see tests/netbridge/switching.sh.
. tests/lib/common.sh
export NB_ATTACH=clsact
WANT_MODE=clsact
. tests/netbridge/switching.sh
