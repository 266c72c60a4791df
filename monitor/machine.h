/* machine.h: the PC-like machine a monitor builds around its VM: COM1
 * (16550, IRQ 4), the i8042 (IRQ 1; reset and Ctrl-Alt-Del), the debug-exit
 * port 0xf4, the ACPI-less poweroff port 0x604 and the PCI host bridge at
 * 0xcf8. Later, the NICs. */
#pragma once
#include "monitor/config.h"
#include "monitor/console.h"
#include "monitor/vm.h"

#define MACHINE_COM1_BASE 0x3f8
#define MACHINE_COM1_GSI 4
#define MACHINE_KBD_GSI 1
#define MACHINE_DEBUG_EXIT_BASE 0xf4
#define MACHINE_POWEROFF_PORT 0x604
/* PCI INTx of the NICs, in --nic order (as SeaBIOS routes PIRQs: 10, 11...). */
#define MACHINE_NIC_GSIS { 10, 11, 9, 5, 3, 6, 12, 14 }

struct uart16550;
struct i8042;
struct debug_exit;
struct pm_poweroff;
struct pci_bus;
struct nic;
struct ioloop;

struct machine {
	struct vm *vm;
	struct irq_line com1_irq, kbd_irq;
	struct uart16550 *com1;
	struct i8042 *kbd;
	struct debug_exit *debug_exit;
	struct pm_poweroff *poweroff;
	struct pci_bus *pci;
	struct nic *nics[NIC_MAX];
	unsigned nr_nics;
};

/* 0 or -errno with a message logged. */
int machine_create(struct machine *m, struct vm *vm, struct console *console);
/* Adds the --nic NICs on the PCI bus, their backends on loop. 0 or -errno,
 * logged. */
int machine_add_nics(struct machine *m, const struct monitor_config *cfg, struct ioloop *loop);
void machine_destroy(struct machine *m);
