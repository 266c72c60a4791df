/* msix.h: the MSI-X capability, vector table and pending bit array of a PCI
 * function (PCI Local Bus Specification 3.0, 6.8.2), the part every MSI-X
 * device model shares. The device embeds a struct msix, places the
 * capability in its config space (msix_add_cap), routes accesses to the
 * table and PBA inside one of its BARs to msix_table_read/write and
 * msix_pba_read, tells it about Message Control writes (msix_cfg_sync), and
 * signals a vector with msix_notify. All calls under the device's lock.
 *
 * Messages go to a struct msi_sink: the monitor delivers them with
 * KVM_SIGNAL_MSI or through an irqfd on an MSI route, which `update` keeps
 * in step with the table. A unit test records them.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "devices/pci.h"

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_CAP_LEN 12
#define MSIX_MAX_VECTORS 8
#define MSIX_ENTRY_SIZE 16
#define MSIX_CTRL_ENABLE 0x8000  /* Message Control bit 15 */
#define MSIX_CTRL_MASKALL 0x4000 /* Message Control bit 14: Function Mask */
#define MSIX_ENTRY_MASKED 1      /* Vector Control bit 0 */

struct msi_msg {
	uint64_t addr;
	uint32_t data;
};

struct msi_sink {
	/* Delivers vector vec's message now. 0 or -errno. */
	int (*send)(void *ctx, unsigned vec, const struct msi_msg *m);
	/* Optional, for an irqfd route: vector vec became deliverable (usable:
	 * point the route at m) or not (masked, MSI-X off, or its message was
	 * rewritten while live: send by other means until the next unmask). */
	void (*update)(void *ctx, unsigned vec, const struct msi_msg *m, bool usable);
	void *ctx;
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct msix {
	unsigned nvec;
	unsigned cap; /* offset of the capability in config space, 0 = none */
	bool enabled, maskall;
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint64_t pending; /* the PBA: bit v = vector v signalled while masked */
	struct msi_sink sink;
	uint64_t sent, held; /* messages delivered; signals held while masked */
};

/* nvec vectors (1..MSIX_MAX_VECTORS), all masked, MSI-X off. */
void msix_init(struct msix *x, unsigned nvec, const struct msi_sink *sink);
/* Writes the capability at config offset at (next capability: next) into
 * dev->cfg, its writable bits into dev->wmask; the table and the PBA lie in
 * BAR bar at table_off and pba_off (8-byte aligned). */
void msix_add_cap(struct msix *x, struct pci_dev *dev, unsigned at, unsigned next, unsigned bar,
		  uint32_t table_off, uint32_t pba_off);
/* After a config write: takes Enable and Function Mask from dev->cfg. */
void msix_cfg_sync(struct msix *x, const struct pci_dev *dev);
/* Table accesses (offset from the table's start; dword or qword, aligned;
 * anything else reads 0 and writes nothing). */
uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size);
void msix_table_write(struct msix *x, uint64_t off, unsigned size, uint64_t v);
uint64_t msix_pba_read(const struct msix *x, uint64_t off, unsigned size);
/* Forgets held signals (a device reset: they belong to the old driver). */
void msix_clear_pending(struct msix *x);
/* Table and PBA sizes in bytes, for the BAR layout. */
unsigned msix_table_size(const struct msix *x);
unsigned msix_pba_size(const struct msix *x);
/* Signals vector vec: delivered now (1), held as pending while masked (0),
 * or -EINVAL for a vector out of range, -ENODEV with MSI-X off, or the
 * sink's error. */
int msix_notify(struct msix *x, unsigned vec);
