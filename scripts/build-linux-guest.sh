#!/usr/bin/env bash
# build-linux-guest.sh [OUTDIR]: assemble a Linux guest from Debian packages.
#
# Downloads (apt-get download, into OUTDIR/cache) the newest concrete
# linux-image-<abi>-amd64 package that the linux-image-amd64 metapackage
# depends on, busybox-static, and iperf3 with the packages of its shared
# libraries; extracts them with dpkg-deb -x; produces
#   OUTDIR/bzImage             the package's vmlinuz, unchanged
#   OUTDIR/vmlinux             the uncompressed kernel ELF carved out of the
#                              bzImage payload, --strip-debug'ed; it must carry
#                              the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)
#   OUTDIR/initramfs.cpio.gz   busybox (init, acpid), the files of
#                              guest/linux/rootfs, the NIC and power-button
#                              modules, iperf3 and its libraries (newc, gzip)
#   OUTDIR/VERSION             "<package> <version>", one line per package,
#                              the kernel first
# Idempotent: does nothing when the outputs are newer than the cached .debs,
# than this script, its library and guest/linux/rootfs. See
# guest/linux/README.md.
#
# Environment: LINUX_IMAGE_PKG=linux-image-X-amd64 pins the kernel package;
# LINUX_GUEST_OFFLINE=1 uses whatever is in the cache without asking apt.
set -euo pipefail

SELF=$(readlink -f "$0")
OUTDIR=${1:-build/linux}
CACHE=$OUTDIR/cache
BB_PKG=busybox-static
# iperf3 and the packages that hold the libraries it loads (readelf -d:
# libiperf.so.0 -> libcrypto.so.3 (libssl3), libsctp.so.1, libm.so.6,
# libc.so.6 and the loader (libc6)). Not the Depends closure: that also
# pulls debconf, adduser and init-system-helpers for iperf3's daemon.
# deb_add_elf fails naming the library if a new version needs another one.
IPERF_PKGS=(iperf3 libiperf0 libssl3 libsctp1 libc6)
# Modules the guest loads, targets only: dependencies are added in order from
# each module's "depends=" field (what this yields for 6.1: mii pcnet32
# virtio_ring virtio_pci_modern_dev virtio_pci_legacy_dev virtio virtio_pci
# failover net_failover virtio_net button evdev). button turns the ACPI
# fixed-feature power button into KEY_POWER on an input device, evdev gives
# it the /dev/input/eventN that acpid reads.
MOD_TARGETS=(mii pcnet32 virtio_pci virtio_net button evdev)
ROOTFS_SRC=$(dirname "$(dirname "$SELF")")/guest/linux/rootfs
LIB=$(dirname "$SELF")/lib/debpkg.sh

for tool in apt-cache apt-get dpkg-deb readelf strip cpio gzip find od dd sed; do
	command -v "$tool" >/dev/null 2>&1 || { echo "build-linux-guest: error: required tool '$tool' not found" >&2; exit 1; }
done

mkdir -p "$CACHE" || { echo "build-linux-guest: error: cannot create $CACHE" >&2; exit 1; }
OUTDIR=$(readlink -f "$OUTDIR")
CACHE=$OUTDIR/cache
[[ -f $ROOTFS_SRC/etc/inittab ]] || { echo "build-linux-guest: error: $ROOTFS_SRC/etc/inittab missing (incomplete checkout?)" >&2; exit 1; }
# shellcheck source=lib/debpkg.sh
. "$LIB"
DEB_LOG_PREFIX=build-linux-guest
DEB_CACHE=$CACHE
DEB_OFFLINE=${LINUX_GUEST_OFFLINE:-0}
log() { deb_log "$@"; }
die() { deb_die "$@"; }
# One build at a time per OUTDIR (tests may start it concurrently).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$OUTDIR/.lock"
	flock -w 1800 9 || die "timed out waiting for the lock $OUTDIR/.lock"
fi

# ---------------------------------------------------------------------------
# 1. Resolve and download the packages.

deb_resolve_kernel "${LINUX_IMAGE_PKG:-}"
KPKG=$DEB_KPKG
deb_fetch "$KPKG"
KDEB=$DEB_FILE
deb_fetch "$BB_PKG"
BBDEB=$DEB_FILE
IPERF_DEBS=()
for p in "${IPERF_PKGS[@]}"; do
	deb_fetch "$p"
	IPERF_DEBS+=("$DEB_FILE")
done
KVER_DEB=$(dpkg-deb -f "$KDEB" Version)
VERSION_TEXT="$KPKG $KVER_DEB"
for d in "$BBDEB" "${IPERF_DEBS[@]}"; do
	VERSION_TEXT+=$'\n'"$(dpkg-deb -f "$d" Package) $(dpkg-deb -f "$d" Version)"
done

OUTPUTS=("$OUTDIR/bzImage" "$OUTDIR/vmlinux" "$OUTDIR/initramfs.cpio.gz" "$OUTDIR/VERSION")
up_to_date() {
	local o i
	for o in "${OUTPUTS[@]}"; do
		[[ -s $o && $o -nt $SELF && $o -nt $LIB ]] || return 1
		for i in "$KDEB" "$BBDEB" "${IPERF_DEBS[@]}"; do
			[[ $o -nt $i ]] || return 1
		done
		[[ -z $(find "$ROOTFS_SRC" -newer "$o" -print -quit) ]] || return 1
	done
	[[ $(cat "$OUTDIR/VERSION") == "$VERSION_TEXT" ]]
}
if up_to_date; then
	log "up to date: $KPKG $KVER_DEB in $OUTDIR"
	exit 0
fi

# ---------------------------------------------------------------------------
# 2. Extract.

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vmm-linux-guest.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log "extracting $(basename "$KDEB")"
deb_extract_kernel "$KDEB" "$TMP/kernel"
VMLINUZ=$DEB_VMLINUZ
KREL=$DEB_KREL
MODDIR=$DEB_MODDIR

# ---------------------------------------------------------------------------
# 3. bzImage and vmlinux.

# Little-endian unsigned integer of $3 bytes at offset $2 of file $1.
le() {
	od -An -tu"$3" -j "$2" -N "$3" --endian=little "$1" | tr -d ' '
}

cp "$VMLINUZ" "$TMP/bzImage"
[[ $(od -An -c -j 0x202 -N 4 "$VMLINUZ" | tr -d ' ') == HdrS ]] ||
	die "$KPKG: $(basename "$VMLINUZ") has no 'HdrS' boot header; not a bzImage"
setup_sects=$(le "$VMLINUZ" $((0x1f1)) 1)
((setup_sects == 0)) && setup_sects=4
pm_start=$(((setup_sects + 1) * 512))
payload_offset=$(le "$VMLINUZ" $((0x248)) 4)
payload_length=$(le "$VMLINUZ" $((0x24c)) 4)
((payload_length > 4)) || die "$KPKG: $(basename "$VMLINUZ"): boot protocol has no payload fields (too old?)"
# The payload is the compressed vmlinux followed by its uncompressed size
# (4 bytes, little endian), as mkpiggy lays it out.
pstart=$((pm_start + payload_offset))
clen=$((payload_length - 4))
ulen=$(le "$VMLINUZ" $((pstart + clen)) 4)
dd if="$VMLINUZ" of="$TMP/payload" bs=4M iflag=skip_bytes,count_bytes skip="$pstart" count="$clen" status=none
magic=$(od -An -tx1 -N 6 "$TMP/payload" | tr -d ' ')
case $magic in
fd377a585a00) comp=xz; decomp=(xz -dc --single-stream) ;;
28b52ffd*) comp=zstd; decomp=(zstd -dcq) ;;
1f8b*) comp=gzip; decomp=(gzip -dc) ;;
425a68*) comp=bzip2; decomp=(bzip2 -dc) ;;
5d0000*) comp=lzma; decomp=(xz -dc --format=lzma) ;;
02214c18*) comp=lz4; decomp=(lz4 -dc) ;;
894c5a4f*) comp=lzo; decomp=(lzop -dc) ;;
*) die "$KPKG: unknown compression of the bzImage payload (magic $magic at offset $pstart)" ;;
esac
command -v "${decomp[0]}" >/dev/null || die "$KPKG: payload is $comp-compressed but '${decomp[0]}' is not installed"
log "payload: $comp, $clen bytes at offset $pstart -> $ulen bytes"
"${decomp[@]}" <"$TMP/payload" >"$TMP/vmlinux.full" 2>"$TMP/decomp.err" ||
	die "$KPKG: $comp decompression of the bzImage payload failed: $(head -c 300 "$TMP/decomp.err")"
got=$(stat -c %s "$TMP/vmlinux.full")
((got == ulen)) || die "$KPKG: decompressed payload is $got bytes, the bzImage says $ulen"
[[ $(od -An -tx1 -N 4 "$TMP/vmlinux.full" | tr -d ' ') == 7f454c46 ]] ||
	die "$KPKG: decompressed payload is not an ELF file"
strip --strip-debug -o "$TMP/vmlinux" "$TMP/vmlinux.full" || die "$KPKG: strip --strip-debug of vmlinux failed"
rm -f "$TMP/vmlinux.full" "$TMP/payload"

# XEN_ELFNOTE_PHYS32_ENTRY is note type 18 of owner "Xen". readelf spells it
# NT_XEN_PHYS32_ENTRY in some versions, "Unknown note type: (0x00000012)" in
# others; accept both.
readelf -n "$TMP/vmlinux" >"$TMP/notes" 2>&1 || die "$KPKG: readelf -n vmlinux failed"
if ! awk '$1 == "Xen" && ($0 ~ /PHYS32_ENTRY/ || $0 ~ /\(0x0*12\)/) { found = 1 } END { exit !found }' "$TMP/notes"; then
	die "$KPKG: vmlinux has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); it cannot be booted as PVH"
fi
pvh_entry=$(awk '$1 == "Xen" && ($0 ~ /PHYS32_ENTRY/ || $0 ~ /\(0x0*12\)/) { f = 1; next }
	f && /description data:/ { sub(/.*description data: */, ""); n = split($0, b, " ");
		for (i = n; i >= 1; i--) s = s b[i]; print "0x" s; exit } ' "$TMP/notes")
log "vmlinux: PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) at ${pvh_entry:-?}"

# ---------------------------------------------------------------------------
# 4. initramfs.

ROOT=$TMP/root
deb_busybox_root "$ROOT" "$BBDEB"
for applet in sbin/init sbin/acpid bin/cttyhack usr/bin/setsid; do
	[[ -L $ROOT/$applet ]] || die "$BB_PKG: busybox lacks the '${applet##*/}' applet (at /$applet) that the guest's init needs"
done
deb_add_modules "$ROOT" "$MODDIR" "${MOD_TARGETS[@]}"

# iperf3 with its loader and libraries, from the extracted packages.
for d in "${IPERF_DEBS[@]}"; do
	dpkg-deb -x "$d" "$TMP/userland" || die "dpkg-deb -x $d failed (corrupt download? delete it and rerun)"
done
deb_add_elf "$ROOT" "$TMP/userland" /usr/bin/iperf3
rm -rf "$TMP/userland"

# busybox init is /init (the kernel runs /init of an initramfs); inittab and
# the scripts it runs come from guest/linux/rootfs.
cp -a "$ROOTFS_SRC/." "$ROOT/"
ln -s sbin/init "$ROOT/init"
mkdir -p "$ROOT/run" "$ROOT/var/log"
ln -s ../run "$ROOT/var/run"
echo "$VERSION_TEXT" >"$ROOT/etc/vmm-linux-guest-version"

deb_pack_initramfs "$ROOT" "$TMP/initramfs.cpio.gz"

# ---------------------------------------------------------------------------
# 5. Install the outputs (VERSION last: it marks a complete build).

rm -f "$OUTDIR/VERSION"
for f in bzImage vmlinux initramfs.cpio.gz; do
	mv -f "$TMP/$f" "$OUTDIR/$f"
done
echo "$VERSION_TEXT" >"$OUTDIR/VERSION"
log "built $KPKG $KVER_DEB ($KREL) in $OUTDIR:"
for f in bzImage vmlinux initramfs.cpio.gz; do
	log "  $f $(stat -c %s "$OUTDIR/$f") bytes"
done
