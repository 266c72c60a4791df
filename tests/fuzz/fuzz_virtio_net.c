/* fuzz_virtio_net.c: libFuzzer target for devices/virtio_net.c,
 * devices/virtio_pci.c and devices/virtqueue.c (virtio 1.x over PCI, split
 * rings) on a real PCI bus and iobus over 16 MiB of guard-paged guest RAM.
 * The input is a guest program in the op format of fuzz_common.h: accesses
 * to the common, ISR, device and notify structures in BAR 0 and to config
 * space, writes of descriptor tables, avail rings and buffers into RAM, and
 * the I/O thread's side: frames from the tap (vnet_rx, with or without a
 * vnet header), transmit runs after kicks (vnet_tx_run), timed-out frames
 * (vnet_rx_drop).
 * No tap: frames come from the input; transmits go to a sink that checks
 * them; ioeventfds are faked (numbers, never signalled).
 *
 * Config byte: bits 0-2 VNET_OPT_*, bit 3 the backend refuses transmits,
 * bit 4 leave the PCI command register as pci_bus_add set it (no bus
 * mastering), bit 5 no notify eventfds (notify_fd -1), bit 6 an MSI-X
 * sink (the capability, table and PBA exist; regions 5 and 6 reach them).
 *
 * Events (FZ_OP_EVENT): 0 receive (flags u8: bit 0 with a header; header
 * 12 bytes; len u16; bytes), 1 transmit run (kicks u8; 0 means the kicks
 * counted since the last run), 2 drop a waiting frame, 3 read status and
 * features.
 *
 * Invariants after every op: the counters never go down; irq_set only on a
 * change, and stats.irqs counts the rises plus the MSI-X messages (each
 * for a vector inside the table); every transmit hands over at
 * least the 12-byte header and at most header + 65550 bytes, each segment
 * inside guest RAM; ioeventfds are removed only once assigned, and never
 * assigned twice at one address. */
#include <errno.h>

#include "tests/fuzz/fuzz_common.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"

#define GSI 11
#define RX_MAX (65535 + 255) /* len u16 + u8: past VNET_GSO_MAX */

struct efd {
	uint64_t addr;
	int fd;
};

struct fx {
	struct iobus bus;
	struct pci_bus *pb;
	struct vnet *s;
	struct fz_irq irq;
	uint64_t kicks_pending;
	bool tx_fails;
	struct efd efds[8];
	unsigned nefds;
	struct vnet_stats last;
	uint64_t msi_sent;
	uint8_t frame[RX_MAX];
};

static int msi_send(void *ctx, unsigned vec, const struct msi_msg *m)
{
	struct fx *x = ctx;
	(void)m;
	FZ_CHECK(vec < VNET_MSIX_VECTORS);
	x->msi_sent++;
	return 0;
}

static void kick(void *ctx)
{
	struct fx *x = ctx;
	x->kicks_pending++;
}

static void rx_notify(void *ctx)
{
	(void)ctx;
}

static void set_offload(void *ctx, unsigned offload)
{
	(void)ctx;
	FZ_CHECK(!(offload & ~(NETDEV_OFFLOAD_CSUM | NETDEV_OFFLOAD_TSO4 | NETDEV_OFFLOAD_TSO6)));
}

static int tx_sink(void *ctx, const struct iovec *iov, unsigned n)
{
	struct fx *x = ctx;
	const struct gmem *m = fz_ram();
	uint64_t total = 0;
	volatile uint8_t sum = 0;

	FZ_CHECK(n >= 1 && n <= VQ_SEGS_MAX);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = iov[i].iov_base;
		FZ_CHECK(p >= m->host && iov[i].iov_len <= m->size &&
			 (uint64_t)(p - m->host) <= m->size - iov[i].iov_len);
		if (iov[i].iov_len) /* touch both ends: a fault if outside */
			sum ^= p[0] ^ p[iov[i].iov_len - 1];
		total += iov[i].iov_len;
	}
	(void)sum;
	FZ_CHECK(total >= VNET_HDR_LEN && total <= VNET_HDR_LEN + VNET_GSO_MAX);
	return x->tx_fails ? -EIO : 0;
}

static int efd_assign(void *ctx, enum io_space sp, uint64_t addr, unsigned len, int fd, bool assign)
{
	struct fx *x = ctx;

	FZ_CHECK(sp == IO_MMIO && len == 2);
	for (unsigned i = 0; i < x->nefds; i++) {
		if (x->efds[i].addr != addr)
			continue;
		FZ_CHECK(!assign); /* never twice at one address */
		FZ_CHECK(x->efds[i].fd == fd);
		x->efds[i] = x->efds[--x->nefds];
		return 0;
	}
	FZ_CHECK(assign); /* removed only once assigned */
	FZ_CHECK(x->nefds < 8);
	x->efds[x->nefds++] = (struct efd){ addr, fd };
	return 0;
}

static uint64_t bar0(void *ctx)
{
	struct fx *x = ctx;
	return pci_cfg_get(vnet_pci_dev(x->s), PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_MASK;
}
static uint64_t isr(void *ctx)
{
	return bar0(ctx) + VPCI_ISR_OFF;
}
static uint64_t devcfg(void *ctx)
{
	return bar0(ctx) + VPCI_DEVCFG_OFF;
}
static uint64_t notify(void *ctx)
{
	return bar0(ctx) + VPCI_NOTIFY_OFF;
}
static uint64_t msix_table(void *ctx)
{
	return bar0(ctx) + VPCI_MSIX_TABLE_OFF;
}
static uint64_t msix_pba(void *ctx)
{
	return bar0(ctx) + VPCI_MSIX_PBA_OFF;
}

static const struct fz_region regions[] = {
	{ .space = IO_MMIO, .len = VPCI_COMMON_LEN, .base = bar0 },
	{ .space = IO_MMIO, .len = 1, .base = isr },
	{ .space = IO_MMIO, .len = VNET_DEVCFG_LEN, .base = devcfg },
	{ .space = IO_MMIO, .len = VNET_NUM_QUEUES * VPCI_NOTIFY_MULT, .base = notify },
	{ .space = IO_PIO, .len = 8, .fixed_base = PCI_CONFIG_ADDRESS_PORT },
	{ .space = IO_MMIO, .len = VNET_MSIX_VECTORS * MSIX_ENTRY_SIZE, .base = msix_table },
	{ .space = IO_MMIO, .len = 8, .base = msix_pba },
};

static void event(void *ctx, uint8_t ev, struct fz *f)
{
	struct fx *x = ctx;

	switch (ev % 4) {
	case 0: {
		uint8_t flags = fz_u8(f), hdr[VNET_HDR_LEN] = { 0 };
		size_t got, len;
		const uint8_t *p;
		int r;

		if (flags & 1) {
			p = fz_bytes(f, VNET_HDR_LEN, &got);
			memcpy(hdr, p, got);
		}
		len = fz_u16(f);
		if (flags & 2) /* GSO sizes: up to 64 KiB and a bit over */
			len += fz_u8(f);
		p = fz_bytes(f, len, &got);
		memcpy(x->frame, p, got);
		memset(x->frame + got, 0, len - got);
		r = vnet_rx(x->s, flags & 1 ? hdr : NULL, x->frame, len);
		FZ_CHECK(r == 0 || r == -EAGAIN);
		break;
	}
	case 1: {
		uint64_t kicks = fz_u8(f);
		if (!kicks) {
			kicks = x->kicks_pending;
			x->kicks_pending = 0;
		}
		vnet_tx_run(x->s, kicks);
		break;
	}
	case 2:
		vnet_rx_drop(x->s);
		break;
	case 3: {
		volatile uint64_t sink = vnet_status(x->s) ^ vnet_features(x->s) ^ vnet_bar0(x->s);
		(void)sink;
		break;
	}
	}
}

FZ_NOCOV static void check(void *ctx)
{
	struct fx *x = ctx;
	struct vnet_stats st;

	vnet_get_stats(x->s, &st);
	_Static_assert(sizeof(st) % sizeof(uint64_t) == 0, "vnet_stats: all uint64_t");
	fz_check_monotonic((const uint64_t *)&x->last, (const uint64_t *)&st,
			   sizeof(st) / sizeof(uint64_t));
	x->last = st;
	FZ_CHECK(st.irqs == x->irq.rises + x->msi_sent);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct vnet_config c = { .name = "virtio-net0", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x57 } };
	struct fz f = { data, size };
	uint8_t conf = fz_u8(&f);
	struct fz_target t = {
		.bus = &x.bus, .regions = regions, .n_regions = sizeof(regions) / sizeof(regions[0]),
		.event = event, .check = check, .ctx = &x,
	};

	fz_init_logging();
	fz_ram_reset();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	fz_irq_init(&x.irq, &c.irq, GSI, false);
	c.mem = fz_ram();
	c.opts = conf & VNET_OPT_ALL;
	c.backend = (struct netdev_backend){ .kick = kick, .rx_notify = rx_notify, .tx = tx_sink,
					   .set_offload = set_offload, .ctx = &x };
	c.accel = (struct io_accel){ .ioeventfd = efd_assign, .ctx = &x };
	c.notify_fd[0] = conf & 0x20 ? -1 : 100;
	c.notify_fd[1] = conf & 0x20 ? -1 : 101;
	x.tx_fails = conf & 0x08;
	if (conf & 0x40)
		c.msi = (struct msi_sink){ .send = msi_send, .ctx = &x };
	x.s = vnet_new(&c);
	x.pb = pci_bus_new(&x.bus);
	FZ_CHECK(x.s && x.pb);
	FZ_CHECK(pci_bus_attach(x.pb, &x.bus) == 0);
	FZ_CHECK(pci_bus_add(x.pb, vnet_pci_dev(x.s), GSI) == 0);
	vnet_pci_sync(x.s);
	if (!(conf & 0x10)) { /* pci_enable_device + pci_set_master */
		iobus_write(&x.bus, IO_PIO, PCI_CONFIG_ADDRESS_PORT, 4, 0x80000000u | 1u << 11 | 4);
		iobus_write(&x.bus, IO_PIO, PCI_CONFIG_DATA_PORT, 2, 0x0006);
	}
	check(&x);

	fz_run(&t, &f);

	if (getenv("FUZZ_TRACE"))
		fprintf(stderr, "virtio-net: status %#x tx %llu rx %llu drops %llu/%llu/%llu/%llu irqs %llu needs_reset %llu\n",
			vnet_status(x.s), (unsigned long long)x.last.tx_frames,
			(unsigned long long)x.last.rx_frames, (unsigned long long)x.last.drops[0],
			(unsigned long long)x.last.drops[1], (unsigned long long)x.last.drops[2],
			(unsigned long long)x.last.drops[3], (unsigned long long)x.last.irqs,
			(unsigned long long)x.last.needs_reset);
	pci_bus_free(x.pb);
	vnet_free(x.s);
	iobus_destroy(&x.bus);
	return 0;
}
