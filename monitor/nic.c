/* nic.c: see nic.h. Tap: Documentation/networking/tuntap.rst (IFF_TAP,
 * IFF_NO_PI, IFF_VNET_HDR; TUNSETVNETHDRSZ). Frames carry a 12-byte
 * virtio_net_hdr (virtio 1.x 5.1.6, zero: no offloads) that is written zeroed
 * and stripped on read. */
#include "monitor/nic.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "monitor/ioloop.h"
#include "common/log.h"
#include "devices/pci.h"
#include "devices/virtqueue.h"
#include "common/util.h"
#include "monitor/vm.h"

#define RX_BUF_LEN (65536 + 256) /* a whole GSO frame from the tap */
#define RX_BUDGET 64              /* frames per tap wakeup */
#define RX_POLL_NS 1000000        /* retry a held frame every 1 ms (the chip's ring poll) */
#define RX_HOLD_MAX_NS 1000000000 /* then drop it as "no RX buffer" */

struct nic {
	char name[16];
	struct nic_config cfg;
	struct vm *vm;
	struct ioloop *loop;
	const struct netdev_model *m;
	void *dev; /* the model's device */
	int tap_fd;
	char ifname[IFNAMSIZ];
	unsigned hdr_len; /* 12, or 0 for an inherited fd without IFF_VNET_HDR */
	int kick_fd;      /* eventfd: vCPU transmit demand -> I/O thread */
	int rx_wake_fd;   /* eventfd: the guest may have returned RX buffers */
	int irq_fd, resample_fd;
	int poll_fd;      /* timerfd: retry a held receive frame */
	int txirq_fd;     /* timerfd: TX interrupt coalescing bound (combine) */
	int txkick_fd;    /* timerfd: PCnet TDMD deferral poll (combine) */
	unsigned gsi;

	pthread_mutex_t irq_lock;
	bool irq_level, irq_asserted;
	uint64_t irq_injections;

	/* virtio-net MSI-X (irqfd switch): an irqfd per vector on its own MSI
	 * route, or -1 (then KVM_SIGNAL_MSI). Device lock held on use. */
	int msi_fd[NETDEV_MSI_MAX];
	unsigned msi_gsi[NETDEV_MSI_MAX];
	bool msi_routed[NETDEV_MSI_MAX];

	bool rx_paused;   /* I/O thread; read by vCPUs (atomic) */
	bool tap_watched; /* the tap fd is on the I/O loop */
	size_t held_len;
	uint8_t held_hdr[NETDEV_HDR_LEN];
	uint64_t held_since;
	uint8_t rxbuf[RX_BUF_LEN];
};

/* ---- tap ---- */

static int tap_open(struct nic *n)
{
	struct ifreq ifr = { 0 };
	int fd, hdr = NETDEV_HDR_LEN, r;

	if (n->cfg.fd >= 0) {
		fd = n->cfg.fd;
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return log_errno(-errno, "%s: fd %d: not a tap (TUNGETIFF)", n->name, fd);
		if (!(ifr.ifr_flags & IFF_TAP) || (ifr.ifr_flags & IFF_TUN & ~IFF_TAP)) {
			log_err("%s: fd %d: %s is not a tap", n->name, fd, ifr.ifr_name);
			return -EINVAL;
		}
		n->hdr_len = (ifr.ifr_flags & IFF_VNET_HDR) ? NETDEV_HDR_LEN : 0;
		if (n->hdr_len && ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0)
			return log_errno(-errno, "%s: fd %d: TUNSETVNETHDRSZ", n->name, fd);
	} else {
		fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			if (r == -EACCES || r == -EPERM)
				log_err("%s: /dev/net/tun: permission denied (run as root, or have the "
					"parent pass a tap with fd=N)", n->name);
			else
				log_errno(r, "%s: /dev/net/tun", n->name);
			return r;
		}
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", n->cfg.tap);
		if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
			r = -errno;
			close(fd);
			return log_errno(r, "%s: tap %s: TUNSETIFF (is it a tap with the multi_queue "
					 "flag, or owned by another user?)", n->name, n->cfg.tap);
		}
		n->hdr_len = NETDEV_HDR_LEN;
		if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
			r = -errno;
			close(fd);
			return log_errno(r, "%s: tap %s: TUNSETVNETHDRSZ", n->name, n->cfg.tap);
		}
	}
	snprintf(n->ifname, sizeof(n->ifname), "%s", ifr.ifr_name);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = -errno;
		if (n->cfg.fd < 0)
			close(fd);
		return log_errno(r, "%s: tap %s: O_NONBLOCK", n->name, n->ifname);
	}
	n->tap_fd = fd;
	return 0;
}

/* backend tx: iov starts with the 12-byte header, which a tap without
 * IFF_VNET_HDR does not take. */
static int tap_txv(void *ctx, const struct iovec *iov, unsigned cnt)
{
	struct nic *n = ctx;
	struct iovec v[VQ_SEGS_MAX];
	size_t skip = n->hdr_len ? 0 : NETDEV_HDR_LEN;
	unsigned k = 0;
	ssize_t w;

	for (unsigned i = 0; i < cnt && k < VQ_SEGS_MAX; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		v[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip };
		skip = 0;
	}
	do
		w = writev(n->tap_fd, v, (int)k);
	while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : 0;
}

/* The tap may hand the guest checksum-less and GSO frames only when the
 * driver said it takes them (TUNSETOFFLOAD). */
static void tap_set_offload(void *ctx, unsigned o)
{
	struct nic *n = ctx;
	unsigned f = (o & NETDEV_OFFLOAD_CSUM ? TUN_F_CSUM : 0) | (o & NETDEV_OFFLOAD_TSO4 ? TUN_F_TSO4 : 0) |
		     (o & NETDEV_OFFLOAD_TSO6 ? TUN_F_TSO6 : 0);

	if (!n->hdr_len)
		return;
	if (ioctl(n->tap_fd, TUNSETOFFLOAD, f) < 0)
		log_warn_errno(-errno, "vm %s: %s: tap %s: TUNSETOFFLOAD %#x", n->vm->name, n->name,
			       n->ifname, f);
}

static int model_rx(struct nic *n, const uint8_t *hdr, size_t len)
{
	return n->m->rx(n->dev, n->hdr_len ? hdr : NULL, n->rxbuf, len);
}

/* ---- interrupts ---- */

/* A model's register writes may wait in KVM's coalesced ring (PCnet: RAP;
 * RDP while TDMD is deferred): the I/O thread delivers them before it acts
 * on the device (a STOP must stop receive DMA, an acknowledge lower INTA).
 * Two loads when the ring is empty. */
static void catch_up(struct nic *n)
{
	if (n->m->coalesced_writes)
		vm_coalesced_drain(n->vm);
}


/* irq_line.set for the irqfd switch: a level line made of an irqfd with a
 * resample fd. Asserting writes the irqfd once; KVM lowers the line at the
 * guest's EOI and signals the resample fd, and on_resample re-asserts while
 * the device still wants it. Lowering needs nothing: the EOI does it. */
static int nic_irqfd_set(void *ctx, unsigned gsi, int level)
{
	struct nic *n = ctx;
	uint64_t one = 1;
	int r = 0;

	(void)gsi;
	pthread_mutex_lock(&n->irq_lock);
	n->irq_level = level;
	if (level && !n->irq_asserted) {
		if (write(n->irq_fd, &one, sizeof(one)) < 0)
			r = -errno;
		n->irq_asserted = true;
		n->irq_injections++;
	}
	pthread_mutex_unlock(&n->irq_lock);
	return r;
}

static int nic_irqline_set(void *ctx, unsigned gsi, int level)
{
	struct nic *n = ctx;

	if (level) {
		pthread_mutex_lock(&n->irq_lock);
		n->irq_injections++;
		pthread_mutex_unlock(&n->irq_lock);
	}
	return vm_irq_set(n->vm, gsi, level);
}

static void on_resample(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint64_t v, one = 1;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	/* A deferred CSR0 write (an acknowledge, INEA off) may still be in the
	 * coalesced ring: deliver it before deciding to re-assert. */
	catch_up(n);
	pthread_mutex_lock(&n->irq_lock);
	n->irq_asserted = false;
	if (n->irq_level) {
		(void)!write(n->irq_fd, &one, sizeof(one));
		n->irq_asserted = true;
		n->irq_injections++;
	}
	pthread_mutex_unlock(&n->irq_lock);
}

/* msi_sink.send: the vector's irqfd once its route points at the message,
 * else KVM_SIGNAL_MSI (the irqfd switch off, or no route yet). */
static int nic_msi_send(void *ctx, unsigned vec, const struct msi_msg *m)
{
	struct nic *n = ctx;
	uint64_t one = 1;
	int r;

	if (vec < n->m->msi_vectors && n->msi_fd[vec] >= 0 && n->msi_routed[vec])
		r = write(n->msi_fd[vec], &one, sizeof(one)) < 0 ? -errno : 0;
	else
		r = vm_msi_signal(n->vm, m);
	if (r == 0) {
		pthread_mutex_lock(&n->irq_lock);
		n->irq_injections++;
		pthread_mutex_unlock(&n->irq_lock);
	}
	return r;
}

/* msi_sink.update: keeps the vector's MSI route on the guest's message. */
static void nic_msi_update(void *ctx, unsigned vec, const struct msi_msg *m, bool usable)
{
	struct nic *n = ctx;

	if (vec >= n->m->msi_vectors || n->msi_fd[vec] < 0)
		return;
	n->msi_routed[vec] = usable && vm_msi_route_set(n->vm, n->msi_gsi[vec], m) == 0;
}

/* The irqfd switch with MSI-X: a GSI and an irqfd per vector. Failing
 * that, messages go by KVM_SIGNAL_MSI (still no vCPU exit). */
static void msi_irqfds(struct nic *n)
{
	for (unsigned v = 0; v < n->m->msi_vectors; v++) {
		int fd, r;
		int e = vm_msi_route_add(n->vm, &n->msi_gsi[v]);
		if (e < 0) {
			log_warn_errno(e, "vm %s: %s: MSI-X vector %u: no MSI route (interrupts by "
				       "KVM_SIGNAL_MSI)", n->vm->name, n->name, v);
			return;
		}
		fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (fd < 0)
			return;
		r = vm_irqfd(n->vm, fd, n->msi_gsi[v], -1, true);
		if (r < 0) {
			log_warn_errno(r, "vm %s: %s: MSI-X vector %u: KVM_IRQFD on GSI %u", n->vm->name,
				       n->name, v, n->msi_gsi[v]);
			close(fd);
			return;
		}
		n->msi_fd[v] = fd;
	}
}

/* ---- I/O thread ---- */

static void nic_kick(void *ctx)
{
	struct nic *n = ctx;
	uint64_t one = 1;

	(void)!write(n->kick_fd, &one, sizeof(one));
}

static void on_kick(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint64_t kicks;

	(void)events;
	if (read(fd, &kicks, sizeof(kicks)) != sizeof(kicks))
		return;
	catch_up(n);
	n->m->tx_run(n->dev, kicks);
}

/* TX interrupt coalescing: the model arms (ns > 0) or disarms the one-shot
 * bound; on_txirq hands the expiry back to it. */
static void nic_arm_timer(void *ctx, uint64_t ns)
{
	struct nic *n = ctx;
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(ns / 1000000000u);
	its.it_value.tv_nsec = (long)(ns % 1000000000u);
	timerfd_settime(n->txirq_fd, 0, &its, NULL);
}

static uint64_t nic_now_ns(void *ctx)
{
	(void)ctx;
	return now_ns();
}

static void on_txirq(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	catch_up(n);
	n->m->tx_timer(n->dev);
}

/* Deferred doorbells (PCnet TDMD): a periodic tick while the window is
 * coalesced; each delivers what waits in KVM's ring (a TDMD then kicks as
 * on an exit). */
static void nic_arm_poll(void *ctx, uint64_t ns)
{
	struct nic *n = ctx;
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = (time_t)(ns / 1000000000u);
	its.it_value.tv_nsec = (long)(ns % 1000000000u);
	its.it_interval = its.it_value;
	timerfd_settime(n->txkick_fd, 0, &its, NULL);
}

static void on_txkick(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	vm_coalesced_drain(n->vm);
	if (n->m->tx_poll)
		n->m->tx_poll(n->dev);
}

static void nic_rx_notify(void *ctx)
{
	struct nic *n = ctx;
	uint64_t one = 1;

	if (__atomic_load_n(&n->rx_paused, __ATOMIC_RELAXED))
		(void)!write(n->rx_wake_fd, &one, sizeof(one));
}

static void set_poll_timer(struct nic *n, bool on)
{
	struct itimerspec its = { 0 };

	if (on) {
		its.it_value.tv_nsec = RX_POLL_NS;
		its.it_interval.tv_nsec = RX_POLL_NS;
	}
	timerfd_settime(n->poll_fd, 0, &its, NULL);
}

/* Holds the frame in rxbuf while the guest owns no descriptor: the tap stops
 * being read (its queue is the FIFO) and a 1 ms timer retries. */
static void rx_pause(struct nic *n, size_t len)
{
	n->held_len = len;
	n->held_since = now_ns();
	__atomic_store_n(&n->rx_paused, true, __ATOMIC_RELAXED);
	if (n->tap_watched)
		ioloop_mod(n->loop, n->tap_fd, 0);
	set_poll_timer(n, true);
}

static void rx_resume(struct nic *n)
{
	n->held_len = 0;
	__atomic_store_n(&n->rx_paused, false, __ATOMIC_RELAXED);
	set_poll_timer(n, false);
	if (n->tap_watched)
		ioloop_mod(n->loop, n->tap_fd, EPOLLIN);
}

static void on_tap(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint8_t hdr[NETDEV_HDR_LEN];

	(void)events;
	catch_up(n);
	for (unsigned i = 0; i < RX_BUDGET && !n->rx_paused; i++) {
		struct iovec iov[2] = { { hdr, n->hdr_len }, { n->rxbuf, sizeof(n->rxbuf) } };
		ssize_t r = readv(fd, n->hdr_len ? iov : iov + 1, n->hdr_len ? 2 : 1);
		size_t len;

		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			/* The tap is gone or broken: stop reading rather than spin. */
			log_warn_errno(-errno, "vm %s: %s: tap %s: read (receive stopped)", n->vm->name,
				       n->name, n->ifname);
			ioloop_del(n->loop, fd);
			n->tap_watched = false;
			return;
		}
		if ((size_t)r < n->hdr_len)
			continue;
		len = (size_t)r - n->hdr_len;
		if (model_rx(n, hdr, len) == -EAGAIN) {
			memcpy(n->held_hdr, hdr, sizeof(hdr));
			rx_pause(n, len);
		}
	}
}

static void on_poll(void *ctx, int fd, uint32_t events)
{
	struct nic *n = ctx;
	uint64_t v;

	(void)events;
	(void)!read(fd, &v, sizeof(v));
	catch_up(n);
	if (!n->rx_paused) {
		set_poll_timer(n, false);
		return;
	}
	if (model_rx(n, n->held_hdr, n->held_len) == -EAGAIN) {
		if (now_ns() - n->held_since < RX_HOLD_MAX_NS)
			return;
		n->m->rx_drop(n->dev, n->held_len);
	}
	rx_resume(n);
	if (n->tap_watched)
		on_tap(n, n->tap_fd, EPOLLIN);
}

/* on_poll serves the 1 ms timer and rx_wake_fd alike (both read 8 bytes). */

/* ---- life cycle ---- */

int nic_create(struct nic **out, const struct nic_config *c, unsigned index, struct vm *vm,
	       struct pci_bus *pb, unsigned gsi, struct ioloop *loop)
{
	struct nic *n = calloc(1, sizeof(*n));
	struct netdev_config nc = { .notify_rx_fd = -1, .notify_tx_fd = -1 };
	int r;

	*out = NULL;
	if (!n)
		return -ENOMEM;
	n->cfg = *c;
	n->m = c->model;
	n->vm = vm;
	n->loop = loop;
	n->gsi = gsi;
	n->tap_fd = n->kick_fd = n->rx_wake_fd = n->irq_fd = n->resample_fd = n->poll_fd = n->txirq_fd = n->txkick_fd = -1;
	for (unsigned v = 0; v < NETDEV_MSI_MAX; v++)
		n->msi_fd[v] = -1;
	pthread_mutex_init(&n->irq_lock, NULL);
	snprintf(n->name, sizeof(n->name), "%s%u", n->m->name, index);
	*out = n;

	if ((r = tap_open(n)) < 0)
		return r;
	n->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->rx_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->poll_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	n->txirq_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	n->txkick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (n->kick_fd < 0 || n->rx_wake_fd < 0 || n->poll_fd < 0 || n->txirq_fd < 0 ||
	    n->txkick_fd < 0)
		return log_errno(-errno, "vm %s: %s: eventfd/timerfd", vm->name, n->name);

	if (c->has_mac)
		memcpy(nc.mac, c->mac, 6);
	else
		memcpy(nc.mac, (uint8_t[6]){ 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + index) }, 6);
	memcpy(n->cfg.mac, nc.mac, 6);
	nc.mem = &vm->mem;
	nc.irq = (struct irq_line){ .set = nic_irqline_set, .ctx = n, .gsi = gsi };
	if (c->opts & NETDEV_OPT_IRQFD) {
		n->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		n->resample_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (n->irq_fd < 0 || n->resample_fd < 0)
			return log_errno(-errno, "vm %s: %s: eventfd", vm->name, n->name);
		r = vm_irqfd(vm, n->irq_fd, gsi, n->resample_fd, true);
		if (r < 0)
			return log_errno(r, "vm %s: %s: KVM_IRQFD on GSI %u (turn the switch off "
					 "with opt=-irqfd)", vm->name, n->name, gsi);
		nc.irq.set = nic_irqfd_set;
	}
	nc.backend = (struct netdev_backend){ .kick = nic_kick, .rx_notify = nic_rx_notify,
					      .tx = tap_txv, .set_offload = tap_set_offload,
					      .arm_timer = nic_arm_timer, .now_ns = nic_now_ns,
					      .arm_poll = nic_arm_poll, .ctx = n };
	nc.accel = vm->accel;
	/* The doorbells: KVM signals the same eventfds the exit path writes. */
	nc.notify_rx_fd = n->rx_wake_fd;
	nc.notify_tx_fd = n->kick_fd;
	nc.opts = c->opts;
	nc.tx_defer_ns = (uint64_t)c->txkick_us * 1000u;
	if (c->txirq_us) {
		nc.tx_irq_frames = c->txirq_frames;
		nc.tx_irq_ns = (uint64_t)c->txirq_us * 1000u;
	}
	nc.name = n->name;
	if (n->m->msi_vectors && vm_msi_supported(vm)) {
		nc.msi = (struct msi_sink){ .send = nic_msi_send, .update = nic_msi_update, .ctx = n };
		if (c->opts & NETDEV_OPT_IRQFD)
			msi_irqfds(n);
	}
	n->dev = n->m->create(&nc);
	if (!n->dev)
		return -ENOMEM;
	r = pci_bus_add(pb, n->m->pci_dev(n->dev), gsi);
	if (r < 0)
		return log_errno(r, "vm %s: %s: add to the PCI bus", vm->name, n->name);
	n->m->pci_sync(n->dev);
	if ((r = ioloop_add(loop, n->tap_fd, EPOLLIN, on_tap, n)) < 0 ||
	    (r = ioloop_add(loop, n->kick_fd, EPOLLIN, on_kick, n)) < 0 ||
	    (r = ioloop_add(loop, n->poll_fd, EPOLLIN, on_poll, n)) < 0 ||
	    (r = ioloop_add(loop, n->txirq_fd, EPOLLIN, on_txirq, n)) < 0 ||
	    (r = ioloop_add(loop, n->txkick_fd, EPOLLIN, on_txkick, n)) < 0 ||
	    (r = ioloop_add(loop, n->rx_wake_fd, EPOLLIN, on_poll, n)) < 0 ||
	    (n->resample_fd >= 0 &&
	     (r = ioloop_add(loop, n->resample_fd, EPOLLIN, on_resample, n)) < 0))
		return log_errno(r, "vm %s: %s: I/O loop", vm->name, n->name);
	n->tap_watched = true;
	log_debug("vm %s: %s on tap %s, GSI %u, mac %02x:%02x:%02x:%02x:%02x:%02x", vm->name, n->name,
		  n->ifname, gsi, nc.mac[0], nc.mac[1], nc.mac[2], nc.mac[3], nc.mac[4], nc.mac[5]);
	return 0;
}

void nic_free(struct nic *n)
{
	if (!n)
		return;
	if (n->loop) {
		int fds[] = { n->tap_fd,  n->kick_fd,     n->rx_wake_fd,
			      n->poll_fd, n->resample_fd, n->txirq_fd, n->txkick_fd };
		for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				ioloop_del(n->loop, fds[i]);
	}
	if (n->irq_fd >= 0 && n->vm)
		vm_irqfd(n->vm, n->irq_fd, n->gsi, -1, false);
	for (unsigned v = 0; v < n->m->msi_vectors; v++) {
		if (n->msi_fd[v] < 0)
			continue;
		vm_irqfd(n->vm, n->msi_fd[v], n->msi_gsi[v], -1, false);
		close(n->msi_fd[v]);
	}
	if (n->dev)
		n->m->free(n->dev);
	if (n->tap_fd >= 0 && n->cfg.fd < 0)
		close(n->tap_fd);
	{
		int fds[] = { n->kick_fd, n->poll_fd, n->txirq_fd, n->txkick_fd,
			      n->rx_wake_fd, n->irq_fd, n->resample_fd };
		for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	pthread_mutex_destroy(&n->irq_lock);
	free(n);
}

/* ---- counters ---- */

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static struct json_object *pair(const char *a, uint64_t x, const char *b, uint64_t y)
{
	struct json_object *o = json_object_new_object();

	add_u64(o, a, x);
	add_u64(o, b, y);
	return o;
}

static struct json_object *batches_json(const uint64_t *hist, unsigned nb)
{
	struct json_object *batches = json_object_new_object();

	for (unsigned b = 0; b < nb; b++) {
		char k[16];
		unsigned lo = 1u << b, hi = (2u << b) - 1;
		if (b + 1 == nb)
			snprintf(k, sizeof(k), "%u+", lo);
		else if (lo == hi)
			snprintf(k, sizeof(k), "%u", lo);
		else
			snprintf(k, sizeof(k), "%u-%u", lo, hi);
		add_u64(batches, k, hist[b]);
	}
	return batches;
}

static struct json_object *counters_json(const struct netdev_counter *c, unsigned nr)
{
	struct json_object *o = json_object_new_object();

	for (unsigned i = 0; i < nr; i++)
		add_u64(o, c[i].name, c[i].value);
	return o;
}

struct json_object *nic_stats_json(struct nic *n)
{
	struct json_object *o = json_object_new_object(), *exits, *opts;
	struct netdev_stats st;
	uint64_t inj;
	char mac[18];

	pthread_mutex_lock(&n->irq_lock);
	inj = n->irq_injections;
	pthread_mutex_unlock(&n->irq_lock);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->cfg.mac[0], n->cfg.mac[1],
		 n->cfg.mac[2], n->cfg.mac[3], n->cfg.mac[4], n->cfg.mac[5]);
	json_object_object_add(o, "name", json_object_new_string(n->name));
	json_object_object_add(o, "model", json_object_new_string(n->m->name));
	json_object_object_add(o, "tap", json_object_new_string(n->ifname));
	json_object_object_add(o, "mac", json_object_new_string(mac));
	opts = json_object_new_object();
	for (unsigned bit = 1; bit & NETDEV_OPT_ALL; bit <<= 1)
		json_object_object_add(opts, nic_opt_name(bit),
				       json_object_new_boolean(n->cfg.opts & bit));
	json_object_object_add(o, "opts", opts);
	add_u64(o, "irq_injections", inj);
	n->m->stats(n->dev, &st);
	json_object_object_add(o, "tx", pair("frames", st.tx_frames, "bytes", st.tx_bytes));
	json_object_object_add(o, "rx", pair("frames", st.rx_frames, "bytes", st.rx_bytes));
	add_u64(o, "rx_filtered", st.rx_filtered);
	json_object_object_add(o, "drops", counters_json(st.drops, st.nr_drops));
	exits = counters_json(st.exits, st.nr_exits);
	add_u64(exits, "total", st.exits_total);
	json_object_object_add(o, "exits", exits);
	for (unsigned i = 0; i < st.nr_extra; i++)
		add_u64(o, st.extra[i].name, st.extra[i].value);
	add_u64(o, "interrupts", st.irqs);
	add_u64(o, "doorbells", st.kicks);
	add_u64(o, "tx_runs", st.tx_runs);
	add_u64(o, "tx_irq_deferred", st.tx_irq_deferred);
	add_u64(o, "tx_irq_timer", st.tx_irq_timer);
	json_object_object_add(o, "tx_batches", batches_json(st.tx_batch, NETDEV_BATCH_BUCKETS));
	return o;
}
