/* pcnet_fixture.h: the Am79C970A model on fake guest memory, on a real PCI
 * bus and iobus, for its unit tests (test_pcnet.c: Linux pcnet32's register
 * sequences; test_pcnet_combine.c: TX interrupt coalescing and TDMD
 * deferral; test_pcnet_hostile.c: hostile rings and accesses): a fixture
 * that records what the device does (interrupts, frames sent, kicks,
 * coalesced zones, timers), CSR/BCR and ring helpers, and pcnet32's open and
 * interrupt acknowledgement. Include after <cmocka.h>. */
#pragma once
#include <stdbool.h>
#include <stdint.h>
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

static inline void arm_poll(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	f->poll_ns = ns;
	f->poll_arms++;
}

static inline void arm_timer(void *ctx, uint64_t ns)
{
	struct fixture *f = ctx;
	if (ns) {
		f->arms++;
		f->armed_ns = ns;
	} else {
		f->disarms++;
	}
}

static inline uint64_t fake_now(void *ctx)
{
	return ((struct fixture *)ctx)->clock;
}

static inline void kick(void *ctx)
{
	struct fixture *f = ctx;
	f->kicks++;
}

static inline int tx_sink(void *ctx, const struct iovec *iov, unsigned n)
{
	struct fixture *f = ctx;

	/* iov[0]: the virtio_net_hdr, zero (PCnet has no offloads) */
	assert_int_equal(n, 2);
	assert_int_equal(iov[0].iov_len, NETDEV_HDR_LEN);
	for (size_t i = 0; i < NETDEV_HDR_LEN; i++)
		assert_int_equal(((const uint8_t *)iov[0].iov_base)[i], 0);
	return fake_tx(&f->tx, iov[1].iov_base, iov[1].iov_len);
}

static inline int zone_add(void *ctx, enum io_space sp, uint64_t addr, uint64_t len, uint64_t *drained)
{
	struct fixture *f = ctx;
	(void)drained;
	assert_int_equal(sp, IO_PIO);
	f->zones[f->nzones++ % 4] = (struct zone){ addr, len, true };
	return 0;
}

static inline int zone_del(void *ctx, enum io_space sp, uint64_t addr, uint64_t len)
{
	struct fixture *f = ctx;
	(void)sp;
	for (unsigned i = 0; i < 4; i++)
		if (f->zones[i].addr == addr && f->zones[i].len == len)
			f->zones[i].on = false;
	return 0;
}

static inline uint32_t cfg_read(struct fixture *f, unsigned off)
{
	outl(&f->bus, 0xcf8, 0x80000000u | 1u << 11 | off);
	return inl(&f->bus, 0xcfc);
}

static inline void cfg_write(struct fixture *f, unsigned off, uint32_t v)
{
	outl(&f->bus, 0xcf8, 0x80000000u | 1u << 11 | off);
	outl(&f->bus, 0xcfc, v);
}

static inline struct fixture *make(unsigned opts)
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

static inline int setup(void **state)
{
	*state = make(PCNET_OPT_ALL);
	return 0;
}

static inline int setup_naive(void **state)
{
	*state = make(0);
	return 0;
}

static inline int teardown(void **state)
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
static inline uint16_t rcsr(struct fixture *f, unsigned n)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	return inw(&f->bus, f->io + RDP);
}
static inline void wcsr(struct fixture *f, unsigned n, uint16_t v)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	outw(&f->bus, f->io + RDP, v);
}
static inline uint16_t rbcr(struct fixture *f, unsigned n)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	return inw(&f->bus, f->io + BDP);
}
static inline void wbcr(struct fixture *f, unsigned n, uint16_t v)
{
	outw(&f->bus, f->io + RAP, (uint16_t)n);
	outw(&f->bus, f->io + BDP, v);
}

static inline uint8_t *ram(struct fixture *f, uint64_t gpa)
{
	return f->mem.host + gpa;
}
static inline void put16(struct fixture *f, uint64_t gpa, uint16_t v)
{
	memcpy(ram(f, gpa), &v, 2);
}
static inline void put32(struct fixture *f, uint64_t gpa, uint32_t v)
{
	memcpy(ram(f, gpa), &v, 4);
}
static inline uint16_t get16(struct fixture *f, uint64_t gpa)
{
	uint16_t v;
	memcpy(&v, ram(f, gpa), 2);
	return v;
}
static inline uint32_t get32(struct fixture *f, uint64_t gpa)
{
	uint32_t v;
	memcpy(&v, ram(f, gpa), 4);
	return v;
}

/* Style 2 descriptors: base, BCNT, status, misc. */
static inline void rx_desc(struct fixture *f, unsigned i, uint32_t buf, uint16_t len)
{
	uint64_t d = RXR + 16u * i;
	put32(f, d, buf);
	put16(f, d + 4, (uint16_t)-len);
	put32(f, d + 8, 0);
	put16(f, d + 6, 0x8000);
}
static inline void tx_desc(struct fixture *f, unsigned i, uint32_t buf, uint16_t len, uint16_t status)
{
	uint64_t d = TXR + 16u * i;
	put32(f, d, buf);
	put16(f, d + 4, (uint16_t)-len);
	put32(f, d + 8, 0);
	put16(f, d + 6, status);
}

/* pcnet32_probe1 then pcnet32_open, in word I/O mode, software style 2,
 * rings of 8 (RLEN = TLEN = 3). */
static inline void pcnet32_open(struct fixture *f)
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
static inline uint16_t pcnet32_irq(struct fixture *f)
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

static inline void xmit(struct fixture *f, unsigned slot, unsigned len, uint8_t fill)
{
	memset(ram(f, TXBUF + 2048u * slot), fill, len);
	tx_desc(f, slot, TXBUF + 2048u * slot, (uint16_t)len, 0x8300);
	wcsr(f, 0, 0x0048); /* INEA | TDMD */
}
