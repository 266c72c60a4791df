/* test_virtio_pci.c: the virtio PCI transport, driven through BAR 0 and
 * config space in the order Linux's virtio_pci_modern uses them, with exact
 * expected state: PCI ids and capabilities, the PCI configuration access
 * window, MSI-X, and the status machine with NEEDS_RESET, on virtio-net
 * (virtio_fixture.h); then a second device with other queues, configuration
 * and callbacks on the same transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "tests/devices/virtio_fixture.h"

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

/* From reset to FEATURES_OK, then queue 0 of `size` at these rings enabled. */
static void enable_queue0(struct fixture *f, unsigned size, uint64_t desc, uint64_t avail,
			  uint64_t used)
{
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0x3);
	set_features(f, BASE_FEATURES);
	wr(f, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	wr(f, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	wr(f, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	wr(f, VIRTIO_PCI_COMMON_Q_DESCLO, 8, desc);
	wr(f, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, avail);
	wr(f, VIRTIO_PCI_COMMON_Q_USEDLO, 8, used);
	wr(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
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
	enable_queue0(f, 100, RX_DESC, RX_AVAIL, RX_USED);
	assert_int_equal(rd(f, VIRTIO_PCI_COMMON_Q_ENABLE, 2), 0);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Larger than the maximum, and rings outside RAM. */
	enable_queue0(f, 512, RX_DESC, RX_AVAIL, RX_USED);
	assert_true(rd(f, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	enable_queue0(f, 8, RAM - 16, 0, 0);
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

/* ---- a second device on the same transport ---- */

/* An entropy-source-like device: one queue of at most 64, 8 bytes of
 * configuration it lets the driver write, its own feature check. */
struct toy {
	struct vpci vp;
	uint8_t cfg[8];
	unsigned notifies, resets, driver_oks, cfg_writes;
	bool refuse, had_features;
	int irq_level;
};

#define TOY_FEATURE 0 /* a device-specific bit */
#define TOY_DESC 0x1000
#define TOY_AVAIL 0x1800
#define TOY_USED 0x1c00

static struct toy *toy_of(struct vpci *vp)
{
	return container_of(vp, struct toy, vp);
}

static uint64_t toy_cfg_read(struct vpci *vp, unsigned off, unsigned size)
{
	uint64_t v = 0;

	memcpy(&v, toy_of(vp)->cfg + off, size);
	return v;
}

static void toy_cfg_write(struct vpci *vp, unsigned off, unsigned size, uint64_t v)
{
	memcpy(toy_of(vp)->cfg + off, &v, size);
	toy_of(vp)->cfg_writes++;
}

static int toy_features_ok(struct vpci *vp, uint64_t f)
{
	(void)f;
	return toy_of(vp)->refuse ? -EINVAL : 0;
}

static void toy_driver_ok(struct vpci *vp) { toy_of(vp)->driver_oks++; }

static void toy_queue_notify(struct vpci *vp, unsigned q)
{
	assert_int_equal(q, 0);
	toy_of(vp)->notifies++;
}

static void toy_reset(struct vpci *vp, bool had_features)
{
	toy_of(vp)->resets++;
	toy_of(vp)->had_features = had_features;
}

static int toy_irq(void *ctx, unsigned gsi, int level)
{
	(void)gsi;
	((struct toy *)ctx)->irq_level = level;
	return 0;
}

static const struct vpci_ops toy_ops = {
	.cfg_read = toy_cfg_read, .cfg_write = toy_cfg_write, .features_ok = toy_features_ok,
	.driver_ok = toy_driver_ok, .queue_notify = toy_queue_notify, .reset = toy_reset,
};

static const struct vpci_desc toy_desc = {
	.device_type = VIRTIO_ID_RNG, .class = 0xff0001, .subsystem_id = 0x0044,
	.features = 1ull << VIRTIO_F_VERSION_1 | 1ull << TOY_FEATURE, .num_queues = 1,
	.queue_size = 64, .cfg_len = 8, .msix_vectors = 2, .ops = &toy_ops,
};

static uint64_t toy_rd(struct toy *t, uint64_t off, unsigned size)
{
	return t->vp.pci.bar[0].ops->read(t->vp.pci.bar[0].opaque, off, size);
}

static void toy_wr(struct toy *t, uint64_t off, unsigned size, uint64_t v)
{
	t->vp.pci.bar[0].ops->write(t->vp.pci.bar[0].opaque, off, size, v);
}

static void toy_status(struct toy *t, uint8_t v)
{
	toy_wr(t, VIRTIO_PCI_COMMON_STATUS, 1, v);
}

static void toy_features(struct toy *t, uint64_t f)
{
	toy_wr(t, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	toy_wr(t, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	toy_wr(t, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	toy_wr(t, VIRTIO_PCI_COMMON_GF, 4, f >> 32);
}

/* The descriptor decides ids, queues, configuration and features; the
 * callbacks see configuration writes, notifies, FEATURES_OK, DRIVER_OK and
 * reset; a used buffer interrupts through the transport. */
static void test_second_device(void **state)
{
	static uint8_t ram[RAM];
	struct gmem mem = { ram, RAM };
	struct toy *t = calloc(1, sizeof(*t));
	struct vpci_config c = { .mem = &mem, .irq = { .set = toy_irq, .ctx = t }, .name = "toy0" };
	struct vpci_desc bad = toy_desc;
	struct vpci_stats st;
	struct vq_elem e;
	struct vq *q;
	(void)state;
	for (unsigned i = 0; i < VPCI_QUEUES_MAX; i++)
		c.notify_fd[i] = -1;
	bad.num_queues = VPCI_QUEUES_MAX + 1;
	assert_int_equal(vpci_init(&t->vp, &bad, &c), -EINVAL);
	bad = toy_desc;
	bad.features = 1ull << TOY_FEATURE; /* no VERSION_1: no legacy interface */
	assert_int_equal(vpci_init(&t->vp, &bad, &c), -EINVAL);
	assert_int_equal(vpci_init(&t->vp, &toy_desc, &c), 0);
	assert_int_equal(pci_cfg_get(&t->vp.pci, PCI_DEVICE_ID, 2), 0x1044);
	assert_int_equal(pci_cfg_get(&t->vp.pci, PCI_CLASS_PROG, 1), 0x01);
	assert_int_equal(pci_cfg_get(&t->vp.pci, PCI_CLASS_DEVICE, 2), 0xff00);
	assert_int_equal(pci_cfg_get(&t->vp.pci, PCI_SUBSYSTEM_ID, 2), 0x0044);
	assert_int_equal(pci_cfg_get(&t->vp.pci, find_cap(&t->vp.pci, 0x09, 4) + 12, 4), 8);
	pci_cfg_set16(&t->vp.pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	vpci_pci_sync(&t->vp);
	assert_int_equal(toy_rd(t, VIRTIO_PCI_COMMON_NUMQ, 2), 1);
	assert_int_equal(toy_rd(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), 64);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 1);
	assert_int_equal(toy_rd(t, VIRTIO_PCI_COMMON_Q_SIZE, 2), 0);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	/* Configuration: inside cfg_len to the callbacks, past it nothing. */
	toy_wr(t, VPCI_DEVCFG_OFF + 4, 4, 0xa5a5a5a5);
	assert_int_equal(t->cfg_writes, 1);
	assert_int_equal(toy_rd(t, VPCI_DEVCFG_OFF + 4, 4), 0xa5a5a5a5);
	toy_wr(t, VPCI_DEVCFG_OFF + 8, 4, 1);
	assert_int_equal(t->cfg_writes, 1);
	assert_int_equal(toy_rd(t, VPCI_DEVCFG_OFF + 6, 4), 0);
	/* Doorbells: queue 0's reaches the device, a queue it lacks nothing. */
	toy_wr(t, VPCI_NOTIFY_OFF, 2, 0);
	toy_wr(t, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT, 2, 1);
	assert_int_equal(t->notifies, 1);
	/* Features: the device refuses, then accepts. */
	toy_status(t, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	toy_features(t, toy_desc.features);
	t->refuse = true;
	toy_status(t, 0xb);
	assert_int_equal(toy_rd(t, VIRTIO_PCI_COMMON_STATUS, 1), 0x3);
	t->refuse = false;
	toy_status(t, 0xb);
	assert_int_equal(toy_rd(t, VIRTIO_PCI_COMMON_STATUS, 1), 0xb);
	/* A queue larger than the device's maximum: NEEDS_RESET. */
	toy_wr(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, 128);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	assert_true(toy_rd(t, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_NEEDS_RESET);
	toy_status(t, 0);
	assert_int_equal(t->resets, 1);
	assert_true(t->had_features);
	/* Up again with a queue of 8; one used buffer raises INTx. */
	toy_status(t, 0x3);
	toy_features(t, toy_desc.features);
	toy_status(t, 0xb);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_SIZE, 2, QN);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_DESCLO, 8, TOY_DESC);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_AVAILLO, 8, TOY_AVAIL);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_USEDLO, 8, TOY_USED);
	toy_wr(t, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	toy_status(t, 0xf);
	assert_int_equal(t->driver_oks, 1);
	memcpy(ram + TOY_DESC, &(uint64_t){ 0x10000 }, 8);
	memcpy(ram + TOY_DESC + 8, &(uint32_t){ 16 }, 4);
	memcpy(ram + TOY_DESC + 12, &(uint16_t){ VRING_DESC_F_WRITE }, 2);
	memcpy(ram + TOY_AVAIL + 2, &(uint16_t){ 1 }, 2);
	pthread_mutex_lock(&t->vp.lock);
	assert_true(vpci_running(&t->vp));
	q = vpci_vq(&t->vp, 0);
	assert_int_equal(vq_pop(q, &e), 1);
	vq_push(q, e.head, 16);
	vpci_flush_used(&t->vp, 0);
	vpci_get_stats(&t->vp, &st);
	pthread_mutex_unlock(&t->vp.lock);
	assert_int_equal(t->irq_level, 1);
	assert_int_equal(toy_rd(t, VPCI_ISR_OFF, 1), 1);
	assert_int_equal(t->irq_level, 0);
	assert_int_equal(st.irqs, 1);
	assert_int_equal(st.access[VPCI_ACC_NOTIFY], 1);
	assert_int_equal(st.access[VPCI_ACC_DEVCFG_READ], 1);
	vpci_destroy(&t->vp);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_config),
		cmocka_unit_test(test_pci_cfg_window),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_status_machine),
		cmocka_unit_test(test_second_device),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
