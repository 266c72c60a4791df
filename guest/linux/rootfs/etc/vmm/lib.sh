# shellcheck shell=sh
# Shared by the scripts of /etc/vmm (sourced; busybox sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
ARGDIR=/run/vmm/arg

# Every line for the console starts with "vmm-linux-guest: " (tests match it).
say() { echo "vmm-linux-guest: $*"; }

# The value of the command-line key vmm.$1 (empty when absent).
arg() { cat "$ARGDIR/$1" 2>/dev/null; }
# Whether vmm.$1 was given.
has_arg() { [ -e "$ARGDIR/$1" ]; }
# A flag: given, and not "=0".
flag() { has_arg "$1" && [ "$(arg "$1")" != 0 ]; }

# The NICs (interfaces backed by a device, not lo or tunnels), in name order.
nics() {
	for d in /sys/class/net/*; do
		[ -e "$d/device" ] && echo "${d##*/}"
	done
}
