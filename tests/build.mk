# Unit tests: tests/<component>/test_*.c, one cmocka binary each, linked with
# every library object; built plain (build/tests) and with ASan+UBSan
# (build/tests-san).
UNIT_TEST_SRCS := $(wildcard tests/*/test_*.c)
UNIT_TEST_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(UNIT_TEST_SRCS))
UNIT_TEST_SAN_BINS := $(patsubst tests/%.c,$(B)/tests-san/%,$(UNIT_TEST_SRCS))
UNIT_LIB_OBJS := $(MONITOR_LIB_OBJS) $(DEVICES_OBJS) $(COMMON_OBJS)
UNIT_LIB_SAN_OBJS := $(MONITOR_LIB_SAN_OBJS) $(DEVICES_SAN_OBJS) $(COMMON_SAN_OBJS)
UNIT_LDLIBS := -lcmocka $(LDLIBS_JSON) $(LDLIBS_THREADS) -lseccomp

$(B)/tests/%: $(B)/obj/tests/%.o $(UNIT_LIB_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(UNIT_LDLIBS)
$(B)/tests-san/%: $(B)/san/tests/%.o $(UNIT_LIB_SAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(UNIT_LDLIBS)

unit-tests: $(UNIT_TEST_BINS) $(UNIT_TEST_SAN_BINS)
.PHONY: unit-tests
