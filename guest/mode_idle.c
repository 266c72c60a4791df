/* mode_idle.c: "idle": halt until the machine asks for a graceful stop, then
 * power off.
 *
 * The stop request is Ctrl-Alt-Del on the i8042 keyboard (IRQ1; status at
 * 0x64, bit 0 = output buffer full; data at 0x60), as Firecracker's
 * SendCtrlAltDel sends it in scancode set 2: 14 11 E0 71, then the break
 * codes. The Del make code ends the wait: E0 71 in set 2, or E0 53 should a
 * controller translate to set 1 (no set-2 key is E0 53). */
#include "netguest.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_STATUS_OBF 0x01
#define I8042_DRAIN_MAX 16 /* bytes per interrupt; an absent controller reads 0xff */
#define SC_EXTENDED 0xe0
#define SC2_DELETE 0x71
#define SC1_DELETE 0x53
#define KBD_IRQ 1

volatile bool stop_requested;
static volatile uint32_t kbd_bytes;
static uint8_t kbd_prev;

static void kbd_feed(uint8_t b)
{
	if (kbd_prev == SC_EXTENDED && (b == SC2_DELETE || b == SC1_DELETE))
		stop_requested = true;
	kbd_prev = b;
	kbd_bytes++;
}

static void kbd_drain(void)
{
	for (unsigned i = 0; i < I8042_DRAIN_MAX && (inb(I8042_STATUS) & I8042_STATUS_OBF); i++)
		kbd_feed(inb(I8042_DATA));
}

static void kbd_irq(unsigned irq)
{
	(void)irq;
	kbd_drain();
}

static uint32_t kbd_stale;

void stop_request_listen(void)
{
	stop_requested = false;
	kbd_prev = 0;
	kbd_bytes = 0;
	irq_set_handler(KBD_IRQ, kbd_irq);
	kbd_drain(); /* bytes from before we listened are not a request */
	kbd_stale = kbd_bytes;
	stop_requested = false;
	kbd_prev = 0;
	pic_unmask(KBD_IRQ);
}

int mode_idle(struct cmdline *c)
{
	uint32_t stale, wakeups = 0;

	(void)c;
	pic_init();
	stop_request_listen();
	stale = kbd_stale;

	kprintf("netguest: mode=idle ready\n");
	while (!stop_requested) {
		irq_wait();
		wakeups++;
	}
	pic_mask(KBD_IRQ);
	kprintf("netguest: mode=idle result=stopped wakeups=%u kbd_bytes=%u stale=%u\n", wakeups,
		kbd_bytes - stale, stale);
	poweroff();
}
