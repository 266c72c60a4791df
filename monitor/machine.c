/* machine.c: builds the machine described in machine.h from the device
 * models in devices/. The only place that knows which port and GSI each
 * device has. */
#include "monitor/machine.h"

#include <errno.h>
#include <string.h>

#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "common/log.h"
#include "monitor/nic.h"
#include "devices/pci.h"
#include "devices/pm_poweroff.h"
#include "devices/uart16550.h"

static size_t push_to_com1(void *ctx, const uint8_t *buf, size_t len)
{
	return uart16550_rx_push(ctx, buf, len);
}

static void send_ctrl_alt_del(void *ctx)
{
	struct machine *m = ctx;
	int r = i8042_send_ctrl_alt_del(m->kbd);

	if (r < 0)
		log_errno(r, "vm %s: i8042: Ctrl-Alt-Del", m->vm->name);
}

int machine_create(struct machine *m, struct vm *vm, struct console *console)
{
	struct iobus *bus = &vm->bus;
	int r;

	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->com1_irq = (struct irq_line){ .set = vm_irq_set, .ctx = vm, .gsi = MACHINE_COM1_GSI };
	m->kbd_irq = (struct irq_line){ .set = vm_irq_set, .ctx = vm, .gsi = MACHINE_KBD_GSI };

	m->com1 = uart16550_new(&m->com1_irq, console_tx, console);
	m->kbd = i8042_new(&m->kbd_irq, &vm->ctl);
	m->debug_exit = debug_exit_new(&vm->ctl);
	m->poweroff = pm_poweroff_new(&vm->ctl);
	m->pci = pci_bus_new(bus);
	if (!m->com1 || !m->kbd || !m->debug_exit || !m->poweroff || !m->pci) {
		log_err("vm %s: devices: out of memory", vm->name);
		return -ENOMEM;
	}
	if ((r = uart16550_attach(m->com1, bus, MACHINE_COM1_BASE, "com1")) < 0 ||
	    (r = i8042_attach(m->kbd, bus)) < 0 ||
	    (r = debug_exit_attach(m->debug_exit, bus, MACHINE_DEBUG_EXIT_BASE)) < 0 ||
	    (r = pm_poweroff_attach(m->poweroff, bus, MACHINE_POWEROFF_PORT)) < 0 ||
	    (r = pci_bus_attach(m->pci, bus)) < 0)
		return log_errno(r, "vm %s: devices: register I/O ports", vm->name);

	console_set_input(console, push_to_com1, m->com1);
	vm->on_stop_request = send_ctrl_alt_del;
	vm->on_stop_ctx = m;
	return 0;
}

int machine_add_nics(struct machine *m, const struct monitor_config *cfg, struct ioloop *loop)
{
	static const unsigned gsis[NIC_MAX] = MACHINE_NIC_GSIS;
	int r;

	for (unsigned i = 0; i < cfg->nr_nics; i++) {
		r = nic_create(&m->nics[i], &cfg->nics[i], i, m->vm, m->pci, gsis[i], loop);
		m->nr_nics = i + 1;
		if (r < 0)
			return r;
	}
	return 0;
}

void machine_destroy(struct machine *m)
{
	if (m->vm)
		m->vm->on_stop_request = NULL;
	if (m->pci)
		pci_bus_free(m->pci); /* unregisters the NICs' BARs too */
	for (unsigned i = 0; i < m->nr_nics; i++)
		nic_free(m->nics[i]);
	if (m->poweroff)
		pm_poweroff_free(m->poweroff);
	if (m->debug_exit)
		debug_exit_free(m->debug_exit);
	if (m->kbd)
		i8042_free(m->kbd);
	if (m->com1)
		uart16550_free(m->com1);
	memset(m, 0, sizeof(*m));
}
