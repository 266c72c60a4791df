/* pcnet_internal.h: what the pcnet*.c files share with one another (the
 * register and descriptor bits they both use, the device state); the rest
 * of the monitor uses only pcnet.h.
 *   pcnet.c     registers (APROM, RAP/RDP/BDP, CSRs, BCRs), the init block,
 *               resets, descriptor access, interrupts, PCI, new/free/stats
 *   pcnet_tx.c  the transmit ring, TINT coalescing, TDMD deferral
 *   pcnet_rx.c  the receive ring and the address filter
 */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/txirq.h"
#include "devices/pcnet.h"

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
	struct txirq tint;         /* TINT coalescing (devices/txirq.h) */
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

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
/* CSR76/78 hold the ring length as a two's complement; bounded here so that
 * no walk exceeds PCNET_RING_MAX whatever the guest wrote. */
static inline uint32_t ring_len(const struct pcnet *s, bool tx)
{
	uint32_t n = (uint16_t)-s->csr[tx ? CSR_XMTRL : CSR_RCVRL];
	return n == 0 ? 1 : n > PCNET_RING_MAX ? PCNET_RING_MAX : n;
}

/* pcnet.c */
/* Reads descriptor idx of a ring; false when it lies outside RAM. */
bool pcnet_desc_read(struct pcnet *s, bool tx, uint32_t idx, struct desc *d);
/* Writes back misc (TMD2/RMD2) then the status word, OWN last. */
void pcnet_desc_write(struct pcnet *s, const struct desc *d);
/* Recomputes CSR0 INTR/ERR and sets INTA to match (lock held). */
void pcnet_update_irq(struct pcnet *s);

/* pcnet_tx.c */
/* TDMD deferral is configured (send combining, tx_defer_ns, arm_poll and
 * coalesced PIO). */
bool pcnet_defer_enabled(const struct pcnet *s);
/* Registers or removes the RDP window to match defer_want and the BAR;
 * device lock not held. */
void pcnet_defer_sync(struct pcnet *s);
