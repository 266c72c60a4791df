/* test_acpi.c: the ACPI tables of monitor/acpi.c, read back the way an OS
 * finds them (RSDP at 0xE0000 -> XSDT -> FADT -> FACS, DSDT; MADT), every
 * checksum and length checked, the fields Linux uses compared with the
 * machine description; the AML writer's encodings against hand-computed
 * bytes (ACPI 6.5 chapter 20). With ACPI_DUMP_DIR set, the tables are also
 * written there as <SIG>.dat for iasl -d (tests/integration/acpi_iasl.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/acpi.h"
#include "monitor/aml.h"

#define MEM_SIZE (2u << 20)

static const struct acpi_pci_irq pci_irqs[] = { { 1, 10 }, { 2, 11 }, { 3, 5 } };

static struct acpi_machine machine(unsigned vcpus)
{
	return (struct acpi_machine){
		.nr_vcpus = vcpus, .sci_gsi = 9, .pm_base = 0x600, .reset_port = 0x64,
		.reset_value = 0xfe, .com1_base = 0x3f8, .com1_irq = 4, .kbd_irq = 1,
		.pci_mmio_base = 0xe0000000u, .pci_mmio_end = 0xfec00000u,
		.pci = pci_irqs, .nr_pci = 3,
	};
}

static uint64_t rd(const uint8_t *p, unsigned bytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The table at gpa, checked: signature, length inside memory, checksum. */
static const uint8_t *table(const struct gmem *mem, uint64_t gpa, const char *sig)
{
	const uint8_t *p;
	uint32_t len;

	assert_true(gpa >= ACPI_TABLES_ADDR && gpa < ACPI_TABLES_END);
	p = mem->host + gpa;
	assert_memory_equal(p, sig, 4);
	len = (uint32_t)rd(p + 4, 4);
	assert_true(len >= 36 && gpa + len <= ACPI_TABLES_END);
	assert_int_equal(sum(p, len), 0);
	assert_memory_equal(p + 10, "VMM   ", 6);
	return p;
}

static void dump(const uint8_t *p, const char *sig, size_t len)
{
	const char *dir = getenv("ACPI_DUMP_DIR");
	char path[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%.4s.dat", dir, sig);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	fclose(f);
}

struct found {
	const uint8_t *fadt, *madt, *dsdt, *facs;
};

static struct found walk(const struct gmem *mem, bool dump_them)
{
	const uint8_t *rsdp = mem->host + ACPI_RSDP_ADDR, *xsdt;
	struct found f = { 0 };
	uint32_t n;

	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(rd(rsdp + 20, 4), 36);
	assert_int_equal(sum(rsdp, 36), 0);
	xsdt = table(mem, rd(rsdp + 24, 8), "XSDT");
	n = ((uint32_t)rd(xsdt + 4, 4) - 36) / 8;
	assert_int_equal(n, 2);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t a = rd(xsdt + 36 + 8 * i, 8);
		const uint8_t *t = mem->host + a;
		if (!memcmp(t, "FACP", 4))
			f.fadt = table(mem, a, "FACP");
		else
			f.madt = table(mem, a, "APIC");
	}
	assert_non_null(f.fadt);
	assert_non_null(f.madt);
	assert_int_equal(rd(f.fadt + 40, 4), rd(f.fadt + 140, 8)); /* DSDT == X_DSDT */
	assert_int_equal(rd(f.fadt + 36, 4), rd(f.fadt + 132, 8)); /* FACS == X_FACS */
	f.dsdt = table(mem, rd(f.fadt + 140, 8), "DSDT");
	f.facs = mem->host + rd(f.fadt + 132, 8);
	assert_int_equal(rd(f.fadt + 132, 8) % 64, 0);
	assert_memory_equal(f.facs, "FACS", 4);
	assert_int_equal(rd(f.facs + 4, 4), 64);
	if (!dump_them)
		return f;
	dump(rsdp, "RSDP", 36);
	dump(xsdt, "XSDT", rd(xsdt + 4, 4));
	dump(f.fadt, "FACP", rd(f.fadt + 4, 4));
	dump(f.madt, "APIC", rd(f.madt + 4, 4));
	dump(f.dsdt, "DSDT", rd(f.dsdt + 4, 4));
	dump(f.facs, "FACS", 64);
	return f;
}

static void test_tables(void **state)
{
	struct gmem mem = { .host = calloc(1, MEM_SIZE), .size = MEM_SIZE };
	struct acpi_machine m = machine(2);
	char err[160];
	struct found f;

	(void)state;
	assert_non_null(mem.host);
	assert_int_equal(acpi_build(&mem, &m, err, sizeof(err)), 0);
	f = walk(&mem, true);

	/* FADT: revision 6, the PM blocks, the SCI, no SMI_CMD, reset register. */
	assert_int_equal(rd(f.fadt + 4, 4), 276);
	assert_int_equal(f.fadt[8], 6);
	assert_int_equal(rd(f.fadt + 46, 2), 9);
	assert_int_equal(rd(f.fadt + 48, 4), 0);
	assert_int_equal(rd(f.fadt + 56, 4), 0x600);
	assert_int_equal(rd(f.fadt + 64, 4), 0x604);
	assert_int_equal(rd(f.fadt + 76, 4), 0x608);
	assert_int_equal(f.fadt[88], 4);
	assert_int_equal(f.fadt[89], 2);
	assert_int_equal(f.fadt[91], 4);
	/* flags: no sleep button, a fixed power button, reset register */
	assert_true(rd(f.fadt + 112, 4) & (1u << 5));
	assert_false(rd(f.fadt + 112, 4) & (1u << 4));
	assert_true(rd(f.fadt + 112, 4) & (1u << 10));
	assert_false(rd(f.fadt + 112, 4) & (1u << 20)); /* not hardware-reduced */
	assert_int_equal(rd(f.fadt + 108, 1), 0x32);    /* CENTURY in CMOS */
	assert_int_equal(rd(f.fadt + 109, 2), 0x26);    /* 8042, no VGA, no RTC */
	assert_int_equal(f.fadt[116], 1);                /* RESET_REG in I/O space */
	assert_int_equal(rd(f.fadt + 120, 8), 0x64);
	assert_int_equal(f.fadt[128], 0xfe);
	assert_int_equal(rd(f.fadt + 152, 8), 0x600); /* X_PM1a_EVT_BLK */
	assert_int_equal(f.fadt[149], 32);
	assert_int_equal(rd(f.fadt + 176, 8), 0x604); /* X_PM1a_CNT_BLK */
	assert_int_equal(f.fadt[173], 16);
	assert_int_equal(rd(f.fadt + 212, 8), 0x608); /* X_PM_TMR_BLK */

	/* MADT: LAPIC address, PCAT_COMPAT, then the entries. */
	const uint8_t *e = f.madt + 44, *end = f.madt + rd(f.madt + 4, 4);
	unsigned lapics = 0, ioapics = 0, nmis = 0, isos = 0;
	unsigned iso_gsi[8];
	assert_int_equal(rd(f.madt + 36, 4), 0xfee00000u);
	assert_int_equal(rd(f.madt + 40, 4), 1);
	while (e < end) {
		assert_true(e[1] >= 2 && e + e[1] <= end);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], lapics); /* APIC id = vCPU index */
			assert_int_equal(rd(e + 4, 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			assert_int_equal(rd(e + 4, 4), 0xfec00000u);
			assert_int_equal(rd(e + 8, 4), 0);
			ioapics++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[3], rd(e + 4, 4));
			assert_int_equal(rd(e + 8, 2), 0xd); /* level, active high */
			assert_true(isos < 8);
			iso_gsi[isos++] = e[3];
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		e += e[1];
	}
	assert_int_equal(lapics, 2);
	assert_int_equal(ioapics, 1);
	assert_int_equal(nmis, 1);
	assert_int_equal(isos, 4);
	assert_int_equal(iso_gsi[0], 9);
	assert_int_equal(iso_gsi[1], 10);
	assert_int_equal(iso_gsi[3], 5);

	/* DSDT: the names and values an OS looks up, as AML bytes. */
	const uint8_t *aml = f.dsdt + 36;
	size_t aml_len = rd(f.dsdt + 4, 4) - 36;
	static const uint8_t hid_pci[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t hid_com[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	static const uint8_t hid_kbd[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03 };
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
	/* _PRT entry for slot 2: Package(4) { 0x0002FFFF, 0, 0, 11 } */
	static const uint8_t prt2[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, 0x02, 0x00,
					0x00, 0x00, 0x0a, 0x0b };
	/* COM1's IO(Decode16, 0x3F8, 0x3F8, 1, 8) and IRQNoFlags {4} */
	static const uint8_t com1[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
					0x22, 0x10, 0x00 };
	assert_non_null(memmem(aml, aml_len, hid_pci, sizeof(hid_pci)));
	assert_non_null(memmem(aml, aml_len, hid_com, sizeof(hid_com)));
	assert_non_null(memmem(aml, aml_len, hid_kbd, sizeof(hid_kbd)));
	assert_non_null(memmem(aml, aml_len, s5, sizeof(s5)));
	assert_non_null(memmem(aml, aml_len, prt2, sizeof(prt2)));
	assert_non_null(memmem(aml, aml_len, com1, sizeof(com1)));
	/* The scope spans the whole AML before \_S5: ScopeOp, PkgLength. */
	assert_int_equal(aml[0], 0x10);
	size_t scope_len = ((size_t)(aml[1] & 0x0f) | (size_t)aml[2] << 4);
	assert_int_equal(aml[1] >> 6, 1);
	assert_int_equal(1 + scope_len + sizeof(s5), aml_len);
	free(mem.host);
}

static void test_limits(void **state)
{
	struct gmem mem = { .host = calloc(1, MEM_SIZE), .size = MEM_SIZE };
	struct gmem small = { .host = mem.host, .size = ACPI_TABLES_ADDR + 4096 };
	struct acpi_machine m = machine(ACPI_MAX_VCPUS);
	char err[160];

	(void)state;
	assert_non_null(mem.host);
	assert_int_equal(acpi_build(&mem, &m, err, sizeof(err)), 0);
	walk(&mem, false);
	m.nr_vcpus = ACPI_MAX_VCPUS + 1;
	assert_int_equal(acpi_build(&mem, &m, err, sizeof(err)), -E2BIG);
	assert_non_null(strstr(err, "vCPUs"));
	m.nr_vcpus = 0;
	assert_int_equal(acpi_build(&mem, &m, err, sizeof(err)), -E2BIG);
	m.nr_vcpus = 1;
	m.nr_pci = ACPI_MAX_PCI_IRQS + 1;
	assert_int_equal(acpi_build(&mem, &m, err, sizeof(err)), -E2BIG);
	m.nr_pci = 0;
	assert_int_equal(acpi_build(&small, &m, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "guest memory"));
	free(mem.host);
}

static void test_aml_encodings(void **state)
{
	struct aml a;
	aml_pkg p;

	(void)state;
	aml_init(&a);
	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0xab);
	aml_integer(&a, 0x1234);
	aml_integer(&a, 0x12345678);
	aml_integer(&a, 0x100000000ull);
	static const uint8_t ints[] = { 0x00, 0x01, 0x0a, 0xab, 0x0b, 0x34, 0x12,
					0x0c, 0x78, 0x56, 0x34, 0x12,
					0x0e, 0, 0, 0, 0, 1, 0, 0, 0 };
	assert_int_equal(aml_finish(&a), 0);
	assert_int_equal(a.len, sizeof(ints));
	assert_memory_equal(a.buf, ints, sizeof(ints));
	aml_free(&a);

	/* Names: root, dual, multi, padding. */
	aml_init(&a);
	aml_name_string(&a, "\\_SB.PCI0");
	aml_name_string(&a, "A.B.C");
	aml_name_string(&a, "_S5");
	static const uint8_t names[] = { '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
					 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_',
					 'C', '_', '_', '_', '_', 'S', '5', '_' };
	assert_int_equal(aml_finish(&a), 0);
	assert_memory_equal(a.buf, names, sizeof(names));
	aml_free(&a);
	for (unsigned i = 0; i < 5; i++) {
		static const char *const bad[] = { "toolong", "a", "1ABC", "A..B", "A." };
		aml_init(&a);
		aml_name_string(&a, bad[i]);
		assert_int_equal(aml_finish(&a), -EINVAL);
		aml_free(&a);
	}
	aml_init(&a);
	aml_eisaid(&a, "PNP0a03"); /* hex digits are upper case */
	assert_int_equal(aml_finish(&a), -EINVAL);
	aml_free(&a);

	/* PkgLength: 1 byte up to 63, 2 bytes up to 4095, 3 bytes beyond. */
	size_t bodies[] = { 10, 62, 63, 4093, 4094, 70000 };
	for (unsigned i = 0; i < 6; i++) {
		aml_init(&a);
		p = aml_package(&a, 0); /* PackageOp, PkgLength, NumElements */
		for (size_t k = 0; k < bodies[i] - 1; k++) /* + NumElements = body */
			aml_integer(&a, 0);
		aml_close(&a, p);
		assert_int_equal(aml_finish(&a), 0);
		size_t want = bodies[i] + 1 < 0x40 ? 1 : bodies[i] + 2 < 0x1000 ? 2 : 3;
		size_t total = bodies[i] + want;
		assert_int_equal(a.len, 1 + total);
		assert_int_equal(a.buf[1] >> 6, want - 1);
		if (want == 1)
			assert_int_equal(a.buf[1], total);
		else if (want == 2)
			assert_int_equal((a.buf[1] & 0xf) | (size_t)a.buf[2] << 4, total);
		else
			assert_int_equal((a.buf[1] & 0xf) | (size_t)a.buf[2] << 4 |
						 (size_t)a.buf[3] << 12, total);
		aml_free(&a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_aml_encodings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
