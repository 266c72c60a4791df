/* test_pcnet_hostile.c: the PCnet model under a hostile guest: rings and
 * buffers outside RAM, chains without ENP, zero and over-long lengths,
 * bogus ring lengths, DMA without bus mastering, wrong access widths and
 * holes. Fixture: pcnet_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/pcnet_fixture.h"

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
