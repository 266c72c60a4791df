/* test_pci.c: configuration mechanism #1 as Linux probes it, the host
 * bridge, a NIC-like device plugged in through pci_bus_add (BAR placement,
 * sizing, moves, decode, capabilities, hooks), and a hostile guest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/pci.h"

#define CFA PCI_CONFIG_ADDRESS_PORT
#define CFD PCI_CONFIG_DATA_PORT
#define CONFIG_ADDRESS_MASK 0x80FFFFFCu

struct fake_nic {
	struct pci_dev pci;
	unsigned accesses;
	uint64_t last_offset;
	uint64_t last_value;
	unsigned hook_calls;
	unsigned hook_off, hook_size;
	uint32_t hook_val;
	uint16_t cached_cmd; /* what a device copies in its cfg_write hook */
	unsigned window_reads;
};

static uint64_t nic_read(void *opaque, uint64_t offset, unsigned size)
{
	struct fake_nic *n = opaque;

	(void)size;
	n->accesses++;
	n->last_offset = offset;
	return 0xA000 + offset;
}

static void nic_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct fake_nic *n = opaque;

	(void)size;
	n->accesses++;
	n->last_offset = offset;
	n->last_value = value;
}

static const struct io_ops nic_ops = { .read = nic_read, .write = nic_write };

static void nic_cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t value)
{
	struct fake_nic *n = container_of(d, struct fake_nic, pci);

	n->hook_calls++;
	n->hook_off = off;
	n->hook_size = size;
	n->hook_val = value;
	n->cached_cmd = pci_cfg_get(d, PCI_COMMAND, 2);
}

/* A window register at 0x50 whose reads the device answers itself. */
static uint32_t nic_cfg_read(struct pci_dev *d, unsigned off, unsigned size, uint32_t value)
{
	struct fake_nic *n = container_of(d, struct fake_nic, pci);

	(void)size;
	if (off >= 0x50 && off < 0x54) {
		n->window_reads++;
		return 0x5A5A5A5A;
	}
	return value;
}

/* BAR0 I/O 32, BAR1 MMIO 4K, BAR2 none, BAR3 I/O 256; an MSI-X-like
 * capability at 0x40 whose enable/mask bits (0x43 bits 7:6) are writable;
 * status with a pending error bit. */
static void nic_init(struct fake_nic *n, uint16_t device)
{
	memset(n, 0, sizeof(*n));
	pci_cfg_set16(&n->pci, PCI_VENDOR_ID, 0x1022);
	pci_cfg_set16(&n->pci, PCI_DEVICE_ID, device);
	pci_cfg_set8(&n->pci, PCI_REVISION_ID, 0x10);
	pci_cfg_set8(&n->pci, PCI_CLASS_PROG, 0x00);
	pci_cfg_set16(&n->pci, PCI_CLASS_DEVICE, 0x0200);
	pci_cfg_set16(&n->pci, PCI_SUBSYSTEM_VENDOR_ID, 0x1AF4);
	pci_cfg_set16(&n->pci, PCI_SUBSYSTEM_ID, 0x1100);
	pci_cfg_set16(&n->pci, PCI_STATUS, 0x8000);
	pci_cfg_set8(&n->pci, PCI_CAPABILITY_LIST, 0x40);
	pci_cfg_set8(&n->pci, 0x40, 0x11); /* cap id */
	pci_cfg_set8(&n->pci, 0x41, 0x00); /* next */
	pci_cfg_set16(&n->pci, 0x42, 0x0003); /* table size - 1: read-only */
	n->pci.wmask[0x43] = 0xC0;
	n->pci.bar[0] = (struct pci_bar_desc){ 32, true, &nic_ops, n, "nic-io" };
	n->pci.bar[1] = (struct pci_bar_desc){ 4096, false, &nic_ops, n, "nic-mmio" };
	n->pci.bar[3] = (struct pci_bar_desc){ 256, true, &nic_ops, n, "nic-io2" };
	n->pci.cfg_write = nic_cfg_write;
	n->pci.cfg_read = nic_cfg_read;
}

struct fixture {
	struct iobus bus;
	struct pci_bus *pb;
	struct fake_nic nic, nic2;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	f->pb = pci_bus_new(&f->bus);
	assert_non_null(f->pb);
	assert_int_equal(pci_bus_attach(f->pb, &f->bus), 0);
	nic_init(&f->nic, 0x2000);
	nic_init(&f->nic2, 0x2001);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_free(f->pb);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static uint32_t cfg_address(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return PCI_CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC);
}

/* Linux's pci_conf1_read/write. */
static uint32_t cfg_read(struct fixture *f, unsigned bus, unsigned dev, unsigned reg,
			 unsigned size)
{
	outl(&f->bus, CFA, cfg_address(bus, dev, 0, reg));
	switch (size) {
	case 1:
		return inb(&f->bus, CFD + (reg & 3));
	case 2:
		return inw(&f->bus, CFD + (reg & 2));
	default:
		return inl(&f->bus, CFD);
	}
}

static void cfg_write(struct fixture *f, unsigned bus, unsigned dev, unsigned reg, unsigned size,
		      uint32_t v)
{
	outl(&f->bus, CFA, cfg_address(bus, dev, 0, reg));
	switch (size) {
	case 1:
		outb(&f->bus, CFD + (reg & 3), v);
		break;
	case 2:
		outw(&f->bus, CFD + (reg & 2), v);
		break;
	default:
		outl(&f->bus, CFD, v);
	}
}

static uint32_t rd(struct fixture *f, unsigned dev, unsigned reg, unsigned size)
{
	return cfg_read(f, 0, dev, reg, size);
}

static void wr(struct fixture *f, unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
	cfg_write(f, 0, dev, reg, size, v);
}

static int mmio_claimed(struct fixture *f, uint64_t addr)
{
	uint64_t v;

	return iobus_read(&f->bus, IO_MMIO, addr, 4, &v);
}

static uint64_t mmio_read(struct fixture *f, uint64_t addr)
{
	uint64_t v;

	iobus_read(&f->bus, IO_MMIO, addr, 4, &v);
	return v;
}

/* arch/x86/pci/direct.c: pci_check_type1, pci_check_type2, pci_sanity_check. */
static void test_linux_direct_probe(void **state)
{
	struct fixture *f = *state;
	uint32_t tmp;
	int found = 0;

	outb(&f->bus, 0xCFB, 0x01);
	tmp = inl(&f->bus, CFA);
	outl(&f->bus, CFA, 0x80000000);
	assert_int_equal(inl(&f->bus, CFA), 0x80000000);
	outl(&f->bus, CFA, tmp);
	assert_int_equal(inl(&f->bus, CFA), tmp);

	/* Not a type 2 bridge: byte accesses at 0xCF8/0xCFA are not latched. */
	outb(&f->bus, 0xCFB, 0x00);
	outb(&f->bus, 0xCF8, 0x00);
	outb(&f->bus, 0xCFA, 0x00);
	assert_int_not_equal(inb(&f->bus, 0xCF8), 0x00);
	assert_int_not_equal(inb(&f->bus, 0xCFA), 0x00);
	assert_int_equal(inw(&f->bus, 0xCF8), 0xFFFF);
	assert_int_equal(inl(&f->bus, CFA), tmp); /* the byte writes changed nothing */

	/* Sanity check: some devfn on bus 0 is a host bridge. */
	for (unsigned devfn = 0; devfn < 0x100; devfn++) {
		outl(&f->bus, CFA, cfg_address(0, devfn >> 3, devfn & 7, PCI_CLASS_DEVICE));
		if (inw(&f->bus, CFD + 2) == 0x0600)
			found++;
	}
	assert_int_equal(found, 1);

	/* Reserved bits of CONFIG_ADDRESS read 0. */
	outl(&f->bus, CFA, 0xFFFFFFFF);
	assert_int_equal(inl(&f->bus, CFA), 0x80FFFFFC);
}

static void test_host_bridge(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(rd(f, 0, PCI_REVISION_ID, 4), 0x06000002);
	assert_int_equal(rd(f, 0, PCI_HEADER_TYPE, 1), 0x00);
	assert_int_equal(rd(f, 0, 0x01, 1), 0x80);
	assert_int_equal(rd(f, 0, 0x02, 2), 0x1237);
	assert_int_equal(rd(f, 0, 0x03, 1), 0x12);
	assert_int_equal(rd(f, 0, PCI_CAPABILITY_LIST, 1), 0x00);
	assert_int_equal(rd(f, 0, PCI_BASE_ADDRESS_0, 4), 0);
	/* Read-only ids and class. */
	wr(f, 0, PCI_VENDOR_ID, 4, 0xFFFFFFFF);
	wr(f, 0, PCI_REVISION_ID, 4, 0);
	wr(f, 0, PCI_HEADER_TYPE, 1, 0x80);
	assert_int_equal(rd(f, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(rd(f, 0, PCI_REVISION_ID, 4), 0x06000002);
	assert_int_equal(rd(f, 0, PCI_HEADER_TYPE, 1), 0x00);
	/* Command: the writable bits only. */
	wr(f, 0, PCI_COMMAND, 2, 0xFFFF);
	assert_int_equal(rd(f, 0, PCI_COMMAND, 2), 0x0547);
	wr(f, 0, PCI_COMMAND, 2, 0x0007);
	assert_int_equal(rd(f, 0, PCI_COMMAND, 4), 0x00000007);
	/* BAR writes on a BAR-less device read back 0. */
	wr(f, 0, PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF);
	assert_int_equal(rd(f, 0, PCI_BASE_ADDRESS_0, 4), 0);
}

static void test_absent_functions_read_all_ones(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, 1, 0, 4), 0xFFFFFFFF);   /* empty slot */
	assert_int_equal(rd(f, 31, 0, 2), 0xFFFF);
	assert_int_equal(cfg_read(f, 1, 0, 0, 4), 0xFFFFFFFF); /* bus 1 */
	assert_int_equal(cfg_read(f, 255, 0, 0, 1), 0xFF);
	outl(&f->bus, CFA, cfg_address(0, 0, 1, 0)); /* slot 0, function 1 */
	assert_int_equal(inl(&f->bus, CFD), 0xFFFFFFFF);
	outl(&f->bus, CFA, cfg_address(0, 0, 7, 0x04));
	outw(&f->bus, CFD, 0);
	/* Enable bit clear: not a config cycle, and no write lands. */
	outl(&f->bus, CFA, 0x00000004);
	assert_int_equal(inl(&f->bus, CFD), 0xFFFFFFFF);
	outl(&f->bus, CFD, 0);
	/* bus 1, device 0, register 4 must not alias the host bridge. */
	cfg_write(f, 1, 0, PCI_COMMAND, 2, 0);
	assert_int_equal(rd(f, 0, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
}

static void test_add_places_bars(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(f->nic.pci.slot, 1);
	assert_int_equal(rd(f, 1, PCI_VENDOR_ID, 4), 0x20001022);
	assert_int_equal(rd(f, 1, PCI_REVISION_ID, 4), 0x02000010);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xC001);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4), 0xE0000000);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 8, 4), 0);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 12, 4), 0xC101); /* 256-aligned */
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 16, 4), 0);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 20, 4), 0);
	assert_int_equal(rd(f, 1, PCI_COMMAND, 2), PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(rd(f, 1, PCI_STATUS, 2), 0x8000 | PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(f, 1, PCI_INTERRUPT_LINE, 1), 11);
	assert_int_equal(rd(f, 1, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(rd(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001AF4);
	assert_int_equal(f->nic.hook_calls, 0);

	/* The BARs reach the device with region-relative offsets. */
	assert_int_equal(inb(&f->bus, 0xC004), 0x04);  /* 0xA004 & 0xFF */
	assert_int_equal(f->nic.last_offset, 4);
	assert_int_equal(inw(&f->bus, 0xC11E), 0xA01E);
	assert_int_equal(mmio_read(f, 0xE0000010), 0xA010);
	iobus_write(&f->bus, IO_MMIO, 0xE0000FFC, 4, 0x12345678);
	assert_int_equal(f->nic.last_offset, 0xFFC);
	assert_int_equal(f->nic.last_value, 0x12345678);
	assert_int_equal(pio_claimed(&f->bus, 0xC020), 0);
	assert_int_equal(mmio_claimed(f, 0xE0001000), 0);

	/* The next device goes to the next slot and the next free space. */
	f->nic2.pci.bar[1].size = 16;
	assert_int_equal(pci_bus_add(f->pb, &f->nic2.pci, PCI_NO_IRQ), 0);
	assert_int_equal(f->nic2.pci.slot, 2);
	assert_int_equal(rd(f, 2, PCI_BASE_ADDRESS_0, 4), 0xC201);
	assert_int_equal(rd(f, 2, PCI_BASE_ADDRESS_0 + 4, 4), 0xE0001000);
	assert_int_equal(rd(f, 2, PCI_BASE_ADDRESS_0 + 12, 4), 0xC301);
	assert_int_equal(rd(f, 2, PCI_INTERRUPT_PIN, 1), 0);
	assert_int_equal(rd(f, 2, PCI_INTERRUPT_LINE, 1), 0);
	assert_int_equal(pci_bus_add(f->pb, &f->nic2.pci, 5), -EBUSY);
}

/* drivers/pci/probe.c: __pci_read_base with decode turned off around it. */
static void test_bar_sizing_linux(void **state)
{
	struct fixture *f = *state;
	static const uint32_t want[6] = { 0xFFFFFFE1, 0xFFFFF000, 0, 0xFFFFFF01, 0, 0 };
	uint16_t cmd;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	cmd = rd(f, 1, PCI_COMMAND, 2);
	wr(f, 1, PCI_COMMAND, 2, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 0);
	assert_int_equal(mmio_claimed(f, 0xE0000000), 0);
	for (unsigned n = 0; n < 6; n++) {
		unsigned reg = PCI_BASE_ADDRESS_0 + 4 * n;
		uint32_t l = rd(f, 1, reg, 4), sz;
		wr(f, 1, reg, 4, 0xFFFFFFFF);
		sz = rd(f, 1, reg, 4);
		wr(f, 1, reg, 4, l);
		assert_int_equal(sz, want[n]);
		assert_int_equal(rd(f, 1, reg, 4), l);
	}
	/* Expansion ROM: none. */
	wr(f, 1, PCI_ROM_ADDRESS, 4, 0xFFFFFFFE);
	assert_int_equal(rd(f, 1, PCI_ROM_ADDRESS, 4), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 0);
	wr(f, 1, PCI_COMMAND, 2, cmd);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 1);
	assert_int_equal(pio_claimed(&f->bus, 0xC100), 1);
	assert_int_equal(mmio_claimed(f, 0xE0000000), 1);
	/* The hook saw each write and tracks the command register. */
	assert_int_equal(f->nic.hook_calls, 15);
	assert_int_equal(f->nic.hook_off, PCI_COMMAND);
	assert_int_equal(f->nic.hook_size, 2);
	assert_int_equal(f->nic.cached_cmd, cmd);
}

static void test_bar_move_and_decode(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	/* Moving with decode on re-registers at once. */
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xD000);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xD001);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 0);
	assert_int_equal(inb(&f->bus, 0xD01F), 0x1F);
	assert_int_equal(pio_claimed(&f->bus, 0xD020), 0);
	wr(f, 1, PCI_BASE_ADDRESS_0 + 4, 4, 0xF0000000);
	assert_int_equal(mmio_claimed(f, 0xE0000000), 0);
	assert_int_equal(mmio_read(f, 0xF0000008), 0xA008);
	/* A partial (word) write moves it too; low bits are forced. */
	wr(f, 1, PCI_BASE_ADDRESS_0, 2, 0xE00F);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xE001);
	assert_int_equal(pio_claimed(&f->bus, 0xD000), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xE000), 1);
	/* Byte write of the high byte of the MMIO BAR. */
	wr(f, 1, PCI_BASE_ADDRESS_0 + 7, 1, 0xE1);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4), 0xE1000000);
	assert_int_equal(mmio_claimed(f, 0xE1000000), 1);
	assert_int_equal(mmio_claimed(f, 0xF0000000), 0);

	/* Decode bits gate each kind separately. */
	wr(f, 1, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(pio_claimed(&f->bus, 0xE000), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xC100), 0);
	assert_int_equal(mmio_claimed(f, 0xE1000000), 1);
	wr(f, 1, PCI_COMMAND, 2, PCI_COMMAND_IO);
	assert_int_equal(pio_claimed(&f->bus, 0xE000), 1);
	assert_int_equal(pio_claimed(&f->bus, 0xC100), 1);
	assert_int_equal(mmio_claimed(f, 0xE1000000), 0);
	/* A move while decode is off takes effect when it is turned on. */
	wr(f, 1, PCI_BASE_ADDRESS_0 + 4, 4, 0xE2000000);
	assert_int_equal(mmio_claimed(f, 0xE2000000), 0);
	wr(f, 1, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	assert_int_equal(mmio_claimed(f, 0xE2000000), 1);
	assert_int_equal(f->nic.cached_cmd, 0x0007);
	/* Sizing with decode left on: the I/O BAR goes past 64K (unmapped),
	 * and both come back on restore. */
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xFFFFFFFF);
	assert_int_equal(pio_claimed(&f->bus, 0xE000), 0);
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xE000);
	assert_int_equal(pio_claimed(&f->bus, 0xE000), 1);
	/* Right at the top of I/O space is fine. */
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xFFE0);
	assert_int_equal(inb(&f->bus, 0xFFFF), 0x1F);
	/* Address 0 means "not placed". */
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0);
	assert_int_equal(pio_claimed(&f->bus, 0x0000), 0);
}

static void test_readonly_rw1c_and_caps(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	wr(f, 1, PCI_VENDOR_ID, 4, 0);
	wr(f, 1, PCI_REVISION_ID, 4, 0xFFFFFFFF);
	wr(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	wr(f, 1, PCI_CAPABILITY_LIST, 1, 0x80);
	wr(f, 1, PCI_INTERRUPT_PIN, 1, 4);
	wr(f, 1, PCI_HEADER_TYPE, 2, 0xFFFF); /* header type + BIST */
	assert_int_equal(rd(f, 1, PCI_VENDOR_ID, 4), 0x20001022);
	assert_int_equal(rd(f, 1, PCI_REVISION_ID, 4), 0x02000010);
	assert_int_equal(rd(f, 1, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x11001AF4);
	assert_int_equal(rd(f, 1, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(rd(f, 1, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(rd(f, 1, PCI_HEADER_TYPE, 2), 0);
	/* Interrupt line, cache line size, latency timer: read/write. */
	wr(f, 1, PCI_INTERRUPT_LINE, 1, 10);
	assert_int_equal(rd(f, 1, PCI_INTERRUPT_LINE, 1), 10);
	wr(f, 1, PCI_CACHE_LINE_SIZE, 2, 0x4010);
	assert_int_equal(rd(f, 1, PCI_CACHE_LINE_SIZE, 2), 0x4010);

	/* Status: writing 0 clears nothing; ones clear the error bit only.
	 * (A dword write at 0x04 also writes command: keep it.) */
	wr(f, 1, PCI_STATUS, 2, 0x0000);
	assert_int_equal(rd(f, 1, PCI_STATUS, 2), 0x8010);
	wr(f, 1, PCI_COMMAND, 4, 0xFFFF0000 | PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	assert_int_equal(rd(f, 1, PCI_COMMAND, 4), 0x00100003);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 1);

	/* Capability walk (drivers/pci/pci.c __pci_find_next_cap). */
	assert_int_equal(rd(f, 1, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	assert_int_equal(rd(f, 1, rd(f, 1, PCI_CAPABILITY_LIST, 1), 2), 0x0011);
	/* Only the device's writable bits change; the hook sees the write. */
	wr(f, 1, 0x42, 2, 0xFFFF);
	assert_int_equal(rd(f, 1, 0x40, 4), 0xC0030011);
	assert_int_equal(f->nic.hook_off, 0x42);
	assert_int_equal(f->nic.hook_size, 2);
	assert_int_equal(f->nic.hook_val, 0xFFFF);
	wr(f, 1, 0x40, 4, 0x00000000);
	assert_int_equal(rd(f, 1, 0x40, 4), 0x00030011);
	wr(f, 1, 0x80, 4, 0xFFFFFFFF); /* no wmask there: read-only */
	assert_int_equal(rd(f, 1, 0x80, 4), 0);
	/* The read hook answers its window. */
	assert_int_equal(rd(f, 1, 0x50, 4), 0x5A5A5A5A);
	assert_int_equal(rd(f, 1, 0x52, 1), 0x5A5A5A5A & 0xFF);
	assert_int_equal(f->nic.window_reads, 2);
}

static void test_hostile_config_accesses(void **state)
{
	struct fixture *f = *state;
	uint64_t v;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	/* Accesses that would cross the CONFIG_DATA dword: all ones, dropped. */
	outl(&f->bus, CFA, cfg_address(0, 1, 0, PCI_COMMAND));
	assert_int_equal(inl(&f->bus, CFD + 1), 0xFFFFFFFF);
	assert_int_equal(inl(&f->bus, CFD + 3), 0xFFFFFFFF);
	assert_int_equal(inw(&f->bus, CFD + 3), 0xFFFF);
	outl(&f->bus, CFD + 1, 0);
	outw(&f->bus, CFD + 3, 0);
	assert_int_equal(rd(f, 1, PCI_COMMAND, 2), 0x0003);
	/* A dword access at 0xCF9/0xCFA is not CONFIG_ADDRESS either. */
	outl(&f->bus, 0xCFA, 0);
	assert_int_equal(inl(&f->bus, CFA), cfg_address(0, 1, 0, PCI_COMMAND));
	assert_int_equal(inl(&f->bus, 0xCFA), 0xFFFFFFFF);
	/* An 8-byte access (not possible on PIO, but the bus allows it). */
	iobus_read(&f->bus, IO_PIO, CFD, 8, &v);
	assert_true(v == ~0ull);
	iobus_write(&f->bus, IO_PIO, CFD, 8, 0);
	assert_int_equal(rd(f, 1, PCI_COMMAND, 2), 0x0003);
	/* Low bits and reserved bits in CONFIG_ADDRESS are ignored. */
	outl(&f->bus, CFA, 0xFF000807); /* bus 0 dev 1 reg 4, junk */
	assert_int_equal(inl(&f->bus, CFA), 0x80000804);
	assert_int_equal(inw(&f->bus, CFD), 0x0003);
	/* The last byte of config space is reachable and in bounds. */
	outl(&f->bus, CFA, cfg_address(0, 1, 0, 0xFC));
	assert_int_equal(inb(&f->bus, CFD + 3), 0);
	outb(&f->bus, CFD + 3, 0xFF);
	assert_int_equal(inl(&f->bus, CFD), 0);
	assert_int_equal(cfg_read(f, 255, 31, 0xFC, 4), 0xFFFFFFFF);
}

static void test_bar_conflicts(void **state)
{
	struct fixture *f = *state;
	static const struct io_ops other_ops = { .read = nic_read, .write = nic_write };
	struct fake_nic other;

	memset(&other, 0, sizeof(other));
	assert_int_equal(iobus_register(&f->bus, IO_PIO, 0x3F8, 8, "com1", &other_ops, &other), 0);
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(pci_bus_add(f->pb, &f->nic2.pci, 10), 0);

	/* Over the UART: refused by the bus, BAR left unmapped, UART intact. */
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0x3E0);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0x3E1);
	assert_int_equal(pio_claimed(&f->bus, 0x3E0), 0);
	(void)inb(&f->bus, 0x3F8);
	assert_int_equal(other.accesses, 1);
	assert_int_equal(f->nic.accesses, 0);
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xD000);
	assert_int_equal(pio_claimed(&f->bus, 0xD000), 1);

	/* Two BARs on one address: the second waits until the first moves. */
	wr(f, 2, PCI_BASE_ADDRESS_0, 4, 0xD000);
	(void)inb(&f->bus, 0xD000);
	assert_int_equal(f->nic.accesses, 2); /* pio_claimed read it too */
	assert_int_equal(f->nic2.accesses, 0);
	wr(f, 1, PCI_BASE_ADDRESS_0, 4, 0xD100);
	(void)inb(&f->bus, 0xD000);
	assert_int_equal(f->nic2.accesses, 1);
	(void)inb(&f->bus, 0xD100);
	assert_int_equal(f->nic.accesses, 3);

	/* MMIO the same way. */
	wr(f, 2, PCI_BASE_ADDRESS_0 + 4, 4, 0xE0000000);
	(void)mmio_read(f, 0xE0000000);
	assert_int_equal(f->nic.accesses, 4);
	wr(f, 1, PCI_COMMAND, 2, PCI_COMMAND_IO);
	(void)mmio_read(f, 0xE0000000);
	assert_int_equal(f->nic2.accesses, 2);
	iobus_unregister(&f->bus, IO_PIO, 0x3F8);
}

/* Random config traffic from a hostile guest, then the invariants. */
static void test_fuzz(void **state)
{
	struct fixture *f = *state;
	static const unsigned sizes[3] = { 1, 2, 4 };
	uint64_t x = 0x9E3779B97F4A7C15ull;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(pci_bus_add(f->pb, &f->nic2.pci, 10), 0);
	for (unsigned i = 0; i < 200000; i++) {
		unsigned size, port;
		uint32_t r;
		uint64_t v;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r = x >> 32;
		size = sizes[(x >> 8) % 3];
		port = 0xCF8 + ((x >> 12) & 7);
		if ((x & 0xF) == 0) {
			/* mostly bus 0, slots 0-3, function 0, so that writes land */
			uint32_t a = PCI_CONFIG_ENABLE | (r & 0x000018FC);
			outl(&f->bus, CFA, (x & 0x30) ? a : r);
		} else if (x & 0x20) {
			iobus_write(&f->bus, IO_PIO, port, size, r);
		} else {
			iobus_read(&f->bus, IO_PIO, port, size, &v);
		}
	}
	/* Read-only fields survived; BAR registers hold only legal values. */
	assert_int_equal(rd(f, 0, PCI_VENDOR_ID, 4), 0x12378086);
	assert_int_equal(rd(f, 1, PCI_VENDOR_ID, 4), 0x20001022);
	assert_int_equal(rd(f, 2, PCI_VENDOR_ID, 4), 0x20011022);
	assert_int_equal(rd(f, 1, PCI_CAPABILITY_LIST, 1), 0x40);
	assert_int_equal(rd(f, 1, 0x42, 2) & 0x3FFF, 0x0003);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4) & 0x1F, 0x01);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 4, 4) & 0xFFF, 0);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0 + 8, 4), 0);
	assert_int_equal(rd(f, 1, PCI_COMMAND, 2) & ~0x0547, 0);
	/* The traffic did move BARs of both kinds (regions retired by moves). */
	assert_true(f->bus.space[IO_PIO].n_retired > 0);
	assert_true(f->bus.space[IO_MMIO].n_retired > 0);
	/* Restoring sane values maps everything again. */
	for (unsigned d = 1; d <= 2; d++) {
		wr(f, d, PCI_BASE_ADDRESS_0, 4, 0xD000 + 0x100 * d);
		wr(f, d, PCI_BASE_ADDRESS_0 + 4, 4, 0xE0000000 + 0x1000 * d);
		wr(f, d, PCI_BASE_ADDRESS_0 + 12, 4, 0xE000 + 0x100 * d);
		wr(f, d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	}
	for (unsigned d = 1; d <= 2; d++) {
		assert_int_equal(pio_claimed(&f->bus, 0xD000 + 0x100 * d), 1);
		assert_int_equal(pio_claimed(&f->bus, 0xE000 + 0x100 * d), 1);
		assert_int_equal(mmio_claimed(f, 0xE0000000 + 0x1000 * d), 1);
	}
	assert_int_equal(inl(&f->bus, CFA) & ~CONFIG_ADDRESS_MASK, 0);
}

static void test_add_errors(void **state)
{
	struct fixture *f = *state;
	struct fake_nic *many = calloc(40, sizeof(*many));
	unsigned added = 0;
	int r;

	assert_non_null(many);
	f->nic.pci.bar[0].size = 48; /* not a power of two */
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.bar[0].size = 512; /* I/O BARs are at most 256 bytes */
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.bar[0].size = 32;
	f->nic.pci.bar[1].size = 8; /* memory BARs at least 16 */
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.bar[1].size = 4096;
	f->nic.pci.bar[1].ops = NULL;
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.bar[1].ops = &nic_ops;
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 255), -EINVAL);
	f->nic.pci.cfg[PCI_CAPABILITY_LIST] = 0x20;
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.cfg[PCI_CAPABILITY_LIST] = 0x41;
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.cfg[PCI_CAPABILITY_LIST] = 0x40;
	f->nic.pci.cfg[PCI_HEADER_TYPE] = 1; /* a bridge */
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EINVAL);
	f->nic.pci.cfg[PCI_HEADER_TYPE] = 0;

	/* An iobus conflict leaves nothing registered and the slot free. */
	assert_int_equal(iobus_register(&f->bus, IO_PIO, 0xC100, 1, "squatter", &nic_ops, &f->nic2), 0);
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), -EEXIST);
	assert_null(f->nic.pci.bus);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 0);
	assert_int_equal(mmio_claimed(f, 0xE0000000), 0);
	assert_int_equal(rd(f, 1, PCI_VENDOR_ID, 4), 0xFFFFFFFF);
	iobus_unregister(&f->bus, IO_PIO, 0xC100);
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(f->nic.pci.slot, 1);

	/* The I/O window fills (6 x 256 bytes a device), then the slots. */
	for (unsigned i = 0; i < 40; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		pci_cfg_set16(&many[i].pci, PCI_VENDOR_ID, 0x1234);
		for (unsigned n = 0; n < 6; n++)
			many[i].pci.bar[n] = (struct pci_bar_desc){ 256, true, &nic_ops, &many[i], "io" };
		r = pci_bus_add(f->pb, &many[i].pci, 9);
		if (r < 0)
			break;
		added++;
	}
	/* 0xC200..0xFFFF holds 62 BARs of 256: 10 devices. */
	assert_int_equal(added, 10);
	assert_int_equal(r, -ENOSPC);
	assert_null(many[10].pci.bus);
	for (unsigned i = 10; i < 40; i++) {
		memset(&many[i], 0, sizeof(many[i]));
		pci_cfg_set16(&many[i].pci, PCI_VENDOR_ID, 0x1234);
		r = pci_bus_add(f->pb, &many[i].pci, PCI_NO_IRQ);
		if (r < 0)
			break;
		added++;
	}
	assert_int_equal(added, 30); /* slots 2-31 */
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(rd(f, 31, PCI_VENDOR_ID, 2), 0x1234);
	pci_bus_free(f->pb);
	f->pb = NULL;
	assert_int_equal(pio_claimed(&f->bus, 0xC200), 0);
	free(many);
}

static void test_free_unregisters_everything(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 1);
	pci_bus_free(f->pb);
	f->pb = NULL;
	assert_int_equal(pio_claimed(&f->bus, 0xC000), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xC100), 0);
	assert_int_equal(mmio_claimed(f, 0xE0000000), 0);
	assert_int_equal(pio_claimed(&f->bus, CFA), 0);
	assert_null(f->nic.pci.bus);
	/* A fresh bus can take the device again. */
	f->pb = pci_bus_new(&f->bus);
	assert_non_null(f->pb);
	assert_int_equal(pci_bus_attach(f->pb, &f->bus), 0);
	assert_int_equal(pci_bus_attach(f->pb, &f->bus), -EBUSY);
	assert_int_equal(pci_bus_add(f->pb, &f->nic.pci, 11), 0);
	assert_int_equal(rd(f, 1, PCI_BASE_ADDRESS_0, 4), 0xC001);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_direct_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_bridge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_functions_read_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_places_bars, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_sizing_linux, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_move_and_decode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_rw1c_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_config_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bar_conflicts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_add_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_unregisters_everything, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
