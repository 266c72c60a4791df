#!/bin/bash
# The test host itself (testhost/README.md), from outside: it needs QEMU, not
# KVM. In one boot: /dev/kvm inside with kvm_amd loaded, a VM created there,
# the checkout writable at its own path, the output streamed, the exit status
# passed back. Then: a timeout ends QEMU and leaves no run behind (124); an
# inner kernel panic fails at once with the console's tail (125); SIGINT and
# SIGTERM to the runner leave nothing running (130); a test host stuck for
# good is found and ended (123); a missing QEMU and a bad kernel package get
# a clear error (125) without a boot.
. tests/lib/common.sh
[ "$(id -u)" = 0 ] || skip "needs root"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 not installed (scripts/install-deps.sh)"
[ -x build/vmm-monitor ] && [ -f build/netguest.elf ] || fail "build first: build/vmm-monitor, build/netguest.elf"

# This test's runs go to a folder of their own (make check may run another
# test host beside it): no QEMU of them and no run directory may be left.
export TESTHOST_RUNS=build/testhost/runs-test.$$
runs=$(realpath -m "$TESTHOST_RUNS")
CLEANUP+=("rm -rf '$runs'")
left_behind() {
	pgrep -f "testhost.run=$runs/" >/dev/null && { echo "a test host QEMU still runs: $(pgrep -af "testhost.run=$runs/")"; return 0; }
	[ -n "$(ls -A "$runs" 2>/dev/null)" ] && { echo "run directories left: $(ls "$runs")"; return 0; }
	return 1
}

# 1. KVM inside, the checkout writable, output streamed, the status returned.
token=$RANDOM$RANDOM
rm -f build/testhost-test.out
testhost/run --timeout 600 -- bash -c '
	set -e
	[ -c /dev/kvm ] || { echo "no /dev/kvm"; exit 3; }
	grep -q "^kvm_amd " /proc/modules || { echo "kvm_amd not loaded"; exit 3; }
	[ "$TESTHOST" = 1 ]
	[ -d /sys/fs/bpf ] && [ -d /sys/fs/cgroup ] && [ -e /dev/fd/0 ] && [ -d /dev/pts ]
	build/vmm-monitor --kernel build/netguest.elf --cmdline selftest --stats none >/tmp/selftest 2>&1
	grep -q "result=pass" /tmp/selftest || { cat /tmp/selftest; exit 3; }
	echo "inside '"$token"' $(uname -r) $(pwd)" | tee build/testhost-test.out
	exit 7' >"$TMP/out" 2>&1
rc=$?
cat "$TMP/out"
[ $rc -eq 7 ] || fail "exit status: got $rc, want 7 (the command's)"
grep -q "^inside $token .* $PWD\$" "$TMP/out" || fail "the command's output did not come back on stdout"
grep -q "^inside $token" build/testhost-test.out || fail "a file written inside the checkout is not here"
rm -f build/testhost-test.out
left_behind && fail "after a run: $(left_behind)"
echo "ok: /dev/kvm and kvm_amd inside, netguest selftest passes there, exit status 7 returned"

# 2. A timeout kills the run: 124, and nothing is left.
start=$(date +%s)
testhost/run --timeout 40 -- sleep 1000 >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 124 ] || fail "timeout: got $rc, want 124: $(tail -n 5 "$TMP/out")"
[ $(($(date +%s) - start)) -lt 120 ] || fail "timeout: the 40 s run took $(($(date +%s) - start)) s"
grep -q "timed out after 40s" "$TMP/out" || fail "timeout: no message: $(tail -n 5 "$TMP/out")"
grep -q "testhost/build: building" "$TMP/out" && fail "the kernel was built again although it was up to date: $(grep building "$TMP/out")"
left_behind && fail "after a timeout: $(left_behind)"
echo "ok: --timeout 40 ends the run with 124 and leaves nothing"

# 3. An inner kernel panic ends the run at once, with the console's tail.
start=$(date +%s)
testhost/run --timeout 600 -- bash -c 'echo 1 >/proc/sys/kernel/sysrq; echo c >/proc/sysrq-trigger; sleep 1000' >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 125 ] || fail "panic: got $rc, want 125: $(tail -n 5 "$TMP/out")"
grep -q "the inner kernel died" "$TMP/out" || fail "panic: not reported: $(tail -n 20 "$TMP/out")"
grep -q "Kernel panic" "$TMP/out" || fail "panic: the console's tail is missing: $(tail -n 20 "$TMP/out")"
[ $(($(date +%s) - start)) -lt 300 ] || fail "panic: noticed only after $(($(date +%s) - start)) s"
left_behind && fail "after a panic: $(left_behind)"
echo "ok: an inner panic fails the run at once (125) with the console's tail"

# 4. SIGINT (Ctrl-C) and SIGTERM to the runner: 130, nothing left.
for sig in INT TERM; do
	python3 - "$sig" <<'PY' >"$TMP/out" 2>&1
import signal, subprocess, sys, time
sig = getattr(signal, "SIG" + sys.argv[1])
p = subprocess.Popen(["testhost/run", "--", "sleep", "1000"],
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
time.sleep(15)
p.send_signal(sig)
try:
    sys.exit(p.wait(timeout=30))
except subprocess.TimeoutExpired:
    p.kill()
    sys.exit(99)
PY
	rc=$?
	[ $rc -eq 130 ] || fail "SIG$sig: got $rc, want 130: $(tail -n 5 "$TMP/out")"
	left_behind && fail "after SIG$sig: $(left_behind)"
	echo "ok: SIG$sig ends the run with 130 and leaves nothing"
done

# 5. The fourth hazard (README.md): a test host halted for good with an
# interrupt pending. testhost/stuck-check against a fake QEMU monitor that
# answers as the stuck one did (its captured registers and local APIC), then
# as a running one, a halted one with nothing pending, one with an interrupt
# in service; no monitor at all is no verdict.
hmp_fake() { # HLT IRR ISR: serves one connection on $TMP/hmp.sock, in the background
	rm -f "$TMP/hmp.sock"
	python3 - "$TMP/hmp.sock" "$@" <<'PY' &
import socket, sys
path, hlt, irr, isr = sys.argv[1:]
regs = ("CPU#0\nRAX=0000000000000000 RBX=0000000000000000\n"
        f"RIP=ffffffff9f8d1e9f RFL=00000206 [-----P-] CPL=0 II=0 A20=1 SMM=0 HLT={hlt}\n"
        "CR0=80050033 CR2=00007ff852cfe000\n")
lapic = ("dumping local APIC state for CPU 0 \n\n"
         "LVTT\t 0x000000ec active-hi edge                 one-shot     Fixed  (vec 236)\n"
         f"ISR\t {isr}\nIRR\t {irr}\n\nAPR 0x00 TPR 0x10 DFR 0x0f LDR 0x00 PPR 0x10\n")
srv = socket.socket(socket.AF_UNIX)
srv.bind(path)
srv.listen(1)
c, _ = srv.accept()
c.sendall(b"QEMU 7.2.22 monitor - type 'help' for more information\r\n(qemu) ")
buf = b""
while True:
    d = c.recv(4096)
    if not d:
        break
    buf += d
    while b"\n" in buf:
        line, buf = buf.split(b"\n", 1)
        cmd = line.decode().strip()
        out = regs if cmd.startswith("info registers") else lapic if cmd == "info lapic" else ""
        c.sendall(cmd.encode() + b"\r\n" + out.replace("\n", "\r\n").encode() + b"(qemu) ")
PY
	for _ in $(seq 50); do [ -S "$TMP/hmp.sock" ] && return; sleep 0.1; done
	fail "the fake monitor did not start"
}
hmp_fake 1 "236 " "(none)"
why=$(timeout 20 testhost/stuck-check "$TMP/hmp.sock") || fail "stuck-check: a halted CPU with vector 236 pending was not called stuck"
wait
echo "$why" | grep -q "halted.*vector(s) 236 pending.*PPR 0x10" || fail "stuck-check's evidence: '$why'"
echo "ok: stuck-check: $why"
for state in "0|236 |(none)|running" "1||(none)|nothing pending" "1|236 |236|one in service" "1|20 |(none)|under the priority"; do
	IFS='|' read -r hlt irr isr what <<<"$state"
	hmp_fake "$hlt" "$irr" "$isr"
	timeout 20 testhost/stuck-check "$TMP/hmp.sock" >"$TMP/out" 2>&1
	rc=$?
	wait
	[ $rc -eq 1 ] || fail "stuck-check, $what: exit $rc, want 1: $(cat "$TMP/out")"
done
rm -f "$TMP/hmp.sock"
timeout 20 testhost/stuck-check "$TMP/hmp.sock" >/dev/null 2>&1
[ $? -eq 1 ] || fail "stuck-check without a monitor: want exit 1 (no verdict)"
echo "ok: stuck-check: not stuck when running, with nothing pending, one in service or under the priority, or no monitor"

# The watch in testhost/run: a check that always says stuck (an idle test
# host uses under 1 % of a CPU, as a stuck one does) ends the run with 123
# and the evidence, leaving nothing.
printf '#!/bin/sh\necho "fake: halted with vector 236 pending"\n' >"$TMP/stuck"
chmod +x "$TMP/stuck"
start=$(date +%s)
TESTHOST_STUCK_S=20 TESTHOST_STUCK_CHECK=$TMP/stuck testhost/run --timeout 600 -- sleep 1000 >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 123 ] || fail "stuck watch: got $rc, want 123: $(tail -n 5 "$TMP/out")"
grep -q "testhost: stuck: fake: halted with vector 236 pending, for 20s" "$TMP/out" ||
	fail "stuck watch: no message: $(tail -n 5 "$TMP/out")"
[ $(($(date +%s) - start)) -lt 300 ] || fail "stuck watch: noticed only after $(($(date +%s) - start)) s"
left_behind && fail "after a stuck test host: $(left_behind)"
echo "ok: a stuck test host is ended with 123 and the evidence, nothing left"

# 6. Clear errors, no boot: no QEMU, a kernel package that does not exist.
TESTHOST_QEMU=/nonexistent/qemu testhost/run -- true >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 125 ] && grep -q "QEMU '/nonexistent/qemu' not found" "$TMP/out" ||
	fail "missing QEMU: exit $rc: $(cat "$TMP/out")"
echo "ok: $(cat "$TMP/out")"
TESTHOST_KERNEL_PKG=linux-image-0.0.0-nonexistent-amd64 testhost/run -- true >"$TMP/out" 2>&1
rc=$?
[ $rc -eq 125 ] && grep -q "linux-image-0.0.0-nonexistent-amd64" "$TMP/out" &&
	grep -q "building the test host's kernel failed" "$TMP/out" ||
	fail "bad kernel package: exit $rc: $(cat "$TMP/out")"
echo "ok: a bad kernel package: $(grep -m1 'error' "$TMP/out")"
left_behind && fail "at the end: $(left_behind)"
echo pass
