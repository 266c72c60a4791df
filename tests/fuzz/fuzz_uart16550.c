/* fuzz_uart16550.c: libFuzzer target for devices/uart16550.c (COM1 at
 * 0x3F8) on a real iobus. The input is a guest program in the op format of
 * fuzz_common.h: byte and wide accesses at and around the 8 ports, and the
 * I/O thread's side: console input pushed into the receive FIFO.
 *
 * Config byte: bit 0 the transmit sink fails (the warning path), bit 1 an
 * rx_notify callback is set.
 *
 * Events (FZ_OP_EVENT): 0 rx_push (len u8, bytes), 1 rx_space.
 *
 * Invariants: irq_set only on a change; rx_push takes no more than it was
 * given nor more than rx_space said (at most the 16-byte FIFO); rx_space is
 * 0, 1 or up to 16; the transmit sink gets one byte per call; rx_notify
 * comes only after a short push. */
#include <errno.h>

#include "tests/fuzz/fuzz_common.h"
#include "devices/uart16550.h"

struct fx {
	struct iobus bus;
	struct uart16550 *u;
	struct fz_irq irq;
	bool tx_fails;
	bool short_push; /* an rx_push could not take everything */
	uint64_t tx_bytes, notifies;
};

static int tx_sink(void *ctx, const uint8_t *buf, size_t len)
{
	struct fx *x = ctx;

	volatile uint8_t b;

	FZ_CHECK(len == 1);
	b = buf[0]; /* ASan checks the byte is readable */
	(void)b;
	x->tx_bytes++;
	return x->tx_fails ? -EIO : 1;
}

static void rx_notify(void *ctx)
{
	struct fx *x = ctx;

	FZ_CHECK(x->short_push);
	x->short_push = false;
	x->notifies++;
}

static const struct fz_region regions[] = {
	{ .space = IO_PIO, .len = UART16550_NR_PORTS, .fixed_base = UART16550_COM1_BASE },
};

static void event(void *ctx, uint8_t ev, struct fz *f)
{
	struct fx *x = ctx;

	switch (ev % 2) {
	case 0: {
		size_t len = fz_u8(f), got, space, took;
		const uint8_t *p = fz_bytes(f, len, &got);

		space = uart16550_rx_space(x->u);
		took = uart16550_rx_push(x->u, p, got);
		FZ_CHECK(took <= got && took <= space);
		if (took < got)
			x->short_push = true;
		break;
	}
	case 1: {
		size_t space = uart16550_rx_space(x->u);
		FZ_CHECK(space <= UART16550_FIFO_SIZE);
		break;
	}
	}
}

FZ_NOCOV static void check(void *ctx)
{
	struct fx *x = ctx;

	FZ_CHECK(uart16550_rx_space(x->u) <= UART16550_FIFO_SIZE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct irq_line line;
	struct fz f = { data, size };
	uint8_t conf = fz_u8(&f);
	struct fz_target t = {
		.bus = &x.bus, .regions = regions, .n_regions = 1,
		.event = event, .check = check, .ctx = &x,
	};

	fz_init_logging();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	fz_irq_init(&x.irq, &line, UART16550_COM1_IRQ, false);
	x.tx_fails = conf & 1;
	x.u = uart16550_new(&line, tx_sink, &x);
	FZ_CHECK(x.u);
	if (conf & 2)
		uart16550_set_rx_notify(x.u, rx_notify, &x);
	FZ_CHECK(uart16550_attach(x.u, &x.bus, UART16550_COM1_BASE, "com1") == 0);

	fz_run(&t, &f);

	uart16550_free(x.u);
	iobus_destroy(&x.bus);
	return 0;
}
