# netguest: the bundled freestanding test guest (guest/README.md).
# Built with its own flags (no libc, no SSE, no red zone) into build/guest/,
# linked by guest/netguest.ld into an ELF64 loaded at 1 MiB.
GUEST_CC ?= gcc
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-builtin -nostdlib -mgeneral-regs-only \
	-mno-red-zone -fno-stack-protector -fno-pic -fno-pie -no-pie \
	-fno-asynchronous-unwind-tables -fcf-protection=none -Wall -Wextra -Werror -O2 -g \
	-Iguest -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/netguest.ld -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments

GUEST_SRCS := $(wildcard guest/*.c) guest/entry.S
GUEST_OBJS := $(patsubst guest/%,$(B)/guest/%.o,$(GUEST_SRCS))

$(B)/guest/%.c.o: guest/%.c guest/build.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@
$(B)/guest/%.S.o: guest/%.S guest/build.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/netguest.elf: $(GUEST_OBJS) guest/netguest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

ALL_TARGETS += $(B)/netguest.elf
