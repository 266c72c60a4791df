#!/bin/sh
# check-includes.sh: each component includes only what it may (make runs it
# before building). Includes name their component from the repository root
# ("devices/pci.h"); the layering is
#   common    <- devices <- monitor
#   common, netbridge/netbridge.h (the switch's public header) <- vmmd
#   common    <- netbridge, vmctl
# so the daemon never reaches into the monitor's internals or the reverse.
cd "$(dirname "$0")/.." || exit 2
bad=0
check() { # component allowed-pattern
	out=$(grep -Hn '^#include "' "$1"/*.c "$1"/*.h 2>/dev/null | grep -vE "#include \"($2)\"")
	if [ -n "$out" ]; then
		echo "$out" | while IFS= read -r line; do
			echo "check-includes: $1/ may include only $2: $line" >&2
		done
		bad=1
	fi
}
check common 'common/[a-z0-9_]+\.h'
check devices '(common|devices)/[a-z0-9_]+\.h'
check monitor '(common|devices|monitor)/[a-z0-9_]+\.h'
check netbridge '(common|netbridge)/[a-z0-9_]+\.h|netbridge\.skel\.h'
check vmmd '(common|vmmd)/[a-z0-9_]+\.h|netbridge/netbridge(_env)?\.h'
check vmctl '(common|vmctl)/[a-z0-9_]+\.h'
exit $bad
