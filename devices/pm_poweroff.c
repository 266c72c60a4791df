/* pm_poweroff.c: the PM1a_CNT register of an ACPI fixed-hardware power
 * management block (ACPI 6.5, 4.8.3.2.1 "PM1 Control Registers", Table 4.14),
 * at 0x604 where QEMU's PIIX4 PM puts it (PMBASE 0x600 + 4), so that an
 * ACPI-less guest can power off with `outw(0x2000, 0x604)`.
 *
 * Implemented: a 16- or 32-bit write at the register with SLP_EN (bit 13) set
 * and SLP_TYP (bits 12:10) = 0, the S5 value in QEMU's DSDT, asks the machine
 * for VM_REQ_POWEROFF, as QEMU's acpi_pm1_cnt_write() does. Other sleep types
 * (S1-S4) are ignored. The other bits of a 16/32-bit write are kept and read
 * back (SLP_EN is write-only and reads 0, 4.8.3.2.1); byte accesses read the
 * stored bytes and are otherwise ignored: the register is 16 bits wide and
 * the PIIX4 decodes it as such.
 */
#include "devices/pm_poweroff.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "common/log.h"

struct pm_poweroff {
	pthread_mutex_t lock;
	struct vm_ctl vm;
	struct iobus *bus;
	uint16_t port;
	uint16_t cnt; /* PM1a_CNT without SLP_EN */
};

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pm_poweroff *p = opaque;
	uint64_t v;

	if (offset >= 2)
		return ~0ull;
	pthread_mutex_lock(&p->lock);
	v = p->cnt >> (8 * offset);
	pthread_mutex_unlock(&p->lock);
	if (size > 2 - offset) /* bytes past the register: empty bus */
		v |= ~0ull << (8 * (2 - offset));
	return v;
}

static void pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pm_poweroff *p = opaque;
	uint16_t v = value;

	if (offset != 0 || size < 2)
		return;
	pthread_mutex_lock(&p->lock);
	p->cnt = v & ~PM1_CNT_SLP_EN;
	if ((v & PM1_CNT_SLP_EN) && !(v & PM1_CNT_SLP_TYP_MASK)) {
		log_info("pm: guest requested power off (PM1a_CNT %#06x)", v);
		vm_request(&p->vm, VM_REQ_POWEROFF, 0);
	}
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

struct pm_poweroff *pm_poweroff_new(const struct vm_ctl *vm)
{
	struct pm_poweroff *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return NULL;
	r = pthread_mutex_init(&p->lock, NULL);
	if (r) {
		free(p);
		errno = r;
		return NULL;
	}
	if (vm)
		p->vm = *vm;
	return p;
}

int pm_poweroff_attach(struct pm_poweroff *p, struct iobus *bus, uint16_t port)
{
	int r;

	if (p->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, port, 2, "pm1a-cnt", &pm_ops, p);
	if (r < 0)
		return r;
	p->bus = bus;
	p->port = port;
	return 0;
}

void pm_poweroff_free(struct pm_poweroff *p)
{
	if (!p)
		return;
	if (p->bus)
		iobus_unregister(p->bus, IO_PIO, p->port);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
