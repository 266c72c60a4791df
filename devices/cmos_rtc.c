/* cmos_rtc.c: the PC's CMOS clock, after the Motorola MC146818A data sheet
 * ("Real-Time Clock Plus RAM"): an index port (0x70; bit 7 is the PC's NMI
 * mask, ignored) selects one of 128 bytes, the data port (0x71) reads or
 * writes it.
 * What is modelled:
 *   - The time and date registers (seconds, minutes, hours, day of week, day
 *     of month, month, year, and the PC's century byte at 0x32), computed at
 *     each read from the host's clock (UTC) plus an offset the guest sets by
 *     writing them. Register B's data mode (BCD or binary) and hour mode (12
 *     or 24) apply to reads and writes.
 *   - Setting the time as the data sheet asks: with register B's SET bit the
 *     registers hold still and take the guest's values; clearing SET starts
 *     the clock from them. A write without SET changes that one field.
 *   - Register A's update-in-progress flag always reads 0, so a reader never
 *     waits (Linux polls it before reading the time: without this device its
 *     20,000 reads of an empty bus were most of a boot's unclaimed accesses);
 *     register D reads "valid RAM and time".
 *   - The other bytes are CMOS RAM, kept for the guest.
 * What is not:
 *   - Interrupts (IRQ 8: periodic, alarm, update-ended): register C reads 0
 *     and the alarm registers are plain RAM. The FADT says "no CMOS RTC", so
 *     Linux binds no RTC driver that would wait for them; it reads the wall
 *     clock here at boot where it has no paravirtual clock (nopv).
 *   - The divider chain (register A's low bits are RAM).
 */
#include "devices/cmos_rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define NREGS 128
#define INDEX_MASK 0x7F
#define REG_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz rate */
#define REG_B_DEFAULT RTC_B_24H

struct cmos_rtc {
	pthread_mutex_t lock;
	time_t (*now)(void);
	struct iobus *bus;
	uint8_t index;
	uint8_t ram[NREGS];
	time_t offset; /* the guest's time minus the host's */
	time_t frozen; /* the guest's time while SET holds the clock */
};

static time_t real_now(void)
{
	return time(NULL);
}

static bool binary(const struct cmos_rtc *c)
{
	return c->ram[RTC_REG_B] & RTC_B_DM_BINARY;
}

static uint8_t to_reg(const struct cmos_rtc *c, unsigned v)
{
	return binary(c) ? v : (v / 10) << 4 | v % 10;
}

static unsigned from_reg(const struct cmos_rtc *c, uint8_t v)
{
	return binary(c) ? v : (v >> 4) * 10 + (v & 0xF);
}

static time_t guest_time(const struct cmos_rtc *c)
{
	return c->ram[RTC_REG_B] & RTC_B_SET ? c->frozen : c->now() + c->offset;
}

static uint8_t hours_to_reg(const struct cmos_rtc *c, unsigned h)
{
	if (c->ram[RTC_REG_B] & RTC_B_24H)
		return to_reg(c, h);
	return to_reg(c, h % 12 ? h % 12 : 12) | (h >= 12 ? RTC_HOUR_PM : 0);
}

static unsigned hours_from_reg(const struct cmos_rtc *c, uint8_t v)
{
	unsigned h;

	if (c->ram[RTC_REG_B] & RTC_B_24H)
		return from_reg(c, v);
	h = from_reg(c, v & ~RTC_HOUR_PM) % 12;
	return v & RTC_HOUR_PM ? h + 12 : h;
}

/* The register's value for the guest's time t; false if reg is not a field. */
static bool field_get(const struct cmos_rtc *c, unsigned reg, time_t t, uint8_t *v)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	switch (reg) {
	case RTC_SECONDS: *v = to_reg(c, tm.tm_sec); return true;
	case RTC_MINUTES: *v = to_reg(c, tm.tm_min); return true;
	case RTC_HOURS: *v = hours_to_reg(c, tm.tm_hour); return true;
	case RTC_DAY_OF_WEEK: *v = to_reg(c, tm.tm_wday + 1); return true;
	case RTC_DAY_OF_MONTH: *v = to_reg(c, tm.tm_mday); return true;
	case RTC_MONTH: *v = to_reg(c, tm.tm_mon + 1); return true;
	case RTC_YEAR: *v = to_reg(c, tm.tm_year % 100); return true;
	case RTC_CENTURY: *v = to_reg(c, (tm.tm_year + 1900) / 100); return true;
	}
	return false;
}

/* The guest's time t with the field at reg set to v; false if reg is not a
 * field. The day of the week follows from the date. */
static bool field_set(const struct cmos_rtc *c, unsigned reg, uint8_t v, time_t *t)
{
	struct tm tm;
	time_t n;
	int century;

	if (!gmtime_r(t, &tm))
		memset(&tm, 0, sizeof(tm));
	century = (tm.tm_year + 1900) / 100;
	switch (reg) {
	case RTC_SECONDS: tm.tm_sec = from_reg(c, v); break;
	case RTC_MINUTES: tm.tm_min = from_reg(c, v); break;
	case RTC_HOURS: tm.tm_hour = hours_from_reg(c, v); break;
	case RTC_DAY_OF_WEEK: return true;
	case RTC_DAY_OF_MONTH: tm.tm_mday = from_reg(c, v); break;
	case RTC_MONTH: tm.tm_mon = (int)from_reg(c, v) - 1; break;
	case RTC_YEAR: tm.tm_year = century * 100 + (int)from_reg(c, v) - 1900; break;
	case RTC_CENTURY: tm.tm_year = (int)from_reg(c, v) * 100 + tm.tm_year % 100 - 1900; break;
	default: return false;
	}
	n = timegm(&tm);
	if (n != (time_t)-1)
		*t = n;
	return true;
}

static uint8_t reg_read(struct cmos_rtc *c, unsigned reg)
{
	uint8_t v;

	if (field_get(c, reg, guest_time(c), &v))
		return v;
	switch (reg) {
	case RTC_REG_A: return c->ram[reg] & ~RTC_A_UIP;
	case RTC_REG_C: return 0;
	case RTC_REG_D: return RTC_D_VRT;
	}
	return c->ram[reg];
}

static void reg_write(struct cmos_rtc *c, unsigned reg, uint8_t v)
{
	time_t t = guest_time(c);

	if (reg == RTC_REG_B) {
		bool was_set = c->ram[reg] & RTC_B_SET;

		if (!was_set && (v & RTC_B_SET))
			c->frozen = t;
		c->ram[reg] = v;
		if (was_set && !(v & RTC_B_SET))
			c->offset = c->frozen - c->now();
		return;
	}
	if (field_set(c, reg, v, &t)) {
		if (c->ram[RTC_REG_B] & RTC_B_SET)
			c->frozen = t;
		else
			c->offset = t - c->now();
		return;
	}
	if (reg == RTC_REG_C || reg == RTC_REG_D)
		return; /* read-only */
	c->ram[reg] = v;
}

/* Bytes of a wider access that fall outside the two ports read as an
 * empty bus; the index port reads as one too (it is write-only). */
static uint64_t cmos_read(void *opaque, uint64_t offset, unsigned size)
{
	struct cmos_rtc *c = opaque;
	uint64_t v = 0;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = 0xFF;

		if (offset + i == 1)
			b = reg_read(c, c->index);
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&c->lock);
	return v;
}

static void cmos_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct cmos_rtc *c = opaque;

	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = value >> (8 * i);

		if (offset + i == 0)
			c->index = b & INDEX_MASK;
		else if (offset + i == 1)
			reg_write(c, c->index, b);
	}
	pthread_mutex_unlock(&c->lock);
}

static const struct io_ops cmos_ops = {
	.read = cmos_read,
	.write = cmos_write,
};

struct cmos_rtc *cmos_rtc_new(time_t (*now)(void))
{
	struct cmos_rtc *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return NULL;
	r = pthread_mutex_init(&c->lock, NULL);
	if (r) {
		free(c);
		errno = r;
		return NULL;
	}
	c->now = now ? now : real_now;
	c->ram[RTC_REG_A] = REG_A_DEFAULT;
	c->ram[RTC_REG_B] = REG_B_DEFAULT;
	return c;
}

int cmos_rtc_attach(struct cmos_rtc *c, struct iobus *bus)
{
	int r;

	if (c->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, CMOS_INDEX_PORT, 2, "cmos-rtc", &cmos_ops, c);
	if (r < 0)
		return r;
	c->bus = bus;
	return 0;
}

void cmos_rtc_free(struct cmos_rtc *c)
{
	if (!c)
		return;
	if (c->bus)
		iobus_unregister(c->bus, IO_PIO, CMOS_INDEX_PORT);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
