#!/bin/bash
# netbridge switching with tcx links (the default attach mode on this kernel):
# see tests/netbridge/switching.sh.
. tests/lib/common.sh
unset NB_ATTACH
WANT_MODE=tcx
. tests/netbridge/switching.sh
