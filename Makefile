# vmm: top-level build. Each component adds its rules in <component>/build.mk.
#   make            build everything into build/
#   make check      install missing packages, build, run all tests (unit, sanitizer, integration)
#   make bench      benchmarks (numbers side by side with peers)
#   make demo       the main job: vmmd + a demo VM on the bundled guest
.DEFAULT_GOAL := all

B := build
CC ?= cc
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE \
	-I. -Icommon -Idevices -Imonitor -MMD -MP
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
-include vmmd/build.mk
-include vmctl/build.mk
-include netbridge/build.mk

all: $(ALL_TARGETS)

deps:
	@./scripts/install-deps.sh

check: deps
	@$(MAKE) --no-print-directory all unit-tests
	@./tests/run.sh

check-quick: all unit-tests
	@VMM_SKIP_SLOW=1 ./tests/run.sh

clean:
	rm -rf $(B)

.PHONY: all deps check check-quick clean
-include $(shell find $(B) -path $(B)/cache -prune -o -name '*.d' -type f -print 2>/dev/null)

BENCH_RUNS ?= 20
bench: deps all
	@python3 bench/start_time.py --runs $(BENCH_RUNS) --json $(B)/bench-start.json
.PHONY: bench

# The main job (for now: the monitor on the bundled guest; vmmd + switch next).
demo: deps all
	@echo "== build/vmm-monitor --kernel build/netguest.elf --cmdline selftest"
	@$(B)/vmm-monitor --kernel $(B)/netguest.elf --cmdline selftest
.PHONY: demo
