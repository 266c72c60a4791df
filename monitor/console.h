/* console.h: where the serial console's bytes go and come from: stdio, a
 * file (output only), a listening Unix socket (one client at a time), an
 * inherited fd, or a tee of a file and a listening socket (the file gets all
 * output from boot; the socket's client, one at a time, a live view and the
 * input; vmmd uses it for `vmctl console`). Output is called from
 * vCPU threads; input is read on the I/O thread and pushed into the UART,
 * holding back what the UART's FIFO cannot take yet. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "monitor/config.h"
#include "monitor/ioloop.h"

struct console;
typedef size_t (*console_push_fn)(void *ctx, const uint8_t *buf, size_t len);

/* 0 or -errno; a message naming the path is logged on failure. */
int console_open(struct console **out, struct ioloop *loop, const struct monitor_config *cfg);
void console_close(struct console *c);
/* Output sink (uart16550 tx callback shape). Never blocks for long: output
 * to a socket whose peer does not read is dropped and counted. */
int console_tx(void *ctx, const uint8_t *buf, size_t len);
/* Where input goes (the UART). */
void console_set_input(struct console *c, console_push_fn push, void *ctx);
uint64_t console_dropped(struct console *c);
