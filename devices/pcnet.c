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
 */
#include "pcnet.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* I/O map (datasheet "I/O Resources": word and double-word I/O modes). */
#define IO_APROM_END 0x10
#define IO_WIO_RDP 0x10
#define IO_WIO_RAP 0x12
#define IO_WIO_RESET 0x14
#define IO_WIO_BDP 0x16
#define IO_DWIO_RDP 0x10
#define IO_DWIO_RAP 0x14
#define IO_DWIO_RESET 0x18
#define IO_DWIO_BDP 0x1c

/* CSR0 controller status (datasheet CSR0). */
#define CSR0_INIT 0x0001
#define CSR0_STRT 0x0002
#define CSR0_STOP 0x0004
#define CSR0_TDMD 0x0008
#define CSR0_TXON 0x0010
#define CSR0_RXON 0x0020
#define CSR0_INEA 0x0040
#define CSR0_INTR 0x0080
#define CSR0_IDON 0x0100
#define CSR0_TINT 0x0200
#define CSR0_RINT 0x0400
#define CSR0_MERR 0x0800
#define CSR0_MISS 0x1000
#define CSR0_CERR 0x2000
#define CSR0_BABL 0x4000
#define CSR0_ERR 0x8000
#define CSR0_W1C (CSR0_BABL | CSR0_CERR | CSR0_MISS | CSR0_MERR | CSR0_RINT | CSR0_TINT | CSR0_IDON)

/* CSR3 interrupt masks (datasheet CSR3). */
#define CSR3_BABLM 0x4000
#define CSR3_MISSM 0x1000
#define CSR3_MERRM 0x0800
#define CSR3_RINTM 0x0400
#define CSR3_TINTM 0x0200
#define CSR3_IDONM 0x0100
#define CSR3_WRITABLE 0x5f7c
/* CSR4 test and features control (datasheet CSR4). */
#define CSR4_APAD_XMT 0x0800
#define CSR4_MFCO 0x0200
#define CSR4_MFCOM 0x0100
#define CSR4_UINTCMD 0x0080
#define CSR4_UINT 0x0040
#define CSR4_RCVCCO 0x0020
#define CSR4_RCVCCOM 0x0010
#define CSR4_TXSTRT 0x0008
#define CSR4_TXSTRTM 0x0004
#define CSR4_JAB 0x0002
#define CSR4_JABM 0x0001
#define CSR4_W1C (CSR4_MFCO | CSR4_UINT | CSR4_RCVCCO | CSR4_TXSTRT | CSR4_JAB)
#define CSR4_RESET 0x0115
/* CSR15 mode (datasheet CSR15, loaded from the init block's MODE). */
#define CSR15_DRX 0x0001
#define CSR15_DTX 0x0002
#define CSR15_DRCVBC 0x4000
#define CSR15_PROM 0x8000

#define CSR_IADR_LO 1
#define CSR_IADR_HI 2
#define CSR_LADRF0 8   /* 8-11 */
#define CSR_PADR0 12   /* 12-14 */
#define CSR_MODE 15
#define CSR_BADR_LO 24 /* receive ring base */
#define CSR_BADR_HI 25
#define CSR_BADX_LO 30 /* transmit ring base */
#define CSR_BADX_HI 31
#define CSR_SWS 58     /* alias of BCR20 */
#define CSR_RCVRC 72
#define CSR_XMTRC 74
#define CSR_RCVRL 76
#define CSR_XMTRL 78
#define CSR_CHIPID_LO 88
#define CSR_CHIPID_HI 89
#define CSR_MISSED 112
#define PCNET_NR_CSR 128
#define PCNET_NR_BCR 64
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

/* Descriptor status (RMD1/TMD1 bits 31:16 in 32-bit styles, the high byte
 * in style 0). */
#define DESC_OWN 0x8000
#define DESC_ERR 0x4000
#define RMD_BUFF 0x0400
#define RMD_STP 0x0200
#define RMD_ENP 0x0100
#define RMD_PAM 0x0040
#define RMD_BAM 0x0010
#define TMD_STP 0x0200
#define TMD_ENP 0x0100
#define TMD2_BUFF 0x80000000u
#define TMD2_UFLO 0x40000000u

#define FCS_LEN 4

struct pcnet {
	struct pci_dev pci; /* first: pcnet_pci_dev() and container_of */
	pthread_mutex_t lock;
	struct pcnet_config cfg;
	uint8_t aprom[16];
	uint16_t csr[PCNET_NR_CSR];
	uint16_t bcr[PCNET_NR_BCR];
	uint16_t rap;
	bool dwio;
	bool irq_level;
	bool bus_master;
	uint32_t rx_idx, tx_idx;   /* next descriptor */
	unsigned tint_pending;     /* frames completed, TINT not yet set (coalescing) */
	bool tint_armed;           /* the coalescing timer is armed */
	uint64_t last_run_ns;      /* clock at the previous pcnet_tx_run (rate test) */
	uint64_t rap_drained;      /* written by the monitor's coalesced drain */
	uint64_t rdp_drained;
	/* TDMD deferral (pcnet.h): decided under lock, applied under zone_lock. */
	bool defer_want;           /* demands are frequent: the RDP window should be on */
	bool defer_failed;         /* KVM refused the window: deferral stays off */
	unsigned busy_runs;        /* TX runs in a row that came soon after the previous */
	unsigned idle_polls;       /* poll ticks in a row without a demand */
	uint64_t kicks_at_poll;    /* st.kicks at the previous tick */
	/* Coalesced windows. Lock order: PCI bus lock, zone_lock, the monitor's
	 * ring lock (its drain writes registers), lock. */
	pthread_mutex_t zone_lock;
	uint64_t io_base;          /* decoded I/O BAR base, 0 when not decoded */
	uint64_t coalesced_base;   /* BAR base of the registered RAP window, 0 none */
	uint64_t rdp_base;         /* BAR base of the registered RDP window, 0 none */
	struct pcnet_stats st;
	uint8_t txbuf[PCNET_FRAME_MAX + 64];
	uint8_t rxbuf[PCNET_FRAME_MAX + FCS_LEN];
};

/* ---- descriptors in software styles 0, 2 and 3 ---- */

struct desc {
	uint64_t gpa;     /* of the descriptor */
	uint32_t addr;    /* buffer */
	uint32_t len;     /* buffer length from BCNT */
	uint16_t status;
	uint32_t misc;    /* TMD2 / RMD2 (MCNT) */
};

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
static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static uint32_t ring_base(const struct pcnet *s, bool tx)
{
	unsigned lo = tx ? CSR_BADX_LO : CSR_BADR_LO;
	return phys(s, s->csr[lo] | (uint32_t)s->csr[lo + 1] << 16);
}
/* CSR76/78 hold the ring length as a two's complement; bounded here so that
 * no walk exceeds PCNET_RING_MAX whatever the guest wrote. */
static uint32_t ring_len(const struct pcnet *s, bool tx)
{
	uint32_t n = (uint16_t)-s->csr[tx ? CSR_XMTRL : CSR_RCVRL];
	return n == 0 ? 1 : n > PCNET_RING_MAX ? PCNET_RING_MAX : n;
}

/* Reads descriptor idx of a ring; false when it lies outside RAM. */
static bool desc_read(struct pcnet *s, bool tx, uint32_t idx, struct desc *d)
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
static void desc_write(struct pcnet *s, const struct desc *d)
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

static void update_irq(struct pcnet *s)
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
	s->tint_pending = 0; /* an armed timer finds nothing to signal */
	update_irq(s);
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
		s->tint_pending = 0; /* no TINT from a stopped chip's timer */
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
	update_irq(s);
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

/* ---- transmit ---- */

static void count_batch(struct pcnet *s, unsigned n)
{
	unsigned b = 0;

	while (b + 1 < PCNET_BATCH_BUCKETS && (2u << b) <= n)
		b++;
	s->st.tx_batch[b]++;
	s->st.tx_runs++;
}

/* Bus error on a descriptor or buffer: MERR, the transmitter stops. */
static void tx_bus_error(struct pcnet *s)
{
	s->st.drops[PCNET_DROP_BAD_DESC]++;
	s->csr[0] |= CSR0_MERR;
	s->csr[0] &= ~CSR0_TXON;
}

/* Sends the frame starting at tx_idx. Returns 1 sent (or dropped after
 * consuming its descriptors), 0 nothing ready, -1 transmitter stopped. */
static int tx_one(struct pcnet *s)
{
	uint32_t n = ring_len(s, true), idx = s->tx_idx, len = 0;
	struct desc d, first;
	bool oversize = false, bad = false, err_set = false;
	uint32_t used, last;

	if (!desc_read(s, true, idx, &first)) {
		tx_bus_error(s);
		return -1;
	}
	if (!(first.status & DESC_OWN))
		return 0;
	/* Walk the chain to ENP, at most the ring length. */
	for (used = 0; used < n; used++) {
		uint32_t i = (idx + used) % n;
		const uint8_t *buf;

		if (!desc_read(s, true, i, &d)) {
			tx_bus_error(s);
			return -1;
		}
		if (!(d.status & DESC_OWN) || (used == 0 && !(d.status & TMD_STP)) ||
		    (used > 0 && (d.status & TMD_STP))) {
			/* Chain ends before ENP: the datasheet's BUFF + UFLO, and the
			 * transmitter turns off. Give back what we took. */
			bad = true;
			break;
		}
		buf = gmem_ptr(s->cfg.mem, d.addr, d.len);
		if (!buf) {
			bad = true;
			break;
		}
		if (len + d.len > PCNET_FRAME_MAX)
			oversize = true;
		else
			memcpy(s->txbuf + len, buf, d.len);
		if (!oversize)
			len += d.len;
		if (d.status & TMD_ENP)
			break;
	}
	if (used == n) /* no ENP in the whole ring */
		bad = true;
	last = used < n ? used : n - 1;
	/* Complete the descriptors from the last to the first (STP), so that the
	 * driver never sees a half-completed frame; on a chain error the last
	 * owned one gets ERR with BUFF and UFLO. */
	for (int k = (int)last; k >= 0; k--) {
		struct desc c;
		if (!desc_read(s, true, (idx + (uint32_t)k) % n, &c) || !(c.status & DESC_OWN))
			continue;
		c.status &= (uint16_t)~DESC_OWN;
		c.misc = 0;
		if (bad && !err_set) {
			c.status |= DESC_ERR;
			c.misc = TMD2_BUFF | TMD2_UFLO;
			err_set = true;
		}
		desc_write(s, &c);
	}
	s->tx_idx = (idx + last + 1) % n;
	s->tint_pending++; /* TINT: set by pcnet_tx_run, maybe coalesced */
	s->csr[4] |= CSR4_TXSTRT;
	if (bad) {
		s->st.drops[PCNET_DROP_BAD_DESC]++;
		s->csr[0] &= ~CSR0_TXON;
		return -1;
	}
	if (oversize) {
		s->st.drops[PCNET_DROP_OVERSIZE]++;
		return 1;
	}
	if ((s->csr[4] & CSR4_APAD_XMT) && len < PCNET_FRAME_MIN) {
		memset(s->txbuf + len, 0, PCNET_FRAME_MIN - len);
		len = PCNET_FRAME_MIN;
	}
	if (s->cfg.backend.tx && s->cfg.backend.tx(s->cfg.backend.ctx, s->txbuf, len) < 0) {
		s->st.drops[PCNET_DROP_BACKEND]++;
		return 1;
	}
	s->st.tx_frames++;
	s->st.tx_bytes += len;
	return 1;
}

/* TX completion interrupt: with coalescing (send combining, N > 1 and a
 * timer), at most one TINT per N frames or T after the first frame not yet
 * signalled, and at once after a quiet gap of T or more. */
static bool tint_coalesce(const struct pcnet *s)
{
	return (s->cfg.opts & PCNET_OPT_SEND_COMBINE) && s->cfg.tx_irq_frames > 1 &&
	       s->cfg.tx_irq_ns && s->cfg.backend.arm_timer;
}

static void tint_flush(struct pcnet *s)
{
	if (s->tint_pending)
		s->csr[0] |= CSR0_TINT;
	s->tint_pending = 0;
	if (s->tint_armed) {
		s->tint_armed = false;
		s->cfg.backend.arm_timer(s->cfg.backend.ctx, 0);
	}
}

/* The TINT delay bound: T; while TDMD is deferred, runs come one per poll
 * tick, so T shorter than a few ticks would still mean one interrupt per
 * run: then PCNET_DEFER_TINT_TICKS ticks. */
static uint64_t tint_bound_ns(const struct pcnet *s)
{
	uint64_t ticks = PCNET_DEFER_TINT_TICKS * s->cfg.tx_defer_ns;

	return s->defer_want && ticks > s->cfg.tx_irq_ns ? ticks : s->cfg.tx_irq_ns;
}

static void tint_after_run(struct pcnet *s, bool error, bool busy)
{
	unsigned n = s->cfg.tx_irq_frames, half = ring_len(s, true) / 2;

	if (!s->tint_pending)
		return;
	if (!tint_coalesce(s)) {
		s->csr[0] |= CSR0_TINT;
		s->tint_pending = 0;
		return;
	}
	if (n > half)
		n = half ? half : 1;
	if (error || !busy || s->tint_pending >= n) {
		tint_flush(s);
		return;
	}
	s->st.tint_deferred++;
	if (!s->tint_armed) {
		s->tint_armed = true;
		s->cfg.backend.arm_timer(s->cfg.backend.ctx, tint_bound_ns(s));
	}
}

static bool defer_enabled(const struct pcnet *s)
{
	return (s->cfg.opts & PCNET_OPT_SEND_COMBINE) && s->cfg.tx_defer_ns && s->cfg.backend.arm_poll &&
	       s->cfg.accel.coalesce_add;
}

/* Registers or removes the RDP window to match defer_want and the BAR;
 * starts or stops the poll timer with it. Device lock not held (removing a
 * window drains the ring, which writes our registers). */
static void defer_sync(struct pcnet *s)
{
	uint64_t want;

	pthread_mutex_lock(&s->zone_lock);
	pthread_mutex_lock(&s->lock);
	want = s->defer_want ? s->io_base : 0;
	pthread_mutex_unlock(&s->lock);
	if (want != s->rdp_base) {
		if (s->rdp_base)
			s->cfg.accel.coalesce_del(s->cfg.accel.ctx, IO_PIO, s->rdp_base + IO_WIO_RDP, 2);
		s->rdp_base = 0;
		if (want && s->cfg.accel.coalesce_add(s->cfg.accel.ctx, IO_PIO, want + IO_WIO_RDP, 2,
						      &s->rdp_drained) == 0)
			s->rdp_base = want;
		if (want && !s->rdp_base) { /* no window (no room, no coalesced PIO): no deferral */
			pthread_mutex_lock(&s->lock);
			s->defer_want = false;
			s->defer_failed = true; /* for good: no retry every few runs */
			s->busy_runs = 0;
			pthread_mutex_unlock(&s->lock);
		}
		s->cfg.backend.arm_poll(s->cfg.backend.ctx, s->rdp_base ? s->cfg.tx_defer_ns : 0);
	}
	pthread_mutex_unlock(&s->zone_lock);
}

/* The demand rate, from the gap since the previous TX run (with no clock:
 * always high). Returns true when deferral should turn on now. */
static bool defer_rate(struct pcnet *s, uint64_t gap)
{
	if (!defer_enabled(s) || s->defer_want || s->defer_failed)
		return false;
	s->busy_runs = gap < PCNET_DEFER_GAP_NS ? s->busy_runs + 1 : 0;
	if (s->busy_runs < PCNET_DEFER_ENTER_RUNS)
		return false;
	s->defer_want = true;
	s->idle_polls = 0;
	s->kicks_at_poll = s->st.kicks;
	s->st.defer_entered++;
	return true;
}

unsigned pcnet_tx_run(struct pcnet *s, uint64_t kicks)
{
	unsigned sent = 0, limit;
	bool error = false, busy = true, defer_on;
	uint64_t gap = 0;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (s->cfg.backend.now_ns) {
		uint64_t now = s->cfg.backend.now_ns(s->cfg.backend.ctx);
		gap = s->last_run_ns ? now - s->last_run_ns : UINT64_MAX;
		busy = s->last_run_ns && gap < s->cfg.tx_irq_ns;
		s->last_run_ns = now;
	}
	defer_on = defer_rate(s, gap);
	/* While deferring, runs follow the poll ticks: the rate is high by
	 * definition, whatever the gap between two ticks. */
	if (s->defer_want)
		busy = true;
	limit = ring_len(s, true);
	if (!(s->cfg.opts & PCNET_OPT_SEND_COMBINE) && kicks < limit)
		limit = (unsigned)kicks;
	while (sent < limit && (s->csr[0] & CSR0_TXON) && s->bus_master) {
		r = tx_one(s);
		if (r <= 0)
			break;
		sent++;
	}
	error = r < 0;
	if (sent)
		count_batch(s, sent);
	tint_after_run(s, error, busy);
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (defer_on)
		defer_sync(s);
	return sent;
}

void pcnet_tx_poll(struct pcnet *s)
{
	bool off = false;

	pthread_mutex_lock(&s->lock);
	if (s->defer_want) {
		s->st.defer_polls++;
		if (s->st.kicks != s->kicks_at_poll) {
			s->kicks_at_poll = s->st.kicks;
			s->idle_polls = 0;
		} else if ((uint64_t)++s->idle_polls * s->cfg.tx_defer_ns >= PCNET_DEFER_IDLE_NS) {
			s->defer_want = false;
			s->busy_runs = 0;
			off = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (off)
		defer_sync(s);
}

bool pcnet_tx_deferring(struct pcnet *s)
{
	bool on;

	pthread_mutex_lock(&s->zone_lock);
	on = s->rdp_base != 0;
	pthread_mutex_unlock(&s->zone_lock);
	return on;
}

void pcnet_tx_timer(struct pcnet *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->tint_armed) {
		s->tint_armed = false;
		if (s->tint_pending) {
			s->st.tint_timer++;
			s->csr[0] |= CSR0_TINT;
			s->tint_pending = 0;
		}
		update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}

/* ---- receive ---- */

static uint32_t crc32_le(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	static bool ready;
	uint32_t c = ~0u;

	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t v = i;
			for (int k = 0; k < 8; k++)
				v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
			table[i] = v;
		}
		__atomic_store_n(&ready, true, __ATOMIC_RELEASE);
	}
	while (n--)
		c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

/* Address match (datasheet "Address Matching"): PADR, broadcast unless
 * DRCVBC, multicast through the LADRF hash (top 6 bits of the CRC), or all
 * in PROM mode. Returns the RMD1 match bits, or -1 for no match. */
static int address_match(struct pcnet *s, const uint8_t *dst)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t padr[6];

	for (unsigned i = 0; i < 3; i++) {
		padr[2 * i] = (uint8_t)s->csr[CSR_PADR0 + i];
		padr[2 * i + 1] = (uint8_t)(s->csr[CSR_PADR0 + i] >> 8);
	}
	if (!memcmp(dst, padr, 6))
		return RMD_PAM;
	if (!memcmp(dst, bcast, 6))
		return (s->csr[CSR_MODE] & CSR15_DRCVBC) && !(s->csr[CSR_MODE] & CSR15_PROM) ? -1 : RMD_BAM;
	if (s->csr[CSR_MODE] & CSR15_PROM)
		return 0;
	if (dst[0] & 1) {
		unsigned h = crc32_le(dst, 6) >> 26;
		if (s->csr[CSR_LADRF0 + h / 16] & (1u << (h % 16)))
			return 0x20; /* LAFM */
	}
	return -1;
}

/* Sets MISS (missed frame) and counts it in CSR112. */
static void rx_missed(struct pcnet *s)
{
	s->st.drops[PCNET_DROP_NO_RX_BUFFER]++;
	s->csr[CSR_MISSED]++;
	s->csr[0] |= CSR0_MISS;
	update_irq(s);
}

void pcnet_rx_drop(struct pcnet *s, size_t len)
{
	(void)len;
	pthread_mutex_lock(&s->lock);
	rx_missed(s);
	pthread_mutex_unlock(&s->lock);
}

int pcnet_rx(struct pcnet *s, const uint8_t *frame, size_t len)
{
	uint32_t n, idx, total, have = 0, used;
	struct desc d;
	int match, r = 0;

	pthread_mutex_lock(&s->lock);
	if (len > PCNET_FRAME_MAX) {
		s->st.drops[PCNET_DROP_OVERSIZE]++;
		goto out;
	}
	if (!(s->csr[0] & CSR0_RXON) || !s->bus_master) {
		rx_missed(s);
		goto out;
	}
	if (len < 6 || (match = address_match(s, frame)) < 0) {
		s->st.rx_filtered++;
		goto out;
	}
	memcpy(s->rxbuf, frame, len);
	if (len < PCNET_FRAME_MIN) {
		memset(s->rxbuf + len, 0, PCNET_FRAME_MIN - len);
		len = PCNET_FRAME_MIN;
	}
	put32(s->rxbuf + len, crc32_le(s->rxbuf, len));
	total = (uint32_t)len + FCS_LEN;

	/* Enough owned buffers for the whole frame? Look before writing. */
	n = ring_len(s, false);
	idx = s->rx_idx;
	for (used = 0; used < n && have < total; used++) {
		if (!desc_read(s, false, (idx + used) % n, &d)) {
			s->st.drops[PCNET_DROP_BAD_DESC]++;
			s->csr[0] |= CSR0_MERR;
			s->csr[0] &= ~CSR0_RXON;
			update_irq(s);
			goto out;
		}
		if (!(d.status & DESC_OWN)) {
			r = -EAGAIN; /* the driver has not given enough back yet */
			goto out;
		}
		if (!gmem_ptr(s->cfg.mem, d.addr, d.len)) {
			/* Buffer outside RAM: bus error, the receiver stops. */
			s->st.drops[PCNET_DROP_BAD_DESC]++;
			s->csr[0] |= CSR0_MERR;
			s->csr[0] &= ~CSR0_RXON;
			update_irq(s);
			goto out;
		}
		have += d.len;
	}
	if (have < total) {
		/* Every descriptor of the ring is too small: BUFF error on the
		 * first, the frame is lost. */
		if (desc_read(s, false, idx, &d)) {
			d.status = (uint16_t)((d.status & ~DESC_OWN) | DESC_ERR | RMD_BUFF | RMD_STP);
			desc_write(s, &d);
		}
		s->rx_idx = (idx + 1) % n;
		s->st.drops[PCNET_DROP_BAD_DESC]++;
		s->csr[0] |= CSR0_RINT;
		update_irq(s);
		goto out;
	}
	/* Copy, then hand the descriptors back, the first (STP) last. */
	{
		uint32_t off = 0;
		for (uint32_t k = 0; k < used; k++) {
			uint32_t chunk;
			uint8_t *dst;
			/* Read again: another vCPU may have changed it meanwhile. */
			if (!desc_read(s, false, (idx + k) % n, &d))
				continue;
			chunk = total - off < d.len ? total - off : d.len;
			dst = gmem_ptr(s->cfg.mem, d.addr, chunk);
			if (dst)
				memcpy(dst, s->rxbuf + off, chunk);
			off += chunk;
		}
		for (int k = (int)used - 1; k >= 0; k--) {
			if (!desc_read(s, false, (idx + (uint32_t)k) % n, &d))
				continue;
			d.status &= (uint16_t)~(DESC_OWN | DESC_ERR | 0x7cf0);
			if (k == 0)
				d.status |= RMD_STP | (uint16_t)match;
			if (k == (int)used - 1) {
				d.status |= RMD_ENP;
				d.misc = total & 0xfff; /* MCNT, with the FCS */
			} else {
				d.misc = 0;
			}
			desc_write(s, &d);
		}
	}
	s->rx_idx = (idx + used) % n;
	s->st.rx_frames++;
	s->st.rx_bytes += len;
	s->csr[0] |= CSR0_RINT;
	update_irq(s);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

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
	if (defer_enabled(s))
		defer_sync(s);
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
