/* acpi.c: firmware tables for a stock kernel (ACPI 6.5 chapter 5 "ACPI
 * Software Programming Model": 5.2.5 RSDP, 5.2.8 XSDT, 5.2.9 FADT, 5.2.10
 * FACS, 5.2.11.1 DSDT, 5.2.12 MADT), the machine of monitor/machine.c:
 *
 * - MADT: one enabled local APIC per vCPU (APIC id = vCPU index, as
 *   vm.c's CPUID says), the I/O APIC at 0xFEC00000 with GSI base 0 (KVM's
 *   in-kernel IOAPIC, routed GSI n -> pin n), PCAT_COMPAT (there is an
 *   8259 pair, which the OS masks), LINT1 as NMI on every CPU, and
 *   interrupt source overrides making the SCI and every PCI INTx GSI
 *   level-triggered (active high: KVM's IOAPIC ignores polarity; QEMU
 *   declares the same for its PCI IRQs). IRQ 0 is not overridden: KVM
 *   routes the PIT to pin 0.
 * - FADT: not hardware-reduced: PM1a event/control blocks and the PM timer
 *   of devices/acpi_pm.c, the SCI, no SMI_CMD (always in ACPI mode), a
 *   fixed-feature power button (no sleep button), RESET_REG (the i8042's
 *   pulse-reset command), IAPC_BOOT_ARCH "8042 present, no VGA, no CMOS
 *   RTC" (devices/cmos_rtc.c answers the time at 0x70, without interrupts:
 *   no RTC driver is to bind), CENTURY at CMOS byte 0x32, no C2/C3.
 * - DSDT: \_SB.PCI0 (PNP0A03 host bridge: bus 0, config ports 0xCF8, its I/O
 *   and MMIO windows, a _PRT that sends each device's INTA straight to its
 *   GSI), \_SB.COM1 (PNP0501) and \_SB.PS2K (PNP0303 keyboard, so Linux
 *   probes the i8042), and \_S5 with SLP_TYP 0 (what acpi_pm.c powers off
 *   on). Data only, no methods.
 *
 * All in [0xE0000, 0x100000), reserved in the memory map: RSDP at 0xE0000
 * (where Linux's scan finds it; the loaders also pass its address), FACS
 * 64-byte aligned, then XSDT, FADT, MADT, DSDT. */
#include "monitor/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "devices/cmos_rtc.h"
#include "monitor/aml.h"

#define ACPI_OEM_ID "VMM   "
#define ACPI_CREATOR "VMM "
#define HDR_LEN 36

/* Generic address structure (5.2.3.2) address space ids and access sizes. */
#define GAS_SYSTEM_IO 1
#define GAS_ACCESS_BYTE 1

/* FADT flags (Table 5.10). */
#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_SLP_BUTTON (1u << 5) /* set: no fixed sleep button */
#define FADT_FIX_RTC (1u << 6)    /* set: no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP (1u << 10)
/* IAPC_BOOT_ARCH (Table 5.11). */
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define BOOT_ARCH_NO_CMOS_RTC (1u << 5)

/* MADT entry types (Table 5.21) and flags. */
#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_PCAT_COMPAT 1u
#define MADT_LAPIC_ENABLED 1u
#define MPS_INTI_ACTIVE_HIGH 0x1
#define MPS_INTI_LEVEL 0xC

#define FADT_LEN 276
#define FACS_LEN 64
#define RSDP_LEN 36

/* The tables are assembled in this buffer, then copied into guest memory. */
struct tables {
	uint8_t b[ACPI_TABLES_END - ACPI_TABLES_ADDR];
	size_t len;
};

static void w8(uint8_t *p, size_t off, uint8_t v) { p[off] = v; }
static void w16(uint8_t *p, size_t off, uint16_t v) { for (int i = 0; i < 2; i++) p[off + i] = (uint8_t)(v >> (8 * i)); }
static void w32(uint8_t *p, size_t off, uint32_t v) { for (int i = 0; i < 4; i++) p[off + i] = (uint8_t)(v >> (8 * i)); }
static void w64(uint8_t *p, size_t off, uint64_t v) { for (int i = 0; i < 8; i++) p[off + i] = (uint8_t)(v >> (8 * i)); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)(0x100 - sum);
}

/* Reserves len bytes aligned to align; returns the offset or -ENOSPC. */
static long alloc(struct tables *t, size_t len, size_t align)
{
	size_t off = ALIGN_UP(t->len, align);

	if (off + len > sizeof(t->b))
		return -ENOSPC;
	t->len = off + len;
	return (long)off;
}

static uint64_t gpa(long off)
{
	return ACPI_TABLES_ADDR + (uint64_t)off;
}

/* The standard header (5.2.6); the checksum is set by finish_table. */
static void header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	char table_id[9];

	memcpy(p, sig, 4);
	w32(p, 4, len);
	w8(p, 8, rev);
	memcpy(p + 10, ACPI_OEM_ID, 6);
	snprintf(table_id, sizeof(table_id), "VMM%-5.4s", sig);
	memcpy(p + 16, table_id, 8);
	w32(p, 24, 1);
	memcpy(p + 28, ACPI_CREATOR, 4);
	w32(p, 32, 1);
}

static void finish_table(uint8_t *p)
{
	uint32_t len = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
		       (uint32_t)p[7] << 24;

	p[9] = 0;
	p[9] = checksum(p, len);
}

static void gas(uint8_t *p, size_t off, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
	w8(p, off, space);
	w8(p, off + 1, bits);
	w8(p, off + 2, 0);
	w8(p, off + 3, access);
	w64(p, off + 4, addr);
}

static long build_facs(struct tables *t)
{
	long off = alloc(t, FACS_LEN, 64);

	if (off < 0)
		return off;
	memcpy(t->b + off, "FACS", 4);
	w32(t->b, (size_t)off + 4, FACS_LEN);
	w8(t->b, (size_t)off + 32, 2); /* version */
	return off;
}

static long build_fadt(struct tables *t, const struct acpi_machine *m, long facs, long dsdt)
{
	long off = alloc(t, FADT_LEN, 16);
	uint8_t *p;

	if (off < 0)
		return off;
	p = t->b + off;
	header(p, "FACP", FADT_LEN, 6);
	w32(p, 36, (uint32_t)gpa(facs));
	w32(p, 40, (uint32_t)gpa(dsdt));
	w16(p, 46, (uint16_t)m->sci_gsi);
	/* SMI_CMD (48) 0: the machine is always in ACPI mode. */
	w32(p, 56, m->pm_base);      /* PM1a_EVT_BLK */
	w32(p, 64, m->pm_base + 4u); /* PM1a_CNT_BLK */
	w32(p, 76, m->pm_base + 8u); /* PM_TMR_BLK */
	w8(p, 88, 4);                /* PM1_EVT_LEN */
	w8(p, 89, 2);                /* PM1_CNT_LEN */
	w8(p, 91, 4);                /* PM_TMR_LEN */
	w16(p, 96, 0x0fff);          /* P_LVL2_LAT > 100: no C2 */
	w16(p, 98, 0x0fff);          /* P_LVL3_LAT > 1000: no C3 */
	w8(p, 108, RTC_CENTURY);     /* CENTURY: the CMOS byte with it */
	w16(p, 109, BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA | BOOT_ARCH_NO_CMOS_RTC);
	w32(p, 112, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC |
			    FADT_RESET_REG_SUP);
	gas(p, 116, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, m->reset_port);
	w8(p, 128, m->reset_value);
	w8(p, 131, 5); /* FADT minor version: ACPI 6.5 */
	w64(p, 132, gpa(facs));
	w64(p, 140, gpa(dsdt));
	gas(p, 148, GAS_SYSTEM_IO, 32, 0, m->pm_base);      /* X_PM1a_EVT_BLK */
	gas(p, 172, GAS_SYSTEM_IO, 16, 0, m->pm_base + 4u); /* X_PM1a_CNT_BLK */
	gas(p, 208, GAS_SYSTEM_IO, 32, 0, m->pm_base + 8u); /* X_PM_TMR_BLK */
	memcpy(p + 268, "VMM     ", 8); /* hypervisor vendor identity */
	finish_table(p);
	return off;
}

static void madt_iso(uint8_t *e, unsigned irq, uint16_t flags)
{
	w8(e, 0, MADT_ISO);
	w8(e, 1, 10);
	w8(e, 2, 0); /* ISA bus */
	w8(e, 3, (uint8_t)irq);
	w32(e, 4, irq); /* GSI: the same pin */
	w16(e, 8, flags);
}

static long build_madt(struct tables *t, const struct acpi_machine *m)
{
	unsigned isos = 1 + m->nr_pci;
	size_t len = HDR_LEN + 8 + 8 * m->nr_vcpus + 12 + 10 * isos + 6;
	long off = alloc(t, len, 16);
	uint8_t *p, *e;
	uint16_t level = MPS_INTI_LEVEL | MPS_INTI_ACTIVE_HIGH;

	if (off < 0)
		return off;
	p = t->b + off;
	header(p, "APIC", (uint32_t)len, 5);
	w32(p, 36, ACPI_LAPIC_ADDR);
	w32(p, 40, MADT_PCAT_COMPAT);
	e = p + HDR_LEN + 8;
	for (unsigned i = 0; i < m->nr_vcpus; i++, e += 8) {
		w8(e, 0, MADT_LAPIC);
		w8(e, 1, 8);
		w8(e, 2, (uint8_t)i); /* ACPI processor UID */
		w8(e, 3, (uint8_t)i); /* APIC id */
		w32(e, 4, MADT_LAPIC_ENABLED);
	}
	w8(e, 0, MADT_IOAPIC);
	w8(e, 1, 12);
	w8(e, 2, 0); /* I/O APIC id */
	w32(e, 4, ACPI_IOAPIC_ADDR);
	w32(e, 8, 0); /* GSI base */
	e += 12;
	madt_iso(e, m->sci_gsi, level);
	e += 10;
	for (unsigned i = 0; i < m->nr_pci; i++, e += 10)
		madt_iso(e, m->pci[i].gsi, level);
	w8(e, 0, MADT_LAPIC_NMI);
	w8(e, 1, 6);
	w8(e, 2, 0xff); /* all processors */
	w16(e, 3, 0);   /* bus-conforming polarity and trigger */
	w8(e, 5, 1);    /* LINT1 */
	finish_table(p);
	return off;
}

static void dsdt_body(struct aml *a, const struct acpi_machine *m)
{
	struct aml_res r = { 0 };
	aml_pkg sb, dev, prt, e, s5;

	sb = aml_scope(a, "\\_SB");

	dev = aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_res_word_bus(&r, 0, 0);
	aml_res_io(&r, 0xcf8, 8);
	aml_res_word_io(&r, 0x0000, 0x0cf7);
	aml_res_word_io(&r, 0x0d00, 0xffff);
	aml_res_dword_mem(&r, m->pci_mmio_base, m->pci_mmio_end - 1);
	aml_res_end(&r);
	aml_name(a, "_CRS");
	aml_buffer(a, r.b, r.len);
	aml_name(a, "_PRT");
	prt = aml_package(a, m->nr_pci);
	for (unsigned i = 0; i < m->nr_pci; i++) {
		e = aml_package(a, 4);
		aml_integer(a, (uint64_t)m->pci[i].slot << 16 | 0xffff);
		aml_integer(a, 0); /* INTA */
		aml_integer(a, 0); /* no link device: the index is a GSI */
		aml_integer(a, m->pci[i].gsi);
		aml_close(a, e);
	}
	aml_close(a, prt);
	aml_close(a, dev);

	memset(&r, 0, sizeof(r));
	dev = aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_res_io(&r, m->com1_base, 8);
	aml_res_irq(&r, m->com1_irq);
	aml_res_end(&r);
	aml_name(a, "_CRS");
	aml_buffer(a, r.b, r.len);
	aml_close(a, dev);

	memset(&r, 0, sizeof(r));
	dev = aml_device(a, "PS2K");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0303");
	aml_res_io(&r, 0x60, 1);
	aml_res_io(&r, 0x64, 1);
	aml_res_irq(&r, m->kbd_irq);
	aml_res_end(&r);
	aml_name(a, "_CRS");
	aml_buffer(a, r.b, r.len);
	aml_close(a, dev);

	aml_close(a, sb);

	aml_name(a, "\\_S5");
	s5 = aml_package(a, 4);
	for (int i = 0; i < 4; i++)
		aml_integer(a, 0); /* SLP_TYPa, SLP_TYPb, reserved */
	aml_close(a, s5);
	if (r.err && !a->err)
		a->err = r.err;
}

static long build_dsdt(struct tables *t, const struct acpi_machine *m)
{
	struct aml a;
	long off;
	int r;

	aml_init(&a);
	dsdt_body(&a, m);
	r = aml_finish(&a);
	if (r < 0) {
		aml_free(&a);
		return r;
	}
	off = alloc(t, HDR_LEN + a.len, 16);
	if (off >= 0) {
		header(t->b + off, "DSDT", (uint32_t)(HDR_LEN + a.len), 2);
		memcpy(t->b + off + HDR_LEN, a.buf, a.len);
		finish_table(t->b + off);
	}
	aml_free(&a);
	return off;
}

static long build_xsdt(struct tables *t, const long *entries, unsigned n)
{
	size_t len = HDR_LEN + 8 * n;
	long off = alloc(t, len, 16);

	if (off < 0)
		return off;
	header(t->b + off, "XSDT", (uint32_t)len, 1);
	for (unsigned i = 0; i < n; i++)
		w64(t->b, (size_t)off + HDR_LEN + 8 * i, gpa(entries[i]));
	finish_table(t->b + off);
	return off;
}

static void build_rsdp(struct tables *t, long xsdt)
{
	uint8_t *p = t->b; /* offset 0, reserved first */

	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, ACPI_OEM_ID, 6);
	w8(p, 15, 2); /* revision: ACPI 2.0+, XSDT */
	w32(p, 20, RSDP_LEN);
	w64(p, 24, gpa(xsdt));
	p[8] = checksum(p, 20);
	p[32] = checksum(p, RSDP_LEN);
}

int acpi_build(const struct gmem *mem, const struct acpi_machine *m, char *err, size_t errlen)
{
	_cleanup_free_ struct tables *t = NULL;
	long facs, dsdt, fadt, madt, xsdt, entries[2];
	void *dst;

	if (m->nr_vcpus == 0 || m->nr_vcpus > ACPI_MAX_VCPUS) {
		snprintf(err, errlen, "%u vCPUs: the MADT describes 1 to %u", m->nr_vcpus,
			 ACPI_MAX_VCPUS);
		return -E2BIG;
	}
	if (m->nr_pci > ACPI_MAX_PCI_IRQS) {
		snprintf(err, errlen, "%u PCI interrupts: the DSDT describes at most %u", m->nr_pci,
			 ACPI_MAX_PCI_IRQS);
		return -E2BIG;
	}
	dst = gmem_ptr(mem, ACPI_TABLES_ADDR, ACPI_TABLES_END - ACPI_TABLES_ADDR);
	if (!dst) {
		snprintf(err, errlen, "guest memory ends below the ACPI tables at %#llx",
			 ACPI_TABLES_END);
		return -ENOSPC;
	}
	t = calloc(1, sizeof(*t)); /* 128 KiB */
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	t->len = RSDP_LEN;
	facs = build_facs(t);
	dsdt = facs < 0 ? facs : build_dsdt(t, m);
	fadt = dsdt < 0 ? dsdt : build_fadt(t, m, facs, dsdt);
	madt = fadt < 0 ? fadt : build_madt(t, m);
	entries[0] = fadt;
	entries[1] = madt;
	xsdt = madt < 0 ? madt : build_xsdt(t, entries, 2);
	if (xsdt < 0) {
		snprintf(err, errlen, "building the tables: %s", strerror((int)-xsdt));
		return (int)xsdt;
	}
	build_rsdp(t, xsdt);
	memcpy(dst, t->b, t->len);
	return 0;
}
