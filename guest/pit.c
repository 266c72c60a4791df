/* pit.c: channel 0 of the Intel 8254 PIT (82C54 datasheet: control word at
 * 0x43 = SC1:0 RW1:0 M2:0 BCD; counter 0 at 0x40), wired to IRQ0. */
#include "netguest.h"

#define PIT_CH0 0x40
#define PIT_CTRL 0x43
#define PIT_CH0_LOHI_MODE2 0x34 /* counter 0, LSB then MSB, rate generator */
#define PIT_CH0_LOHI_MODE0 0x30 /* counter 0, LSB then MSB, one-shot */

void pit_start_periodic(uint16_t count)
{
	outb(PIT_CTRL, PIT_CH0_LOHI_MODE2);
	outb(PIT_CH0, (uint8_t)count);
	outb(PIT_CH0, (uint8_t)(count >> 8));
}

/* Mode 0 with the longest count: one last edge after 55 ms, then silence
 * (a masked IRQ0 may be left pending in the PIC's IRR). */
void pit_stop(void)
{
	outb(PIT_CTRL, PIT_CH0_LOHI_MODE0);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
}
