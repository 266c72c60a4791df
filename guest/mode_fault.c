/* mode_fault.c: "fault kind=reset|triple|halt": ends the machine the hard
 * ways, so that the monitor's exit reasons can be tested on any host:
 *   reset   pulse the reset line through the i8042 (0xFE to port 0x64),
 *   triple  load an empty IDT and raise an exception: #UD cannot be
 *           delivered, nor #DF, so the CPU shuts down (a triple fault),
 *   halt    cli; hlt for ever, as Linux's "System halted" does: only the
 *           monitor's watch can end it. */
#include "netguest.h"

#define I8042_COMMAND 0x64
#define I8042_CMD_PULSE_RESET 0xfe

int mode_fault(struct cmdline *c)
{
	const char *kind = cmdline_get(c, "kind");
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) empty_idt = { 0, 0 };

	if (kind && !kstrcmp(kind, "reset")) {
		kprintf("netguest: mode=fault kind=reset\n");
		outb(I8042_COMMAND, I8042_CMD_PULSE_RESET);
	} else if (kind && !kstrcmp(kind, "triple")) {
		kprintf("netguest: mode=fault kind=triple\n");
		irq_disable();
		__asm__ volatile("lidt %0; ud2" : : "m"(empty_idt));
	} else if (kind && !kstrcmp(kind, "halt")) {
		kprintf("netguest: mode=fault kind=halt\n");
		console_flush();
		for (;;)
			__asm__ volatile("cli; hlt");
	} else {
		kprintf("netguest: mode=fault result=fail error=bad-kind (want kind=reset|triple|halt)\n");
		return 1;
	}
	kprintf("netguest: mode=fault result=fail error=still-running\n");
	return 1;
}
