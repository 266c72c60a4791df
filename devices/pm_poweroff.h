/* pm_poweroff.h: the ACPI PM1a control register at 0x604, enough to power
 * off without ACPI tables (as on QEMU's PIIX4 PM). See pm_poweroff.c. */
#pragma once
#include <stdint.h>

#include "devices/dev.h"

#define PM_POWEROFF_PORT 0x604
/* What a guest writes (16-bit) for S5: SLP_EN with SLP_TYP 0. */
#define PM1_CNT_SLP_EN 0x2000
#define PM1_CNT_SLP_TYP_MASK 0x1C00
#define PM_POWEROFF_VALUE PM1_CNT_SLP_EN

struct pm_poweroff;

/* vm is copied. Returns NULL with errno set on allocation failure. */
struct pm_poweroff *pm_poweroff_new(const struct vm_ctl *vm);

/* Registers [port, port+2) as PIO region "pm1a-cnt"; port is normally
 * PM_POWEROFF_PORT. 0, -EBUSY if already attached, or iobus_register's error. */
int pm_poweroff_attach(struct pm_poweroff *p, struct iobus *bus, uint16_t port);

/* Unregisters the port (call before iobus_destroy) and frees. NULL: no-op. */
void pm_poweroff_free(struct pm_poweroff *p);
