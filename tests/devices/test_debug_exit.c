/* test_debug_exit.c: the isa-debug-exit port at its default base and at
 * QEMU's 0x501, every width, reads, neighbours. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "devices/debug_exit.h"
#include "tests/devices/fake_machine.h"

struct fixture {
	struct iobus bus;
	struct fake_vm vm;
	struct vm_ctl ctl;
	struct debug_exit *d;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_vm_init(&f->vm, &f->ctl);
	f->d = debug_exit_new(&f->ctl);
	assert_non_null(f->d);
	assert_int_equal(debug_exit_attach(f->d, &f->bus, DEBUG_EXIT_DEFAULT_BASE), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	debug_exit_free(f->d);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static void test_write_widths(void **state)
{
	struct fixture *f = *state;

	outb(&f->bus, 0xF4, 0x31); /* netguest: outb 0xf4, status */
	outw(&f->bus, 0xF5, 0x1234);
	outl(&f->bus, 0xF4, 0xDEADBEEF);
	outb(&f->bus, 0xF7, 0x00);
	assert_int_equal(f->vm.n, 4);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(f->vm.req[i], VM_REQ_DEBUG_EXIT);
	/* Unshifted: the monitor decides the exit status. */
	assert_int_equal(f->vm.status[0], 0x31);
	assert_int_equal(f->vm.status[1], 0x1234);
	assert_int_equal(f->vm.status[2], (int)0xDEADBEEF);
	assert_int_equal(f->vm.status[3], 0);
}

static void test_reads_and_bounds(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inb(&f->bus, 0xF4), 0);
	assert_int_equal(inw(&f->bus, 0xF6), 0);
	assert_int_equal(inl(&f->bus, 0xF4), 0);
	assert_int_equal(f->vm.n, 0);
	/* Four ports, no more. */
	assert_int_equal(pio_claimed(&f->bus, 0xF3), 0);
	assert_int_equal(pio_claimed(&f->bus, 0xF8), 0);
	outb(&f->bus, 0xF8, 1);
	outb(&f->bus, 0xF3, 1);
	assert_int_equal(f->vm.n, 0);
	assert_int_equal(debug_exit_attach(f->d, &f->bus, 0x501), -EBUSY);
}

static void test_other_base(void **state)
{
	struct fixture *f = *state;
	struct debug_exit *d2 = debug_exit_new(&f->ctl);

	assert_non_null(d2);
	assert_int_equal(debug_exit_attach(d2, &f->bus, 0x501), 0);
	outb(&f->bus, 0x501, 7);
	assert_int_equal(f->vm.n, 1);
	assert_int_equal(f->vm.status[0], 7);
	debug_exit_free(d2);
	assert_int_equal(pio_claimed(&f->bus, 0x501), 0);
}

static void test_overlap_refused(void **state)
{
	struct fixture *f = *state;
	struct debug_exit *d2 = debug_exit_new(&f->ctl);

	assert_non_null(d2);
	assert_int_equal(debug_exit_attach(d2, &f->bus, 0xF6), -EEXIST);
	debug_exit_free(d2); /* never attached: unregisters nothing */
	assert_int_equal(pio_claimed(&f->bus, 0xF4), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_and_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_base, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
