/* fuzz_boot.c: libFuzzer target for the kernel loaders, monitor/boot.c,
 * loader_pvh.c and loader_bzimage.c (boot_load, as the monitor runs it on
 * the --kernel, --initrd and --cmdline it was given): the kernel image is
 * anyone's file, and the loaders parse its headers to decide where to
 * write in guest memory.
 *
 * Input: a config byte, then the initrd and the command line if the config
 * byte has them (each: u16 length, then the bytes), then the kernel image
 * (the rest). Each is copied into a buffer of its own, so that ASan sees
 * any read past its end. Config byte: bits 0-1 the guest memory size (1 MiB,
 * too small to boot; 2 MiB; 5 MiB + 12 KiB; 16 MiB); bit 2 an initrd; bit 3
 * a command line (an empty initrd stands for none: the monitor refuses an
 * empty file before it loads anything).
 *
 * FUZZ_VERBOSE=1 prints what boot_load() returned.
 *
 * Guest memory is fuzz_input.h's RAM with guard pages, its end at the upper
 * guard page whatever its size: a write past the end faults at once.
 *
 * Invariants: a refusal is one of the documented errors with a message; on
 * success the entry point lies in guest memory above 1 MiB, the command
 * line and the initrd are in guest memory where the boot structures say
 * (hvm_start_info and its module list, or the zero page), whole and clear
 * of the kernel, inside the initrd limit of a bzImage, and a bzImage's
 * protected-mode code is whole at its load address (entry - 0x200), where
 * nothing written after it landed. */
#include <errno.h>

#include "common/util.h"
#include "monitor/boot.h"
#include "tests/fuzz/fuzz_input.h"

/* Offsets in the bzImage header and zero page (loader_bzimage.c). */
#define BZ_SETUP_SECTS 0x1f1
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21c
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_EXT_RAMDISK_IMAGE 0x0c0
#define BZ_EXT_RAMDISK_SIZE 0x0c4

static const uint64_t mem_sizes[4] = { 1u << 20, 2u << 20, (5u << 20) + 0x3000, FZ_RAM_SIZE };

FZ_NOCOV static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* [a, a + alen) and [b, b + blen) do not meet. */
FZ_NOCOV static bool apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a + alen <= b || b + blen <= a;
}

FZ_NOCOV static void check_cmdline(const struct gmem *mem, const struct boot_images *img,
				   uint64_t at)
{
	const char *s;

	if (!img->cmdline)
		return;
	FZ_CHECK(at == BOOT_CMDLINE_ADDR);
	s = gmem_ptr(mem, at, strlen(img->cmdline) + 1);
	FZ_CHECK(s && !strcmp(s, img->cmdline));
}

FZ_NOCOV static void check_initrd(const struct gmem *mem, const struct boot_images *img,
				  uint64_t at, uint64_t len)
{
	const uint8_t *p;

	FZ_CHECK(len == img->initrd_len && at >= BOOT_HIGH_START && !(at & 0xfff));
	p = gmem_ptr(mem, at, len);
	FZ_CHECK(p && !memcmp(p, img->initrd, len));
}

FZ_NOCOV static void check_pvh(const struct gmem *mem, const struct boot_images *img,
			       const struct boot_state *st)
{
	const struct hvm_start_info *si = gmem_ptr(mem, BOOT_START_INFO_ADDR, sizeof(*si));

	FZ_CHECK(st->mode == BOOT_PVH32 && st->rbx == BOOT_START_INFO_ADDR);
	FZ_CHECK(st->entry <= UINT32_MAX);
	FZ_CHECK(si && si->magic == PVH_START_MAGIC && si->version == 1);
	FZ_CHECK(si->memmap_paddr == BOOT_MEMMAP_ADDR && si->memmap_entries == 3);
	check_cmdline(mem, img, si->cmdline_paddr);
	FZ_CHECK(si->nr_modules == (img->initrd ? 1u : 0u));
	if (img->initrd) {
		const struct hvm_modlist_entry *m = gmem_ptr(mem, si->modlist_paddr, sizeof(*m));
		FZ_CHECK(si->modlist_paddr == BOOT_MODLIST_ADDR && m);
		check_initrd(mem, img, m->paddr, m->size);
		FZ_CHECK(m->paddr + m->size <= 1ull << 32 && m->paddr > st->entry);
	}
}

FZ_NOCOV static void check_bzimage(const struct gmem *mem, const struct boot_images *img,
				   const struct boot_state *st)
{
	const uint8_t *k = img->kernel, *bp = gmem_ptr(mem, BOOT_PARAMS_ADDR, 4096), *code;
	uint64_t load = st->entry - 0x200, kernel_off, kernel_len;

	FZ_CHECK(st->mode == BOOT_LINUX64 && st->rsi == BOOT_PARAMS_ADDR && bp);
	FZ_CHECK(load >= BOOT_HIGH_START && st->entry > load);
	kernel_off = ((k[BZ_SETUP_SECTS] ? k[BZ_SETUP_SECTS] : 4) + 1) * 512ull;
	kernel_len = img->kernel_len - kernel_off;
	code = gmem_ptr(mem, load, kernel_len);
	/* nothing written after the kernel landed on it */
	FZ_CHECK(code && !memcmp(code, k + kernel_off, kernel_len));
	if (img->cmdline)
		check_cmdline(mem, img, rd32(bp + BZ_CMD_LINE_PTR));
	if (img->initrd) {
		uint64_t at = rd32(bp + BZ_RAMDISK_IMAGE) | (uint64_t)rd32(bp + BZ_EXT_RAMDISK_IMAGE) << 32;
		uint64_t len = rd32(bp + BZ_RAMDISK_SIZE) | (uint64_t)rd32(bp + BZ_EXT_RAMDISK_SIZE) << 32;
		uint64_t max = rd32(k + BZ_INITRD_ADDR_MAX) ? rd32(k + BZ_INITRD_ADDR_MAX) : 0x37ffffff;

		check_initrd(mem, img, at, len);
		FZ_CHECK(apart(at, len, load, kernel_len));
		FZ_CHECK(at + len - 1 <= max);
	}
}

/* A u16 length and up to that many bytes, in a buffer of their own. */
static uint8_t *part(struct fz *in, size_t *len)
{
	size_t want = fz_u16(in);
	const uint8_t *p = fz_bytes(in, want, len);

	return (uint8_t *)fz_strndup(p, *len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz in = { data, size };
	uint8_t cfg = fz_u8(&in);
	struct gmem *ram = fz_ram();
	struct gmem mem = { .size = mem_sizes[cfg & 3] };
	struct boot_images img = { 0 };
	struct boot_state st;
	uint8_t *initrd = NULL, *kernel;
	char *cmdline = NULL, err[256] = "";
	size_t n;
	int r;

	fz_quiet_logging(LOG_P_ERR - 1);
	fz_ram_reset();
	mem.host = ram->host + ram->size - mem.size;
	if (cfg & 4) {
		initrd = part(&in, &n);
		/* the monitor refuses an empty file before it loads anything */
		img.initrd = n ? initrd : NULL;
		img.initrd_len = n;
	}
	if (cfg & 8)
		img.cmdline = cmdline = (char *)part(&in, &n);
	kernel = (uint8_t *)fz_strndup(in.p, in.n);
	img.kernel = kernel;
	img.kernel_len = in.n;

	r = boot_load(&mem, &img, &st, err, sizeof(err));
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "boot_load: %d %s%s entry 0x%llx\n", r, err, r ? "" : st.format,
			r ? 0ull : (unsigned long long)st.entry);
	if (r < 0) {
		FZ_CHECK(r == -ENOEXEC || r == -EPROTO || r == -EINVAL || r == -ENOSPC);
		FZ_CHECK(err[0]);
	} else {
		FZ_CHECK(r == 0);
		FZ_CHECK(st.entry >= BOOT_HIGH_START && st.entry < mem.size);
		if (boot_is_elf(img.kernel, img.kernel_len))
			check_pvh(&mem, &img, &st);
		else
			check_bzimage(&mem, &img, &st);
	}
	free(kernel);
	free(cmdline);
	free(initrd);
	return 0;
}
