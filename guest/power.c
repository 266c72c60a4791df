/* power.c: ending the VM.
 * debug-exit: QEMU's isa-debug-exit protocol (outl(status, 0xf4)); our monitor
 * exits with status, QEMU with (status << 1) | 1.
 * poweroff: ACPI PM1a control SLP_TYP=S5|SLP_EN as our monitor decodes it at
 * 0x604 (QEMU microvm has no such port: the write goes nowhere). */
#include "netguest.h"

static void NORETURN halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void debug_exit(uint32_t status)
{
	console_flush();
	outl(PORT_DEBUG_EXIT, status);
	halt_forever();
}

void poweroff(void)
{
	console_flush();
	outw(PORT_ACPI_PM1A, ACPI_PM1_SLP_EN_S5);
	debug_exit(0);
}
