/* boot.c: format detection and what both loaders share (memory map, initrd
 * placement, command line). */
#include "monitor/boot.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

int boot_is_elf(const uint8_t *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "\177ELF", 4);
}

int boot_is_bzimage(const uint8_t *buf, size_t len)
{
	return len >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4);
}

unsigned boot_memmap(uint64_t ram_size, struct hvm_memmap_table_entry *out, unsigned max)
{
	const struct hvm_memmap_table_entry map[] = {
		{ 0, BOOT_EBDA_START, E820_RAM, 0 },
		{ BOOT_EBDA_START, BOOT_HIGH_START - BOOT_EBDA_START, E820_RESERVED, 0 },
		{ BOOT_HIGH_START, ram_size - BOOT_HIGH_START, E820_RAM, 0 },
	};
	unsigned n = MIN((unsigned)ARRAY_SIZE(map), max);

	memcpy(out, map, n * sizeof(map[0]));
	return n;
}

uint64_t boot_place_initrd(const struct gmem *mem, const uint8_t *initrd, size_t len,
			   uint64_t floor, uint64_t limit)
{
	uint64_t top = MIN(mem->size, limit), addr;
	void *dst;

	if (len == 0 || len > top)
		return 0;
	addr = (top - len) & ~0xfffull;
	if (addr < floor)
		return 0;
	dst = gmem_ptr(mem, addr, len);
	if (!dst)
		return 0;
	memcpy(dst, initrd, len);
	return addr;
}

int boot_load(const struct gmem *mem, const struct boot_images *img, struct boot_state *st,
	      char *err, size_t errlen)
{
	if (img->cmdline && strlen(img->cmdline) >= BOOT_CMDLINE_MAX) {
		snprintf(err, errlen, "command line is %zu bytes, more than %llu",
			 strlen(img->cmdline), BOOT_CMDLINE_MAX - 1);
		return -ENOSPC;
	}
	if (mem->size < 2 * BOOT_HIGH_START) {
		snprintf(err, errlen, "guest memory of %llu KiB is too small to boot",
			 (unsigned long long)(mem->size >> 10));
		return -ENOSPC;
	}
	if (boot_is_elf(img->kernel, img->kernel_len)) {
		int r = boot_load_pvh(mem, img, st, err, errlen);
		/* A PVH vmlinux is Linux when it carries the banner string. */
		if (r == 0 && memmem(img->kernel, img->kernel_len, "Linux version ", 14))
			st->is_linux = 1;
		return r;
	}
	if (boot_is_bzimage(img->kernel, img->kernel_len))
		return boot_load_bzimage(mem, img, st, err, errlen);
	snprintf(err, errlen, "not a PVH ELF nor a Linux bzImage (no ELF magic, no HdrS header)");
	return -ENOEXEC;
}
