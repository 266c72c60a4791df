/* pcnet_tx.c: the transmit side of the AMD Am79C970A PCnet-PCI II
 * (datasheet, AMD publication 19436):
 *   - "Transmit Descriptor Table Entry" (TMD0-3) and "Transmit Operation":
 *     a frame is STP ... ENP, descriptors given back last to first, BUFF and
 *     UFLO on a broken chain, APAD_XMT padding, TINT and TXSTRT;
 *   - "Interrupts": TINT, coalesced per N frames or T (pcnet.h);
 *   - "I/O Resources": the word RDP (10h) as a coalesced window while TDMD
 *     deferral is on (pcnet.h).
 * Descriptors and buffers are reached through gmem_ptr(); every walk is
 * bounded by the ring length.
 */
#include "devices/pcnet_internal.h"

#include <string.h>

/* ---- transmit ---- */

static void count_batch(struct pcnet *s, unsigned n)
{
	batch_count(s->st.tx_batch, PCNET_BATCH_BUCKETS, n);
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

	if (!pcnet_desc_read(s, true, idx, &first)) {
		tx_bus_error(s);
		return -1;
	}
	if (!(first.status & DESC_OWN))
		return 0;
	/* Walk the chain to ENP, at most the ring length. */
	for (used = 0; used < n; used++) {
		uint32_t i = (idx + used) % n;
		const uint8_t *buf;

		if (!pcnet_desc_read(s, true, i, &d)) {
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
		if (!pcnet_desc_read(s, true, (idx + (uint32_t)k) % n, &c) || !(c.status & DESC_OWN))
			continue;
		c.status &= (uint16_t)~DESC_OWN;
		c.misc = 0;
		if (bad && !err_set) {
			c.status |= DESC_ERR;
			c.misc = TMD2_BUFF | TMD2_UFLO;
			err_set = true;
		}
		pcnet_desc_write(s, &c);
	}
	s->tx_idx = (idx + last + 1) % n;
	s->tint.pending++; /* TINT: set by pcnet_tx_run, maybe coalesced */
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
	static const uint8_t no_offload[NETDEV_HDR_LEN];
	const struct iovec iov[2] = { { (void *)no_offload, sizeof(no_offload) }, { s->txbuf, len } };

	if (s->cfg.backend.tx && s->cfg.backend.tx(s->cfg.backend.ctx, iov, 2) < 0) {
		s->st.drops[PCNET_DROP_BACKEND]++;
		return 1;
	}
	s->st.tx_frames++;
	s->st.tx_bytes += len;
	return 1;
}

/* TX completion interrupt: with coalescing (send combining, N > 1 and a
 * timer; set up in pcnet_new), at most one TINT per N frames or T after the
 * first frame not yet signalled, and at once after a quiet gap of T or more
 * (devices/txirq.h). */

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
	if (txirq_after_run(&s->tint, 0, ring_len(s, true), error || !busy, tint_bound_ns(s)))
		s->csr[0] |= CSR0_TINT;
}

bool pcnet_defer_enabled(const struct pcnet *s)
{
	return (s->cfg.opts & PCNET_OPT_SEND_COMBINE) && s->cfg.tx_defer_ns && s->cfg.backend.arm_poll &&
	       s->cfg.accel.coalesce_add;
}

/* Registers or removes the RDP window to match defer_want and the BAR;
 * starts or stops the poll timer with it. Device lock not held (removing a
 * window drains the ring, which writes our registers). */
void pcnet_defer_sync(struct pcnet *s)
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
	if (!pcnet_defer_enabled(s) || s->defer_want || s->defer_failed)
		return false;
	s->busy_runs = gap < PCNET_DEFER_GAP_NS ? s->busy_runs + 1 : 0;
	if (s->busy_runs > s->st.busy_runs_max)
		s->st.busy_runs_max = s->busy_runs;
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
	pcnet_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	if (defer_on)
		pcnet_defer_sync(s);
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
		pcnet_defer_sync(s);
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
	bool pending;

	pthread_mutex_lock(&s->lock);
	if (txirq_expired(&s->tint, &pending)) {
		if (pending) {
			s->st.tint_timer++;
			s->csr[0] |= CSR0_TINT;
		}
		pcnet_update_irq(s);
	}
	pthread_mutex_unlock(&s->lock);
}
