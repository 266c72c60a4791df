/* aml.c: the AML writer of aml.h. Encodings from ACPI 6.5 chapter 20
 * ("20.2 AML Grammar Definition": NameString 20.2.2, data objects 20.2.3,
 * PkgLength 20.2.4, ScopeOp/DeviceOp/NameOp/PackageOp/BufferOp 20.2.5) and,
 * for resource templates, 6.4.2 (small items) and 6.4.3 (large items). */
#include "monitor/aml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_QWORD_PREFIX 0x0E
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_DUAL_NAME_PREFIX 0x2E
#define AML_MULTI_NAME_PREFIX 0x2F
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP 0x82 /* after the prefix */
#define AML_ROOT_CHAR '\\'
#define AML_NAME_SEGS_MAX 255

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

int aml_finish(const struct aml *a)
{
	return a->err;
}

static bool reserve(struct aml *a, size_t n)
{
	if (a->err)
		return false;
	if (a->len + n > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		while (cap < a->len + n)
			cap *= 2;
		uint8_t *b = realloc(a->buf, cap);
		if (!b) {
			a->err = -ENOMEM;
			return false;
		}
		a->buf = b;
		a->cap = cap;
	}
	return true;
}

static void put(struct aml *a, const void *p, size_t n)
{
	if (reserve(a, n)) {
		memcpy(a->buf + a->len, p, n);
		a->len += n;
	}
}

static void put8(struct aml *a, uint8_t v)
{
	put(a, &v, 1);
}

static void put_le(struct aml *a, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		put8(a, (uint8_t)(v >> (8 * i)));
}

static bool seg_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

void aml_name_string(struct aml *a, const char *path)
{
	char segs[AML_NAME_SEGS_MAX][4];
	unsigned n = 0;
	const char *p = path;

	if (*p == AML_ROOT_CHAR) {
		put8(a, AML_ROOT_CHAR);
		p++;
	}
	while (*p) {
		size_t l = strcspn(p, ".");
		if (l == 0 || l > 4 || n == AML_NAME_SEGS_MAX) {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		for (size_t i = 0; i < 4; i++) {
			char c = i < l ? p[i] : '_';
			if (!seg_char_ok(c, i == 0)) {
				a->err = a->err ? a->err : -EINVAL;
				return;
			}
			segs[n][i] = c;
		}
		n++;
		p += l;
		if (*p == '.' && *++p == 0) { /* a trailing dot */
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
	}
	if (n == 0) {
		put8(a, 0x00); /* NullName */
		return;
	}
	if (n == 2)
		put8(a, AML_DUAL_NAME_PREFIX);
	else if (n > 2) {
		put8(a, AML_MULTI_NAME_PREFIX);
		put8(a, (uint8_t)n);
	}
	put(a, segs, 4 * n);
}

void aml_name(struct aml *a, const char *path)
{
	put8(a, AML_NAME_OP);
	aml_name_string(a, path);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		put8(a, AML_ZERO_OP);
	else if (v == 1)
		put8(a, AML_ONE_OP);
	else if (v <= 0xff) {
		put8(a, AML_BYTE_PREFIX);
		put_le(a, v, 1);
	} else if (v <= 0xffff) {
		put8(a, AML_WORD_PREFIX);
		put_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		put8(a, AML_DWORD_PREFIX);
		put_le(a, v, 4);
	} else {
		put8(a, AML_QWORD_PREFIX);
		put_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	for (const char *c = s; *c; c++)
		if ((unsigned char)*c > 0x7f) { /* AsciiCharList: 0x01-0x7F */
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
	put8(a, AML_STRING_PREFIX);
	put(a, s, strlen(s) + 1);
}

/* "PNP0A03": three letters of 5 bits each and four hex digits, big-endian
 * in the 32-bit value's bytes (ACPI 6.5, 19.6.45 "EISAID"). */
void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v = 0;

	if (strlen(id) != 7) {
		a->err = a->err ? a->err : -EINVAL;
		return;
	}
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z') {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		v = v << 5 | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		unsigned d = c >= '0' && c <= '9' ? (unsigned)(c - '0') :
			     c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10) : 16;
		if (d == 16) {
			a->err = a->err ? a->err : -EINVAL;
			return;
		}
		v = v << 4 | d;
	}
	put8(a, AML_DWORD_PREFIX);
	put8(a, (uint8_t)(v >> 24));
	put8(a, (uint8_t)(v >> 16));
	put8(a, (uint8_t)(v >> 8));
	put8(a, (uint8_t)v);
}

/* Opens a term: its opcode(s) are written by the caller, then the PkgLength
 * is inserted here by aml_close. */
static aml_pkg open_pkg(struct aml *a)
{
	return a->len;
}

void aml_close(struct aml *a, aml_pkg p)
{
	size_t body, total;
	uint8_t enc[4];
	unsigned n;

	if (a->err)
		return;
	body = a->len - p;
	for (n = 1; n <= 4; n++) {
		total = body + n;
		if ((n == 1 && total < 0x40) || (n > 1 && total < (1ull << (4 + 8 * (n - 1)))))
			break;
	}
	if (n > 4) {
		a->err = -E2BIG;
		return;
	}
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (!reserve(a, n))
		return;
	memmove(a->buf + p + n, a->buf + p, body);
	memcpy(a->buf + p, enc, n);
	a->len += n;
}

aml_pkg aml_scope(struct aml *a, const char *path)
{
	aml_pkg p;

	put8(a, AML_SCOPE_OP);
	p = open_pkg(a);
	aml_name_string(a, path);
	return p;
}

aml_pkg aml_device(struct aml *a, const char *path)
{
	aml_pkg p;

	put8(a, AML_EXT_OP_PREFIX);
	put8(a, AML_DEVICE_OP);
	p = open_pkg(a);
	aml_name_string(a, path);
	return p;
}

aml_pkg aml_package(struct aml *a, unsigned n)
{
	aml_pkg p;

	if (n > 0xff) {
		a->err = a->err ? a->err : -E2BIG;
		n = 0;
	}
	put8(a, AML_PACKAGE_OP);
	p = open_pkg(a);
	put8(a, (uint8_t)n);
	return p;
}

void aml_buffer(struct aml *a, const uint8_t *bytes, size_t len)
{
	aml_pkg p;

	put8(a, AML_BUFFER_OP);
	p = open_pkg(a);
	aml_integer(a, len);
	put(a, bytes, len);
	aml_close(a, p);
}

/* Resource templates. */

static void res_put(struct aml_res *r, const uint8_t *b, size_t n)
{
	if (r->err || r->len + n > sizeof(r->b)) {
		r->err = -ENOSPC;
		return;
	}
	memcpy(r->b + r->len, b, n);
	r->len += n;
}

/* I/O port descriptor (6.4.2.5): 16-bit decode, fixed base. */
void aml_res_io(struct aml_res *r, uint16_t base, uint8_t len)
{
	const uint8_t d[8] = { 0x47, 0x01, (uint8_t)base, (uint8_t)(base >> 8),
			       (uint8_t)base, (uint8_t)(base >> 8), 0x01, len };
	res_put(r, d, sizeof(d));
}

/* IRQ descriptor without flags (6.4.2.1): edge, active high. */
void aml_res_irq(struct aml_res *r, unsigned irq)
{
	uint16_t mask = irq < 16 ? (uint16_t)(1u << irq) : 0;
	const uint8_t d[3] = { 0x22, (uint8_t)mask, (uint8_t)(mask >> 8) };
	res_put(r, d, sizeof(d));
}

/* Word address space descriptor (6.4.3.5.3), producer, min and max fixed. */
static void word_space(struct aml_res *r, uint8_t type, uint8_t type_flags, uint16_t min,
		       uint16_t max)
{
	uint16_t len = (uint16_t)(max - min + 1);
	const uint8_t d[16] = { 0x88, 13, 0, type, 0x0C, type_flags,
				0, 0, /* granularity */
				(uint8_t)min, (uint8_t)(min >> 8),
				(uint8_t)max, (uint8_t)(max >> 8),
				0, 0, /* translation */
				(uint8_t)len, (uint8_t)(len >> 8) };
	res_put(r, d, sizeof(d));
}

void aml_res_word_bus(struct aml_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 2, 0, min, max);
}

void aml_res_word_io(struct aml_res *r, uint16_t min, uint16_t max)
{
	word_space(r, 1, 0x03 /* _RNG: ISA and non-ISA ranges */, min, max);
}

/* DWord address space descriptor (6.4.3.5.2): memory, read-write,
 * non-cacheable, producer, min and max fixed. */
void aml_res_dword_mem(struct aml_res *r, uint32_t min, uint32_t max)
{
	uint32_t len = max - min + 1;
	uint8_t d[26] = { 0x87, 23, 0, 0, 0x0C, 0x01 };

	for (int i = 0; i < 4; i++) {
		d[10 + i] = (uint8_t)(min >> (8 * i));
		d[14 + i] = (uint8_t)(max >> (8 * i));
		d[22 + i] = (uint8_t)(len >> (8 * i));
	}
	res_put(r, d, sizeof(d));
}

/* End tag (6.4.2.9) with checksum 0: "treated as if the checksum
 * operation succeeded". */
void aml_res_end(struct aml_res *r)
{
	const uint8_t d[2] = { 0x79, 0x00 };
	res_put(r, d, sizeof(d));
}
