/* test_virtio_net.c: the virtio-net model on fake guest memory, driven
 * through BAR 0 in the order Linux's virtio_pci_modern and virtio_net use it
 * (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queues, DRIVER_OK),
 * with exact expected state: PCI ids and capabilities, feature negotiation
 * and refusal, the status machine with NEEDS_RESET, TX of a frame with its
 * vnet header, RX with and without MRG_RXBUF, interrupts and ISR, counters,
 * and hostile rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"

#define RAM (256u << 10)
#define QN 8
#define RX_DESC 0x1000
#define RX_AVAIL 0x1800
#define RX_USED 0x1c00
#define TX_DESC 0x2000
#define TX_AVAIL 0x2800
#define TX_USED 0x2c00
#define RXBUF 0x10000
#define TXBUF 0x20000

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fixture {
	uint8_t *ram;
	struct gmem mem;
	struct vnet *s;
	const struct io_ops *ops;
	int irq_level, irq_raises;
	unsigned kicks, rx_notifies, offload, offload_calls;
	unsigned tx_frames;
	size_t tx_len;
	uint8_t tx_buf[2048];
	int tx_ret;
	/* TX interrupt coalescing hooks: timer requests and a fake clock. */
	unsigned arms, disarms;
	uint64_t armed_ns, clock;
	/* MSI-X sink (make_msix): messages sent and route updates seen. */
	unsigned msi_sends, msi_updates;
	unsigned msi_vec;
	struct msi_msg msi_last;
	bool msi_usable;
};

/* make() hands these to the next device (coalescing tests set them). */
static unsigned next_irq_frames;
static uint64_t next_irq_ns;
static bool next_clock;
static bool next_msix;

static int msi_send(void *ctx, unsigned vec, const struct msi_msg *m)
{
	struct fixture *f = ctx;
	f->msi_sends++;
	f->msi_vec = vec;
	f->msi_last = *m;
	return 0;
}

static void msi_update(void *ctx, unsigned vec, const struct msi_msg *m, bool usable)
{
	struct fixture *f = ctx;
	(void)vec;
	(void)m;
	f->msi_updates++;
	f->msi_usable = usable;
}

static void arm_timer(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	if (ns) {
		f->arms++;
		f->armed_ns = ns;
	} else {
		f->disarms++;
	}
}

static uint64_t fake_now(void *ctx)
{
	return ((struct fixture *)ctx)->clock;
}

static int irq_set_fn(void *ctx, unsigned gsi, int level)
{
	struct fixture *f = ctx;
	(void)gsi;
	if (level && !f->irq_level)
		f->irq_raises++;
	f->irq_level = level;
	return 0;
}
static void kick(void *ctx) { ((struct fixture *)ctx)->kicks++; }
static void rx_notify(void *ctx) { ((struct fixture *)ctx)->rx_notifies++; }
static void set_offload(void *ctx, unsigned o)
{
	struct fixture *f = ctx;
	f->offload = o;
	f->offload_calls++;
}
static int tx(void *ctx, const struct iovec *iov, unsigned n)
{
	struct fixture *f = ctx;
	size_t len = 0;
	for (unsigned i = 0; i < n; i++) {
		assert_true(len + iov[i].iov_len <= sizeof(f->tx_buf));
		memcpy(f->tx_buf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	f->tx_len = len;
	if (f->tx_ret == 0)
		f->tx_frames++;
	return f->tx_ret;
}

static uint64_t rd(struct fixture *f, uint64_t off, unsigned size)
{
	return f->ops->read(vnet_pci_dev(f->s)->bar[0].opaque, off, size);
}
static void wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
	f->ops->write(vnet_pci_dev(f->s)->bar[0].opaque, off, size, v);
}

static struct fixture *make(unsigned opts)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vnet_config c = { 0 };

	f->ram = calloc(1, RAM);
	f->mem = (struct gmem){ f->ram, RAM };
	memcpy(c.mac, MAC, 6);
	c.mem = &f->mem;
	c.irq = (struct irq_line){ .set = irq_set_fn, .ctx = f, .gsi = 10 };
	c.backend = (struct netdev_backend){ .kick = kick, .rx_notify = rx_notify, .tx = tx,
					   .set_offload = set_offload, .arm_timer = arm_timer,
					   .now_ns = next_clock ? fake_now : NULL, .ctx = f };
	c.tx_irq_frames = next_irq_frames;
	c.tx_irq_ns = next_irq_ns;
	c.notify_fd[0] = c.notify_fd[1] = -1;
	if (next_msix)
		c.msi = (struct msi_sink){ .send = msi_send, .update = msi_update, .ctx = f };
	c.opts = opts;
	c.name = "virtio-net0";
	f->s = vnet_new(&c);
	assert_non_null(f->s);
	f->ops = vnet_pci_dev(f->s)->bar[0].ops;
	/* As after pci_bus_add and the driver's pci_enable_device + set_master. */
	pci_cfg_set16(vnet_pci_dev(f->s), PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_cfg_set32(vnet_pci_dev(f->s), PCI_BASE_ADDRESS_0, 0xe0000000);
	vnet_pci_sync(f->s);
	return f;
}

static void destroy(struct fixture *f)
{
	vnet_free(f->s);
	free(f->ram);
	free(f);
}

static uint64_t device_features(struct fixture *f)
{
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint64_t lo = rd(f, VIRTIO_PCI_COMMON_DF, 4);
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return lo | rd(f, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static void set_features(struct fixture *f, uint64_t feat)
{
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
}

static void setup_queue(struct fixture *f, unsigned q, unsigned size, uint64_t desc, uint64_t avail,
			uint64_t used)
{
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), VNET_QUEUE_SIZE);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc); /* vp_iowrite64_twopart */
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO + 4, 4, desc >> 32);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO + 4, 4, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)used);
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO + 4, 4, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_NOFF, 2), q);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

/* The virtio_pci_modern / virtio_net probe sequence up to DRIVER_OK. */
static void bring_up(struct fixture *f, uint64_t feat)
{
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	assert_int_equal(device_features(f) & feat, feat);
	set_features(f, feat);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1),
			 VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	setup_queue(f, VNET_RXQ, QN, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(f, VNET_TXQ, QN, TX_DESC, TX_AVAIL, TX_USED);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xf & ~0u);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0xf);
}

static void put_desc(struct fixture *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = f->ram + table + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static uint16_t g16(struct fixture *f, uint64_t a)
{
	uint16_t v;
	memcpy(&v, f->ram + a, 2);
	return v;
}
static uint32_t g32(struct fixture *f, uint64_t a)
{
	uint32_t v;
	memcpy(&v, f->ram + a, 4);
	return v;
}
static void s16(struct fixture *f, uint64_t a, uint16_t v)
{
	memcpy(f->ram + a, &v, 2);
}

static void offer(struct fixture *f, uint64_t avail, uint16_t head)
{
	uint16_t idx = g16(f, avail + 2);
	s16(f, avail + 4 + 2 * (idx % QN), head);
	s16(f, avail + 2, (uint16_t)(idx + 1));
}

#define BASE_FEATURES (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC)

static void test_pci_config(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct pci_dev *d = vnet_pci_dev(f->s);
	unsigned ptr, seen = 0;
	(void)state;
	assert_int_equal(pci_cfg_get(d, PCI_VENDOR_ID, 2), 0x1af4);
	assert_int_equal(pci_cfg_get(d, PCI_DEVICE_ID, 2), 0x1041);
	assert_int_equal(pci_cfg_get(d, PCI_REVISION_ID, 1), 1);
	assert_int_equal(pci_cfg_get(d, PCI_CLASS_DEVICE, 2), 0x0200);
	assert_int_equal(d->bar[0].size, VPCI_BAR_SIZE);
	assert_false(d->bar[0].io);
	/* Walk the list as virtio_pci_find_capability does (types 1-5: the
	 * PCI configuration access window has offset and length 0). */
	for (ptr = d->cfg[PCI_CAPABILITY_LIST]; ptr; ptr = d->cfg[ptr + 1]) {
		uint8_t type = d->cfg[ptr + 3];
		uint32_t off = pci_cfg_get(d, ptr + 8, 4), len = pci_cfg_get(d, ptr + 12, 4);
		assert_int_equal(d->cfg[ptr], 0x09);
		assert_int_equal(d->cfg[ptr + 4], 0); /* BAR 0 */
		assert_true(off + len <= VPCI_BAR_SIZE);
		seen |= 1u << type;
		if (type == 1)
			assert_int_equal(len, VPCI_COMMON_LEN);
		if (type == 2) {
			assert_int_equal(d->cfg[ptr + 2], 20);
			assert_int_equal(pci_cfg_get(d, ptr + 16, 4), VPCI_NOTIFY_MULT);
		}
	}
	assert_int_equal(seen, 0x3e);
	/* Device configuration: mac, status LINK_UP. */
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(rd(f, VPCI_DEVCFG_OFF + i, 1), MAC[i]);
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF + 6, 2), 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_NUMQ, 2), 2);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_MSIX, 2), 0xffff);
	destroy(f);
}

/* A guest config write, as pci.c does it: the bytes through wmask, then the
 * device's hook. */
static void cfg_write(struct pci_dev *d, unsigned off, unsigned size, uint32_t v)
{
	for (unsigned i = 0; i < size; i++)
		d->cfg[off + i] = (uint8_t)((d->cfg[off + i] & ~d->wmask[off + i]) |
					    ((v >> (8 * i)) & d->wmask[off + i]));
	d->cfg_write(d, off, size, v);
}

static unsigned find_cap(struct pci_dev *d, uint8_t id, int vtype)
{
	for (unsigned p = d->cfg[PCI_CAPABILITY_LIST]; p; p = d->cfg[p + 1])
		if (d->cfg[p] == id && (vtype < 0 || d->cfg[p + 3] == vtype))
			return p;
	return 0;
}

/* 4.1.4.7: the PCI configuration access window reads and writes BAR 0. */
static void test_pci_cfg_window(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct pci_dev *d = vnet_pci_dev(f->s);
	unsigned cap = find_cap(d, 0x09, 5);
	(void)state;
	assert_int_not_equal(cap, 0);
	assert_int_equal(d->cfg[cap + 2], 20);
	/* The MAC's second byte, through a 1-byte window. */
	cfg_write(d, cap + 4, 1, 0);
	cfg_write(d, cap + 8, 4, VPCI_DEVCFG_OFF + 1);
	cfg_write(d, cap + 12, 4, 1);
	assert_int_equal(d->cfg_read(d, cap + 16, 4, pci_cfg_get(d, cap + 16, 4)) & 0xff, MAC[1]);
	/* A 2-byte write: queue_select. */
	cfg_write(d, cap + 8, 4, VIRTIO_PCI_COMMON_Q_SELECT);
	cfg_write(d, cap + 12, 4, 2);
	cfg_write(d, cap + 16, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	/* Misaligned, past the BAR, or another BAR: nothing happens. */
	cfg_write(d, cap + 8, 4, VIRTIO_PCI_COMMON_Q_SELECT + 1);
	cfg_write(d, cap + 16, 2, 0);
	cfg_write(d, cap + 8, 4, VPCI_BAR_SIZE);
	cfg_write(d, cap + 16, 2, 0);
	cfg_write(d, cap + 4, 1, 1);
	cfg_write(d, cap + 8, 4, VIRTIO_PCI_COMMON_Q_SELECT);
	cfg_write(d, cap + 16, 2, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SELECT, 2), 1);
	destroy(f);
}

/* One 60-byte frame into RX buffer i (256 bytes at RXBUF + 256 i). */
static void rx_one(struct fixture *f, unsigned i)
{
	static const uint8_t frame[60] = { 1 };

	put_desc(f, RX_DESC, i, RXBUF + 256 * i, 256, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, (uint16_t)i);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
}

/* MSI-X: vectors per queue, the table in BAR 0, masking into the PBA, no
 * ISR bit or INTx for queue notifications; without a sink no capability. */
static void test_msix(void **state)
{
	struct fixture *f, *g = make(VNET_OPT_ALL);
	struct pci_dev *d;
	struct vnet_stats st;
	unsigned cap;
	(void)state;
	assert_int_equal(find_cap(vnet_pci_dev(g->s), 0x11, -1), 0);
	wr(g, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(rd(g, VIRTIO_PCI_COMMON_MSIX, 2), 0xffff); /* no MSI-X: NO_VECTOR */
	destroy(g);

	next_msix = true;
	f = make(VNET_OPT_ALL);
	next_msix = false;
	d = vnet_pci_dev(f->s);
	cap = find_cap(d, 0x11, -1);
	assert_int_not_equal(cap, 0);
	assert_int_equal(pci_cfg_get(d, cap + 2, 2) & 0x7ff, VNET_MSIX_VECTORS - 1);
	assert_int_equal(pci_cfg_get(d, cap + 4, 4), VPCI_MSIX_TABLE_OFF); /* BIR 0 */
	assert_int_equal(pci_cfg_get(d, cap + 8, 4), VPCI_MSIX_PBA_OFF);
	bring_up(f, BASE_FEATURES);
	/* vp_modern_queue_vector: vectors below the table size stick. */
	wr(f, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_MSIX, 2), 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, VNET_RXQ);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, VNET_MSIX_VECTORS);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 0xffff);
	wr(f, VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_MSIX, 2), 1);
	/* Entry 1: address, data; still masked (reset state). */
	wr(f, VPCI_MSIX_TABLE_OFF + 16, 8, 0xfee00000ull);
	wr(f, VPCI_MSIX_TABLE_OFF + 24, 4, 0x41);
	assert_int_equal(rd(f, VPCI_MSIX_TABLE_OFF + 28, 4), 1);
	assert_int_equal(rd(f, VPCI_MSIX_TABLE_OFF + 16, 8), 0xfee00000ull);
	cfg_write(d, cap + 2, 2, 0x8000); /* MSI-X Enable */
	/* A frame while vector 1 is masked: held in the PBA. */
	rx_one(f, 0);
	assert_int_equal(f->msi_sends, 0);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 2);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 0);
	/* Unmasking sends it. */
	wr(f, VPCI_MSIX_TABLE_OFF + 28, 4, 0);
	assert_int_equal(f->msi_sends, 1);
	assert_int_equal(f->msi_vec, 1);
	assert_int_equal(f->msi_last.addr, 0xfee00000ull);
	assert_int_equal(f->msi_last.data, 0x41);
	assert_true(f->msi_usable);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 0);
	/* The next frame goes at once; Function Mask holds it again. */
	rx_one(f, 1);
	assert_int_equal(f->msi_sends, 2);
	cfg_write(d, cap + 2, 2, 0xc000);
	assert_false(f->msi_usable);
	rx_one(f, 2);
	assert_int_equal(f->msi_sends, 2);
	cfg_write(d, cap + 2, 2, 0x8000);
	assert_int_equal(f->msi_sends, 3);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.irqs, 3);
	assert_int_equal(st.msi_held, 2);
	/* Hostile table accesses: out of range, odd sizes. */
	wr(f, VPCI_MSIX_TABLE_OFF + 16 * VNET_MSIX_VECTORS, 4, 0);
	wr(f, VPCI_MSIX_TABLE_OFF + 2, 2, 0xffff);
	assert_int_equal(rd(f, VPCI_MSIX_TABLE_OFF + 2, 2), 0);
	assert_int_equal(rd(f, VPCI_MSIX_TABLE_OFF + 16 * VNET_MSIX_VECTORS, 4), 0);
	/* Rewriting a live vector's message drops its route (the sink sends by
	 * other means until the next unmask), once per change, not per write. */
	f->msi_updates = 0;
	wr(f, VPCI_MSIX_TABLE_OFF + 24, 4, 0x42);
	assert_int_equal(f->msi_updates, 1);
	assert_false(f->msi_usable);
	wr(f, VPCI_MSIX_TABLE_OFF + 24, 4, 0x42);
	assert_int_equal(f->msi_updates, 1);
	/* Held while masked, then MSI-X turned off: INTx takes it over. */
	wr(f, VPCI_MSIX_TABLE_OFF + 28, 4, 1);
	rx_one(f, 3);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 2);
	assert_int_equal(f->irq_level, 0);
	cfg_write(d, cap + 2, 2, 0);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 0);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
	assert_int_equal(f->irq_level, 0);
	/* Held again, then a device reset: the stale signal is forgotten. */
	cfg_write(d, cap + 2, 2, 0x8000);
	rx_one(f, 4);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 2);
	/* Reset: the vectors go back to NO_VECTOR, nothing stays pending. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_MSIX, 2), 0xffff);
	assert_int_equal(rd(f, VPCI_MSIX_PBA_OFF, 8), 0);
	f->msi_sends = 0;
	wr(f, VPCI_MSIX_TABLE_OFF + 28, 4, 0);
	assert_int_equal(f->msi_sends, 0);
	destroy(f);
}

static void test_feature_negotiation(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	uint64_t df;
	(void)state;
	df = device_features(f);
	assert_int_equal(df, 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC |
				     1ull << VIRTIO_NET_F_STATUS | 1ull << VIRTIO_NET_F_MRG_RXBUF |
				     1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_GUEST_CSUM |
				     1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6 |
				     1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6 |
				     1ull << VIRTIO_RING_F_EVENT_IDX);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* No VERSION_1: refused (legacy is not offered). */
	set_features(f, 1ull << VIRTIO_NET_F_MAC);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	/* A bit we never offered. */
	set_features(f, BASE_FEATURES | 1ull << 22);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	/* GUEST_TSO4 without GUEST_CSUM (5.1.3.1). */
	set_features(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	assert_int_equal(f->offload_calls, 0);
	/* Accepted: offloads go to the tap. */
	set_features(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0xb);
	assert_int_equal(f->offload, NETDEV_OFFLOAD_CSUM | NETDEV_OFFLOAD_TSO4);
	/* Frozen after FEATURES_OK. */
	set_features(f, BASE_FEATURES);
	assert_int_equal(vnet_features(f->s),
			 BASE_FEATURES | 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4);
	/* Reset clears it all and the tap's offloads. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	assert_int_equal(vnet_features(f->s), 0);
	assert_int_equal(f->offload, 0);
	destroy(f);

	/* Without the irqfd switch, EVENT_IDX is not offered. */
	f = make(0);
	assert_int_equal(device_features(f) >> VIRTIO_RING_F_EVENT_IDX & 1, 0);
	destroy(f);
}

static void test_status_machine(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	(void)state;
	/* DRIVER_OK before FEATURES_OK: NEEDS_RESET. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x7);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0x3 | VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0);
	/* FEATURES_OK without DRIVER is refused. */
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x9);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* A queue size that is not a power of two: NEEDS_RESET at enable. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 100);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 8, RX_DESC);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, RX_AVAIL);
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 8, RX_USED);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Larger than the maximum, and rings outside RAM. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 512);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 8, RX_DESC);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, RX_AVAIL);
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 8, RX_USED);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, 8);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 8, RAM - 16);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Reset brings the defaults back. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), VNET_QUEUE_SIZE);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_DESCLO, 4), 0);
	/* Queue select past the last queue: size 0. */
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 2);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	destroy(f);
}

static void test_tx(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t hdr[VNET_HDR_LEN] = { 1, 0, 0, 0, 0, 0, 14, 0, 16, 0, 0, 0 }; /* NEEDS_CSUM */
	(void)state;
	bring_up(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_RING_F_EVENT_IDX);
	/* Header in one descriptor, frame in the next (virtio_net's xmit_skb). */
	memcpy(f->ram + TXBUF, hdr, sizeof(hdr));
	for (unsigned i = 0; i < 60; i++)
		f->ram[TXBUF + 64 + i] = (uint8_t)i;
	put_desc(f, TX_DESC, 0, TXBUF, VNET_HDR_LEN, VRING_DESC_F_NEXT, 1);
	put_desc(f, TX_DESC, 1, TXBUF + 64, 60, 0, 0);
	offer(f, TX_AVAIL, 0);
	wr(f, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * VNET_TXQ, 2, VNET_TXQ);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(vnet_tx_run(f->s, 1), 1);
	assert_int_equal(f->tx_len, VNET_HDR_LEN + 60);
	assert_memory_equal(f->tx_buf, hdr, VNET_HDR_LEN);
	assert_int_equal(f->tx_buf[VNET_HDR_LEN + 59], 59);
	assert_int_equal(g16(f, TX_USED + 2), 1);
	assert_int_equal(g32(f, TX_USED + 4), 0);
	assert_int_equal(g32(f, TX_USED + 8), 0);
	/* EVENT_IDX: avail_event asks for the next notify. */
	assert_int_equal(g16(f, TX_USED + 4 + 8 * QN), 1);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
	assert_int_equal(f->irq_level, 0);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 0);
	/* Send combining: three frames, one run, one batch of 3. */
	for (unsigned i = 2; i < 5; i++) {
		put_desc(f, TX_DESC, i, TXBUF + 128 * i, VNET_HDR_LEN + 60, 0, 0);
		offer(f, TX_AVAIL, (uint16_t)i);
	}
	assert_int_equal(vnet_tx_run(f->s, 1), 3);
	/* Hostile: outside RAM, too short for a header, oversize. */
	put_desc(f, TX_DESC, 5, RAM - 8, 60, 0, 0);
	offer(f, TX_AVAIL, 5);
	put_desc(f, TX_DESC, 6, TXBUF, 4, 0, 0);
	offer(f, TX_AVAIL, 6);
	put_desc(f, TX_DESC, 7, TXBUF, VNET_HDR_LEN + 2000, 0, 0);
	offer(f, TX_AVAIL, 7);
	assert_int_equal(vnet_tx_run(f->s, 1), 3);
	/* Backend failure. */
	f->tx_ret = -EIO;
	put_desc(f, TX_DESC, 2, TXBUF, VNET_HDR_LEN + 60, 0, 0);
	offer(f, TX_AVAIL, 2);
	assert_int_equal(vnet_tx_run(f->s, 1), 1);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_frames, 4);
	assert_int_equal(st.tx_bytes, 240);
	assert_int_equal(st.drops[VNET_DROP_BAD_DESC], 2);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[VNET_DROP_BACKEND], 1);
	assert_int_equal(st.kicks, 4);
	assert_int_equal(st.tx_batch[0], 2); /* 1 */
	assert_int_equal(st.tx_batch[1], 2); /* 2-3 */
	assert_int_equal(st.access[VPCI_ACC_NOTIFY], 1);
	assert_int_equal(g16(f, TX_USED + 2), 8);
	assert_int_equal(f->tx_frames, 4);
	destroy(f);
}

static void test_rx_mrg(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t frame[150], hdr[VNET_HDR_LEN] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES | 1ull << VIRTIO_NET_F_MRG_RXBUF);
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i + 1);
	/* No buffer yet: the frame waits. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), -EAGAIN);
	for (unsigned i = 0; i < 4; i++) {
		put_desc(f, RX_DESC, i, RXBUF + 256 * i, 64, VRING_DESC_F_WRITE, 0);
		offer(f, RX_AVAIL, (uint16_t)i);
	}
	/* 12 + 150 = 162 bytes: 64 + 64 + 34 in three buffers. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), 0);
	assert_int_equal(g16(f, RX_USED + 2), 3);
	assert_int_equal(g32(f, RX_USED + 4), 0);
	assert_int_equal(g32(f, RX_USED + 8), 64);
	assert_int_equal(g32(f, RX_USED + 12), 1);
	assert_int_equal(g32(f, RX_USED + 16), 64);
	assert_int_equal(g32(f, RX_USED + 20), 2);
	assert_int_equal(g32(f, RX_USED + 24), 34);
	assert_int_equal(g16(f, RXBUF + 10), 3); /* num_buffers */
	assert_memory_equal(f->ram + RXBUF + VNET_HDR_LEN, frame, 52);
	assert_memory_equal(f->ram + RXBUF + 256, frame + 52, 64);
	assert_memory_equal(f->ram + RXBUF + 512, frame + 116, 34);
	assert_int_equal(f->irq_level, 1);
	/* One buffer left: a 162-byte frame does not fit; it is held, not lost. */
	assert_int_equal(vnet_rx(f->s, hdr, frame, sizeof(frame)), -EAGAIN);
	assert_int_equal(g16(f, RX_USED + 2), 3);
	/* Oversize without GSO. */
	static uint8_t big[VNET_FRAME_MAX + 1];
	assert_int_equal(vnet_rx(f->s, hdr, big, sizeof(big)), 0);
	/* A device-readable buffer on the receive queue is a bad descriptor. */
	put_desc(f, RX_DESC, 3, RXBUF + 768, 64, 0, 0);
	assert_int_equal(vnet_rx(f->s, hdr, frame, 20), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.rx_bytes, 150);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[VNET_DROP_BAD_DESC], 1);
	assert_int_equal(st.drops[VNET_DROP_NO_RX_BUFFER], 0);
	destroy(f);
}

static void test_rx_no_mrg(void **state)
{
	struct fixture *f = make(0);
	struct vnet_stats st;
	uint8_t frame[100] = { 0xff };
	(void)state;
	bring_up(f, BASE_FEATURES);
	/* A chain of two writable descriptors holds header + frame. */
	put_desc(f, RX_DESC, 0, RXBUF, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	put_desc(f, RX_DESC, 1, RXBUF + 100, 200, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 0);
	put_desc(f, RX_DESC, 2, RXBUF + 512, 50, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 2);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_int_equal(g32(f, RX_USED + 8), 112);
	assert_int_equal(f->ram[RXBUF + 100 + 2], 0xff); /* header bytes 10, 11 then the frame */
	/* Too small a chain without MRG_RXBUF: dropped as oversize. */
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.rx_frames, 1);
	assert_int_equal(st.drops[VNET_DROP_OVERSIZE], 1);
	assert_int_equal(g16(f, RX_USED + 2), 2);
	assert_int_equal(g32(f, RX_USED + 16), 0);
	/* Before DRIVER_OK, or after reset, frames are dropped as no buffer. */
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[VNET_DROP_NO_RX_BUFFER], 1);
	destroy(f);
}

static void test_broken_ring_needs_reset(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	struct vnet_stats st;
	uint8_t frame[60] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES);
	s16(f, RX_AVAIL + 2, QN + 5); /* avail index runs ahead of the ring */
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 2); /* configuration change */
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.needs_reset, 1);
	/* Stopped until reset: nothing more is taken. */
	assert_int_equal(vnet_tx_run(f->s, 1), 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	bring_up(f, BASE_FEATURES);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_STATUS, 1), 0xf);
	destroy(f);
}

static void test_no_bus_master(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	uint8_t frame[60] = { 0 };
	(void)state;
	bring_up(f, BASE_FEATURES);
	put_desc(f, RX_DESC, 0, RXBUF, 200, VRING_DESC_F_WRITE, 0);
	offer(f, RX_AVAIL, 0);
	pci_cfg_set16(vnet_pci_dev(f->s), PCI_COMMAND, PCI_COMMAND_MEMORY);
	vnet_pci_sync(f->s);
	assert_int_equal(vnet_rx(f->s, NULL, frame, sizeof(frame)), 0);
	assert_int_equal(g16(f, RX_USED + 2), 0); /* no DMA without bus mastering */
	destroy(f);
}

/* A full 256-entry TX ring: one run sends 256 frames (its budget), then
 * kicks the I/O thread again rather than looping on. */
static void test_tx_budget(void **state)
{
	struct fixture *f = make(VNET_OPT_ALL);
	const uint64_t desc = 0x30000, avail = 0x31000, used = 0x32000;
	(void)state;
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	setup_queue(f, VNET_RXQ, QN, RX_DESC, RX_AVAIL, RX_USED);
	setup_queue(f, VNET_TXQ, 256, desc, avail, used);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xf);
	for (unsigned i = 0; i < 256; i++) {
		put_desc(f, desc, i, TXBUF, VNET_HDR_LEN + 60, 0, 0);
		s16(f, avail + 4 + 2 * i, (uint16_t)i);
	}
	s16(f, avail + 2, 256);
	assert_int_equal(vnet_tx_run(f->s, 1), 256);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(g16(f, used + 2), 256);
	assert_int_equal(vnet_tx_run(f->s, 1), 0);
	assert_int_equal(f->kicks, 1);
	destroy(f);
}

/* ---- TX used-ring interrupt coalescing (send combining) ---- */

#define COAL_N 4
#define COAL_NS 200000u

static struct fixture *make_coal(unsigned opts, bool clock, uint64_t feat)
{
	struct fixture *f;

	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	next_clock = clock;
	f = make(opts);
	next_irq_frames = 0;
	next_irq_ns = 0;
	next_clock = false;
	bring_up(f, feat);
	return f;
}

/* One chain per notify and per run; the driver's handler reads the ISR
 * (which lowers the line). Returns the interrupts seen. */
static unsigned send_k(struct fixture *f, unsigned k, unsigned *slot)
{
	unsigned irqs = 0;

	for (unsigned i = 0; i < k; i++) {
		put_desc(f, TX_DESC, *slot, TXBUF, VNET_HDR_LEN + 60, 0, 0);
		offer(f, TX_AVAIL, (uint16_t)*slot);
		*slot = (*slot + 1) % QN;
		assert_int_equal(vnet_tx_run(f->s, 1), 1);
		if (f->irq_level) {
			assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
			irqs++;
		}
	}
	return irqs;
}

/* K completions: floor(K/N) interrupts at once, one more from the timer:
 * ceil(K/N). N is capped at half the queue (4 of 8 here). */
static void test_tx_irq_coalesced(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, false, BASE_FEATURES);
	struct vnet_stats st;
	unsigned slot = 0, irqs;
	(void)state;

	irqs = send_k(f, 10, &slot);
	assert_int_equal(irqs, 10 / COAL_N);
	assert_int_equal(f->arms, 3);
	assert_int_equal(f->armed_ns, COAL_NS);
	assert_int_equal(f->disarms, 2);
	assert_int_equal(g16(f, TX_USED + 2), 10); /* used ring published at once */
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 1);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 1), 1);
	irqs++;
	assert_int_equal(irqs, (10 + COAL_N - 1) / COAL_N);
	vnet_tx_timer(f->s); /* stale expiry: nothing */
	assert_int_equal(f->irq_level, 0);
	vnet_get_stats(f->s, &st);
	assert_int_equal(st.irq_deferred, 10 - 10 / COAL_N);
	assert_int_equal(st.irq_timer, 1);
	destroy(f);
}

/* EVENT_IDX still decides: the driver's used_event is honoured over the
 * whole deferred range, so an event inside it is not missed. */
static void test_tx_irq_coalesced_event_idx(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, false, BASE_FEATURES | 1ull << VIRTIO_RING_F_EVENT_IDX);
	const uint64_t used_event = TX_AVAIL + 4 + 2 * QN;
	unsigned slot = 0;
	(void)state;

	s16(f, used_event, 0);
	/* The first check always signals; used_event 0 is then behind. */
	assert_int_equal(send_k(f, 10, &slot), 1);
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 0);
	/* The driver asks for an interrupt once used passes 10: chains 11 and 12
	 * are deferred, and the timer signals them. */
	s16(f, used_event, 10);
	assert_int_equal(send_k(f, 2, &slot), 0);
	vnet_tx_timer(f->s);
	assert_int_equal(f->irq_level, 1);
	destroy(f);
}

/* Without send combining every chain is completed and signalled alone. */
static void test_tx_irq_every_frame_when_off(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL & ~VNET_OPT_SEND_COMBINE, false, BASE_FEATURES);
	unsigned slot = 0;
	(void)state;

	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
	destroy(f);
}

/* The clock: a notify after a quiet gap of T interrupts at once; notifies
 * closer than T defer, under one timer of exactly T. */
static void test_tx_irq_rate_and_bound(void **state)
{
	struct fixture *f = make_coal(VNET_OPT_ALL, true, BASE_FEATURES);
	unsigned slot = 0;
	(void)state;

	f->clock = 1000000;
	assert_int_equal(send_k(f, 1, &slot), 1);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0);
	assert_int_equal(f->arms, 1);
	assert_int_equal(f->armed_ns, COAL_NS);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0);
	assert_int_equal(f->arms, 1);
	f->clock += COAL_NS;
	assert_int_equal(send_k(f, 1, &slot), 1);
	assert_int_equal(f->disarms, 1);
	destroy(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_config),
		cmocka_unit_test(test_pci_cfg_window),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_feature_negotiation),
		cmocka_unit_test(test_status_machine),
		cmocka_unit_test(test_tx),
		cmocka_unit_test(test_tx_budget),
		cmocka_unit_test(test_tx_irq_coalesced),
		cmocka_unit_test(test_tx_irq_coalesced_event_idx),
		cmocka_unit_test(test_tx_irq_every_frame_when_off),
		cmocka_unit_test(test_tx_irq_rate_and_bound),
		cmocka_unit_test(test_rx_mrg),
		cmocka_unit_test(test_rx_no_mrg),
		cmocka_unit_test(test_broken_ring_needs_reset),
		cmocka_unit_test(test_no_bus_master),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
