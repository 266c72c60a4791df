/* cmos_rtc.h: the PC's CMOS real-time clock (Motorola MC146818A) at ports
 * 0x70 (index) and 0x71 (data): the date and time, read from the host's
 * clock, and 128 bytes of CMOS RAM. See cmos_rtc.c. */
#pragma once
#include <stdint.h>
#include <time.h>

#include "devices/dev.h"

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT 0x71

/* Registers (the index port's low 7 bits; bit 7 masks NMI on a PC). */
#define RTC_SECONDS 0x00
#define RTC_SECONDS_ALARM 0x01
#define RTC_MINUTES 0x02
#define RTC_MINUTES_ALARM 0x03
#define RTC_HOURS 0x04
#define RTC_HOURS_ALARM 0x05
#define RTC_DAY_OF_WEEK 0x06 /* 1 = Sunday */
#define RTC_DAY_OF_MONTH 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_REG_D 0x0D
#define RTC_CENTURY 0x32 /* the PC's usual place (the FADT's CENTURY field) */

#define RTC_A_UIP 0x80   /* update in progress: never set here */
#define RTC_B_SET 0x80   /* updates stopped while the guest sets the time */
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24H 0x02
#define RTC_D_VRT 0x80   /* valid RAM and time */
#define RTC_HOUR_PM 0x80 /* in 12-hour mode */

struct cmos_rtc;

/* now returns the host's time (seconds since the epoch, UTC); NULL: the
 * real-time clock. NULL with errno set on allocation failure. */
struct cmos_rtc *cmos_rtc_new(time_t (*now)(void));

/* Registers ports 0x70-0x71 as PIO region "cmos-rtc". 0, -EBUSY if already
 * attached, or iobus_register's error. */
int cmos_rtc_attach(struct cmos_rtc *c, struct iobus *bus);

/* Unregisters the ports (call before iobus_destroy) and frees. NULL: no-op. */
void cmos_rtc_free(struct cmos_rtc *c);
