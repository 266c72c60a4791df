/* boot.h: kernel loaders. They work on buffers and a struct gmem only (no
 * KVM), so unit tests can check every byte of what they build.
 *
 * Guest physical layout (low memory):
 *   0x0500  GDT for the 64-bit Linux entry
 *   0x1000  hvm_start_info (PVH), memmap at 0x1100, module list at 0x1800
 *   0x2000  command line (up to 4 KiB)
 *   0x7000  boot_params "zero page" (bzImage)
 *   0x9000  identity page tables for the 64-bit Linux entry (PML4, PDPT, 4 PDs)
 *   0x9fc00 .. 0x100000  reserved (EBDA, VGA, BIOS area); the ACPI
 *                        tables at 0xE0000 (monitor/acpi.h)
 *   0x100000..           kernel; initrd at the top of RAM
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "devices/dev.h"

#define BOOT_GDT_ADDR 0x500ull
#define BOOT_START_INFO_ADDR 0x1000ull
#define BOOT_MEMMAP_ADDR 0x1100ull
#define BOOT_MODLIST_ADDR 0x1800ull
#define BOOT_CMDLINE_ADDR 0x2000ull
#define BOOT_CMDLINE_MAX 4096ull
#define BOOT_PARAMS_ADDR 0x7000ull
#define BOOT_PML4_ADDR 0x9000ull
#define BOOT_EBDA_START 0x9fc00ull
#define BOOT_HIGH_START 0x100000ull

/* hvm_start_info (Xen public arch-x86/hvm/start_info.h), version 1. */
#define PVH_START_MAGIC 0x336ec578u
#define XEN_ELFNOTE_PHYS32_ENTRY 18
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
} __attribute__((packed));
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
} __attribute__((packed));
struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
} __attribute__((packed));

/* E820 types, shared by the PVH memmap and boot_params. */
#define E820_RAM 1
#define E820_RESERVED 2

enum boot_mode {
	BOOT_PVH32,   /* 32-bit protected mode, paging off, EBX = start_info */
	BOOT_LINUX64, /* 64-bit mode, identity paging, RSI = boot_params */
};

/* What the vCPU must look like at entry. */
struct boot_state {
	enum boot_mode mode;
	uint64_t entry;
	uint64_t rbx, rsi;
	uint64_t gdt_addr, gdt_limit; /* LINUX64 */
	uint64_t cr3;                 /* LINUX64 */
	const char *format;           /* "pvh-elf" or "bzimage", for messages */
	int is_linux;                 /* the image is a Linux kernel */
};

struct boot_images {
	const uint8_t *kernel;
	size_t kernel_len;
	const uint8_t *initrd; /* may be NULL */
	size_t initrd_len;
	const char *cmdline; /* may be NULL */
	uint64_t rsdp;       /* where the ACPI RSDP is, 0 for none: passed in
				start_info (PVH) or boot_params (bzImage) */
};

/* Loads the kernel (format detected from its bytes), initrd and command line
 * into guest memory and fills *st. On failure returns -errno and writes a
 * message naming the problem into err (no logging here):
 *   -ENOEXEC  not an ELF with a PVH note nor a bzImage
 *   -EPROTO   bzImage protocol too old for the 64-bit entry
 *   -EINVAL   malformed image (sizes/offsets out of the file)
 *   -ENOSPC   image, initrd or cmdline do not fit in guest memory */
int boot_load(const struct gmem *mem, const struct boot_images *img, struct boot_state *st,
	      char *err, size_t errlen);

/* Internals, exposed for unit tests. */
int boot_load_pvh(const struct gmem *mem, const struct boot_images *img, struct boot_state *st,
		  char *err, size_t errlen);
int boot_load_bzimage(const struct gmem *mem, const struct boot_images *img,
		      struct boot_state *st, char *err, size_t errlen);
int boot_is_elf(const uint8_t *buf, size_t len);
int boot_is_bzimage(const uint8_t *buf, size_t len);

/* The machine's memory map: RAM [0, EBDA), reserved [EBDA, 1 MiB),
 * RAM [1 MiB, size). Returns the number of entries written (<= max). */
unsigned boot_memmap(uint64_t ram_size, struct hvm_memmap_table_entry *out, unsigned max);

/* Places the initrd page-aligned at the highest address below min(ram_size,
 * limit) that stays above `floor`; copies it; returns its address or 0 when it
 * does not fit. */
uint64_t boot_place_initrd(const struct gmem *mem, const uint8_t *initrd, size_t len,
			   uint64_t floor, uint64_t limit);
