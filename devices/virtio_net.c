/* virtio_net.c: virtio-net over PCI, modern interface only, after Virtual
 * I/O Device (VIRTIO) Version 1.1 (OASIS):
 *   2.1        device status field: ACKNOWLEDGE, DRIVER, FEATURES_OK,
 *              DRIVER_OK, NEEDS_RESET, FAILED; 0 resets (2.4)
 *   2.2        feature bits; 3.1.1 the driver's initialisation sequence:
 *              FEATURES_OK is refused (reads back clear) for features we did
 *              not offer, without VERSION_1, or with broken dependencies
 *              (5.1.3.1: GUEST_TSO* need GUEST_CSUM, HOST_TSO* need CSUM)
 *   2.7        split virtqueues (virtqueue.c)
 *   4.1.2      PCI ids: 1af4:1041, revision 1, class 02 00 00
 *   4.1.4      virtio structure capabilities (vendor-specific, 0x09) for
 *              the common, notify, ISR and device configuration, all in BAR 0
 *   4.1.4.3    common configuration: feature selects, status, queue select,
 *              size (a power of two up to 256), enable, ring addresses; queue
 *              fields are frozen once the queue is enabled
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
 *   5.1.4      device configuration: mac, status (LINK_UP)
 *   5.1.6      the 12-byte virtio_net_hdr on both queues; MRG_RXBUF:
 *              num_buffers; checksum and TSO offloads passed through the tap's
 *              vnet header unchanged (the tap uses the same layout)
 *   5.1.6.3    receive buffers: device-writable chains
 * MSI-X exists when the monitor gives a message sink (vnet_config.msi);
 * INTx remains for drivers that do not enable it.
 * Not implemented: indirect descriptors, control queue, multiqueue, legacy
 * interface.
 *
 * Guest errors (a ring outside RAM or misaligned, a non-power-of-two size, a
 * broken avail index) set NEEDS_RESET and a configuration interrupt (2.1.2);
 * a bad chain is returned unused and counted.
 */
#include "devices/virtio_net.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "common/log.h"
#include "devices/txirq.h"
#include "devices/virtqueue.h"

/* VIRTIO_PCI_CAP_*, VIRTIO_MSI_NO_VECTOR, VIRTIO_PCI_ISR_CONFIG and
 * VIRTIO_NET_S_LINK_UP: virtio_net.h's uapi headers; PCI_CAP_ID_VNDR:
 * <linux/pci_regs.h>. ISR bit 0 (a used buffer) has no uapi name. */
#define ISR_QUEUE 1
#define ISR_CONFIG VIRTIO_PCI_ISR_CONFIG
#define RX_CHAINS_MAX 64 /* receive chains per frame with MRG_RXBUF */
#define HDR_NUM_BUFFERS 10
#define TX_BUDGET 256   /* frames per vnet_tx_run before the I/O thread moves on */

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


#define HOST_FEATURES                                                                        \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |   \
	 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CSUM |                            \
	 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |                      \
	 1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_TSO4 |                      \
	 1ull << VIRTIO_NET_F_GUEST_TSO6)

struct vnet_queue {
	uint16_t size; /* as the driver set it */
	uint16_t vec;  /* queue_msix_vector */
	bool enabled;
	uint64_t desc, avail, used;
	struct vq vq;
};

struct vnet {
	struct pci_dev pci;
	struct vnet_config cfg;
	pthread_mutex_t lock;
	uint64_t host_features, driver_features;
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint16_t qselect;
	struct vnet_queue q[VNET_NUM_QUEUES];
	uint8_t isr;
	bool irq_level, bus_master, intx_disabled;
	struct msix msix;    /* msix.cap 0: no MSI-X */
	uint16_t config_vec; /* msix_config */
	uint64_t bar0;     /* decoded BAR 0 (0 none): where the ioeventfds sit */
	uint64_t notify_at; /* BAR 0 base of the registered ioeventfds, 0 none */
	struct vnet_stats st;
	struct txirq tx_irq; /* used-ring interrupt coalescing (devices/txirq.h) */
	uint64_t last_run_ns;
	struct vq_elem txe;
	struct vq_elem rxe[RX_CHAINS_MAX];
};

static bool has(const struct vnet *s, unsigned bit)
{
	return s->driver_features >> bit & 1;
}

/* ---- interrupts ---- */

static void update_irq(struct vnet *s)
{
	bool level = s->isr && !s->intx_disabled && !s->msix.enabled;

	if (level == s->irq_level)
		return;
	s->irq_level = level;
	if (level)
		s->st.irqs++;
	irq_set(&s->cfg.irq, level);
}

/* A vector's message (MSI-X on): a vector the driver did not set is
 * NO_VECTOR, and no notification goes (4.1.5.1.2). */
static void signal_vector(struct vnet *s, uint16_t vec)
{
	if (vec != VIRTIO_MSI_NO_VECTOR && msix_notify(&s->msix, vec) == 0)
		s->st.msi_held++;
}

/* 4.1.4.5.1: a used-buffer notification of queue q. */
static void notify_queue(struct vnet *s, const struct vnet_queue *q)
{
	if (s->msix.enabled) {
		signal_vector(s, q->vec);
		return;
	}
	s->isr |= ISR_QUEUE;
	update_irq(s);
}

static void notify_config(struct vnet *s)
{
	s->isr |= ISR_CONFIG; /* set with MSI-X too */
	if (s->msix.enabled)
		signal_vector(s, s->config_vec);
	else
		update_irq(s);
}

static struct vnet_queue *queue_of(struct vq *q)
{
	return container_of(q, struct vnet_queue, vq);
}

/* 2.1.2: the device signals an error it cannot recover from. */
static void needs_reset(struct vnet *s)
{
	if (s->status & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	s->st.needs_reset++;
	s->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	if (s->status & VIRTIO_CONFIG_S_DRIVER_OK)
		notify_config(s);
}

static bool running(const struct vnet *s)
{
	return (s->status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_NEEDS_RESET)) ==
		       VIRTIO_CONFIG_S_DRIVER_OK && s->bus_master;
}

/* ---- reset and status ---- */

static void set_offload(struct vnet *s)
{
	unsigned o = 0;

	if (!s->cfg.backend.set_offload)
		return;
	if (has(s, VIRTIO_NET_F_GUEST_CSUM)) {
		o |= NETDEV_OFFLOAD_CSUM;
		if (has(s, VIRTIO_NET_F_GUEST_TSO4))
			o |= NETDEV_OFFLOAD_TSO4;
		if (has(s, VIRTIO_NET_F_GUEST_TSO6))
			o |= NETDEV_OFFLOAD_TSO6;
	}
	s->cfg.backend.set_offload(s->cfg.backend.ctx, o);
}

static void device_reset(struct vnet *s)
{
	bool had_features = s->status & VIRTIO_CONFIG_S_FEATURES_OK;

	s->driver_features = 0;
	s->dfselect = s->gfselect = 0;
	s->status = 0;
	s->qselect = 0;
	for (unsigned i = 0; i < VNET_NUM_QUEUES; i++) {
		s->q[i] = (struct vnet_queue){ .size = VNET_QUEUE_SIZE, .vec = VIRTIO_MSI_NO_VECTOR };
		s->q[i].vq.mem = s->cfg.mem;
	}
	s->config_vec = VIRTIO_MSI_NO_VECTOR;
	msix_clear_pending(&s->msix); /* the table and Enable are PCI state: kept */
	s->isr = 0;
	txirq_forget(&s->tx_irq); /* an armed timer finds nothing to signal */
	update_irq(s);
	if (had_features)
		set_offload(s);
}

static bool features_ok(uint64_t f, uint64_t offered)
{
	if (f & ~offered || !(f >> VIRTIO_F_VERSION_1 & 1))
		return false;
	if ((f & (1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6)) &&
	    !(f & 1ull << VIRTIO_NET_F_GUEST_CSUM))
		return false;
	if ((f & (1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6)) &&
	    !(f & 1ull << VIRTIO_NET_F_CSUM))
		return false;
	return true;
}

static void status_write(struct vnet *s, uint8_t v)
{
	uint8_t add = v & ~s->status;

	if (v == 0) {
		device_reset(s);
		return;
	}
	/* The driver only adds bits (3.1.1); NEEDS_RESET is the device's. */
	if (add & VIRTIO_CONFIG_S_FEATURES_OK) {
		if (!(s->status & VIRTIO_CONFIG_S_DRIVER) ||
		    !features_ok(s->driver_features, s->host_features)) {
			add &= ~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			s->status |= VIRTIO_CONFIG_S_FEATURES_OK;
			set_offload(s);
		}
	}
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && !(s->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* DRIVER_OK before the features were accepted: a driver bug. */
		needs_reset(s);
		add &= ~VIRTIO_CONFIG_S_DRIVER_OK;
	}
	s->status |= add & ~VIRTIO_CONFIG_S_NEEDS_RESET;
	if ((add & VIRTIO_CONFIG_S_DRIVER_OK) && s->cfg.backend.rx_notify)
		s->cfg.backend.rx_notify(s->cfg.backend.ctx);
}

/* queue_enable = 1 (4.1.4.3.2): the ring must be valid now. */
static void queue_enable(struct vnet *s, struct vnet_queue *q)
{
	if (q->enabled || !(s->status & VIRTIO_CONFIG_S_FEATURES_OK) ||
	    (s->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!q->enabled)
			needs_reset(s);
		return;
	}
	if (q->size > VNET_QUEUE_SIZE ||
	    vq_enable(&q->vq, s->cfg.mem, q->size, q->desc, q->avail, q->used,
		      has(s, VIRTIO_RING_F_EVENT_IDX)) < 0) {
		needs_reset(s);
		return;
	}
	q->enabled = true;
}

/* ---- common configuration ---- */

static struct vnet_queue *selected(struct vnet *s)
{
	return s->qselect < VNET_NUM_QUEUES ? &s->q[s->qselect] : NULL;
}

static void common_image(struct vnet *s, uint8_t img[VNET_COMMON_LEN])
{
	struct vnet_queue *q = selected(s);
	uint32_t df = s->dfselect < 2 ? (uint32_t)(s->host_features >> (32 * s->dfselect)) : 0;
	uint32_t gf = s->gfselect < 2 ? (uint32_t)(s->driver_features >> (32 * s->gfselect)) : 0;
	uint16_t nq = VNET_NUM_QUEUES;

	memset(img, 0, VNET_COMMON_LEN);
	memcpy(img + VIRTIO_PCI_COMMON_DFSELECT, &s->dfselect, 4);
	memcpy(img + VIRTIO_PCI_COMMON_DF, &df, 4);
	memcpy(img + VIRTIO_PCI_COMMON_GFSELECT, &s->gfselect, 4);
	memcpy(img + VIRTIO_PCI_COMMON_GF, &gf, 4);
	memcpy(img + VIRTIO_PCI_COMMON_MSIX, &s->config_vec, 2);
	memcpy(img + VIRTIO_PCI_COMMON_NUMQ, &nq, 2);
	img[VIRTIO_PCI_COMMON_STATUS] = s->status;
	img[VIRTIO_PCI_COMMON_CFGGENERATION] = 0; /* the configuration never changes */
	memcpy(img + VIRTIO_PCI_COMMON_Q_SELECT, &s->qselect, 2);
	if (!q)
		return; /* size 0: no such queue */
	uint16_t en = q->enabled, noff = (uint16_t)s->qselect;
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
static uint16_t vector_or_none(const struct vnet *s, uint64_t v)
{
	return s->msix.cap && v < s->msix.nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct vnet *s, uint64_t off, unsigned size, uint64_t v)
{
	struct vnet_queue *q = selected(s);
	bool q_frozen = !q || q->enabled;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		if (size == 4)
			s->dfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		if (size == 4)
			s->gfselect = (uint32_t)v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (size == 4 && s->gfselect < 2 && !(s->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			unsigned sh = 32 * s->gfselect;
			s->driver_features = (s->driver_features & ~(0xffffffffull << sh)) |
					     (v & 0xffffffffull) << sh;
		}
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		if (size == 1)
			status_write(s, (uint8_t)v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		if (size == 2)
			s->qselect = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* Checked at enable: a size that is not a power of two is an error. */
		if (size == 2 && !q_frozen)
			q->size = (uint16_t)v;
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (size == 2 && q && v == 1)
			queue_enable(s, q);
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		if (size == 2)
			s->config_vec = vector_or_none(s, v);
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		if (size == 2 && q)
			q->vec = vector_or_none(s, v);
		return;
	}
	if (!q_frozen && off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_Q_USEDLO + 8) {
		uint64_t *a = off < VIRTIO_PCI_COMMON_Q_AVAILLO ? &q->desc : off < VIRTIO_PCI_COMMON_Q_USEDLO ? &q->avail : &q->used;
		set_addr_part(a, (off - VIRTIO_PCI_COMMON_Q_DESCLO) % 8, size, v);
	}
}

/* ---- BAR 0 ---- */

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
	struct vnet *s = opaque;
	uint8_t img[VNET_COMMON_LEN];
	uint64_t v = 0;

	pthread_mutex_lock(&s->lock);
	if (off + size <= VNET_COMMON_LEN) {
		s->st.access[VNET_ACC_COMMON_READ]++;
		common_image(s, img);
		memcpy(&v, img + off, size);
	} else if (off == VNET_ISR_OFF) {
		s->st.access[VNET_ACC_ISR_READ]++;
		v = s->isr;
		s->isr = 0;
		update_irq(s);
	} else if (off >= VNET_DEVCFG_OFF && off + size <= VNET_DEVCFG_OFF + VNET_DEVCFG_LEN) {
		uint8_t dc[VNET_DEVCFG_LEN] = { 0 };
		uint16_t st = VIRTIO_NET_S_LINK_UP, pairs = 1;
		s->st.access[VNET_ACC_DEVCFG_READ]++;
		memcpy(dc, s->cfg.mac, 6);
		memcpy(dc + 6, &st, 2);
		memcpy(dc + 8, &pairs, 2);
		memcpy(&v, dc + (off - VNET_DEVCFG_OFF), size);
	} else if (s->msix.cap && off >= VNET_MSIX_TABLE_OFF &&
		   off < VNET_MSIX_TABLE_OFF + msix_table_size(&s->msix)) {
		s->st.access[VNET_ACC_MSIX]++;
		v = msix_table_read(&s->msix, off - VNET_MSIX_TABLE_OFF, size);
	} else if (s->msix.cap && off >= VNET_MSIX_PBA_OFF &&
		   off < VNET_MSIX_PBA_OFF + msix_pba_size(&s->msix)) {
		s->st.access[VNET_ACC_MSIX]++;
		v = msix_pba_read(&s->msix, off - VNET_MSIX_PBA_OFF, size);
	} else {
		s->st.access[VNET_ACC_OTHER]++;
	}
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void bar_write(void *opaque, uint64_t off, unsigned size, uint64_t v)
{
	struct vnet *s = opaque;

	pthread_mutex_lock(&s->lock);
	if (off + size <= VNET_COMMON_LEN) {
		s->st.access[VNET_ACC_COMMON_WRITE]++;
		common_write(s, off, size, v);
	} else if (off >= VNET_NOTIFY_OFF && off < VNET_NOTIFY_OFF + VNET_NUM_QUEUES * VNET_NOTIFY_MULT &&
		   (off - VNET_NOTIFY_OFF) % VNET_NOTIFY_MULT == 0) {
		unsigned qi = (unsigned)(off - VNET_NOTIFY_OFF) / VNET_NOTIFY_MULT;
		s->st.access[VNET_ACC_NOTIFY]++;
		if (qi == VNET_TXQ && s->cfg.backend.kick)
			s->cfg.backend.kick(s->cfg.backend.ctx);
		else if (qi == VNET_RXQ && s->cfg.backend.rx_notify)
			s->cfg.backend.rx_notify(s->cfg.backend.ctx);
	} else if (s->msix.cap && off >= VNET_MSIX_TABLE_OFF &&
		   off < VNET_MSIX_TABLE_OFF + msix_table_size(&s->msix)) {
		s->st.access[VNET_ACC_MSIX]++;
		msix_table_write(&s->msix, off - VNET_MSIX_TABLE_OFF, size, v);
	} else {
		s->st.access[VNET_ACC_OTHER]++; /* read-only or unused: ignored */
	}
	pthread_mutex_unlock(&s->lock);
}

static const struct io_ops vnet_bar_ops = { .read = bar_read, .write = bar_write };

/* ---- transmit ---- */

static void count_batch(struct vnet *s, unsigned n)
{
	batch_count(s->st.tx_batch, VNET_BATCH_BUCKETS, n);
	s->st.tx_runs++;
}

static size_t tx_limit(const struct vnet *s)
{
	bool tso = has(s, VIRTIO_NET_F_HOST_TSO4) || has(s, VIRTIO_NET_F_HOST_TSO6);
	return VNET_HDR_LEN + (tso ? VNET_GSO_MAX : VNET_FRAME_MAX);
}

/* One chain: 1 sent (or dropped, counted), 0 ring empty, -1 ring broken. */
static int tx_one(struct vnet *s, struct vq *q)
{
	struct vq_elem *e = &s->txe;
	int r = vq_pop(q, e);

	if (r == 0)
		return 0;
	if (r == -EPROTO) {
		s->st.drops[VNET_DROP_BAD_DESC]++;
		needs_reset(s);
		return -1;
	}
	if (r < 0 || e->n_in || e->out_len < VNET_HDR_LEN) {
		s->st.drops[VNET_DROP_BAD_DESC]++;
	} else if (e->out_len > tx_limit(s)) {
		s->st.drops[VNET_DROP_OVERSIZE]++;
	} else {
		struct iovec iov[VQ_SEGS_MAX];
		for (unsigned i = 0; i < e->n_out; i++)
			iov[i] = (struct iovec){ e->out[i].p, e->out[i].len };
		if (s->cfg.backend.tx(s->cfg.backend.ctx, iov, e->n_out) < 0) {
			s->st.drops[VNET_DROP_BACKEND]++;
		} else {
			s->st.tx_frames++;
			s->st.tx_bytes += e->out_len - VNET_HDR_LEN;
		}
	}
	vq_push(q, e->head, 0);
	return 1;
}

static void used_flush_notify(struct vnet *s, struct vq *q)
{
	vq_flush(q);
	if (vq_should_notify(q))
		notify_queue(s, queue_of(q));
}

/* After a combined drain published `sent` chains: interrupt now (N reached,
 * a quiet gap before this notify, or no coalescing), else leave it to the
 * timer. vq_should_notify covers every chain since the last check, so
 * EVENT_IDX sees the whole range. */
static void tx_irq_after_run(struct vnet *s, struct vq *q, unsigned sent, bool busy)
{
	if (sent && txirq_after_run(&s->tx_irq, sent, q->size, !busy, s->cfg.tx_irq_ns) &&
	    vq_should_notify(q))
		notify_queue(s, queue_of(q));
}

void vnet_tx_timer(struct vnet *s)
{
	struct vq *q = &s->q[VNET_TXQ].vq;
	bool pending;

	pthread_mutex_lock(&s->lock);
	if (txirq_expired(&s->tx_irq, &pending) && pending && running(s) && vq_ready(q)) {
		s->st.irq_timer++;
		if (vq_should_notify(q))
			notify_queue(s, queue_of(q));
	}
	pthread_mutex_unlock(&s->lock);
}

unsigned vnet_tx_run(struct vnet *s, uint64_t kicks)
{
	struct vq *q = &s->q[VNET_TXQ].vq;
	bool combine = s->cfg.opts & VNET_OPT_SEND_COMBINE;
	bool busy = true;
	unsigned sent = 0;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->st.kicks += kicks;
	if (s->cfg.backend.now_ns) {
		uint64_t now = s->cfg.backend.now_ns(s->cfg.backend.ctx);
		busy = s->last_run_ns && now - s->last_run_ns < s->cfg.tx_irq_ns;
		s->last_run_ns = now;
	}
	if (!running(s) || !vq_ready(q))
		goto out;
	if (!combine) {
		/* Naive: each frame completes (and may interrupt) on its own. */
		vq_set_notify(q, true);
		while (sent < TX_BUDGET && (r = tx_one(s, q)) > 0) {
			vq_set_notify(q, true);
			sent++;
			used_flush_notify(s, q);
		}
		goto out;
	}
	/* 2.7.7.1: no notifies while we drain; then ask again and recheck, so a
	 * chain added before the driver saw the change is not stranded. */
	do {
		vq_set_notify(q, false);
		while (sent < TX_BUDGET && (r = tx_one(s, q)) > 0)
			sent++;
		vq_set_notify(q, true);
	} while (r == 0 && sent < TX_BUDGET && vq_avail_count(q));
	if (sent) {
		vq_flush(q);
		/* A broken ring (r < 0) reports at once; so does a full budget
		 * (the run comes back at once anyway). */
		tx_irq_after_run(s, q, sent, busy && r == 0);
	}
out:
	if (sent)
		count_batch(s, sent);
	/* A guest that keeps the ring full must not starve receive: come back
	 * after the I/O thread's other work (this kick counts as a doorbell). */
	if (sent == TX_BUDGET && s->cfg.backend.kick)
		s->cfg.backend.kick(s->cfg.backend.ctx);
	pthread_mutex_unlock(&s->lock);
	return sent;
}

/* ---- receive ---- */

/* Copies [off, off+len) of the stream "hdr then frame" into e. */
static void rx_copy(const struct vq_elem *e, const uint8_t *hdr, const uint8_t *frame,
		    size_t off, size_t len)
{
	size_t done = 0;

	if (off < VNET_HDR_LEN) {
		size_t n = VNET_HDR_LEN - off < len ? VNET_HDR_LEN - off : len;
		vq_copy_to_in(e, 0, hdr + off, n);
		done = n;
	}
	if (done < len)
		vq_copy_to_in(e, done, frame + (off + done - VNET_HDR_LEN), len - done);
}

static void rx_return(struct vnet *s, struct vq *q, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vq_push(q, s->rxe[i].head, 0);
	used_flush_notify(s, q);
}

int vnet_rx(struct vnet *s, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	static const uint8_t zero_hdr[VNET_HDR_LEN];
	struct vq *q = &s->q[VNET_RXQ].vq;
	bool mrg, gso;
	size_t total = VNET_HDR_LEN + len, off = 0;
	unsigned n = 0;
	uint8_t h[VNET_HDR_LEN];
	int r = 0;

	memcpy(h, hdr ? hdr : zero_hdr, VNET_HDR_LEN);
	pthread_mutex_lock(&s->lock);
	if (!running(s) || !vq_ready(q)) {
		s->st.drops[VNET_DROP_NO_RX_BUFFER]++;
		goto out;
	}
	mrg = has(s, VIRTIO_NET_F_MRG_RXBUF);
	gso = has(s, VIRTIO_NET_F_GUEST_TSO4) || has(s, VIRTIO_NET_F_GUEST_TSO6);
	if (len > (gso ? VNET_GSO_MAX : VNET_FRAME_MAX)) {
		s->st.drops[VNET_DROP_OVERSIZE]++;
		goto out;
	}
	h[HDR_NUM_BUFFERS] = h[HDR_NUM_BUFFERS + 1] = 0;
	while (off < total) {
		struct vq_elem *e = &s->rxe[n];
		size_t chunk;

		if (n == (mrg ? RX_CHAINS_MAX : 1)) {
			s->st.drops[VNET_DROP_OVERSIZE]++;
			rx_return(s, q, n);
			goto out;
		}
		r = vq_pop(q, e);
		if (r == 0) {
			/* Out of buffers: ask for a notify, then look once more. */
			vq_set_notify(q, true);
			if (vq_avail_count(q))
				continue;
			vq_unpop(q, n);
			r = -EAGAIN;
			goto out;
		}
		if (r == -EPROTO) {
			s->st.drops[VNET_DROP_BAD_DESC]++;
			vq_unpop(q, n);
			needs_reset(s);
			r = 0;
			goto out;
		}
		n++;
		if (r < 0 || e->n_out) {
			s->st.drops[VNET_DROP_BAD_DESC]++;
			rx_return(s, q, n);
			r = 0;
			goto out;
		}
		chunk = total - off < e->in_len ? total - off : e->in_len;
		if (!mrg && chunk < total) {
			s->st.drops[VNET_DROP_OVERSIZE]++;
			rx_return(s, q, n);
			r = 0;
			goto out;
		}
		rx_copy(e, h, frame, off, chunk);
		off += chunk;
	}
	if (mrg) {
		uint16_t nb = (uint16_t)n;
		vq_copy_to_in(&s->rxe[0], HDR_NUM_BUFFERS, &nb, 2);
	}
	off = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t chunk = total - off < s->rxe[i].in_len ? total - off : s->rxe[i].in_len;
		vq_push(q, s->rxe[i].head, (uint32_t)chunk);
		off += chunk;
	}
	used_flush_notify(s, q);
	s->st.rx_frames++;
	s->st.rx_bytes += len;
	r = 0;
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

void vnet_rx_drop(struct vnet *s)
{
	pthread_mutex_lock(&s->lock);
	s->st.drops[VNET_DROP_NO_RX_BUFFER]++;
	pthread_mutex_unlock(&s->lock);
}

/* ---- PCI ---- */

/* The PCI configuration access window (4.1.4.7): BAR 0 at cap.offset,
 * cap.length 1, 2 or 4 bytes, naturally aligned, inside the BAR; anything
 * else does nothing. */
static bool pcicfg_window(const struct pci_dev *d, uint32_t *off, unsigned *len)
{
	uint32_t o = pci_cfg_get(d, CAP_PCICFG_OFFSET, 4), l = pci_cfg_get(d, CAP_PCICFG_LENGTH, 4);

	if (pci_cfg_get(d, CAP_PCICFG_BAR, 1) != 0 || (l != 1 && l != 2 && l != 4) || o % l ||
	    o > VNET_BAR_SIZE - l)
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
static uint32_t vnet_cfg_read(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct vnet *s = container_of(dev, struct vnet, pci);
	uint32_t boff, v;
	unsigned blen;

	if (!touches_pcicfg_data(off, size) || !pcicfg_window(dev, &boff, &blen))
		return value;
	v = (uint32_t)bar_read(s, boff, blen);
	for (unsigned i = 0; i < size; i++) {
		unsigned o = off + i;
		if (o >= CAP_PCICFG_DATA && o < CAP_PCICFG_DATA + 4) {
			value &= ~(0xffu << (8 * i));
			value |= (v >> (8 * (o - CAP_PCICFG_DATA)) & 0xff) << (8 * i);
		}
	}
	return value;
}

/* Tracks bus mastering, INTx disable and the MSI-X control bits, moves the
 * notify ioeventfds with BAR 0, and carries writes through the PCI
 * configuration access window. Runs under the PCI bus lock. */
static void vnet_cfg_write(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct vnet *s = container_of(dev, struct vnet, pci);
	uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);
	/* Where the bus really decodes BAR 0 (0 when it overlaps another
	 * region): a doorbell eventfd must not steal someone else's writes. */
	uint64_t base = (cmd & PCI_COMMAND_MEMORY) ? dev->bar_mapped[0] : 0;
	const struct io_accel *a = &s->cfg.accel;
	uint32_t boff;
	unsigned blen;
	bool was_msix;

	(void)value;
	pthread_mutex_lock(&s->lock);
	s->bus_master = cmd & PCI_COMMAND_MASTER;
	s->intx_disabled = cmd & PCI_COMMAND_INTX_DISABLE;
	s->bar0 = base;
	was_msix = s->msix.enabled;
	msix_cfg_sync(&s->msix, dev);
	if (was_msix && !s->msix.enabled && s->msix.pending) {
		/* Held queue notifications would be lost: INTx takes them over. */
		msix_clear_pending(&s->msix);
		s->isr |= ISR_QUEUE;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (touches_pcicfg_data(off, size) && pcicfg_window(dev, &boff, &blen))
		bar_write(s, boff, blen, pci_cfg_get(dev, CAP_PCICFG_DATA, blen));
	if (base == s->notify_at || !(s->cfg.opts & VNET_OPT_IOEVENTFD) || !a->ioeventfd)
		return;
	for (unsigned i = 0; s->notify_at && i < VNET_NUM_QUEUES; i++)
		if (s->cfg.notify_fd[i] >= 0)
			a->ioeventfd(a->ctx, IO_MMIO, s->notify_at + VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * i,
				     2, s->cfg.notify_fd[i], false);
	s->notify_at = 0;
	if (!base)
		return;
	for (unsigned i = 0; i < VNET_NUM_QUEUES; i++) {
		int r = s->cfg.notify_fd[i] < 0 ? 0 :
			a->ioeventfd(a->ctx, IO_MMIO, base + VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * i,
				     2, s->cfg.notify_fd[i], true);
		if (r < 0) /* the notify still works, by an exit */
			log_warn_errno(r, "%s: queue %u notify at %#llx: ioeventfd", s->cfg.name, i,
				       (unsigned long long)(base + VNET_NOTIFY_OFF + VNET_NOTIFY_MULT * i));
	}
	s->notify_at = base;
}

void vnet_pci_sync(struct vnet *s)
{
	vnet_cfg_write(&s->pci, PCI_COMMAND, 2, 0);
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

struct vnet *vnet_new(const struct vnet_config *cfg)
{
	struct vnet *s = calloc(1, sizeof(*s));
	struct pci_dev *d;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	txirq_init(&s->tx_irq, cfg->tx_irq_frames, cfg->tx_irq_ns, cfg->backend.arm_timer,
		   cfg->backend.ctx);
	s->host_features = HOST_FEATURES;
	if (cfg->opts & VNET_OPT_IRQFD)
		s->host_features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	device_reset(s);

	d = &s->pci;
	pci_cfg_set16(d, PCI_VENDOR_ID, VNET_VENDOR_ID);
	pci_cfg_set16(d, PCI_DEVICE_ID, VNET_DEVICE_ID);
	pci_cfg_set8(d, PCI_REVISION_ID, 1);
	pci_cfg_set16(d, PCI_CLASS_DEVICE, 0x0200); /* network, Ethernet */
	pci_cfg_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VNET_VENDOR_ID);
	pci_cfg_set16(d, PCI_SUBSYSTEM_ID, 0x0040);
	pci_cfg_set8(d, PCI_CAPABILITY_LIST, CAP_COMMON_AT);
	add_cap(d, CAP_COMMON_AT, CAP_NOTIFY_AT, VIRTIO_PCI_CAP_COMMON_CFG, VNET_COMMON_OFF,
		VNET_COMMON_LEN, 16);
	add_cap(d, CAP_NOTIFY_AT, CAP_ISR_AT, VIRTIO_PCI_CAP_NOTIFY_CFG, VNET_NOTIFY_OFF,
		VNET_NUM_QUEUES * VNET_NOTIFY_MULT, 20);
	pci_cfg_set32(d, CAP_NOTIFY_AT + 16, VNET_NOTIFY_MULT);
	add_cap(d, CAP_ISR_AT, CAP_DEVICE_AT, VIRTIO_PCI_CAP_ISR_CFG, VNET_ISR_OFF, 1, 16);
	add_cap(d, CAP_DEVICE_AT, CAP_PCICFG_AT, VIRTIO_PCI_CAP_DEVICE_CFG, VNET_DEVCFG_OFF,
		VNET_DEVCFG_LEN, 16);
	/* 4.1.4.7: bar, offset, length and the data window are the driver's. */
	add_cap(d, CAP_PCICFG_AT, cfg->msi.send ? CAP_MSIX_AT : 0, VIRTIO_PCI_CAP_PCI_CFG, 0, 0,
		CAP_PCICFG_LEN);
	d->wmask[CAP_PCICFG_BAR] = 0xff;
	memset(&d->wmask[CAP_PCICFG_OFFSET], 0xff, 12);
	if (cfg->msi.send) {
		msix_init(&s->msix, VNET_MSIX_VECTORS, &cfg->msi);
		msix_add_cap(&s->msix, d, CAP_MSIX_AT, 0, 0, VNET_MSIX_TABLE_OFF, VNET_MSIX_PBA_OFF);
	}
	d->bar[0] = (struct pci_bar_desc){ .size = VNET_BAR_SIZE, .ops = &vnet_bar_ops, .opaque = s,
					   .name = cfg->name ? cfg->name : "virtio-net" };
	d->cfg_write = vnet_cfg_write;
	d->cfg_read = vnet_cfg_read;
	return s;
}

void vnet_free(struct vnet *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

struct pci_dev *vnet_pci_dev(struct vnet *s)
{
	return &s->pci;
}

uint64_t vnet_bar0(struct vnet *s)
{
	uint64_t v;

	pthread_mutex_lock(&s->lock);
	v = s->bar0;
	pthread_mutex_unlock(&s->lock);
	return v;
}

void vnet_get_stats(struct vnet *s, struct vnet_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->irqs += s->msix.sent;
	out->irq_deferred = s->tx_irq.deferred;
	pthread_mutex_unlock(&s->lock);
}

uint8_t vnet_status(struct vnet *s)
{
	uint8_t v;

	pthread_mutex_lock(&s->lock);
	v = s->status;
	pthread_mutex_unlock(&s->lock);
	return v;
}

uint64_t vnet_features(struct vnet *s)
{
	uint64_t v;

	pthread_mutex_lock(&s->lock);
	v = s->driver_features;
	pthread_mutex_unlock(&s->lock);
	return v;
}

const char *vnet_drop_name(enum vnet_drop d)
{
	static const char *const names[] = { "no_rx_buffer", "bad_descriptor", "oversize", "backend_error" };
	return (unsigned)d < VNET_DROP_COUNT ? names[d] : "?";
}

const char *vnet_access_name(enum vnet_access a)
{
	static const char *const names[] = { "common_read", "common_write", "notify", "isr_read",
					     "devcfg_read", "msix", "other" };
	return (unsigned)a < VNET_ACC_COUNT ? names[a] : "?";
}

/* ---- the network-device layer (netdev.h) ---- */

static void *model_create(const struct netdev_config *c)
{
	struct vnet_config vc = {
		.mem = c->mem, .irq = c->irq, .msi = c->msi, .backend = c->backend,
		.accel = c->accel, .notify_fd = { [VNET_RXQ] = c->notify_rx_fd, [VNET_TXQ] = c->notify_tx_fd },
		.opts = (c->opts & NETDEV_OPT_COALESCE ? VNET_OPT_IOEVENTFD : 0) |
			(c->opts & NETDEV_OPT_COMBINE ? VNET_OPT_SEND_COMBINE : 0) |
			(c->opts & NETDEV_OPT_IRQFD ? VNET_OPT_IRQFD : 0),
		.tx_irq_frames = c->tx_irq_frames, .tx_irq_ns = c->tx_irq_ns, .name = c->name,
	};

	memcpy(vc.mac, c->mac, 6);
	return vnet_new(&vc);
}

static void model_free(void *dev) { vnet_free(dev); }
static struct pci_dev *model_pci_dev(void *dev) { return vnet_pci_dev(dev); }
static void model_pci_sync(void *dev) { vnet_pci_sync(dev); }
static unsigned model_tx_run(void *dev, uint64_t kicks) { return vnet_tx_run(dev, kicks); }
static void model_tx_timer(void *dev) { vnet_tx_timer(dev); }

static int model_rx(void *dev, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	return vnet_rx(dev, hdr, frame, len);
}

static void model_rx_drop(void *dev, size_t len)
{
	(void)len;
	vnet_rx_drop(dev);
}

_Static_assert(VNET_BATCH_BUCKETS == NETDEV_BATCH_BUCKETS, "TX batch histograms differ");
_Static_assert(VNET_HDR_LEN == NETDEV_HDR_LEN, "virtio_net_hdr lengths differ");

/* Exits by register group; doorbells count TX notifies whether they exited
 * or came by ioeventfd. */
static void model_stats(void *dev, struct netdev_stats *o)
{
	struct vnet_stats st;

	vnet_get_stats(dev, &st);
	*o = (struct netdev_stats){
		.tx_frames = st.tx_frames, .tx_bytes = st.tx_bytes,
		.rx_frames = st.rx_frames, .rx_bytes = st.rx_bytes,
		.irqs = st.irqs, .kicks = st.kicks, .tx_runs = st.tx_runs,
		.tx_irq_deferred = st.irq_deferred, .tx_irq_timer = st.irq_timer,
	};
	memcpy(o->tx_batch, st.tx_batch, sizeof(o->tx_batch));
	for (unsigned i = 0; i < VNET_DROP_COUNT; i++)
		netdev_count(o->drops, &o->nr_drops, vnet_drop_name(i), st.drops[i]);
	for (unsigned i = 0; i < VNET_ACC_COUNT; i++) {
		netdev_count(o->exits, &o->nr_exits, vnet_access_name(i), st.access[i]);
		o->exits_total += st.access[i];
	}
	netdev_count(o->extra, &o->nr_extra, "needs_reset", st.needs_reset);
}

const struct netdev_model vnet_model = {
	.name = "virtio-net", .msi_vectors = VNET_MSIX_VECTORS, .coalesced_writes = false,
	.create = model_create, .free = model_free, .pci_dev = model_pci_dev,
	.pci_sync = model_pci_sync, .rx = model_rx, .rx_drop = model_rx_drop,
	.tx_run = model_tx_run, .tx_timer = model_tx_timer, .tx_poll = NULL,
	.stats = model_stats,
};
