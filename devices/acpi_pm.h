/* acpi_pm.h: the ACPI fixed-hardware power management block at 0x600
 * (PM1a event, PM1a control, PM timer), as QEMU's PIIX4 PM lays it out; the
 * FADT (monitor/acpi.c) points at it. See acpi_pm.c. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "devices/dev.h"

#define ACPI_PM_BASE 0x600
#define ACPI_PM_LEN 12
/* Offsets in the block (the FADT's PM1a_EVT_BLK, PM1a_CNT_BLK, PM_TMR_BLK). */
#define ACPI_PM1_STS 0x0 /* 16 bits, write 1 to clear */
#define ACPI_PM1_EN 0x2  /* 16 bits */
#define ACPI_PM1_CNT 0x4 /* 16 bits */
#define ACPI_PM_TMR 0x8  /* 32 bits, read-only, 24 significant */
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_LEN 4
#define ACPI_PM_TIMER_HZ 3579545ull

#define PM1_STS_PWRBTN 0x0100
#define PM1_STS_WAK 0x8000
#define PM1_EN_PWRBTN 0x0100
#define PM1_EN_GBL 0x0020 /* the global lock release event: kept, never raised */
#define PM1_CNT_SCI_EN 0x0001
#define PM1_CNT_SLP_EN 0x2000
#define PM1_CNT_SLP_TYP_MASK 0x1C00
/* What a guest writes for S5: SLP_EN with SLP_TYP 0 (the DSDT's \_S5). */
#define ACPI_PM_S5_VALUE PM1_CNT_SLP_EN

struct acpi_pm;

/* vm and sci are copied; sci is the SCI line (level, high when a status bit
 * and its enable bit are both set). clock_ns returns a monotonic time in ns
 * for the PM timer; NULL: CLOCK_MONOTONIC. NULL with errno set on allocation
 * failure. */
struct acpi_pm *acpi_pm_new(const struct vm_ctl *vm, const struct irq_line *sci,
			    uint64_t (*clock_ns)(void));

/* Registers [base, base + ACPI_PM_LEN) as PIO region "acpi-pm"; base is
 * normally ACPI_PM_BASE. 0, -EBUSY if already attached, or iobus_register's
 * error. */
int acpi_pm_attach(struct acpi_pm *p, struct iobus *bus, uint16_t base);

/* Presses the power button: sets PWRBTN_STS (and raises the SCI if the
 * guest enabled the event). Returns true if the guest had enabled it, that
 * is, an ACPI guest listens to the button. */
bool acpi_pm_power_button(struct acpi_pm *p);

/* Unregisters the ports (call before iobus_destroy) and frees. NULL: no-op. */
void acpi_pm_free(struct acpi_pm *p);
