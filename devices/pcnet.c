/* pcnet.c: AMD Am79C970A PCnet-PCI II single-chip Ethernet controller for
 * PCI (datasheet, AMD publication 19436), the part of it that Linux's
 * pcnet32 driver uses:
 *   - "I/O Resources": APROM (0h-0Fh), RDP/RAP/RESET/BDP in word I/O (10h,
 *     12h, 14h, 16h) and double-word I/O (10h, 14h, 18h, 1Ch) modes; DWIO is
 *     entered by a DWord write to RDP and left only by H_RESET;
 *   - "Control and Status Registers": CSR0 (controller status), CSR1/2
 *     (IADR), CSR3 (interrupt masks), CSR4 (test and features), CSR5, CSR8-15
 *     (LADRF, PADR, MODE), CSR24/25, 30/31 (ring bases), CSR58 (SWSTYLE),
 *     CSR72/74/76/78 (ring counters and lengths), CSR88/89 (chip ID), CSR112;
 *   - "Bus Configuration Registers": BCR2 (MC), BCR4 (LNKST), BCR9 (FDC),
 *     BCR18 (BSBC), BCR20 (SWSTYLE);
 *   - "Initialization Block" (SSIZE32=0: 24 bytes, =1: 28 bytes);
 *   - "Descriptor Rings" (RMD0-3/TMD0-3 in software styles 0, 2 and 3);
 *   - "Interrupts": INTR = any unmasked status bit; INTA asserted while INTR
 *     and INEA.
 * Everything the guest points at is reached through gmem_ptr(); rings are at
 * most 512 entries and every walk is bounded by the ring length. Not
 * modelled: MII, EEPROM, the timers, loopback, frames over 1518 bytes.
 * The transmit ring is in pcnet_tx.c, the receive ring and the address
 * filter in pcnet_rx.c; pcnet_internal.h holds what the files share.
 */
#include "devices/pcnet_internal.h"
#include "common/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* CSR3 interrupt masks (datasheet CSR3). */
#define CSR3_BABLM 0x4000
#define CSR3_MISSM 0x1000
#define CSR3_MERRM 0x0800
#define CSR3_RINTM 0x0400
#define CSR3_TINTM 0x0200
#define CSR3_IDONM 0x0100
#define CSR3_WRITABLE 0x5f7c

/* Am79C970A: part 0x2621, version 0, manufacturer 0x001, bit 0 set:
 * CSR88/89 = 0x2621003 ("Chip ID Register", pcnet32 checks & 0xfff == 3). */
#define CHIP_ID 0x02621003u

/* BCRs (datasheet "Bus Configuration Registers"). */
#define BCR_MC 2
#define BCR_LNKST 4
#define BCR_FDC 9
#define BCR_BSBC 18
#define BCR_SWS 20
#define BCR_PLAT 22
#define BCR4_LEDOUT 0x8000
#define BCR20_SSIZE32 0x0100

/* ---- descriptors in software styles 0, 2 and 3 ---- */

static unsigned sws(const struct pcnet *s)
{
	return s->bcr[BCR_SWS] & 0xff;
}
static bool ssize32(const struct pcnet *s)
{
	return s->bcr[BCR_SWS] & BCR20_SSIZE32;
}
static unsigned desc_size(const struct pcnet *s)
{
	return ssize32(s) ? 16 : 8;
}
/* 16-bit (SSIZE32=0) addresses take bits 31:24 from CSR2[15:8]. */
static uint32_t phys(const struct pcnet *s, uint32_t a)
{
	return ssize32(s) ? a : (a & 0x00ffffff) | (uint32_t)(s->csr[CSR_IADR_HI] & 0xff00) << 16;
}
static uint32_t bcnt_len(uint16_t bcnt)
{
	return 4096 - (bcnt & 0xfff); /* two's complement; 0 means 4096 */
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t ring_base(const struct pcnet *s, bool tx)
{
	unsigned lo = tx ? CSR_BADX_LO : CSR_BADR_LO;
	return phys(s, s->csr[lo] | (uint32_t)s->csr[lo + 1] << 16);
}

/* Reads descriptor idx of a ring; false when it lies outside RAM. */
bool pcnet_desc_read(struct pcnet *s, bool tx, uint32_t idx, struct desc *d)
{
	uint64_t gpa = (uint64_t)ring_base(s, tx) + (uint64_t)idx * desc_size(s);
	const uint8_t *p = gmem_ptr(s->cfg.mem, gpa, desc_size(s));

	if (!p)
		return false;
	d->gpa = gpa;
	if (!ssize32(s)) {
		d->addr = phys(s, le16(p) | (uint32_t)p[2] << 16);
		d->status = (uint16_t)p[3] << 8;
		d->len = bcnt_len(le16(p + 4));
		d->misc = le16(p + 6);
		return true;
	}
	if (sws(s) == 3) { /* RMD0/TMD0 and RMD2/TMD2 swapped */
		d->misc = le32(p);
		d->addr = le32(p + 8);
	} else {
		d->addr = le32(p);
		d->misc = le32(p + 8);
	}
	d->len = bcnt_len(le16(p + 4));
	d->status = le16(p + 6);
	return true;
}

/* Writes back misc (TMD2/RMD2) then the status word, OWN last. */
void pcnet_desc_write(struct pcnet *s, const struct desc *d)
{
	uint8_t *p = gmem_ptr(s->cfg.mem, d->gpa, desc_size(s));

	if (!p)
		return;
	if (!ssize32(s)) {
		put16(p + 6, (uint16_t)d->misc);
		__atomic_store_n(&p[3], (uint8_t)(d->status >> 8), __ATOMIC_RELEASE);
		return;
	}
	put32(p + (sws(s) == 3 ? 0 : 8), d->misc);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	put16(p + 6, d->status);
}

/* ---- interrupts ---- */

void pcnet_update_irq(struct pcnet *s)
{
	uint16_t c0 = s->csr[0], c3 = s->csr[3], c4 = s->csr[4];
	bool intr, level;

	c0 &= ~(CSR0_INTR | CSR0_ERR);
	if (c0 & (CSR0_BABL | CSR0_CERR | CSR0_MISS | CSR0_MERR))
		c0 |= CSR0_ERR;
	intr = ((c0 & CSR0_BABL) && !(c3 & CSR3_BABLM)) || ((c0 & CSR0_MISS) && !(c3 & CSR3_MISSM)) ||
	       ((c0 & CSR0_MERR) && !(c3 & CSR3_MERRM)) || ((c0 & CSR0_RINT) && !(c3 & CSR3_RINTM)) ||
	       ((c0 & CSR0_TINT) && !(c3 & CSR3_TINTM)) || ((c0 & CSR0_IDON) && !(c3 & CSR3_IDONM)) ||
	       ((c4 & CSR4_MFCO) && !(c4 & CSR4_MFCOM)) || ((c4 & CSR4_RCVCCO) && !(c4 & CSR4_RCVCCOM)) ||
	       ((c4 & CSR4_TXSTRT) && !(c4 & CSR4_TXSTRTM)) || ((c4 & CSR4_JAB) && !(c4 & CSR4_JABM)) ||
	       (c4 & CSR4_UINT);
	if (intr)
		c0 |= CSR0_INTR;
	s->csr[0] = c0;
	level = intr && (c0 & CSR0_INEA);
	if (level != s->irq_level) {
		s->irq_level = level;
		if (level)
			s->st.irqs++;
		irq_set(&s->cfg.irq, level);
	}
}

/* ---- reset, init, start, stop ---- */

/* S_RESET (a read of RESET), "Software Reset" in the datasheet. */
static void soft_reset(struct pcnet *s)
{
	s->rap = 0;
	s->csr[0] = CSR0_STOP;
	s->csr[3] = 0;
	s->csr[4] = CSR4_RESET;
	s->csr[5] = 0;
	s->csr[CSR_MODE] &= 0x21c4;
	s->csr[CSR_RCVRL] = s->csr[CSR_XMTRL] = 0;
	s->csr[CSR_MISSED] = 0;
	s->bcr[BCR_SWS] = 0; /* back to 16-bit software style 0 */
	s->rx_idx = s->tx_idx = 0;
	txirq_forget(&s->tint); /* an armed timer finds nothing to signal */
	pcnet_update_irq(s);
}

/* H_RESET: power-on values, DWIO off. */
static void hard_reset(struct pcnet *s)
{
	memset(s->csr, 0, sizeof(s->csr));
	memset(s->bcr, 0, sizeof(s->bcr));
	s->dwio = false;
	s->bcr[0] = 0x0005;          /* MSRDA */
	s->bcr[1] = 0x0005;          /* MSWRA */
	s->bcr[BCR_MC] = 0x0002;     /* ASEL */
	s->bcr[BCR_LNKST] = 0x00c0;
	s->bcr[5] = 0x0084;
	s->bcr[6] = 0x0088;
	s->bcr[7] = 0x0090;
	s->bcr[BCR_BSBC] = 0x9001;
	s->bcr[19] = 0x0000;         /* no EEPROM */
	s->bcr[BCR_PLAT] = 0xff06;
	for (unsigned i = 0; i < 3; i++)
		s->csr[CSR_PADR0 + i] = (uint16_t)(s->cfg.mac[2 * i] | s->cfg.mac[2 * i + 1] << 8);
	s->csr[CSR_CHIPID_LO] = (uint16_t)CHIP_ID;
	s->csr[CSR_CHIPID_HI] = (uint16_t)(CHIP_ID >> 16);
	soft_reset(s);
}

static void set_ring_len(struct pcnet *s, unsigned csr, unsigned log2)
{
	unsigned max = ssize32(s) ? 9 : 7;
	s->csr[csr] = (uint16_t)-(1u << (log2 > max ? max : log2));
}

/* CSR0 INIT: reads the initialization block at IADR (datasheet
 * "Initialization Block"). A block outside RAM is a bus error:
 * MERR, and the controller stays stopped. */
static void do_init(struct pcnet *s)
{
	uint32_t iadr = phys(s, s->csr[CSR_IADR_LO] | (uint32_t)s->csr[CSR_IADR_HI] << 16);
	const uint8_t *ib = gmem_ptr(s->cfg.mem, iadr, ssize32(s) ? 28 : 24);

	if (!s->bus_master || !ib) {
		s->st.drops[PCNET_DROP_BAD_DESC]++;
		s->csr[0] |= CSR0_MERR | CSR0_STOP;
		return;
	}
	if (ssize32(s)) {
		s->csr[CSR_MODE] = le16(ib);
		set_ring_len(s, CSR_RCVRL, ib[2] >> 4);
		set_ring_len(s, CSR_XMTRL, ib[3] >> 4);
		for (unsigned i = 0; i < 3; i++)
			s->csr[CSR_PADR0 + i] = le16(ib + 4 + 2 * i);
		for (unsigned i = 0; i < 4; i++)
			s->csr[CSR_LADRF0 + i] = le16(ib + 12 + 2 * i);
		s->csr[CSR_BADR_LO] = le16(ib + 20);
		s->csr[CSR_BADR_HI] = le16(ib + 22);
		s->csr[CSR_BADX_LO] = le16(ib + 24);
		s->csr[CSR_BADX_HI] = le16(ib + 26);
	} else {
		s->csr[CSR_MODE] = le16(ib);
		for (unsigned i = 0; i < 3; i++)
			s->csr[CSR_PADR0 + i] = le16(ib + 2 + 2 * i);
		for (unsigned i = 0; i < 4; i++)
			s->csr[CSR_LADRF0 + i] = le16(ib + 8 + 2 * i);
		s->csr[CSR_BADR_LO] = le16(ib + 16);
		s->csr[CSR_BADR_HI] = ib[18];
		set_ring_len(s, CSR_RCVRL, ib[19] >> 5);
		s->csr[CSR_BADX_LO] = le16(ib + 20);
		s->csr[CSR_BADX_HI] = ib[22];
		set_ring_len(s, CSR_XMTRL, ib[23] >> 5);
	}
	s->rx_idx = s->tx_idx = 0;
	s->csr[0] &= ~CSR0_STOP;
	s->csr[0] |= CSR0_IDON;
}

static void do_start(struct pcnet *s)
{
	s->csr[0] &= ~(CSR0_STOP | CSR0_TXON | CSR0_RXON);
	s->csr[0] |= CSR0_STRT;
	if (!(s->csr[CSR_MODE] & CSR15_DTX))
		s->csr[0] |= CSR0_TXON;
	if (!(s->csr[CSR_MODE] & CSR15_DRX))
		s->csr[0] |= CSR0_RXON;
}

/* CSR0 write (datasheet CSR0): STOP wins; W1C status bits; INEA as written;
 * INIT, STRT, TDMD act when written 1. */
static void csr0_write(struct pcnet *s, uint16_t v)
{
	if (v & CSR0_STOP) {
		s->csr[0] = CSR0_STOP;
		s->csr[4] &= ~CSR4_W1C;
		txirq_forget(&s->tint); /* no TINT from a stopped chip's timer */
		return;
	}
	s->csr[0] &= ~(v & CSR0_W1C);
	s->csr[0] = (uint16_t)((s->csr[0] & ~CSR0_INEA) | (v & CSR0_INEA));
	if (v & CSR0_INIT)
		do_init(s);
	if ((v & CSR0_STRT) && !((s->csr[0] & CSR0_MERR) && (s->csr[0] & CSR0_STOP)))
		do_start(s);
	if ((s->csr[0] & CSR0_RXON) && s->cfg.backend.rx_notify)
		s->cfg.backend.rx_notify(s->cfg.backend.ctx);
	if ((v & CSR0_TDMD) && (s->csr[0] & CSR0_TXON)) {
		s->st.kicks++;
		if (s->cfg.backend.kick)
			s->cfg.backend.kick(s->cfg.backend.ctx);
	}
}

static uint16_t csr_read(struct pcnet *s, unsigned n)
{
	switch (n) {
	case CSR_SWS:
		return s->bcr[BCR_SWS];
	case CSR_RCVRC:
		return (uint16_t)(ring_len(s, false) - s->rx_idx);
	case CSR_XMTRC:
		return (uint16_t)(ring_len(s, true) - s->tx_idx);
	default:
		return s->csr[n];
	}
}

static void sws_write(struct pcnet *s, uint16_t v)
{
	unsigned style = v & 0xff;

	if (style > 3)
		return; /* reserved styles: ignored */
	s->bcr[BCR_SWS] = (uint16_t)(style | (style ? BCR20_SSIZE32 : 0) | (v & 0x0200));
}

static void csr_write(struct pcnet *s, unsigned n, uint16_t v)
{
	switch (n) {
	case 0:
		csr0_write(s, v);
		break;
	case 3:
		s->csr[3] = v & CSR3_WRITABLE;
		break;
	case 4:
		s->csr[4] = (uint16_t)(((s->csr[4] & ~(v & CSR4_W1C)) & CSR4_W1C) | (v & ~CSR4_W1C & ~CSR4_UINTCMD));
		if (v & CSR4_UINTCMD)
			s->csr[4] |= CSR4_UINT;
		break;
	case CSR_SWS:
		sws_write(s, v);
		break;
	case CSR_CHIPID_LO:
	case CSR_CHIPID_HI:
	case CSR_RCVRC:
	case CSR_XMTRC:
		break; /* read only */
	case CSR_RCVRL:
	case CSR_XMTRL:
		s->csr[n] = v;
		if (s->csr[0] & CSR0_STOP) /* ring positions restart */
			s->rx_idx = s->tx_idx = 0;
		break;
	default:
		s->csr[n] = v;
		break;
	}
	pcnet_update_irq(s);
}

static uint16_t bcr_read(struct pcnet *s, unsigned n)
{
	if (n >= PCNET_NR_BCR)
		return 0;
	if (n == BCR_LNKST) /* link is always up: LEDOUT follows LNKSTE */
		return s->bcr[n] | BCR4_LEDOUT;
	return s->bcr[n];
}

static void bcr_write(struct pcnet *s, unsigned n, uint16_t v)
{
	switch (n) {
	case BCR_SWS:
		sws_write(s, v);
		break;
	case BCR_MC:
	case BCR_LNKST:
	case 5:
	case 6:
	case 7:
	case BCR_FDC:
	case BCR_BSBC:
	case BCR_PLAT:
	case 32: case 33: case 34: case 35:
		s->bcr[n] = v;
		break;
	default:
		break; /* read-only or unmodelled */
	}
}

/* ---- register file ---- */

static uint64_t pcnet_io_read(void *opaque, uint64_t off, unsigned size)
{
	struct pcnet *s = opaque;
	uint64_t v = ~0ull;

	pthread_mutex_lock(&s->lock);
	if (off < IO_APROM_END) {
		s->st.access[PCNET_ACC_APROM]++;
		v = 0;
		for (unsigned i = 0; i < size && off + i < IO_APROM_END; i++)
			v |= (uint64_t)s->aprom[off + i] << (8 * i);
		goto out;
	}
	if (s->dwio ? size != 4 : size != 2) {
		s->st.access[PCNET_ACC_OTHER]++;
		goto out; /* wrong width for the mode: ignored */
	}
	if (off == (s->dwio ? IO_DWIO_RDP : IO_WIO_RDP)) {
		s->st.access[PCNET_ACC_RDP_READ]++;
		v = csr_read(s, s->rap);
	} else if (off == (s->dwio ? IO_DWIO_RAP : IO_WIO_RAP)) {
		s->st.access[PCNET_ACC_RAP_READ]++;
		v = s->rap;
	} else if (off == (s->dwio ? IO_DWIO_RESET : IO_WIO_RESET)) {
		s->st.access[PCNET_ACC_RESET]++;
		soft_reset(s);
		v = 0;
	} else if (off == (s->dwio ? IO_DWIO_BDP : IO_WIO_BDP)) {
		s->st.access[PCNET_ACC_BDP_READ]++;
		v = bcr_read(s, s->rap);
	} else {
		s->st.access[PCNET_ACC_OTHER]++;
	}
	if (s->dwio && v != ~0ull)
		v &= 0xffff; /* upper 16 bits read 0 in DWIO */
out:
	pthread_mutex_unlock(&s->lock);
	return v;
}

static void pcnet_io_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
	struct pcnet *s = opaque;
	uint16_t v = (uint16_t)val;

	pthread_mutex_lock(&s->lock);
	if (off < IO_APROM_END) {
		s->st.access[PCNET_ACC_APROM]++; /* APROM write enable (BCR2) not modelled */
		goto out;
	}
	if (!s->dwio && size == 4 && off == IO_WIO_RDP)
		s->dwio = true; /* "DWIO mode is entered by a DWord write to RDP" */
	if (s->dwio ? size != 4 : size != 2) {
		s->st.access[PCNET_ACC_OTHER]++;
		goto out;
	}
	if (off == (s->dwio ? IO_DWIO_RDP : IO_WIO_RDP)) {
		s->st.access[PCNET_ACC_RDP_WRITE]++;
		csr_write(s, s->rap, v);
	} else if (off == (s->dwio ? IO_DWIO_RAP : IO_WIO_RAP)) {
		s->st.access[PCNET_ACC_RAP_WRITE]++;
		s->rap = v & 0x7f;
	} else if (off == (s->dwio ? IO_DWIO_BDP : IO_WIO_BDP)) {
		s->st.access[PCNET_ACC_BDP_WRITE]++;
		bcr_write(s, s->rap, v);
	} else {
		s->st.access[PCNET_ACC_OTHER]++; /* RESET writes and holes */
	}
out:
	pthread_mutex_unlock(&s->lock);
}

static const struct io_ops pcnet_io_ops = { .read = pcnet_io_read, .write = pcnet_io_write };

/* ---- PCI ---- */

/* Tracks bus mastering (no DMA without it, as on a real bus) and moves the
 * coalesced RAP windows with the I/O BAR. Runs under the PCI bus lock. */
static void pcnet_cfg_write(struct pci_dev *dev, unsigned off, unsigned size, uint32_t value)
{
	struct pcnet *s = container_of(dev, struct pcnet, pci);
	uint16_t cmd = (uint16_t)pci_cfg_get(dev, PCI_COMMAND, 2);
	/* Where the bus really decodes the BAR (0 when it overlaps another
	 * region): a window must never cover someone else's ports. */
	uint64_t base = (cmd & PCI_COMMAND_IO) ? dev->bar_mapped[0] : 0;

	(void)off;
	(void)size;
	(void)value;
	pthread_mutex_lock(&s->zone_lock);
	pthread_mutex_lock(&s->lock);
	s->bus_master = cmd & PCI_COMMAND_MASTER;
	s->io_base = base;
	pthread_mutex_unlock(&s->lock);
	if (base != s->coalesced_base && (s->cfg.opts & PCNET_OPT_COALESCE_RAP) &&
	    s->cfg.accel.coalesce_add) {
		/* Only the word RAP at 12h (WIO, what pcnet32 uses): a window over
		 * the DWIO RAP at 14h-17h would also swallow WIO's BDP at 16h, so
		 * DWIO RAP writes exit. */
		if (s->coalesced_base)
			s->cfg.accel.coalesce_del(s->cfg.accel.ctx, IO_PIO,
						  s->coalesced_base + IO_WIO_RAP, 2);
		s->coalesced_base = 0;
		if (base && s->cfg.accel.coalesce_add(s->cfg.accel.ctx, IO_PIO, base + IO_WIO_RAP, 2,
						       &s->rap_drained) == 0)
			s->coalesced_base = base;
	}
	pthread_mutex_unlock(&s->zone_lock);
	/* The RDP window (TDMD deferral) follows the BAR and I/O decode too. */
	if (pcnet_defer_enabled(s))
		pcnet_defer_sync(s);
}

void pcnet_pci_sync(struct pcnet *s)
{
	pcnet_cfg_write(&s->pci, PCI_COMMAND, 2, 0);
}

struct pcnet *pcnet_new(const struct pcnet_config *cfg)
{
	struct pcnet *s = calloc(1, sizeof(*s));
	unsigned sum = 0;

	if (!s)
		return NULL;
	s->cfg = *cfg;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->zone_lock, NULL);
	/* TINT coalescing is part of send combining */
	txirq_init(&s->tint, cfg->opts & PCNET_OPT_SEND_COMBINE ? cfg->tx_irq_frames : 0,
		   cfg->tx_irq_ns, cfg->backend.arm_timer, cfg->backend.ctx);
	memcpy(s->aprom, cfg->mac, 6);
	s->aprom[14] = s->aprom[15] = 0x57; /* 'W': what pcnet-compatible PROMs hold */
	for (unsigned i = 0; i < 12; i++)
		sum += s->aprom[i];
	sum += 0x57 * 2;
	s->aprom[12] = (uint8_t)sum;
	s->aprom[13] = (uint8_t)(sum >> 8);
	hard_reset(s);

	pci_cfg_set16(&s->pci, PCI_VENDOR_ID, PCNET_VENDOR_ID);
	pci_cfg_set16(&s->pci, PCI_DEVICE_ID, PCNET_DEVICE_ID);
	pci_cfg_set8(&s->pci, PCI_REVISION_ID, 0x10);
	pci_cfg_set8(&s->pci, PCI_CLASS_PROG, 0x00);
	pci_cfg_set16(&s->pci, PCI_CLASS_DEVICE, 0x0200); /* network, Ethernet */
	pci_cfg_set16(&s->pci, PCI_SUBSYSTEM_VENDOR_ID, PCNET_VENDOR_ID);
	pci_cfg_set16(&s->pci, PCI_SUBSYSTEM_ID, PCNET_DEVICE_ID);
	pci_cfg_set8(&s->pci, PCI_MIN_GNT, 0x06);
	pci_cfg_set8(&s->pci, PCI_MAX_LAT, 0xff);
	s->pci.bar[0] = (struct pci_bar_desc){
		.size = PCNET_IO_SIZE, .io = true, .ops = &pcnet_io_ops, .opaque = s,
		.name = cfg->name ? cfg->name : "pcnet",
	};
	s->pci.cfg_write = pcnet_cfg_write;
	return s;
}

void pcnet_free(struct pcnet *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->zone_lock);
	free(s);
}

struct pci_dev *pcnet_pci_dev(struct pcnet *s)
{
	return &s->pci;
}

void pcnet_get_stats(struct pcnet *s, struct pcnet_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->st;
	out->tint_deferred = s->tint.deferred;
	pthread_mutex_unlock(&s->lock);
	out->rap_coalesced = __atomic_load_n(&s->rap_drained, __ATOMIC_RELAXED);
	out->rdp_coalesced = __atomic_load_n(&s->rdp_drained, __ATOMIC_RELAXED);
}

uint16_t pcnet_csr(struct pcnet *s, unsigned n)
{
	uint16_t v;

	pthread_mutex_lock(&s->lock);
	v = n < PCNET_NR_CSR ? csr_read(s, n) : 0;
	pthread_mutex_unlock(&s->lock);
	return v;
}

uint16_t pcnet_bcr(struct pcnet *s, unsigned n)
{
	uint16_t v;

	pthread_mutex_lock(&s->lock);
	v = bcr_read(s, n);
	pthread_mutex_unlock(&s->lock);
	return v;
}

const char *pcnet_drop_name(enum pcnet_drop d)
{
	static const char *const names[] = { "no_rx_buffer", "bad_descriptor", "oversize", "backend_error" };
	return (unsigned)d < PCNET_DROP_COUNT ? names[d] : "?";
}

const char *pcnet_access_name(enum pcnet_access a)
{
	static const char *const names[] = { "aprom", "rap_read", "rap_write", "rdp_read", "rdp_write",
					     "bdp_read", "bdp_write", "reset", "other" };
	return (unsigned)a < PCNET_ACC_COUNT ? names[a] : "?";
}

/* ---- the network-device layer (netdev.h) ---- */

static void *model_create(const struct netdev_config *c)
{
	struct pcnet_config pc = {
		.mem = c->mem, .irq = c->irq, .backend = c->backend, .accel = c->accel,
		.opts = (c->opts & NETDEV_OPT_COALESCE ? PCNET_OPT_COALESCE_RAP : 0) |
			(c->opts & NETDEV_OPT_COMBINE ? PCNET_OPT_SEND_COMBINE : 0) |
			(c->opts & NETDEV_OPT_IRQFD ? PCNET_OPT_IRQFD : 0),
		.tx_irq_frames = c->tx_irq_frames, .tx_irq_ns = c->tx_irq_ns,
		.tx_defer_ns = c->tx_defer_ns, .name = c->name,
	};

	memcpy(pc.mac, c->mac, 6);
	return pcnet_new(&pc);
}

static void model_free(void *dev) { pcnet_free(dev); }
static struct pci_dev *model_pci_dev(void *dev) { return pcnet_pci_dev(dev); }
static void model_pci_sync(void *dev) { pcnet_pci_sync(dev); }
static void model_rx_drop(void *dev, size_t len) { pcnet_rx_drop(dev, len); }
static unsigned model_tx_run(void *dev, uint64_t kicks) { return pcnet_tx_run(dev, kicks); }
static void model_tx_timer(void *dev) { pcnet_tx_timer(dev); }
static void model_tx_poll(void *dev) { pcnet_tx_poll(dev); }

/* No offloads: the virtio_net_hdr from the tap is not needed. */
static int model_rx(void *dev, const uint8_t *hdr, const uint8_t *frame, size_t len)
{
	(void)hdr;
	return pcnet_rx(dev, frame, len);
}

_Static_assert(PCNET_BATCH_BUCKETS == NETDEV_BATCH_BUCKETS, "TX batch histograms differ");

/* Exits: every register access but the writes that came through a
 * coalesced window (a hostile byte write there counts as "other", hence
 * the clamps; the total is exact). */
static void model_stats(void *dev, struct netdev_stats *o)
{
	struct pcnet_stats st;
	uint64_t total = 0;

	pcnet_get_stats(dev, &st);
	*o = (struct netdev_stats){
		.tx_frames = st.tx_frames, .tx_bytes = st.tx_bytes,
		.rx_frames = st.rx_frames, .rx_bytes = st.rx_bytes, .rx_filtered = st.rx_filtered,
		.irqs = st.irqs, .kicks = st.kicks, .tx_runs = st.tx_runs,
		.tx_irq_deferred = st.tint_deferred, .tx_irq_timer = st.tint_timer,
	};
	memcpy(o->tx_batch, st.tx_batch, sizeof(o->tx_batch));
	for (unsigned i = 0; i < PCNET_DROP_COUNT; i++)
		netdev_count(o->drops, &o->nr_drops, pcnet_drop_name(i), st.drops[i]);
	for (unsigned i = 0; i < PCNET_ACC_COUNT; i++)
		total += st.access[i];
	o->exits_total = total - MIN(st.rap_coalesced + st.rdp_coalesced, total);
	st.access[PCNET_ACC_RAP_WRITE] -= MIN(st.rap_coalesced, st.access[PCNET_ACC_RAP_WRITE]);
	st.access[PCNET_ACC_RDP_WRITE] -= MIN(st.rdp_coalesced, st.access[PCNET_ACC_RDP_WRITE]);
	for (unsigned i = 0; i < PCNET_ACC_COUNT; i++)
		netdev_count(o->exits, &o->nr_exits, pcnet_access_name(i), st.access[i]);
	netdev_count(o->extra, &o->nr_extra, "rap_coalesced", st.rap_coalesced);
	netdev_count(o->extra, &o->nr_extra, "rdp_coalesced", st.rdp_coalesced);
	netdev_count(o->extra, &o->nr_extra, "tx_defer_entered", st.defer_entered);
	netdev_count(o->extra, &o->nr_extra, "tx_busy_runs_max", st.busy_runs_max);
	netdev_count(o->extra, &o->nr_extra, "tx_kick_polls", st.defer_polls);
}

const struct netdev_model pcnet_model = {
	.name = "pcnet", .msi_vectors = 0, .coalesced_writes = true,
	.create = model_create, .free = model_free, .pci_dev = model_pci_dev,
	.pci_sync = model_pci_sync, .rx = model_rx, .rx_drop = model_rx_drop,
	.tx_run = model_tx_run, .tx_timer = model_tx_timer, .tx_poll = model_tx_poll,
	.stats = model_stats,
};
