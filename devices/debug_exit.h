/* debug_exit.h: QEMU isa-debug-exit compatible port. See debug_exit.c. */
#pragma once
#include <stdint.h>

#include "devices/dev.h"

#define DEBUG_EXIT_DEFAULT_BASE 0xF4
#define DEBUG_EXIT_NR_PORTS 4

struct debug_exit;

/* vm is copied. Returns NULL with errno set on allocation failure. */
struct debug_exit *debug_exit_new(const struct vm_ctl *vm);

/* Registers [base, base+4) as PIO region "debug-exit".
 * 0, -EBUSY if already attached, or iobus_register's error. */
int debug_exit_attach(struct debug_exit *d, struct iobus *bus, uint16_t base);

/* Unregisters the ports (call before iobus_destroy) and frees. NULL: no-op. */
void debug_exit_free(struct debug_exit *d);
