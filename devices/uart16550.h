/* uart16550.h: NS16550A UART (COM1 at 0x3F8, IRQ 4 on a PC). See uart16550.c. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

#define UART16550_COM1_BASE 0x3F8
#define UART16550_COM1_IRQ 4
#define UART16550_NR_PORTS 8
#define UART16550_FIFO_SIZE 16

struct uart16550;

/* Transmit sink: called once per THR write with one byte, from a vCPU thread,
 * with the UART's lock held: it must not call back into the UART and should
 * not block for long (the console input path waits on the same lock). Its
 * return value is ignored (the byte is gone either way, as on a wire). */
typedef int (*uart16550_tx_fn)(void *ctx, const uint8_t *buf, size_t len);

/* irq is copied. Returns NULL with errno set on allocation failure. */
struct uart16550 *uart16550_new(const struct irq_line *irq, uart16550_tx_fn tx, void *tx_ctx);

/* Registers the 8 ports [base, base+8) as PIO region `name` ("com1").
 * 0, -EBUSY if already attached, or iobus_register's error. */
int uart16550_attach(struct uart16550 *u, struct iobus *bus, uint16_t base, const char *name);

/* Console input (I/O thread): queues up to rx_space() bytes into the receive
 * FIFO and returns how many it took; the rest stays with the caller. */
size_t uart16550_rx_push(struct uart16550 *u, const uint8_t *buf, size_t len);

/* Bytes rx_push would accept now: FIFO space (16 with FCR FIFO enable, else 1
 * for the single RBR), 0 while the guest holds the UART in loopback. */
size_t uart16550_rx_space(struct uart16550 *u);

/* Optional: fn(ctx) is called when receive space opens up after an rx_push
 * that could not take everything (the guest read RBR, reset the FIFO, or left
 * loopback), so the I/O thread can retry without polling. Called from a vCPU
 * thread with the UART's lock held: it should only wake the I/O thread (write
 * an eventfd). fn NULL disables. */
void uart16550_set_rx_notify(struct uart16550 *u, void (*fn)(void *ctx), void *ctx);

/* Unregisters the ports (call before iobus_destroy, with no vCPU running) and
 * frees. NULL is a no-op. */
void uart16550_free(struct uart16550 *u);
