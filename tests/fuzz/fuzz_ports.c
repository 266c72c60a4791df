/* fuzz_ports.c: libFuzzer target for the two one-register devices,
 * devices/debug_exit.c (0xF4-0xF7) and devices/acpi_pm.c (0x600-0x60B),
 * on a real iobus. The input is a guest program in the op format of
 * fuzz_common.h: accesses of every width at and around both.
 *
 * Config byte: unused (reserved). No events.
 *
 * Invariants, from the devices' documented behaviour (devices/README.md),
 * predicted for every access and compared with what the vm_ctl received:
 * any write to debug-exit requests VM_REQ_DEBUG_EXIT with the value masked
 * to the access width; a write that covers PM1a_CNT (0x604-0x605) whole with
 * SLP_EN set and SLP_TYP 0 in its bytes requests VM_REQ_POWEROFF; nothing
 * else requests anything. */
#include "devices/acpi_pm.h"
#include "devices/debug_exit.h"
#include "tests/fuzz/fuzz_common.h"

struct fx {
	struct iobus bus;
	struct debug_exit *d;
	struct acpi_pm *p;
	uint64_t requests;
	enum vm_request last_req;
	int last_status;
};

static void vm_req(void *ctx, enum vm_request req, int status)
{
	struct fx *x = ctx;

	x->requests++;
	x->last_req = req;
	x->last_status = status;
}

static const struct fz_region regions[] = {
	{ .space = IO_PIO, .len = DEBUG_EXIT_NR_PORTS, .fixed_base = DEBUG_EXIT_DEFAULT_BASE },
	{ .space = IO_PIO, .len = ACPI_PM_LEN, .fixed_base = ACPI_PM_BASE },
};

/* What the op at the front of f will request: the expected number of
 * requests, the last one's kind and status. Decodes without consuming. */
static void predict(const struct fz *in, uint64_t *n, enum vm_request *req, int *status)
{
	struct fz f = *in;
	uint8_t op = fz_u8(&f) % FZ_OP_COUNT;
	uint64_t addr, mask;
	unsigned size;
	uint32_t val;
	bool write;

	if (op == FZ_OP_IO_WRITE) {
		const struct fz_region *r = &regions[fz_u8(&f) % 2];
		addr = r->fixed_base + fz_u8(&f) % (r->len + FZ_REGION_SLACK);
		size = fz_size(fz_u8(&f));
		val = fz_u32(&f);
		write = true;
	} else if (op == FZ_OP_RAW_IO) {
		uint8_t flags = fz_u8(&f);
		addr = fz_u32(&f) & 0xffff;
		size = fz_size(fz_u8(&f));
		val = fz_u32(&f);
		write = (flags & 3) == 1; /* PIO write */
	} else {
		return;
	}
	if (!write)
		return;
	mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
	if (addr >= DEBUG_EXIT_DEFAULT_BASE && addr < DEBUG_EXIT_DEFAULT_BASE + DEBUG_EXIT_NR_PORTS) {
		(*n)++;
		*req = VM_REQ_DEBUG_EXIT;
		*status = (int)(uint32_t)(val & mask);
	} else if (addr <= ACPI_PM_BASE + ACPI_PM1_CNT && addr + size >= ACPI_PM_BASE + ACPI_PM1_CNT + 2 &&
		   addr >= ACPI_PM_BASE) {
		uint16_t cnt = (uint16_t)(((uint64_t)val & mask) >> (8 * (ACPI_PM_BASE + ACPI_PM1_CNT - addr)));
		if ((cnt & PM1_CNT_SLP_EN) && !(cnt & PM1_CNT_SLP_TYP_MASK)) {
			(*n)++;
			*req = VM_REQ_POWEROFF;
			*status = 0;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fx x;
	struct vm_ctl vm;
	struct fz f = { data, size };
	struct fz_target t = { .bus = &x.bus, .regions = regions, .n_regions = 2, .ctx = &x };

	(void)fz_u8(&f); /* config byte */
	fz_init_logging();
	memset(&x, 0, sizeof(x));
	FZ_CHECK(iobus_init(&x.bus) == 0);
	vm = (struct vm_ctl){ .request = vm_req, .ctx = &x };
	x.d = debug_exit_new(&vm);
	x.p = acpi_pm_new(&vm, NULL, NULL);
	FZ_CHECK(x.d && x.p);
	FZ_CHECK(debug_exit_attach(x.d, &x.bus, DEBUG_EXIT_DEFAULT_BASE) == 0);
	FZ_CHECK(acpi_pm_attach(x.p, &x.bus, ACPI_PM_BASE) == 0);

	/* One op at a time, each predicted first. */
	while (fz_more(&f)) {
		uint64_t want = x.requests;
		enum vm_request req = x.last_req;
		int status = x.last_status;

		predict(&f, &want, &req, &status);
		fz_step(&t, &f);
		FZ_CHECK(x.requests == want);
		if (want) {
			FZ_CHECK(x.last_req == req);
			FZ_CHECK(x.last_status == status);
		}
	}

	debug_exit_free(x.d);
	acpi_pm_free(x.p);
	iobus_destroy(&x.bus);
	return 0;
}
