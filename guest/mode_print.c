/* mode_print.c: "print count=N": writes N numbered 64-byte lines to the
 * console (N = 0: until the machine's stop request), then powers off. The
 * guest that prints without end, for the host's console-log cap. */
#include "netguest.h"

int mode_print(struct cmdline *c)
{
	uint64_t count = 0, n;

	if (cmdline_get_u64(c, "count", &count) < 0 || cmdline_unused(c)) {
		kprintf("netguest: mode=print result=fail error=bad-value\n");
		return 1;
	}
	pic_init();
	stop_request_listen();
	irq_enable();
	kprintf("netguest: mode=print ready count=%lu\n", count);
	for (n = 0; (!count || n < count) && !stop_requested; n++)
		kprintf("netguest: print line=%010lu ................................\n", n);
	irq_disable();
	kprintf("netguest: mode=print result=stopped lines=%lu\n", n);
	poweroff();
}
