/* test_pcnet.c: the Am79C970A model on fake guest memory, on a real PCI bus
 * and iobus, driven by the register sequences of Linux's pcnet32 (probe,
 * open, start_xmit, interrupt), with exact expected state; then hostile
 * rings: addresses outside RAM, zero and over-long lengths, chains without
 * ENP, bogus ring lengths, wrong access widths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/pci.h"
#include "devices/pcnet.h"

#define RAM_SIZE (256u << 10)
#define GSI 10
#define IB 0x1000      /* init block */
#define RXR 0x2000     /* rx ring */
#define TXR 0x3000     /* tx ring */
#define RXBUF 0x10000  /* rx buffers, 2 KiB each */
#define TXBUF 0x20000  /* tx buffers, 2 KiB each */
#define NRING 8
#define RDP 0x10
#define RAP 0x12
#define RESET 0x14
#define BDP 0x16

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct zone {
	uint64_t addr, len;
	bool on;
};

struct fixture {
	struct iobus bus;
	struct pci_bus *pb;
	struct gmem mem;
	struct fake_irq irq;
	struct fake_tx tx;
	struct pcnet *s;
	unsigned kicks;
	struct zone zones[4];
	unsigned nzones;
	uint16_t io;
	/* TX interrupt coalescing hooks: the timer requests and a fake clock. */
	unsigned arms, disarms;
	uint64_t armed_ns;
	uint64_t clock;
	/* TDMD deferral: the poll timer's state as the device set it. */
	uint64_t poll_ns;
	unsigned poll_arms;
};

/* make() hands these to the next device (coalescing tests set them). */
static unsigned next_irq_frames;
static uint64_t next_irq_ns;
static bool next_clock;
static uint64_t next_defer_ns;

static void arm_poll(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	f->poll_ns = ns;
	f->poll_arms++;
}

static void arm_timer(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	if (ns) {
		f->arms++;
		f->armed_ns = ns;
	} else {
		f->disarms++;
	}
}

static uint64_t fake_now(void *ctx)
{
	return ((struct fixture *)ctx)->clock;
}

static void kick(void *ctx)
{
	struct fixture *f = ctx;
	f->kicks++;
}

static int tx_sink(void *ctx, const struct iovec *iov, unsigned n)
{
	struct fixture *f = ctx;

	/* iov[0]: the virtio_net_hdr, zero (PCnet has no offloads) */
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, NETDEV_HDR_LEN);
	for (size_t i = 0; i < NETDEV_HDR_LEN; i++)
		assert_int_equal(((const uint8_t *)iov[0].iov_base)[i], 0);
	return fake_tx(&f->tx, iov[1].iov_base, iov[1].iov_len);
}

static int zone_add(void *ctx, enum io_space sp, uint64_t addr, uint64_t len, uint64_t *drained)
{
	struct fixture *f = ctx;
	(void)drained;
	assert_int_equal(sp, IO_PIO);
	f->zones[f->nzones++ % 4] = (struct zone){ addr, len, true };
	return 0;
}

static int zone_del(void *ctx, enum io_space sp, uint64_t addr, uint64_t len)
{
	struct fixture *f = ctx;
	(void)sp;
	for (unsigned i = 0; i < 4; i++)
		if (f->zones[i].addr == addr && f->zones[i].len == len)
			f->zones[i].on = false;
	return 0;
}

static uint32_t cfg_read(struct fixture *f, unsigned off)
{
	outl(&f->bus, 0xcf8, 0x80000000u | 1u << 11 | off);
	return inl(&f->bus, 0xcfc);
}

static void cfg_write(struct fixture *f, unsigned off, uint32_t v)
{
	outl(&f->bus, 0xcf8, 0x80000000u | 1u << 11 | off);
	outl(&f->bus, 0xcfc, v);
}

static struct fixture *make(unsigned opts)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct pcnet_config c = { .opts = opts, .name = "pcnet0", .tx_irq_frames = next_irq_frames,
				  .tx_irq_ns = next_irq_ns, .tx_defer_ns = next_defer_ns };

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	f->mem.size = RAM_SIZE;
	f->mem.host = calloc(1, RAM_SIZE);
	assert_non_null(f->mem.host);
	fake_irq_init(&f->irq, &c.irq, GSI);
	fake_tx_init(&f->tx);
	memcpy(c.mac, MAC, 6);
	c.mem = &f->mem;
	c.backend = (struct netdev_backend){ .kick = kick, .tx = tx_sink, .arm_timer = arm_timer,
					    .now_ns = next_clock ? fake_now : NULL,
					    .arm_poll = next_defer_ns ? arm_poll : NULL, .ctx = f };
	c.accel = (struct io_accel){ .coalesce_add = zone_add, .coalesce_del = zone_del, .ctx = f };
	f->s = pcnet_new(&c);
	assert_non_null(f->s);
	f->pb = pci_bus_new(&f->bus);
	assert_non_null(f->pb);
	assert_int_equal(pci_bus_attach(f->pb, &f->bus), 0);
	assert_int_equal(pci_bus_add(f->pb, pcnet_pci_dev(f->s), GSI), 0);
	pcnet_pci_sync(f->s);
	f->io = (uint16_t)(cfg_read(f, 0x10) & ~3u);
	cfg_write(f, 0x04, 0x0005); /* pci_enable_device + pci_set_master */
	return f;
}

static int setup(void **state)
{
	*state = make(PCNET_OPT_ALL);
	return 0;
}

static int setup_naive(void **state)
{
	*state = make(0);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pci_bus_free(f->pb);
	pcnet_free(f->s);
	iobus_destroy(&f->bus);
	free(f->mem.host);
	free(f);
	return 0;
}

/* pcnet32's word I/O accessors. */
static uint16_t rcsr(struct fixture *f, unsigned n)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	return inw(&f->bus, f->io + RDP);
}
static void wcsr(struct fixture *f, unsigned n, uint16_t v)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	outw(&f->bus, f->io + RDP, v);
}
static uint16_t rbcr(struct fixture *f, unsigned n)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	return inw(&f->bus, f->io + BDP);
}
static void wbcr(struct fixture *f, unsigned n, uint16_t v)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	outw(&f->bus, f->io + BDP, v);
}

static uint8_t *ram(struct fixture *f, uint64_t gpa)
{
	return f->mem.host + gpa;
}
static void put16(struct fixture *f, uint64_t gpa, uint16_t v)
{
	memcpy(ram(f, gpa), &v, 2);
}
static void put32(struct fixture *f, uint64_t gpa, uint32_t v)
{
	memcpy(ram(f, gpa), &v, 4);
}
static uint16_t get16(struct fixture *f, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, ram(f, gpa), 2);
	return v;
}
static uint32_t get32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram(f, gpa), 4);
	return v;
}

/* Style 2 descriptors: base, BCNT, status, misc. */
static void rx_desc(struct fixture *f, unsigned i, uint32_t buf, uint16_t len)
{
	uint64_t d = RXR + 16u * i;
	put32(f, d, buf);
	put16(f, d + 4, (uint16_t)-len);
	put32(f, d + 8, 0);
	put16(f, d + 6, 0x8000);
}
static void tx_desc(struct fixture *f, unsigned i, uint32_t buf, uint16_t len, uint16_t status)
{
	uint64_t d = TXR + 16u * i;
	put32(f, d, buf);
	put16(f, d + 4, (uint16_t)-len);
	put32(f, d + 8, 0);
	put16(f, d + 6, status);
}

/* pcnet32_probe1 then pcnet32_open, in word I/O mode, software style 2,
 * rings of 8 (RLEN = TLEN = 3). */
static void pcnet32_open(struct fixture *f)
{
	inw(&f->bus, f->io + RESET);
	assert_int_equal(rcsr(f, 0), 0x0004);
	outw(&f->bus, f->io + RAP, 88);
	assert_int_equal(inw(&f->bus, f->io + RAP), 88);
	assert_int_equal(rcsr(f, 88) | (uint32_t)rcsr(f, 89) << 16, 0x2621003);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(inb(&f->bus, f->io + i), MAC[i]);
	wbcr(f, 20, 2);
	assert_int_equal(rbcr(f, 20), 0x0102); /* SSIZE32 follows the style */
	assert_int_equal(rcsr(f, 58), 0x0102);
	wbcr(f, 2, (rbcr(f, 2) & ~2) | 2);
	wbcr(f, 9, rbcr(f, 9) & ~3);
	wcsr(f, 124, rcsr(f, 124) & ~0x10);

	for (unsigned i = 0; i < NRING; i++) {
		rx_desc(f, i, RXBUF + 2048u * i, 1536);
		tx_desc(f, i, 0, 0, 0);
	}
	put16(f, IB, 0x0000);               /* MODE */
	put16(f, IB + 2, 3 << 12 | 3 << 4); /* TLEN, RLEN */
	memcpy(ram(f, IB + 4), MAC, 6);
	put32(f, IB + 12, 0);
	put32(f, IB + 16, 0);
	put32(f, IB + 20, RXR);
	put32(f, IB + 24, TXR);
	wcsr(f, 1, IB & 0xffff);
	wcsr(f, 2, IB >> 16);
	wcsr(f, 4, 0x0915);
	wcsr(f, 0, 0x0001); /* INIT */
	assert_true(rcsr(f, 0) & 0x0100); /* IDON */
	wcsr(f, 0, 0x0042); /* STRT | INEA */
}

/* The classic interrupt handler's acknowledgement. */
static uint16_t pcnet32_irq(struct fixture *f)
{
	uint16_t rap = inw(&f->bus, f->io + RAP), csr0, seen = 0;

	for (int n = 0; n < 20 && ((csr0 = rcsr(f, 0)) & 0x8f00); n++) {
		seen |= csr0;
		wcsr(f, 0, csr0 & ~0x004f);
	}
	wcsr(f, 0, 0x7940);
	outw(&f->bus, f->io + RAP, rap);
	return seen;
}

static void test_probe_and_open(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(cfg_read(f, 0x00), 0x20001022);
	assert_int_equal(cfg_read(f, 0x08) >> 8, 0x020000);
	assert_int_equal(cfg_read(f, 0x3c) & 0xffff, 0x0100 | GSI);
	assert_int_equal(f->io, 0xc000);
	pcnet32_open(f);
	/* IDON from the init, INEA now on: INTA asserted. */
	assert_int_equal(rcsr(f, 0), 0x0100 | 0x0080 | 0x0040 | 0x0020 | 0x0010 | 0x0002);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->irq.gsi_seen, GSI);
	assert_int_equal(rcsr(f, 76), (uint16_t)-8);
	assert_int_equal(rcsr(f, 78), (uint16_t)-8);
	assert_int_equal(rcsr(f, 12), 0x5452);
	assert_int_equal(rcsr(f, 4), 0x0915);
	assert_int_equal(rbcr(f, 4) & 0x8000, 0x8000); /* link up */
	assert_int_equal(pcnet32_irq(f) & 0x0100, 0x0100);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(rcsr(f, 0), 0x0072);
	/* RAP was restored by the handler. */
	assert_int_equal(inw(&f->bus, f->io + RAP), 0);
}

static void test_coalesced_rap_windows(void **state)
{
	struct fixture *f = *state;

	/* The word RAP only: a window over 14h-17h would take BDP (16h) too. */
	assert_int_equal(f->nzones, 1);
	assert_true(f->zones[0].on);
	assert_int_equal(f->zones[0].addr, 0xc012);
	assert_int_equal(f->zones[0].len, 2);
	/* Moving the BAR moves it; turning I/O decode off removes it. */
	cfg_write(f, 0x10, 0xd000);
	assert_false(f->zones[0].on);
	assert_int_equal(f->nzones, 2);
	assert_int_equal(f->zones[1].addr, 0xd012);
	assert_true(f->zones[1].on);
	cfg_write(f, 0x04, 0x0004);
	assert_false(f->zones[1].on);
	assert_int_equal(f->nzones, 2);
}

static void test_no_coalescing_when_off(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->nzones, 0);
}

static void xmit(struct fixture *f, unsigned slot, unsigned len, uint8_t fill)
{
	memset(ram(f, TXBUF + 2048u * slot), fill, len);
	tx_desc(f, slot, TXBUF + 2048u * slot, (uint16_t)len, 0x8300);
	wcsr(f, 0, 0x0048); /* INEA | TDMD */
}

static void test_transmit(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	xmit(f, 0, 100, 0xab);
	assert_int_equal(f->kicks, 1);
	assert_int_equal(f->tx.calls, 0); /* nothing on the vCPU thread */
	assert_int_equal(pcnet_tx_run(f->s, 1), 1);
	assert_int_equal(f->tx.calls, 1);
	assert_int_equal(f->tx.len, 100);
	assert_int_equal(f->tx.buf[99], 0xab);
	assert_int_equal(get16(f, TXR + 6), 0x0300); /* OWN cleared */
	assert_int_equal(get32(f, TXR + 8), 0);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(pcnet32_irq(f) & 0x0200, 0x0200); /* TINT */
	assert_int_equal(f->irq.level, 0);
	/* Short frames are padded to 60 with APAD_XMT (CSR4 0x0915). */
	xmit(f, 1, 20, 0x11);
	pcnet_tx_run(f->s, 1);
	assert_int_equal(f->tx.len, 160);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_frames, 2);
	assert_int_equal(st.tx_bytes, 160);
	assert_int_equal(st.kicks, 2);
	assert_int_equal(st.access[PCNET_ACC_RESET], 1);
	assert_int_equal(st.tx_batch[0], 2);
}

/* Three frames queued, one TDMD: with send combining one run sends all
 * three; without, one frame per demand. */
static void queue3(struct fixture *f)
{
	pcnet32_open(f);
	pcnet32_irq(f);
	for (unsigned i = 0; i < 3; i++) {
		memset(ram(f, TXBUF + 2048u * i), (int)i, 64);
		tx_desc(f, i, TXBUF + 2048u * i, 64, 0x8300);
	}
	wcsr(f, 0, 0x0048);
}

static void test_send_combining(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	queue3(f);
	assert_int_equal(pcnet_tx_run(f->s, 1), 3);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_batch[1], 1); /* one batch of 2-3 */
	assert_int_equal(f->tx.calls, 3);
}

static void test_one_frame_per_kick(void **state)
{
	struct fixture *f = *state;

	queue3(f);
	assert_int_equal(pcnet_tx_run(f->s, 1), 1);
	assert_int_equal(get16(f, TXR + 16 + 6), 0x8300); /* second still owned */
	assert_int_equal(pcnet_tx_run(f->s, 2), 2);
	assert_int_equal(f->tx.calls, 3);
}

/* ---- TX completion interrupt coalescing (send combining) ---- */

#define COAL_N 4
#define COAL_NS 200000u

static int setup_coalesce(void **state)
{
	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	*state = make(PCNET_OPT_ALL);
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

static int setup_coalesce_clock(void **state)
{
	next_clock = true;
	setup_coalesce(state);
	next_clock = false;
	return 0;
}

static int setup_coalesce_off(void **state)
{
	next_irq_frames = COAL_N;
	next_irq_ns = COAL_NS;
	*state = make(PCNET_OPT_ALL & ~PCNET_OPT_SEND_COMBINE);
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

/* One frame per TDMD and per run, as pcnet32 sends under load; the driver's
 * handler acknowledges each interrupt. Returns the interrupts seen. */
static unsigned send_k(struct fixture *f, unsigned k, unsigned *slot)
{
	unsigned irqs = 0;

	for (unsigned i = 0; i < k; i++) {
		xmit(f, *slot, 60, (uint8_t)i);
		*slot = (*slot + 1) % NRING;
		assert_int_equal(pcnet_tx_run(f->s, 1), 1);
		if (f->irq.level) {
			assert_int_equal(pcnet32_irq(f) & 0x0200, 0x0200); /* TINT */
			irqs++;
		}
	}
	return irqs;
}

/* K completions raise floor(K/N) interrupts at once and, for the rest, one
 * when the timer fires: ceil(K/N) in all. */
static void test_tint_coalesced(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;
	unsigned slot = 0, irqs;

	pcnet32_open(f);
	pcnet32_irq(f);
	irqs = send_k(f, 10, &slot);
	assert_int_equal(irqs, 10 / COAL_N);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(f->arms, 3); /* armed after frames 1, 5 and 9 */
	assert_int_equal(f->armed_ns, COAL_NS);
	assert_int_equal(f->disarms, 2); /* N reached before it fired */
	pcnet_tx_timer(f->s);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(pcnet32_irq(f) & 0x0200, 0x0200);
	irqs++;
	assert_int_equal(irqs, (10 + COAL_N - 1) / COAL_N);
	/* A stale expiry (nothing pending, not armed) raises nothing. */
	pcnet_tx_timer(f->s);
	assert_int_equal(f->irq.level, 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.tx_frames, 10);
	assert_int_equal(st.tint_deferred, 10 - 10 / COAL_N);
	assert_int_equal(st.tint_timer, 1);
	/* Exactly N: no timer left behind. */
	irqs = send_k(f, COAL_N, &slot);
	assert_int_equal(irqs, 1);
	assert_int_equal(f->arms, f->disarms + 0u + 1u); /* the one that fired */
}

/* A whole ring in one run completes at once: one interrupt, no timer when
 * the batch reaches N (capped at half the ring: 4 of 8 here). */
static void test_tint_batch_and_cap(void **state)
{
	struct fixture *f = *state;

	pcnet32_open(f);
	pcnet32_irq(f);
	for (unsigned i = 0; i < NRING; i++)
		tx_desc(f, i, TXBUF + 2048u * i, 60, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), NRING);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->arms, 0);
}

/* Without send combining (or with N <= 1) every frame sets TINT. */
static void test_tint_every_frame_when_off(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
}

static void test_tint_every_run_n1(void **state)
{
	struct fixture *f = *state; /* setup(): N = 0 */
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	assert_int_equal(send_k(f, 10, &slot), 10);
	assert_int_equal(f->arms, 0);
}

/* The clock: a demand after a quiet gap of T or more interrupts at once;
 * demands closer than T defer, bounded by one timer of exactly T; an error
 * is never deferred. */
static void test_tint_rate_and_bound(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	assert_int_equal(send_k(f, 1, &slot), 1); /* first demand: quiet before */
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0); /* 10 us later: deferred */
	assert_int_equal(f->arms, 1);
	assert_int_equal(f->armed_ns, COAL_NS);
	f->clock += 10000;
	assert_int_equal(send_k(f, 1, &slot), 0); /* still under N: same timer */
	assert_int_equal(f->arms, 1);
	f->clock += COAL_NS; /* the bound: a gap of T flushes (and disarms) */
	assert_int_equal(send_k(f, 1, &slot), 1);
	assert_int_equal(f->disarms, 1);
	/* A chain without ENP (error): TINT at once despite a close demand. */
	f->clock += 1000;
	tx_desc(f, slot, TXBUF, 60, 0x8200); /* OWN|STP, no ENP */
	tx_desc(f, (slot + 1) % NRING, 0, 0, 0);
	wcsr(f, 0, 0x0048);
	pcnet_tx_run(f->s, 1);
	assert_int_equal(f->irq.level, 1);
	assert_true(rcsr(f, 0) & 0x0200);
}

/* ---- TDMD deferral (send combining: the RDP window) ---- */

#define DEFER_NS 100000u

static int setup_defer(void **state)
{
	next_clock = true;
	next_defer_ns = DEFER_NS;
	next_irq_frames = COAL_N;
	next_irq_ns = 50000;
	*state = make(PCNET_OPT_ALL);
	next_clock = false;
	next_defer_ns = 0;
	next_irq_frames = 0;
	next_irq_ns = 0;
	return 0;
}

static int setup_defer_no_combine(void **state)
{
	next_clock = true;
	next_defer_ns = DEFER_NS;
	*state = make(PCNET_OPT_ALL & ~PCNET_OPT_SEND_COMBINE);
	next_clock = false;
	next_defer_ns = 0;
	return 0;
}

/* The registered window at addr of 2 bytes, or NULL. */
static const struct zone *zone_at(struct fixture *f, uint64_t addr)
{
	for (unsigned i = 0; i < 4; i++)
		if (f->zones[i].on && f->zones[i].addr == addr && f->zones[i].len == 2)
			return &f->zones[i];
	return NULL;
}

/* One frame per demand, `gap` ns apart on the fake clock. */
static void send_spaced(struct fixture *f, unsigned k, uint64_t gap, unsigned *slot)
{
	for (unsigned i = 0; i < k; i++) {
		f->clock += gap;
		xmit(f, *slot, 60, (uint8_t)i);
		*slot = (*slot + 1) % NRING;
		assert_int_equal(pcnet_tx_run(f->s, 1), 1);
		if (f->irq.level)
			pcnet32_irq(f);
	}
}

/* Demands closer than PCNET_DEFER_GAP_NS: after PCNET_DEFER_ENTER_RUNS runs
 * in a row the word RDP (BAR+0x10, 2 bytes: a DWord RDP access does not fit
 * and still exits) becomes a coalesced window and the poll timer runs with
 * the bound; a tick that finds demands keeps it; PCNET_DEFER_IDLE_NS of ticks
 * without one removes the window and stops the timer. */
static void test_defer_enter_and_leave(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;
	unsigned slot = 0, idle = PCNET_DEFER_IDLE_NS / DEFER_NS;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS, 300000, &slot); /* the first has no gap */
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.busy_runs_max, PCNET_DEFER_ENTER_RUNS - 1);
	send_spaced(f, 1, 300000, &slot);
	assert_true(pcnet_tx_deferring(f->s));
	assert_non_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xc012)); /* the RAP window stays */
	assert_int_equal(f->poll_ns, DEFER_NS);
	/* Ticks with demands in between keep it on. */
	for (unsigned i = 0; i < 3 * idle; i++) {
		if (i % 2 == 1)
			send_spaced(f, 1, DEFER_NS, &slot);
		pcnet_tx_poll(f->s);
	}
	assert_true(pcnet_tx_deferring(f->s));
	/* Quiet: one tick short of the gap keeps it, the next removes it. */
	for (unsigned i = 0; i + 1 < idle; i++)
		pcnet_tx_poll(f->s);
	assert_true(pcnet_tx_deferring(f->s));
	pcnet_tx_poll(f->s);
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xc012));
	assert_int_equal(f->poll_ns, 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.defer_entered, 1);
	assert_int_equal(st.defer_polls, 3 * idle + idle);
	assert_int_equal(st.tx_frames, PCNET_DEFER_ENTER_RUNS + 1 + 3 * idle / 2);
	/* A stale tick after it stopped counts nothing and changes nothing. */
	pcnet_tx_poll(f->s);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.defer_polls, 3 * idle + idle);
	/* Demands slower than the gap never turn it on. */
	send_spaced(f, 20, PCNET_DEFER_GAP_NS, &slot);
	assert_false(pcnet_tx_deferring(f->s));
	assert_int_equal(f->poll_arms, 2);
}

/* The RDP window follows the BAR and I/O decode, as the RAP window does;
 * while decode is off the poll timer stops (nothing can be queued). */
static void test_defer_follows_bar(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS + 1, 10000, &slot);
	assert_non_null(zone_at(f, 0xc010));
	cfg_write(f, 0x10, 0xd000);
	f->io = 0xd000;
	assert_null(zone_at(f, 0xc010));
	assert_non_null(zone_at(f, 0xd010));
	assert_non_null(zone_at(f, 0xd012));
	assert_int_equal(f->poll_ns, DEFER_NS);
	cfg_write(f, 0x04, 0x0004); /* I/O decode off */
	assert_null(zone_at(f, 0xd010));
	assert_null(zone_at(f, 0xd012));
	assert_int_equal(f->poll_ns, 0);
	cfg_write(f, 0x04, 0x0005);
	assert_non_null(zone_at(f, 0xd010));
	assert_int_equal(f->poll_ns, DEFER_NS);
	/* Deferred or not, the registers behave the same. */
	send_spaced(f, 2, 10000, &slot);
	assert_int_equal(f->tx.calls, PCNET_DEFER_ENTER_RUNS + 3);
}

/* While deferring, TX runs follow the poll ticks, so their gap says nothing
 * of the demand rate: TINT stays coalesced (N, or the timer), not one
 * interrupt per tick. */
static void test_defer_keeps_tint_coalesced(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0, irqs = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, PCNET_DEFER_ENTER_RUNS + 1, 10000, &slot);
	assert_true(pcnet_tx_deferring(f->s));
	f->arms = f->disarms = 0;
	for (unsigned i = 0; i < 2 * COAL_N; i++) {
		f->clock += DEFER_NS; /* more than tx_irq_ns (50 us) apart */
		xmit(f, slot, 60, (uint8_t)i);
		slot = (slot + 1) % NRING;
		pcnet_tx_run(f->s, 1);
		if (f->irq.level) {
			irqs++;
			pcnet32_irq(f);
		}
	}
	assert_int_equal(irqs, 2);
	assert_int_equal(f->arms, 2);
	/* The bound while deferring: PCNET_DEFER_TINT_TICKS ticks, not T. */
	assert_int_equal(f->armed_ns, PCNET_DEFER_TINT_TICKS * DEFER_NS);
}

/* Deferral is part of send combining: without it, no RDP window. */
static void test_defer_off_without_combine(void **state)
{
	struct fixture *f = *state;
	unsigned slot = 0;

	pcnet32_open(f);
	pcnet32_irq(f);
	f->clock = 1000000;
	send_spaced(f, 10, 10000, &slot);
	assert_false(pcnet_tx_deferring(f->s));
	assert_null(zone_at(f, 0xc010));
	assert_int_equal(f->poll_arms, 0);
}

static void test_receive(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[42] = { 0 };
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	memcpy(frame, MAC, 6);
	frame[6] = 0x02;
	frame[41] = 0x77;
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_int_equal(get16(f, RXR + 6), 0x0300 | 0x0040); /* STP ENP PAM, OWN off */
	assert_int_equal(get32(f, RXR + 8), 64);              /* 60 + FCS */
	assert_int_equal(*ram(f, RXBUF + 41), 0x77);
	assert_int_equal(*ram(f, RXBUF + 59), 0);             /* padding */
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(pcnet32_irq(f) & 0x0400, 0x0400);    /* RINT */
	/* Broadcast: accepted with BAM; someone else's unicast: ignored. */
	memset(frame, 0xff, 6);
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_int_equal(get16(f, RXR + 16 + 6), 0x0300 | 0x0010);
	frame[0] = 0x02;
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_int_equal(get16(f, RXR + 32 + 6), 0x8000);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.rx_frames, 2);
	assert_int_equal(st.rx_bytes, 120);
	assert_int_equal(st.rx_filtered, 1);
}

static void test_receive_waits_for_buffers(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[1514];
	struct pcnet_stats st;

	pcnet32_open(f);
	memset(frame, 0x5a, sizeof(frame));
	memcpy(frame, MAC, 6);
	for (unsigned i = 0; i < NRING; i++)
		put16(f, RXR + 16u * i + 6, 0); /* the driver owns them all */
	assert_int_equal(pcnet_rx(f->s, frame, 100), -EAGAIN);
	/* Chain a 1514-byte frame over four 400-byte buffers. */
	for (unsigned i = 0; i < 4; i++)
		rx_desc(f, i, RXBUF + 2048u * i, 400);
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_int_equal(get16(f, RXR + 6), 0x0200 | 0x0040);      /* STP */
	assert_int_equal(get16(f, RXR + 16 + 6), 0x0000);
	assert_int_equal(get16(f, RXR + 48 + 6), 0x0100);          /* ENP */
	assert_int_equal(get32(f, RXR + 48 + 8), 1518);            /* MCNT */
	assert_int_equal(*ram(f, RXBUF + 3 * 2048 + 313), 0x5a);
	/* Dropped after waiting too long: MISS, CSR112. */
	pcnet_rx_drop(f->s, 100);
	assert_true(rcsr(f, 0) & 0x9000);
	assert_int_equal(rcsr(f, 112), 1);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_NO_RX_BUFFER], 1);
}

static void test_dwio(void **state)
{
	struct fixture *f = *state;

	outl(&f->bus, f->io + RDP, 0); /* DWord write to RDP: DWIO */
	outl(&f->bus, f->io + 0x14, 88);
	assert_int_equal(inl(&f->bus, f->io + 0x14) & 0xffff, 88);
	assert_int_equal(inl(&f->bus, f->io + 0x10), 0x1003);
	/* Word accesses are ignored now. */
	assert_int_equal(inw(&f->bus, f->io + RAP), 0xffff);
	inl(&f->bus, f->io + 0x18); /* RESET */
	outl(&f->bus, f->io + 0x14, 0);
	assert_int_equal(inl(&f->bus, f->io + 0x10), 0x0004);
	outl(&f->bus, f->io + 0x14, 20);
	outl(&f->bus, f->io + 0x1c, 3);
	assert_int_equal(inl(&f->bus, f->io + 0x1c), 0x0103);
}

/* Software style 0 (16-bit LANCE layout) and style 3 (swapped). */
static void test_style0_and_style3(void **state)
{
	struct fixture *f = *state;

	inw(&f->bus, f->io + RESET);
	assert_int_equal(rbcr(f, 20), 0);
	put16(f, IB, 0);
	memcpy(ram(f, IB + 2), MAC, 6);
	put16(f, IB + 16, RXR & 0xffff);
	put16(f, IB + 18, 2 << 13 | (RXR >> 16));
	put16(f, IB + 20, TXR & 0xffff);
	put16(f, IB + 22, 2 << 13 | (TXR >> 16));
	wcsr(f, 1, IB);
	wcsr(f, 2, 0);
	wcsr(f, 0, 0x0001);
	assert_true(rcsr(f, 0) & 0x0100);
	assert_int_equal(rcsr(f, 78), (uint16_t)-4);
	wcsr(f, 0, 0x0042);
	memset(ram(f, TXBUF), 0xcd, 80);
	put16(f, TXR, TXBUF & 0xffff);
	put16(f, TXR + 2, 0x8300 | (TXBUF >> 16));
	put16(f, TXR + 4, (uint16_t)-80);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), 1);
	assert_int_equal(f->tx.len, 80);
	assert_int_equal(*ram(f, TXR + 3), 0x03);

	/* Style 3: TMD2 first, TBADR at +8. */
	inw(&f->bus, f->io + RESET);
	wbcr(f, 20, 3);
	put16(f, IB + 2, 0);
	memcpy(ram(f, IB + 4), MAC, 6);
	put32(f, IB + 20, RXR);
	put32(f, IB + 24, TXR);
	wcsr(f, 1, IB);
	wcsr(f, 2, 0);
	wcsr(f, 0, 0x0001);
	wcsr(f, 0, 0x0042);
	put32(f, TXR, 0);
	put16(f, TXR + 4, (uint16_t)-70);
	put32(f, TXR + 8, TXBUF);
	put16(f, TXR + 6, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), 1);
	assert_int_equal(f->tx.len, 150);
}

/* ---- hostile guests ---- */

static void test_init_block_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	inw(&f->bus, f->io + RESET);
	wbcr(f, 20, 2);
	wcsr(f, 1, 0xfff0);
	wcsr(f, 2, RAM_SIZE >> 16); /* init block just past RAM */
	wcsr(f, 0, 0x0041);
	assert_int_equal(rcsr(f, 0) & 0x8904, 0x8804); /* ERR MERR STOP, no IDON */
	assert_int_equal(f->irq.level, 1);               /* MERR interrupts */
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_BAD_DESC], 1);
}

static void test_tx_buffer_outside_ram(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	tx_desc(f, 0, RAM_SIZE - 10, 100, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), 0);
	assert_int_equal(f->tx.calls, 0);
	assert_int_equal(get16(f, TXR + 6), 0x4300);            /* ERR, OWN off */
	assert_int_equal(get32(f, TXR + 8), 0xc0000000u);       /* BUFF UFLO */
	assert_int_equal(rcsr(f, 0) & 0x0010, 0);               /* TXON off */
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_BAD_DESC], 1);
	/* The ring itself outside RAM: MERR. */
	wcsr(f, 0, 0x0004);
	wcsr(f, 30, 0xfff0);
	wcsr(f, 31, RAM_SIZE >> 16);
	wcsr(f, 0, 0x0042);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), 0);
	assert_true(rcsr(f, 0) & 0x0800);
}

static void test_tx_chain_without_enp(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	/* Every descriptor owned, STP on the first, ENP nowhere. */
	tx_desc(f, 0, TXBUF, 10, 0x8200);
	for (unsigned i = 1; i < NRING; i++)
		tx_desc(f, i, TXBUF, 10, 0x8000);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 100), 0);
	assert_int_equal(f->tx.calls, 0);
	for (unsigned i = 0; i < NRING; i++)
		assert_int_equal(get16(f, TXR + 16u * i + 6) & 0x8000, 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_BAD_DESC], 1);
}

static void test_tx_oversize_and_zero_length(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	/* BCNT 0 means 4096 bytes: over the frame limit, dropped. */
	put32(f, TXR, TXBUF);
	put16(f, TXR + 4, 0xf000);
	put16(f, TXR + 6, 0x8300);
	/* Then 2000 bytes over two descriptors. */
	tx_desc(f, 1, TXBUF, 1000, 0x8200);
	tx_desc(f, 2, TXBUF, 1000, 0x8100);
	tx_desc(f, 3, TXBUF, 64, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 1), 3);
	assert_int_equal(f->tx.calls, 1);
	assert_int_equal(f->tx.len, 64);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_OVERSIZE], 2);
	assert_int_equal(st.tx_frames, 1);
}

static void test_rx_hostile(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[200] = { 0 };
	struct pcnet_stats st;

	pcnet32_open(f);
	pcnet32_irq(f);
	memcpy(frame, MAC, 6);
	/* Oversize from the backend. */
	assert_int_equal(pcnet_rx(f->s, frame, 2000), 0);
	/* Every buffer 8 bytes: the whole ring cannot hold it: BUFF error. */
	for (unsigned i = 0; i < NRING; i++)
		rx_desc(f, i, RXBUF, 8);
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_int_equal(get16(f, RXR + 6), 0x4000 | 0x0400 | 0x0200);
	/* A buffer outside RAM: MERR, receiver off. */
	rx_desc(f, 1, RAM_SIZE - 4, 1536);
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	assert_true(rcsr(f, 0) & 0x0800);
	assert_int_equal(rcsr(f, 0) & 0x0020, 0);
	/* Receiver off: counted as no buffer. */
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), 0);
	pcnet_get_stats(f->s, &st);
	assert_int_equal(st.drops[PCNET_DROP_OVERSIZE], 1);
	assert_int_equal(st.drops[PCNET_DROP_BAD_DESC], 2);
	assert_int_equal(st.drops[PCNET_DROP_NO_RX_BUFFER], 1);
	assert_int_equal(st.rx_frames, 0);
}

static void test_ring_length_bounded(void **state)
{
	struct fixture *f = *state;
	uint8_t frame[64] = { 0 };

	pcnet32_open(f);
	pcnet32_irq(f);
	/* Stop, write absurd ring lengths directly, restart. */
	wcsr(f, 0, 0x0004);
	wcsr(f, 76, 0x0001);  /* 65535 entries: bounded to 512 */
	wcsr(f, 78, 0x0000);  /* 0: one entry */
	wcsr(f, 24, 0xf000);
	wcsr(f, 25, (RAM_SIZE >> 16) - 1); /* 512 * 16 bytes would cross the end */
	wcsr(f, 0, 0x0042);
	memcpy(frame, MAC, 6);
	for (unsigned i = 0; i < 256; i++)
		put16(f, RAM_SIZE - 0x1000 + 16u * i + 6, 0); /* driver owns: -EAGAIN */
	assert_int_equal(pcnet_rx(f->s, frame, sizeof(frame)), -EAGAIN);
	tx_desc(f, 0, TXBUF, 64, 0x8300);
	wcsr(f, 0, 0x0048);
	assert_int_equal(pcnet_tx_run(f->s, 10), 1);
	assert_int_equal(pcnet_csr(f->s, 78), 0);
}

static void test_no_dma_without_bus_master(void **state)
{
	struct fixture *f = *state;

	cfg_write(f, 0x04, 0x0001); /* I/O only */
	inw(&f->bus, f->io + RESET);
	wbcr(f, 20, 2);
	wcsr(f, 1, IB);
	wcsr(f, 2, 0);
	wcsr(f, 0, 0x0001);
	assert_int_equal(rcsr(f, 0) & 0x0900, 0x0800);
}

static void test_wrong_widths_and_holes(void **state)
{
	struct fixture *f = *state;
	struct pcnet_stats st;

	outb(&f->bus, f->io + RAP, 4);
	assert_int_equal(inb(&f->bus, f->io + RAP), 0xff);
	assert_int_equal(inw(&f->bus, f->io + RAP), 0); /* byte write ignored */
	outw(&f->bus, f->io + 0x18, 1);
	outw(&f->bus, f->io + RAP, 0x1ff); /* 7 bits */
	assert_int_equal(inw(&f->bus, f->io + RAP), 0x7f);
	wbcr(f, 20, 7); /* reserved style: ignored */
	assert_int_equal(rbcr(f, 20), 0);
	wbcr(f, 200 & 0x7f, 5);
	pcnet_get_stats(f->s, &st);
	assert_true(st.access[PCNET_ACC_OTHER] >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_and_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesced_rap_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_coalescing_when_off, setup_naive, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_combining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_frame_per_kick, setup_naive, teardown),
		cmocka_unit_test_setup_teardown(test_tint_coalesced, setup_coalesce, teardown),
		cmocka_unit_test_setup_teardown(test_tint_batch_and_cap, setup_coalesce, teardown),
		cmocka_unit_test_setup_teardown(test_tint_every_frame_when_off, setup_coalesce_off,
						teardown),
		cmocka_unit_test_setup_teardown(test_tint_every_run_n1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tint_rate_and_bound, setup_coalesce_clock,
						teardown),
		cmocka_unit_test_setup_teardown(test_defer_enter_and_leave, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_follows_bar, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_keeps_tint_coalesced, setup_defer, teardown),
		cmocka_unit_test_setup_teardown(test_defer_off_without_combine, setup_defer_no_combine,
						teardown),
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_style0_and_style3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_init_block_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_chain_without_enp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_oversize_and_zero_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_length_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_dma_without_bus_master, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_widths_and_holes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
