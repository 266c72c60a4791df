/* netdev.h: the network-device layer: what every NIC model offers the
 * monitor and what the monitor offers every model. One backend interface,
 * one configuration, one table of operations, one stats struct; the monitor
 * (monitor/nic.c) knows no model by name. A new model is one device file
 * that fills a struct netdev_model, plus its line in netdev_models[]
 * (netdev.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "devices/dev.h"
#include "devices/msix.h"
#include "devices/pci.h"

/* The paper's optimizations, the same bits in every model and in the
 * monitor's --nic opt= switches (names in monitor/nic_config.c). */
#define NETDEV_OPT_COALESCE 0x1 /* writes that do no I/O do not exit: PCnet RAP coalesced,
                                   virtio queue notify by ioeventfd */
#define NETDEV_OPT_COMBINE 0x2  /* a doorbell sends every ready frame, batched tap writes;
                                   TX completion interrupts coalesced (tx_irq_*) */
#define NETDEV_OPT_IRQFD 0x4    /* interrupts injected by irqfd from the I/O thread
                                   (virtio: and EVENT_IDX) */
#define NETDEV_OPT_ALL 0x7

#define NETDEV_HDR_LEN 12      /* the virtio_net_hdr every frame carries to and from the tap */
#define NETDEV_BATCH_BUCKETS 8 /* 1, 2-3, 4-7, ..., 128+ frames per TX run */
#define NETDEV_MSI_MAX 8       /* MSI-X vectors a model may have */

/* Where frames go and how the device wakes the I/O thread. Called with the
 * device's lock held; each only writes an eventfd or a tap, or arms a timer. */
struct netdev_backend {
	/* A transmit demand that exited (vCPU thread): wake the I/O thread,
	 * which calls tx_run. */
	void (*kick)(void *ctx);
	/* The driver may have given receive buffers back (vCPU thread): wake
	 * the I/O thread (a held frame may go now). Optional. */
	void (*rx_notify)(void *ctx);
	/* Sends one frame (I/O thread): iov[0] is the NETDEV_HDR_LEN-byte
	 * virtio_net_hdr (zero: no offloads). 0 or -errno (dropped). */
	int (*tx)(void *ctx, const struct iovec *iov, unsigned n);
	/* The offloads the driver accepts (NETDEV_OFFLOAD_*), for the tap.
	 * Optional. */
	void (*set_offload)(void *ctx, unsigned offload);
	/* A one-shot timer that calls tx_timer after ns; 0 disarms. Optional:
	 * without it no TX interrupt coalescing. */
	void (*arm_timer)(void *ctx, uint64_t ns);
	/* A monotonic clock (ns) for the transmit rate; NULL: always high. */
	uint64_t (*now_ns)(void *ctx);
	/* A periodic timer whose ticks drain KVM's coalesced ring into the
	 * devices and call tx_poll; 0 stops it (device lock NOT held).
	 * Optional: without it no deferred doorbells. */
	void (*arm_poll)(void *ctx, uint64_t ns);
	void *ctx;
};

#define NETDEV_OFFLOAD_CSUM 0x1
#define NETDEV_OFFLOAD_TSO4 0x2
#define NETDEV_OFFLOAD_TSO6 0x4

struct netdev_config {
	uint8_t mac[6];
	const struct gmem *mem;
	struct irq_line irq;  /* INTA, level */
	struct msi_sink msi;  /* MSI-X; send NULL: no MSI-X (models without it ignore it) */
	struct netdev_backend backend;
	struct io_accel accel; /* coalesced regions and ioeventfds */
	int notify_rx_fd, notify_tx_fd; /* eventfds KVM may signal for doorbells, or -1 */
	unsigned opts;                  /* NETDEV_OPT_* */
	unsigned tx_irq_frames;         /* TX interrupt coalescing: N frames ... */
	uint64_t tx_irq_ns;             /* ... or T ns (devices/txirq.h) */
	uint64_t tx_defer_ns;           /* deferred doorbells' bound; 0: none */
	const char *name;               /* "pcnet0": regions, messages */
};

/* A named counter of a model's own (a drop reason, an exit cause...). */
struct netdev_counter {
	const char *name;
	uint64_t value;
};

#define NETDEV_COUNTERS_MAX 16

/* One copy of a device's counters, from the guest's point of view (rx:
 * delivered to the guest). */
struct netdev_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t rx_filtered;   /* not for the device's addresses: ignored */
	uint64_t irqs;          /* interrupts raised */
	uint64_t kicks;         /* doorbells: transmit demands, exited or not */
	uint64_t tx_runs;       /* TX runs that sent at least one frame */
	uint64_t tx_irq_deferred, tx_irq_timer; /* txirq.h: deferred runs, timer signals */
	uint64_t tx_batch[NETDEV_BATCH_BUCKETS];
	struct netdev_counter drops[NETDEV_COUNTERS_MAX]; /* by reason */
	unsigned nr_drops;
	struct netdev_counter exits[NETDEV_COUNTERS_MAX]; /* register accesses that exited, by cause */
	unsigned nr_exits;
	uint64_t exits_total; /* all of them (the model's count, exact where the causes are not) */
	struct netdev_counter extra[NETDEV_COUNTERS_MAX]; /* the model's own, top level */
	unsigned nr_extra;
};

/* Appends a counter to one of the lists above (silently full at the max). */
static inline void netdev_count(struct netdev_counter *list, unsigned *nr, const char *name,
				uint64_t value)
{
	if (*nr < NETDEV_COUNTERS_MAX)
		list[(*nr)++] = (struct netdev_counter){ name, value };
}

struct netdev_model {
	const char *name;     /* --nic model=NAME */
	unsigned msi_vectors; /* MSI-X vectors (0: INTx only) */
	/* Its registers may wait in KVM's coalesced ring (coalesced writes,
	 * deferred doorbells): the monitor drains the ring before it acts on
	 * the device from the I/O thread. */
	bool coalesced_writes;
	/* NULL with errno set. The PCI function is then pci_dev(dev), added to
	 * the bus by the monitor, which calls pci_sync(dev) right after. */
	void *(*create)(const struct netdev_config *c);
	void (*free)(void *dev);
	struct pci_dev *(*pci_dev)(void *dev);
	void (*pci_sync)(void *dev);
	/* I/O thread: one received frame with its virtio_net_hdr (hdr NULL:
	 * none). 0: delivered or dropped for good; -EAGAIN: no buffer yet. */
	int (*rx)(void *dev, const uint8_t *hdr, const uint8_t *frame, size_t len);
	/* I/O thread: a held frame waited too long: count it dropped. */
	void (*rx_drop)(void *dev, size_t len);
	/* I/O thread: transmit after `kicks` doorbells; frames sent. */
	unsigned (*tx_run)(void *dev, uint64_t kicks);
	/* I/O thread: backend.arm_timer's timer expired. */
	void (*tx_timer)(void *dev);
	/* I/O thread: a tick of backend.arm_poll's timer. Optional. */
	void (*tx_poll)(void *dev);
	void (*stats)(void *dev, struct netdev_stats *st);
};

/* The model named name, or NULL; netdev_model_names() for messages. */
const struct netdev_model *netdev_model_find(const char *name);
const char *netdev_model_names(void); /* "pcnet|virtio-net" */
