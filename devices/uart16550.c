/* uart16550.c: National Semiconductor PC16550D UART ("NS16550A"), after the
 * PC16550D datasheet (National Semiconductor, June 1995):
 *   8.1-8.3  register addressing, DLAB and the divisor latches (DLL/DLM)
 *   8.4      Line Control Register (stored; framing has no effect here)
 *   8.5      Line Status Register: DR, OE, THRE, TEMT
 *   8.6      FIFO Control Register: FIFO enable, RCVR/XMIT FIFO reset,
 *            receiver trigger level
 *   8.7      Interrupt Identification Register and Table IV priorities
 *   8.8      Interrupt Enable Register (ERBFI, ETBEI, ELSI, EDSSI)
 *   8.9      Modem Control Register, including loopback (8.9 bit 4)
 *   8.10     Modem Status Register with delta bits
 *   8.11     Scratchpad Register
 *
 * Simplifications, all invisible to a driver that follows the datasheet:
 *   - The transmitter is always ready: each THR write hands the byte to the
 *     tx sink at once, so THRE and TEMT are always set and a THRE interrupt
 *     is re-armed right after each write (as the real part does when the
 *     byte moves into the shift register).
 *   - The character timeout (Table IV, priority 2, IIR 0x0C) fires at once:
 *     with the FIFO enabled and fewer bytes than the trigger level, pending
 *     data is reported as a timeout; at or above it as "received data
 *     available" (0x04). Either way RX data is never left without an
 *     interrupt.
 *   - The modem lines of the far end are always asserted (CTS, DSR, DCD); in
 *     loopback they follow MCR as in 8.9 (RTS->CTS, DTR->DSR, OUT1->RI,
 *     OUT2->DCD), which is what Linux's 8250 probe checks.
 *   - OUT2 does not gate the interrupt (as in QEMU and kvmtool): the line we
 *     are given is the UART's INTR output.
 *   - Accesses wider than a byte are split into byte accesses at consecutive
 *     ports, as the ISA bus does for an 8-bit device.
 * The interrupt is level-style: irq_set() is called whenever INTR changes.
 */
#include "devices/uart16550.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/serial_reg.h>

#include "common/log.h"
#include "common/util.h"

/* Register offsets (8.1, Table II) and bits: <linux/serial_reg.h>. The
 * masks of the bits this model keeps: */
#define IER_MASK 0x0F         /* bits 4-7 are always 0 */
#define IIR_FIFO_ENABLED 0xC0 /* FCR bit 0 set: both FIFOs on */
#define MCR_MASK 0x1F

struct uart16550 {
	pthread_mutex_t lock;
	struct irq_line irq;
	uart16550_tx_fn tx;
	void *tx_ctx;
	void (*rx_notify)(void *ctx);
	void *rx_notify_ctx;

	struct iobus *bus; /* set by attach */
	uint16_t base;
	char name[16];

	/* Registers. LSR and the MSR line bits are computed; see lsr(), msr_lines(). */
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t fcr;        /* FIFO enable and trigger bits as last written */
	uint8_t lsr_errors; /* OE/PE/FE/BI, cleared by reading LSR */
	uint8_t msr_deltas; /* DCTS/DDSR/TERI/DDCD, cleared by reading MSR */
	bool thr_ipending;  /* THRE interrupt armed, cleared by reading IIR or writing THR */

	uint8_t rx_fifo[UART16550_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool rx_wanted; /* an rx_push was short: notify when space opens */

	int irq_level;
	bool tx_error_logged;
};

static bool fifo_enabled(const struct uart16550 *u)
{
	return u->fcr & UART_FCR_ENABLE_FIFO;
}

static unsigned rx_capacity(const struct uart16550 *u)
{
	return fifo_enabled(u) ? UART16550_FIFO_SIZE : 1;
}

static unsigned rx_trigger_level(const struct uart16550 *u)
{
	static const unsigned level[4] = { 1, 4, 8, 14 };
	return level[(u->fcr & UART_FCR_TRIGGER_MASK) >> 6];
}

static uint8_t lsr(const struct uart16550 *u)
{
	return (u->rx_count ? UART_LSR_DR : 0) | u->lsr_errors | UART_LSR_THRE | UART_LSR_TEMT;
}

/* Modem input lines as the UART sees them (8.10 bits 4-7). */
static uint8_t msr_lines(uint8_t mcr)
{
	uint8_t m = 0;

	if (!(mcr & UART_MCR_LOOP))
		return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	if (mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

/* Highest-priority pending, enabled interrupt (Table IV). */
static uint8_t iir_id(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_errors)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_count) {
		if (fifo_enabled(u) && u->rx_count < rx_trigger_level(u))
			return UART_IIR_RX_TIMEOUT;
		return UART_IIR_RDI;
	}
	if ((u->ier & UART_IER_THRI) && u->thr_ipending)
		return UART_IIR_THRI;
	if ((u->ier & UART_IER_MSI) && u->msr_deltas)
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

static void update_irq(struct uart16550 *u)
{
	int level = iir_id(u) != UART_IIR_NO_INT;

	if (level != u->irq_level) {
		u->irq_level = level;
		irq_set(&u->irq, level);
	}
}

static void rx_clear(struct uart16550 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static void rx_space_opened(struct uart16550 *u)
{
	if (u->rx_wanted && u->rx_notify && !(u->mcr & UART_MCR_LOOP) && u->rx_count < rx_capacity(u)) {
		u->rx_wanted = false;
		u->rx_notify(u->rx_notify_ctx);
	}
}

/* One received byte; false (and OE) when the FIFO or RBR is full. */
static bool rx_put(struct uart16550 *u, uint8_t b)
{
	if (u->rx_count >= rx_capacity(u)) {
		u->lsr_errors |= UART_LSR_OE;
		return false;
	}
	u->rx_fifo[(u->rx_head + u->rx_count) % UART16550_FIFO_SIZE] = b;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart16550 *u)
{
	uint8_t b;

	if (!u->rx_count)
		return 0;
	b = u->rx_fifo[u->rx_head];
	u->rx_head = (u->rx_head + 1) % UART16550_FIFO_SIZE;
	u->rx_count--;
	rx_space_opened(u);
	return b;
}

static void thr_write(struct uart16550 *u, uint8_t b)
{
	/* Writing THR clears the THRE interrupt (Table IV)... */
	u->thr_ipending = false;
	update_irq(u);
	if (u->mcr & UART_MCR_LOOP) {
		rx_put(u, b);
	} else {
		int r = u->tx ? u->tx(u->tx_ctx, &b, 1) : 0;
		if (r < 0 && !u->tx_error_logged) {
			u->tx_error_logged = true;
			log_warn_errno(r, "uart %s: console output failed; dropping output", u->name);
		}
	}
	/* ...and the byte leaves at once, so THR is empty again. */
	u->thr_ipending = true;
}

static void ier_write(struct uart16550 *u, uint8_t v)
{
	uint8_t changed = (u->ier ^ v) & IER_MASK;

	u->ier = v & IER_MASK;
	/* Enabling ETBEI with THR empty raises THRE at once; Linux's
	 * serial8250_THRE_test and start_tx rely on this edge. */
	if (changed & UART_IER_THRI)
		u->thr_ipending = u->ier & UART_IER_THRI;
}

static void fcr_write(struct uart16550 *u, uint8_t v)
{
	bool enable = v & UART_FCR_ENABLE_FIFO;

	/* Changing FCR0 resets both FIFOs (8.6). */
	if (enable != fifo_enabled(u))
		rx_clear(u);
	if (!enable) {
		u->fcr = 0; /* other bits are written only with FCR0 set */
	} else {
		u->fcr = v & (UART_FCR_ENABLE_FIFO | UART_FCR_TRIGGER_MASK);
		if (v & UART_FCR_CLEAR_RCVR)
			rx_clear(u);
		/* XMIT reset: the transmit FIFO is always empty here. */
	}
	rx_space_opened(u);
}

static void mcr_write(struct uart16550 *u, uint8_t v)
{
	uint8_t old = msr_lines(u->mcr), new;

	u->mcr = v & MCR_MASK;
	new = msr_lines(u->mcr);
	if ((old ^ new) & UART_MSR_CTS)
		u->msr_deltas |= UART_MSR_DCTS;
	if ((old ^ new) & UART_MSR_DSR)
		u->msr_deltas |= UART_MSR_DDSR;
	if ((old & UART_MSR_RI) && !(new & UART_MSR_RI))
		u->msr_deltas |= UART_MSR_TERI;
	if ((old ^ new) & UART_MSR_DCD)
		u->msr_deltas |= UART_MSR_DDCD;
	rx_space_opened(u); /* leaving loopback reconnects the input */
}

static uint8_t reg_read(struct uart16550 *u, unsigned off)
{
	bool dlab = u->lcr & UART_LCR_DLAB;
	uint8_t v, id;

	switch (off) {
	case UART_RX:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		id = iir_id(u);
		/* Reading IIR when THRE is the source clears it (Table IV). */
		if (id == UART_IIR_THRI)
			u->thr_ipending = false;
		return id | (fifo_enabled(u) ? IIR_FIFO_ENABLED : 0);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		v = lsr(u);
		u->lsr_errors = 0;
		return v;
	case UART_MSR:
		v = msr_lines(u->mcr) | u->msr_deltas;
		u->msr_deltas = 0;
		return v;
	case UART_SCR:
		return u->scr;
	}
	return 0xFF;
}

static void reg_write(struct uart16550 *u, unsigned off, uint8_t v)
{
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_TX:
		if (dlab)
			u->dll = v;
		else
			thr_write(u, v);
		break;
	case UART_IER:
		if (dlab)
			u->dlm = v;
		else
			ier_write(u, v);
		break;
	case UART_FCR:
		fcr_write(u, v);
		break;
	case UART_LCR:
		u->lcr = v;
		break;
	case UART_MCR:
		mcr_write(u, v);
		break;
	case UART_SCR:
		u->scr = v;
		break;
	default: /* LSR, MSR: factory test writes, ignored */
		break;
	}
}

static uint64_t uart_io_read(void *opaque, uint64_t offset, unsigned size)
{
	struct uart16550 *u = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&u->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t off = offset + i;
		uint8_t b = off < UART16550_NR_PORTS ? reg_read(u, off) : 0xFF;
		v |= (uint64_t)b << (8 * i);
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return v;
}

static void uart_io_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct uart16550 *u = opaque;

	pthread_mutex_lock(&u->lock);
	for (unsigned i = 0; i < size && i < 8; i++) {
		uint64_t off = offset + i;
		if (off < UART16550_NR_PORTS)
			reg_write(u, off, value >> (8 * i));
	}
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static const struct io_ops uart_io_ops = {
	.read = uart_io_read,
	.write = uart_io_write,
};

struct uart16550 *uart16550_new(const struct irq_line *irq, uart16550_tx_fn tx, void *tx_ctx)
{
	struct uart16550 *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return NULL;
	r = pthread_mutex_init(&u->lock, NULL);
	if (r) {
		free(u);
		errno = r;
		return NULL;
	}
	if (irq)
		u->irq = *irq;
	u->tx = tx;
	u->tx_ctx = tx_ctx;
	snprintf(u->name, sizeof(u->name), "uart");
	u->dll = 12; /* 9600 baud from 1.8432 MHz; the datasheet leaves it undefined */
	return u;
}

int uart16550_attach(struct uart16550 *u, struct iobus *bus, uint16_t base, const char *name)
{
	int r;

	if (u->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, base, UART16550_NR_PORTS, name, &uart_io_ops, u);
	if (r < 0)
		return r;
	u->bus = bus;
	u->base = base;
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "uart");
	return 0;
}

size_t uart16550_rx_space(struct uart16550 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = (u->mcr & UART_MCR_LOOP) ? 0 : rx_capacity(u) - u->rx_count;
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart16550_rx_push(struct uart16550 *u, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&u->lock);
	/* In loopback the serial input is disconnected (8.9): hold the input. */
	if (!(u->mcr & UART_MCR_LOOP))
		while (n < len && u->rx_count < rx_capacity(u))
			rx_put(u, buf[n++]);
	if (n < len)
		u->rx_wanted = true;
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

void uart16550_set_rx_notify(struct uart16550 *u, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&u->lock);
	u->rx_notify = fn;
	u->rx_notify_ctx = ctx;
	pthread_mutex_unlock(&u->lock);
}

void uart16550_free(struct uart16550 *u)
{
	if (!u)
		return;
	if (u->bus)
		iobus_unregister(u->bus, IO_PIO, u->base);
	pthread_mutex_destroy(&u->lock);
	free(u);
}
