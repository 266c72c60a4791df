/* machine.h: the PC-like machine a monitor builds around its VM: COM1
 * (16550, IRQ 4), the i8042 (IRQ 1; reset and Ctrl-Alt-Del), the debug-exit
 * port 0xf4, the CMOS clock at 0x70 (time only, no IRQ 8), the ACPI PM
 * block at 0x600 (power button, S5 power-off, PM
 * timer; SCI on GSI 9), the PCI host bridge at 0xcf8 with the NICs, and the
 * ACPI tables that describe it all to the guest (monitor/acpi.c). */
#pragma once
#include "monitor/config.h"
#include "monitor/console.h"
#include "monitor/vm.h"

#define MACHINE_COM1_BASE 0x3f8
#define MACHINE_COM1_GSI 4
#define MACHINE_KBD_GSI 1
#define MACHINE_DEBUG_EXIT_BASE 0xf4
#define MACHINE_SCI_GSI 9
/* The i8042's pulse-reset command, the FADT's RESET_REG. */
#define MACHINE_RESET_PORT 0x64
#define MACHINE_RESET_VALUE 0xFE
/* PCI INTx of the NICs, in --nic order (10 and 11 first, as SeaBIOS routes
 * PIRQs; 9 is the SCI's). */
#define MACHINE_NIC_GSIS { 10, 11, 5, 7, 3, 6, 12, 14 }

struct uart16550;
struct i8042;
struct cmos_rtc;
struct debug_exit;
struct acpi_pm;
struct pci_bus;
struct nic;
struct ioloop;

struct machine {
	struct vm *vm;
	struct irq_line com1_irq, kbd_irq, sci;
	struct uart16550 *com1;
	struct i8042 *kbd;
	struct cmos_rtc *rtc;
	struct debug_exit *debug_exit;
	struct acpi_pm *pm;
	struct pci_bus *pci;
	struct nic *nics[NIC_MAX];
	unsigned nr_nics;
};

/* 0 or -errno with a message logged. */
int machine_create(struct machine *m, struct vm *vm, struct console *console);
/* Adds the --nic NICs on the PCI bus, their backends on loop. 0 or -errno,
 * logged. */
int machine_add_nics(struct machine *m, const struct monitor_config *cfg, struct ioloop *loop);
/* Writes the ACPI tables for the machine as built (its vCPUs, its PCI
 * devices' interrupts) into guest memory; call after machine_add_nics. 0 or
 * -errno, logged. */
int machine_build_acpi(struct machine *m);
void machine_destroy(struct machine *m);
