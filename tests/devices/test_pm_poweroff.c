/* test_pm_poweroff.c: PM1a_CNT at 0x604: the S5 write powers off, other
 * values, widths and offsets do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/pm_poweroff.h"

#define PORT PM_POWEROFF_PORT

struct fixture {
	struct iobus bus;
	struct fake_vm vm;
	struct vm_ctl ctl;
	struct pm_poweroff *p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_vm_init(&f->vm, &f->ctl);
	f->p = pm_poweroff_new(&f->ctl);
	assert_non_null(f->p);
	assert_int_equal(pm_poweroff_attach(f->p, &f->bus, PORT), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	pm_poweroff_free(f->p);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	outw(&f->bus, PORT, 0x2000);
	assert_int_equal(f->vm.n, 1);
	assert_int_equal(f->vm.req[0], VM_REQ_POWEROFF);
	assert_int_equal(f->vm.status[0], 0);
	/* SLP_EN is write-only. */
	assert_int_equal(inw(&f->bus, PORT), 0x0000);
	/* ACPI-style read-modify-write keeping SCI_EN; and a dword write. */
	outw(&f->bus, PORT, 0x2001);
	outl(&f->bus, PORT, 0x2000);
	assert_int_equal(f->vm.n, 3);
	assert_int_equal(f->vm.req[2], VM_REQ_POWEROFF);
}

static void test_other_values_ignored(void **state)
{
	struct fixture *f = *state;

	outw(&f->bus, PORT, 0x0001);            /* SCI_EN only */
	outw(&f->bus, PORT, 0x1C00);            /* SLP_TYP without SLP_EN */
	outw(&f->bus, PORT, 0x2000 | 1 << 10);  /* S1 */
	outw(&f->bus, PORT, 0x2000 | 5 << 10);  /* another sleep type */
	outb(&f->bus, PORT + 1, 0x20);          /* byte write of the high half */
	outb(&f->bus, PORT, 0x00);
	outw(&f->bus, PORT + 1, 0x2000);        /* misaligned word */
	assert_int_equal(f->vm.n, 0);
	/* The last 16-bit write is kept (without SLP_EN). */
	assert_int_equal(inw(&f->bus, PORT), 0x0400 | 0x1000);
	assert_int_equal(inb(&f->bus, PORT + 1), 0x14);
	assert_int_equal(inw(&f->bus, PORT + 1), 0xFF14);
	assert_int_equal(inl(&f->bus, PORT), 0xFFFF1400);
	assert_int_equal(pio_claimed(&f->bus, PORT + 2), 0);
	assert_int_equal(pio_claimed(&f->bus, PORT - 1), 0);
	outw(&f->bus, PORT + 2, 0x2000);
	assert_int_equal(f->vm.n, 0);
	assert_int_equal(pm_poweroff_attach(f->p, &f->bus, PORT), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_values_ignored, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
