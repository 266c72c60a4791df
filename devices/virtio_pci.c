/* virtio_pci.c: the virtio PCI transport, modern interface only, after
 * Virtual I/O Device (VIRTIO) Version 1.1 (OASIS):
 *   2.1        device status field: ACKNOWLEDGE, DRIVER, FEATURES_OK,
 *              DRIVER_OK, NEEDS_RESET, FAILED; 0 resets (2.4)
 *   2.2        feature bits; 3.1.1 the driver's initialisation sequence:
 *              FEATURES_OK is refused (reads back clear) for features not
 *              offered, without VERSION_1, or when the device refuses them
 *   2.7        split virtqueues (virtqueue.c)
 *   4.1.2      PCI ids: 1af4:1040 + device type, revision 1
 *   4.1.4      virtio structure capabilities (vendor-specific, 0x09) for
 *              the common, notify, ISR and device configuration, all in BAR 0
 *   4.1.4.3    common configuration: feature selects, status, queue select,
 *              size (a power of two up to the device's maximum), enable, ring
 *              addresses; queue fields are frozen once the queue is enabled
 *   4.1.4.4    notifications: queue q at cap.offset + q * notify_off_multiplier
 *   4.1.4.5    ISR status: bit 0 queue, bit 1 configuration; read clears and
 *              deasserts INTx; with MSI-X on, queue notifications go to the
 *              queue's vector only, configuration changes set bit 1 and go to
 *              msix_config's vector
 *   4.1.4.7    PCI configuration access capability: a window onto BAR 0
 *              through config space (cap.bar, cap.offset, cap.length, data)
 *   4.1.5.1.2  MSI-X vectors: msix_config and queue_msix_vector take a
 *              vector below the table size, else read back NO_VECTOR; the
 *              table and PBA (devices/msix.c) lie in BAR 0
 * MSI-X exists when the monitor gives a message sink (vpci_config.msi);
 * INTx remains for drivers that do not enable it.
 * Not implemented: the legacy interface, packed rings, configuration
 * generations (the configuration never changes under the driver).
 *
 * Guest errors (a ring outside RAM or misaligned, a bad queue size, DRIVER_OK
 * before FEATURES_OK) set NEEDS_RESET and a configuration interrupt (2.1.2).
 */
#include "devices/virtio_pci.h"

#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "common/log.h"

/* VIRTIO_PCI_CAP_*, VIRTIO_MSI_NO_VECTOR and VIRTIO_PCI_ISR_CONFIG: uapi
 * <linux/virtio_pci.h>; PCI_CAP_ID_VNDR: <linux/pci_regs.h>. ISR bit 0 (a
 * used buffer) has no uapi name. */
#define ISR_QUEUE 1
#define ISR_CONFIG VIRTIO_PCI_ISR_CONFIG

/* Capability list: common, notify, ISR, device, PCI config access, MSI-X. */
#define CAP_COMMON_AT 0x40
#define CAP_NOTIFY_AT 0x50
#define CAP_ISR_AT 0x64
#define CAP_DEVICE_AT 0x74
#define CAP_PCICFG_AT 0x84
#define CAP_PCICFG_LEN 20
#define CAP_PCICFG_BAR (CAP_PCICFG_AT + 4)
#define CAP_PCICFG_OFFSET (CAP_PCICFG_AT + 8)
#define CAP_PCICFG_LENGTH (CAP_PCICFG_AT + 12)
#define CAP_PCICFG_DATA (CAP_PCICFG_AT + 16)
#define CAP_MSIX_AT 0x98

/* ---- interrupts ---- */

static void update_irq(struct vpci *vp)
{
	bool level = vp->isr && !vp->intx_disabled && !vp->msix.enabled;

	if (level == vp->irq_level)
		return;
	vp->irq_level = level;
	if (level)
		vp->st.irqs++;
	irq_set(&vp->cfg.irq, level);
}

/* A vector's message (MSI-X on): a vector the driver did not set is
 * NO_VECTOR, and no notification goes (4.1.5.1.2). */
static void signal_vector(struct vpci *vp, uint16_t vec)
{
	if (vec != VIRTIO_MSI_NO_VECTOR && msix_notify(&vp->msix, vec) == 0)
		vp->st.msi_held++;
}

/* 4.1.4.5.1: a used-buffer notification of queue q. */
static void notify_queue(struct vpci *vp, const struct vpci_queue *q)
{
	if (vp->msix.enabled) {
		signal_vector(vp, q->vec);
		return;
	}
	vp->isr |= ISR_QUEUE;
	update_irq(vp);
}

static void notify_config(struct vpci *vp)
{
	vp->isr |= ISR_CONFIG; /* set with MSI-X too */
	if (vp->msix.enabled)
		signal_vector(vp, vp->config_vec);
	else
		update_irq(vp);
}

void vpci_signal_used(struct vpci *vp, unsigned q)
{
	if (vq_should_notify(&vp->q[q].vq))
		notify_queue(vp, &vp->q[q]);
}

void vpci_flush_used(struct vpci *vp, unsigned q)
{
	vq_flush(&vp->q[q].vq);
	vpci_signal_used(vp, q);
}

void vpci_needs_reset(struct vpci *vp)
{
	if (vp->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	vp->st.needs_reset++;
	vp->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)
		notify_config(vp);
}

bool vpci_running(const struct vpci *vp)
{
	return (vp->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK && vp->bus_master;
}

/* ---- reset and status ---- */

/* The transport's part of a reset; the device's follows (ops.reset). */
static void reset_state(struct vpci *vp)
{
	vp->driver_features = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->status = 0;
	vp->qselect = 0;
	for (unsigned i = 0; i < VPCI_QUEUES_MAX; i++) {
		vp->q[i] = (struct vpci_queue){ .size = vp->desc.queue_size, .vec = VIRTIO_MSI_NO_VECTOR };
		vp->q[i].vq.mem = vp->cfg.mem;
	}
	vp->config_vec = VIRTIO_MSI_NO_VECTOR;
	msix_clear_pending(&vp->msix); /* the table and Enable are PCI state: kept */
	vp->isr = 0;
	update_irq(vp);
}

static void device_reset(struct vpci *vp)
{
	bool had_features = vp->status & VIRTIO_CONFIG_S_FEATURES_OK;

	reset_state(vp);
	if (vp->desc.ops->reset)
		vp->desc.ops->reset(vp, had_features);
}

static bool features_ok(struct vpci *vp)
{
	uint64_t f = vp->driver_features;

	if (f & ~vp->desc.features || !(f >> VIRTIO_F_VERSION_1 & 1))
		return false;
	return !vp->desc.ops->features_ok || vp->desc.ops->features_ok(vp, f) == 0;
}

static void status_write(struct vpci *vp, uint8_t v)
{
	uint8_t add = v & ~vp->status;

	if (v == 0) {
		device_reset(vp);
		return;
	}
	/* The driver only adds bits (3.1.1); NEEDS_RESET is the device's. */
	if (add & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (!(vp->status & VIRTIO_CONFIG_S_DRIVER) || !features_ok(vp))
			add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		else
			vp->status |= VIRTIO_CONFIG_S_FEATURES_OK;
	}
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* DRIVER_OK before the features were accepted: a driver bug. */
		vpci_needs_reset(vp);
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	vp->status |= add & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && vp->desc.ops->driver_ok)
		vp->desc.ops->driver_ok(vp);
}

/* queue_enable = 1 (4.1.4.3.2): the ring must be valid now. */
static void queue_enable(struct vpci *vp, struct vpci_queue *q)
{
	if (q->enabled || !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (vp->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!q->enabled)
			vpci_needs_reset(vp);
		return;
	}
	if (q->size > vp->desc.queue_size ||
	    vq_enable(&q->vq, vp->cfg.mem, q->size, q->desc, q->avail, q->used,
		      vpci_has(vp, VIRTIO_RING_F_EVENT_IDX)) < 0) {
		vpci_needs_reset(vp);
		return;
	}
	q->enabled = true;
}

/* ---- common configuration ---- */

static struct vpci_queue *selected(struct vpci *vp)
{
	return vp->qselect < vp->desc.num_queues ? &vp->q[vp->qselect] : NULL;
}

static void common_image(struct vpci *vp, uint8_t img[VPCI_COMMON_LEN])
{
	struct vpci_queue *q = selected(vp);
	uint32_t df = vp->dfselect < 2 ? (uint32_t)(vp->desc.features >> (32 * vp->dfselect)) : 0;
	uint32_t gf = vp->gfselect < 2 ? (uint32_t)(vp->driver_features >> (32 * vp->gfselect)) : 0;
	uint16_t nq = (uint16_t)vp->desc.num_queues;

	memset(img, 0, VPCI_COMMON_LEN);
	memcpy(img + VIRTIO_PCI_COMMON_DFSELECT, &vp->dfselect, 4);
	memcpy(img + VIRTIO_PCI_COMMON_DF, &df, 4);
	memcpy(img + VIRTIO_PCI_COMMON_GFSELECT, &vp->gfselect, 4);
	memcpy(img + VIRTIO_PCI_COMMON_GF, &gf, 4);
	memcpy(img + VIRTIO_PCI_COMMON_MSIX, &vp->config_vec, 2);
	memcpy(img + VIRTIO_PCI_COMMON_NUMQ, &nq, 2);
	img[VIRTIO_PCI_COMMON_STATUS] = vp->status;
	img[VIRTIO_PCI_COMMON_CFGGENERATION] = 0; /* the configuration never changes */
	memcpy(img + VIRTIO_PCI_COMMON_Q_SELECT, &vp->qselect, 2);
	if (!q)
		return; /* size 0: no such queue */
	uint16_t en = q->enabled, noff = vp->qselect;
	memcpy(img + VIRTIO_PCI_COMMON_Q_SIZE, &q->size, 2);
	memcpy(img + VIRTIO_PCI_COMMON_Q_MSIX, &q->vec, 2);
	memcpy(img + VIRTIO_PCI_COMMON_Q_ENABLE, &en, 2);
	memcpy(img + VIRTIO_PCI_COMMON_Q_NOFF, &noff, 2);
	memcpy(img + VIRTIO_PCI_COMMON_Q_DESCLO, &q->desc, 8);
	memcpy(img + VIRTIO_PCI_COMMON_Q_AVAILLO, &q->avail, 8);
	memcpy(img + VIRTIO_PCI_COMMON_Q_USEDLO, &q->used, 8);
}

static void set_addr_part(uint64_t *a, uint64_t off, unsigned size, uint64_t v)
{
	if (size == 8 && off == 0)
		*a = v;
	else if (size == 4 && off == 0)
		*a = (*a & ~0xffffffffull) | (uint32_t)v;
	else if (size == 4 && off == 4)
		*a = (*a & 0xffffffffull) | (v << 32);
}

/* 4.1.5.1.2: a vector the device cannot map reads back NO_VECTOR. */
static uint16_t vector_or_none(const struct vpci *vp, uint64_t v)
{
	return vp->msix.cap && v < vp->msix.nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* The ring addresses of the selected queue, until it is enabled. */
static void queue_addr_write(struct vpci_queue *q, uint64_t off, unsigned size, uint64_t v)
{
	uint64_t *a;

	if (!q || q->enabled || off < VIRTIO_PCI_COMMON_Q_DESCLO || off >= VIRTIO_PCI_COMMON_Q_USEDLO + 8)
		return;
	a = off < VIRTIO_PCI_COMMON_Q_AVAILLO ? &q->desc :
	    off < VIRTIO_PCI_COMMON_Q_USEDLO  ? &q->avail : &q->used;
	set_addr_part(a, (off - VIRTIO_PCI_COMMON_Q_DESCLO) % 8, size, v);
}

static void common_write(struct vpci *vp, uint64_t off, unsigned size, uint64_t v)
{
	struct vpci_queue *q = selected(vp);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (size == 4)
			vp->dfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (size == 4)
			vp->gfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (size == 4 && vp->gfselect < 2 && !(vp->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			unsigned sh = 32 * vp->gfselect;
			vp->driver_features = (vp->driver_features & ~(0xffffffffull << sh)) |
					      (v & 0xffffffffull) << sh;
		}
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		if (size == 1)
			status_write(vp, (uint8_t)v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (size == 2)
			vp->qselect = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* Checked at enable: a size that is not a power of two is an error. */
		if (size == 2 && q && !q->enabled)
			q->size = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (size == 2 && q && v == 1)
			queue_enable(vp, q);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		if (size == 2)
			vp->config_vec = vector_or_none(vp, v);
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (size == 2 && q)
			q->vec = vector_or_none(vp, v);
		return;
	}
	queue_addr_write(q, off, size, v);
}

/* ---- BAR 0 ---- */

static bool within(uint64_t off, unsigned size, uint64_t at, uint64_t len)
{
	return off >= at && off + size <= at + len;
}

static bool in_msix_table(const struct vpci *vp, uint64_t off)
{
	return vp->msix.cap && off >= VPCI_MSIX_TABLE_OFF &&
	       off < VPCI_MSIX_TABLE_OFF + msix_table_size(&vp->msix);
}

static bool in_msix_pba(const struct vpci *vp, uint64_t off)
{
	return vp->msix.cap && off >= VPCI_MSIX_PBA_OFF &&
	       off < VPCI_MSIX_PBA_OFF + msix_pba_size(&vp->msix);
}

/* The queue whose doorbell is at off, or -1. */
static int notify_queue_at(const struct vpci *vp, uint64_t off)
{
	if (off < VPCI_NOTIFY_OFF || off >= VPCI_NOTIFY_OFF + vp->desc.num_queues * VPCI_NOTIFY_MULT ||
	    (off - VPCI_NOTIFY_OFF) % VPCI_NOTIFY_MULT)
		return -1;
	return (int)((off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);
}

static uint64_t bar_read_locked(struct vpci *vp, uint64_t off, unsigned size)
{
	uint8_t img[VPCI_COMMON_LEN];
	uint64_t v = 0;

	if (within(off, size, VPCI_COMMON_OFF, VPCI_COMMON_LEN)) {
		vp->st.access[VPCI_ACC_COMMON_READ]++;
		common_image(vp, img);
		memcpy(&v, img + off, size);
	} else if (off == VPCI_ISR_OFF) {
		vp->st.access[VPCI_ACC_ISR_READ]++;
		v = vp->isr;
		vp->isr = 0;
		update_irq(vp);
	} else if (within(off, size, VPCI_DEVCFG_OFF, vp->desc.cfg_len)) {
		vp->st.access[VPCI_ACC_DEVCFG_READ]++;
		v = vp->desc.ops->cfg_read(vp, (unsigned)(off - VPCI_DEVCFG_OFF), size);
	} else if (in_msix_table(vp, off)) {
		vp->st.access[VPCI_ACC_MSIX]++;
		v = msix_table_read(&vp->msix, off - VPCI_MSIX_TABLE_OFF, size);
	} else if (in_msix_pba(vp, off)) {
		vp->st.access[VPCI_ACC_MSIX]++;
		v = msix_pba_read(&vp->msix, off - VPCI_MSIX_PBA_OFF, size);
	} else {
		vp->st.access[VPCI_ACC_OTHER]++;
	}
	return v;
}

static void bar_write_locked(struct vpci *vp, uint64_t off, unsigned size, uint64_t v)
{
	int q = notify_queue_at(vp, off);

	if (within(off, size, VPCI_COMMON_OFF, VPCI_COMMON_LEN)) {
		vp->st.access[VPCI_ACC_COMMON_WRITE]++;
		common_write(vp, off, size, v);
	} else if (q >= 0) {
		vp->st.access[VPCI_ACC_NOTIFY]++;
		vp->desc.ops->queue_notify(vp, (unsigned)q);
	} else if (in_msix_table(vp, off)) {
		vp->st.access[VPCI_ACC_MSIX]++;
		msix_table_write(&vp->msix, off - VPCI_MSIX_TABLE_OFF, size, v);
	} else {
		vp->st.access[VPCI_ACC_OTHER]++; /* read-only or unused: ignored */
		if (within(off, size, VPCI_DEVCFG_OFF, vp->desc.cfg_len) && vp->desc.ops->cfg_write)
			vp->desc.ops->cfg_write(vp, (unsigned)(off - VPCI_DEVCFG_OFF), size, v);
	}
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vpci *vp = opaque;
	uint64_t v;

	pthread_mutex_lock(&vp->lock);
	v = bar_read_locked(vp, off, size);
	pthread_mutex_unlock(&vp->lock);
	return v;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct vpci *vp = opaque;

	pthread_mutex_lock(&vp->lock);
	bar_write_locked(vp, off, size, v);
	pthread_mutex_unlock(&vp->lock);
}

static const struct io_ops vpci_bar_ops = { .read = bar_read, .write = bar_write };

/* ---- PCI configuration space ---- */

/* The PCI configuration access window (4.1.4.7): BAR 0 at cap.offset,
 * cap.length 1, 2 or 4 bytes, naturally aligned, inside the BAR; anything
 * else does nothing. */
static bool pcicfg_window(const struct pci_dev *d, uint32_t *off, unsigned *len)
{
	uint32_t o = pci_cfg_get(d, CAP_PCICFG_OFFSET, 4), l = pci_cfg_get(d, CAP_PCICFG_LENGTH, 4);

	if (pci_cfg_get(d, CAP_PCICFG_BAR, 1) != 0 || (l != 1 && l != 2 && l != 4) || o % l ||
	    o > VPCI_BAR_SIZE - l)
		return false;
	*off = o;
	*len = l;
	return true;
}

static bool touches_pcicfg_data(unsigned off, unsigned size)
{
	return off < CAP_PCICFG_DATA + 4 && off + size > CAP_PCICFG_DATA;
}

/* Runs under the PCI bus lock: the BAR access takes the device lock. */
static uint32_t vpci_cfg_read(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct vpci *vp = container_of(dev, struct vpci, pci);
	uint32_t boff, v;
	unsigned blen;

	if (!touches_pcicfg_data(off, size) || !pcicfg_window(dev, &boff, &blen))
		return value;
	v = (uint32_t)bar_read(vp, boff, blen);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		if (o >= CAP_PCICFG_DATA && o < CAP_PCICFG_DATA + 4) {
			value &= ~(0xffu << (8 * i));
			value |= (v >> (8 * (o - CAP_PCICFG_DATA)) & 0xff) << (8 * i);
		}
	}
	return value;
}

/* Bus mastering, INTx disable, the MSI-X control bits and where BAR 0 is
 * decoded, copied for the I/O path. */
static void sync_command(struct vpci *vp, uint16_t cmd, uint64_t base)
{
	bool was_msix;

	pthread_mutex_lock(&vp->lock);
	vp->bus_master = cmd & PCI_COMMAND_MASTER;
	vp->intx_disabled = cmd & PCI_COMMAND_INTX_DISABLE;
	vp->bar0 = base;
	was_msix = vp->msix.enabled;
	msix_cfg_sync(&vp->msix, &vp->pci);
	if (was_msix && !vp->msix.enabled && vp->msix.pending) {
		/* Held queue notifications would be lost: INTx takes them over. */
		msix_clear_pending(&vp->msix);
		vp->isr |= ISR_QUEUE;
	}
	update_irq(vp);
	pthread_mutex_unlock(&vp->lock);
}

static int assign_notify(struct vpci *vp, uint64_t base, unsigned q, bool assign)
{
	const struct io_accel *a = &vp->cfg.accel;

	if (vp->cfg.notify_fd[q] < 0)
		return 0;
	return a->ioeventfd(a->ctx, IO_MMIO, base + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q, 2,
			    vp->cfg.notify_fd[q], assign);
}

/* The doorbell eventfds follow BAR 0 (base 0: not decoded, none). */
static void move_notify(struct vpci *vp, uint64_t base)
{
	if (base == vp->notify_at || !vp->cfg.ioeventfd || !vp->cfg.accel.ioeventfd)
		return;
	for (unsigned i = 0; vp->notify_at && i < vp->desc.num_queues; i++)
		assign_notify(vp, vp->notify_at, i, false);
	vp->notify_at = 0;
	if (!base)
		return;
	for (unsigned i = 0; i < vp->desc.num_queues; i++) {
		int r = assign_notify(vp, base, i, true);
		if (r < 0) /* the notify still works, by an exit */
			log_warn_errno(r, "%s: queue %u notify at %#llx: ioeventfd", vp->cfg.name, i,
				       (unsigned long long)(base + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * i));
	}
	vp->notify_at = base;
}

/* Runs under the PCI bus lock, after the bus handled the write. */
static void vpci_cfg_write(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct vpci *vp = container_of(dev, struct vpci, pci);
	uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);
	/* Where the bus really decodes BAR 0 (0 when it overlaps another
	 * region): a doorbell eventfd must not steal someone else's writes. */
	uint64_t base = (cmd & PCI_COMMAND_MEMORY) ? dev->bar_mapped[0] : 0;
	uint32_t boff;
	unsigned blen;

	(void)value;
	sync_command(vp, cmd, base);
	if (touches_pcicfg_data(off, size) && pcicfg_window(dev, &boff, &blen))
		bar_write(vp, boff, blen, pci_cfg_get(dev, CAP_PCICFG_DATA, blen));
	move_notify(vp, base);
}

void vpci_pci_sync(struct vpci *vp)
{
	vpci_cfg_write(&vp->pci, PCI_COMMAND, 2, 0);
}

/* A virtio structure capability (4.1.4) at cfg offset at. */
static void add_cap(struct pci_dev *d, unsigned at, unsigned next, uint8_t type, uint32_t off,
		    uint32_t len, unsigned cap_len)
{
	pci_cfg_set8(d, at, PCI_CAP_ID_VNDR);
	pci_cfg_set8(d, at + 1, (uint8_t)next);
	pci_cfg_set8(d, at + 2, (uint8_t)cap_len);
	pci_cfg_set8(d, at + 3, type);
	pci_cfg_set8(d, at + 4, 0); /* BAR 0 */
	pci_cfg_set32(d, at + 8, off);
	pci_cfg_set32(d, at + 12, len);
}

static void add_caps(struct vpci *vp)
{
	struct pci_dev *d = &vp->pci;
	bool msix = vp->cfg.msi.send;

	pci_cfg_set8(d, PCI_CAPABILITY_LIST, CAP_COMMON_AT);
	add_cap(d, CAP_COMMON_AT, CAP_NOTIFY_AT, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF,
		VPCI_COMMON_LEN, 16);
	add_cap(d, CAP_NOTIFY_AT, CAP_ISR_AT, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
		vp->desc.num_queues * VPCI_NOTIFY_MULT, 20);
	pci_cfg_set32(d, CAP_NOTIFY_AT + 16, VPCI_NOTIFY_MULT);
	add_cap(d, CAP_ISR_AT, CAP_DEVICE_AT, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, 16);
	add_cap(d, CAP_DEVICE_AT, CAP_PCICFG_AT, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVCFG_OFF,
		vp->desc.cfg_len, 16);
	/* 4.1.4.7: bar, offset, length and the data window are the driver's. */
	add_cap(d, CAP_PCICFG_AT, msix ? CAP_MSIX_AT : 0, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
		CAP_PCICFG_LEN);
	d->wmask[CAP_PCICFG_BAR] = 0xff;
	memset(&d->wmask[CAP_PCICFG_OFFSET], 0xff, 12);
	if (msix) {
		msix_init(&vp->msix, vp->desc.msix_vectors, &vp->cfg.msi);
		msix_add_cap(&vp->msix, d, CAP_MSIX_AT, 0, 0, VPCI_MSIX_TABLE_OFF, VPCI_MSIX_PBA_OFF);
	}
}

static bool desc_valid(const struct vpci_desc *desc)
{
	return desc->ops && desc->ops->cfg_read && desc->ops->queue_notify &&
	       desc->num_queues >= 1 && desc->num_queues <= VPCI_QUEUES_MAX &&
	       vq_size_valid(desc->queue_size) && desc->cfg_len <= VPCI_DEVCFG_MAX &&
	       desc->msix_vectors >= 1 && desc->msix_vectors <= MSIX_MAX_VECTORS &&
	       (desc->features >> VIRTIO_F_VERSION_1 & 1);
}

int vpci_init(struct vpci *vp, const struct vpci_desc *desc, const struct vpci_config *cfg)
{
	struct pci_dev *d = &vp->pci;

	if (!desc_valid(desc))
		return -EINVAL;
	memset(vp, 0, sizeof(*vp));
	vp->desc = *desc;
	vp->cfg = *cfg;
	pthread_mutex_init(&vp->lock, NULL);
	reset_state(vp);
	pci_cfg_set16(d, PCI_VENDOR_ID, VPCI_VENDOR_ID);
	pci_cfg_set16(d, PCI_DEVICE_ID, VPCI_DEVICE_ID_BASE + desc->device_type);
	pci_cfg_set8(d, PCI_REVISION_ID, 1);
	pci_cfg_set8(d, PCI_CLASS_PROG, (uint8_t)desc->class);
	pci_cfg_set16(d, PCI_CLASS_DEVICE, (uint16_t)(desc->class >> 8));
	pci_cfg_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VPCI_VENDOR_ID);
	pci_cfg_set16(d, PCI_SUBSYSTEM_ID, desc->subsystem_id);
	add_caps(vp);
	d->bar[0] = (struct pci_bar_desc){ .size = VPCI_BAR_SIZE, .ops = &vpci_bar_ops, .opaque = vp,
					   .name = cfg->name };
	d->cfg_write = vpci_cfg_write;
	d->cfg_read = vpci_cfg_read;
	return 0;
}

void vpci_destroy(struct vpci *vp)
{
	pthread_mutex_destroy(&vp->lock);
}

/* ---- state for the device and its owner ---- */

void vpci_get_state(struct vpci *vp, struct vpci_state *out)
{
	pthread_mutex_lock(&vp->lock);
	*out = (struct vpci_state){ .bar0 = vp->bar0, .status = vp->status,
				    .features = vp->driver_features };
	pthread_mutex_unlock(&vp->lock);
}

void vpci_get_stats(const struct vpci *vp, struct vpci_stats *out)
{
	*out = vp->st;
	out->irqs += vp->msix.sent;
}

const char *vpci_access_name(enum vpci_access a)
{
	static const char *const names[] = { "common_read", "common_write", "notify", "isr_read",
					     "devcfg_read", "msix", "other" };
	return (unsigned)a < VPCI_ACC_COUNT ? names[a] : "?";
}
