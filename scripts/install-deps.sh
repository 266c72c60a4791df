#!/bin/sh
# Install every Debian package vmm needs to build, test and benchmark.
# Idempotent: installs only what is missing; safe to run on every `make check`.
set -eu

PACKAGES="
build-essential pkg-config clang llvm lld
libjson-c-dev libev-dev libsystemd-dev libbpf-dev bpftool libelf-dev zlib1g-dev libseccomp-dev
libcmocka-dev libclang-rt-14-dev
qemu-system-x86 iproute2 iputils-ping ethtool tcpdump kmod
debootstrap busybox-static cpio xz-utils zstd
python3 gnuplot-nox hyperfine
acpica-tools iperf3
"

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages:$missing (run as root: sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
