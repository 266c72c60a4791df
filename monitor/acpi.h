/* acpi.h: the ACPI tables a stock kernel looks for (RSDP, XSDT, FADT, FACS,
 * MADT, DSDT), built into guest memory by the monitor in place of firmware.
 * Pure: a struct gmem and a description of the machine in, bytes out, so a
 * unit test can parse every table. See acpi.c for what each table says. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

/* In the reserved low area of the memory map (boot.h), where a BIOS puts
 * them and where Linux scans for the RSDP when told nothing. */
#define ACPI_TABLES_ADDR 0xE0000ull
#define ACPI_TABLES_END 0x100000ull
#define ACPI_RSDP_ADDR ACPI_TABLES_ADDR
#define ACPI_MAX_VCPUS 254 /* local APIC entries; more would need x2APIC ones */
#define ACPI_MAX_PCI_IRQS 31
#define ACPI_IOAPIC_ADDR 0xFEC00000u
#define ACPI_LAPIC_ADDR 0xFEE00000u

struct acpi_pci_irq {
	unsigned slot, gsi; /* INTA of 00:slot.0 goes to gsi */
};

struct acpi_machine {
	unsigned nr_vcpus;
	unsigned sci_gsi;      /* the SCI, level-triggered */
	uint16_t pm_base;      /* devices/acpi_pm.h: PM1a_EVT, +4 PM1a_CNT, +8 PM_TMR */
	uint16_t reset_port;   /* FADT RESET_REG, a byte in I/O space */
	uint8_t reset_value;
	uint16_t com1_base;    /* the 16550, 8 ports */
	unsigned com1_irq;
	unsigned kbd_irq;      /* the i8042 at 0x60/0x64 */
	uint32_t pci_mmio_base, pci_mmio_end; /* the host bridge's MMIO window
						 (devices/pci.h), end exclusive */
	const struct acpi_pci_irq *pci;
	unsigned nr_pci;
};

/* Writes the tables into [ACPI_TABLES_ADDR, ACPI_TABLES_END) of mem, the
 * RSDP first. 0, or -E2BIG (more vCPUs or PCI interrupts than the tables
 * describe), -ENOSPC (mem too small or the tables do not fit), -ENOMEM; err
 * says which. */
int acpi_build(const struct gmem *mem, const struct acpi_machine *m, char *err, size_t errlen);
