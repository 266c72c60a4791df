/* loader_bzimage.c: Linux bzImage through the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst, "64-bit BOOT PROTOCOL" and "THE REAL-MODE
 * KERNEL HEADER"): the protected-mode kernel is loaded at its preferred
 * address, a zero page (struct boot_params) gets the setup header, the e820
 * map, the command line and initrd addresses, and the vCPU starts in 64-bit
 * mode at load address + 0x200 with an identity map and RSI = boot_params. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "monitor/boot.h"
#include "common/util.h"

/* Offsets in struct boot_params / the setup header. */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define HDR_START 0x1f1
#define HDR_SETUP_SECTS 0x1f1
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP_LEN 0x201 /* the byte after "jmp": length of the header past 0x202 */
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_HEAP_END_PTR 0x224
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define HDR_END 0x268

#define BOOT_PROTO_MIN 0x020c /* 2.12: xloadflags, the 64-bit entry flag */
#define XLF_KERNEL_64 (1u << 0)
#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)

static uint32_t rd32(const uint8_t *p, size_t off)
{
	uint32_t v;
	memcpy(&v, p + off, 4);
	return v;
}
static uint16_t rd16(const uint8_t *p, size_t off)
{
	uint16_t v;
	memcpy(&v, p + off, 2);
	return v;
}
static void wr32(uint8_t *p, size_t off, uint32_t v) { memcpy(p + off, &v, 4); }
static void wr16(uint8_t *p, size_t off, uint16_t v) { memcpy(p + off, &v, 2); }

/* GDT: null, null, __BOOT_CS (0x10, 64-bit code), __BOOT_DS (0x18). */
static int write_gdt(const struct gmem *mem)
{
	static const uint64_t gdt[4] = { 0, 0, 0x00af9b000000ffffull, 0x00cf93000000ffffull };
	void *dst = gmem_ptr(mem, BOOT_GDT_ADDR, sizeof(gdt));

	if (!dst)
		return -ENOSPC;
	memcpy(dst, gdt, sizeof(gdt));
	return 0;
}

/* Identity map of the first 4 GiB with 2 MiB pages: PML4 -> PDPT -> 4 PDs. */
static int write_page_tables(const struct gmem *mem)
{
	uint64_t *pml4 = gmem_ptr(mem, BOOT_PML4_ADDR, 6 * 4096);
	uint64_t *pdpt, *pd;

	if (!pml4)
		return -ENOSPC;
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	memset(pml4, 0, 6 * 4096);
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | 0x3; /* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000ull) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83; /* present, writable, 2 MiB */
	return 0;
}

int boot_load_bzimage(const struct gmem *mem, const struct boot_images *img,
		      struct boot_state *st, char *err, size_t errlen)
{
	const uint8_t *k = img->kernel;
	struct hvm_memmap_table_entry map[8];
	uint32_t setup_sects, kernel_off, kernel_len, align, init_size, initrd_max;
	uint64_t load, pref;
	uint8_t *bp, *dst;
	uint16_t version;
	size_t hdr_end;
	unsigned nmap;

	if (img->kernel_len < HDR_END) {
		snprintf(err, errlen, "bzImage is truncated (%zu bytes)", img->kernel_len);
		return -EINVAL;
	}
	version = rd16(k, HDR_VERSION);
	if (version < BOOT_PROTO_MIN) {
		snprintf(err, errlen, "bzImage boot protocol %u.%02u is too old (need 2.12 or "
				      "later for the 64-bit entry)", version >> 8, version & 0xff);
		return -EPROTO;
	}
	if (!(rd16(k, HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		snprintf(err, errlen, "bzImage has no 64-bit entry point (XLF_KERNEL_64 unset)");
		return -EPROTO;
	}
	if (rd16(k, HDR_BOOT_FLAG) != 0xaa55) {
		snprintf(err, errlen, "bzImage boot flag is not 0xAA55");
		return -EINVAL;
	}
	setup_sects = k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4;
	kernel_off = (setup_sects + 1) * 512;
	if (kernel_off >= img->kernel_len) {
		snprintf(err, errlen, "bzImage setup (%u sectors) is larger than the file",
			 setup_sects);
		return -EINVAL;
	}
	kernel_len = (uint32_t)(img->kernel_len - kernel_off);
	if (kernel_len <= 0x200) {
		snprintf(err, errlen, "bzImage protected-mode code is %u bytes: too short for the "
				      "64-bit entry at offset 0x200", kernel_len);
		return -EINVAL;
	}

	align = rd32(k, HDR_KERNEL_ALIGNMENT);
	if (align == 0 || (align & (align - 1)) || align > (1u << 30))
		align = 1u << 21;
	init_size = MAX(rd32(k, HDR_INIT_SIZE), kernel_len);
	pref = ((uint64_t)rd32(k, HDR_PREF_ADDRESS + 4) << 32) | rd32(k, HDR_PREF_ADDRESS);
	load = pref;
	if (load < BOOT_HIGH_START || load + init_size > mem->size) {
		if (!k[HDR_RELOCATABLE] && pref) {
			snprintf(err, errlen, "bzImage needs %u bytes at 0x%llx, beyond %llu MiB of "
					      "guest memory", init_size, (unsigned long long)pref,
				 (unsigned long long)(mem->size >> 20));
			return -ENOSPC;
		}
		load = ALIGN_UP(BOOT_HIGH_START, (uint64_t)align);
	}
	dst = gmem_ptr(mem, load, init_size);
	if (!dst) {
		snprintf(err, errlen, "bzImage needs %u bytes at 0x%llx, more than %llu MiB of guest "
				      "memory", init_size, (unsigned long long)load,
			 (unsigned long long)(mem->size >> 20));
		return -ENOSPC;
	}
	memcpy(dst, k + kernel_off, kernel_len);

	/* The zero page: setup header copied from the image, then our fields. */
	bp = gmem_ptr(mem, BOOT_PARAMS_ADDR, 4096);
	if (!bp)
		return -ENOSPC;
	memset(bp, 0, 4096);
	hdr_end = MIN((size_t)0x202 + k[HDR_JUMP_LEN], MIN(img->kernel_len, (size_t)4096));
	if (hdr_end > HDR_START)
		memcpy(bp + HDR_START, k + HDR_START, hdr_end - HDR_START);
	bp[HDR_TYPE_OF_LOADER] = 0xff; /* undefined boot loader */
	bp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	wr16(bp, HDR_HEAP_END_PTR, 0xfe00);

	if (img->cmdline) {
		size_t n = strlen(img->cmdline) + 1;
		uint32_t max = rd32(k, HDR_CMDLINE_SIZE);
		if (max && n - 1 > max) {
			snprintf(err, errlen, "command line is %zu bytes; this kernel takes at most %u",
				 n - 1, max);
			return -ENOSPC;
		}
		memcpy(gmem_ptr(mem, BOOT_CMDLINE_ADDR, n), img->cmdline, n);
		wr32(bp, HDR_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
		wr32(bp, BP_EXT_CMD_LINE_PTR, 0);
	}

	if (img->initrd) {
		uint64_t at;
		initrd_max = rd32(k, HDR_INITRD_ADDR_MAX);
		if (!initrd_max)
			initrd_max = 0x37ffffff;
		at = boot_place_initrd(mem, img->initrd, img->initrd_len,
				       ALIGN_UP(load + init_size, 4096), (uint64_t)initrd_max + 1);
		if (!at) {
			snprintf(err, errlen, "initrd of %zu bytes does not fit in guest memory between "
					      "the kernel (ends at 0x%llx) and 0x%x", img->initrd_len,
				 (unsigned long long)(load + init_size), initrd_max);
			return -ENOSPC;
		}
		wr32(bp, HDR_RAMDISK_IMAGE, (uint32_t)at);
		wr32(bp, HDR_RAMDISK_SIZE, (uint32_t)img->initrd_len);
		wr32(bp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(at >> 32));
		wr32(bp, BP_EXT_RAMDISK_SIZE, (uint32_t)((uint64_t)img->initrd_len >> 32));
	}

	nmap = boot_memmap(mem->size, map, ARRAY_SIZE(map));
	for (unsigned i = 0; i < nmap && i < BP_E820_MAX; i++) {
		uint8_t *e = bp + BP_E820_TABLE + i * 20;
		memcpy(e, &map[i].addr, 8);
		memcpy(e + 8, &map[i].size, 8);
		memcpy(e + 16, &map[i].type, 4);
	}
	bp[BP_E820_ENTRIES] = (uint8_t)nmap;
	if (img->rsdp) {
		wr32(bp, BP_ACPI_RSDP_ADDR, (uint32_t)img->rsdp);
		wr32(bp, BP_ACPI_RSDP_ADDR + 4, (uint32_t)(img->rsdp >> 32));
	}

	if (write_gdt(mem) < 0 || write_page_tables(mem) < 0)
		return -ENOSPC;

	*st = (struct boot_state){
		.mode = BOOT_LINUX64,
		.entry = load + 0x200,
		.rsi = BOOT_PARAMS_ADDR,
		.gdt_addr = BOOT_GDT_ADDR,
		.gdt_limit = 4 * 8 - 1,
		.cr3 = BOOT_PML4_ADDR,
		.format = "bzimage",
		.is_linux = 1,
	};
	return 0;
}
