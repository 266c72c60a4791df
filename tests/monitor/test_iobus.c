/* Unit tests of PIO/MMIO dispatch and its accounting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "iobus.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_dispatch) };
	return cmocka_run_group_tests_name("iobus", tests, NULL, NULL);
}
