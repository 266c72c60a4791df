/* ioloop.h: the monitor's I/O thread: one epoll loop that serves the control
 * socket, console input, signals and (later) NIC backends. Handlers run on
 * this thread only. */
#pragma once
#include <stdint.h>

struct ioloop;
typedef void (*ioloop_fn)(void *ctx, int fd, uint32_t events);

struct ioloop *ioloop_new(void);
void ioloop_free(struct ioloop *l);
/* Watches fd for events (EPOLLIN...). One handler per fd. 0 or -errno. */
int ioloop_add(struct ioloop *l, int fd, uint32_t events, ioloop_fn fn, void *ctx);
int ioloop_mod(struct ioloop *l, int fd, uint32_t events);
int ioloop_del(struct ioloop *l, int fd);
/* Waits up to timeout_ms (-1: forever) and runs the ready handlers.
 * Returns the number handled or -errno. */
int ioloop_run_once(struct ioloop *l, int timeout_ms);
