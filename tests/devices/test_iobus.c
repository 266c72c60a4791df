/* Unit tests of PIO/MMIO dispatch and its accounting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "devices/iobus.h"

struct fake {
	uint64_t last_off, last_val;
	unsigned last_size, writes;
};

static uint64_t fake_read(void *o, uint64_t off, unsigned size)
{
	(void)o;
	(void)size;
	return 0x1122334455667788ull + off;
}

static void fake_write(void *o, uint64_t off, unsigned size, uint64_t v)
{
	struct fake *f = o;
	f->last_off = off;
	f->last_size = size;
	f->last_val = v;
	f->writes++;
}

static const struct io_ops ops = { fake_read, fake_write };

static void visit(void *ctx, enum io_space sp, const char *name, uint64_t base, uint64_t len,
		  const struct iobus_stats *st)
{
	uint64_t *totals = ctx;
	(void)base;
	(void)len;
	if (sp == IO_PIO && !strcmp(name, "dev")) {
		totals[0] = st->reads;
		totals[1] = st->writes;
	}
	if (sp == IO_PIO && !strcmp(name, "unclaimed"))
		totals[2] = st->reads + st->writes;
}

static void test_dispatch(void **state)
{
	struct iobus bus;
	struct fake f = { 0 };
	uint64_t v, totals[3] = { 0 };
	(void)state;

	assert_int_equal(iobus_init(&bus), 0);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0x3f8, 8, "dev", &ops, &f), 0);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0x3fc, 8, "overlap", &ops, &f), -EEXIST);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0x3f0, 9, "overlap", &ops, &f), -EEXIST);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0x3f0, 8, "below", &ops, &f), 0);
	assert_int_equal(iobus_register(&bus, IO_MMIO, 0x3f8, 8, "mmio-same-addr", &ops, &f), 0);

	assert_int_equal(iobus_read(&bus, IO_PIO, 0x3fd, 1, &v), 1);
	assert_int_equal(v, 0x8d); /* masked to 1 byte, offset 5 */
	assert_int_equal(iobus_write(&bus, IO_PIO, 0x3fa, 2, 0x12345), 1);
	assert_int_equal(f.last_off, 2);
	assert_int_equal(f.last_size, 2);
	assert_int_equal(f.last_val, 0x2345);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x400, 2, &v), 0);
	assert_int_equal(v, 0xffff);
	assert_int_equal(iobus_write(&bus, IO_PIO, 0x400, 1, 1), 0);

	iobus_foreach(&bus, visit, totals);
	assert_int_equal(totals[0], 1);
	assert_int_equal(totals[1], 1);
	assert_int_equal(totals[2], 2);

	assert_int_equal(iobus_unregister(&bus, IO_PIO, 0x3f8), 0);
	assert_int_equal(iobus_unregister(&bus, IO_PIO, 0x3f8), -ENOENT);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x3f8, 4, &v), 0);
	assert_int_equal(v, 0xffffffff);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x3f7, 1, &v), 1); /* "below" still there */
	iobus_destroy(&bus);
}

/* A guest moving a BAR back and forth must not grow the bus without bound:
 * the retired region of the same device is reused. */
static void test_moves_are_bounded(void **state)
{
	struct iobus bus;
	struct fake f = { 0 };
	uint64_t v;
	(void)state;

	assert_int_equal(iobus_init(&bus), 0);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0xc000, 32, "nic", &ops, &f), 0);
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t from = i % 2 ? 0xd000 : 0xc000, to = i % 2 ? 0xc000 : 0xd000;
		assert_int_equal(iobus_unregister(&bus, IO_PIO, from), 0);
		assert_int_equal(iobus_register(&bus, IO_PIO, to, 32, "nic", &ops, &f), 0);
	}
	assert_true(bus.space[IO_PIO].n_retired <= 1);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0xc004, 1, &v), 1);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0xd004, 1, &v), 0);
	/* a failed re-registration keeps the region retired, not freed */
	assert_int_equal(iobus_register(&bus, IO_PIO, 0xe000, 8, "other", &ops, &bus), 0);
	assert_int_equal(iobus_unregister(&bus, IO_PIO, 0xc000), 0);
	assert_int_equal(iobus_register(&bus, IO_PIO, 0xe004, 32, "nic", &ops, &f), -EEXIST);
	assert_int_equal(bus.space[IO_PIO].n_retired, 1);
	iobus_destroy(&bus);
}

struct at_tally {
	unsigned n;
	uint64_t addr[32], reads[32], writes[32];
	uint64_t total;
};

static void visit_at(void *ctx, enum io_space sp, const char *name, uint64_t base, uint64_t len,
		     const struct iobus_stats *st)
{
	struct at_tally *t = ctx;

	(void)len;
	if (sp != IO_PIO)
		return;
	if (!strcmp(name, "unclaimed"))
		t->total = st->reads + st->writes;
	if (!strcmp(name, "unclaimed-at") && t->n < 32) {
		t->addr[t->n] = base;
		t->reads[t->n] = st->reads;
		t->writes[t->n++] = st->writes;
	}
}

/* Each stray address has its own counts, for the first 16; the total
 * counts them all. */
static void test_unclaimed_at(void **state)
{
	struct iobus bus;
	struct at_tally t = { 0 };
	uint64_t v;
	(void)state;

	assert_int_equal(iobus_init(&bus), 0);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x80, 1, &v), 0);
	assert_int_equal(iobus_write(&bus, IO_PIO, 0x80, 1, 0), 0);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x71, 1, &v), 0);
	assert_int_equal(iobus_read(&bus, IO_PIO, 0x80, 1, &v), 0);
	for (uint64_t p = 0x200; p < 0x200 + IOBUS_UNCLAIMED_TRACKED; p++)
		assert_int_equal(iobus_write(&bus, IO_PIO, p, 1, 0), 0);
	iobus_foreach(&bus, visit_at, &t);
	assert_int_equal(t.n, IOBUS_UNCLAIMED_TRACKED);
	assert_int_equal(t.addr[0], 0x80);
	assert_int_equal(t.reads[0], 2);
	assert_int_equal(t.writes[0], 1);
	assert_int_equal(t.addr[1], 0x71);
	assert_int_equal(t.reads[1], 1);
	assert_int_equal(t.addr[2], 0x200);
	assert_int_equal(t.total, 4 + IOBUS_UNCLAIMED_TRACKED);
	iobus_destroy(&bus);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_dispatch),
					    cmocka_unit_test(test_moves_are_bounded),
					    cmocka_unit_test(test_unclaimed_at) };
	return cmocka_run_group_tests_name("iobus", tests, NULL, NULL);
}
