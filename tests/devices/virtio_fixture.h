/* virtio_fixture.h: the virtio-net device on fake guest memory for the
 * unit tests of the virtio transport (test_virtio_pci.c) and of the network
 * device (test_virtio_net.c): a backend and an MSI sink that record what the
 * device does, BAR 0's callbacks called directly (no iobus), and the steps of
 * Linux's virtio_pci_modern probe. Include after <cmocka.h>. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci.h"
#include "devices/virtio_net.h"
#include "devices/virtio_pci.h"
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

static inline int msi_send(void *ctx, unsigned vec, const struct msi_msg *m)
{
	struct fixture *f = ctx;
	f->msi_sends++;
	f->msi_vec = vec;
	f->msi_last = *m;
	return 0;
}

static inline void msi_update(void *ctx, unsigned vec, const struct msi_msg *m, bool usable)
{
	struct fixture *f = ctx;
	(void)vec;
	(void)m;
	f->msi_updates++;
	f->msi_usable = usable;
}

static inline void arm_timer(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	if (ns) {
		f->arms++;
		f->armed_ns = ns;
	} else {
		f->disarms++;
	}
}

static inline uint64_t fake_now(void *ctx)
{
	return ((struct fixture *)ctx)->clock;
}

static inline int irq_set_fn(void *ctx, unsigned gsi, int level)
{
	struct fixture *f = ctx;
	(void)gsi;
	if (level && !f->irq_level)
		f->irq_raises++;
	f->irq_level = level;
	return 0;
}
static inline void kick(void *ctx) { ((struct fixture *)ctx)->kicks++; }
static inline void rx_notify(void *ctx) { ((struct fixture *)ctx)->rx_notifies++; }
static inline void set_offload(void *ctx, unsigned o)
{
	struct fixture *f = ctx;
	f->offload = o;
	f->offload_calls++;
}
static inline int tx(void *ctx, const struct iovec *iov, unsigned n)
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

static inline uint64_t rd(struct fixture *f, uint64_t off, unsigned size)
{
	return f->ops->read(vnet_pci_dev(f->s)->bar[0].opaque, off, size);
}
static inline void wr(struct fixture *f, uint64_t off, unsigned size, uint64_t v)
{
	f->ops->write(vnet_pci_dev(f->s)->bar[0].opaque, off, size, v);
}

static inline struct fixture *make(unsigned opts)
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

static inline void destroy(struct fixture *f)
{
	vnet_free(f->s);
	free(f->ram);
	free(f);
}

static inline uint64_t device_features(struct fixture *f)
{
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	uint64_t lo = rd(f, VIRTIO_PCI_COMMON_DF, 4);
	wr(f, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	return lo | rd(f, VIRTIO_PCI_COMMON_DF, 4) << 32;
}

static inline void set_features(struct fixture *f, uint64_t feat)
{
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)feat);
	wr(f, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(f, VIRTIO_PCI_COMMON_GF, 4, feat >> 32);
}

static inline void setup_queue(struct fixture *f, unsigned q, unsigned size, uint64_t desc, uint64_t avail,
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
static inline void bring_up(struct fixture *f, uint64_t feat)
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

static inline void put_desc(struct fixture *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = f->ram + table + 16 * i;
	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static inline uint16_t g16(struct fixture *f, uint64_t a)
{
	uint16_t v;
	memcpy(&v, f->ram + a, 2);
	return v;
}
static inline uint32_t g32(struct fixture *f, uint64_t a)
{
	uint32_t v;
	memcpy(&v, f->ram + a, 4);
	return v;
}
static inline void s16(struct fixture *f, uint64_t a, uint16_t v)
{
	memcpy(f->ram + a, &v, 2);
}

static inline void offer(struct fixture *f, uint64_t avail, uint16_t head)
{
	uint16_t idx = g16(f, avail + 2);
	s16(f, avail + 4 + 2 * (idx % QN), head);
	s16(f, avail + 2, (uint16_t)(idx + 1));
}

#define BASE_FEATURES (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC)
