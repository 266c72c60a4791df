/* main.c: netguest's C entry. Validates the PVH start info, parses the
 * command line and runs the mode it names; the mode's status becomes the
 * debug-exit status. */
#include "netguest.h"

/* Everything the guest reads from physical memory must lie in its identity
 * map (the first 4 GiB, entry.S). */
#define MAPPED_LIMIT (4ull << 30)

void kmain(uint64_t start_info_paddr);

const struct hvm_start_info *start_info;
uint64_t boot_tsc;
static struct cmdline cmdline;

static const struct mode modes[] = {
	{ "selftest", mode_selftest },
	{ "idle", mode_idle },
	{ "fault", mode_fault },
	{ "tx", mode_tx },
	{ "rx", mode_rx },
	{ "echo", mode_echo },
	{ "exitcost", mode_exitcost },
	{ "print", mode_print },
};

static bool mapped(uint64_t paddr, uint64_t len)
{
	return paddr != 0 && paddr < MAPPED_LIMIT && len <= MAPPED_LIMIT - paddr;
}

void kmain(uint64_t start_info_paddr)
{
	const char *line = "";

	boot_tsc = rdtsc();
	console_init();
	if (!mapped(start_info_paddr, sizeof(*start_info))) {
		kprintf("netguest: result=fail error=bad-start-info paddr=0x%lx\n", start_info_paddr);
		debug_exit(1);
	}
	start_info = (const struct hvm_start_info *)start_info_paddr;
	if (start_info->magic != PVH_START_MAGIC) {
		kprintf("netguest: result=fail error=bad-start-info magic=0x%x\n", start_info->magic);
		debug_exit(1);
	}
	if (mapped(start_info->cmdline_paddr, 1))
		line = (const char *)start_info->cmdline_paddr;
	cmdline_parse(&cmdline, line);
	kprintf("netguest: boot cmdline=\"%s\"\n", line);

	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++)
		if (!kstrcmp(cmdline.mode, modes[i].name))
			debug_exit((uint32_t)modes[i].run(&cmdline));

	kprintf("netguest: result=fail error=unknown-mode mode=%s\n", cmdline.mode);
	debug_exit(1);
}
