/* machine.c: builds the machine described in machine.h from the device
 * models in devices/. The only place that knows which port and GSI each
 * device has. */
#include "monitor/machine.h"

#include <errno.h>
#include <string.h>

#include "devices/acpi_pm.h"
#include "devices/cmos_rtc.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "common/log.h"
#include "monitor/acpi.h"
#include "monitor/nic.h"
#include "devices/pci.h"
#include "devices/uart16550.h"

static size_t push_to_com1(void *ctx, const uint8_t *buf, size_t len)
{
	return uart16550_rx_push(ctx, buf, len);
}

/* A graceful stop, as virsh shutdown asks: the ACPI power button when the
 * guest listens to it (an ACPI OS enables the event), else Ctrl-Alt-Del on
 * the keyboard (our netguest, an OS without ACPI). */
static void ask_guest_to_stop(void *ctx)
{
	struct machine *m = ctx;
	int r;

	if (acpi_pm_power_button(m->pm)) {
		log_info("vm %s: pressed the power button", m->vm->name);
		return;
	}
	r = i8042_send_ctrl_alt_del(m->kbd);
	if (r < 0)
		log_errno(r, "vm %s: i8042: Ctrl-Alt-Del", m->vm->name);
	else
		log_info("vm %s: sent Ctrl-Alt-Del (the guest does not listen to the ACPI power "
			 "button)", m->vm->name);
}

int machine_create(struct machine *m, struct vm *vm, struct console *console)
{
	struct iobus *bus = &vm->bus;
	int r;

	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->com1_irq = (struct irq_line){ .set = vm_irq_set, .ctx = vm, .gsi = MACHINE_COM1_GSI };
	m->kbd_irq = (struct irq_line){ .set = vm_irq_set, .ctx = vm, .gsi = MACHINE_KBD_GSI };
	m->sci = (struct irq_line){ .set = vm_irq_set, .ctx = vm, .gsi = MACHINE_SCI_GSI };

	m->com1 = uart16550_new(&m->com1_irq, console_tx, console);
	m->kbd = i8042_new(&m->kbd_irq, &vm->ctl);
	m->rtc = cmos_rtc_new(NULL);
	m->debug_exit = debug_exit_new(&vm->ctl);
	m->pm = acpi_pm_new(&vm->ctl, &m->sci, NULL);
	m->pci = pci_bus_new(bus);
	if (!m->com1 || !m->kbd || !m->rtc || !m->debug_exit || !m->pm || !m->pci) {
		log_err("vm %s: devices: out of memory", vm->name);
		return -ENOMEM;
	}
	if ((r = uart16550_attach(m->com1, bus, MACHINE_COM1_BASE, "com1")) < 0 ||
	    (r = i8042_attach(m->kbd, bus)) < 0 ||
	    (r = cmos_rtc_attach(m->rtc, bus)) < 0 ||
	    (r = debug_exit_attach(m->debug_exit, bus, MACHINE_DEBUG_EXIT_BASE)) < 0 ||
	    (r = acpi_pm_attach(m->pm, bus, ACPI_PM_BASE)) < 0 ||
	    (r = pci_bus_attach(m->pci, bus)) < 0)
		return log_errno(r, "vm %s: devices: register I/O ports", vm->name);

	console_set_input(console, push_to_com1, m->com1);
	vm->on_stop_request = ask_guest_to_stop;
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

int machine_build_acpi(struct machine *m)
{
	struct pci_intx_route routes[ACPI_MAX_PCI_IRQS];
	struct acpi_pci_irq irqs[ACPI_MAX_PCI_IRQS];
	unsigned n = pci_bus_intx_routes(m->pci, routes, ACPI_MAX_PCI_IRQS);
	struct acpi_machine am = {
		.nr_vcpus = m->vm->nr_vcpus,
		.sci_gsi = MACHINE_SCI_GSI,
		.pm_base = ACPI_PM_BASE,
		.reset_port = MACHINE_RESET_PORT,
		.reset_value = MACHINE_RESET_VALUE,
		.com1_base = MACHINE_COM1_BASE,
		.com1_irq = MACHINE_COM1_GSI,
		.kbd_irq = MACHINE_KBD_GSI,
		.pci_mmio_base = PCI_MMIO_WINDOW_BASE,
		.pci_mmio_end = PCI_MMIO_WINDOW_END,
		.pci = irqs,
		.nr_pci = n,
	};
	char err[160];
	int r;

	for (unsigned i = 0; i < n; i++)
		irqs[i] = (struct acpi_pci_irq){ routes[i].slot, routes[i].gsi };
	r = acpi_build(&m->vm->mem, &am, err, sizeof(err));
	if (r < 0)
		log_err("vm %s: ACPI tables: %s", m->vm->name, err);
	return r;
}

void machine_destroy(struct machine *m)
{
	if (m->vm)
		m->vm->on_stop_request = NULL;
	if (m->pci)
		pci_bus_free(m->pci); /* unregisters the NICs' BARs too */
	for (unsigned i = 0; i < m->nr_nics; i++)
		nic_free(m->nics[i]);
	if (m->pm)
		acpi_pm_free(m->pm);
	if (m->debug_exit)
		debug_exit_free(m->debug_exit);
	if (m->kbd)
		i8042_free(m->kbd);
	cmos_rtc_free(m->rtc);
	if (m->com1)
		uart16550_free(m->com1);
	memset(m, 0, sizeof(*m));
}
