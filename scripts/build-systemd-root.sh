#!/usr/bin/env bash
# build-systemd-root.sh [DIR]: a Debian root with systemd for the real-systemd
# test (tests/integration/vmmd_real_systemd.sh), made with debootstrap from
# the machine's own Debian archive (default DIR build/cache/debian-systemd-root).
# Does nothing when DIR exists with this package list (its stamp file
# DIR/.vmm-packages), builds it again when the list changed; one build at a
# time (flock on DIR.lock). --is-current DIR: exit 0 if nothing is to be done.
set -euo pipefail
. "$(dirname "$(readlink -f "$0")")/lib/debpkg.sh"
DEB_LOG_PREFIX=build-systemd-root
CHECK=0
[[ ${1:-} == --is-current ]] && { CHECK=1; shift; }
DIR=${1:-build/cache/debian-systemd-root}
# systemd-container: systemd-machined and machinectl. The shared libraries of vmmd, vmctl and vmm-monitor are part of the root.
PACKAGES=systemd,systemd-sysv,systemd-container,dbus,libev4,libjson-c5,libbpf1,libelf1

current() { [[ -d $DIR && "$(cat "$DIR/.vmm-packages" 2>/dev/null)" == "$PACKAGES" ]]; }
current && exit 0
((CHECK)) && exit 1
command -v debootstrap >/dev/null || deb_die "debootstrap not installed (apt-get install debootstrap)"
mkdir -p "$(dirname "$DIR")"
exec 9>"$DIR.lock"
flock -w 900 9 || deb_die "timed out waiting for the lock $DIR.lock"
current && exit 0
uri=$(deb_archive_uri)
[[ -n $uri ]] || deb_die "no Debian archive in this machine's apt sources (/etc/apt/sources.list*)"
rm -rf "$DIR.tmp"
deb_log "debootstrap $(deb_codename) from $uri into $DIR (about 30 s)"
if ! debootstrap --variant=minbase --include="$PACKAGES" "$(deb_codename)" "$DIR.tmp" "$uri" >"$DIR.log" 2>&1; then
	tail -n 3 "$DIR.log" >&2
	deb_die "debootstrap failed (log: $DIR.log)"
fi
echo "$PACKAGES" >"$DIR.tmp/.vmm-packages"
rm -rf "$DIR"
mv "$DIR.tmp" "$DIR"
