/* fuzz_pci.c: libFuzzer target for devices/pci.c, the host bridge and bus 0
 * behind configuration mechanism #1, on a real iobus, with three test
 * functions plugged in as a device model would (devices/README.md "Writing a
 * PCI device"): one with an I/O and a memory BAR, a capability with
 * guest-writable bits and both hooks; one with a 256-byte I/O BAR, a
 * 16-byte memory BAR and two unimplemented BARs between; one without BARs or
 * INTx. The input is a guest program in the op format of fuzz_common.h:
 * CONFIG_ADDRESS/CONFIG_DATA accesses of every width and offset, BAR sizing
 * and moves (onto each other and onto the config ports), command register
 * decode toggles, and accesses through the BARs wherever they are now.
 *
 * Config byte: unused (reserved). No events.
 *
 * Invariants after every op: every region on the bus is one that should be
 * there: no region twice, the BARs registered exactly at the address their
 * register and the command register decode (or not at all when that address
 * is taken by another region); read-only header fields unchanged; hooks
 * called with an offset and size inside the 256-byte space and never
 * crossing a dword; BAR callbacks get offsets inside the BAR. */
#include "tests/fuzz/fuzz_common.h"
#include "devices/pci.h"

#define NDEV 3

struct tdev {
	struct pci_dev pci;
	uint8_t ids[16]; /* cfg[0..15] after pci_bus_add */
	uint8_t cap;     /* cfg[PCI_CAPABILITY_LIST] */
	uint32_t size[PCI_NUM_BARS];
	uint64_t hook_writes;
};

struct fx {
	struct iobus bus;
	struct pci_bus *pb;
	struct tdev dev[NDEV];
	bool in_check;
};

struct bar_ctx {
	struct tdev *d;
	unsigned n;
};
static struct bar_ctx bar_ctx[NDEV][PCI_NUM_BARS];

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct bar_ctx *b = opaque;

	FZ_CHECK(off < b->d->size[b->n]);
	FZ_CHECK(size >= 1 && size <= 8);
	return off ^ b->n;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t value)
{
	struct bar_ctx *b = opaque;

	(void)value;
	FZ_CHECK(off < b->d->size[b->n]);
	FZ_CHECK(size >= 1 && size <= 8);
}

static const struct io_ops bar_ops = { .read = bar_read, .write = bar_write };

static void hook_write(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct tdev *d = container_of(dev, struct tdev, pci);

	(void)value;
	FZ_CHECK(size == 1 || size == 2 || size == 4);
	FZ_CHECK(off + size <= PCI_CFG_SIZE && off / 4 == (off + size - 1) / 4);
	d->hook_writes++;
}

static uint32_t hook_read(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	(void)dev;
	FZ_CHECK(size == 1 || size == 2 || size == 4);
	FZ_CHECK(off + size <= PCI_CFG_SIZE && off / 4 == (off + size - 1) / 4);
	if (off >= 0x48 && off < 0x4c) /* a window, as virtio's PCI_CFG cap */
		return value ^ 0xa5a5a5a5u;
	return value;
}

FZ_NOCOV static uint64_t bar_base(struct fx *x, unsigned dn, unsigned n)
{
	struct tdev *d = &x->dev[dn];
	uint32_t v = pci_cfg_get(&d->pci, PCI_BASE_ADDRESS_0 + 4 * n, 4);

	return d->pci.bar[n].io ? v & PCI_BASE_ADDRESS_IO_MASK : v & PCI_BASE_ADDRESS_MEM_MASK;
}

static struct fx x;

#define BAR_BASE_FN(dn, n) \
	static uint64_t base_##dn##_##n(void *ctx) { return bar_base(ctx, dn, n); }
BAR_BASE_FN(0, 0)
BAR_BASE_FN(0, 1)
BAR_BASE_FN(1, 0)
BAR_BASE_FN(1, 3)

static const struct fz_region regions[] = {
	{ .space = IO_PIO, .len = 8, .fixed_base = PCI_CONFIG_ADDRESS_PORT },
	{ .space = IO_PIO, .len = 32, .base = base_0_0 },
	{ .space = IO_MMIO, .len = 4096, .base = base_0_1 },
	{ .space = IO_PIO, .len = 256, .base = base_1_0 },
	{ .space = IO_MMIO, .len = 16, .base = base_1_3 },
};

struct seen {
	struct fx *x;
	unsigned count[NDEV][PCI_NUM_BARS];
	unsigned cfg_ports;
	struct { enum io_space sp; uint64_t base, len; } r[64];
	unsigned n;
};

/* Maps a region back to the BAR it is, by its name ("t<dev>b<bar>"). */
FZ_NOCOV static void visit(void *ctx, enum io_space sp, const char *name, uint64_t base, uint64_t len,
		  const struct iobus_stats *st)
{
	struct seen *s = ctx;
	unsigned dn, n;

	(void)st;
	if (name[0] == 'u') /* "unclaimed" */
		return;
	FZ_CHECK(s->n < 64);
	s->r[s->n].sp = sp;
	s->r[s->n].base = base;
	s->r[s->n++].len = len;
	if (name[0] == 'p') { /* "pci-cfg" */
		FZ_CHECK(sp == IO_PIO && base == PCI_CONFIG_ADDRESS_PORT && len == 8);
		s->cfg_ports++;
		return;
	}
	/* "t<dev>b<bar>", set by add(); no sscanf: this runs after every op */
	FZ_CHECK(name[0] == 't' && name[2] == 'b');
	dn = (unsigned)(name[1] - '0');
	n = (unsigned)(name[3] - '0');
	FZ_CHECK(dn < NDEV && n < PCI_NUM_BARS);
	struct tdev *d = &s->x->dev[dn];
	uint16_t cmd = (uint16_t)pci_cfg_get(&d->pci, PCI_COMMAND, 2);
	FZ_CHECK(d->pci.bar[n].size == len);
	FZ_CHECK(sp == (d->pci.bar[n].io ? IO_PIO : IO_MMIO));
	FZ_CHECK(base == bar_base(s->x, dn, n));
	FZ_CHECK(cmd & (d->pci.bar[n].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY));
	s->count[dn][n]++;
}

/* Where BAR n of dev dn should be decoded now (pci.c: I/O inside the 64 KiB
 * port space), or 0. */
FZ_NOCOV static uint64_t decoded_at(struct fx *f, unsigned dn, unsigned n)
{
	struct tdev *d = &f->dev[dn];
	uint16_t cmd = (uint16_t)pci_cfg_get(&d->pci, PCI_COMMAND, 2);
	uint64_t a = bar_base(f, dn, n);

	if (!d->pci.bar[n].size)
		return 0;
	if (d->pci.bar[n].io)
		return (cmd & PCI_COMMAND_IO) && a + d->pci.bar[n].size <= PCI_IO_WINDOW_END ? a : 0;
	return cmd & PCI_COMMAND_MEMORY ? a : 0;
}

FZ_NOCOV static bool taken(const struct seen *s, enum io_space sp, uint64_t base, uint64_t len)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->r[i].sp == sp && s->r[i].base < base + len && base < s->r[i].base + s->r[i].len)
			return true;
	return false;
}

FZ_NOCOV static void check(void *ctx)
{
	struct fx *f = ctx;
	struct seen s = { .x = f };

	iobus_foreach(&f->bus, visit, &s);
	FZ_CHECK(s.cfg_ports == 1);
	for (unsigned dn = 0; dn < NDEV; dn++) {
		struct tdev *d = &f->dev[dn];
		for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
			uint64_t at = decoded_at(f, dn, n);

			FZ_CHECK(s.count[dn][n] <= 1);
			/* Decoded: mapped, unless another region holds the
			 * address (then it waits until that one moves). */
			if (at && !s.count[dn][n])
				FZ_CHECK(taken(&s, d->pci.bar[n].io ? IO_PIO : IO_MMIO, at,
					       d->pci.bar[n].size));
			if (!at)
				FZ_CHECK(!s.count[dn][n]);
			if (!d->pci.bar[n].size)
				FZ_CHECK(pci_cfg_get(&d->pci, PCI_BASE_ADDRESS_0 + 4 * n, 4) == 0);
		}
		/* Vendor, device, revision, class, header type: read-only. */
		FZ_CHECK(!memcmp(d->pci.cfg, d->ids, 4));
		FZ_CHECK(!memcmp(d->pci.cfg + 8, d->ids + 8, 4));
		FZ_CHECK(d->pci.cfg[PCI_HEADER_TYPE] == 0);
		FZ_CHECK(d->pci.cfg[PCI_CAPABILITY_LIST] == d->cap);
	}
}

static void add(struct fx *f, unsigned dn, const uint32_t *sizes, const bool *io, uint8_t cap,
		unsigned gsi)
{
	struct tdev *d = &f->dev[dn];
	static char names[NDEV][PCI_NUM_BARS][8];

	pci_cfg_set16(&d->pci, PCI_VENDOR_ID, 0x1af4);
	pci_cfg_set16(&d->pci, PCI_DEVICE_ID, (uint16_t)(0x1000 + dn));
	pci_cfg_set8(&d->pci, PCI_REVISION_ID, 1);
	pci_cfg_set16(&d->pci, PCI_CLASS_DEVICE, 0x0200);
	if (cap) {
		pci_cfg_set8(&d->pci, PCI_CAPABILITY_LIST, cap);
		pci_cfg_set8(&d->pci, cap, 0x09);     /* vendor-specific */
		pci_cfg_set8(&d->pci, cap + 1, 0x00); /* end of list */
		d->pci.wmask[cap + 3] = 0xc0;
		for (unsigned i = 4; i < 12; i++)
			d->pci.wmask[cap + i] = 0xff;
		d->pci.cfg_write = hook_write;
		d->pci.cfg_read = hook_read;
	}
	for (unsigned n = 0; n < PCI_NUM_BARS; n++) {
		d->size[n] = sizes[n];
		if (!sizes[n])
			continue;
		snprintf(names[dn][n], sizeof(names[dn][n]), "t%ub%u", dn, n);
		bar_ctx[dn][n] = (struct bar_ctx){ d, n };
		d->pci.bar[n] = (struct pci_bar_desc){ sizes[n], io[n], &bar_ops, &bar_ctx[dn][n],
						      names[dn][n] };
	}
	FZ_CHECK(pci_bus_add(f->pb, &d->pci, gsi) == 0);
	memcpy(d->ids, d->pci.cfg, 16);
	d->cap = d->pci.cfg[PCI_CAPABILITY_LIST];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t sz0[PCI_NUM_BARS] = { 32, 4096 }, sz1[PCI_NUM_BARS] = { 256, 0, 0, 16 },
			      sz2[PCI_NUM_BARS] = { 0 };
	static const bool io0[PCI_NUM_BARS] = { true, false }, io1[PCI_NUM_BARS] = { true },
			  io2[PCI_NUM_BARS] = { false };
	struct fz f = { data, size };
	struct fz_target t = {
		.bus = &x.bus, .regions = regions, .n_regions = 5, .check = check, .ctx = &x,
	};

	(void)fz_u8(&f); /* config byte */
	fz_init_logging();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	x.pb = pci_bus_new(&x.bus);
	FZ_CHECK(x.pb);
	FZ_CHECK(pci_bus_attach(x.pb, &x.bus) == 0);
	add(&x, 0, sz0, io0, 0x40, 11);
	add(&x, 1, sz1, io1, 0, 5);
	add(&x, 2, sz2, io2, 0, PCI_NO_IRQ);
	check(&x);

	fz_run(&t, &f);

	pci_bus_free(x.pb);
	iobus_destroy(&x.bus);
	return 0;
}
