/* msix.c: MSI-X capability, table and PBA (PCI Local Bus 3.0, 6.8.2):
 *   6.8.2.1  capability: ID 0x11, Message Control (table size - 1 in
 *            bits 10:0, Function Mask bit 14, MSI-X Enable bit 15),
 *            Table Offset/BIR, PBA Offset/BIR
 *   6.8.2.6-9 table entries of 16 bytes: Message Address, Upper Address,
 *            Data, Vector Control (bit 0 Mask, set at reset); DWORD or
 *            QWORD accesses
 *   6.8.2.10 PBA: a bit per vector, set while a masked vector has a message
 *            pending, cleared when it is sent on unmasking
 * A vector delivers only with MSI-X enabled, Function Mask clear and its
 * own Mask clear; otherwise the signal waits in the PBA.
 */
#include "devices/msix.h"

#include <errno.h>
#include <string.h>

static bool deliverable(const struct msix *x, unsigned vec)
{
	return x->enabled && !x->maskall && !(x->table[vec].ctrl & MSIX_ENTRY_MASKED);
}

static struct msi_msg message(const struct msix *x, unsigned vec)
{
	const struct msix_entry *e = &x->table[vec];
	return (struct msi_msg){ .addr = (uint64_t)e->addr_hi << 32 | e->addr_lo, .data = e->data };
}

static int deliver(struct msix *x, unsigned vec)
{
	struct msi_msg m = message(x, vec);
	int r = x->sink.send ? x->sink.send(x->sink.ctx, vec, &m) : 0;

	if (r == 0)
		x->sent++;
	return r;
}

static void update(struct msix *x, unsigned vec)
{
	struct msi_msg m = message(x, vec);

	if (x->sink.update)
		x->sink.update(x->sink.ctx, vec, &m, deliverable(x, vec));
}

/* After anything that may unmask: routes follow, pending messages go. */
static void sync_all(struct msix *x)
{
	for (unsigned v = 0; v < x->nvec; v++) {
		update(x, v);
		if (deliverable(x, v) && (x->pending >> v & 1)) {
			x->pending &= ~(1ull << v);
			(void)deliver(x, v);
		}
	}
}

void msix_init(struct msix *x, unsigned nvec, const struct msi_sink *sink)
{
	memset(x, 0, sizeof(*x));
	x->nvec = nvec < 1 ? 1 : nvec > MSIX_MAX_VECTORS ? MSIX_MAX_VECTORS : nvec;
	for (unsigned v = 0; v < x->nvec; v++)
		x->table[v].ctrl = MSIX_ENTRY_MASKED;
	if (sink)
		x->sink = *sink;
}

void msix_add_cap(struct msix *x, struct pci_dev *dev, unsigned at, unsigned next, unsigned bar,
		  uint32_t table_off, uint32_t pba_off)
{
	x->cap = at;
	pci_cfg_set8(dev, at, PCI_CAP_ID_MSIX);
	pci_cfg_set8(dev, at + 1, (uint8_t)next);
	pci_cfg_set16(dev, at + 2, (uint16_t)(x->nvec - 1));
	pci_cfg_set32(dev, at + 4, (table_off & ~7u) | (bar & 7));
	pci_cfg_set32(dev, at + 8, (pba_off & ~7u) | (bar & 7));
	dev->wmask[at + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
}

void msix_cfg_sync(struct msix *x, const struct pci_dev *dev)
{
	uint16_t ctrl;

	if (!x->cap)
		return;
	ctrl = (uint16_t)pci_cfg_get(dev, x->cap + 2, 2);
	if (x->enabled == !!(ctrl & MSIX_CTRL_ENABLE) && x->maskall == !!(ctrl & MSIX_CTRL_MASKALL))
		return;
	x->enabled = ctrl & MSIX_CTRL_ENABLE;
	x->maskall = ctrl & MSIX_CTRL_MASKALL;
	sync_all(x);
}

static uint32_t *entry_word(struct msix *x, uint64_t off)
{
	unsigned vec = (unsigned)(off / MSIX_ENTRY_SIZE);
	struct msix_entry *e;

	if (vec >= x->nvec)
		return NULL;
	e = &x->table[vec];
	switch (off % MSIX_ENTRY_SIZE) {
	case 0: return &e->addr_lo;
	case 4: return &e->addr_hi;
	case 8: return &e->data;
	default: return &e->ctrl;
	}
}

static bool aligned_access(uint64_t off, unsigned size)
{
	return (size == 4 || size == 8) && off % size == 0;
}

uint64_t msix_table_read(struct msix *x, uint64_t off, unsigned size)
{
	uint32_t *lo, *hi;

	if (!aligned_access(off, size) || !(lo = entry_word(x, off)))
		return 0;
	if (size == 4)
		return *lo;
	hi = entry_word(x, off + 4);
	return (uint64_t)(hi ? *hi : 0) << 32 | *lo;
}

static void write_word(struct msix *x, uint64_t off, uint32_t v)
{
	uint32_t *w = entry_word(x, off);

	if (!w)
		return;
	if (off % MSIX_ENTRY_SIZE == 12)
		v = (v & MSIX_ENTRY_MASKED) | (*w & ~(uint32_t)MSIX_ENTRY_MASKED);
	*w = v;
}

/* The sink hears of a vector when it becomes deliverable (unmask) or stops
 * being so, and when a live vector's message changes (6.8.3.5 leaves that
 * undefined; the route is then dropped, not rewritten): a guest rewriting an
 * unmasked entry in a loop costs no routing-table rewrite per write. */
void msix_table_write(struct msix *x, uint64_t off, unsigned size, uint64_t v)
{
	unsigned vec = (unsigned)(off / MSIX_ENTRY_SIZE);
	bool was, now;
	struct msi_msg old;

	if (!aligned_access(off, size) || vec >= x->nvec)
		return;
	was = deliverable(x, vec);
	old = message(x, vec);
	write_word(x, off, (uint32_t)v);
	if (size == 8)
		write_word(x, off + 4, (uint32_t)(v >> 32));
	now = deliverable(x, vec);
	if (was != now) {
		update(x, vec);
	} else if (now && x->sink.update) {
		struct msi_msg m = message(x, vec);
		if (m.addr != old.addr || m.data != old.data)
			x->sink.update(x->sink.ctx, vec, &m, false);
	}
	if (now && (x->pending >> vec & 1)) {
		x->pending &= ~(1ull << vec);
		(void)deliver(x, vec);
	}
}

void msix_clear_pending(struct msix *x)
{
	x->pending = 0;
}

uint64_t msix_pba_read(const struct msix *x, uint64_t off, unsigned size)
{
	if (!aligned_access(off, size) || off != 0)
		return size == 4 && off == 4 ? x->pending >> 32 : 0;
	return size == 4 ? (uint32_t)x->pending : x->pending;
}

unsigned msix_table_size(const struct msix *x)
{
	return x->nvec * MSIX_ENTRY_SIZE;
}

unsigned msix_pba_size(const struct msix *x)
{
	(void)x;
	return 8; /* up to 64 vectors */
}

int msix_notify(struct msix *x, unsigned vec)
{
	if (vec >= x->nvec)
		return -EINVAL;
	if (!x->enabled)
		return -ENODEV;
	if (!deliverable(x, vec)) {
		x->pending |= 1ull << vec;
		x->held++;
		return 0;
	}
	return deliver(x, vec) < 0 ? -EIO : 1;
}
