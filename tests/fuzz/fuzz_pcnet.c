/* fuzz_pcnet.c: libFuzzer target for devices/pcnet.c, the Am79C970A, on a
 * real PCI bus and iobus over 16 MiB of guard-paged guest RAM. The input is
 * a guest program in the op format of fuzz_common.h: register accesses to
 * the I/O BAR and config space, writes of init blocks, descriptors and
 * frames into RAM, and the I/O thread's side: received frames (pcnet_rx),
 * transmit runs after kicks (pcnet_tx_run), timed-out frames
 * (pcnet_rx_drop). No tap: frames come from the input, transmits go to a
 * sink that checks them.
 *
 * Config byte: bits 0-2 PCNET_OPT_*, bit 3 the backend refuses transmits,
 * bit 4 leave the PCI command register as pci_bus_add set it (no bus
 * mastering until the input turns it on), bit 5 TDMD deferral (a poll hook
 * and tick: with no clock every TX run counts as busy, so the RDP window
 * comes on after a few runs).
 *
 * Events (FZ_OP_EVENT): 0 receive (len u16, bytes), 1 receive addressed to
 * the current PADR or broadcast (which u8, len u16, bytes), 2 transmit run
 * (kicks u8; 0 means the kicks counted since the last run), 3 drop a waiting
 * frame, 4 read every CSR and BCR through the accessors, and the counter
 * names, 5 a deferral poll tick (pcnet_tx_poll).
 *
 * Invariants after every op: the counters never go down; INTA is asserted
 * exactly when CSR0 has INTR and INEA; irq_set only on a change; transmitted
 * frames are 1..1518 bytes; coalesced windows are removed only once
 * added, and never added twice. */
#include <errno.h>

#include "tests/fuzz/fuzz_common.h"
#include "devices/pcnet.h"

#define GSI 10
#define CSR0_INEA 0x0040
#define CSR0_INTR 0x0080
#define RX_MAX (PCNET_FRAME_MAX + 64) /* a bit over, to reach the oversize path */

struct zone {
	uint64_t addr, len;
};

struct fx {
	bool poll_armed; /* the deferral tick runs */
	struct iobus bus;
	struct pci_bus *pb;
	struct pcnet *s;
	struct fz_irq irq;
	uint64_t kicks_pending, rx_notifies;
	bool tx_fails;
	struct zone zones[8];
	unsigned nzones;
	struct pcnet_stats last;
	uint8_t frame[RX_MAX];
};

static void kick(void *ctx)
{
	struct fx *x = ctx;
	x->kicks_pending++;
}

static int tx_sink(void *ctx, const struct iovec *iov, unsigned n)
{
	struct fx *x = ctx;
	const uint8_t *buf = iov[n - 1].iov_base;
	size_t len = iov[n - 1].iov_len;
	volatile uint8_t sum = 0;

	FZ_CHECK(len >= 1 && len <= PCNET_FRAME_MAX);
	for (size_t i = 0; i < len; i++) /* touch every byte: ASan checks the range */
		sum ^= buf[i];
	(void)sum;
	return x->tx_fails ? -EIO : 0;
}

static void rx_notify(void *ctx)
{
	struct fx *x = ctx;
	x->rx_notifies++;
}

static int zone_add(void *ctx, enum io_space sp, uint64_t addr, uint64_t len, uint64_t *drained)
{
	struct fx *x = ctx;

	FZ_CHECK(sp == IO_PIO && len == 2 && drained);
	FZ_CHECK(x->nzones < 8);
	for (unsigned i = 0; i < x->nzones; i++)
		FZ_CHECK(x->zones[i].addr != addr); /* never added twice */
	x->zones[x->nzones++] = (struct zone){ addr, len };
	return 0;
}

static int zone_del(void *ctx, enum io_space sp, uint64_t addr, uint64_t len)
{
	struct fx *x = ctx;

	FZ_CHECK(sp == IO_PIO);
	for (unsigned i = 0; i < x->nzones; i++) {
		if (x->zones[i].addr == addr && x->zones[i].len == len) {
			x->zones[i] = x->zones[--x->nzones];
			return 0;
		}
	}
	FZ_CHECK(!"coalesce_del of a window never added");
	return -ENOENT;
}

static uint64_t bar0(void *ctx)
{
	struct fx *x = ctx;
	return pci_cfg_get(pcnet_pci_dev(x->s), PCI_BASE_ADDRESS_0, 4) & ~3u;
}

static const struct fz_region regions[] = {
	{ .space = IO_PIO, .len = PCNET_IO_SIZE, .base = bar0 },
	{ .space = IO_PIO, .len = 8, .fixed_base = PCI_CONFIG_ADDRESS_PORT },
};

static void receive(struct fx *x, struct fz *f, const uint8_t *dst)
{
	size_t len = fz_u16(f) % (RX_MAX + 1), got;
	const uint8_t *p = fz_bytes(f, len, &got);

	memcpy(x->frame, p, got);
	memset(x->frame + got, 0, len - got);
	if (dst && len >= 6)
		memcpy(x->frame, dst, 6);
	int r = pcnet_rx(x->s, x->frame, len);
	FZ_CHECK(r == 0 || r == -EAGAIN);
}

static void event(void *ctx, uint8_t ev, struct fz *f)
{
	struct fx *x = ctx;

	switch (ev % 6) {
	case 0:
		receive(x, f, NULL);
		break;
	case 1: {
		uint8_t dst[6];
		if (fz_u8(f) & 1) {
			memset(dst, 0xff, 6);
		} else {
			for (unsigned i = 0; i < 3; i++) {
				uint16_t w = pcnet_csr(x->s, 12 + i);
				dst[2 * i] = (uint8_t)w;
				dst[2 * i + 1] = (uint8_t)(w >> 8);
			}
		}
		receive(x, f, dst);
		break;
	}
	case 2: {
		uint64_t kicks = fz_u8(f);
		unsigned sent;
		if (!kicks) {
			kicks = x->kicks_pending;
			x->kicks_pending = 0;
		}
		sent = pcnet_tx_run(x->s, kicks);
		FZ_CHECK(sent <= PCNET_RING_MAX);
		break;
	}
	case 3:
		pcnet_rx_drop(x->s, 64);
		break;
	case 4: {
		volatile uint16_t sink = 0;
		for (unsigned n = 0; n < 130; n++)
			sink ^= pcnet_csr(x->s, n);
		for (unsigned n = 0; n < 70; n++)
			sink ^= pcnet_bcr(x->s, n);
		for (unsigned n = 0; n <= PCNET_ACC_COUNT; n++) /* one past: "?" */
			FZ_CHECK(pcnet_access_name(n) && pcnet_drop_name(n));
		(void)sink;
		break;
	}
	case 5:
		pcnet_tx_poll(x->s);
		FZ_CHECK(pcnet_tx_deferring(x->s) == x->poll_armed);
		break;
	}
}

static void arm_poll(void *ctx, uint64_t ns)
{
	struct fx *x = ctx;
	x->poll_armed = ns != 0;
}

FZ_NOCOV static void check(void *ctx)
{
	struct fx *x = ctx;
	struct pcnet_stats st;
	uint16_t csr0 = pcnet_csr(x->s, 0);

	pcnet_get_stats(x->s, &st);
	_Static_assert(sizeof(st) % sizeof(uint64_t) == 0, "pcnet_stats: all uint64_t");
	fz_check_monotonic((const uint64_t *)&x->last, (const uint64_t *)&st,
			   sizeof(st) / sizeof(uint64_t));
	x->last = st;
	FZ_CHECK(x->irq.level == ((csr0 & CSR0_INTR) && (csr0 & CSR0_INEA)));
	FZ_CHECK(st.irqs == x->irq.rises);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct pcnet_config c = { .name = "pcnet0", .mac = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 } };
	struct fz f = { data, size };
	uint8_t conf = fz_u8(&f);
	struct fz_target t = {
		.bus = &x.bus, .regions = regions, .n_regions = 2,
		.event = event, .check = check, .ctx = &x,
	};

	fz_init_logging();
	fz_ram_reset();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	fz_irq_init(&x.irq, &c.irq, GSI, false);
	c.mem = fz_ram();
	c.opts = conf & PCNET_OPT_ALL;
	c.backend = (struct netdev_backend){ .kick = kick, .tx = tx_sink, .rx_notify = rx_notify, .ctx = &x };
	c.accel = (struct io_accel){ .coalesce_add = zone_add, .coalesce_del = zone_del, .ctx = &x };
	x.tx_fails = conf & 0x08;
	if (conf & 0x20) {
		c.backend.arm_poll = arm_poll;
		c.tx_defer_ns = 100000;
	}
	x.s = pcnet_new(&c);
	x.pb = pci_bus_new(&x.bus);
	FZ_CHECK(x.s && x.pb);
	FZ_CHECK(pci_bus_attach(x.pb, &x.bus) == 0);
	FZ_CHECK(pci_bus_add(x.pb, pcnet_pci_dev(x.s), GSI) == 0);
	pcnet_pci_sync(x.s);
	if (!(conf & 0x10)) { /* pci_enable_device + pci_set_master */
		iobus_write(&x.bus, IO_PIO, PCI_CONFIG_ADDRESS_PORT, 4, 0x80000000u | 1u << 11 | 4);
		iobus_write(&x.bus, IO_PIO, PCI_CONFIG_DATA_PORT, 2, 0x0005);
	}
	check(&x);

	fz_run(&t, &f);

	if (getenv("FUZZ_TRACE")) /* what a seed or reproducer did */
		fprintf(stderr, "pcnet: tx %llu rx %llu filtered %llu drops %llu/%llu/%llu/%llu irqs %llu csr0 %#x\n",
			(unsigned long long)x.last.tx_frames, (unsigned long long)x.last.rx_frames,
			(unsigned long long)x.last.rx_filtered,
			(unsigned long long)x.last.drops[0], (unsigned long long)x.last.drops[1],
			(unsigned long long)x.last.drops[2], (unsigned long long)x.last.drops[3],
			(unsigned long long)x.last.irqs, pcnet_csr(x.s, 0));
	pci_bus_free(x.pb);
	pcnet_free(x.s);
	iobus_destroy(&x.bus);
	return 0;
}
