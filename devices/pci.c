/* pci.c: PCI host bridge and bus 0, after the PCI Local Bus Specification,
 * Revision 3.0:
 *   3.2.2.3.2  configuration mechanism #1: CONFIG_ADDRESS (0xCF8, dword
 *              accesses only; enable bit 31, bus 23:16, device 15:11,
 *              function 10:8, register 7:2) and CONFIG_DATA (0xCFC-0xCFF,
 *              byte, word or dword at any offset that stays in the dword);
 *              anything else at 0xCF8-0xCFB is not ours (reads all ones)
 *   6.1        type 0 header: read-only ids, class, header type; reads of
 *              absent devices or functions return all ones
 *   6.2.2      command register: I/O, memory, bus master, parity, SERR,
 *              INTx disable bits writable; I/O and memory enable control
 *              whether the BARs are registered on the bus
 *   6.2.3      status register: error bits RW1C, the rest read-only
 *   6.2.4      cache line size, latency timer (read/write), interrupt line
 *              (read/write), interrupt pin (read-only)
 *   6.2.5.1    base address registers: 32-bit I/O and non-prefetchable
 *              memory BARs, size discovery by writing all ones, relocation
 *   6.7        capabilities list (pointer at 0x34, status bit 4), built by
 *              the device; the device's wmask says what the guest may write
 * Only bus 0, function 0 of each of the 32 slots exists; slot 0 is an
 * i440FX-like host bridge, enough for Linux's pci_sanity_check. 64-bit and
 * prefetchable BARs, expansion ROMs and bridges are not implemented.
 *
 * The guest is hostile: every offset comes from CONFIG_ADDRESS or the port
 * offset and is bounded to the 256-byte space before use, and a BAR moved
 * onto another region is left unmapped (not decoded) until it moves away.
 */
#include "devices/pci.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

#define CONFIG_ADDRESS_MASK 0x80FFFFFCu /* reserved bits 30:24 and 1:0 read 0 */

struct pci_bus {
	pthread_mutex_t lock; /* config_address, every device's cfg and mappings */
	struct iobus *bar_bus; /* where BARs go */
	struct iobus *cfg_bus; /* where 0xCF8 was registered */
	uint32_t config_address;
	struct pci_dev *slot[PCI_MAX_SLOTS];
	uint32_t next_io, next_mmio;
	struct pci_dev host;
};

static void set16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static uint32_t get32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void set32(uint8_t *p, uint32_t v)
{
	set16(p, v);
	set16(p + 2, v >> 16);
}

static unsigned bar_reg(unsigned n)
{
	return PCI_BASE_ADDRESS_0 + 4 * n;
}

/* The value a BAR holds after the guest writes v: the address bits above the
 * size, plus the read-only type bits (6.2.5.1). Writing all ones thus reads
 * back the size mask. */
static uint32_t bar_value(const struct pci_bar_desc *b, uint32_t v)
{
	if (!b->size)
		return 0;
	if (b->io)
		return (v & ~(b->size - 1) & PCI_BASE_ADDRESS_IO_MASK) | PCI_BASE_ADDRESS_SPACE_IO;
	return v & ~(b->size - 1) & PCI_BASE_ADDRESS_MEM_MASK;
}

/* Where BAR n should be registered now, or 0 when it is not decoded. */
static uint32_t bar_decoded_at(const struct pci_dev *d, unsigned n)
{
	const struct pci_bar_desc *b = &d->bar[n];
	uint16_t cmd = pci_cfg_get(d, PCI_COMMAND, 2);
	uint32_t v = get32(&d->cfg[bar_reg(n)]), addr;

	if (!b->size)
		return 0;
	if (b->io) {
		addr = v & PCI_BASE_ADDRESS_IO_MASK;
		if (!(cmd & PCI_COMMAND_IO) || (uint64_t)addr + b->size > PCI_IO_WINDOW_END)
			return 0;
	} else {
		addr = v & PCI_BASE_ADDRESS_MEM_MASK;
		if (!(cmd & PCI_COMMAND_MEMORY))
			return 0;
	}
	return addr; /* 0: not placed yet, not decoded */
}

static void bar_unmap(struct pci_bus *pb, struct pci_dev *d, unsigned n)
{
	if (!d->bar_mapped[n])
		return;
	iobus_unregister(pb->bar_bus, d->bar[n].io ? IO_PIO : IO_MMIO, d->bar_mapped[n]);
	d->bar_mapped[n] = 0;
}

static int bar_map(struct pci_bus *pb, struct pci_dev *d, unsigned n, uint32_t addr)
{
	const struct pci_bar_desc *b = &d->bar[n];
	int r = iobus_register(pb->bar_bus, b->io ? IO_PIO : IO_MMIO, addr, b->size, b->name,
			       b->ops, b->opaque);

	if (r == 0)
		d->bar_mapped[n] = addr;
	return r;
}

static const char *bar_name(const struct pci_dev *d, unsigned n)
{
	return d->bar[n].name ? d->bar[n].name : "?";
}

/* Brings every BAR's registration in line with its register and the command
 * register: first removes what moved or lost decode, then registers what
 * should be, so a BAR that collided with another one is mapped as soon as
 * the other moves away. Called with pb->lock held. */
static void update_mappings(struct pci_bus *pb)
{
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pb->slot[s];
		for (unsigned n = 0; d && n < PCI_NUM_BARS; n++)
			if (d->bar_mapped[n] && d->bar_mapped[n] != bar_decoded_at(d, n))
				bar_unmap(pb, d, n);
	}
	for (unsigned s = 0; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pb->slot[s];
		for (unsigned n = 0; d && n < PCI_NUM_BARS; n++) {
			uint32_t addr = bar_decoded_at(d, n);
			int r;
			if (!addr || d->bar_mapped[n])
				continue;
			r = bar_map(pb, d, n, addr);
			if (r < 0 && !d->bar_conflict_logged) {
				/* Once per device: the guest controls how often. */
				d->bar_conflict_logged = true;
				if (r == -EEXIST)
					log_warn("pci 00:%02x.0 %s: guest put BAR%u at %#x (+%#x) over "
						 "another region; not decoded until it moves",
						 s, bar_name(d, n), n, addr, d->bar[n].size);
				else
					log_warn_errno(r, "pci 00:%02x.0 %s: BAR%u at %#x: register",
						       s, bar_name(d, n), n, addr);
			}
		}
	}
}

/* Sets the write masks of the standard header (6.1, 6.2). */
static void header_wmask(struct pci_dev *d)
{
	memset(d->wmask, 0, PCI_CFG_DEVICE_SPECIFIC);
	set16(&d->wmask[PCI_COMMAND], PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
					      PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
					      PCI_COMMAND_INTX_DISABLE);
	d->wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
	d->wmask[PCI_LATENCY_TIMER] = 0xFF;
	d->wmask[PCI_INTERRUPT_LINE] = 0xFF;
	/* BARs are handled by bar_value(), not by the mask. */
}

static void cfg_write(struct pci_bus *pb, struct pci_dev *d, unsigned off, unsigned size,
		      uint32_t val)
{
	bool remap = false;

	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		uint8_t b = val >> (8 * i), wm = d->wmask[o];
		uint8_t w1c = o == PCI_STATUS ? (PCI_STATUS_RW1C & 0xFF) :
			      o == PCI_STATUS + 1 ? PCI_STATUS_RW1C >> 8 : 0;

		if (o >= PCI_BASE_ADDRESS_0 && o < bar_reg(PCI_NUM_BARS)) {
			remap = true;
			continue;
		}
		if (o == PCI_COMMAND || o == PCI_COMMAND + 1)
			remap = true;
		d->cfg[o] = (d->cfg[o] & ~wm) | (b & wm);
		d->cfg[o] &= ~(b & w1c);
	}
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		unsigned reg = bar_reg(n);
		uint8_t v[4];
		if (off >= reg + 4 || off + size <= reg)
			continue;
		memcpy(v, &d->cfg[reg], 4);
		for (unsigned i = 0; i < size; i++)
			if (off + i >= reg && off + i < reg + 4)
				v[off + i - reg] = val >> (8 * i);
		set32(&d->cfg[reg], bar_value(&d->bar[n], get32(v)));
	}
	if (remap)
		update_mappings(pb);
	if (d->cfg_write)
		d->cfg_write(d, off, size, val);
}

/* The device addressed by CONFIG_ADDRESS, or NULL (absent: reads all ones). */
static struct pci_dev *addressed(struct pci_bus *pb)
{
	uint32_t a = pb->config_address;
	unsigned bus = (a >> 16) & 0xFF, dev = (a >> 11) & 0x1F, fn = (a >> 8) & 7;

	if (!(a & PCI_CONFIG_ENABLE) || bus != 0 || fn != 0)
		return NULL;
	return pb->slot[dev];
}

static bool valid_data_access(uint64_t offset, unsigned size)
{
	return (size == 1 || size == 2 || size == 4) && offset >= 4 && offset < 8 &&
	       (offset - 4) + size <= 4;
}

static uint64_t pci_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct pci_bus *pb = opaque;
	uint64_t v = ~0ull;

	pthread_mutex_lock(&pb->lock);
	if (offset == 0 && size == 4) {
		v = pb->config_address;
	} else if (valid_data_access(offset, size)) {
		struct pci_dev *d = addressed(pb);
		unsigned reg = (pb->config_address & 0xFC) + (offset - 4);
		if (d && reg + size <= PCI_CFG_SIZE) {
			v = pci_cfg_get(d, reg, size);
			if (d->cfg_read)
				v = d->cfg_read(d, reg, size, v) & (~0ull >> (64 - 8 * size));
		}
	}
	pthread_mutex_unlock(&pb->lock);
	return v;
}

static void pci_cfg_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct pci_bus *pb = opaque;

	pthread_mutex_lock(&pb->lock);
	if (offset == 0 && size == 4) {
		pb->config_address = value & CONFIG_ADDRESS_MASK;
	} else if (valid_data_access(offset, size)) {
		struct pci_dev *d = addressed(pb);
		unsigned reg = (pb->config_address & 0xFC) + (offset - 4);
		if (d && reg + size <= PCI_CFG_SIZE)
			cfg_write(pb, d, reg, size, value);
	}
	pthread_mutex_unlock(&pb->lock);
}

static const struct io_ops pci_cfg_io_ops = {
	.read = pci_cfg_io_read,
	.write = pci_cfg_io_write,
};

struct pci_bus *pci_bus_new(struct iobus *bus)
{
	struct pci_bus *pb = calloc(1, sizeof(*pb));
	struct pci_dev *h;
	int r;

	if (!pb)
		return NULL;
	r = pthread_mutex_init(&pb->lock, NULL);
	if (r) {
		free(pb);
		errno = r;
		return NULL;
	}
	pb->bar_bus = bus;
	pb->next_io = PCI_IO_WINDOW_BASE;
	pb->next_mmio = PCI_MMIO_WINDOW_BASE;

	h = &pb->host;
	pci_cfg_set16(h, PCI_VENDOR_ID, PCI_HOST_BRIDGE_VENDOR);
	pci_cfg_set16(h, PCI_DEVICE_ID, PCI_HOST_BRIDGE_DEVICE);
	pci_cfg_set8(h, PCI_REVISION_ID, 0x02);
	pci_cfg_set8(h, PCI_CLASS_PROG, PCI_CLASS_BRIDGE_HOST & 0xFF);
	pci_cfg_set16(h, PCI_CLASS_DEVICE, PCI_CLASS_BRIDGE_HOST >> 8);
	pci_cfg_set16(h, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	header_wmask(h);
	h->bus = pb;
	h->slot = 0;
	pb->slot[0] = h;
	return pb;
}

int pci_bus_attach(struct pci_bus *pb, struct iobus *bus)
{
	int r;

	if (pb->cfg_bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, PCI_CONFIG_ADDRESS_PORT, 8, "pci-cfg", &pci_cfg_io_ops, pb);
	if (r < 0)
		return r;
	pb->cfg_bus = bus;
	return 0;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

static int check_dev(const struct pci_dev *d, unsigned gsi)
{
	uint8_t cap = d->cfg[PCI_CAPABILITY_LIST];

	if ((d->cfg[PCI_HEADER_TYPE] & 0x7F) != 0)
		return -EINVAL;
	if (cap && (cap < PCI_CFG_DEVICE_SPECIFIC || (cap & 3)))
		return -EINVAL;
	if (gsi != PCI_NO_IRQ && gsi > 254)
		return -EINVAL;
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		const struct pci_bar_desc *b = &d->bar[n];
		if (!b->size)
			continue;
		if (!is_pow2(b->size) || !b->ops)
			return -EINVAL;
		if (b->io ? (b->size < 4 || b->size > 256) : b->size < 16)
			return -EINVAL;
	}
	return 0;
}

int pci_bus_add(struct pci_bus *pb, struct pci_dev *dev, unsigned gsi)
{
	uint32_t io = pb->next_io, mmio = pb->next_mmio;
	uint16_t cmd = 0;
	unsigned slot;
	int r;

	if (dev->bus)
		return -EBUSY;
	r = check_dev(dev, gsi);
	if (r < 0)
		return r;

	pthread_mutex_lock(&pb->lock);
	for (slot = 1; slot < PCI_MAX_SLOTS && pb->slot[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		r = -ENOSPC;
		goto out;
	}
	/* Place the BARs, committing nothing until all fit. */
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		const struct pci_bar_desc *b = &dev->bar[n];
		uint64_t addr;
		if (!b->size) {
			set32(&dev->cfg[bar_reg(n)], 0);
			continue;
		}
		if (b->io) {
			addr = ALIGN_UP((uint64_t)io, b->size);
			if (addr + b->size > PCI_IO_WINDOW_END) {
				r = -ENOSPC;
				goto out;
			}
			io = addr + b->size;
			cmd |= PCI_COMMAND_IO;
		} else {
			addr = ALIGN_UP((uint64_t)mmio, b->size);
			if (addr + b->size > PCI_MMIO_WINDOW_END) {
				r = -ENOSPC;
				goto out;
			}
			mmio = addr + b->size;
			cmd |= PCI_COMMAND_MEMORY;
		}
		set32(&dev->cfg[bar_reg(n)], bar_value(b, addr));
	}

	dev->cfg[PCI_HEADER_TYPE] = 0;
	set32(&dev->cfg[PCI_ROM_ADDRESS], 0);
	if (dev->cfg[PCI_CAPABILITY_LIST])
		dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->gsi = gsi;
	if (gsi == PCI_NO_IRQ) {
		dev->cfg[PCI_INTERRUPT_LINE] = 0;
		dev->cfg[PCI_INTERRUPT_PIN] = 0;
	} else {
		dev->cfg[PCI_INTERRUPT_LINE] = gsi;
		dev->cfg[PCI_INTERRUPT_PIN] = PCI_INTERRUPT_PIN_INTA;
	}
	set16(&dev->cfg[PCI_COMMAND], cmd);
	header_wmask(dev);
	memset(dev->bar_mapped, 0, sizeof(dev->bar_mapped));
	dev->bar_conflict_logged = false;

	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		uint32_t addr = bar_decoded_at(dev, n);
		if (!addr)
			continue;
		r = bar_map(pb, dev, n, addr);
		if (r < 0) {
			for (unsigned m = 0; m < n; m++)
				bar_unmap(pb, dev, m);
			goto out;
		}
	}
	dev->bus = pb;
	dev->slot = slot;
	pb->slot[slot] = dev;
	pb->next_io = io;
	pb->next_mmio = mmio;
out:
	pthread_mutex_unlock(&pb->lock);
	return r;
}

unsigned pci_bus_intx_routes(struct pci_bus *pb, struct pci_intx_route *out, unsigned max)
{
	unsigned n = 0;

	pthread_mutex_lock(&pb->lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS && n < max; s++)
		if (pb->slot[s] && pb->slot[s]->gsi != PCI_NO_IRQ)
			out[n++] = (struct pci_intx_route){ s, pb->slot[s]->gsi };
	pthread_mutex_unlock(&pb->lock);
	return n;
}

void pci_bus_free(struct pci_bus *pb)
{
	if (!pb)
		return;
	pthread_mutex_lock(&pb->lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		struct pci_dev *d = pb->slot[s];
		if (!d)
			continue;
		for (unsigned n = 0; n < PCI_NUM_BARS; n++)
			bar_unmap(pb, d, n);
		d->bus = NULL;
		pb->slot[s] = NULL;
	}
	pthread_mutex_unlock(&pb->lock);
	if (pb->cfg_bus)
		iobus_unregister(pb->cfg_bus, IO_PIO, PCI_CONFIG_ADDRESS_PORT);
	pthread_mutex_destroy(&pb->lock);
	free(pb);
}
