/* pcnet.c: netguest's driver for the AMD PCnet-PCI II (Am79C970A), with
 * the register access sequence of Linux's pcnet32 so that exits per frame
 * compare with the paper's "12 I/O instructions and 1 IRQ per frame":
 *   open: S_RESET (read RESET), CSR0 == STOP and RAP echo (WIO check), chip
 *         ID in CSR88/89, MAC from the APROM, BCR20 = 2 (32-bit software
 *         style), BCR2 ASEL, BCR9, CSR124, init block at CSR1/2, CSR4 =
 *         0x0915, CSR0 = INIT, poll IDON, CSR0 = STRT | INEA;
 *   xmit: fill the descriptor (BCNT, then STP|ENP|OWN last), CSR0 = INEA |
 *         TDMD (RAP then RDP: 2 I/O);
 *   interrupt: the classic (non-NAPI) pcnet32 handler: save RAP, loop {read
 *         CSR0; stop unless ERR|MERR|RINT|TINT|IDON; ack it; receive; reclaim},
 *         CSR0 = 0x7940, restore RAP: 10 I/O for one pass.
 * Word I/O mode, software style 2 (16-byte descriptors). Runs at CPL0;
 * callers build frame payloads at CPL3. */
#include "netguest.h"

#define PCNET_VENDOR 0x1022
#define PCNET_DEVICE 0x2000
#define IO_RDP 0x10
#define IO_RAP 0x12
#define IO_RESET 0x14
#define IO_BDP 0x16
#define CSR0_INIT 0x0001
#define CSR0_STRT 0x0002
#define CSR0_STOP 0x0004
#define CSR0_TDMD 0x0008
#define CSR0_INEA 0x0040
#define CSR0_IDON 0x0100
#define CSR0_TINT 0x0200
#define CSR0_RINT 0x0400
#define CSR0_WORK 0x8f00   /* ERR | MERR | RINT | TINT | IDON: pcnet32's loop test */
#define CSR0_ACK_MASK 0x004f /* never written back: INEA, TDMD, STOP, STRT, INIT */
#define CSR0_EXIT 0x7940   /* BABL|CERR|MISS|MERR|IDON acked, INEA on */
#define DESC_OWN 0x8000
#define DESC_ERR 0x4000
#define TX_STATUS_SEND 0x8300 /* OWN | STP | ENP */
#define MAX_WORK 20           /* pcnet32's max_interrupt_work */
#define OPEN_IDON_POLLS 100

struct pcnet_desc { /* software style 2: RMD0-3 / TMD0-3 */
	volatile uint32_t base;
	volatile uint16_t buf_length; /* two's complement, top 4 bits ones */
	volatile uint16_t status;
	volatile uint32_t misc;       /* RX: MCNT; TX: error bits */
	uint32_t reserved;
};

struct pcnet_init_block { /* SSIZE32=1 */
	uint16_t mode;
	uint16_t tlen_rlen;
	uint8_t phys_addr[6];
	uint16_t reserved;
	uint32_t filter[2];
	uint32_t rx_ring;
	uint32_t tx_ring;
};

static struct pcnet_desc rx_ring[NET_RX_RING] __attribute__((aligned(16)));
static struct pcnet_desc tx_ring[NET_TX_RING] __attribute__((aligned(16)));
static struct pcnet_init_block init_block __attribute__((aligned(16)));
static uint8_t rx_bufs[NET_RX_RING][NET_BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_bufs[NET_TX_RING][NET_BUF_SIZE] __attribute__((aligned(64)));

static uint16_t io;
static unsigned rx_idx, tx_idx, tx_dirty;
static net_rx_fn rx_handler;
struct net_stats net_stats;
uint8_t net_mac[6];
unsigned net_irq;

/* Every port access is counted: io_ops / frames is the paper's measure. */
static uint16_t nic_inw(unsigned off)
{
	net_stats.io_ops++;
	return inw((uint16_t)(io + off));
}
static void nic_outw(unsigned off, uint16_t v)
{
	net_stats.io_ops++;
	outw((uint16_t)(io + off), v);
}
void pcnet_write_rap(unsigned n)
{
	nic_outw(IO_RAP, (uint16_t)n);
}
static uint16_t read_csr(unsigned n)
{
	nic_outw(IO_RAP, (uint16_t)n);
	return nic_inw(IO_RDP);
}
static void write_csr(unsigned n, uint16_t v)
{
	nic_outw(IO_RAP, (uint16_t)n);
	nic_outw(IO_RDP, v);
}
static uint16_t read_bcr(unsigned n)
{
	nic_outw(IO_RAP, (uint16_t)n);
	return nic_inw(IO_BDP);
}
static void write_bcr(unsigned n, uint16_t v)
{
	nic_outw(IO_RAP, (uint16_t)n);
	nic_outw(IO_BDP, v);
}

static void rx_give_back(unsigned i)
{
	rx_ring[i].buf_length = (uint16_t)-NET_BUF_SIZE;
	rx_ring[i].misc = 0;
	__asm__ volatile("" ::: "memory");
	rx_ring[i].status = DESC_OWN;
}

static void net_rx_ring(void)
{
	for (unsigned n = 0; n < NET_RX_RING; n++) {
		struct pcnet_desc *d = &rx_ring[rx_idx];
		uint16_t status = d->status;
		if (status & DESC_OWN)
			break;
		if ((status >> 8) == 0x03) { /* STP | ENP, no ERR: one whole frame */
			unsigned len = (d->misc & 0xfff) - 4;
			net_stats.rx_frames++;
			net_stats.rx_bytes += len;
			if (rx_handler && len <= NET_BUF_SIZE)
				rx_handler(rx_bufs[rx_idx], len);
		} else {
			net_stats.rx_errors++;
		}
		rx_give_back(rx_idx);
		rx_idx = (rx_idx + 1) % NET_RX_RING;
	}
}

void net_tx_reclaim(void)
{
	while (tx_dirty != tx_idx) {
		uint16_t status = tx_ring[tx_dirty % NET_TX_RING].status;
		if (status & DESC_OWN)
			break;
		if (status & DESC_ERR)
			net_stats.tx_errors++;
		tx_dirty++;
	}
}

static void pcnet_irq(unsigned irq)
{
	uint16_t rap, csr0;

	(void)irq;
	net_stats.irqs++;
	rap = nic_inw(IO_RAP);
	for (unsigned work = 0; work < MAX_WORK; work++) {
		csr0 = read_csr(0);
		if (!(csr0 & CSR0_WORK) || csr0 == 0xffff)
			break;
		write_csr(0, csr0 & (uint16_t)~CSR0_ACK_MASK);
		if (csr0 & CSR0_RINT)
			net_rx_ring();
		if (csr0 & CSR0_TINT)
			net_tx_reclaim();
	}
	write_csr(0, CSR0_EXIT);
	nic_outw(IO_RAP, rap);
}

uint8_t *net_tx_buf(unsigned slot)
{
	return tx_bufs[slot % NET_TX_RING];
}

/* pcnet32 reclaims on TINT only; polling the descriptors here as well
 * (memory reads, no exits) lets a wait that a tick ended see completions
 * whose interrupt is late. Called with IF=0, as the handler's reclaim. */
bool net_tx_free(void)
{
	net_tx_reclaim();
	return tx_idx - tx_dirty < NET_TX_RING;
}

unsigned net_tx_slots(void)
{
	return NET_TX_RING;
}

unsigned net_tx_slot(void)
{
	return tx_idx % NET_TX_RING;
}

void net_tx_send(unsigned len)
{
	struct pcnet_desc *d = &tx_ring[tx_idx % NET_TX_RING];

	d->buf_length = (uint16_t)-len;
	d->misc = 0;
	d->base = (uint32_t)(uintptr_t)tx_bufs[tx_idx % NET_TX_RING];
	__asm__ volatile("" ::: "memory");
	d->status = TX_STATUS_SEND;
	/* The descriptor is the device's before tx_idx counts it: the TINT
	 * handler (interrupts are on while sending) reclaims up to tx_idx and
	 * must not take a slot whose OWN bit is not yet set. */
	__asm__ volatile("" ::: "memory");
	tx_idx++;
	net_stats.tx_frames++;
	net_stats.tx_bytes += len;
	write_csr(0, CSR0_INEA | CSR0_TDMD);
}

unsigned net_tx_pending(void)
{
	net_tx_reclaim();
	return tx_idx - tx_dirty;
}

void net_dump(void)
{
	const struct pcnet_desc *d = &tx_ring[tx_dirty % NET_TX_RING];

	kprintf("netguest: pcnet csr0=0x%x tx_idx=%u tx_dirty=%u tx_status=0x%x rx_idx=%u "
		"rx_status=0x%x\n",
		read_csr(0), tx_idx, tx_dirty, d->status, rx_idx, rx_ring[rx_idx].status);
}

bool net_open(net_rx_fn fn)
{
	unsigned dev, i;
	uint32_t bar, chip, v;

	rx_handler = fn;
	net_stats = (struct net_stats){ 0 };
	if (!pci_find(PCNET_VENDOR, PCNET_DEVICE, &dev)) {
		kprintf("netguest: result=fail error=no-nic model=pcnet\n");
		return false;
	}
	bar = pci_cfg_read32(0, dev, 0, 0x10);
	net_irq = pci_cfg_read32(0, dev, 0, 0x3c) & 0xff;
	v = pci_cfg_read32(0, dev, 0, 0x04) & 0xffff;
	pci_cfg_write32(0, dev, 0, 0x04, v | 0x5); /* I/O decode + bus master */
	if (!(bar & 1) || net_irq >= 16) {
		kprintf("netguest: result=fail error=bad-nic-config bar0=0x%x irq=%u\n", bar, net_irq);
		return false;
	}
	io = (uint16_t)(bar & ~3u);

	nic_inw(IO_RESET); /* S_RESET */
	if (read_csr(0) != CSR0_STOP) {
		kprintf("netguest: result=fail error=nic-reset csr0=0x%x\n", read_csr(0));
		return false;
	}
	nic_outw(IO_RAP, 88); /* pcnet32_wio_check */
	if (nic_inw(IO_RAP) != 88) {
		kprintf("netguest: result=fail error=nic-wio-check\n");
		return false;
	}
	chip = read_csr(88) | (uint32_t)read_csr(89) << 16;
	if ((chip & 0xfff) != 0x003) {
		kprintf("netguest: result=fail error=nic-chip-id chip=0x%x\n", chip);
		return false;
	}
	for (i = 0; i < 6; i++)
		net_mac[i] = inb((uint16_t)(io + i));
	net_stats.io_ops += 6;

	write_bcr(20, 2);                       /* software style 2: 32-bit */
	write_bcr(2, read_bcr(2) | 2);          /* ASEL */
	write_bcr(9, read_bcr(9) & ~3u);        /* half duplex, as pcnet32 for the 970A */
	write_csr(124, read_csr(124) & ~0x10u); /* no GPSI */

	for (i = 0; i < NET_RX_RING; i++) {
		rx_ring[i].base = (uint32_t)(uintptr_t)rx_bufs[i];
		rx_give_back(i);
	}
	for (i = 0; i < NET_TX_RING; i++) {
		tx_ring[i].status = 0;
		tx_ring[i].base = 0;
	}
	rx_idx = tx_idx = tx_dirty = 0;
	init_block.mode = 0;
	init_block.tlen_rlen = (uint16_t)(NET_TX_RING_BITS << 12 | NET_RX_RING_BITS << 4);
	for (i = 0; i < 6; i++)
		init_block.phys_addr[i] = net_mac[i];
	init_block.filter[0] = init_block.filter[1] = 0;
	init_block.rx_ring = (uint32_t)(uintptr_t)rx_ring;
	init_block.tx_ring = (uint32_t)(uintptr_t)tx_ring;

	irq_set_handler(net_irq, pcnet_irq);
	write_csr(1, (uint16_t)(uintptr_t)&init_block);
	write_csr(2, (uint16_t)((uintptr_t)&init_block >> 16));
	write_csr(4, 0x0915); /* auto tx pad, masks */
	write_csr(0, CSR0_INIT);
	for (i = 0; i < OPEN_IDON_POLLS; i++)
		if (read_csr(0) & CSR0_IDON)
			break;
	if (i == OPEN_IDON_POLLS) {
		kprintf("netguest: result=fail error=nic-init csr0=0x%x\n", read_csr(0));
		return false;
	}
	write_csr(0, CSR0_STRT | CSR0_INEA);
	net_stats.io_ops_open = net_stats.io_ops;
	net_stats.io_ops = 0;
	pic_unmask(net_irq);
	kprintf("netguest: nic model=pcnet io=0x%x irq=%u chip=0x%x mac=%02x:%02x:%02x:%02x:%02x:%02x\n",
		io, net_irq, chip, net_mac[0], net_mac[1], net_mac[2], net_mac[3], net_mac[4], net_mac[5]);
	return true;
}

void net_close(void)
{
	pic_mask(net_irq);
	write_csr(0, CSR0_STOP);
	write_bcr(20, 4); /* as pcnet32_close: back to 16-bit style */
}
