# vmctl: vmmd's command-line client; json-c and the shared protocol code only.
$(B)/vmctl: $(B)/obj/vmctl/vmctl.o $(COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS_JSON)

ALL_TARGETS += $(B)/vmctl
