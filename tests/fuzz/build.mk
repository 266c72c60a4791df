# Fuzz targets (tests/fuzz/README.md): one libFuzzer binary per device, built
# with clang, -fsanitize=fuzzer,address,undefined, into build/fuzz/. The
# device, iobus and common objects they link are compiled again with clang
# and coverage into build/fuzz/obj, apart from the gcc builds.
#   make fuzz         each target FUZZ_SECONDS (default 60), corpus kept in
#                     build/fuzz/corpus/<target>, crashes in build/fuzz/crashes
#   make fuzz-smoke   a short bounded run of each (what make check runs)
#   make fuzz-build   just the binaries
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_RUNS ?= 20000
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE \
	-I. -MMD -MP \
	$(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LDFLAGS := $(FUZZ_SAN) -fsanitize=fuzzer
FUZZ_LDLIBS := -lpthread

$(B)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

# What every target links: the bus and the logging it needs.
FUZZ_BASE_OBJS := $(addprefix $(B)/fuzz/obj/,devices/iobus.o common/log.o common/util.o)
# The devices each target exercises (only these: a device being written
# elsewhere in devices/ must not break the others' fuzzing).
FUZZ_DEVS_pcnet := devices/pcnet.o devices/pcnet_tx.o devices/pcnet_rx.o devices/pci.o devices/txirq.o
FUZZ_DEVS_uart16550 := devices/uart16550.o
FUZZ_DEVS_i8042 := devices/i8042.o
FUZZ_DEVS_pci := devices/pci.o
FUZZ_DEVS_ports := devices/debug_exit.o devices/pm_poweroff.o
FUZZ_DEVS_virtio_net := devices/virtio_net.o devices/virtio_pci.o devices/virtqueue.o devices/msix.o devices/pci.o devices/txirq.o
FUZZ_TARGETS := pcnet uart16550 i8042 pci ports
# virtio-net where its sources are (a tree from before it has none).
FUZZ_TARGETS += $(if $(and $(wildcard devices/virtio_net.c),$(wildcard devices/virtio_pci.c),$(wildcard devices/virtqueue.c)),virtio_net)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

define FUZZ_TARGET_RULE
$(B)/fuzz/fuzz_$(1): $(B)/fuzz/obj/tests/fuzz/fuzz_$(1).o $(addprefix $(B)/fuzz/obj/,$(FUZZ_DEVS_$(1))) $(FUZZ_BASE_OBJS)
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $$@ $$^ $(FUZZ_LDLIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULE,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@./tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@./tests/fuzz/run.sh smoke $(FUZZ_SMOKE_RUNS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build fuzz-smoke
