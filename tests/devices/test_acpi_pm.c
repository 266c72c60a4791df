/* test_acpi_pm.c: the PM block at 0x600: S5 at PM1a_CNT powers off and
 * nothing else does; the power button sets PWRBTN_STS and raises the SCI only
 * while the guest enables it, a written 1 clears it; SCI_EN reads 1; the PM
 * timer counts at 3.579545 MHz in 24 bits; accesses that cover a register in
 * part leave it alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/acpi_pm.h"

#define BASE ACPI_PM_BASE
#define STS (BASE + ACPI_PM1_STS)
#define EN (BASE + ACPI_PM1_EN)
#define CNT (BASE + ACPI_PM1_CNT)
#define TMR (BASE + ACPI_PM_TMR)
#define SCI_GSI 9

static uint64_t fake_now_ns;

static uint64_t fake_clock(void)
{
	return fake_now_ns;
}

struct fixture {
	struct iobus bus;
	struct fake_vm vm;
	struct vm_ctl ctl;
	struct fake_irq sci;
	struct irq_line sci_line;
	struct acpi_pm *p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_vm_init(&f->vm, &f->ctl);
	fake_irq_init(&f->sci, &f->sci_line, SCI_GSI);
	fake_now_ns = 0;
	f->p = acpi_pm_new(&f->ctl, &f->sci_line, fake_clock);
	assert_non_null(f->p);
	assert_int_equal(acpi_pm_attach(f->p, &f->bus, BASE), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_free(f->p);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static void test_s5_powers_off(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(inw(&f->bus, CNT), PM1_CNT_SCI_EN);
	outw(&f->bus, CNT, ACPI_PM_S5_VALUE);
	assert_int_equal(f->vm.n, 1);
	assert_int_equal(f->vm.req[0], VM_REQ_POWEROFF);
	assert_int_equal(f->vm.status[0], 0);
	/* SLP_EN is write-only; WAK_STS is set. */
	assert_int_equal(inw(&f->bus, CNT), PM1_CNT_SCI_EN);
	assert_int_equal(inw(&f->bus, STS) & PM1_STS_WAK, PM1_STS_WAK);
	/* ACPICA's read-modify-write keeps SCI_EN; and a dword write. */
	outw(&f->bus, CNT, 0x2001);
	outl(&f->bus, CNT, 0x2000);
	assert_int_equal(f->vm.n, 3);
	assert_int_equal(f->vm.req[2], VM_REQ_POWEROFF);
	/* WAK_STS does not raise the SCI (it has no enable bit). */
	assert_int_equal(f->sci.rises, 0);
}

static void test_other_values_ignored(void **state)
{
	struct fixture *f = *state;

	outw(&f->bus, CNT, 0x0001);            /* SCI_EN only */
	outw(&f->bus, CNT, 0x1C00);            /* SLP_TYP without SLP_EN */
	outw(&f->bus, CNT, 0x2000 | 1 << 10);  /* S1 */
	outw(&f->bus, CNT, 0x2000 | 5 << 10);  /* another sleep type */
	outb(&f->bus, CNT + 1, 0x20);          /* byte write of the high half */
	outb(&f->bus, CNT, 0x00);
	outw(&f->bus, CNT + 1, 0x2000);        /* misaligned word */
	outw(&f->bus, CNT + 2, 0x2000);        /* the unused bytes */
	assert_int_equal(f->vm.n, 0);
	/* The last whole write is kept (without SLP_EN), SCI_EN reads 1. */
	assert_int_equal(inw(&f->bus, CNT), 0x1400 | PM1_CNT_SCI_EN);
	assert_int_equal(inb(&f->bus, CNT + 1), 0x14);
	assert_int_equal(inw(&f->bus, CNT + 1), 0xFF14);
	assert_int_equal(inl(&f->bus, CNT), 0xFFFF1401);
	assert_int_equal(pio_claimed(&f->bus, BASE + ACPI_PM_LEN), 0);
	assert_int_equal(pio_claimed(&f->bus, BASE - 1), 0);
	assert_int_equal(acpi_pm_attach(f->p, &f->bus, BASE), -EBUSY);
}

static void test_power_button(void **state)
{
	struct fixture *f = *state;

	/* Not enabled: the status is set, no SCI, and the caller is told. */
	assert_false(acpi_pm_power_button(f->p));
	assert_int_equal(inw(&f->bus, STS), PM1_STS_PWRBTN);
	assert_int_equal(f->sci.rises, 0);
	/* Enabling it with the status pending raises the SCI. */
	outw(&f->bus, EN, PM1_EN_PWRBTN | PM1_EN_GBL | 0x0001); /* TMR_EN is not kept */
	assert_int_equal(inw(&f->bus, EN), PM1_EN_PWRBTN | PM1_EN_GBL);
	assert_int_equal(f->sci.rises, 1);
	assert_int_equal(f->sci.level, 1);
	assert_int_equal(f->sci.gsi_seen, SCI_GSI);
	/* Writing 0 clears nothing; a 1 clears it and lowers the SCI. */
	outw(&f->bus, STS, 0);
	assert_int_equal(f->sci.level, 1);
	outw(&f->bus, STS, PM1_STS_PWRBTN);
	assert_int_equal(inw(&f->bus, STS), 0);
	assert_int_equal(f->sci.level, 0);
	/* Enabled: a press raises it at once. */
	assert_true(acpi_pm_power_button(f->p));
	assert_int_equal(f->sci.rises, 2);
	/* A byte write does not cover STS: nothing cleared. */
	outb(&f->bus, STS + 1, 0x01);
	assert_int_equal(f->sci.level, 1);
	/* One dword write covers STS and EN: clears the status, disables. */
	outl(&f->bus, STS, PM1_STS_PWRBTN);
	assert_int_equal(inl(&f->bus, STS), 0);
	assert_int_equal(f->sci.level, 0);
	assert_int_equal(f->vm.n, 0);
}

static void test_timer(void **state)
{
	struct fixture *f = *state;

	fake_now_ns = 1000000000ull; /* 1 s: 3579545 ticks */
	assert_int_equal(inl(&f->bus, TMR), 3579545u & 0xffffff);
	fake_now_ns += 1000; /* 1 us: 3.58 ticks more */
	assert_int_equal(inl(&f->bus, TMR), 3579548u);
	/* 24 bits: wraps after 2^24 ticks (4.69 s). */
	fake_now_ns = 5000000000ull;
	assert_int_equal(inl(&f->bus, TMR), (5ull * 3579545u) & 0xffffff);
	assert_int_equal(inb(&f->bus, TMR + 3), 0);
	assert_int_equal(inw(&f->bus, TMR + 2), ((5ull * 3579545u) >> 16) & 0xff);
	/* Read-only. */
	outl(&f->bus, TMR, 0);
	assert_int_equal(inl(&f->bus, TMR), (5ull * 3579545u) & 0xffffff);
	/* The real clock moves. */
	acpi_pm_free(f->p);
	f->p = acpi_pm_new(&f->ctl, &f->sci_line, NULL);
	assert_non_null(f->p);
	assert_int_equal(acpi_pm_attach(f->p, &f->bus, BASE), 0);
	uint32_t a = inl(&f->bus, TMR);
	struct timespec ts = { 0, 2000000 };
	nanosleep(&ts, NULL);
	assert_int_not_equal(inl(&f->bus, TMR), a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_s5_powers_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_values_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_power_button, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
