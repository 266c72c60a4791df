/* pcnet_rx.c: the receive side of the AMD Am79C970A PCnet-PCI II
 * (datasheet, AMD publication 19436):
 *   - "Address Matching": PADR, broadcast unless DRCVBC, the LADRF
 *     multicast hash, PROM;
 *   - "Receive Descriptor Table Entry" (RMD0-3) and "Receive Operation":
 *     frames padded to 60 bytes with the FCS appended, chained over
 *     descriptors, STP given back last, BUFF when the ring is too small;
 *     MISS and CSR112 for frames lost for want of a descriptor; RINT.
 * Descriptors and buffers are reached through gmem_ptr(); every walk is
 * bounded by the ring length.
 */
#include "devices/pcnet_internal.h"

#include <errno.h>
#include <string.h>

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
	pcnet_update_irq(s);
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
		if (!pcnet_desc_read(s, false, (idx + used) % n, &d)) {
			s->st.drops[PCNET_DROP_BAD_DESC]++;
			s->csr[0] |= CSR0_MERR;
			s->csr[0] &= ~CSR0_RXON;
			pcnet_update_irq(s);
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
			pcnet_update_irq(s);
			goto out;
		}
		have += d.len;
	}
	if (have < total) {
		/* Every descriptor of the ring is too small: BUFF error on the
		 * first, the frame is lost. */
		if (pcnet_desc_read(s, false, idx, &d)) {
			d.status = (uint16_t)((d.status & ~DESC_OWN) | DESC_ERR | RMD_BUFF | RMD_STP);
			pcnet_desc_write(s, &d);
		}
		s->rx_idx = (idx + 1) % n;
		s->st.drops[PCNET_DROP_BAD_DESC]++;
		s->csr[0] |= CSR0_RINT;
		pcnet_update_irq(s);
		goto out;
	}
	/* Copy, then hand the descriptors back, the first (STP) last. */
	{
		uint32_t off = 0;
		for (uint32_t k = 0; k < used; k++) {
			uint32_t chunk;
			uint8_t *dst;
			/* Read again: another vCPU may have changed it meanwhile. */
			if (!pcnet_desc_read(s, false, (idx + k) % n, &d))
				continue;
			chunk = total - off < d.len ? total - off : d.len;
			dst = gmem_ptr(s->cfg.mem, d.addr, chunk);
			if (dst)
				memcpy(dst, s->rxbuf + off, chunk);
			off += chunk;
		}
		for (int k = (int)used - 1; k >= 0; k--) {
			if (!pcnet_desc_read(s, false, (idx + (uint32_t)k) % n, &d))
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
			pcnet_desc_write(s, &d);
		}
	}
	s->rx_idx = (idx + used) % n;
	s->st.rx_frames++;
	s->st.rx_bytes += len;
	s->csr[0] |= CSR0_RINT;
	pcnet_update_irq(s);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}
