# vmctl: vmmd's command-line client; json-c and the shared protocol code only.
VMCTL_OBJS := $(patsubst %.c,$(B)/obj/%.o,$(wildcard vmctl/*.c))
$(B)/vmctl: $(VMCTL_OBJS) $(COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON)

ALL_TARGETS += $(B)/vmctl
