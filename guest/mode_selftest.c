/* mode_selftest.c: "selftest [expect_pci=N] [inject=CHECK]".
 *
 * Runs every check, prints one "netguest: check=NAME status=ok|fail ..." line
 * per check and then the summary line
 *   netguest: mode=selftest result=pass checks=7 failed=0 ...
 *   netguest: mode=selftest result=fail check=FIRST_FAILED checks=7 failed=N ...
 * and returns 0 (pass) or 1 (fail).
 *
 * inject=CHECK makes that check fail through its own failure path (a wrong
 * seed, a masked IRQ, an address that does not fault...), so that tests can
 * prove that every check can fail. */
#include "netguest.h"

#define CHECKSUM_WORDS (64 * 1024 / 4)
#define CHECKSUM_MUL 0x9e3779b1u
#define CHECKSUM_ADD 0x6a09e667u
#define UNMAPPED_ADDR 0x8000000000ull /* PML4 slot 1: never mapped */
#define PF_ERR_PRESENT 0x1
#define PF_ERR_USER 0x4
#define PIT_TEST_COUNT 1193           /* ~1 ms */
#define PIT_TEST_TICKS 2              /* the second tick proves the EOI */
#define PIT_TIMEOUT_CYCLES 1000000000ul /* ~0.4 s at 2.6 GHz; latency is 15-80 us, outliers ms */
#define PIT_TIMEOUT_SPINS 200000000ul   /* in case the TSC does not move */

struct selftest {
	struct cmdline *cmdline;
	const char *inject;
	uint64_t expect_pci;
	bool have_expect_pci;
	bool expect_pci_bad;
	unsigned checks, failed;
	const char *first_failed;
	/* facts for the summary line */
	uint64_t ram_kib;
	unsigned pci_functions;
	uint64_t irq_ticks, irq_wait_cycles;
	uint32_t checksum;
};

static bool injected(const struct selftest *t, const char *check)
{
	return t->inject && !kstrcmp(t->inject, check);
}

/* Prints the check's result line (fmt continues it) and records it. */
static bool report(struct selftest *t, const char *check, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool report(struct selftest *t, const char *check, bool ok, const char *fmt, ...)
{
	va_list ap;

	t->checks++;
	if (!ok) {
		t->failed++;
		if (!t->first_failed)
			t->first_failed = check;
	}
	kprintf("netguest: check=%s status=%s ", check, ok ? "ok" : "fail");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	return ok;
}

/* ---- start_info: magic and version ---- */
static void check_start_info(struct selftest *t)
{
	uint32_t min_version = injected(t, "start_info") ? 0xffffffffu : 1;
	bool ok = start_info->magic == PVH_START_MAGIC && start_info->version >= min_version;

	report(t, "start_info", ok, "magic=0x%x version=%u flags=0x%x modules=%u rsdp=0x%lx",
	       start_info->magic, start_info->version, start_info->flags, start_info->nr_modules,
	       start_info->rsdp_paddr);
}

/* ---- memmap: a RAM entry covers the whole image ---- */
static void check_memmap(struct selftest *t)
{
	const struct hvm_memmap_table_entry *map = (const void *)start_info->memmap_paddr;
	uint64_t lo = (uint64_t)__image_start, hi = (uint64_t)__image_end;
	unsigned n = start_info->memmap_entries;
	bool covered = false;

	if (injected(t, "memmap")) {
		lo += 1ull << 40;
		hi += 1ull << 40;
	}
	if (start_info->version < 1 || !map || n == 0 || n > 128 ||
	    (uint64_t)map >= (4ull << 30)) {
		report(t, "memmap", false, "reason=no-memmap entries=%u paddr=0x%lx", n, (uint64_t)map);
		return;
	}
	t->ram_kib = 0;
	for (unsigned i = 0; i < n; i++) {
		if (map[i].type != PVH_MEMMAP_RAM)
			continue;
		t->ram_kib += map[i].size >> 10;
		if (map[i].addr <= lo && map[i].addr + map[i].size >= hi)
			covered = true;
	}
	if (covered)
		report(t, "memmap", true, "entries=%u ram_kib=%lu image=0x%lx-0x%lx", n, t->ram_kib, lo, hi);
	else
		report(t, "memmap", false, "reason=image-not-in-ram entries=%u image=0x%lx-0x%lx", n, lo, hi);
}

/* ---- cmdline: present, complete, every argument understood ---- */
static void check_cmdline(struct selftest *t)
{
	static const struct cmdline_arg injected_arg = { .key = "injected" };
	const struct cmdline *c = t->cmdline;
	const struct cmdline_arg *unused = cmdline_unused(c);

	if (injected(t, "cmdline"))
		unused = &injected_arg;
	if (!start_info->cmdline_paddr)
		report(t, "cmdline", false, "reason=no-cmdline");
	else if (c->truncated)
		report(t, "cmdline", false, "reason=too-long max_bytes=%u max_args=%u", CMDLINE_MAX - 1,
		       CMDLINE_MAX_ARGS);
	else if (t->expect_pci_bad)
		report(t, "cmdline", false, "reason=bad-value key=expect_pci");
	else if (unused)
		report(t, "cmdline", false, "reason=unknown-arg arg=%s", unused->key);
	else
		report(t, "cmdline", true, "mode=%s args=%u", c->mode, c->nargs);
}

/* ---- user_exception: a #PF at CPL3 comes back, then CPL3 still works ---- */
static long user_touch(void *addr)
{
	return (long)*(volatile uint64_t *)addr;
}

static long user_add_one(void *arg)
{
	return (long)arg + 1;
}

static void check_user_exception(struct selftest *t)
{
	static volatile uint64_t mapped_word;
	uint64_t addr = injected(t, "user_exception") ? (uint64_t)&mapped_word : UNMAPPED_ADDR;
	struct user_result r = user_call(user_touch, (void *)addr);
	struct user_result again;

	if (r.vector != VEC_PF) {
		report(t, "user_exception", false, "reason=wrong-exception vector=%d expected=%d", r.vector,
		       VEC_PF);
		return;
	}
	if (r.cr2 != addr || (r.error_code & (PF_ERR_USER | PF_ERR_PRESENT)) != PF_ERR_USER) {
		report(t, "user_exception", false, "reason=wrong-fault cr2=0x%lx error_code=0x%lx", r.cr2,
		       r.error_code);
		return;
	}
	again = user_call(user_add_one, (void *)41);
	if (again.vector >= 0 || again.value != 42) {
		report(t, "user_exception", false, "reason=no-return-after-fault vector=%d value=%ld",
		       again.vector, again.value);
		return;
	}
	report(t, "user_exception", true, "vector=%d cr2=0x%lx error_code=0x%lx rip=0x%lx", r.vector,
	       r.cr2, r.error_code, r.rip);
}

/* ---- user_checksum: fill and sum 64 KiB at CPL3; check the sum in closed
 * form at CPL0 ---- */
struct checksum_job {
	uint32_t *buf;
	uint32_t words, mul, add;
};

static uint32_t checksum_buf[CHECKSUM_WORDS] __attribute__((aligned(4096)));

/* Runs at CPL3. The sum reads the buffer back byte by byte after a compiler
 * barrier, so it really comes from memory. */
static long user_checksum(void *arg)
{
	const struct checksum_job *job = arg;
	const volatile uint8_t *bytes = (const volatile uint8_t *)job->buf;
	uint32_t sum = 0;

	for (uint32_t i = 0; i < job->words; i++)
		job->buf[i] = i * job->mul + job->add;
	__asm__ volatile("" ::: "memory");
	for (uint32_t i = 0; i < job->words; i++, bytes += 4)
		sum += (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
		       (uint32_t)bytes[3] << 24;
	return sum;
}

static void check_user_checksum(struct selftest *t)
{
	struct checksum_job job = { checksum_buf, CHECKSUM_WORDS, CHECKSUM_MUL, CHECKSUM_ADD };
	uint64_t n = CHECKSUM_WORDS;
	/* sum over i < n of (i * mul + add), mod 2^32 */
	uint32_t expected = (uint32_t)(CHECKSUM_MUL * (n * (n - 1) / 2) + CHECKSUM_ADD * n);
	uint32_t last = (uint32_t)((n - 1) * CHECKSUM_MUL + CHECKSUM_ADD);
	uint64_t t0, cycles;
	struct user_result r;

	if (injected(t, "user_checksum"))
		job.add ^= 1;
	t0 = rdtsc();
	r = user_call(user_checksum, &job);
	cycles = rdtsc() - t0;
	t->checksum = (uint32_t)r.value;
	if (r.vector >= 0)
		report(t, "user_checksum", false, "reason=exception vector=%d rip=0x%lx cr2=0x%lx", r.vector,
		       r.rip, r.cr2);
	else if ((uint32_t)r.value != expected || checksum_buf[n - 1] != last)
		report(t, "user_checksum", false, "reason=mismatch sum=0x%08x expected=0x%08x last=0x%08x",
		       (uint32_t)r.value, expected, checksum_buf[n - 1]);
	else
		report(t, "user_checksum", true, "bytes=%lu sum=0x%08x cycles=%lu", n * 4, expected, cycles);
}

/* ---- pit_irq: IRQ0 through the PIC, taken while spinning at CPL3 ---- */
static volatile uint64_t pit_ticks;

static void pit_tick(unsigned irq)
{
	(void)irq;
	pit_ticks++;
}

struct irq_wait_job {
	volatile uint64_t *counter;
	uint64_t target, timeout_cycles, max_spins;
};

/* Runs at CPL3 with IF=1: the interrupts arrive here and return here.
 * Returns the cycles waited, or -1 on timeout. */
static long user_wait_counter(void *arg)
{
	const struct irq_wait_job *job = arg;
	uint64_t t0 = rdtsc(), dt = 0;

	for (uint64_t spin = 0; spin < job->max_spins; spin++) {
		if (*job->counter >= job->target)
			return (long)(rdtsc() - t0);
		dt = rdtsc() - t0;
		if (dt > job->timeout_cycles)
			break;
	}
	return -1;
}

static void check_pit_irq(struct selftest *t)
{
	struct irq_wait_job job = { &pit_ticks, PIT_TEST_TICKS, PIT_TIMEOUT_CYCLES, PIT_TIMEOUT_SPINS };
	struct user_result r;

	pit_ticks = 0;
	irq_set_handler(0, pit_tick);
	pit_start_periodic(PIT_TEST_COUNT);
	if (!injected(t, "pit_irq"))
		pic_unmask(0);
	r = user_call(user_wait_counter, &job);
	pic_mask(0);
	pit_stop();
	irq_set_handler(0, NULL);
	t->irq_ticks = pit_ticks;
	t->irq_wait_cycles = (uint64_t)r.value;
	if (r.vector >= 0)
		report(t, "pit_irq", false, "reason=exception vector=%d rip=0x%lx", r.vector, r.rip);
	else if (r.value < 0)
		report(t, "pit_irq", false, "reason=timeout ticks=%lu wanted=%u timeout_cycles=%lu",
		       t->irq_ticks, PIT_TEST_TICKS, PIT_TIMEOUT_CYCLES);
	else
		report(t, "pit_irq", true, "ticks=%lu wait_cycles=%lu", t->irq_ticks, t->irq_wait_cycles);
}

/* ---- pci: bus 0 scans consistently (0 functions is fine) ---- */
static void check_pci(struct selftest *t)
{
	struct pci_scan s;
	uint64_t expect;
	bool want = t->have_expect_pci || injected(t, "pci");

	pci_scan_bus0(&s);
	t->pci_functions = s.functions;
	expect = injected(t, "pci") ? s.functions + 1 : t->expect_pci;
	if (s.bad)
		report(t, "pci", false, "reason=inconsistent functions=%u bad=%u", s.functions, s.bad);
	else if (want && s.functions != expect)
		report(t, "pci", false, "reason=count functions=%u expected=%lu", s.functions, expect);
	else
		report(t, "pci", true, "functions=%u", s.functions);
}

int mode_selftest(struct cmdline *c)
{
	struct selftest t = { .cmdline = c };
	const char *v;

	/* Look every key up first: check_cmdline reports those left over. */
	t.inject = cmdline_get(c, "inject");
	v = cmdline_get(c, "expect_pci");
	if (v) {
		t.have_expect_pci = true;
		t.expect_pci_bad = parse_u64(v, &t.expect_pci) < 0;
	}

	pic_init();
	check_start_info(&t);
	check_memmap(&t);
	check_cmdline(&t);
	check_user_exception(&t);
	check_user_checksum(&t);
	check_pit_irq(&t);
	check_pci(&t);

	if (t.failed)
		kprintf("netguest: mode=selftest result=fail check=%s checks=%u failed=%u "
			"elapsed_cycles=%lu\n",
			t.first_failed, t.checks, t.failed, rdtsc() - boot_tsc);
	else
		kprintf("netguest: mode=selftest result=pass checks=%u failed=0 ram_kib=%lu "
			"pci_functions=%u irq_ticks=%lu irq_wait_cycles=%lu checksum=0x%08x "
			"elapsed_cycles=%lu\n",
			t.checks, t.ram_kib, t.pci_functions, t.irq_ticks, t.irq_wait_cycles, t.checksum,
			rdtsc() - boot_tsc);
	return t.failed ? 1 : 0;
}
