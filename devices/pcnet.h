/* pcnet.h: AMD PCnet-PCI II (Am79C970A) Ethernet controller on PCI, as
 * Linux's pcnet32 driver uses it. See pcnet.c for the datasheet sections.
 *
 * Threads: register accesses come from vCPU threads (through the iobus),
 * pcnet_tx_run() and pcnet_rx() from the I/O thread; a mutex inside guards
 * the state. The device never touches the host network itself: a transmit
 * demand calls backend.kick (the I/O thread then calls pcnet_tx_run), frames
 * go out through backend.tx, and received frames come in through pcnet_rx.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"
#include "devices/netdev.h"
#include "devices/pci.h"

#define PCNET_VENDOR_ID 0x1022 /* AMD */
#define PCNET_DEVICE_ID 0x2000 /* PCnet-PCI II / FAST family */
#define PCNET_IO_SIZE 32
#define PCNET_FRAME_MAX 1518   /* largest frame without FCS (1514 + 802.1Q tag) */
#define PCNET_FRAME_MIN 60     /* shorter received frames are padded (no FCS) */
#define PCNET_RING_MAX 512     /* 2^9, the largest RLEN/TLEN */

/* Per-device switches (the paper's optimizations, monitor/README.md). */
#define PCNET_OPT_COALESCE_RAP 0x1 /* RAP writes do not exit (coalesced PIO) */
#define PCNET_OPT_SEND_COMBINE 0x2 /* one TDMD sends every ready frame */
#define PCNET_OPT_IRQFD 0x4        /* the backend injects interrupts by irqfd */
#define PCNET_OPT_ALL 0x7

/* Why a frame was dropped. */
enum pcnet_drop {
	PCNET_DROP_NO_RX_BUFFER, /* receiver off or no descriptor owned in time */
	PCNET_DROP_BAD_DESC,     /* descriptor or buffer outside RAM, chain errors */
	PCNET_DROP_OVERSIZE,     /* frame over PCNET_FRAME_MAX */
	PCNET_DROP_BACKEND,      /* the backend refused the frame */
	PCNET_DROP_COUNT
};

/* Register accesses by cause (each a vCPU exit, except the coalesced RAP
 * writes, counted apart in rap_coalesced). */
enum pcnet_access {
	PCNET_ACC_APROM, PCNET_ACC_RAP_READ, PCNET_ACC_RAP_WRITE, PCNET_ACC_RDP_READ,
	PCNET_ACC_RDP_WRITE, PCNET_ACC_BDP_READ, PCNET_ACC_BDP_WRITE, PCNET_ACC_RESET,
	PCNET_ACC_OTHER, PCNET_ACC_COUNT
};

#define PCNET_BATCH_BUCKETS 8 /* 1, 2-3, 4-7, ..., 128+ */

struct pcnet_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes; /* guest point of view */
	uint64_t rx_filtered;                              /* not for our MAC: ignored */
	uint64_t drops[PCNET_DROP_COUNT];
	uint64_t access[PCNET_ACC_COUNT];
	uint64_t rap_coalesced; /* RAP writes that reached us without an exit */
	uint64_t irqs;          /* interrupt line raised (0 -> 1) */
	uint64_t kicks;         /* transmit demands (TDMD) */
	uint64_t tx_runs;       /* pcnet_tx_run calls that sent at least one frame */
	uint64_t tint_deferred; /* runs whose TINT was deferred (coalescing) */
	uint64_t tint_timer;    /* TINTs set by the coalescing timer */
	uint64_t tx_batch[PCNET_BATCH_BUCKETS];
	uint64_t rdp_coalesced; /* RDP writes that reached us without an exit (deferral) */
	uint64_t defer_entered; /* times TDMD deferral turned on */
	uint64_t busy_runs_max; /* longest streak of TX runs each less than
				 * PCNET_DEFER_GAP_NS after the previous (while
				 * deferral was off): deferral turns on at
				 * PCNET_DEFER_ENTER_RUNS, so a slow guest that
				 * never gets there is told apart from a fault */
	uint64_t defer_polls;   /* deferral timer ticks (pcnet_tx_poll) */
};


/* TX completion interrupt coalescing (part of PCNET_OPT_SEND_COMBINE):
 * while transmit demands come less than tx_irq_ns apart, TINT is set once
 * per tx_irq_frames completed frames (capped at half the ring, so the
 * driver never runs out of descriptors waiting for it) or tx_irq_ns after
 * the first unsignalled completion, whichever comes first. A demand after a
 * quiet gap, and every error, set TINT at once. tx_irq_frames <= 1: off. */
#define PCNET_TX_IRQ_FRAMES 32
#define PCNET_TX_IRQ_NS 50000ull

/* TDMD deferral (send combining's "queue the packet and resume the guest",
 * part of PCNET_OPT_SEND_COMBINE, needs backend.arm_poll and accel): while
 * transmit demands are frequent (PCNET_DEFER_ENTER_RUNS TX runs in a row,
 * each less than PCNET_DEFER_GAP_NS after the previous), the
 * word RDP (BAR+0x10, 2 bytes) is a coalesced PIO window too, so a CSR0 TDMD
 * (or any RDP write) does not exit: it waits in KVM's ring for the next exit
 * of any vCPU or the next poll tick, at most tx_defer_ns. After
 * PCNET_DEFER_IDLE_NS of ticks without a demand the window is removed
 * (its queued writes delivered first) and the timer stops. While deferring,
 * TX runs come at the ticks, so the TINT coalescing bound is at least
 * PCNET_DEFER_TINT_TICKS ticks (else one interrupt per run). */
#define PCNET_TX_DEFER_NS 100000ull
#define PCNET_DEFER_ENTER_RUNS 4
#define PCNET_DEFER_GAP_NS 1000000ull
#define PCNET_DEFER_IDLE_NS 4000000ull
#define PCNET_DEFER_TINT_TICKS 10

struct pcnet_config {
	uint8_t mac[6];
	const struct gmem *mem;
	struct irq_line irq;   /* INTA, level */
	struct netdev_backend backend; /* tx: one frame with a zero virtio_net_hdr in iov[0] */
	struct io_accel accel; /* used for the RAP with PCNET_OPT_COALESCE_RAP */
	unsigned opts;         /* PCNET_OPT_* */
	unsigned tx_irq_frames; /* N (see PCNET_TX_IRQ_FRAMES); 0 or 1 (or T 0): no coalescing */
	uint64_t tx_irq_ns;     /* T in ns */
	uint64_t tx_defer_ns;   /* TDMD deferral bound (PCNET_TX_DEFER_NS); 0: off */
	const char *name;      /* region name, e.g. "pcnet0" */
};

struct pcnet;

/* Returns NULL with errno set on allocation failure. */
struct pcnet *pcnet_new(const struct pcnet_config *cfg);
/* Unregisters nothing (pci_bus_free does the BAR); frees. NULL is a no-op. */
void pcnet_free(struct pcnet *s);
/* The PCI function to hand to pci_bus_add (I/O BAR 0 of 32 bytes, INTA). */
struct pci_dev *pcnet_pci_dev(struct pcnet *s);
/* After pci_bus_add (no vCPU running): picks up the command register and
 * the BAR, as a guest config write does (bus mastering, coalesced RAP). */
void pcnet_pci_sync(struct pcnet *s);

/* I/O thread: processes the transmit ring after `kicks` demands: with
 * PCNET_OPT_SEND_COMBINE every ready frame, else one frame per demand.
 * Returns the number of frames sent. */
unsigned pcnet_tx_run(struct pcnet *s, uint64_t kicks);
/* I/O thread: the coalescing timer (backend.arm_timer) expired: sets TINT
 * for the completions not yet signalled. */
void pcnet_tx_timer(struct pcnet *s);
/* I/O thread: a tick of the deferral timer (backend.arm_poll), after the
 * caller drained the coalesced ring: turns deferral off when demands have
 * stopped. */
void pcnet_tx_poll(struct pcnet *s);
/* Whether the RDP window is registered now (tests, status). */
bool pcnet_tx_deferring(struct pcnet *s);

/* I/O thread: delivers one received frame. Returns 0 when delivered or
 * dropped/filtered for good (counted), -EAGAIN when the receiver is on but
 * owns no descriptor yet (keep the frame and retry later; the hardware polls
 * its ring). */
int pcnet_rx(struct pcnet *s, const uint8_t *frame, size_t len);
/* Drops a frame that waited too long for a descriptor (sets MISS). */
void pcnet_rx_drop(struct pcnet *s, size_t len);

/* A consistent copy of the counters. */
void pcnet_get_stats(struct pcnet *s, struct pcnet_stats *out);
const char *pcnet_drop_name(enum pcnet_drop d);
const char *pcnet_access_name(enum pcnet_access a);

/* Tests and the monitor's status: the current CSR/BCR values, RAP, DWIO. */
uint16_t pcnet_csr(struct pcnet *s, unsigned n);
uint16_t pcnet_bcr(struct pcnet *s, unsigned n);
