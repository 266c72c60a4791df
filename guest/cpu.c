/* cpu.c: traps, PIC and MSI interrupts and CPL3 calls.
 *
 * Intel 8259A datasheet (ICW1-4, OCW1-3); the IDT and the stubs are in
 * entry.S. Traps and interrupts from CPL3 arrive on the TSS rsp0 stack
 * (trap_stack), those at CPL0 on the current stack. */
#include "netguest.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define ICW1_INIT_ICW4 0x11 /* edge triggered, cascade, ICW4 follows */
#define ICW4_8086 0x01
#define OCW2_EOI 0x20       /* non-specific EOI */
#define OCW3_READ_ISR 0x0b
#define PIC_CASCADE_IRQ 2

/* Intel SDM vol. 3A, 11.4 (APIC base MSR), 11.5.1 (LVT), 11.9 (SVR) */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_X2APIC (1u << 10)
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_ADDR_MASK 0xfffff000u
#define APIC_SVR 0xf0
#define APIC_SVR_ENABLE 0x100
#define APIC_LVT0 0x350
#define APIC_LVT_EXTINT 0x700 /* delivery mode ExtINT, edge, unmasked */
#define MSR_X2APIC_SVR 0x80f
#define MSR_X2APIC_LVT0 0x835
#define APIC_ID 0x20 /* xAPIC: ID in bits 31:24 */
#define APIC_EOI 0xb0
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_ICR 0x830
#define APIC_ICR_LOW 0x300
#define APIC_ICR_SELF (1u << 18) /* destination shorthand: self (SDM 11.6.1) */
/* SDM 11.11.1/11.11.2: MSI address (physical destination in bits 19:12)
 * and data (fixed delivery, edge, level bit set as Linux writes it). */
#define MSI_ADDR_BASE 0xfee00000u
#define MSI_DATA_LEVEL_ASSERT 0x4000

/* entry.S */
long user_enter(long (*fn)(void *), void *arg, uint64_t *user_rsp);
void user_resume(long value) NORETURN;
extern char user_return_trap[];

void trap_dispatch(struct trap_frame *f);

static irq_handler_fn irq_handlers[16];
static irq_handler_fn msi_handlers[VEC_MSI_COUNT];
static volatile uint32_t *lapic_mmio; /* xAPIC page, or NULL */
static bool lapic_x2, lapic_on;
static uint8_t pic_mask_bits[2];
static struct user_result user_exit_info;
static uint64_t user_stack[8192] __attribute__((aligned(16))); /* 64 KiB */

static const char *const exception_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP", "PF", "15",
	"MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27", "HV", "VC", "SX", "31",
};

static uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* A trap at CPL0 is a bug in netguest: say where, and fail the run. */
static void NORETURN kernel_trap(const struct trap_frame *f)
{
	kprintf("\nnetguest: result=fail error=exception vector=%lu name=%s error_code=0x%lx "
		"rip=0x%lx rsp=0x%lx cr2=0x%lx\n",
		f->vector, exception_names[f->vector & 31], f->error_code, f->rip, f->rsp, read_cr2());
	debug_exit(1);
}

/* Any trap at CPL3 ends the current user_call(); the ud2 at
 * user_return_trap is the user function returning. */
static void NORETURN user_trap(const struct trap_frame *f)
{
	if (f->vector == VEC_UD && f->rip == (uint64_t)user_return_trap) {
		user_exit_info = (struct user_result){ .value = (long)f->rax, .vector = -1 };
	} else {
		user_exit_info = (struct user_result){
			.vector = (int)f->vector,
			.error_code = f->error_code,
			.rip = f->rip,
			.cr2 = f->vector == VEC_PF ? read_cr2() : 0,
		};
	}
	user_resume(user_exit_info.value);
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/* With the local APIC enabled, the 8259's INTR reaches the CPU only through
 * LINT0 programmed as ExtINT. KVM resets the boot CPU that way, QEMU microvm
 * leaves LINT0 masked: set it here. LVT writes are ignored (kept masked)
 * while the APIC is software-disabled, hence SVR first. */
static void lapic_virtual_wire(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	lapic_on = base & APIC_BASE_ENABLE;
	lapic_x2 = base & APIC_BASE_X2APIC;
	lapic_mmio = NULL;
	if (!lapic_on)
		return; /* APIC off: the 8259 drives the CPU's INTR directly */
	if (lapic_x2) {
		wrmsr(MSR_X2APIC_SVR, APIC_SVR_ENABLE | VEC_LAPIC_SPURIOUS);
		wrmsr(MSR_X2APIC_LVT0, APIC_LVT_EXTINT);
	} else {
		volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)(base & APIC_BASE_ADDR_MASK);
		apic[APIC_SVR / 4] = APIC_SVR_ENABLE | VEC_LAPIC_SPURIOUS;
		apic[APIC_LVT0 / 4] = APIC_LVT_EXTINT;
		lapic_mmio = apic;
	}
}

bool msi_message(unsigned idx, uint32_t *addr, uint32_t *data)
{
	uint32_t id;

	if (!lapic_on || idx >= VEC_MSI_COUNT)
		return false; /* MSIs land on the local APIC: without it, none */
	id = lapic_x2 ? (uint32_t)rdmsr(MSR_X2APIC_ID) : lapic_mmio[APIC_ID / 4] >> 24;
	if (id > 0xff)
		return false; /* needs interrupt remapping (x2APIC ID beyond 8 bits) */
	*addr = MSI_ADDR_BASE | id << 12;
	*data = MSI_DATA_LEVEL_ASSERT | (VEC_MSI_BASE + idx);
	return true;
}

bool lapic_self_ipi(unsigned idx)
{
	uint32_t icr = APIC_ICR_SELF | (VEC_MSI_BASE + idx);

	if (!lapic_on || idx >= VEC_MSI_COUNT)
		return false;
	if (lapic_x2)
		wrmsr(MSR_X2APIC_ICR, icr);
	else
		lapic_mmio[APIC_ICR_LOW / 4] = icr;
	return true;
}

void msi_set_handler(unsigned idx, irq_handler_fn fn)
{
	if (idx < VEC_MSI_COUNT)
		msi_handlers[idx] = fn;
}

/* An MSI is the local APIC's: one EOI write there (an MSR in x2APIC mode,
 * no exit to the VMM with an in-kernel APIC), nothing at the device. */
static void msi_dispatch(unsigned idx)
{
	if (msi_handlers[idx])
		msi_handlers[idx](idx);
	if (lapic_x2)
		wrmsr(MSR_X2APIC_EOI, 0);
	else
		lapic_mmio[APIC_EOI / 4] = 0;
}

static void pic_write_masks(void)
{
	outb(PIC1_DATA, pic_mask_bits[0]);
	outb(PIC2_DATA, pic_mask_bits[1]);
}

void pic_init(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(irq_handlers); i++)
		irq_handlers[i] = NULL;
	for (unsigned i = 0; i < ARRAY_SIZE(msi_handlers); i++)
		msi_handlers[i] = NULL;
	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, VEC_IRQ_BASE);     /* ICW2: vectors 0x20-0x27 */
	outb(PIC2_DATA, VEC_IRQ_BASE + 8); /* 0x28-0x2f */
	outb(PIC1_DATA, 1 << PIC_CASCADE_IRQ); /* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, PIC_CASCADE_IRQ);
	outb(PIC1_DATA, ICW4_8086);
	outb(PIC2_DATA, ICW4_8086);
	pic_mask_bits[0] = 0xff;
	pic_mask_bits[1] = 0xff;
	pic_write_masks();
	lapic_virtual_wire();
}

void pic_unmask(unsigned irq)
{
	if (irq >= 8) {
		pic_mask_bits[1] &= (uint8_t)~(1u << (irq - 8));
		pic_mask_bits[0] &= (uint8_t)~(1u << PIC_CASCADE_IRQ);
		pic_write_masks();
	} else {
		pic_mask_bits[0] &= (uint8_t)~(1u << irq);
		outb(PIC1_DATA, pic_mask_bits[0]);
	}
}

void pic_mask(unsigned irq)
{
	if (irq >= 8) {
		pic_mask_bits[1] |= (uint8_t)(1u << (irq - 8));
		outb(PIC2_DATA, pic_mask_bits[1]);
	} else {
		pic_mask_bits[0] |= (uint8_t)(1u << irq);
		outb(PIC1_DATA, pic_mask_bits[0]);
	}
}

void irq_set_handler(unsigned irq, irq_handler_fn fn)
{
	if (irq < ARRAY_SIZE(irq_handlers))
		irq_handlers[irq] = fn;
}

static void irq_dispatch(unsigned irq)
{
	/* IRQ7/IRQ15 with the ISR bit clear are spurious: no EOI to that PIC. */
	if (irq == 7 || irq == 15) {
		uint16_t cmd = irq == 7 ? PIC1_CMD : PIC2_CMD;
		outb(cmd, OCW3_READ_ISR);
		if (!(inb(cmd) & 0x80)) {
			if (irq == 15)
				outb(PIC1_CMD, OCW2_EOI); /* the master did see IRQ2 */
			return;
		}
	}
	if (irq_handlers[irq])
		irq_handlers[irq](irq);
	if (irq >= 8)
		outb(PIC2_CMD, OCW2_EOI);
	outb(PIC1_CMD, OCW2_EOI);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector >= VEC_IRQ_BASE && f->vector < VEC_IRQ_BASE + 16) {
		irq_dispatch((unsigned)(f->vector - VEC_IRQ_BASE));
		return;
	}
	if (f->vector >= VEC_MSI_BASE && f->vector < VEC_MSI_BASE + VEC_MSI_COUNT) {
		msi_dispatch((unsigned)(f->vector - VEC_MSI_BASE));
		return;
	}
	if (f->vector == VEC_LAPIC_SPURIOUS)
		return; /* no EOI for a spurious APIC interrupt */
	if ((f->cs & 3) == 3)
		user_trap(f);
	kernel_trap(f);
}

struct user_result user_call(long (*fn)(void *), void *arg)
{
	uint64_t *sp = &user_stack[ARRAY_SIZE(user_stack)];

	*--sp = (uint64_t)user_return_trap; /* fn's return address: ud2 */
	user_enter(fn, arg, sp);
	return user_exit_info;
}
