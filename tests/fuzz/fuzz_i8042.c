/* fuzz_i8042.c: libFuzzer target for devices/i8042.c (keyboard controller
 * at 0x60/0x64 with a keyboard) on a real iobus. The input is a guest
 * program in the op format of fuzz_common.h: controller commands, data
 * bytes, keyboard commands and reads at and around the two ports, and the
 * monitor's side: Ctrl-Alt-Del pressed on the keyboard.
 *
 * Config byte: unused (reserved).
 *
 * Events (FZ_OP_EVENT): 0 i8042_send_ctrl_alt_del.
 *
 * Invariants: IRQ 1 is a clean edge (set 1 then 0; low again when an op
 * returns); the only machine request is VM_REQ_RESET; ctrl-alt-del answers
 * 0, -ENOSPC or -EAGAIN; the status register's high bits stay 0 and a
 * one-byte port reads back one byte. */
#include <errno.h>

#include "tests/fuzz/fuzz_common.h"
#include "devices/i8042.h"

struct fx {
	struct iobus bus;
	struct i8042 *k;
	struct fz_irq irq;
	uint64_t resets;
};

static void vm_req(void *ctx, enum vm_request req, int status)
{
	struct fx *x = ctx;

	FZ_CHECK(req == VM_REQ_RESET && status == 0);
	x->resets++;
}

static const struct fz_region regions[] = {
	{ .space = IO_PIO, .len = 1, .fixed_base = I8042_DATA_PORT },
	{ .space = IO_PIO, .len = 1, .fixed_base = I8042_CMD_PORT },
};

static void event(void *ctx, uint8_t ev, struct fz *f)
{
	struct fx *x = ctx;
	int r;

	(void)ev;
	(void)f;
	r = i8042_send_ctrl_alt_del(x->k);
	FZ_CHECK(r == 0 || r == -ENOSPC || r == -EAGAIN);
}

FZ_NOCOV static void check(void *ctx)
{
	struct fx *x = ctx;
	uint64_t v;

	FZ_CHECK(x->irq.level == 0); /* every edge ended */
	/* The status register has no side effects: read it every time. */
	FZ_CHECK(iobus_read(&x->bus, IO_PIO, I8042_CMD_PORT, 1, &v) == 1);
	FZ_CHECK(v <= 0xff);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct irq_line line;
	struct vm_ctl vm;
	struct fz f = { data, size };
	struct fz_target t = {
		.bus = &x.bus, .regions = regions, .n_regions = 2,
		.event = event, .check = check, .ctx = &x,
	};

	(void)fz_u8(&f); /* config byte */
	fz_init_logging();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	fz_irq_init(&x.irq, &line, I8042_KBD_IRQ, true);
	vm = (struct vm_ctl){ .request = vm_req, .ctx = &x };
	x.k = i8042_new(&line, &vm);
	FZ_CHECK(x.k);
	FZ_CHECK(i8042_attach(x.k, &x.bus) == 0);

	fz_run(&t, &f);

	i8042_free(x.k);
	iobus_destroy(&x.bus);
	return 0;
}
