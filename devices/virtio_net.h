/* virtio_net.h: virtio-net, virtio 1.x over PCI (modern only). See
 * virtio_net.c for the spec sections; the PCI transport under it (BAR 0,
 * status, queue registers, interrupts) is virtio_pci.h's.
 *
 * Threads: register accesses come from vCPU threads (through the iobus);
 * vnet_tx_run() and vnet_rx() from the I/O thread; a mutex inside guards the
 * state. The device never touches the host network: a TX queue notify wakes
 * the I/O thread (backend.kick, or an ioeventfd that KVM signals without an
 * exit), frames leave through backend.tx and arrive through vnet_rx.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Feature bits (5.1.3) and the device configuration's status bits: the
 * kernel's uapi header. The transport's own constants: virtio_pci.h. */
#include <linux/virtio_net.h>

#include "devices/dev.h"
#include "devices/netdev.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtio_pci.h"

#define VNET_QUEUE_SIZE 256   /* the largest size we offer */
#define VNET_HDR_LEN 12       /* struct virtio_net_hdr with num_buffers (5.1.6) */
#define VNET_FRAME_MAX 1518   /* without GSO: 1514 + 802.1Q tag */
#define VNET_GSO_MAX 65550    /* with TSO: 64 KiB plus headers */
#define VNET_DEVCFG_LEN 12    /* mac, status, max_virtqueue_pairs, mtu (5.1.4) */
#define VNET_MSIX_VECTORS 3 /* configuration, RX, TX: one each, as Linux asks */

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_NUM_QUEUES 2

/* Per-device switches (monitor/README.md: the paper's optimizations). */
#define VNET_OPT_IOEVENTFD 0x1 /* queue notify through ioeventfd: no exit */
#define VNET_OPT_SEND_COMBINE 0x2 /* suppress TX notifies while draining */
#define VNET_OPT_IRQFD 0x4     /* interrupts by irqfd; EVENT_IDX offered */
#define VNET_OPT_ALL 0x7

enum vnet_drop {
	VNET_DROP_NO_RX_BUFFER, VNET_DROP_BAD_DESC, VNET_DROP_OVERSIZE, VNET_DROP_BACKEND,
	VNET_DROP_COUNT
};

#define VNET_BATCH_BUCKETS 8

struct vnet_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t drops[VNET_DROP_COUNT];
	uint64_t access[VPCI_ACC_COUNT]; /* by cause: vpci_access_name() */
	uint64_t irqs;    /* interrupts raised: INTx assertions plus MSI-X messages */
	uint64_t msi_held; /* MSI-X signals held while their vector was masked */
	uint64_t kicks;   /* TX queue notifies (exits and ioeventfd signals) */
	uint64_t tx_runs; /* vnet_tx_run calls that sent at least one frame */
	uint64_t irq_deferred; /* TX runs whose used-ring interrupt was deferred */
	uint64_t irq_timer;    /* TX interrupt checks made by the coalescing timer */
	uint64_t tx_batch[VNET_BATCH_BUCKETS];
	uint64_t needs_reset; /* times the device entered NEEDS_RESET */
};

/* TX used-ring interrupt coalescing (part of VNET_OPT_SEND_COMBINE): while
 * TX notifies come less than tx_irq_ns apart, the used-ring interrupt is
 * considered once per tx_irq_frames completed chains (capped at half the
 * queue) or tx_irq_ns after the first one not yet signalled, whichever comes
 * first; EVENT_IDX and NO_INTERRUPT still decide whether it is sent, over
 * every chain used since the last one. tx_irq_frames <= 1: off. */
#define VNET_TX_IRQ_FRAMES 32
#define VNET_TX_IRQ_NS 50000ull

struct vnet_config {
	uint8_t mac[6];
	const struct gmem *mem;
	struct irq_line irq; /* INTA, level */
	struct msi_sink msi; /* MSI-X messages; send NULL: no MSI-X capability */
	struct netdev_backend backend;
	struct io_accel accel; /* ioeventfd for the notify doorbells */
	int notify_fd[VNET_NUM_QUEUES]; /* eventfds KVM signals on a queue notify, or -1 */
	unsigned opts;    /* VNET_OPT_* */
	unsigned tx_irq_frames; /* N (VNET_TX_IRQ_FRAMES); 0 or 1 (or T 0): no coalescing */
	uint64_t tx_irq_ns;     /* T in ns */
	const char *name; /* region name, e.g. "virtio-net0" */
};

struct vnet;

struct vnet *vnet_new(const struct vnet_config *cfg);
void vnet_free(struct vnet *s);
/* The PCI function to hand to pci_bus_add (MMIO BAR 0, INTA). */
struct pci_dev *vnet_pci_dev(struct vnet *s);
/* After pci_bus_add (no vCPU running): picks up the command register and
 * BAR 0, as a guest config write does (bus mastering, ioeventfds). */
void vnet_pci_sync(struct vnet *s);
/* BAR 0's guest address now (0 when not decoded), for ioeventfds. */
uint64_t vnet_bar0(struct vnet *s);

/* I/O thread: sends every available TX chain (after `kicks` notifies).
 * Returns the frames sent. */
unsigned vnet_tx_run(struct vnet *s, uint64_t kicks);
/* I/O thread: the coalescing timer expired: signals the TX chains used
 * since the last interrupt (if the driver's suppression allows). */
void vnet_tx_timer(struct vnet *s);
/* I/O thread: delivers one frame with its 12-byte virtio_net_hdr from the
 * tap (hdr NULL: none). 0 when delivered or dropped for good (counted),
 * -EAGAIN when the driver is up but gave no buffer yet (retry later). */
int vnet_rx(struct vnet *s, const uint8_t *hdr, const uint8_t *frame, size_t len);
void vnet_rx_drop(struct vnet *s);

void vnet_get_stats(struct vnet *s, struct vnet_stats *out);
const char *vnet_drop_name(enum vnet_drop d);
/* Tests: current device status and negotiated features. */
uint8_t vnet_status(struct vnet *s);
uint64_t vnet_features(struct vnet *s);
