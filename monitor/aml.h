/* aml.h: a writer for the few ACPI Machine Language terms the monitor's
 * DSDT needs (ACPI 6.5, chapter 20 "ACPI Machine Language (AML)
 * Specification"): names, scopes, devices, packages, integers, strings,
 * EISA ids and resource-template buffers. No methods: the DSDT declares
 * data only.
 *
 * Terms are appended to a growing buffer. A term with a PkgLength (scope,
 * device, package) is opened, filled, then closed; closing inserts the
 * encoded length. Errors (allocation, a bad name) stick: the first one is
 * returned by aml_finish and nothing else needs checking. */
#pragma once
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	int err; /* first error, -errno */
};

/* Where an opened term starts, for aml_close. */
typedef size_t aml_pkg;

void aml_init(struct aml *a);
void aml_free(struct aml *a);
/* 0 or the first error; on success a->buf holds a->len bytes of AML. */
int aml_finish(const struct aml *a);

/* NameString: a path of 4-character segments separated by '.', optionally
 * starting with '\' (root); shorter segments are padded with '_'
 * ("\_SB.PCI0", "_HID"). Segment characters: A-Z, 0-9, '_'. */
void aml_name_string(struct aml *a, const char *path);
/* Name (path, <next term>): call, then append the value. */
void aml_name(struct aml *a, const char *path);
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* EisaId ("PNP0A03") as the 32-bit compressed id. */
void aml_eisaid(struct aml *a, const char *id);
/* Buffer of the given bytes (a resource template from struct aml_res). */
void aml_buffer(struct aml *a, const uint8_t *bytes, size_t len);

aml_pkg aml_scope(struct aml *a, const char *path);
aml_pkg aml_device(struct aml *a, const char *path);
/* Package with n elements, which follow before aml_close. */
aml_pkg aml_package(struct aml *a, unsigned n);
void aml_close(struct aml *a, aml_pkg p);

/* Resource descriptors (ACPI 6.5, 6.4 "Resource Data Types for ACPI") for a
 * _CRS buffer. The end tag is added by aml_res_end. */
struct aml_res {
	uint8_t b[256];
	size_t len;
	int err; /* -ENOSPC when the template overflowed */
};

void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len);
void aml_res_irq(struct aml_res *r, unsigned irq);
void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max);
void aml_res_end(struct aml_res *r);
