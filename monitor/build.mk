# vmm-monitor: everything but main.c is a library that unit tests link too.
MONITOR_LIB_SRCS := $(filter-out monitor/main.c,$(wildcard monitor/*.c))
MONITOR_LIB_OBJS := $(MONITOR_LIB_SRCS:%.c=$(B)/obj/%.o)
MONITOR_LIB_SAN_OBJS := $(MONITOR_LIB_SRCS:%.c=$(B)/san/%.o)
MONITOR_LDLIBS := $(LDLIBS_JSON) $(LDLIBS_THREADS) -lseccomp

$(B)/vmm-monitor: $(B)/obj/monitor/main.o $(MONITOR_LIB_OBJS) $(DEVICES_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(MONITOR_LDLIBS)
# The same monitor under ASan+UBSan, for integration tests of hostile input.
$(B)/vmm-monitor-san: $(B)/san/monitor/main.o $(MONITOR_LIB_SAN_OBJS) $(DEVICES_SAN_OBJS) $(COMMON_SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(MONITOR_LDLIBS)

ALL_TARGETS += $(B)/vmm-monitor $(B)/vmm-monitor-san
