/* loader_pvh.c: PVH boot of an ELF kernel (Xen's "PVH" direct boot ABI, as
 * QEMU and Firecracker implement it for KVM guests): PT_LOAD segments at
 * their physical addresses, entry at the XEN_ELFNOTE_PHYS32_ENTRY note, in
 * 32-bit protected mode with EBX pointing to struct hvm_start_info (version 1:
 * command line, memory map, initrd as module 0). */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "monitor/boot.h"
#include "common/util.h"

#define PVH_MAX_PHDRS 64

/* A program header, whatever the ELF class. */
struct phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_view {
	const uint8_t *buf;
	size_t len;
	int is64;
	unsigned phnum;
	uint64_t phoff, phentsize;
};

static int elf_open(struct elf_view *e, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	e->buf = buf;
	e->len = len;
	if (len < EI_NIDENT || memcmp(buf, ELFMAG, SELFMAG)) {
		snprintf(err, errlen, "not an ELF file");
		return -ENOEXEC;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, errlen, "ELF is not little-endian");
		return -ENOEXEC;
	}
	if (buf[EI_CLASS] == ELFCLASS64 && len >= sizeof(Elf64_Ehdr)) {
		const Elf64_Ehdr *h = (const void *)buf;
		if (h->e_machine != EM_X86_64) {
			snprintf(err, errlen, "ELF machine %u is not x86-64", h->e_machine);
			return -ENOEXEC;
		}
		e->is64 = 1;
		e->phoff = h->e_phoff;
		e->phnum = h->e_phnum;
		e->phentsize = h->e_phentsize;
		if (e->phentsize != sizeof(Elf64_Phdr))
			goto bad_ph;
	} else if (buf[EI_CLASS] == ELFCLASS32 && len >= sizeof(Elf32_Ehdr)) {
		const Elf32_Ehdr *h = (const void *)buf;
		if (h->e_machine != EM_386 && h->e_machine != EM_X86_64) {
			snprintf(err, errlen, "ELF machine %u is not x86", h->e_machine);
			return -ENOEXEC;
		}
		e->is64 = 0;
		e->phoff = h->e_phoff;
		e->phnum = h->e_phnum;
		e->phentsize = h->e_phentsize;
		if (e->phentsize != sizeof(Elf32_Phdr))
			goto bad_ph;
	} else {
		snprintf(err, errlen, "ELF header is truncated or of an unknown class");
		return -EINVAL;
	}
	if (e->phnum == 0 || e->phnum > PVH_MAX_PHDRS)
		goto bad_ph;
	if (e->phoff > len || e->phnum * e->phentsize > len - e->phoff)
		goto bad_ph;
	return 0;
bad_ph:
	snprintf(err, errlen, "ELF program headers are missing or out of the file (%u at %llu)",
		 e->phnum, (unsigned long long)e->phoff);
	return -EINVAL;
}

static void elf_phdr(const struct elf_view *e, unsigned i, struct phdr *p)
{
	const uint8_t *at = e->buf + e->phoff + i * e->phentsize;

	if (e->is64) {
		Elf64_Phdr h;
		memcpy(&h, at, sizeof(h));
		*p = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		Elf32_Phdr h;
		memcpy(&h, at, sizeof(h));
		*p = (struct phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
}

/* Walks the notes of one PT_NOTE segment for Xen's PHYS32_ENTRY. 1 = found. */
static int find_pvh_note(const uint8_t *n, uint64_t len, uint64_t *entry)
{
	uint64_t off = 0;

	while (len - off >= 12) {
		uint32_t namesz, descsz, type;
		uint64_t name_off, desc_off, next;

		memcpy(&namesz, n + off, 4);
		memcpy(&descsz, n + off + 4, 4);
		memcpy(&type, n + off + 8, 4);
		name_off = off + 12;
		desc_off = name_off + ALIGN_UP((uint64_t)namesz, 4);
		next = desc_off + ALIGN_UP((uint64_t)descsz, 4);
		if (desc_off > len || next > len || next <= off)
			return 0;
		if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(n + name_off, "Xen", 4) && (descsz == 4 || descsz == 8)) {
			uint64_t v = 0;
			memcpy(&v, n + desc_off, descsz); /* little-endian */
			*entry = v;
			return 1;
		}
		off = next;
	}
	return 0;
}

int boot_load_pvh(const struct gmem *mem, const struct boot_images *img, struct boot_state *st,
		  char *err, size_t errlen)
{
	struct hvm_memmap_table_entry map[8];
	struct hvm_start_info *si;
	struct elf_view e;
	uint64_t entry = 0, kernel_end = 0;
	int have_note = 0, loads = 0, r;
	unsigned nmap;

	r = elf_open(&e, img->kernel, img->kernel_len, err, errlen);
	if (r < 0)
		return r;

	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr p;
		elf_phdr(&e, i, &p);
		if (p.offset > e.len || p.filesz > e.len - p.offset) {
			snprintf(err, errlen, "ELF segment %u lies outside the file", i);
			return -EINVAL;
		}
		if (p.type == PT_NOTE && !have_note)
			have_note = find_pvh_note(e.buf + p.offset, p.filesz, &entry);
	}
	if (!have_note) {
		snprintf(err, errlen, "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
				      "not bootable by PVH");
		return -ENOEXEC;
	}

	for (unsigned i = 0; i < e.phnum; i++) {
		struct phdr p;
		uint8_t *dst;
		elf_phdr(&e, i, &p);
		if (p.type != PT_LOAD || p.memsz == 0)
			continue;
		if (p.filesz > p.memsz) {
			snprintf(err, errlen, "ELF segment %u: file size %llu exceeds memory size %llu",
				 i, (unsigned long long)p.filesz, (unsigned long long)p.memsz);
			return -EINVAL;
		}
		if (p.paddr < BOOT_HIGH_START) {
			snprintf(err, errlen, "ELF segment %u at 0x%llx overlaps the boot area below 1 MiB",
				 i, (unsigned long long)p.paddr);
			return -EINVAL;
		}
		dst = gmem_ptr(mem, p.paddr, p.memsz);
		if (!dst) {
			snprintf(err, errlen, "ELF segment %u [0x%llx, +0x%llx) does not fit in %llu MiB "
					      "of guest memory", i, (unsigned long long)p.paddr,
				 (unsigned long long)p.memsz, (unsigned long long)(mem->size >> 20));
			return -ENOSPC;
		}
		memcpy(dst, e.buf + p.offset, p.filesz);
		memset(dst + p.filesz, 0, p.memsz - p.filesz);
		kernel_end = MAX(kernel_end, p.paddr + p.memsz);
		loads++;
	}
	if (!loads) {
		snprintf(err, errlen, "ELF has no loadable segment");
		return -EINVAL;
	}
	if (entry < BOOT_HIGH_START || entry >= kernel_end || entry > UINT32_MAX) {
		snprintf(err, errlen, "PVH entry 0x%llx lies outside the loaded image",
			 (unsigned long long)entry);
		return -EINVAL;
	}

	si = gmem_ptr(mem, BOOT_START_INFO_ADDR, sizeof(*si));
	if (!si)
		return -ENOSPC; /* boot_load() checked the size already */
	memset(si, 0, sizeof(*si));
	si->magic = PVH_START_MAGIC;
	si->version = 1;
	si->rsdp_paddr = img->rsdp;

	nmap = boot_memmap(mem->size, map, ARRAY_SIZE(map));
	memcpy(gmem_ptr(mem, BOOT_MEMMAP_ADDR, sizeof(map)), map, nmap * sizeof(map[0]));
	si->memmap_paddr = BOOT_MEMMAP_ADDR;
	si->memmap_entries = nmap;

	if (img->cmdline) {
		size_t n = strlen(img->cmdline) + 1;
		memcpy(gmem_ptr(mem, BOOT_CMDLINE_ADDR, n), img->cmdline, n);
		si->cmdline_paddr = BOOT_CMDLINE_ADDR;
	}

	if (img->initrd) {
		struct hvm_modlist_entry *mod;
		uint64_t at = boot_place_initrd(mem, img->initrd, img->initrd_len,
						ALIGN_UP(kernel_end, 4096), 1ull << 32);
		if (!at) {
			snprintf(err, errlen, "initrd of %zu bytes does not fit in guest memory above "
					      "the kernel (ends at 0x%llx)", img->initrd_len,
				 (unsigned long long)kernel_end);
			return -ENOSPC;
		}
		mod = gmem_ptr(mem, BOOT_MODLIST_ADDR, sizeof(*mod));
		*mod = (struct hvm_modlist_entry){ .paddr = at, .size = img->initrd_len };
		si->nr_modules = 1;
		si->modlist_paddr = BOOT_MODLIST_ADDR;
	}

	*st = (struct boot_state){
		.mode = BOOT_PVH32,
		.entry = entry,
		.rbx = BOOT_START_INFO_ADDR,
		.format = "pvh-elf",
	};
	return 0;
}
