# vmmd: the VM host daemon (vmctl, its client, has vmctl/build.mk).
# vmdef.c, conf.c, state.c and request.c (definitions, config, state files,
# request checks) need only json-c, peer.c (client credentials) nothing: unit
# tests and fuzz targets link them without libev or libsystemd.
VMMD_LIB_SRCS := vmmd/vmdef.c vmmd/conf.c vmmd/state.c vmmd/request.c vmmd/peer.c
VMMD_LIB_OBJS := $(VMMD_LIB_SRCS:%.c=$(B)/obj/%.o)
VMMD_LIB_SAN_OBJS := $(VMMD_LIB_SRCS:%.c=$(B)/san/%.o)
VMMD_SRCS := vmmd/main.c vmmd/server.c vmmd/auth.c vmmd/vm.c vmmd/vm_spawn.c vmmd/vm_supervise.c \
	vmmd/vm_adopt.c vmmd/vm_monitor.c vmmd/vm_proc.c vmmd/net.c vmmd/cgroup.c vmmd/machined.c
VMMD_OBJS := $(VMMD_SRCS:%.c=$(B)/obj/%.o)
# netbridge (netbridge/build.mk): the switch library, its objects for the
# sanitized daemon.
VMMD_LDLIBS = -lev -lsystemd $(LDLIBS_JSON) $(NB_LDLIBS)


$(B)/vmmd: $(VMMD_OBJS) $(VMMD_LIB_OBJS) $(B)/libnetbridge.a $(COMMON_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(VMMD_LDLIBS)

# The same daemon under ASan+UBSan: VMMD=build/vmmd-san tests/run.sh vmmd_
# (netbridge/build.mk comes later in the Makefile: its object list spelled out)
VMMD_NB_SAN_OBJS := $(patsubst %.c,$(B)/san/%.o,$(filter-out netbridge/nbctl.c,$(wildcard netbridge/*.c)))
$(B)/vmmd-san: $(VMMD_SRCS:%.c=$(B)/san/%.o) $(VMMD_LIB_SAN_OBJS) $(VMMD_NB_SAN_OBJS) $(COMMON_SAN_OBJS)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ $(VMMD_LDLIBS)

ALL_TARGETS += $(B)/vmmd $(B)/vmmd-san

# Unit tests in tests/vmmd/ need the vmmd library objects: explicit rules
# (they win over the generic pattern in tests/build.mk).
VMMD_UNIT_SRCS := $(wildcard tests/vmmd/test_*.c)
VMMD_UNIT_BINS := $(patsubst tests/%.c,$(B)/tests/%,$(VMMD_UNIT_SRCS))
VMMD_UNIT_SAN_BINS := $(patsubst tests/%.c,$(B)/tests-san/%,$(VMMD_UNIT_SRCS))
$(VMMD_UNIT_BINS): $(B)/tests/vmmd/%: $(B)/obj/tests/vmmd/%.o $(VMMD_LIB_OBJS) $(COMMON_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $^ -lcmocka $(LDLIBS_JSON)
$(VMMD_UNIT_SAN_BINS): $(B)/tests-san/vmmd/%: $(B)/san/tests/vmmd/%.o $(VMMD_LIB_SAN_OBJS) $(COMMON_SAN_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN_FLAGS) -o $@ $^ -lcmocka $(LDLIBS_JSON)

# make install [DESTDIR=...] [PREFIX=/usr/local]
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
install: $(B)/vmmd $(B)/vmctl $(B)/vmm-monitor
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/vmm $(DESTDIR)$(SYSCONFDIR)/vmmd $(DESTDIR)$(UNITDIR)
	install -m 0755 $(B)/vmmd $(B)/vmm-monitor $(DESTDIR)$(PREFIX)/libexec/vmm/
	ln -sf ../libexec/vmm/vmmd $(DESTDIR)$(PREFIX)/bin/vmmd
	install -m 0755 $(B)/vmctl $(DESTDIR)$(PREFIX)/bin/vmctl
	test -e $(DESTDIR)$(SYSCONFDIR)/vmmd/vmmd.json || install -m 0644 etc/vmmd.json $(DESTDIR)$(SYSCONFDIR)/vmmd/vmmd.json
	sed 's|@PREFIX@|$(PREFIX)|g; s|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/vmmd.service >$(DESTDIR)$(UNITDIR)/vmmd.service
	install -m 0644 systemd/vmmd.socket systemd/vmmd-ro.socket $(DESTDIR)$(UNITDIR)/
.PHONY: install
