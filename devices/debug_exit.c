/* debug_exit.c: a port compatible with QEMU's isa-debug-exit device
 * (hw/misc/debugexit.c; QEMU documentation "isa-debug-exit"), which has no
 * datasheet: a guest (a test kernel, our netguest) writes a value to end the
 * VM with a status it chooses.
 *
 * Any write of any width (1, 2 or 4 bytes) at any of the 4 ports asks the
 * machine for VM_REQ_DEBUG_EXIT with the value written, unshifted: QEMU exits
 * with (v << 1) | 1, and whether we copy that is the monitor's decision, not
 * the device's. Reads return 0. The device keeps no state, so it needs no lock.
 */
#include "devices/debug_exit.h"

#include <errno.h>
#include <stdlib.h>

struct debug_exit {
	struct vm_ctl vm;
	struct iobus *bus;
	uint16_t base;
};

static uint64_t debug_exit_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)opaque;
	(void)offset;
	(void)size;
	return 0;
}

static void debug_exit_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct debug_exit *d = opaque;

	(void)offset;
	(void)size; /* the bus has already masked value to the access width */
	vm_request(&d->vm, VM_REQ_DEBUG_EXIT, (int)(uint32_t)value);
}

static const struct io_ops debug_exit_ops = {
	.read = debug_exit_read,
	.write = debug_exit_write,
};

struct debug_exit *debug_exit_new(const struct vm_ctl *vm)
{
	struct debug_exit *d = calloc(1, sizeof(*d));

	if (d && vm)
		d->vm = *vm;
	return d;
}

int debug_exit_attach(struct debug_exit *d, struct iobus *bus, uint16_t base)
{
	int r;

	if (d->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, base, DEBUG_EXIT_NR_PORTS, "debug-exit", &debug_exit_ops, d);
	if (r < 0)
		return r;
	d->bus = bus;
	d->base = base;
	return 0;
}

void debug_exit_free(struct debug_exit *d)
{
	if (!d)
		return;
	if (d->bus)
		iobus_unregister(d->bus, IO_PIO, d->base);
	free(d);
}
