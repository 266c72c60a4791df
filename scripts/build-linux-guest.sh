#!/usr/bin/env bash
# build-linux-guest.sh [OUTDIR]: assemble a Linux guest from Debian packages.
#
# Downloads (apt-get download, into OUTDIR/cache) the newest concrete
# linux-image-<abi>-amd64 package that the linux-image-amd64 metapackage
# depends on, and busybox-static; extracts them with dpkg-deb -x; produces
#   OUTDIR/bzImage             the package's vmlinuz, unchanged
#   OUTDIR/vmlinux             the uncompressed kernel ELF carved out of the
#                              bzImage payload, --strip-debug'ed; it must carry
#                              the Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)
#   OUTDIR/initramfs.cpio.gz   busybox + /init + the NIC modules (newc, gzip)
#   OUTDIR/VERSION             "<package> <version>" of the kernel (+ busybox)
# Idempotent: does nothing when the outputs are newer than the cached .debs
# and than this script. See guest/linux/README.md.
#
# Environment: LINUX_IMAGE_PKG=linux-image-X-amd64 pins the kernel package;
# LINUX_GUEST_OFFLINE=1 uses whatever is in the cache without asking apt.
set -euo pipefail

SELF=$(readlink -f "$0")
OUTDIR=${1:-build/linux}
CACHE=$OUTDIR/cache
META_PKG=linux-image-amd64
BB_PKG=busybox-static
# Modules the guest loads, targets only: dependencies are added in order from
# each module's "depends=" field (the list in platform-kvm.md §5 is what this
# yields for 6.1: mii pcnet32 virtio_ring virtio virtio_pci_modern_dev
# virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net).
MOD_TARGETS=(mii pcnet32 virtio_pci virtio_net)

log() { echo "build-linux-guest: $*" >&2; }
die() { echo "build-linux-guest: error: $*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg-deb readelf strip cpio gzip find od dd; do
	command -v "$tool" >/dev/null 2>&1 || die "required tool '$tool' not found"
done

mkdir -p "$CACHE" || die "cannot create $CACHE"
OUTDIR=$(readlink -f "$OUTDIR")
CACHE=$OUTDIR/cache
# One build at a time per OUTDIR (tests may start it concurrently).
if command -v flock >/dev/null 2>&1; then
	exec 9>"$OUTDIR/.lock"
	flock -w 1800 9 || die "timed out waiting for the lock $OUTDIR/.lock"
fi

# ---------------------------------------------------------------------------
# 1. Resolve and download the packages.

# apt-cache knows the package (has a candidate version)?
apt_candidate() {
	apt-cache policy "$1" 2>/dev/null | awk '/^  Candidate:/ { print $2 }'
}

# Newest cached .deb of a package name (by dpkg version order), or nothing.
cached_deb() {
	local pkg=$1 best="" bestv="" f v
	for f in "$CACHE/${pkg}"_*.deb; do
		[[ -f $f ]] || continue
		[[ $(dpkg-deb -f "$f" Package 2>/dev/null) == "$pkg" ]] || continue
		v=$(dpkg-deb -f "$f" Version)
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$bestv"; then
			best=$f bestv=$v
		fi
	done
	[[ -n $best ]] && echo "$best"
	return 0
}

APT_UPDATED=0
apt_update_once() {
	[[ $APT_UPDATED == 1 ]] && return 0
	APT_UPDATED=1
	log "apt-cache does not know $1; running apt-get update"
	apt-get update -qq >&2 || log "apt-get update failed"
}

# Prints the path of the .deb for package $1 (downloading it if needed).
fetch_deb() {
	local pkg=$1 ver deb quoted
	if [[ ${LINUX_GUEST_OFFLINE:-0} == 1 ]]; then
		deb=$(cached_deb "$pkg")
		[[ -n $deb ]] || die "offline and no cached .deb of $pkg in $CACHE"
		echo "$deb"; return 0
	fi
	ver=$(apt_candidate "$pkg")
	if [[ -z $ver || $ver == "(none)" ]]; then
		apt_update_once "$pkg"
		ver=$(apt_candidate "$pkg")
	fi
	if [[ -z $ver || $ver == "(none)" ]]; then
		deb=$(cached_deb "$pkg")
		[[ -n $deb ]] || die "package $pkg: apt knows no version and none is cached in $CACHE"
		log "package $pkg: apt knows no version; using cached $(basename "$deb")"
		echo "$deb"; return 0
	fi
	# apt-get download names the file pkg_version_arch.deb, ':' as %3a.
	quoted=${ver//:/%3a}
	for deb in "$CACHE/${pkg}_${quoted}_"*.deb; do
		if [[ -f $deb ]] && dpkg-deb -f "$deb" Version >/dev/null 2>&1; then
			echo "$deb"; return 0
		fi
	done
	log "downloading $pkg=$ver"
	# _apt must be able to write here, else apt warns and downloads unsandboxed.
	chmod 0777 "$CACHE" 2>/dev/null || true
	if ! (cd "$CACHE" && apt-get download -q "$pkg=$ver" >&2); then
		deb=$(cached_deb "$pkg")
		[[ -n $deb ]] || die "apt-get download $pkg=$ver failed and no older .deb is cached in $CACHE"
		log "apt-get download $pkg=$ver failed; using cached $(basename "$deb")"
		echo "$deb"; return 0
	fi
	for deb in "$CACHE/${pkg}_${quoted}_"*.deb; do
		if [[ -f $deb ]]; then
			dpkg-deb -f "$deb" Version >/dev/null 2>&1 || die "downloaded $(basename "$deb") is not a valid .deb"
			touch "$deb" # apt keeps the server's mtime; outputs must compare against now
			echo "$deb"; return 0
		fi
	done
	die "apt-get download $pkg=$ver left no ${pkg}_${quoted}_*.deb in $CACHE"
}

# The concrete kernel package: linux-image-amd64 Depends: linux-image-<abi>-amd64.
resolve_kernel_pkg() {
	local dep
	if [[ -n ${LINUX_IMAGE_PKG:-} ]]; then echo "$LINUX_IMAGE_PKG"; return 0; fi
	if [[ ${LINUX_GUEST_OFFLINE:-0} != 1 ]]; then
		local cand
		cand=$(apt_candidate "$META_PKG")
		if [[ -z $cand || $cand == "(none)" ]]; then
			apt_update_once "$META_PKG"
			cand=$(apt_candidate "$META_PKG")
		fi
		if [[ -n $cand && $cand != "(none)" ]]; then
			dep=$(apt-cache depends "$META_PKG=$cand" 2>/dev/null |
				awk '!d && $1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; d = 1 }')
			[[ -n $dep ]] && { echo "$dep"; return 0; }
			log "$META_PKG $cand has no linux-image-<abi>-amd64 dependency"
		fi
	fi
	# Offline or apt unusable: the newest linux-image-*-amd64 .deb in the cache.
	local f best="" bestv="" v
	for f in "$CACHE"/linux-image-[0-9]*-amd64_*.deb; do
		[[ -f $f ]] || continue
		v=$(dpkg-deb -f "$f" Version 2>/dev/null) || continue
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$bestv"; then best=$f bestv=$v; fi
	done
	if [[ -z $best ]]; then
		[[ ${LINUX_GUEST_OFFLINE:-0} == 1 ]] && die "offline (LINUX_GUEST_OFFLINE=1) and no linux-image-*-amd64 .deb is cached in $CACHE"
		die "cannot resolve $META_PKG with apt-cache and no linux-image-*-amd64 .deb is cached in $CACHE"
	fi
	dpkg-deb -f "$best" Package
}

KPKG=$(resolve_kernel_pkg)
KDEB=$(fetch_deb "$KPKG")
BBDEB=$(fetch_deb "$BB_PKG")
KVER_DEB=$(dpkg-deb -f "$KDEB" Version)
BBVER_DEB=$(dpkg-deb -f "$BBDEB" Version)
VERSION_TEXT="$KPKG $KVER_DEB
$BB_PKG $BBVER_DEB"

OUTPUTS=("$OUTDIR/bzImage" "$OUTDIR/vmlinux" "$OUTDIR/initramfs.cpio.gz" "$OUTDIR/VERSION")
up_to_date() {
	local o
	for o in "${OUTPUTS[@]}"; do
		[[ -s $o && $o -nt $KDEB && $o -nt $BBDEB && $o -nt $SELF ]] || return 1
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
log "extracting $(basename "$KDEB") and $(basename "$BBDEB")"
dpkg-deb -x "$KDEB" "$TMP/kernel" || die "dpkg-deb -x $KDEB failed (corrupt download? delete it and rerun)"
dpkg-deb -x "$BBDEB" "$TMP/busybox" || die "dpkg-deb -x $BBDEB failed (corrupt download? delete it and rerun)"

shopt -s nullglob
vmlinuz=("$TMP"/kernel/boot/vmlinuz-*)
shopt -u nullglob
[[ ${#vmlinuz[@]} == 1 ]] || die "$KPKG: expected one boot/vmlinuz-* in $(basename "$KDEB"), found ${#vmlinuz[@]}"
VMLINUZ=${vmlinuz[0]}
KREL=${VMLINUZ##*/vmlinuz-}
MODDIR=$TMP/kernel/lib/modules/$KREL
[[ -d $MODDIR ]] || die "$KPKG: no lib/modules/$KREL in $(basename "$KDEB")"
BUSYBOX=$TMP/busybox/bin/busybox
[[ -x $BUSYBOX ]] || die "$BB_PKG: no executable bin/busybox in $(basename "$BBDEB")"

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
mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,lib/modules}
cp "$BUSYBOX" "$ROOT/bin/busybox"
"$BUSYBOX" --list-full >"$TMP/applets" 2>/dev/null || die "$BB_PKG: 'busybox --list-full' failed on this host"
while read -r applet; do
	[[ -n $applet && $applet != bin/busybox ]] || continue
	mkdir -p "$ROOT/$(dirname "$applet")"
	[[ -e $ROOT/$applet ]] || ln -s /bin/busybox "$ROOT/$applet"
done <"$TMP/applets"
for a in sh mount insmod poweroff; do
	[[ -e $ROOT/bin/$a || -e $ROOT/sbin/$a ]] || die "$BB_PKG: busybox lacks the '$a' applet"
done
# The kernel's built-in initramfs already has /dev/console; add it too when
# allowed (root), so the image does not depend on that.
mknod -m 600 "$ROOT/dev/console" c 5 1 2>/dev/null || true
mknod -m 666 "$ROOT/dev/null" c 1 3 2>/dev/null || true

# Module file for a module name (names use '_', files may use '-').
find_module() {
	local name=$1 f
	f=$(find "$MODDIR/kernel" \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" -o -name "$name.ko.gz" \
		-o -name "${name//_/-}.ko" -o -name "${name//_/-}.ko.xz" -o -name "${name//_/-}.ko.zst" -o -name "${name//_/-}.ko.gz" \) -print -quit)
	echo "$f"
}
is_builtin() {
	grep -qE "(^|/)($1|${1//_/-})\.ko\$" "$MODDIR/modules.builtin" 2>/dev/null
}
# Decompressed copy of a module into the image; prints its depends= list.
ORDER=()
declare -A SEEN=()
add_module() {
	local name=$1 f out dep deps
	[[ -n ${SEEN[$name]:-} ]] && return 0
	SEEN[$name]=1
	f=$(find_module "$name")
	if [[ -z $f ]]; then
		is_builtin "$name" && { log "module $name is built into $KREL"; return 0; }
		die "$KPKG: module $name.ko not found under lib/modules/$KREL"
	fi
	out=$ROOT/lib/modules/$name.ko
	case $f in
	*.ko.xz) xz -dc "$f" >"$out" ;;
	*.ko.zst) zstd -dcq "$f" >"$out" ;;
	*.ko.gz) gzip -dc "$f" >"$out" ;;
	*) cp "$f" "$out" ;;
	esac || die "$KPKG: cannot decompress/copy ${f#"$TMP"/kernel/}"
	deps=$(tr '\0' '\n' <"$out" | awk '!d && /^depends=/ { print substr($0, 9); d = 1 }')
	for dep in ${deps//,/ }; do add_module "$dep"; done
	ORDER+=("$name")
}
for m in "${MOD_TARGETS[@]}"; do add_module "$m"; done
printf '%s\n' "${ORDER[@]}" >"$ROOT/lib/modules/load-order"
log "modules: ${ORDER[*]}"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# vmm Linux test guest (scripts/build-linux-guest.sh).
# Kernel command line: vmmguest.shell=1 drops to a shell instead of powering off.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
echo "vmm-linux-guest: init reached (kernel $(uname -r))"
ok=0 bad=0
for m in $(cat /lib/modules/load-order); do
	if insmod /lib/modules/$m.ko; then
		ok=$((ok + 1))
	else
		bad=$((bad + 1))
		echo "vmm-linux-guest: insmod $m failed"
	fi
done
echo "vmm-linux-guest: modules loaded: $ok ok, $bad failed"
nics=""
for d in /sys/class/net/*; do
	n=${d##*/}
	[ "$n" = lo ] && continue
	drv=$(basename "$(readlink "$d/device/driver" 2>/dev/null)" 2>/dev/null)
	nics="$nics $n:${drv:-?}"
done
echo "vmm-linux-guest: nics:${nics:- none}"
case " $(cat /proc/cmdline) " in
*" vmmguest.shell=1 "*) echo "vmm-linux-guest: shell"; exec sh ;;
esac
echo "vmm-linux-guest: powering off"
sync
poweroff -f
# Not reached unless poweroff failed; the kernel panics when init exits.
sleep 1
exit 1
EOF
chmod 755 "$ROOT/init"
echo "$VERSION_TEXT" >"$ROOT/etc/vmm-linux-guest-version"

(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort |
	cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$TMP/initramfs.cpio.gz" ||
	die "packing the initramfs with cpio/gzip failed"

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
