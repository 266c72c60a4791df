/* virtio_pci.h: the virtio 1.x PCI transport, modern interface only: the part
 * every virtio device shares. See virtio_pci.c for the spec sections.
 *
 * A device embeds a struct vpci, describes itself in a struct vpci_desc (its
 * type, class, offered features, queues, configuration size, MSI-X vectors
 * and callbacks) and calls vpci_init(). The PCI function is then vp->pci, for
 * pci_bus_add. The transport owns BAR 0 and the capabilities that point into
 * it. It also owns feature negotiation, the status field and reset, the queue
 * registers, the doorbells (and the ioeventfds that replace their exits) and
 * the interrupts (ISR and INTx, or MSI-X). The device owns the layout of its
 * configuration structure and what its queues carry.
 *
 * Locking: vp->lock guards the transport and the device's own state alike,
 * so a device has one lock. Register accesses (vCPU threads) take it and call
 * the device's callbacks with it held. The device takes it around its
 * I/O-thread work and calls the "lock held" functions below inside.
 */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Device status (2.1), feature bits (6), the common configuration's offsets
 * (4.1.4.3, VIRTIO_PCI_COMMON_*) and the capability types: the kernel's
 * uapi headers. */
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#include "devices/dev.h"
#include "devices/msix.h"
#include "devices/pci.h"
#include "devices/virtqueue.h"

#define VPCI_VENDOR_ID 0x1af4
#define VPCI_DEVICE_ID_BASE 0x1040 /* + the device type (4.1.2.1) */
#define VPCI_QUEUES_MAX 8
#define VPCI_BAR_SIZE 0x8000

/* BAR 0 layout: where each capability's structure lives. */
#define VPCI_COMMON_OFF 0x0000
#define VPCI_COMMON_LEN 0x38
#define VPCI_ISR_OFF 0x1000
#define VPCI_DEVCFG_OFF 0x2000
#define VPCI_DEVCFG_MAX 0x1000
#define VPCI_NOTIFY_OFF 0x3000
#define VPCI_NOTIFY_MULT 4 /* queue q notifies at VPCI_NOTIFY_OFF + 4 * q */
#define VPCI_MSIX_TABLE_OFF 0x4000
#define VPCI_MSIX_PBA_OFF 0x5000

/* Register accesses (each a vCPU exit) by cause. Writes into the device
 * configuration count as other. */
enum vpci_access {
	VPCI_ACC_COMMON_READ, VPCI_ACC_COMMON_WRITE, VPCI_ACC_NOTIFY, VPCI_ACC_ISR_READ,
	VPCI_ACC_DEVCFG_READ, VPCI_ACC_MSIX, VPCI_ACC_OTHER, VPCI_ACC_COUNT
};

struct vpci_stats {
	uint64_t access[VPCI_ACC_COUNT];
	uint64_t irqs;        /* interrupts raised: INTx assertions plus MSI-X messages */
	uint64_t msi_held;    /* MSI-X signals held while their vector was masked */
	uint64_t needs_reset; /* times the device entered NEEDS_RESET */
};

struct vpci;

/* What the device does for the transport. Every callback runs with vp->lock
 * held; the device finds itself with container_of(vp, ..., vp). */
struct vpci_ops {
	/* The device configuration structure: size bytes at off, which the
	 * transport checked lie inside desc.cfg_len. */
	uint64_t (*cfg_read)(struct vpci *vp, unsigned off, unsigned size);
	/* Optional: a write there (without it: ignored). */
	void (*cfg_write)(struct vpci *vp, unsigned off, unsigned size, uint64_t v);
	/* Optional: the driver sets FEATURES_OK with these features, all
	 * offered and VERSION_1 among them. 0 accepts them, and the device
	 * acts on them now; -EINVAL refuses (FEATURES_OK reads back clear). */
	int (*features_ok)(struct vpci *vp, uint64_t features);
	/* Optional: the driver set DRIVER_OK. */
	void (*driver_ok)(struct vpci *vp);
	/* The driver notified queue q by a register write (vCPU thread). A
	 * notify through an ioeventfd reaches the eventfd's reader instead. */
	void (*queue_notify)(struct vpci *vp, unsigned q);
	/* Optional: the driver reset the device (status 0); the transport's
	 * state is back to its defaults. had_features: FEATURES_OK was set, so
	 * whatever features_ok started is to be undone. */
	void (*reset)(struct vpci *vp, bool had_features);
};

/* What kind of device this is; constant for its lifetime. */
struct vpci_desc {
	uint8_t device_type;   /* VIRTIO_ID_* (5): PCI device id 0x1040 + type */
	uint32_t class;        /* class code: base, sub-class, interface (0x020000) */
	uint16_t subsystem_id;
	uint64_t features;     /* offered; VIRTIO_F_VERSION_1 among them */
	unsigned num_queues;   /* 1..VPCI_QUEUES_MAX */
	uint16_t queue_size;   /* the largest size a queue may have, and its size after reset */
	unsigned cfg_len;      /* bytes of device configuration, at most VPCI_DEVCFG_MAX */
	unsigned msix_vectors; /* 1..MSIX_MAX_VECTORS, used when the config has an MSI sink */
	const struct vpci_ops *ops;
};

/* Where this instance lives: what the monitor hands the device. */
struct vpci_config {
	const struct gmem *mem;
	struct irq_line irq;   /* INTA, level */
	struct msi_sink msi;   /* MSI-X messages; send NULL: no MSI-X capability */
	struct io_accel accel; /* ioeventfd for the doorbells */
	bool ioeventfd;        /* assign notify_fd[q] to queue q's doorbell */
	int notify_fd[VPCI_QUEUES_MAX]; /* eventfds KVM signals on a notify, or -1 */
	const char *name;      /* BAR 0's region name, e.g. "virtio-net0" */
};

struct vpci_queue {
	uint16_t size; /* as the driver set it */
	uint16_t vec;  /* queue_msix_vector */
	bool enabled;
	uint64_t desc, avail, used;
	struct vq vq;
};

struct vpci {
	struct pci_dev pci;
	pthread_mutex_t lock;
	struct vpci_desc desc;
	struct vpci_config cfg;
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint16_t qselect;
	struct vpci_queue q[VPCI_QUEUES_MAX];
	uint8_t isr;
	bool irq_level, bus_master, intx_disabled;
	struct msix msix;    /* msix.cap 0: no MSI-X */
	uint16_t config_vec; /* msix_config */
	uint64_t bar0;       /* decoded BAR 0 (0 none): where the ioeventfds sit */
	uint64_t notify_at;  /* BAR 0 base of the registered ioeventfds, 0 none */
	struct vpci_stats st;
};

/* Fills the PCI function (ids, capabilities, BAR 0) and resets the
 * transport; nothing is registered yet. 0, or -EINVAL for a desc out of
 * range (nothing to undo then). */
int vpci_init(struct vpci *vp, const struct vpci_desc *desc, const struct vpci_config *cfg);
void vpci_destroy(struct vpci *vp);
/* After pci_bus_add (no vCPU running): picks up the command register and
 * BAR 0, as a guest config write does (bus mastering, ioeventfds). */
void vpci_pci_sync(struct vpci *vp);

/* What the driver made of the device, read under the lock. */
struct vpci_state {
	uint64_t bar0;     /* BAR 0's guest address now (0 when not decoded) */
	uint8_t status;    /* device status (2.1) */
	uint64_t features; /* negotiated */
};

void vpci_get_state(struct vpci *vp, struct vpci_state *out);
const char *vpci_access_name(enum vpci_access a);

/* ---- lock held ---- */

/* Whether the driver negotiated feature bit. */
static inline bool vpci_has(const struct vpci *vp, unsigned bit)
{
	return vp->driver_features >> bit & 1;
}

static inline struct vq *vpci_vq(struct vpci *vp, unsigned q)
{
	return &vp->q[q].vq;
}

/* DRIVER_OK, no NEEDS_RESET, bus mastering on: the queues may be used. */
bool vpci_running(const struct vpci *vp);
/* 2.1.2: the device met an error it cannot recover from (a broken ring):
 * NEEDS_RESET, and a configuration interrupt once DRIVER_OK. It then does
 * nothing until the driver resets it. */
void vpci_needs_reset(struct vpci *vp);
/* Queue q's used-buffer notification, when the driver's suppression
 * (EVENT_IDX or NO_INTERRUPT) allows it. */
void vpci_signal_used(struct vpci *vp, unsigned q);
/* Publishes queue q's used ring (vq_flush), then vpci_signal_used. */
void vpci_flush_used(struct vpci *vp, unsigned q);
/* The transport's counters (irqs with the MSI-X messages). */
void vpci_get_stats(const struct vpci *vp, struct vpci_stats *out);
