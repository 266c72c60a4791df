/* test_pcnet.c: the Am79C970A model driven by the register sequences of
 * Linux's pcnet32 (probe, open, start_xmit, interrupt, receive), with exact
 * expected state: RAP coalescing, transmit and send combining, receive,
 * DWIO and the software styles. Fixture: pcnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/pcnet_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_probe_and_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalesced_rap_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_coalescing_when_off, setup_naive, teardown),
		cmocka_unit_test_setup_teardown(test_transmit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_combining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_frame_per_kick, setup_naive, teardown),
		cmocka_unit_test_setup_teardown(test_receive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_receive_waits_for_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dwio, setup, teardown),
		cmocka_unit_test_setup_teardown(test_style0_and_style3, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
