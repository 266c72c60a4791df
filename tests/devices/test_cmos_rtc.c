/* test_cmos_rtc.c: the CMOS clock at 0x70/0x71 reads the host's time in BCD
 * and in binary, 24- and 12-hour; update-in-progress never reads set and
 * register D says the time is valid; the guest sets the time with SET held
 * or one field at a time, and the clock then runs from it; other bytes are
 * RAM; the index's NMI bit is ignored; wider accesses touch only the two
 * ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "tests/devices/fake_machine.h"
#include "devices/cmos_rtc.h"

/* 2026-12-04 16:05:09 UTC, a Friday */
#define T0 1796400309
static time_t fake_now;

static time_t fake_clock(void)
{
	return fake_now;
}

struct fixture {
	struct iobus bus;
	struct cmos_rtc *c;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(iobus_init(&f->bus), 0);
	fake_now = T0;
	f->c = cmos_rtc_new(fake_clock);
	assert_non_null(f->c);
	assert_int_equal(cmos_rtc_attach(f->c, &f->bus), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	cmos_rtc_free(f->c);
	iobus_destroy(&f->bus);
	free(f);
	return 0;
}

static uint8_t rd(struct fixture *f, uint8_t reg)
{
	outb(&f->bus, CMOS_INDEX_PORT, reg);
	return inb(&f->bus, CMOS_DATA_PORT);
}

static void wr(struct fixture *f, uint8_t reg, uint8_t v)
{
	outb(&f->bus, CMOS_INDEX_PORT, reg);
	outb(&f->bus, CMOS_DATA_PORT, v);
}

static void test_reads_host_time_bcd(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(rd(f, RTC_SECONDS), 0x09);
	assert_int_equal(rd(f, RTC_MINUTES), 0x05);
	assert_int_equal(rd(f, RTC_HOURS), 0x16);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 6); /* Sunday is 1 */
	assert_int_equal(rd(f, RTC_DAY_OF_MONTH), 0x04);
	assert_int_equal(rd(f, RTC_MONTH), 0x12);
	assert_int_equal(rd(f, RTC_YEAR), 0x26);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	/* the clock runs */
	fake_now += 61;
	assert_int_equal(rd(f, RTC_SECONDS), 0x10);
	assert_int_equal(rd(f, RTC_MINUTES), 0x06);
	/* status: never updating, always valid, no interrupt flags */
	assert_int_equal(rd(f, RTC_REG_A), 0x26);
	assert_int_equal(rd(f, RTC_REG_B), RTC_B_24H);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
	/* bit 7 of the index is the PC's NMI mask, not part of the index */
	assert_int_equal(rd(f, 0x80 | RTC_HOURS), 0x16);
}

static void test_binary_and_12_hour(void **state)
{
	struct fixture *f = *state;

	wr(f, RTC_REG_B, RTC_B_DM_BINARY | RTC_B_24H);
	assert_int_equal(rd(f, RTC_HOURS), 16);
	assert_int_equal(rd(f, RTC_YEAR), 26);
	assert_int_equal(rd(f, RTC_MONTH), 12);
	wr(f, RTC_REG_B, 0); /* BCD, 12-hour */
	assert_int_equal(rd(f, RTC_HOURS), RTC_HOUR_PM | 0x04);
	fake_now -= 16 * 3600; /* 00:05: 12 AM */
	assert_int_equal(rd(f, RTC_HOURS), 0x12);
	/* UIP is read-only, the divider bits are RAM */
	wr(f, RTC_REG_A, 0xA6 ^ 0x07);
	assert_int_equal(rd(f, RTC_REG_A), 0x21);
}

static void test_set_time_with_set_bit(void **state)
{
	struct fixture *f = *state;

	/* as Linux's mc146818_set_time: SET, the fields, SET cleared */
	wr(f, RTC_REG_B, RTC_B_SET | RTC_B_24H);
	wr(f, RTC_SECONDS, 0x30);
	wr(f, RTC_MINUTES, 0x45);
	wr(f, RTC_HOURS, 0x23);
	wr(f, RTC_DAY_OF_MONTH, 0x31);
	wr(f, RTC_MONTH, 0x12);
	wr(f, RTC_YEAR, 0x99);
	wr(f, RTC_CENTURY, 0x19);
	/* held while SET is: the host's clock moves, the registers do not */
	fake_now += 100;
	assert_int_equal(rd(f, RTC_SECONDS), 0x30);
	assert_int_equal(rd(f, RTC_YEAR), 0x99);
	wr(f, RTC_REG_B, RTC_B_24H);
	/* then it runs from there: 1999-12-31 23:45:30 + 30 s */
	fake_now += 30;
	assert_int_equal(rd(f, RTC_SECONDS), 0x00);
	assert_int_equal(rd(f, RTC_MINUTES), 0x46);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 6); /* a Friday */
	fake_now += 14 * 60 + 30; /* the new century */
	assert_int_equal(rd(f, RTC_YEAR), 0x00);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	assert_int_equal(rd(f, RTC_MONTH), 0x01);
}

static void test_set_one_field(void **state)
{
	struct fixture *f = *state;

	wr(f, RTC_MINUTES, 0x59);
	assert_int_equal(rd(f, RTC_MINUTES), 0x59);
	assert_int_equal(rd(f, RTC_HOURS), 0x16);
	fake_now += 60 - 9; /* 16:59:60 is 17:00:00 */
	assert_int_equal(rd(f, RTC_HOURS), 0x17);
	assert_int_equal(rd(f, RTC_MINUTES), 0x00);
	/* the day of the week follows the date; writing it changes nothing */
	wr(f, RTC_DAY_OF_WEEK, 1);
	assert_int_equal(rd(f, RTC_DAY_OF_WEEK), 6);
	/* read-only status registers */
	wr(f, RTC_REG_C, 0xFF);
	wr(f, RTC_REG_D, 0);
	assert_int_equal(rd(f, RTC_REG_C), 0);
	assert_int_equal(rd(f, RTC_REG_D), RTC_D_VRT);
}

static void test_ram_and_wide_access(void **state)
{
	struct fixture *f = *state;

	for (unsigned r = 0x0E; r < 0x80; r++)
		if (r != RTC_CENTURY)
			wr(f, r, r ^ 0x5A);
	for (unsigned r = 0x0E; r < 0x80; r++)
		if (r != RTC_CENTURY)
			assert_int_equal(rd(f, r), r ^ 0x5A);
	/* alarms are RAM (no interrupts) */
	wr(f, RTC_SECONDS_ALARM, 0x42);
	assert_int_equal(rd(f, RTC_SECONDS_ALARM), 0x42);
	/* the index port reads as an empty bus; a word write sets index and data */
	assert_int_equal(inb(&f->bus, CMOS_INDEX_PORT), 0xFF);
	outw(&f->bus, CMOS_INDEX_PORT, 0x7720);
	assert_int_equal(rd(f, 0x20), 0x77);
	outb(&f->bus, CMOS_INDEX_PORT, RTC_HOURS);
	assert_int_equal(inw(&f->bus, CMOS_INDEX_PORT), 0x16FF);
	assert_int_equal(pio_claimed(&f->bus, CMOS_DATA_PORT + 1), 0);
	assert_int_equal(cmos_rtc_attach(f->c, &f->bus), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_host_time_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_and_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_time_with_set_bit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_one_field, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram_and_wide_access, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
