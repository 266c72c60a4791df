/* Unit tests of the PVH and bzImage loaders on fake guest memory. */
#include <elf.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "monitor/boot.h"

#define MEM_SIZE (64u << 20)

struct fixture {
	struct gmem mem;
	uint8_t img[16384];
	size_t img_len;
	char err[256];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->mem.host = calloc(1, MEM_SIZE);
	f->mem.size = MEM_SIZE;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	free(f->mem.host);
	free(f);
	return 0;
}

/* A PVH ELF64: PT_NOTE (Xen PHYS32_ENTRY = entry) and one PT_LOAD of `code`
 * at 1 MiB with memsz = filesz + bss. */
static void make_pvh_elf(struct fixture *f, uint64_t entry, int with_note, uint64_t load_at,
			 uint32_t bss)
{
	Elf64_Ehdr *eh = (void *)f->img;
	Elf64_Phdr *ph = (void *)(f->img + sizeof(*eh));
	uint8_t *note = f->img + 0x200, *code = f->img + 0x400;
	uint32_t nh[3] = { 4, 8, XEN_ELFNOTE_PHYS32_ENTRY };

	memset(f->img, 0, sizeof(f->img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 2;

	memcpy(note, nh, sizeof(nh));
	memcpy(note + 12, with_note ? "Xen" : "Gnu", 4);
	memcpy(note + 16, &entry, 8);
	ph[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 24, .p_memsz = 24 };

	for (unsigned i = 0; i < 256; i++)
		code[i] = (uint8_t)(i ^ 0x5a);
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x400, .p_paddr = load_at,
			      .p_vaddr = load_at, .p_filesz = 256, .p_memsz = 256 + bss };
	f->img_len = 0x400 + 256;
}

static void test_pvh_loads_segments_and_start_info(void **state)
{
	struct fixture *f = *state;
	static const uint8_t initrd[5000] = { 1, 2, 3 };
	struct boot_images img;
	struct boot_state st;
	struct hvm_start_info *si;
	struct hvm_memmap_table_entry *mm;
	struct hvm_modlist_entry *mod;

	make_pvh_elf(f, 0x100010, 1, 0x100000, 4096);
	memset(f->mem.host + 0x100000 + 256, 0xee, 4096); /* bss must be zeroed */
	img = (struct boot_images){ f->img, f->img_len, initrd, sizeof(initrd), "selftest x=1",
				    0xE0000 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), 0);
	assert_int_equal(st.mode, BOOT_PVH32);
	assert_int_equal(st.entry, 0x100010);
	assert_int_equal(st.rbx, BOOT_START_INFO_ADDR);
	assert_string_equal(st.format, "pvh-elf");
	assert_int_equal(st.is_linux, 0);
	assert_memory_equal(f->mem.host + 0x100000, f->img + 0x400, 256);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(f->mem.host[0x100000 + 256 + i], 0);

	si = (void *)(f->mem.host + BOOT_START_INFO_ADDR);
	assert_int_equal(si->magic, PVH_START_MAGIC);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->rsdp_paddr, 0xE0000);
	assert_int_equal(si->cmdline_paddr, BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)f->mem.host + BOOT_CMDLINE_ADDR, "selftest x=1");
	assert_int_equal(si->memmap_entries, 3);
	mm = (void *)(f->mem.host + si->memmap_paddr);
	assert_int_equal(mm[0].addr, 0);
	assert_int_equal(mm[0].type, E820_RAM);
	assert_int_equal(mm[1].type, E820_RESERVED);
	assert_int_equal(mm[2].addr, 0x100000);
	assert_int_equal(mm[2].addr + mm[2].size, MEM_SIZE);
	assert_int_equal(si->nr_modules, 1);
	mod = (void *)(f->mem.host + si->modlist_paddr);
	assert_int_equal(mod->size, sizeof(initrd));
	assert_int_equal(mod->paddr % 4096, 0);
	assert_true(mod->paddr + mod->size <= MEM_SIZE);
	assert_true(mod->paddr >= 0x100000 + 256 + 4096);
	assert_memory_equal(f->mem.host + mod->paddr, initrd, sizeof(initrd));
}

static void test_pvh_without_note_is_refused(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x100010, 0, 0x100000, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOEXEC);
	assert_non_null(strstr(f->err, "PVH"));
}

static void test_pvh_segment_beyond_memory(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, MEM_SIZE - 16, 1, MEM_SIZE - 128, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOSPC);
	assert_non_null(strstr(f->err, "does not fit"));
}

static void test_pvh_segment_in_boot_area(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x1010, 1, 0x1000, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "below 1 MiB"));
}

static void test_pvh_truncated_headers(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x100010, 1, 0x100000, 0);
	((Elf64_Ehdr *)f->img)->e_phoff = 0x10000000; /* far outside the file */
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);

	make_pvh_elf(f, 0x100010, 1, 0x100000, 0);
	img = (struct boot_images){ f->img, 40, NULL, 0, NULL, 0 }; /* cut inside the ELF header */
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);

	make_pvh_elf(f, 0x100010, 1, 0x100000, 0);
	((Elf64_Phdr *)(f->img + sizeof(Elf64_Ehdr)))[1].p_filesz = 1u << 30;
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);
}

static void test_pvh_entry_outside_image(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x200000, 1, 0x100000, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);
}

static void test_pvh_initrd_too_big(void **state)
{
	struct fixture *f = *state;
	uint8_t *big = calloc(1, MEM_SIZE);
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x100010, 1, 0x100000, 0);
	img = (struct boot_images){ f->img, f->img_len, big, MEM_SIZE - 0x100000, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOSPC);
	assert_non_null(strstr(f->err, "initrd"));
	free(big);
}

/* A bzImage header per Documentation/arch/x86/boot.rst. */
static void make_bzimage(struct fixture *f, uint16_t version, uint16_t xloadflags)
{
	uint8_t *k = f->img;
	uint32_t v32;
	uint64_t v64;

	memset(k, 0, sizeof(f->img));
	k[0x1f1] = 1;                /* setup_sects: kernel at (1+1)*512 */
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x200] = 0xeb;             /* jmp */
	k[0x201] = 0x268 - 0x202;    /* header length */
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(k + 0x206, &version, 2);
	k[0x211] = 0x01;             /* LOADED_HIGH */
	v32 = 0x7fffffff;
	memcpy(k + 0x22c, &v32, 4);  /* initrd_addr_max */
	v32 = 0x200000;
	memcpy(k + 0x230, &v32, 4);  /* kernel_alignment */
	k[0x234] = 1;                /* relocatable */
	memcpy(k + 0x236, &xloadflags, 2);
	v32 = 64;
	memcpy(k + 0x238, &v32, 4);  /* cmdline_size */
	v64 = 0x1000000;
	memcpy(k + 0x258, &v64, 8);  /* pref_address */
	v32 = 0x10000;
	memcpy(k + 0x260, &v32, 4);  /* init_size */
	for (unsigned i = 0; i < 2048; i++)
		k[1024 + i] = (uint8_t)(i * 7);
	f->img_len = 1024 + 2048;
}

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void test_bzimage_64bit_boot(void **state)
{
	struct fixture *f = *state;
	static const uint8_t initrd[3000] = { 9, 8, 7 };
	struct boot_images img;
	struct boot_state st;
	uint8_t *bp = f->mem.host + BOOT_PARAMS_ADDR;
	uint64_t *pml4 = (void *)(f->mem.host + BOOT_PML4_ADDR), *pdpt, *pd;
	uint64_t *gdt = (void *)(f->mem.host + BOOT_GDT_ADDR);

	make_bzimage(f, 0x020f, 1);
	img = (struct boot_images){ f->img, f->img_len, initrd, sizeof(initrd), "console=ttyS0",
				    0xE0000 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), 0);
	assert_int_equal(rd64(bp + 0x070), 0xE0000); /* acpi_rsdp_addr */
	assert_int_equal(st.mode, BOOT_LINUX64);
	assert_int_equal(st.entry, 0x1000000 + 0x200);
	assert_int_equal(st.rsi, BOOT_PARAMS_ADDR);
	assert_int_equal(st.is_linux, 1);
	assert_memory_equal(f->mem.host + 0x1000000, f->img + 1024, 2048);

	/* setup header copied, loader fields set */
	assert_memory_equal(bp + 0x202, "HdrS", 4);
	assert_int_equal(bp[0x210], 0xff);
	assert_int_equal(bp[0x211] & 0x81, 0x81);
	assert_int_equal(rd32(bp + 0x228), BOOT_CMDLINE_ADDR);
	assert_string_equal((char *)f->mem.host + BOOT_CMDLINE_ADDR, "console=ttyS0");
	assert_int_equal(rd32(bp + 0x21c), sizeof(initrd));
	assert_memory_equal(f->mem.host + rd32(bp + 0x218), initrd, sizeof(initrd));
	assert_true(rd32(bp + 0x218) >= 0x1000000 + 0x10000);
	/* e820 */
	assert_int_equal(bp[0x1e8], 3);
	assert_int_equal(rd64(bp + 0x2d0 + 2 * 20), 0x100000);
	assert_int_equal(rd64(bp + 0x2d0 + 2 * 20 + 8), MEM_SIZE - 0x100000);
	assert_int_equal(rd32(bp + 0x2d0 + 2 * 20 + 16), E820_RAM);
	assert_int_equal(rd32(bp + 0x2d0 + 1 * 20 + 16), E820_RESERVED);
	/* identity paging: 4 GiB of 2 MiB pages */
	assert_int_equal(st.cr3, BOOT_PML4_ADDR);
	pdpt = (void *)(f->mem.host + (pml4[0] & ~0xfffull));
	pd = (void *)(f->mem.host + (pdpt[3] & ~0xfffull));
	assert_int_equal(pd[511] & ~0xfffull, (4ull << 30) - (2u << 20));
	assert_int_equal(pd[511] & 0x83, 0x83);
	/* GDT: 64-bit code at 0x10, data at 0x18 */
	assert_int_equal(gdt[2], 0x00af9b000000ffffull);
	assert_int_equal(gdt[3], 0x00cf93000000ffffull);
}

static void test_bzimage_old_protocol(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	make_bzimage(f, 0x0206, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EPROTO);
	assert_non_null(strstr(f->err, "too old"));

	make_bzimage(f, 0x020f, 0); /* new enough, but no 64-bit entry */
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EPROTO);

	/* protected-mode code that ends before the 64-bit entry at 0x200 (found
	 * by fuzz_boot: the entry could even lie beyond memory) */
	make_bzimage(f, 0x020f, 1);
	img.kernel_len = 1024 + 0x200;
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "too short for the 64-bit entry"));
}

static void test_bzimage_cmdline_too_long_for_kernel(void **state)
{
	struct fixture *f = *state;
	char cmdline[100];
	struct boot_images img;
	struct boot_state st;

	memset(cmdline, 'a', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = 0;
	make_bzimage(f, 0x020f, 1);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, cmdline, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOSPC);
}

static void test_not_a_kernel(void **state)
{
	struct fixture *f = *state;
	struct boot_images img;
	struct boot_state st;

	memset(f->img, 0x90, 4096);
	img = (struct boot_images){ f->img, 4096, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOEXEC);
	img.kernel_len = 3; /* shorter than any header */
	assert_int_equal(boot_load(&f->mem, &img, &st, f->err, sizeof(f->err)), -ENOEXEC);
}

static void test_memory_too_small(void **state)
{
	struct fixture *f = *state;
	struct gmem small = { f->mem.host, 1u << 20 };
	struct boot_images img;
	struct boot_state st;

	make_pvh_elf(f, 0x100010, 1, 0x100000, 0);
	img = (struct boot_images){ f->img, f->img_len, NULL, 0, NULL, 0 };
	assert_int_equal(boot_load(&small, &img, &st, f->err, sizeof(f->err)), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pvh_loads_segments_and_start_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_without_note_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_segment_beyond_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_segment_in_boot_area, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_truncated_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_entry_outside_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pvh_initrd_too_big, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_64bit_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_old_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_cmdline_too_long_for_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_memory_too_small, setup, teardown),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
