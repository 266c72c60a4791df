/* virtio_net.c: the virtio-net device, after Virtual I/O Device (VIRTIO)
 * Version 1.1 (OASIS), on the PCI transport of virtio_pci.c:
 *   5.1.2      queues: 0 receiveq, 1 transmitq (no control queue)
 *   5.1.3      feature bits; 5.1.3.1 their dependencies: FEATURES_OK is
 *              refused for GUEST_TSO* without GUEST_CSUM, or HOST_TSO*
 *              without CSUM
 *   5.1.4      device configuration: mac, status (LINK_UP),
 *              max_virtqueue_pairs 1
 *   5.1.6      the 12-byte virtio_net_hdr on both queues; MRG_RXBUF:
 *              num_buffers; checksum and TSO offloads passed through the tap's
 *              vnet header unchanged (the tap uses the same layout)
 *   5.1.6.2    transmit: device-readable chains, header first
 *   5.1.6.3    receive buffers: device-writable chains
 * PCI ids 1af4:1041 (device type 1), class 02 00 00.
 * Not implemented: indirect descriptors, control queue, multiqueue.
 *
 * A broken ring (an avail index that runs ahead, a head out of range) sets
 * NEEDS_RESET through the transport; a bad chain is returned unused and
 * counted.
 */
#include "devices/virtio_net.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>

#include "devices/txirq.h"
#include "devices/virtqueue.h"

#define RX_CHAINS_MAX 64 /* receive chains per frame with MRG_RXBUF */
#define HDR_NUM_BUFFERS 10
#define TX_BUDGET 256   /* frames per vnet_tx_run before the I/O thread moves on */

#define HOST_FEATURES                                                                        \
	(1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |   \
	 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_CSUM |                            \
	 1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4 |                      \
	 1ull << VIRTIO_NET_F_HOST_TSO6 | 1ull << VIRTIO_NET_F_GUEST_TSO4 |                      \
	 1ull << VIRTIO_NET_F_GUEST_TSO6)

/* The transport's lock (vp.lock) guards everything here as well. */
struct vnet {
	struct vpci vp;
	struct vnet_config cfg;
	struct vnet_stats st; /* the device's counters; the transport keeps its own */
	struct txirq tx_irq;  /* used-ring interrupt coalescing (devices/txirq.h) */
	uint64_t last_run_ns;
	struct vq_elem txe;
	struct vq_elem rxe[RX_CHAINS_MAX];
};

static struct vnet *vnet_of(struct vpci *vp)
{
	return container_of(vp, struct vnet, vp);
}

static bool has(const struct vnet *s, unsigned bit)
{
	return vpci_has(&s->vp, bit);
}

/* ---- the transport's callbacks (vp.lock held) ---- */

/* The offloads the driver takes, for the tap (none after a reset). */
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

static int vnet_features_ok(struct vpci *vp, uint64_t f)
{
	if ((f & (1ull << VIRTIO_NET_F_GUEST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_TSO6)) &&
	    !(f & 1ull << VIRTIO_NET_F_GUEST_CSUM))
		return -EINVAL;
	if ((f & (1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_HOST_TSO6)) &&
	    !(f & 1ull << VIRTIO_NET_F_CSUM))
		return -EINVAL;
	set_offload(vnet_of(vp));
	return 0;
}

static void vnet_reset(struct vpci *vp, bool had_features)
{
	struct vnet *s = vnet_of(vp);

	txirq_forget(&s->tx_irq); /* an armed timer finds nothing to signal */
	if (had_features)
		set_offload(s);
}

/* Receive buffers may wait for a frame the I/O thread holds. */
static void vnet_driver_ok(struct vpci *vp)
{
	struct vnet *s = vnet_of(vp);

	if (s->cfg.backend.rx_notify)
		s->cfg.backend.rx_notify(s->cfg.backend.ctx);
}

static void vnet_queue_notify(struct vpci *vp, unsigned q)
{
	struct vnet *s = vnet_of(vp);

	if (q == VNET_TXQ && s->cfg.backend.kick)
		s->cfg.backend.kick(s->cfg.backend.ctx);
	else if (q == VNET_RXQ && s->cfg.backend.rx_notify)
		s->cfg.backend.rx_notify(s->cfg.backend.ctx);
}

/* 5.1.4: mac, status, max_virtqueue_pairs, mtu (0: not offered). */
static uint64_t vnet_cfg_read(struct vpci *vp, unsigned off, unsigned size)
{
	struct vnet *s = vnet_of(vp);
	uint8_t dc[VNET_DEVCFG_LEN] = { 0 };
	uint16_t st = VIRTIO_NET_S_LINK_UP, pairs = 1;
	uint64_t v = 0;

	memcpy(dc, s->cfg.mac, 6);
	memcpy(dc + 6, &st, 2);
	memcpy(dc + 8, &pairs, 2);
	memcpy(&v, dc + off, size);
	return v;
}

static const struct vpci_ops vnet_vpci_ops = {
	.cfg_read = vnet_cfg_read, .features_ok = vnet_features_ok, .driver_ok = vnet_driver_ok,
	.queue_notify = vnet_queue_notify, .reset = vnet_reset,
};

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
		vpci_needs_reset(&s->vp);
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

/* After a combined drain published `sent` chains: interrupt now (N reached,
 * a quiet gap before this notify, or no coalescing), else leave it to the
 * timer. vq_should_notify covers every chain since the last check, so
 * EVENT_IDX sees the whole range. */
static void tx_irq_after_run(struct vnet *s, struct vq *q, unsigned sent, bool busy)
{
	if (sent && txirq_after_run(&s->tx_irq, sent, q->size, !busy, s->cfg.tx_irq_ns))
		vpci_signal_used(&s->vp, VNET_TXQ);
}

void vnet_tx_timer(struct vnet *s)
{
	struct vq *q = vpci_vq(&s->vp, VNET_TXQ);
	bool pending;

	pthread_mutex_lock(&s->vp.lock);
	if (txirq_expired(&s->tx_irq, &pending) && pending && vpci_running(&s->vp) && vq_ready(q)) {
		s->st.irq_timer++;
		vpci_signal_used(&s->vp, VNET_TXQ);
	}
	pthread_mutex_unlock(&s->vp.lock);
}

unsigned vnet_tx_run(struct vnet *s, uint64_t kicks)
{
	struct vq *q = vpci_vq(&s->vp, VNET_TXQ);
	bool combine = s->cfg.opts & VNET_OPT_SEND_COMBINE;
	bool busy = true;
	unsigned sent = 0;
	int r = 0;

	pthread_mutex_lock(&s->vp.lock);
	s->st.kicks += kicks;
	if (s->cfg.backend.now_ns) {
		uint64_t now = s->cfg.backend.now_ns(s->cfg.backend.ctx);
		busy = s->last_run_ns && now - s->last_run_ns < s->cfg.tx_irq_ns;
		s->last_run_ns = now;
	}
	if (!vpci_running(&s->vp) || !vq_ready(q))
		goto out;
	if (!combine) {
		/* Naive: each frame completes (and may interrupt) on its own. */
		vq_set_notify(q, true);
		while (sent < TX_BUDGET && (r = tx_one(s, q)) > 0) {
			vq_set_notify(q, true);
			sent++;
			vpci_flush_used(&s->vp, VNET_TXQ);
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
	pthread_mutex_unlock(&s->vp.lock);
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
	vpci_flush_used(&s->vp, VNET_RXQ);
}

int vnet_rx(struct vnet *s, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	static const uint8_t zero_hdr[VNET_HDR_LEN];
	struct vq *q = vpci_vq(&s->vp, VNET_RXQ);
	bool mrg, gso;
	size_t total = VNET_HDR_LEN + len, off = 0;
	unsigned n = 0;
	uint8_t h[VNET_HDR_LEN];
	int r = 0;

	memcpy(h, hdr ? hdr : zero_hdr, VNET_HDR_LEN);
	pthread_mutex_lock(&s->vp.lock);
	if (!vpci_running(&s->vp) || !vq_ready(q)) {
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
			vpci_needs_reset(&s->vp);
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
	vpci_flush_used(&s->vp, VNET_RXQ);
	s->st.rx_frames++;
	s->st.rx_bytes += len;
	r = 0;
out:
	pthread_mutex_unlock(&s->vp.lock);
	return r;
}

void vnet_rx_drop(struct vnet *s)
{
	pthread_mutex_lock(&s->vp.lock);
	s->st.drops[VNET_DROP_NO_RX_BUFFER]++;
	pthread_mutex_unlock(&s->vp.lock);
}
/* ---- creation and state ---- */

struct vnet *vnet_new(const struct vnet_config *cfg)
{
	struct vnet *s = calloc(1, sizeof(*s));
	struct vpci_desc desc = {
		.device_type = VIRTIO_ID_NET, .class = 0x020000, /* network, Ethernet */
		.subsystem_id = 0x0040, .features = HOST_FEATURES, .num_queues = VNET_NUM_QUEUES,
		.queue_size = VNET_QUEUE_SIZE, .cfg_len = VNET_DEVCFG_LEN,
		.msix_vectors = VNET_MSIX_VECTORS, .ops = &vnet_vpci_ops,
	};
	struct vpci_config vc = {
		.mem = cfg->mem, .irq = cfg->irq, .msi = cfg->msi, .accel = cfg->accel,
		.ioeventfd = cfg->opts & VNET_OPT_IOEVENTFD,
		.name = cfg->name ? cfg->name : "virtio-net",
	};
	int r;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	txirq_init(&s->tx_irq, cfg->tx_irq_frames, cfg->tx_irq_ns, cfg->backend.arm_timer,
		   cfg->backend.ctx);
	if (cfg->opts & VNET_OPT_IRQFD)
		desc.features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	for (unsigned i = 0; i < VPCI_QUEUES_MAX; i++)
		vc.notify_fd[i] = i < VNET_NUM_QUEUES ? cfg->notify_fd[i] : -1;
	r = vpci_init(&s->vp, &desc, &vc);
	if (r < 0) {
		free(s);
		errno = -r;
		return NULL;
	}
	return s;
}

void vnet_free(struct vnet *s)
{
	if (!s)
		return;
	vpci_destroy(&s->vp);
	free(s);
}

struct pci_dev *vnet_pci_dev(struct vnet *s)
{
	return &s->vp.pci;
}

void vnet_pci_sync(struct vnet *s)
{
	vpci_pci_sync(&s->vp);
}

uint64_t vnet_bar0(struct vnet *s)
{
	struct vpci_state st;

	vpci_get_state(&s->vp, &st);
	return st.bar0;
}

uint8_t vnet_status(struct vnet *s)
{
	struct vpci_state st;

	vpci_get_state(&s->vp, &st);
	return st.status;
}

uint64_t vnet_features(struct vnet *s)
{
	struct vpci_state st;

	vpci_get_state(&s->vp, &st);
	return st.features;
}

void vnet_get_stats(struct vnet *s, struct vnet_stats *out)
{
	struct vpci_stats t;

	pthread_mutex_lock(&s->vp.lock);
	*out = s->st;
	vpci_get_stats(&s->vp, &t);
	memcpy(out->access, t.access, sizeof(out->access));
	out->irqs = t.irqs;
	out->msi_held = t.msi_held;
	out->needs_reset = t.needs_reset;
	out->irq_deferred = s->tx_irq.deferred;
	pthread_mutex_unlock(&s->vp.lock);
}

const char *vnet_drop_name(enum vnet_drop d)
{
	static const char *const names[] = { "no_rx_buffer", "bad_descriptor", "oversize", "backend_error" };
	return (unsigned)d < VNET_DROP_COUNT ? names[d] : "?";
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
	for (unsigned i = 0; i < VPCI_ACC_COUNT; i++) {
		netdev_count(o->exits, &o->nr_exits, vpci_access_name(i), st.access[i]);
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
