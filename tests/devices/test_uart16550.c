/* test_uart16550.c: the 16550A driven by port accesses in the order Linux's
 * 8250 driver uses them (autoconfig, startup, console write, interrupt
 * handling), plus loopback, priorities, widths and a concurrent smoke test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/uart16550.h"

#define BASE UART16550_COM1_BASE
#define RBR (BASE + 0)
#define THR (BASE + 0)
#define DLL (BASE + 0)
#define IER (BASE + 1)
#define DLM (BASE + 1)
#define IIR (BASE + 2)
#define FCR (BASE + 2)
#define LCR (BASE + 3)
#define MCR (BASE + 4)
#define LSR (BASE + 5)
#define MSR (BASE + 6)
#define SCR (BASE + 7)

struct fixture {
	struct iobus bus;
	struct fake_irq irq;
	struct irq_line line;
	struct fake_tx tx;
	struct uart16550 *u;
	unsigned notified;
};

static void notify(void *ctx)
{
	struct fixture *f = ctx;

	f->notified++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_irq_init(&f->irq, &f->line, UART16550_COM1_IRQ);
	fake_tx_init(&f->tx);
	f->u = uart16550_new(&f->line, fake_tx, &f->tx);
	assert_non_null(f->u);
	assert_int_equal(uart16550_attach(f->u, &f->bus, BASE, "com1"), 0);
	uart16550_set_rx_notify(f->u, notify, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	uart16550_free(f->u);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static void test_reset_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(&f->bus, IER), 0x00);
	assert_int_equal(inb(&f->bus, IIR), 0x01);
	assert_int_equal(inb(&f->bus, LCR), 0x00);
	assert_int_equal(inb(&f->bus, MCR), 0x00);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
	assert_int_equal(inb(&f->bus, MSR), 0xB0);
	assert_int_equal(inb(&f->bus, SCR), 0x00);
	assert_int_equal(f->irq.n, 0);
	assert_int_equal(uart16550_rx_space(f->u), 1);
	/* The ports end at base+7. */
	assert_int_equal(pio_claimed(&f->bus, BASE + 8), 0);
	assert_int_equal(pio_claimed(&f->bus, BASE - 1), 0);
	/* A second attach is refused. */
	assert_int_equal(uart16550_attach(f->u, &f->bus, 0x2F8, "com2"), -EBUSY);
}

/* drivers/tty/serial/8250/8250_port.c: autoconfig(), autoconfig_16550a(),
 * serial8250_do_startup(), serial8250_do_set_termios(). */
static void test_linux_probe_and_startup(void **state)
{
	struct fixture *f = *state;
	uint8_t save_ier, save_mcr, id1, id2;

	/* autoconfig: IER must hold 0 and 0x0F. */
	save_ier = inb(&f->bus, IER);
	outb(&f->bus, IER, 0);
	assert_int_equal(inb(&f->bus, IER) & 0x0F, 0x00);
	outb(&f->bus, IER, 0x0F);
	assert_int_equal(inb(&f->bus, IER) & 0x0F, 0x0F);
	outb(&f->bus, IER, save_ier);
	/* Enabling ETBEI with THR empty raised INTR; restoring IER dropped it. */
	assert_int_equal(f->irq.n, 2);
	assert_int_equal(f->irq.history[0], 1);
	assert_int_equal(f->irq.history[1], 0);
	assert_int_equal(f->irq.gsi_seen, UART16550_COM1_IRQ);

	/* Scratch register. */
	outb(&f->bus, SCR, 0xA5);
	assert_int_equal(inb(&f->bus, SCR), 0xA5);
	outb(&f->bus, SCR, 0x5A);
	assert_int_equal(inb(&f->bus, SCR), 0x5A);

	/* Loopback check: MCR = LOOP | OUT2 | RTS must show CTS | DCD. */
	save_mcr = inb(&f->bus, MCR);
	outb(&f->bus, MCR, 0x10 | 0x0A);
	assert_int_equal(inb(&f->bus, MSR) & 0xF0, 0x90);
	outb(&f->bus, MCR, save_mcr);

	/* FIFO probe: IIR bits 7:6 = 3 means 16550A. */
	outb(&f->bus, LCR, 0);
	outb(&f->bus, FCR, 0x01);
	assert_int_equal(inb(&f->bus, IIR) >> 6, 3);
	/* autoconfig_16550a: with LCR = 0xBF, "EFR" (IIR here) must not read 0,
	 * else we would pass for a 16650. */
	outb(&f->bus, LCR, 0xBF);
	assert_int_not_equal(inb(&f->bus, IIR), 0);
	/* Divisor id probe: DLL/DLM read back what was written. */
	outb(&f->bus, LCR, 0x80);
	outb(&f->bus, DLL, 0);
	outb(&f->bus, DLM, 0);
	id1 = inb(&f->bus, DLL);
	id2 = inb(&f->bus, DLM);
	assert_int_equal(id1, 0);
	assert_int_equal(id2, 0);
	/* 16750 probe: IIR bit 5 must stay 0 with FCR bit 5 set. */
	outb(&f->bus, LCR, 0);
	outb(&f->bus, FCR, 0x01 | 0x20);
	assert_int_equal(inb(&f->bus, IIR) >> 5, 6);
	/* XScale probe: IER bit 6 does not stick. */
	outb(&f->bus, IER, 0x40);
	assert_int_equal(inb(&f->bus, IER), 0);
	outb(&f->bus, IER, 0);

	/* Startup: clear FIFOs, read LSR/RBR/IIR/MSR to clear. */
	outb(&f->bus, FCR, 0x01);
	outb(&f->bus, FCR, 0x07);
	outb(&f->bus, FCR, 0x00);
	(void)inb(&f->bus, LSR);
	(void)inb(&f->bus, RBR);
	(void)inb(&f->bus, IIR);
	(void)inb(&f->bus, MSR);
	assert_int_not_equal(inb(&f->bus, LSR), 0xFF);

	/* set_termios: 115200 8N1, divisor 1, FIFO with 8-byte trigger. */
	outb(&f->bus, LCR, 0x80 | 0x03);
	outb(&f->bus, DLL, 0x01);
	outb(&f->bus, DLM, 0x00);
	outb(&f->bus, LCR, 0x03);
	outb(&f->bus, FCR, 0x81);
	outb(&f->bus, MCR, 0x0B); /* DTR | RTS | OUT2 */
	assert_int_equal(inb(&f->bus, LCR), 0x03);
	/* With DLAB clear, offsets 0/1 are RBR/IER, not the divisor. */
	assert_int_equal(inb(&f->bus, IER), 0x00);
	assert_int_equal(inb(&f->bus, RBR), 0x00);
	outb(&f->bus, LCR, 0x83);
	assert_int_equal(inb(&f->bus, DLL), 0x01);
	assert_int_equal(inb(&f->bus, DLM), 0x00);
	outb(&f->bus, LCR, 0x03);
	assert_int_equal(inb(&f->bus, MCR), 0x0B);
	assert_int_equal(inb(&f->bus, MSR), 0xB0);
	assert_int_equal(inb(&f->bus, IIR), 0xC1);

	/* Interrupts on: RX data and line status. */
	fake_irq_clear(&f->irq);
	outb(&f->bus, IER, 0x05);
	assert_int_equal(f->irq.n, 0);
	assert_int_equal(f->irq.level, 0);
	/* No byte went out during all this. */
	assert_int_equal(f->tx.len, 0);
}

/* serial8250_do_startup's THRE tests. */
static void test_thre_rearm(void **state)
{
	struct fixture *f = *state;
	uint8_t iir1, iir2;

	outb(&f->bus, IER, 0x02);
	assert_int_equal(inb(&f->bus, LSR) & 0x40, 0x40);
	iir1 = inb(&f->bus, IIR);
	outb(&f->bus, IER, 0);
	outb(&f->bus, IER, 0x02);
	iir2 = inb(&f->bus, IIR);
	outb(&f->bus, IER, 0);
	assert_int_equal(iir1, 0x02);
	assert_int_equal(iir2, 0x02);
	/* Reading IIR cleared the THRE source. */
	outb(&f->bus, IER, 0x02);
	assert_int_equal(inb(&f->bus, IIR), 0x02);
	assert_int_equal(inb(&f->bus, IIR), 0x01);
	assert_int_equal(f->irq.level, 0);
}

static void test_tx_and_thre_interrupt(void **state)
{
	struct fixture *f = *state;
	const char *msg = "Linux version 6.1\n";

	/* Polled console output (serial8250_console_write): IER = 0. */
	for (const char *p = msg; *p; p++) {
		assert_int_equal(inb(&f->bus, LSR) & 0x20, 0x20);
		outb(&f->bus, THR, *p);
	}
	assert_int_equal(f->tx.len, strlen(msg));
	assert_memory_equal(f->tx.buf, msg, strlen(msg));
	assert_int_equal(f->tx.calls, strlen(msg)); /* one byte per call */
	assert_int_equal(f->irq.n, 0);

	/* Interrupt-driven: enable THRI -> INTR; ISR reads IIR (drops INTR),
	 * writes bytes; each write re-arms THRE: a fresh edge. */
	outb(&f->bus, FCR, 0x07);
	outb(&f->bus, IER, 0x02);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(inb(&f->bus, IIR), 0xC2);
	assert_int_equal(f->irq.level, 0);
	outb(&f->bus, THR, 'A');
	assert_int_equal(f->irq.level, 1);
	outb(&f->bus, THR, 'B'); /* without an IIR read: drops and rises again */
	assert_int_equal(f->irq.n, 5);
	static const int want[] = { 1, 0, 1, 0, 1 };
	assert_memory_equal(f->irq.history, want, sizeof(want));
	assert_int_equal(f->irq.rises, 3);
	assert_int_equal(f->tx.buf[f->tx.len - 2], 'A');
	assert_int_equal(f->tx.buf[f->tx.len - 1], 'B');
	/* stop_tx: IER without THRI drops INTR. */
	outb(&f->bus, IER, 0x00);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(inb(&f->bus, IIR), 0xC1);
}

static void test_tx_error_is_not_fatal(void **state)
{
	struct fixture *f = *state;

	f->tx.ret = -EPIPE;
	outb(&f->bus, THR, 'x');
	outb(&f->bus, THR, 'y');
	assert_int_equal(f->tx.calls, 2);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
}

static void test_rx_fifo(void **state)
{
	struct fixture *f = *state;
	uint8_t in[20];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = 'a' + i;
	outb(&f->bus, FCR, 0x07); /* enable, clear, trigger 1 */
	outb(&f->bus, IER, 0x01);
	assert_int_equal(uart16550_rx_space(f->u), 16);
	assert_int_equal(uart16550_rx_push(f->u, in, sizeof(in)), 16);
	assert_int_equal(uart16550_rx_space(f->u), 0);
	assert_int_equal(uart16550_rx_push(f->u, in + 16, 4), 0);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(f->irq.n, 1);
	assert_int_equal(inb(&f->bus, IIR), 0xC4);
	assert_int_equal(inb(&f->bus, LSR), 0x61);
	assert_int_equal(f->notified, 0);
	for (unsigned i = 0; i < 16; i++) {
		assert_int_equal(inb(&f->bus, LSR) & 1, 1);
		assert_int_equal(inb(&f->bus, RBR), 'a' + i);
		/* The I/O thread was told once, at the first free byte. */
		assert_int_equal(f->notified, 1);
	}
	assert_int_equal(inb(&f->bus, LSR), 0x60);
	assert_int_equal(inb(&f->bus, IIR), 0xC1);
	assert_int_equal(f->irq.level, 0);
	assert_int_equal(f->irq.n, 2);
	assert_int_equal(uart16550_rx_push(f->u, in + 16, 4), 4);
	assert_int_equal(inb(&f->bus, RBR), 'q');
	/* FCR RCVR reset empties the FIFO. */
	outb(&f->bus, FCR, 0x03);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
	assert_int_equal(f->irq.level, 0);
}

static void test_rx_trigger_level_and_timeout(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, FCR, 0x87); /* trigger 8 */
	outb(&f->bus, IER, 0x01);
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"abc", 3), 3);
	/* Below the trigger: reported as a character timeout. */
	assert_int_equal(inb(&f->bus, IIR), 0xCC);
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"defgh", 5), 5);
	assert_int_equal(inb(&f->bus, IIR), 0xC4);
	assert_int_equal(f->irq.rises, 1);
}

static void test_rx_without_fifo(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, IER, 0x01);
	assert_int_equal(uart16550_rx_space(f->u), 1);
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"xy", 2), 1);
	assert_int_equal(inb(&f->bus, IIR), 0x04);
	assert_int_equal(inb(&f->bus, RBR), 'x');
	assert_int_equal(f->notified, 1);
	assert_int_equal(inb(&f->bus, IIR), 0x01);
	/* Empty RBR reads 0 and changes nothing. */
	assert_int_equal(inb(&f->bus, RBR), 0);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
	/* Turning the FIFO on and off clears it. */
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"z", 1), 1);
	outb(&f->bus, FCR, 0x01);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
}

static void test_loopback_and_overrun(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, MCR, 0x10);
	outb(&f->bus, IER, 0x05); /* RDI | RLSI */
	assert_int_equal(uart16550_rx_space(f->u), 0);
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"k", 1), 0);
	outb(&f->bus, THR, 'L');
	assert_int_equal(f->tx.len, 0); /* nothing on the wire */
	assert_int_equal(inb(&f->bus, LSR), 0x61);
	assert_int_equal(inb(&f->bus, IIR), 0x04);
	/* RBR full (no FIFO): the next byte overruns. */
	outb(&f->bus, THR, 'M');
	assert_int_equal(inb(&f->bus, IIR), 0x06); /* line status beats data */
	assert_int_equal(inb(&f->bus, LSR), 0x63);
	/* Reading LSR cleared OE. */
	assert_int_equal(inb(&f->bus, LSR), 0x61);
	assert_int_equal(inb(&f->bus, IIR), 0x04);
	assert_int_equal(inb(&f->bus, RBR), 'L');
	assert_int_equal(f->irq.level, 0);
	/* Leaving loopback reconnects the input; the short push is told. */
	assert_int_equal(f->notified, 0);
	outb(&f->bus, MCR, 0x0B);
	assert_int_equal(f->notified, 1);
	assert_int_equal(uart16550_rx_push(f->u, (const uint8_t *)"k", 1), 1);
}

static void test_modem_status_interrupt(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, IER, 0x08);
	assert_int_equal(f->irq.level, 0);
	/* Into loopback with all outputs low: CTS, DSR, DCD fall. */
	outb(&f->bus, MCR, 0x10);
	assert_int_equal(f->irq.level, 1);
	assert_int_equal(inb(&f->bus, IIR), 0x00);
	assert_int_equal(inb(&f->bus, MSR), 0x0B);
	assert_int_equal(inb(&f->bus, IIR), 0x01);
	assert_int_equal(f->irq.level, 0);
	/* OUT1 -> RI; its falling edge sets TERI. */
	outb(&f->bus, MCR, 0x14);
	assert_int_equal(inb(&f->bus, MSR), 0x40);
	outb(&f->bus, MCR, 0x10);
	assert_int_equal(inb(&f->bus, MSR), 0x04);
	outb(&f->bus, MCR, 0x1F);
	assert_int_equal(inb(&f->bus, MSR), 0xF0 | 0x0B);
}

static void test_interrupt_priority(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, MCR, 0x10);  /* loopback, to make an overrun */
	outb(&f->bus, IER, 0x0F);  /* everything */
	outb(&f->bus, THR, '1');   /* RBR full */
	outb(&f->bus, THR, '2');   /* overrun */
	/* RLS > RDA > THRE > MSI. */
	assert_int_equal(inb(&f->bus, IIR), 0x06);
	(void)inb(&f->bus, LSR);
	assert_int_equal(inb(&f->bus, IIR), 0x04);
	(void)inb(&f->bus, RBR);
	assert_int_equal(inb(&f->bus, IIR), 0x02);
	assert_int_equal(inb(&f->bus, IIR), 0x00); /* THRE consumed; MSR deltas left */
	(void)inb(&f->bus, MSR);
	assert_int_equal(inb(&f->bus, IIR), 0x01);
	assert_int_equal(f->irq.level, 0);
}

static void test_wide_and_odd_accesses(void **state)
{
	struct fixture *f = *state;

	/* A word write is two byte writes on consecutive ports. */
	outw(&f->bus, LCR, 0x0B03); /* LCR = 03, MCR = 0B */
	assert_int_equal(inb(&f->bus, LCR), 0x03);
	assert_int_equal(inb(&f->bus, MCR), 0x0B);
	assert_int_equal(inw(&f->bus, LCR), 0x0B03);
	outb(&f->bus, SCR, 0x42);
	assert_int_equal(inw(&f->bus, MSR), 0x42B0);
	/* Bytes past base+7 read as an empty bus and are not written. */
	assert_int_equal(inl(&f->bus, SCR), 0xFFFFFF42);
	outl(&f->bus, SCR, 0x11223344);
	assert_int_equal(inb(&f->bus, SCR), 0x44);
	/* Writes to LSR and MSR are ignored. */
	outb(&f->bus, LSR, 0x00);
	outb(&f->bus, MSR, 0x00);
	assert_int_equal(inb(&f->bus, LSR), 0x60);
	assert_int_equal(inb(&f->bus, MSR), 0xB0);
	/* A dword write at THR: THR, IER, FCR, LCR in order. */
	outl(&f->bus, THR, 0x03C70100 | 'Q'); /* THR 'Q', IER 01, FCR C7, LCR 03 */
	assert_int_equal(f->tx.buf[0], 'Q');
	assert_int_equal(inb(&f->bus, IER), 0x01);
	assert_int_equal(inb(&f->bus, IIR), 0xC1);
	assert_int_equal(inb(&f->bus, LCR), 0x03);
}

struct stress {
	struct fixture *f;
	unsigned id;
};

static void *writer(void *arg)
{
	struct stress *s = arg;

	for (unsigned i = 0; i < 2000; i++) {
		outb(&s->f->bus, THR, 'a' + s->id);
		(void)inb(&s->f->bus, IIR);
		(void)inb(&s->f->bus, RBR);
	}
	return NULL;
}

static void test_concurrent_smoke(void **state)
{
	struct fixture *f = *state;
	struct stress s[4];
	pthread_t t[4];
	unsigned counts[4] = { 0 };
	size_t pushed = 0;

	outb(&f->bus, FCR, 0x07);
	outb(&f->bus, IER, 0x03);
	for (unsigned i = 0; i < 4; i++) {
		s[i] = (struct stress){ f, i };
		assert_int_equal(pthread_create(&t[i], NULL, writer, &s[i]), 0);
	}
	for (unsigned i = 0; i < 20000; i++)
		pushed += uart16550_rx_push(f->u, (const uint8_t *)"r", 1);
	for (unsigned i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(f->tx.len, 8000);
	for (size_t i = 0; i < f->tx.len; i++)
		counts[f->tx.buf[i] - 'a']++;
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(counts[i], 2000);
	assert_true(pushed > 0);
	assert_true(uart16550_rx_space(f->u) <= 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_probe_and_startup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thre_rearm, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_and_thre_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tx_error_is_not_fatal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_trigger_level_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rx_without_fifo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_and_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modem_status_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wide_and_odd_accesses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_smoke, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
