# netbridge: the eBPF switch. BPF objects are compiled with clang against a
# vmlinux.h generated from this kernel's BTF, turned into skeletons by
# bpftool, and linked into build/libnetbridge.a with the control plane.
#   build/libnetbridge.a   the library (public header netbridge/netbridge.h)
#   build/nbctl            debugging CLI on top of it
#   build/nbframe          test helper: writes/reads raw frames on taps and veths
#   build/nb_apicheck      test program: the library API as vmmd uses it
#   build/{nbctl,nbframe}-san   the same under ASan+UBSan
NB_GEN := $(B)/netbridge
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
NB_BPF_SRCS := $(wildcard netbridge/bpf/*.bpf.c)
NB_BPF_OBJS := $(NB_BPF_SRCS:netbridge/bpf/%.bpf.c=$(NB_GEN)/%.bpf.o)
NB_SKELS := $(NB_BPF_SRCS:netbridge/bpf/%.bpf.c=$(NB_GEN)/%.skel.h)
NB_LIB_SRCS := $(filter-out netbridge/nbctl.c,$(wildcard netbridge/*.c))
NB_LIB_OBJS := $(NB_LIB_SRCS:%.c=$(B)/obj/%.o)
NB_LDLIBS := -lbpf -lelf -lz

$(NB_GEN)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp
	mv $@.tmp $@

$(NB_GEN)/%.bpf.o: netbridge/bpf/%.bpf.c netbridge/nb_abi.h $(NB_GEN)/vmlinux.h
	$(BPF_CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror \
		-I$(NB_GEN) -Inetbridge -c $< -o $@

$(NB_GEN)/%.skel.h: $(NB_GEN)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name nb_bpf > $@.tmp
	mv $@.tmp $@

# Keep the BPF objects (make would delete them as intermediates).
.SECONDARY: $(NB_BPF_OBJS)

NB_LIB_SAN_OBJS := $(NB_LIB_SRCS:%.c=$(B)/san/%.o)
$(NB_LIB_OBJS) $(NB_LIB_SAN_OBJS) $(B)/obj/netbridge/nbctl.o $(B)/san/netbridge/nbctl.o: \
	CFLAGS += -I$(NB_GEN)
$(NB_LIB_OBJS) $(NB_LIB_SAN_OBJS): $(NB_SKELS)

$(B)/libnetbridge.a: $(NB_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

NB_COMMON_OBJS := $(B)/obj/common/log.o $(B)/obj/common/util.o

$(B)/nbctl: $(B)/obj/netbridge/nbctl.o $(B)/libnetbridge.a $(NB_COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(NB_LDLIBS)

$(B)/nbframe: $(B)/obj/tests/netbridge/nbframe.o $(B)/obj/netbridge/nb_util.o $(NB_COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^

$(B)/nb_apicheck: $(B)/obj/tests/netbridge/nb_apicheck.o $(B)/libnetbridge.a $(NB_COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(NB_LDLIBS)

# The same two under ASan+UBSan (tests/integration/netbridge_san.sh).
NB_COMMON_SAN_OBJS := $(B)/san/common/log.o $(B)/san/common/util.o
$(B)/nbctl-san: $(B)/san/netbridge/nbctl.o $(NB_LIB_SAN_OBJS) $(NB_COMMON_SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(NB_LDLIBS)
$(B)/nbframe-san: $(B)/san/tests/netbridge/nbframe.o $(B)/san/netbridge/nb_util.o $(NB_COMMON_SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^

# Unit tests of the privilege-free helpers (MAC and name parsing). This more
# specific pattern wins over the generic one of tests/build.mk (which links
# monitor/devices/common but not netbridge); they need nb_util.o only.
$(B)/tests/netbridge/%: $(B)/obj/tests/netbridge/%.o $(B)/obj/netbridge/nb_util.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ $(UNIT_LDLIBS)
$(B)/tests-san/netbridge/%: $(B)/san/tests/netbridge/%.o $(B)/san/netbridge/nb_util.o
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(UNIT_LDLIBS)

ALL_TARGETS += $(B)/libnetbridge.a $(B)/nbctl $(B)/nbframe $(B)/nb_apicheck \
	$(B)/nbctl-san $(B)/nbframe-san
