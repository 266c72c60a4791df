# vmm: top-level build. Each component adds its rules in <component>/build.mk.
#   make            build everything into build/
#   make check      install missing packages, build, run all tests (unit, sanitizer, integration)
#   make bench      benchmarks (numbers side by side with peers); bench-quick: CI smoke
#   make fuzz       libFuzzer targets per device and parser (fuzz-smoke: short run, part of make check)
#   make demo       the main job: vmmd + a demo VM on the bundled guest
#   make testhost   the nested-KVM test host's kernel (testhost/; built on demand)
.DEFAULT_GOAL := all

B := build
CC ?= cc
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE \
	-I. -MMD -MP
CFLAGS += $(CFLAGS_COMMON)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS_JSON := -ljson-c
LDLIBS_THREADS := -lpthread

# Objects are built twice: plain into build/obj, sanitized into build/san.
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@
$(B)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -c $< -o $@

ALL_TARGETS :=
UNIT_TESTS :=

include common/build.mk
include devices/build.mk
include monitor/build.mk
include guest/build.mk
include tests/build.mk
include tests/fuzz/build.mk
include vmmd/build.mk
include vmctl/build.mk
include netbridge/build.mk

all: include-check $(ALL_TARGETS)

# Each component includes only what it may (scripts/check-includes.sh).
include-check:
	@scripts/check-includes.sh

deps:
	@./scripts/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all unit-tests
	@./tests/run.sh

check-quick: all unit-tests
	@VMM_SKIP_SLOW=1 ./tests/run.sh

testhost:
	@testhost/build $(B)/testhost

clean:
	rm -rf $(B)

.PHONY: all deps check check-quick clean testhost include-check
-include $(shell find $(B) -path $(B)/cache -prune -o -name '*.d' -type f -print 2>/dev/null)

# bench: what one exit costs (bench/exitcost.py), NIC throughput (vmm-monitor
# per optimization step, QEMU, native) plus start time, into
# bench/results/{exitcost.md,latest.*}; netbridge vs Linux bridge; TCP with a
# stock Linux guest (bench/linux_tcp.py, results/linux_tcp.*); root, KVM
# (in the test host where this machine has none: one boot for all of it; the
# Linux bench alone in the test host where KVM cannot run Linux, kvm_pvm).
# The Linux guest is built first, here: the test host has no network.
# BENCH_RUNS: runs per NIC cell (median of >= 5); BENCH_ARGS: more flags;
# BENCH_LINUX_RUNS, BENCH_LINUX_ARGS: the same for bench/linux_tcp.py.
BENCH_RUNS ?= 5
BENCH_ARGS ?=
LINUX_GUEST_BUILD = scripts/build-linux-guest.sh $(B)/linux >$(B)/linux-guest.log 2>&1 || \
	echo "bench: the Linux guest could not be built (see $(B)/linux-guest.log); bench/linux_tcp.py will say so"
bench: deps all
	@$(LINUX_GUEST_BUILD)
	@testhost/with-kvm --timeout 21600 bash bench/run.sh $(BENCH_RUNS) $(BENCH_ARGS)
# bench-quick: 1 run, 64 and 1514 B, into build/bench-quick/ (CI smoke, < 3 min;
# the Linux part 4 MiB each way on 3 rows, ~5 min in the test host)
bench-quick: all
	@$(LINUX_GUEST_BUILD)
	@testhost/with-kvm --timeout 3600 bash bench/run.sh --quick
.PHONY: bench bench-quick

# Where this machine has no usable /dev/kvm, demo and bench run inside the
# test host (testhost/with-kvm: nested KVM under QEMU TCG) and say so; the
# demo too where its KVM cannot run the Linux guest (kvm_pvm) once that guest
# is built.
# The main job: in a network namespace of its own, vmmd with an eBPF switch
# and a host port, a netguest VM with a PCnet NIC on it pinged from the host
# port, a stock Linux VM (Debian's kernel, scripts/build-linux-guest.sh) on
# the same switch pinging both, `vmctl list` and `vmctl stats`, then
# everything removed (vmmd/demo.sh).
demo: deps all
	@scripts/build-linux-guest.sh $(B)/linux >$(B)/linux-guest.log 2>&1 || \
		echo "demo: the Linux guest could not be built (see $(B)/linux-guest.log); the demo runs without it"
	@if [ -f $(B)/linux/bzImage ]; then linux=--linux; else linux=; fi; \
		testhost/with-kvm $$linux --timeout 900 bash vmmd/demo.sh $(B)
.PHONY: demo
