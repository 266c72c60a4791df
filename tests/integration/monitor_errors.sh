#!/bin/bash
# Bad input gets a clear message naming the problem and a distinct exit
# status, never a crash or a hang (see monitor/README.md for the statuses).
. tests/lib/common.sh
[ -x "$MONITOR" ] || fail "build first: $MONITOR"

# expect STATUS PATTERN ARGS...: the monitor exits STATUS and stderr matches PATTERN.
expect() {
	local want=$1 pattern=$2
	shift 2
	timeout 20 "$MONITOR" --stats none "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "$*: exit $rc, want $want; stderr: $(cat "$TMP/err")"
	grep -qE "$pattern" "$TMP/err" || fail "$*: stderr lacks /$pattern/: $(cat "$TMP/err")"
	echo "ok: exit $rc: $(head -c 200 "$TMP/err" | head -n 1)"
}

: >"$TMP/empty"
head -c 4096 /dev/urandom >"$TMP/junk"
echo '{"kernel": ' >"$TMP/bad.json"
echo '{"kernel": "/x", "memroy_mib": 5}' >"$TMP/unknown.json"
# A bzImage header with boot protocol 2.06 (too old for the 64-bit entry).
python3 - "$TMP/old-bzimage" <<'PY'
import struct, sys
k = bytearray(8192)
k[0x1f1] = 1
k[0x1fe:0x200] = b"\x55\xaa"
k[0x202:0x206] = b"HdrS"
k[0x206:0x208] = struct.pack("<H", 0x0206)
open(sys.argv[1], "wb").write(k)
PY

expect 64 'unknown option' --kernel "$GUEST" --bogus
expect 64 'no kernel given' --memory 64
expect 64 'missing value' --kernel
expect 64 "'12x' is not a number" --kernel "$GUEST" --memory 12x
expect 64 'unexpected argument' --kernel "$GUEST" stray
expect 66 "kernel /nonexistent/vmlinux: no such file" --kernel /nonexistent/vmlinux
expect 66 "initrd /nonexistent/initrd: no such file" --kernel "$GUEST" --initrd /nonexistent/initrd
expect 65 "file is empty" --kernel "$TMP/empty"
expect 65 "not a PVH ELF nor a Linux bzImage" --kernel "$TMP/junk"
expect 65 "no PVH entry note" --kernel /bin/true
expect 65 "protocol 2.06 is too old" --kernel "$TMP/old-bzimage"
expect 78 'memory: 4 MiB is out of range' --kernel "$GUEST" --memory 4
expect 78 'memory: 999999 MiB is out of range' --kernel "$GUEST" --memory 999999
expect 78 'vcpus: 0 is out of range' --kernel "$GUEST" --vcpus 0
expect 64 'cmdline: .* longer than' --kernel "$GUEST" --cmdline "$(head -c 5000 /dev/zero | tr '\0' a)"
expect 65 "config $TMP/bad.json: invalid JSON" --config "$TMP/bad.json"
expect 64 'unknown key' --config "$TMP/unknown.json"
expect 66 'config /nonexistent.json' --config /nonexistent.json
expect 64 "console: 'tcp:1'" --kernel "$GUEST" --console tcp:1

# /dev/kvm absent (a private /dev without it) and not permitted (as nobody).
# expect_no_kvm STATUS PATTERN ARGS...: as expect, in a /dev without kvm.
expect_no_kvm() {
	local want=$1 pattern=$2
	shift 2
	unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh \
		"$MONITOR" --stats none "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local rc=$?
	[ $rc -eq "$want" ] || fail "no /dev/kvm: $*: exit $rc, want $want: $(cat "$TMP/err")"
	grep -q "$pattern" "$TMP/err" || fail "no /dev/kvm: $*: $(cat "$TMP/err")"
	echo "ok: exit $rc without /dev/kvm: $(cat "$TMP/err")"
}
if unshare -m true 2>/dev/null; then
	expect_no_kvm 69 '/dev/kvm: no such device' --kernel "$GUEST"
	# The files are checked before KVM: a bad kernel is named as such there too.
	expect_no_kvm 65 'not a PVH ELF nor a Linux bzImage' --kernel "$TMP/junk"
fi
if [ "$(id -u)" = 0 ] && [ "$(stat -c %a /dev/kvm 2>/dev/null)" = 600 ] && command -v setpriv >/dev/null; then
	cp "$GUEST" "$TMP/g.elf" && chmod 755 "$TMP" && chmod 644 "$TMP/g.elf"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$MONITOR" --kernel "$TMP/g.elf" \
		--stats none >"$TMP/out" 2>"$TMP/err" </dev/null
	rc=$?
	[ $rc -eq 77 ] || fail "unpermitted /dev/kvm: exit $rc, want 77: $(cat "$TMP/err")"
	grep -q 'permission denied (add the user to the kvm group)' "$TMP/err" || fail "$(cat "$TMP/err")"
	echo "ok: exit 77: $(cat "$TMP/err")"
fi
echo pass
