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

/* The network modes' clock: IRQ0 at TICK_HZ counts `ticks`. Timeouts are
 * counted in ticks (no assumption about the TSC's rate), and every hlt ends
 * within a tick, so a wait that a lost or late interrupt would leave
 * sleeping polls its condition again. */
volatile uint64_t ticks;

static void tick_irq(unsigned irq)
{
	(void)irq;
	ticks++;
}

void tick_start(void)
{
	ticks = 0;
	irq_set_handler(0, tick_irq);
	pit_start_periodic(PIT_HZ / TICK_HZ);
	pic_unmask(0);
}

void tick_stop(void)
{
	pic_mask(0);
	pit_stop();
	irq_set_handler(0, NULL);
}
