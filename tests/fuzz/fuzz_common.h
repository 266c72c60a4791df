/* fuzz_common.h: what every device fuzz target shares: fake guest RAM with
 * guard pages, a reader over the fuzz input, and the interpreter of the op
 * format (tests/fuzz/README.md). A target describes its I/O regions and its
 * host-side events; the input is run as a guest program against a device on
 * a real struct iobus, as the unit tests do (tests/devices/fake_machine.h).
 * The input reader and guest RAM are fuzz_input.h's.
 *
 * Input: one config byte (the target decides what it means), then ops until
 * the input ends. Every op is one opcode byte (taken modulo FZ_OP_COUNT) and
 * its operands; an operand cut short by the end of the input reads as 0. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/dev.h"
#include "devices/iobus.h"
#include "common/log.h"
#include "devices/pci.h"
#include "tests/fuzz/fuzz_input.h"

/* ---- the op format ---- */

enum fz_op {
	FZ_OP_IO_WRITE,  /* region u8, offset u8, size u8, value u32 */
	FZ_OP_IO_READ,   /* region u8, offset u8, size u8 */
	FZ_OP_MEM_WRITE, /* gpa u32, len u8, bytes[len] */
	FZ_OP_MEM_PUT32, /* gpa u32, value u32 */
	FZ_OP_EVENT,     /* event u8, then the target's operands */
	FZ_OP_RAW_IO,    /* flags u8 (bit 0 write, bit 1 MMIO), addr u32, size u8, value u32 */
	FZ_OP_PCI_CFG,   /* flags u8 (bit 0 write), slot u8, reg u8, size u8, value u32 */
	FZ_OP_COUNT
};

/* Access widths: a size operand picks one of these (low 2 bits). */
static inline unsigned fz_size(uint8_t code)
{
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	return sizes[code & 3];
}

/* One I/O region of the device under test. base() gives where it is now (a
 * PCI BAR moves); offsets go FZ_REGION_SLACK past its end to test accesses
 * that cross or miss it. */
#define FZ_REGION_SLACK 8
struct fz_region {
	enum io_space space;
	uint64_t len;
	uint64_t (*base)(void *ctx);
	uint64_t fixed_base; /* when base is NULL */
};

struct fz_target {
	struct iobus *bus;
	const struct fz_region *regions;
	unsigned n_regions;
	/* Host-side event number ev (any u8) with its operands from f. */
	void (*event)(void *ctx, uint8_t ev, struct fz *f);
	/* After every op: cheap invariants (FZ_CHECK). May be NULL. */
	void (*check)(void *ctx);
	void *ctx;
};

static inline uint64_t fz_region_base(const struct fz_target *t, const struct fz_region *r)
{
	return r->base ? r->base(t->ctx) : r->fixed_base;
}

/* Runs the op at the front of f, then the target's check. */
static inline void fz_step(const struct fz_target *t, struct fz *f)
{
	struct gmem *m = fz_ram();
	uint8_t op = fz_u8(f) % FZ_OP_COUNT;
	uint64_t v;

	switch (op) {
	case FZ_OP_IO_WRITE:
	case FZ_OP_IO_READ: {
		const struct fz_region *r = &t->regions[fz_u8(f) % t->n_regions];
		uint64_t off = fz_u8(f) % (r->len + FZ_REGION_SLACK);
		unsigned size = fz_size(fz_u8(f));
		uint64_t addr = fz_region_base(t, r) + off;

		if (op == FZ_OP_IO_WRITE)
			iobus_write(t->bus, r->space, addr, size, fz_u32(f));
		else
			iobus_read(t->bus, r->space, addr, size, &v);
		break;
	}
	case FZ_OP_MEM_WRITE: {
		uint64_t gpa = fz_u32(f) % m->size;
		size_t len = fz_u8(f), got;
		const uint8_t *src;

		if (len > m->size - gpa)
			len = m->size - gpa;
		src = fz_bytes(f, len, &got);
		memcpy(m->host + gpa, src, got);
		break;
	}
	case FZ_OP_MEM_PUT32: {
		uint64_t gpa = fz_u32(f) % (m->size - 3);
		uint32_t val = fz_u32(f);

		memcpy(m->host + gpa, &val, 4);
		break;
	}
	case FZ_OP_EVENT: {
		uint8_t ev = fz_u8(f);

		if (t->event)
			t->event(t->ctx, ev, f);
		break;
	}
	case FZ_OP_RAW_IO: {
		uint8_t flags = fz_u8(f);
		enum io_space sp = flags & 2 ? IO_MMIO : IO_PIO;
		uint64_t addr = fz_u32(f);
		unsigned size = fz_size(fz_u8(f));

		if (sp == IO_PIO)
			addr &= 0xffff;
		if (flags & 1)
			iobus_write(t->bus, sp, addr, size, fz_u32(f));
		else
			iobus_read(t->bus, sp, addr, size, &v);
		break;
	}
	case FZ_OP_PCI_CFG: {
		uint8_t flags = fz_u8(f), slot = fz_u8(f) & 31, reg = fz_u8(f);
		unsigned size = fz_size(fz_u8(f));
		uint32_t val = fz_u32(f);

		iobus_write(t->bus, IO_PIO, PCI_CONFIG_ADDRESS_PORT, 4,
			    0x80000000u | (uint32_t)slot << 11 | (reg & 0xfcu));
		if (flags & 1)
			iobus_write(t->bus, IO_PIO, PCI_CONFIG_DATA_PORT + (reg & 3), size, val);
		else
			iobus_read(t->bus, IO_PIO, PCI_CONFIG_DATA_PORT + (reg & 3), size, &v);
		break;
	}
	}
	if (t->check)
		t->check(t->ctx);
}

/* Runs every op of f. */
static inline void fz_run(const struct fz_target *t, struct fz *f)
{
	while (fz_more(f))
		fz_step(t, f);
}

/* Once per process: quiet the devices' once-per-device warnings (every input
 * builds new devices), unless FUZZ_VERBOSE is set. */
static inline void fz_init_logging(void)
{
	fz_quiet_logging(LOG_P_ERR);
}

/* An interrupt input that checks how the device drives it: a level-style
 * device calls set() only when the level changes; an edge-style one sends
 * 1 then 0. Unbounded, unlike fake_machine.h's history. */
struct fz_irq {
	bool edges; /* edge-style (i8042) rather than level-style */
	int level;
	uint64_t sets, rises;
};

static inline int fz_irq_set(void *ctx, unsigned gsi, int level)
{
	struct fz_irq *q = ctx;

	(void)gsi;
	FZ_CHECK(level == 0 || level == 1);
	/* Level style: no redundant set(). Edges: 1, 0, 1, 0 ... (each target
	 * also checks that an edge has ended by the time an op returns). */
	FZ_CHECK(level != q->level);
	if (level && !q->level)
		q->rises++;
	q->level = level;
	q->sets++;
	return 0;
}

static inline void fz_irq_init(struct fz_irq *q, struct irq_line *line, unsigned gsi, bool edges)
{
	memset(q, 0, sizeof(*q));
	q->edges = edges;
	line->set = fz_irq_set;
	line->ctx = q;
	line->gsi = gsi;
}

/* Monotonic counters: every uint64_t of now[] at least what it was. */
FZ_NOCOV static inline void fz_check_monotonic(const uint64_t *before, const uint64_t *now, size_t n)
{
	for (size_t i = 0; i < n; i++)
		FZ_CHECK(now[i] >= before[i]);
}
