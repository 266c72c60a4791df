/* fake_machine.h: what the monitor hands a device, faked for unit tests: an
 * interrupt line that records every level change, a vm_ctl that records
 * requests, a transmit sink, and port/MMIO accessors that go through a real
 * struct iobus exactly as a vCPU exit would. Include after <cmocka.h>. */
#pragma once
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "devices/dev.h"
#include "devices/iobus.h"

#define FAKE_HISTORY 256

struct fake_irq {
	pthread_mutex_t lock;
	unsigned gsi_seen;
	int level;
	unsigned n;               /* set() calls */
	int history[FAKE_HISTORY]; /* levels, in order */
	unsigned rises;           /* 0 -> 1 transitions */
};

static inline int fake_irq_set(void *ctx, unsigned gsi, int level)
{
	struct fake_irq *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->gsi_seen = gsi;
	if (level && !f->level)
		f->rises++;
	f->level = level;
	if (f->n < FAKE_HISTORY)
		f->history[f->n] = level;
	f->n++;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

static inline void fake_irq_init(struct fake_irq *f, struct irq_line *line, unsigned gsi)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	line->set = fake_irq_set;
	line->ctx = f;
	line->gsi = gsi;
}

static inline void fake_irq_clear(struct fake_irq *f)
{
	f->n = 0;
	f->rises = 0;
	memset(f->history, 0, sizeof(f->history));
}

struct fake_vm {
	unsigned n;
	enum vm_request req[16];
	int status[16];
};

static inline void fake_vm_request(void *ctx, enum vm_request req, int status)
{
	struct fake_vm *v = ctx;

	if (v->n < 16) {
		v->req[v->n] = req;
		v->status[v->n] = status;
	}
	v->n++;
}

static inline void fake_vm_init(struct fake_vm *v, struct vm_ctl *ctl)
{
	memset(v, 0, sizeof(*v));
	ctl->request = fake_vm_request;
	ctl->ctx = v;
}

struct fake_tx {
	pthread_mutex_t lock;
	uint8_t buf[65536];
	size_t len;
	unsigned calls;
	int ret; /* what tx returns */
};

static inline int fake_tx(void *ctx, const uint8_t *buf, size_t len)
{
	struct fake_tx *t = ctx;

	pthread_mutex_lock(&t->lock);
	t->calls++;
	for (size_t i = 0; i < len && t->len < sizeof(t->buf); i++)
		t->buf[t->len++] = buf[i];
	pthread_mutex_unlock(&t->lock);
	return t->ret;
}

static inline void fake_tx_init(struct fake_tx *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
}

/* in/out as a guest does them. */
static inline uint64_t pio_in(struct iobus *bus, uint16_t port, unsigned size)
{
	uint64_t v;

	iobus_read(bus, IO_PIO, port, size, &v);
	return v;
}
static inline uint8_t inb(struct iobus *bus, uint16_t port)
{
	return pio_in(bus, port, 1);
}
static inline uint16_t inw(struct iobus *bus, uint16_t port)
{
	return pio_in(bus, port, 2);
}
static inline uint32_t inl(struct iobus *bus, uint16_t port)
{
	return pio_in(bus, port, 4);
}
static inline void outb(struct iobus *bus, uint16_t port, uint8_t v)
{
	iobus_write(bus, IO_PIO, port, 1, v);
}
static inline void outw(struct iobus *bus, uint16_t port, uint16_t v)
{
	iobus_write(bus, IO_PIO, port, 2, v);
}
static inline void outl(struct iobus *bus, uint16_t port, uint32_t v)
{
	iobus_write(bus, IO_PIO, port, 4, v);
}
/* 1 if some region claims the port (iobus_read's return). */
static inline int pio_claimed(struct iobus *bus, uint16_t port)
{
	uint64_t v;

	return iobus_read(bus, IO_PIO, port, 1, &v);
}
