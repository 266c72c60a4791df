/* virtio_net.c: netguest's virtio-net driver, modern PCI interface only
 * (Virtual I/O Device (VIRTIO) Version 1.1: 3.1.1 initialisation, 4.1.4
 * capabilities found by walking the PCI capability list, 4.1.4.3 common
 * configuration, 4.1.4.4 notifications, 4.1.4.5 ISR, 2.7 split rings, 5.1
 * the network device). One RX and one TX queue of NET_RX_RING/NET_TX_RING
 * entries (smaller than the device's maximum: the driver's choice), buffer i
 * always in descriptor i. Features: VERSION_1, MAC, MRG_RXBUF and EVENT_IDX
 * when offered; with tso=1 also CSUM and HOST_TSO4 (5.1.6.2), for frames
 * of up to 64 KiB in VNET_TSO_BUFS big buffers. Interrupts by MSI-X (PCI
 * 3.0 6.8.2, virtio 4.1.4.3 and 4.1.5.1.2: one vector per queue, the EOI at
 * the local APIC, no device register touched) when the device has it and
 * takes the vectors, else INTx through the 8259 (the ISR read acknowledges:
 * one exit more per interrupt); intr= may insist on either. The same net_*
 * interface as pcnet.c, named vnet_*;
 * mode_net.c picks one. Registers are memory-mapped and touched at CPL0;
 * every access to BAR space is counted in net_stats.io_ops. */
#include "netguest.h"

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_NET_MODERN 0x1041
#define PCI_CAP_PTR 0x34
#define PCI_CAP_VNDR 0x09
#define PCI_CAP_MSIX 0x11
#define PCI_CMD 0x04
#define PCI_CMD_MEM_MASTER 0x6
#define PCI_CMD_INTX_OFF 0x400
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_SIZE 0x7ff /* table entries - 1 */
#define MSIX_ENTRY 16        /* address lo, hi, data, vector control (bit 0: masked) */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4

#define ST_ACK 1
#define ST_DRIVER 2
#define ST_DRIVER_OK 4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 0x40

#define F_CSUM 0
#define F_HOST_TSO4 11
#define F_MAC 5
#define F_MRG_RXBUF 15
#define F_EVENT_IDX 29
#define F_VERSION_1 32

#define CC_DFSELECT 0x00
#define CC_DF 0x04
#define CC_GFSELECT 0x08
#define CC_GF 0x0c
#define CC_MSIX 0x10
#define CC_STATUS 0x14
#define CC_Q_SELECT 0x16
#define CC_Q_SIZE 0x18
#define CC_Q_MSIX 0x1a
#define CC_Q_ENABLE 0x1c
#define CC_Q_NOFF 0x1e
#define CC_Q_DESC 0x20
#define CC_Q_AVAIL 0x28
#define CC_Q_USED 0x30
#define NO_VECTOR 0xffff

#define DESC_F_WRITE 2
#define HDR_LEN 12 /* struct virtio_net_hdr with num_buffers (VERSION_1) */
#define HDR_F_NEEDS_CSUM 1
#define HDR_GSO_NONE 0
#define HDR_GSO_TCPV4 1
#define TSO_CSUM_START 34 /* Ethernet + IPv4 header */
#define TSO_CSUM_OFFSET 16 /* the checksum field in the TCP header */
#define RXQ 0
#define TXQ 1

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct ring {
	unsigned n;
	struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[n], used_event */
	volatile uint16_t *used;  /* flags, idx, {id, len}[n] as u16 pairs, avail_event */
	volatile uint16_t *notify;
	uint16_t avail_idx, last_used;
	uint16_t vector; /* queue_msix_vector as the device read it back */
};

static struct vdesc rx_desc[NET_RX_RING] __attribute__((aligned(16)));
static struct vdesc tx_desc[NET_TX_RING] __attribute__((aligned(16)));
static uint16_t rx_avail[3 + NET_RX_RING] __attribute__((aligned(2)));
static uint16_t tx_avail[3 + NET_TX_RING] __attribute__((aligned(2)));
static uint16_t rx_used[3 + 4 * NET_RX_RING] __attribute__((aligned(4)));
static uint16_t tx_used[3 + 4 * NET_TX_RING] __attribute__((aligned(4)));
static uint8_t rx_bufs[NET_RX_RING][HDR_LEN + NET_BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_bufs[NET_TX_RING][HDR_LEN + NET_BUF_SIZE] __attribute__((aligned(64)));
/* TSO frames: a few big buffers, one descriptor each (the ring's first
 * VNET_TSO_BUFS entries); 8 in flight keep the device busy. */
static uint8_t tso_bufs[VNET_TSO_BUFS][HDR_LEN + NET_TSO_FRAME_MAX] __attribute__((aligned(64)));

static struct ring rxr, txr;
static volatile uint8_t *common, *isr, *devcfg, *notify_base;
static uint32_t notify_mult;
static bool event_idx, mrg;
static unsigned tx_idx, tx_dirty;
static net_rx_fn rx_handler;
static unsigned pci_dev, msix_cap;
static uint32_t pci_cmd;
static volatile uint8_t *msix_table;
static unsigned nvec; /* MSI-X vectors in use; 0: INTx */
enum net_intr vnet_intr;
bool vnet_tso;
static unsigned tx_slots; /* buffers in use: NET_TX_RING, or VNET_TSO_BUFS with TSO */

static inline void mb(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

static uint8_t rd8(volatile uint8_t *base, unsigned off)
{
	net_stats.io_ops++;
	return base[off];
}
static uint16_t rd16(volatile uint8_t *base, unsigned off)
{
	net_stats.io_ops++;
	return *(volatile uint16_t *)(base + off);
}
static uint32_t rd32(volatile uint8_t *base, unsigned off)
{
	net_stats.io_ops++;
	return *(volatile uint32_t *)(base + off);
}
static void wr8(volatile uint8_t *base, unsigned off, uint8_t v)
{
	net_stats.io_ops++;
	base[off] = v;
}
static void wr16(volatile uint8_t *base, unsigned off, uint16_t v)
{
	net_stats.io_ops++;
	*(volatile uint16_t *)(base + off) = v;
}
static void wr32(volatile uint8_t *base, unsigned off, uint32_t v)
{
	net_stats.io_ops++;
	*(volatile uint32_t *)(base + off) = v;
}
static void wr64(volatile uint8_t *base, unsigned off, uint64_t v)
{
	wr32(base, off, (uint32_t)v);
	wr32(base, off + 4, (uint32_t)(v >> 32));
}

/* 2.7.10 */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

void vnet_notify_tx(void)
{
	net_stats.io_ops++;
	*txr.notify = TXQ;
}

static void notify(struct ring *r, unsigned q, uint16_t old)
{
	mb(); /* the avail index before the device's suppression state */
	if (event_idx ? need_event(r->used[2 + 4 * r->n], r->avail_idx, old) : !(r->used[0] & 1)) {
		net_stats.io_ops++;
		*r->notify = (uint16_t)q;
	}
}

static void publish(struct ring *r, uint16_t desc)
{
	r->avail[2 + (r->avail_idx & (r->n - 1))] = desc;
	barrier(); /* x86: stores are ordered; keep the compiler from reordering */
	r->avail_idx++;
	r->avail[1] = r->avail_idx;
}

/* Asks for an interrupt at the next used entry (EVENT_IDX: used_event). */
static void want_irq(struct ring *r)
{
	if (event_idx)
		r->avail[2 + r->n] = r->last_used;
}

/* Reaps received frames, gives their buffers back, and asks for the next
 * interrupt. The used index is read again after used_event is written (and
 * fenced): an entry the device added in between was checked against the old
 * used_event, so it raised no interrupt, and without the second look the
 * guest would halt with frames waiting (virtio 1.x 2.7.10, as Linux's
 * virtqueue_enable_cb then more_used). */
static void rx_ring(void)
{
	uint16_t old = rxr.avail_idx;

again:
	while (rxr.last_used != rxr.used[1]) {
		unsigned slot = rxr.last_used & (rxr.n - 1);
		uint32_t id = rxr.used[2 + 4 * slot] | (uint32_t)rxr.used[3 + 4 * slot] << 16;
		uint32_t len = rxr.used[4 + 4 * slot] | (uint32_t)rxr.used[5 + 4 * slot] << 16;
		rxr.last_used++;
		if (id >= rxr.n || len < HDR_LEN || len > HDR_LEN + NET_BUF_SIZE ||
		    (mrg && (rx_bufs[id][10] | rx_bufs[id][11] << 8) != 1)) {
			net_stats.rx_errors++;
		} else {
			net_stats.rx_frames++;
			net_stats.rx_bytes += len - HDR_LEN;
			if (rx_handler)
				rx_handler(rx_bufs[id] + HDR_LEN, len - HDR_LEN);
		}
		if (id < rxr.n)
			publish(&rxr, (uint16_t)id);
	}
	want_irq(&rxr);
	mb();
	if (rxr.last_used != rxr.used[1])
		goto again;
	if (rxr.avail_idx != old)
		notify(&rxr, RXQ, old);
}

/* TX completions are reaped by polling the used index (a memory read, no
 * exit), as virtio_net's free_old_xmit; the interrupt is wanted only while
 * the caller waits for a free slot or for the last frames (tx_irq). */
void vnet_tx_reclaim(void)
{
	uint16_t used = txr.used[1];

	tx_dirty += (uint16_t)(used - txr.last_used);
	txr.last_used = used;
}

/* With EVENT_IDX used_event (one behind: off), else VRING_AVAIL_F_NO_INTERRUPT. */
static void tx_irq(bool on)
{
	if (event_idx)
		txr.avail[2 + txr.n] = (uint16_t)(on ? txr.last_used : txr.last_used - 1);
	else
		txr.avail[0] = on ? 0 : 1;
	mb();
}

static void tx_done(void)
{
	vnet_tx_reclaim();
	tx_irq(false);
}

static void vnet_irq(unsigned irq)
{
	(void)irq;
	net_stats.irqs++;
	(void)rd8(isr, 0); /* acknowledges and lowers INTx */
	rx_ring();
	tx_done();
}

/* MSI-X: one vector per queue, as Linux's vp_find_vqs_msix (one shared
 * when the table is that small): each handler walks only its own ring,
 * which matters where every CPL0 instruction is emulated, and the TX
 * vector stays quiet unless the sender waits (tx_irq). No ISR read: the
 * edge message needs no acknowledgement at the device. */
static void vnet_msix_rx(unsigned v)
{
	(void)v;
	net_stats.irqs++;
	rx_ring();
}

static void vnet_msix_tx(unsigned v)
{
	(void)v;
	net_stats.irqs++;
	tx_done();
}

static void vnet_msix_shared(unsigned v)
{
	(void)v;
	net_stats.irqs++;
	rx_ring();
	tx_done();
}

uint8_t *vnet_tx_buf(unsigned slot)
{
	if (vnet_tso)
		return tso_bufs[slot % VNET_TSO_BUFS] + HDR_LEN;
	return tx_bufs[slot % NET_TX_RING] + HDR_LEN;
}

bool vnet_tx_free(void)
{
	vnet_tx_reclaim();
	if (tx_idx - tx_dirty < tx_slots)
		return true;
	tx_irq(true); /* then look again: a completion may have come meanwhile */
	vnet_tx_reclaim();
	return tx_idx - tx_dirty < tx_slots;
}

unsigned vnet_tx_slot(void)
{
	return tx_idx % tx_slots;
}

unsigned vnet_tx_slots(void)
{
	return tx_slots;
}

/* 5.1.6.2: the device checksums from csum_start and, when the TCP payload
 * exceeds one MSS, segments; hdr_len is the headers repeated per segment. */
static void tso_hdr(uint8_t *h, unsigned len)
{
	h[0] = HDR_F_NEEDS_CSUM;
	h[1] = len - NET_TSO_HDRS > VNET_TSO_MSS ? HDR_GSO_TCPV4 : HDR_GSO_NONE;
	*(uint16_t *)(h + 2) = NET_TSO_HDRS;
	*(uint16_t *)(h + 4) = VNET_TSO_MSS;
	*(uint16_t *)(h + 6) = TSO_CSUM_START;
	*(uint16_t *)(h + 8) = TSO_CSUM_OFFSET;
}

unsigned vnet_tx_pending(void)
{
	vnet_tx_reclaim();
	if (tx_idx == tx_dirty)
		return 0;
	tx_irq(true);
	vnet_tx_reclaim();
	return tx_idx - tx_dirty;
}

void vnet_tx_send(unsigned len)
{
	unsigned slot = tx_idx % tx_slots;
	uint16_t old = txr.avail_idx;

	if (vnet_tso)
		tso_hdr(tso_bufs[slot], len);
	tx_desc[slot].len = HDR_LEN + len;
	publish(&txr, (uint16_t)slot);
	tx_idx++;
	net_stats.tx_frames++;
	net_stats.tx_bytes += len;
	notify(&txr, TXQ, old);
}

void vnet_dump(void)
{
	kprintf("netguest: virtio txq avail=%u used=%u last_used=%u used_event=%u avail_event=%u "
		"rxq avail=%u used=%u last_used=%u used_event=%u avail_event=%u\n",
		txr.avail_idx, txr.used[1], txr.last_used, txr.avail[2 + txr.n], txr.used[2 + 4 * txr.n],
		rxr.avail_idx, rxr.used[1], rxr.last_used, rxr.avail[2 + rxr.n], rxr.used[2 + 4 * rxr.n]);
}

/* BAR bar's memory address plus off, or NULL (an I/O BAR, unassigned, or
 * beyond the 4 GiB that netguest maps). */
static volatile uint8_t *bar_map(unsigned dev, unsigned bar, uint32_t off)
{
	uint64_t base;
	uint32_t lo;

	if (bar > 5)
		return 0;
	lo = pci_cfg_read32(0, dev, 0, 0x10 + 4 * bar);
	if (lo & 1)
		return 0; /* an I/O BAR: not for the modern structures nor MSI-X */
	base = lo & ~0xfu;
	if ((lo & 6) == 4 && bar < 5)
		base |= (uint64_t)pci_cfg_read32(0, dev, 0, 0x14 + 4 * bar) << 32;
	if (!base || base + off >= (4ull << 30))
		return 0;
	return (volatile uint8_t *)(uintptr_t)(base + off);
}

/* Walks the capability list for id (and, for the virtio vendor
 * capabilities, cfg_type in the header's top byte): its offset, or 0. */
static unsigned find_pci_cap(unsigned dev, uint8_t id, int type)
{
	unsigned ptr = pci_cfg_read32(0, dev, 0, PCI_CAP_PTR) & 0xfc;

	for (unsigned hops = 0; ptr >= 0x40 && hops < 48; hops++) {
		uint32_t h = pci_cfg_read32(0, dev, 0, ptr);
		if ((h & 0xff) == id && (type < 0 || ((h >> 24) & 0xff) == (unsigned)type))
			return ptr;
		ptr = (h >> 8) & 0xfc;
	}
	return 0;
}

/* Finds the virtio structure of cfg_type in the capability list (4.1.4):
 * its BAR's address plus offset, or NULL. */
static volatile uint8_t *find_cap(unsigned dev, uint8_t type, uint32_t *extra)
{
	unsigned ptr = find_pci_cap(dev, PCI_CAP_VNDR, type);

	if (!ptr)
		return 0;
	if (extra)
		*extra = pci_cfg_read32(0, dev, 0, ptr + 16);
	return bar_map(dev, pci_cfg_read32(0, dev, 0, ptr + 4) & 0xff,
		       pci_cfg_read32(0, dev, 0, ptr + 8));
}

/* ---- MSI-X (PCI 3.0 6.8.2) ---- */

static void msix_ctrl(uint16_t v)
{
	pci_cfg_write16(0, pci_dev, 0, msix_cap + 2, v);
}

/* The MSI-X capability and its table (BAR BIR, the low 3 bits, plus the
 * offset): the number of vectors to use, 2 (RX, TX) or 1 (shared) or 0
 * (no MSI-X; or no local APIC, whose address the messages need). */
static unsigned msix_probe(void)
{
	uint32_t addr, data, tbl;
	unsigned size;

	msix_cap = find_pci_cap(pci_dev, PCI_CAP_MSIX, -1);
	if (!msix_cap || !msi_message(0, &addr, &data))
		return 0;
	size = (pci_cfg_read32(0, pci_dev, 0, msix_cap) >> 16 & MSIX_CTRL_SIZE) + 1;
	tbl = pci_cfg_read32(0, pci_dev, 0, msix_cap + 4);
	msix_table = bar_map(pci_dev, tbl & 7, tbl & ~7u);
	if (!msix_table)
		return 0;
	return size >= 2 ? 2 : 1;
}

/* Linux's order: enabled with the function masked, entries written (each
 * unmasked), then the function unmasked; INTx off as pci_intx_for_msi.
 * Vector i raises VEC_MSI_BASE + i (cpu.c). */
static void msix_enable(unsigned n)
{
	msix_ctrl(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	for (unsigned i = 0; i < n; i++) {
		uint32_t addr, data;
		msi_message(i, &addr, &data);
		wr32(msix_table, MSIX_ENTRY * i, addr);
		wr32(msix_table, MSIX_ENTRY * i + 4, 0);
		wr32(msix_table, MSIX_ENTRY * i + 8, data);
		wr32(msix_table, MSIX_ENTRY * i + 12, 0);
	}
	msix_ctrl(MSIX_CTRL_ENABLE);
	pci_cfg_write32(0, pci_dev, 0, PCI_CMD, pci_cmd | PCI_CMD_INTX_OFF);
	if (n == 2) {
		msi_set_handler(0, vnet_msix_rx);
		msi_set_handler(1, vnet_msix_tx);
	} else {
		msi_set_handler(0, vnet_msix_shared);
	}
}

static void msix_disable(void)
{
	msix_ctrl(0);
	pci_cfg_write32(0, pci_dev, 0, PCI_CMD, pci_cmd);
	msi_set_handler(0, NULL);
	msi_set_handler(1, NULL);
}

/* Everything but queue_enable: the MSI-X vector is read back first (the
 * device answers NO_VECTOR when it cannot map it, 4.1.5.1.2), and the
 * caller may still fall back to INTx before the queue is live. */
static bool setup_queue(struct ring *r, unsigned q, unsigned n, struct vdesc *desc, uint16_t *avail,
			uint16_t *used, uint16_t vector)
{
	unsigned max;

	wr16(common, CC_Q_SELECT, (uint16_t)q);
	max = rd16(common, CC_Q_SIZE);
	if (max < n) {
		kprintf("netguest: result=fail error=nic-queue-size queue=%u max=%u\n", q, max);
		return false;
	}
	wr16(common, CC_Q_SIZE, (uint16_t)n);
	wr16(common, CC_Q_MSIX, vector);
	r->vector = vector == NO_VECTOR ? NO_VECTOR : rd16(common, CC_Q_MSIX);
	wr64(common, CC_Q_DESC, (uintptr_t)desc);
	wr64(common, CC_Q_AVAIL, (uintptr_t)avail);
	wr64(common, CC_Q_USED, (uintptr_t)used);
	r->n = n;
	r->desc = desc;
	r->avail = avail;
	r->used = used;
	r->notify = (volatile uint16_t *)(notify_base + rd16(common, CC_Q_NOFF) * notify_mult);
	r->avail_idx = r->last_used = 0;
	return true;
}

static void enable_queue(unsigned q)
{
	wr16(common, CC_Q_SELECT, (uint16_t)q);
	wr16(common, CC_Q_ENABLE, 1);
}

/* Both queues on MSI-X vectors (0 and nvec - 1), or both on INTx: the
 * device refusing a vector (auto) turns MSI-X off and the queues back to
 * NO_VECTOR; with intr=msix that fails the open. */
static bool setup_queues(void)
{
	uint16_t vrx = nvec ? 0 : NO_VECTOR, vtx = nvec ? (uint16_t)(nvec - 1) : NO_VECTOR;

	if (!setup_queue(&rxr, RXQ, NET_RX_RING, rx_desc, rx_avail, rx_used, vrx) ||
	    !setup_queue(&txr, TXQ, NET_TX_RING, tx_desc, tx_avail, tx_used, vtx))
		return false;
	if (rxr.vector != vrx || txr.vector != vtx) {
		if (vnet_intr == NET_INTR_MSIX) {
			kprintf("netguest: result=fail error=nic-msix-refused rx_vector=0x%x tx_vector=0x%x\n",
				rxr.vector, txr.vector);
			return false;
		}
		for (unsigned q = RXQ; q <= TXQ; q++) {
			wr16(common, CC_Q_SELECT, (uint16_t)q);
			wr16(common, CC_Q_MSIX, NO_VECTOR);
		}
		msix_disable();
		nvec = 0;
	}
	enable_queue(RXQ);
	enable_queue(TXQ);
	return true;
}

/* Picks MSI-X or INTx (vnet_intr) before the queues are set up. */
static bool choose_intr(void)
{
	nvec = vnet_intr == NET_INTR_INTX ? 0 : msix_probe();
	if (!nvec && vnet_intr == NET_INTR_MSIX) {
		kprintf("netguest: result=fail error=nic-no-msix\n");
		return false;
	}
	if (nvec)
		msix_enable(nvec);
	return true;
}

bool vnet_open(net_rx_fn fn)
{
	unsigned dev, i;
	uint32_t v, f_lo, f_hi;
	uint64_t want;

	rx_handler = fn;
	net_stats = (struct net_stats){ 0 };
	if (!pci_find(VIRTIO_VENDOR, VIRTIO_NET_MODERN, &dev)) {
		kprintf("netguest: result=fail error=no-nic model=virtio\n");
		return false;
	}
	pci_dev = dev;
	net_irq = pci_cfg_read32(0, dev, 0, 0x3c) & 0xff;
	v = pci_cfg_read32(0, dev, 0, PCI_CMD) & 0xffff;
	pci_cmd = (v | PCI_CMD_MEM_MASTER) & ~PCI_CMD_INTX_OFF; /* memory, bus master, INTx on */
	pci_cfg_write32(0, dev, 0, PCI_CMD, pci_cmd);
	common = find_cap(dev, CAP_COMMON, 0);
	isr = find_cap(dev, CAP_ISR, 0);
	devcfg = find_cap(dev, CAP_DEVICE, 0);
	notify_base = find_cap(dev, CAP_NOTIFY, &notify_mult);
	if (!common || !isr || !devcfg || !notify_base || net_irq >= 16) {
		kprintf("netguest: result=fail error=bad-nic-config irq=%u\n", net_irq);
		return false;
	}

	/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
	wr8(common, CC_STATUS, 0);
	for (i = 0; i < 1000 && rd8(common, CC_STATUS); i++)
		;
	wr8(common, CC_STATUS, ST_ACK);
	wr8(common, CC_STATUS, ST_ACK | ST_DRIVER);
	wr32(common, CC_DFSELECT, 0);
	f_lo = rd32(common, CC_DF);
	wr32(common, CC_DFSELECT, 1);
	f_hi = rd32(common, CC_DF);
	want = (1ull << F_VERSION_1) | (1ull << F_MAC) | (1ull << F_MRG_RXBUF) | (1ull << F_EVENT_IDX);
	if (vnet_tso)
		want |= (1ull << F_CSUM) | (1ull << F_HOST_TSO4);
	want &= (uint64_t)f_hi << 32 | f_lo;
	if (!(want >> F_VERSION_1 & 1) || !(want >> F_MAC & 1)) {
		kprintf("netguest: result=fail error=nic-features features=0x%x%08x\n", f_hi, f_lo);
		return false;
	}
	if (vnet_tso && (!(want >> F_CSUM & 1) || !(want >> F_HOST_TSO4 & 1))) {
		kprintf("netguest: result=fail error=nic-no-tso features=0x%x%08x\n", f_hi, f_lo);
		return false;
	}
	event_idx = want >> F_EVENT_IDX & 1;
	mrg = want >> F_MRG_RXBUF & 1;
	wr32(common, CC_GFSELECT, 0);
	wr32(common, CC_GF, (uint32_t)want);
	wr32(common, CC_GFSELECT, 1);
	wr32(common, CC_GF, (uint32_t)(want >> 32));
	wr8(common, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
	if (!(rd8(common, CC_STATUS) & ST_FEATURES_OK)) {
		kprintf("netguest: result=fail error=nic-features-refused\n");
		return false;
	}
	for (i = 0; i < 6; i++)
		net_mac[i] = rd8(devcfg, i);
	wr16(common, CC_MSIX, NO_VECTOR);

	memset(rx_avail, 0, sizeof(rx_avail));
	memset(tx_avail, 0, sizeof(tx_avail));
	memset(rx_used, 0, sizeof(rx_used));
	memset(tx_used, 0, sizeof(tx_used));
	for (i = 0; i < NET_RX_RING; i++)
		rx_desc[i] = (struct vdesc){ (uintptr_t)rx_bufs[i], HDR_LEN + NET_BUF_SIZE, DESC_F_WRITE, 0 };
	tx_slots = vnet_tso ? VNET_TSO_BUFS : NET_TX_RING;
	for (i = 0; i < tx_slots; i++) {
		uint8_t *b = vnet_tso ? tso_bufs[i] : tx_bufs[i];
		tx_desc[i] = (struct vdesc){ (uintptr_t)b, HDR_LEN, 0, 0 };
		memset(b, 0, HDR_LEN); /* no offloads: a zero header (TSO: tso_hdr per frame) */
	}
	if (!choose_intr() || !setup_queues())
		return false;
	tx_idx = tx_dirty = 0;
	tx_irq(false);
	for (i = 0; i < NET_RX_RING; i++)
		publish(&rxr, (uint16_t)i);
	if (!nvec)
		irq_set_handler(net_irq, vnet_irq);
	wr8(common, CC_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
	if (rd8(common, CC_STATUS) & ST_NEEDS_RESET) {
		kprintf("netguest: result=fail error=nic-needs-reset\n");
		return false;
	}
	net_stats.io_ops++;
	*rxr.notify = RXQ; /* buffers are there */
	net_stats.io_ops_open = net_stats.io_ops;
	net_stats.io_ops = 0;
	if (!nvec)
		pic_unmask(net_irq);
	kprintf("netguest: nic model=virtio irq=%u features=0x%x%08x mac=%02x:%02x:%02x:%02x:%02x:%02x "
		"intr=%s vectors=%u\n",
		net_irq, (uint32_t)(want >> 32), (uint32_t)want, net_mac[0], net_mac[1], net_mac[2],
		net_mac[3], net_mac[4], net_mac[5], nvec ? "msix" : "intx", nvec);
	return true;
}

void vnet_close(void)
{
	if (!nvec)
		pic_mask(net_irq);
	wr8(common, CC_STATUS, 0); /* reset: the device lets go of our rings */
	if (nvec)
		msix_disable(); /* after the reset: no message meanwhile turns into INTx */
}
