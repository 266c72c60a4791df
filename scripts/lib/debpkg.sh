# Debian packages as build inputs (source it; bash). Used by
# scripts/build-linux-guest.sh (the Linux test guest) and testhost/build (the
# nested test host's kernel): both download a kernel and busybox-static with
# apt, extract them with dpkg-deb and pack a busybox initramfs with a few
# modules.
#
# The functions that may run apt-get update (deb_resolve_kernel, deb_fetch)
# hand their answer back in a variable, not on stdout: called as $(...) they
# would run in a subshell, and whether apt-get update already ran would be
# forgotten there, so each call would run it again.
#
# The caller sets, before calling anything:
#   DEB_LOG_PREFIX  word in front of every message ("build-linux-guest")
#   DEB_CACHE       folder for the downloaded .debs (created)
#   DEB_OFFLINE     1: use only what DEB_CACHE holds, never ask apt
# and may call deb_use_suite SUITE to fetch from another suite of the
# machine's own Debian archive (e.g. bookworm-backports) through a private apt
# state in DEB_CACHE/apt, leaving the system's apt configuration untouched.

DEB_APT_OPTS=()

deb_log() { echo "$DEB_LOG_PREFIX: $*" >&2; }
deb_die() { echo "$DEB_LOG_PREFIX: error: $*" >&2; exit 1; }

# The Debian archive this machine's apt uses (the URI of its first source
# whose suite is a Debian release, not its -security or -updates companion).
# Prints nothing when there is none.
deb_archive_uri() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk '
			/^[ \t]*$/ { if (uri != "" && main) { print uri; exit } uri = ""; main = 0; next }
			$1 == "URIs:" { uri = $2 }
			$1 == "Suites:" { for (i = 2; i <= NF; i++) if ($i !~ /-(security|updates|backports)$/) main = 1 }
			END { if (uri != "" && main) print uri }' "$f"
	done | head -n 1 | grep . && return 0
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while (i <= NF && $i !~ /\]$/) i++; if ($2 ~ /^\[/) i++;
			if ($(i + 1) !~ /-(security|updates|backports)$/) { print $i; exit } }' "$f"
	done | head -n 1
}

# The Debian release codename of this machine (bookworm).
deb_codename() {
	. /etc/os-release 2>/dev/null
	echo "${VERSION_CODENAME:-bookworm}"
}

# Fetch from SUITE (e.g. bookworm-backports) of the machine's archive only.
deb_use_suite() {
	local suite=$1 uri dir
	[[ $DEB_OFFLINE == 1 ]] && return 0
	uri=$(deb_archive_uri)
	[[ -n $uri ]] || deb_die "no Debian archive in this machine's apt sources (/etc/apt/sources.list*); cannot reach $suite"
	dir=$DEB_CACHE/apt
	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" >"$dir/sources.list"
	DEB_APT_OPTS=(-o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir" -o Dir::State::status=/dev/null)
	# A day-old package list is fresh enough; apt-get update takes a second.
	if [[ -z $(find "$dir/lists" -maxdepth 1 -name '*Packages*' -mmin -1440 -print -quit) ]]; then
		deb_log "apt-get update ($suite)"
		apt-get "${DEB_APT_OPTS[@]}" update -qq >&2 || deb_log "apt-get update of $suite failed"
	fi
}

deb_candidate() {
	apt-cache "${DEB_APT_OPTS[@]}" policy "$1" 2>/dev/null | awk '/^  Candidate:/ { print $2 }'
}

# Newest cached .deb of a package name (by dpkg version order), or nothing.
deb_cached() {
	local pkg=$1 best="" bestv="" f v
	for f in "$DEB_CACHE/${pkg}"_*.deb; do
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

# Sets DEB_CANDIDATE to the version apt would fetch of package $1, empty when
# it knows none; runs apt-get update (once per script) when apt does not know
# the package.
DEB_UPDATED=0
deb_candidate_or_update() {
	DEB_CANDIDATE=$(deb_candidate "$1")
	if [[ (-z $DEB_CANDIDATE || $DEB_CANDIDATE == "(none)") && $DEB_UPDATED == 0 &&
		${#DEB_APT_OPTS[@]} == 0 ]]; then
		DEB_UPDATED=1
		deb_log "apt-cache does not know $1; running apt-get update"
		apt-get update -qq >&2 || deb_log "apt-get update failed"
		DEB_CANDIDATE=$(deb_candidate "$1")
	fi
	[[ $DEB_CANDIDATE != "(none)" ]] || DEB_CANDIDATE=
}

# Sets DEB_FILE to the path of the .deb for package $1 (downloading it if
# needed).
deb_fetch() {
	local pkg=$1 ver deb quoted
	if [[ $DEB_OFFLINE == 1 ]]; then
		deb=$(deb_cached "$pkg")
		[[ -n $deb ]] || deb_die "offline and no cached .deb of $pkg in $DEB_CACHE"
		DEB_FILE=$deb; return 0
	fi
	deb_candidate_or_update "$pkg"
	ver=$DEB_CANDIDATE
	if [[ -z $ver ]]; then
		deb=$(deb_cached "$pkg")
		[[ -n $deb ]] || deb_die "package $pkg: apt knows no version and none is cached in $DEB_CACHE"
		deb_log "package $pkg: apt knows no version; using cached $(basename "$deb")"
		DEB_FILE=$deb; return 0
	fi
	# apt-get download names the file pkg_version_arch.deb, ':' as %3a.
	quoted=${ver//:/%3a}
	for deb in "$DEB_CACHE/${pkg}_${quoted}_"*.deb; do
		if [[ -f $deb ]] && dpkg-deb -f "$deb" Version >/dev/null 2>&1; then
			DEB_FILE=$deb; return 0
		fi
	done
	deb_log "downloading $pkg=$ver"
	# _apt must be able to write here, else apt warns and downloads unsandboxed.
	chmod 0777 "$DEB_CACHE" 2>/dev/null || true
	if ! (cd "$DEB_CACHE" && apt-get "${DEB_APT_OPTS[@]}" download -q "$pkg=$ver" >&2); then
		deb=$(deb_cached "$pkg")
		[[ -n $deb ]] || deb_die "apt-get download $pkg=$ver failed and no older .deb is cached in $DEB_CACHE"
		deb_log "apt-get download $pkg=$ver failed; using cached $(basename "$deb")"
		DEB_FILE=$deb; return 0
	fi
	for deb in "$DEB_CACHE/${pkg}_${quoted}_"*.deb; do
		if [[ -f $deb ]]; then
			dpkg-deb -f "$deb" Version >/dev/null 2>&1 || deb_die "downloaded $(basename "$deb") is not a valid .deb"
			touch "$deb" # apt keeps the server's mtime; outputs must compare against now
			DEB_FILE=$deb; return 0
		fi
	done
	deb_die "apt-get download $pkg=$ver left no ${pkg}_${quoted}_*.deb in $DEB_CACHE"
}

# Sets DEB_KPKG to the concrete kernel package: linux-image-amd64 Depends:
# linux-image-<abi>-amd64. $1: a pinned package name, or empty.
deb_resolve_kernel() {
	local pin=$1 meta=linux-image-amd64 cand dep
	if [[ -n $pin ]]; then DEB_KPKG=$pin; return 0; fi
	if [[ $DEB_OFFLINE != 1 ]]; then
		deb_candidate_or_update "$meta"
		cand=$DEB_CANDIDATE
		if [[ -n $cand ]]; then
			dep=$(apt-cache "${DEB_APT_OPTS[@]}" depends "$meta=$cand" 2>/dev/null |
				awk '!d && $1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; d = 1 }')
			[[ -n $dep ]] && { DEB_KPKG=$dep; return 0; }
			deb_log "$meta $cand has no linux-image-<abi>-amd64 dependency"
		fi
	fi
	# Offline or apt unusable: the newest linux-image-*-amd64 .deb in the cache.
	local f best="" bestv="" v
	for f in "$DEB_CACHE"/linux-image-[0-9]*-amd64_*.deb; do
		[[ -f $f ]] || continue
		v=$(dpkg-deb -f "$f" Version 2>/dev/null) || continue
		if [[ -z $best ]] || dpkg --compare-versions "$v" gt "$bestv"; then best=$f bestv=$v; fi
	done
	[[ -n $best ]] || deb_die "cannot resolve $meta with apt and no linux-image-*-amd64 .deb is cached in $DEB_CACHE"
	DEB_KPKG=$(dpkg-deb -f "$best" Package)
}

# Extracts kernel package $1 into $2; sets DEB_KREL (its release, the name of
# lib/modules/*), DEB_VMLINUZ and DEB_MODDIR.
deb_extract_kernel() {
	local deb=$1 dir=$2 vmlinuz
	dpkg-deb -x "$deb" "$dir" || deb_die "dpkg-deb -x $deb failed (corrupt download? delete it and rerun)"
	shopt -s nullglob
	vmlinuz=("$dir"/boot/vmlinuz-*)
	shopt -u nullglob
	[[ ${#vmlinuz[@]} == 1 ]] || deb_die "$(basename "$deb"): expected one boot/vmlinuz-*, found ${#vmlinuz[@]}"
	DEB_VMLINUZ=${vmlinuz[0]}
	DEB_KREL=${DEB_VMLINUZ##*/vmlinuz-}
	DEB_MODDIR=$dir/lib/modules/$DEB_KREL
	[[ -d $DEB_MODDIR ]] || deb_die "$(basename "$deb"): no lib/modules/$DEB_KREL"
}

# A busybox root in $1 from busybox-static's .deb $2: the binary, a link per
# applet, /dev/console and /dev/null.
deb_busybox_root() {
	local root=$1 deb=$2 x bb applet
	x=$(mktemp -d "${TMPDIR:-/tmp}/vmm-busybox.XXXXXX")
	dpkg-deb -x "$deb" "$x" || deb_die "dpkg-deb -x $deb failed (corrupt download? delete it and rerun)"
	bb=$x/bin/busybox
	[[ -x $bb ]] || deb_die "$(basename "$deb"): no executable bin/busybox"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,root,lib/modules}
	cp "$bb" "$root/bin/busybox"
	"$bb" --list-full >"$x/applets" 2>/dev/null || deb_die "busybox: 'busybox --list-full' failed on this host"
	while read -r applet; do
		[[ -n $applet && $applet != bin/busybox ]] || continue
		mkdir -p "$root/$(dirname "$applet")"
		[[ -e $root/$applet ]] || ln -s /bin/busybox "$root/$applet"
	done <"$x/applets"
	rm -rf "$x"
	for applet in sh mount insmod poweroff switch_root; do
		[[ -e $root/bin/$applet || -e $root/sbin/$applet ]] || deb_die "busybox lacks the '$applet' applet"
	done
	# The kernel's built-in initramfs already has /dev/console; add it too when
	# allowed (root), so the image does not depend on that.
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null || true
}

# Copies modules $3... (names) and everything they depend on from the kernel
# modules folder $2 into $1/lib/modules/NAME.ko, decompressed; writes their
# load order (dependencies first) to $1/lib/modules/load-order.
deb_add_modules() {
	local root=$1 moddir=$2
	shift 2
	local -a order=()
	local -A seen=()
	_deb_add_module() {
		local name=$1 f out dep deps
		[[ -n ${seen[$name]:-} ]] && return 0
		seen[$name]=1
		f=$(find "$moddir/kernel" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) -print -quit)
		if [[ -z $f ]]; then
			grep -qE "(^|/)($name|${name//_/-})\.ko\$" "$moddir/modules.builtin" 2>/dev/null &&
				{ deb_log "module $name is built in"; return 0; }
			deb_die "module $name.ko not found under $moddir"
		fi
		out=$root/lib/modules/$name.ko
		case $f in
		*.ko.xz) xz -dc "$f" >"$out" ;;
		*.ko.zst) zstd -dcq "$f" >"$out" ;;
		*.ko.gz) gzip -dc "$f" >"$out" ;;
		*) cp "$f" "$out" ;;
		esac || deb_die "cannot decompress/copy module $f"
		deps=$(tr '\0' '\n' <"$out" | awk '!d && /^depends=/ { print substr($0, 9); d = 1 }')
		for dep in ${deps//,/ }; do _deb_add_module "$dep"; done
		order+=("$name")
	}
	local m
	for m in "$@"; do _deb_add_module "$m"; done
	printf '%s\n' "${order[@]}" >"$root/lib/modules/load-order"
	deb_log "modules: ${order[*]}"
}

# Packs the folder $1 as a newc cpio, gzip'ed, into $2.
deb_pack_initramfs() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc -R 0:0 --quiet) | gzip -9 -n >"$2" ||
		deb_die "packing the initramfs with cpio/gzip failed"
}

# Follows symlinks of path $2 (absolute, as inside the tree) within the
# extracted package tree $1: an absolute link target is taken inside $1, not
# on this machine. Prints the tree path of the file, or fails.
_deb_tree_path() {
	local tree=$1 p=$2 t n=0
	while [[ -L $tree$p ]]; do
		((n++ < 16)) || return 1
		t=$(readlink "$tree$p")
		if [[ $t == /* ]]; then p=$t; else p=$(dirname "$p")/$t; fi
	done
	[[ -f $tree$p ]] && echo "$tree$p"
}

# Copies the dynamically linked executables $3... (absolute paths inside the
# extracted package tree $2, e.g. /usr/bin/iperf3) into the root $1 at the
# same paths, with their program interpreter at its path (PT_INTERP,
# /lib64/ld-linux-x86-64.so.2) and every shared library they need
# (DT_NEEDED, recursively) into $1/lib/x86_64-linux-gnu, one of the loader's
# default folders. Only what is needed, so the initramfs stays small; dies
# naming a library that no extracted package holds.
deb_add_elf() {
	local root=$1 tree=$2
	shift 2
	local -A have=()
	local -a todo=() libs=()
	local exe src interp lib d dst
	for exe in "$@"; do
		src=$(_deb_tree_path "$tree" "$exe") || deb_die "$exe: not in the extracted packages"
		interp=$(readelf -l "$src" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]$/\1/p')
		[[ -n $interp ]] || deb_die "$exe: no program interpreter (not dynamically linked?)"
		if [[ -z ${have[${interp##*/}]:-} ]]; then
			d=$(_deb_tree_path "$tree" "$interp") || deb_die "$exe: its interpreter $interp is not in the extracted packages (add libc6)"
			mkdir -p "$root$(dirname "$interp")"
			cp "$d" "$root$interp"
			# libc.so.6 needs the loader by name; the loaded one answers.
			have[${interp##*/}]=1
			libs+=("$interp")
		fi
		mkdir -p "$root$(dirname "$exe")"
		cp "$src" "$root$exe"
		todo+=("$src")
	done
	mkdir -p "$root/lib/x86_64-linux-gnu"
	while ((${#todo[@]})); do
		src=${todo[0]}
		todo=("${todo[@]:1}")
		for lib in $(readelf -d "$src" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
			[[ -z ${have[$lib]:-} ]] || continue
			have[$lib]=1
			dst=""
			for d in /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /lib /usr/lib; do
				dst=$(_deb_tree_path "$tree" "$d/$lib") && break
			done
			[[ -n $dst ]] || deb_die "$lib (needed by ${src#"$tree"}) is in none of the extracted packages; add its package"
			cp "$dst" "$root/lib/x86_64-linux-gnu/$lib"
			libs+=("/lib/x86_64-linux-gnu/$lib")
			todo+=("$dst")
		done
	done
	deb_log "$*: with ${libs[*]}"
}
