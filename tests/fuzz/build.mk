# Fuzz targets (tests/fuzz/README.md): one libFuzzer binary per device and
# per parser of what the outside controls (requests, definitions, configs,
# kernel images), built with clang, -fsanitize=fuzzer,address,undefined,
# into build/fuzz/. The objects they link are compiled again with clang and
# coverage into build/fuzz/obj, apart from the gcc builds.
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
FUZZ_DEVS_ports := devices/debug_exit.o devices/acpi_pm.o
FUZZ_DEVS_virtio_net := devices/virtio_net.o devices/virtio_pci.o devices/virtqueue.o devices/msix.o devices/pci.o devices/txirq.o
FUZZ_TARGETS := pcnet uart16550 i8042 pci ports
# virtio-net where its sources are (a tree from before it has none).
FUZZ_TARGETS += $(if $(and $(wildcard devices/virtio_net.c),$(wildcard devices/virtio_pci.c),$(wildcard devices/virtqueue.c)),virtio_net)
# The parsers: FUZZ_DEVS_<t> names the objects each links (the code it
# feeds), and those that parse JSON link json-c. nic_config and
# monitor_config link the NIC models for their table (devices/netdev.c).
FUZZ_NIC_MODELS := devices/netdev.o $(FUZZ_DEVS_pcnet) $(FUZZ_DEVS_virtio_net)
FUZZ_DEVS_jsonl := common/jsonl.o
FUZZ_DEVS_vmmd_request := common/jsonl.o vmmd/request.o
FUZZ_DEVS_vmdef := vmmd/vmdef.o
FUZZ_DEVS_vmmd_conf := vmmd/conf.o
FUZZ_DEVS_runrec := vmmd/vmdef.o
FUZZ_DEVS_monitor_config := monitor/config.o monitor/nic_config.o $(FUZZ_NIC_MODELS)
FUZZ_DEVS_nic_config := monitor/nic_config.o $(FUZZ_NIC_MODELS)
FUZZ_DEVS_boot := monitor/boot.o monitor/loader_bzimage.o monitor/loader_pvh.o
FUZZ_JSON_TARGETS := jsonl vmmd_request vmdef vmmd_conf runrec monitor_config
FUZZ_TARGETS += $(FUZZ_JSON_TARGETS) nic_config boot
$(foreach t,$(FUZZ_JSON_TARGETS),$(eval FUZZ_LDLIBS_$(t) := $(LDLIBS_JSON)))
FUZZ_BINS := $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)

# $^ lists an object once where two of a target's lists name it.
define FUZZ_TARGET_RULE
$(B)/fuzz/fuzz_$(1): $(B)/fuzz/obj/tests/fuzz/fuzz_$(1).o $(addprefix $(B)/fuzz/obj/,$(FUZZ_DEVS_$(1))) $(FUZZ_BASE_OBJS)
	@mkdir -p $$(@D)
	$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $$@ $$^ $(FUZZ_LDLIBS) $(FUZZ_LDLIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_TARGET_RULE,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@./tests/fuzz/run.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	@./tests/fuzz/run.sh smoke $(FUZZ_SMOKE_RUNS) $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build fuzz-smoke
