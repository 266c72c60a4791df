/* mode_exitcost.c: "exitcost [n=N] [nic=pcnet|virtio]": what one exit
 * costs on the KVM in use, kind by kind, the number every other figure
 * depends on (the paper's 7.45 us world switch).
 *
 * Each kind repeats one guest instruction N times (default 5000) between two
 * TSC reads, at CPL0 with interrupts off (the IPI kind aside). The TSC's rate
 * is measured first against the PIT (TICK_HZ ticks for CALIBRATE_TICKS), so
 * each kind prints in nanoseconds:
 *   netguest: exitcost kind=KIND n=N cycles=C ns_per_op=X
 * then "netguest: mode=exitcost result=pass tsc_khz=K kinds=M".
 *
 * Kinds, always:
 *   cpuid      CPUID: an exit KVM handles in the kernel (the floor)
 *   pio_user   OUT to COM1's scratch register: an exit to the monitor
 *   mmio_user  a read of an MMIO address no device claims: an exit to the monitor
 *   irq        a self-IPI through the local APIC's ICR: KVM injects the
 *              interrupt; its handler's EOI included (per IPI, round trip)
 * with nic=pcnet (the NIC opened as pcnet32 does):
 *   pcnet_rap  a RAP write: a coalesced PIO write with opt=coalesce (no exit
 *              to the monitor), an exit to the monitor with opt=none
 * with nic=virtio:
 *   vnet_notify a TX queue notify: an ioeventfd with opt=irqfd (the I/O
 *              thread is woken, the vCPU is not held), an MMIO exit to the
 *              monitor with opt=none
 */
#include "netguest.h"

#define COM1_SCR 0x3ff
/* In the PCI MMIO window (0xe0000000-0xfec00000) far above any BAR the
 * monitor assigns, and below the IOAPIC: nothing decodes it. */
#define UNCLAIMED_MMIO 0xfeb00000ul
#define CALIBRATE_TICKS 20
#define IPI_IDX 0
#define IPI_SPINS 100000000ul

static volatile uint64_t ipis;

static void ipi_handler(unsigned idx)
{
	(void)idx;
	ipis++;
}

/* TSC cycles per second, from CALIBRATE_TICKS PIT ticks; 0 when the PIT
 * does not tick. */
static uint64_t tsc_hz(void)
{
	uint64_t t0, t1, start;

	irq_enable();
	start = ticks;
	for (unsigned long spins = 0; ticks == start; spins++)
		if (spins > IPI_SPINS)
			return 0;
	t0 = rdtsc();
	start = ticks;
	while (ticks - start < CALIBRATE_TICKS)
		irq_wait();
	t1 = rdtsc();
	irq_disable();
	return (t1 - t0) * TICK_HZ / CALIBRATE_TICKS;
}

static void report(const char *kind, uint64_t n, uint64_t cycles, uint64_t hz)
{
	uint64_t ps = cycles * 1000 / n * 1000000 / (hz / 1000); /* picoseconds per op */

	kprintf("netguest: exitcost kind=%s n=%lu cycles=%lu ns_per_op=%lu.%03lu\n", kind, n,
		cycles, ps / 1000, ps % 1000);
}

static void cpuid_once(void)
{
	uint32_t a = 0, b, c = 0, d;
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

int mode_exitcost(struct cmdline *c)
{
	uint64_t n = 5000, hz, t0;
	const char *nic = cmdline_get(c, "nic");
	const struct cmdline_arg *extra;
	volatile uint32_t *unclaimed = (volatile uint32_t *)UNCLAIMED_MMIO;
	unsigned kinds = 0;
	bool ok = true;

	if (cmdline_get_u64(c, "n", &n) < 0 || n == 0 || n > 10000000 ||
	    (nic && kstrcmp(nic, "pcnet") && kstrcmp(nic, "virtio"))) {
		kprintf("netguest: mode=exitcost result=fail error=bad-args (n=1..10000000, "
			"nic=pcnet|virtio)\n");
		return 1;
	}
	if ((extra = cmdline_unused(c))) {
		kprintf("netguest: mode=exitcost result=fail error=unknown-arg arg=%s\n", extra->key);
		return 1;
	}
	pic_init();
	tick_start();
	if (nic && !(kstrcmp(nic, "pcnet") ? vnet_open(NULL) : net_open(NULL)))
		return 1;
	hz = tsc_hz();
	tick_stop();
	if (hz < 1000000) {
		kprintf("netguest: mode=exitcost result=fail error=no-tsc-rate hz=%lu\n", hz);
		return 1;
	}
	kprintf("netguest: mode=exitcost ready tsc_khz=%lu n=%lu\n", hz / 1000, n);
	console_flush();

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		cpuid_once();
	report("cpuid", n, rdtsc() - t0, hz), kinds++;

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		outb(COM1_SCR, (uint8_t)i);
	report("pio_user", n, rdtsc() - t0, hz), kinds++;

	t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++)
		(void)*unclaimed;
	report("mmio_user", n, rdtsc() - t0, hz), kinds++;

	if (nic && !kstrcmp(nic, "pcnet")) {
		t0 = rdtsc();
		for (uint64_t i = 0; i < n; i++)
			pcnet_write_rap(0);
		report("pcnet_rap", n, rdtsc() - t0, hz), kinds++;
	} else if (nic) {
		t0 = rdtsc();
		for (uint64_t i = 0; i < n; i++)
			vnet_notify_tx();
		report("vnet_notify", n, rdtsc() - t0, hz), kinds++;
	}

	msi_set_handler(IPI_IDX, ipi_handler);
	ipis = 0;
	t0 = rdtsc();
	irq_enable();
	for (uint64_t i = 0; i < n && ok; i++) {
		ok = lapic_self_ipi(IPI_IDX);
		for (unsigned long spins = 0; ok && ipis <= i; spins++)
			ok = spins < IPI_SPINS;
	}
	irq_disable();
	if (!ok) {
		kprintf("netguest: mode=exitcost result=fail error=ipi-lost ipis=%lu\n", ipis);
		return 1;
	}
	report("irq", n, rdtsc() - t0, hz), kinds++;

	kprintf("netguest: mode=exitcost result=pass tsc_khz=%lu kinds=%u\n", hz / 1000, kinds);
	return 0;
}
