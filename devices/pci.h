/* pci.h: PCI bus 0 behind a host bridge, configuration mechanism #1 (ports
 * 0xCF8/0xCFC), and the API a PCI device model (PCnet, virtio-net) plugs
 * into. See pci.c.
 *
 * A device embeds a struct pci_dev, fills in cfg[] (vendor, device, revision,
 * class, subsystem ids, and its capabilities list from 0x40 with the pointer
 * in cfg[PCI_CAPABILITY_LIST]), wmask[] for the guest-writable bits of its
 * capabilities (0x40-0xFF; 0 = read-only), bar[] and optionally the hooks, and
 * calls pci_bus_add(). From then on cfg[] belongs to the bus and is guarded
 * by the bus's lock; the hooks run under that lock, so a device that needs
 * config state on its I/O path (bus master enable, INTx disable, MSI-X
 * enable) copies it in cfg_write, taking its own lock inside the hook if it
 * wants. Lock order: PCI bus lock, then device lock; a device never calls a
 * pci_* function while holding its own lock.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

#define PCI_CFG_SIZE 256
#define PCI_NUM_BARS 6
#define PCI_MAX_SLOTS 32
#define PCI_NO_IRQ (~0u) /* pci_bus_add gsi for a device without INTx */

/* Configuration mechanism #1 (PCI 3.0, 3.2.2.3.2). */
#define PCI_CONFIG_ADDRESS_PORT 0xCF8
#define PCI_CONFIG_DATA_PORT 0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u

/* Where pci_bus_add puts BARs. The MMIO window ends below the I/O APIC. */
#define PCI_IO_WINDOW_BASE 0xC000u
#define PCI_IO_WINDOW_END 0x10000u
#define PCI_MMIO_WINDOW_BASE 0xE0000000u
#define PCI_MMIO_WINDOW_END 0xFEC00000u

/* Type 0 configuration header (PCI 3.0, 6.1, Figure 6-1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0A /* sub-class at 0x0A, base class at 0x0B */
#define PCI_CACHE_LINE_SIZE 0x0C
#define PCI_LATENCY_TIMER 0x0D
#define PCI_HEADER_TYPE 0x0E
#define PCI_BIST 0x0F
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_CARDBUS_CIS 0x28
#define PCI_SUBSYSTEM_VENDOR_ID 0x2C
#define PCI_SUBSYSTEM_ID 0x2E
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3C
#define PCI_INTERRUPT_PIN 0x3D
#define PCI_MIN_GNT 0x3E
#define PCI_MAX_LAT 0x3F
#define PCI_CFG_DEVICE_SPECIFIC 0x40

#define PCI_COMMAND_IO 0x0001
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
#define PCI_COMMAND_PARITY 0x0040
#define PCI_COMMAND_SERR 0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT 0x0008
#define PCI_STATUS_CAP_LIST 0x0010
#define PCI_STATUS_RW1C 0xF900 /* parity, SERR, aborts (6.2.3) */

#define PCI_BASE_ADDRESS_SPACE_IO 0x01
#define PCI_BASE_ADDRESS_IO_MASK (~0x03u)
#define PCI_BASE_ADDRESS_MEM_MASK (~0x0Fu)
#define PCI_INTERRUPT_PIN_INTA 1

#define PCI_HOST_BRIDGE_VENDOR 0x8086 /* Intel */
#define PCI_HOST_BRIDGE_DEVICE 0x1237 /* 82441FX (i440FX) */
#define PCI_CLASS_BRIDGE_HOST 0x060000

struct pci_dev;
struct pci_bus;

/* One base address register. size 0: not implemented (reads 0). Otherwise a
 * power of two, 4..256 for I/O, >= 16 for 32-bit non-prefetchable memory; the
 * bus registers [addr, addr+size) on the iobus with ops/opaque under `name`
 * while decode is enabled. */
struct pci_bar_desc {
	uint32_t size;
	bool io;
	const struct io_ops *ops;
	void *opaque;
	const char *name;
};

struct pci_dev {
	uint8_t cfg[PCI_CFG_SIZE];   /* the device fills ids, class, capabilities */
	uint8_t wmask[PCI_CFG_SIZE]; /* writable bits from 0x40; the bus sets 0x00-0x3F */
	struct pci_bar_desc bar[PCI_NUM_BARS];
	/* Optional, called with the bus lock held after the standard handling of
	 * a guest config write (value as written, size 1, 2 or 4 bytes at
	 * offset, never crossing a dword): track command bits, act on MSI-X
	 * enable. The hook may change cfg[] itself. */
	void (*cfg_write)(struct pci_dev *dev, unsigned offset, unsigned size, uint32_t value);
	/* Optional, called with the bus lock held on a guest config read with the
	 * value taken from cfg[]; returns the value to give the guest (a window
	 * such as virtio's VIRTIO_PCI_CAP_PCI_CFG data). */
	uint32_t (*cfg_read)(struct pci_dev *dev, unsigned offset, unsigned size, uint32_t value);

	/* Internal to pci.c. */
	struct pci_bus *bus;
	unsigned slot;
	unsigned gsi; /* INTA's GSI, PCI_NO_IRQ for none */
	uint32_t bar_mapped[PCI_NUM_BARS]; /* base registered on the iobus, 0 = none */
	bool bar_conflict_logged;
};

#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

/* Little-endian helpers for filling cfg[] before pci_bus_add. */
static inline void pci_cfg_set8(struct pci_dev *d, unsigned off, uint8_t v)
{
	if (off < PCI_CFG_SIZE)
		d->cfg[off] = v;
}
static inline void pci_cfg_set16(struct pci_dev *d, unsigned off, uint16_t v)
{
	pci_cfg_set8(d, off, v);
	pci_cfg_set8(d, off + 1, v >> 8);
}
static inline void pci_cfg_set32(struct pci_dev *d, unsigned off, uint32_t v)
{
	pci_cfg_set16(d, off, v);
	pci_cfg_set16(d, off + 2, v >> 16);
}
static inline uint32_t pci_cfg_get(const struct pci_dev *d, unsigned off, unsigned size)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < size && i < 4 && off + i < PCI_CFG_SIZE; i++)
		v |= (uint32_t)d->cfg[off + i] << (8 * i);
	return v;
}

/* A bus with the host bridge in slot 0; BARs will be registered on `bus`.
 * Returns NULL with errno set on allocation failure. */
struct pci_bus *pci_bus_new(struct iobus *bus);

/* Registers ports 0xCF8-0xCFF ("pci-cfg"). 0, -EBUSY if already attached, or
 * iobus_register's error. */
int pci_bus_attach(struct pci_bus *pb, struct iobus *bus);

/* Adds dev at the next free slot (1-31): assigns its BARs (I/O from 0xC000,
 * MMIO from 0xE0000000, each naturally aligned), writes them into cfg, sets
 * the interrupt line to gsi and the pin to INTA (or both 0 for PCI_NO_IRQ),
 * sets status bit 4 when cfg[0x34] points to capabilities, enables decode for
 * the BAR types present and registers the BARs on the iobus.
 * 0, -EBUSY (already on a bus), -EINVAL (bad BAR size, header type, cap
 * pointer or gsi > 254), -ENOSPC (no slot or window space left), or
 * iobus_register's error (nothing is left registered then). */
int pci_bus_add(struct pci_bus *pb, struct pci_dev *dev, unsigned gsi);

/* Where each device's INTA goes, for the firmware tables (the DSDT's _PRT):
 * the devices with an interrupt, in slot order, at most max of them. Returns
 * how many were written. */
struct pci_intx_route {
	unsigned slot, gsi;
};
unsigned pci_bus_intx_routes(struct pci_bus *pb, struct pci_intx_route *out, unsigned max);

/* Unregisters the config ports and every BAR of every device (call before
 * iobus_destroy, with no vCPU running); the devices themselves stay with
 * their owners. NULL is a no-op. */
void pci_bus_free(struct pci_bus *pb);
