/* acpi_pm.c: the ACPI fixed-hardware power management registers (ACPI 6.5,
 * 4.8.3 "PM1 Event Grouping", 4.8.3.2 "PM1 Control Grouping", 4.8.3.3 "Power
 * Management Timer"), one block at 0x600 as on QEMU's PIIX4 PM:
 *
 *   0x600 PM1a_STS  16 bits: PWRBTN_STS (8), WAK_STS (15); a 1 written clears
 *   0x602 PM1a_EN   16 bits: PWRBTN_EN (8); GBL_EN (5) is kept so that the
 *                   OS's check of it passes (ACPICA warns otherwise), but no
 *                   firmware here takes the global lock: its event never fires
 *   0x604 PM1a_CNT  16 bits: SCI_EN (0) reads 1 (the machine is always in
 *                   ACPI mode: the FADT has no SMI_CMD), SLP_TYP (12:10),
 *                   SLP_EN (13, write-only)
 *   0x608 PM_TMR    32 bits read-only: a 24-bit count at 3.579545 MHz
 *
 * The power button is the fixed-feature one (4.8.2.2.1.1): pressing it sets
 * PWRBTN_STS; the SCI (a level line) is high while any status bit is set with
 * its enable bit. A write of SLP_EN with SLP_TYP 0, the S5 value of the
 * DSDT's \_S5, asks the machine for VM_REQ_POWEROFF and sets WAK_STS; other
 * sleep types are ignored (no S1-S4).
 *
 * Accesses: each register takes a write that covers it whole (a 16-bit write
 * at 0x600, a 32-bit one covering STS and EN); a write that covers a register
 * only in part leaves it alone, as the PIIX4 decodes the registers at their
 * width. Reads return every byte of the access: register bytes, and 0xff
 * for the unused 0x606-0x607. The timer's TMR_STS/TMR_EN overflow event is
 * not implemented (Linux never enables it).
 */
#include "devices/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"

#define PM1_STS_MASK (PM1_STS_PWRBTN | PM1_STS_WAK)
#define PM1_EN_MASK (PM1_EN_PWRBTN | PM1_EN_GBL)
#define PM1_CNT_KEEP (PM1_CNT_SLP_TYP_MASK | 0x0006) /* SLP_TYP, BM_RLD, GBL_RLS */

struct acpi_pm {
	pthread_mutex_t lock; /* the registers and the SCI level */
	struct vm_ctl vm;
	struct irq_line sci;
	uint64_t (*clock_ns)(void);
	struct iobus *bus;
	uint16_t base;
	uint16_t sts, en, cnt;
	bool sci_level;
};

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t timer_value(const struct acpi_pm *p)
{
	uint64_t ns = p->clock_ns();
	/* ns * 3579545 / 1e9 without overflow for centuries of uptime. */
	uint64_t ticks = (ns / 1000000000ull) * ACPI_PM_TIMER_HZ +
			 (ns % 1000000000ull) * ACPI_PM_TIMER_HZ / 1000000000ull;

	return (uint32_t)(ticks & 0xffffff);
}

/* Called with the lock held. */
static void update_sci(struct acpi_pm *p)
{
	bool level = (p->sts & p->en) != 0;

	if (level != p->sci_level) {
		p->sci_level = level;
		irq_set(&p->sci, level);
	}
}

/* The byte at offset off of the block; 0xff where no register is. */
static uint8_t read_byte(const struct acpi_pm *p, unsigned off, uint32_t tmr)
{
	switch (off & ~1u) {
	case ACPI_PM1_STS: return (uint8_t)(p->sts >> (8 * (off & 1)));
	case ACPI_PM1_EN: return (uint8_t)(p->en >> (8 * (off & 1)));
	case ACPI_PM1_CNT: return (uint8_t)((p->cnt | PM1_CNT_SCI_EN) >> (8 * (off & 1)));
	case ACPI_PM_TMR:
	case ACPI_PM_TMR + 2: return (uint8_t)(tmr >> (8 * (off - ACPI_PM_TMR)));
	default: return 0xff;
	}
}

static uint64_t pm_read(void *opaque, uint64_t offset, unsigned size)
{
	struct acpi_pm *p = opaque;
	uint32_t tmr = 0;
	uint64_t v = 0;

	if (offset + size > ACPI_PM_TMR && offset < ACPI_PM_TMR + ACPI_PM_TMR_LEN)
		tmr = timer_value(p);
	pthread_mutex_lock(&p->lock);
	for (unsigned i = 0; i < size; i++) {
		uint8_t b = offset + i < ACPI_PM_LEN ? read_byte(p, (unsigned)offset + i, tmr) : 0xff;
		v |= (uint64_t)b << (8 * i);
	}
	pthread_mutex_unlock(&p->lock);
	return v;
}

/* The 16 bits of value for a register at reg, if [offset, offset+size)
 * covers it whole. */
static bool covers(uint64_t offset, unsigned size, unsigned reg, uint64_t value, uint16_t *out)
{
	if (offset > reg || offset + size < reg + 2u)
		return false;
	*out = (uint16_t)(value >> (8 * (reg - offset)));
	return true;
}

static void pm_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct acpi_pm *p = opaque;
	uint16_t v;

	pthread_mutex_lock(&p->lock);
	if (covers(offset, size, ACPI_PM1_STS, value, &v))
		p->sts &= ~(v & PM1_STS_MASK);
	if (covers(offset, size, ACPI_PM1_EN, value, &v))
		p->en = v & PM1_EN_MASK;
	if (covers(offset, size, ACPI_PM1_CNT, value, &v)) {
		p->cnt = v & PM1_CNT_KEEP;
		if ((v & PM1_CNT_SLP_EN) && !(v & PM1_CNT_SLP_TYP_MASK)) {
			log_info("acpi: guest entered S5 (power off, PM1a_CNT %#06x)", v);
			p->sts |= PM1_STS_WAK;
			vm_request(&p->vm, VM_REQ_POWEROFF, 0);
		}
	}
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
}

static const struct io_ops pm_ops = {
	.read = pm_read,
	.write = pm_write,
};

bool acpi_pm_power_button(struct acpi_pm *p)
{
	bool listening;

	pthread_mutex_lock(&p->lock);
	p->sts |= PM1_STS_PWRBTN;
	listening = p->en & PM1_EN_PWRBTN;
	update_sci(p);
	pthread_mutex_unlock(&p->lock);
	return listening;
}

struct acpi_pm *acpi_pm_new(const struct vm_ctl *vm, const struct irq_line *sci,
			    uint64_t (*clock_ns)(void))
{
	struct acpi_pm *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return NULL;
	r = pthread_mutex_init(&p->lock, NULL);
	if (r) {
		free(p);
		errno = r;
		return NULL;
	}
	if (vm)
		p->vm = *vm;
	if (sci)
		p->sci = *sci;
	p->clock_ns = clock_ns ? clock_ns : monotonic_ns;
	return p;
}

int acpi_pm_attach(struct acpi_pm *p, struct iobus *bus, uint16_t base)
{
	int r;

	if (p->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, base, ACPI_PM_LEN, "acpi-pm", &pm_ops, p);
	if (r < 0)
		return r;
	p->bus = bus;
	p->base = base;
	return 0;
}

void acpi_pm_free(struct acpi_pm *p)
{
	if (!p)
		return;
	if (p->bus)
		iobus_unregister(p->bus, IO_PIO, p->base);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
