#!/bin/bash
# needs: kvm (tests/run.sh runs it in the test host where this machine has none)
# A full disk and a read-only state directory: clear errors (storage_error,
# start_failed naming the file), nothing half-written or corrupted, running
# VMs untouched, and everything works again once there is room. The state
# directory is a small tmpfs in a private mount namespace.
if [ -z "${VMMD_STORAGE_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount namespace)"; exit 77; }
	VMMD_STORAGE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. tests/vmmd/lib.sh
mkdir -p "$S"
mount -t tmpfs -o size=512k,mode=0755 tmpfs "$S" || skip "cannot mount a tmpfs"
CLEANUP+=("umount -l $S")
start_vmmd
create_idle keep
vmctl start keep >/dev/null || fail "start keep"
kpid=$(vm_pid keep)
cp "$S/vms/keep.json" "$TMP/keep.json"

# full disk
dd if=/dev/zero of="$S/fill" bs=4k 2>/dev/null
vmctl create more --kernel "$GUEST_ABS" --memory 16 2>"$TMP/err"; rc=$?
[ $rc -eq 1 ] || fail "create on a full disk: exit $rc"
grep -q 'storage_error' "$TMP/err" && grep -q 'No space left' "$TMP/err" || fail "message: $(cat "$TMP/err")"
[ -e "$S/vms/more.json" ] && fail "definition written on a full disk"
ls -A "$S/vms" | grep -q '^\.' && fail "temporary file left: $(ls -A "$S/vms")"
vmctl info more 2>/dev/null; [ $? -eq 4 ] || fail "VM known after a failed create"
cmp -s "$S/vms/keep.json" "$TMP/keep.json" || fail "keep.json changed"
[ "$(vm_pid keep)" = "$kpid" ] || fail "keep disturbed"
rm -f "$S/fill"
create_idle more

# read-only (the definitions and runtime records; logs stay open for writing)
for d in vms run; do
	mount --bind "$S/$d" "$S/$d" && mount -o remount,bind,ro "$S/$d" || fail "ro bind mount $d"
done
vmctl create third --kernel "$GUEST_ABS" --memory 16 2>"$TMP/err"; [ $? -eq 1 ] || fail "create on ro"
grep -q 'storage_error' "$TMP/err" && grep -q 'Read-only' "$TMP/err" || fail "ro create message: $(cat "$TMP/err")"
vmctl delete more 2>"$TMP/err"; [ $? -eq 1 ] || fail "delete on ro"
grep -q 'storage_error' "$TMP/err" || fail "ro delete message: $(cat "$TMP/err")"
vmctl start more 2>"$TMP/err"; [ $? -eq 1 ] || fail "start on ro"
grep -q 'start_failed' "$TMP/err" && grep -q 'Read-only' "$TMP/err" || fail "ro start message: $(cat "$TMP/err")"
[ "$(vm_state more)" = defined ] || fail "more: $(vm_state more)"
[ "$(vm_pid keep)" = "$kpid" ] && [ "$(vm_state keep)" = running ] || fail "keep disturbed by ro"
vmctl stats keep >/dev/null || fail "stats on ro"
umount "$S/vms" "$S/run" || fail "umount ro binds"
vmctl start more >/dev/null || fail "start after rw"
vmctl delete third 2>/dev/null; [ $? -eq 4 ] || fail "third exists"
for n in keep more; do vmctl stop $n >/dev/null || fail "stop $n"; vmctl delete $n >/dev/null || fail "delete $n"; done
echo pass
