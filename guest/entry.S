/* entry.S: netguest's boot path and CPU tables.
 *
 * PVH entry (Xen's x86 HVM direct boot ABI, xen/include/public/arch-x86/hvm/
 * start_info.h and the XEN_ELFNOTE_PHYS32_ENTRY note of xen/include/public/
 * elfnote.h): 32-bit protected mode, paging off, flat CS/DS, EBX = physical
 * address of struct hvm_start_info.
 *
 * Every instruction run at CPL0 is emulated on this platform (about 250 ns
 * each), so nothing here loops: the page tables, the GDT with its TSS
 * descriptor, the TSS and the IDT are all built by the assembler and the
 * linker (netguest.ld splits the addresses that descriptors store in pieces).
 * The boot path runs about 30 instructions before C.
 */

#define X86_CR0_PG	0x80000000
#define X86_CR4_PAE	0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define SEL_KERNEL_CS	0x10
#define SEL_KERNEL_DS	0x18
#define SEL_USER_DS	0x2b
#define SEL_USER_CS	0x33
#define SEL_TSS		0x40

#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_US		0x004
#define PTE_PS		0x080

#define NR_VECTORS	51	/* exceptions 0-31, PIC IRQs 0x20-0x2f, LAPIC spurious 0x30, MSI 0x31-0x32 */
#define STUB_SIZE	16

/* ---- PVH ELF note (own PT_NOTE segment, 4-byte aligned) ---- */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4			/* namesz: "Xen\0" */
	.long 4			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start32
	.balign 4

/* ---- 32-bit entry: straight into long mode ---- */
	.section .boot32, "ax", @progbits
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	movl %ebx, %esi			/* start_info: kept in esi through the switch */
	lgdtl gdt_ptr
	movl $X86_CR4_PAE, %eax
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $X86_CR0_PG, %eax
	movl %eax, %cr0
	ljmpl $SEL_KERNEL_CS, $start64

/* ---- 64-bit ---- */
	.text
	.code64
start64:
	movl $SEL_KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $kernel_stack_top, %rsp
	movl $SEL_TSS, %eax
	ltr %ax
	lidt idt_ptr
	cld
	movl %esi, %edi			/* zero-extends: upper halves are undefined after the switch */
	call kmain
	movl $1, %edi
	call debug_exit			/* kmain never returns; if it does, fail */

/* ---- traps: one 16-byte stub per vector, at isr_stubs + 16 * vector ----
 * The stub pushes a zero error code where the CPU pushes none, then the
 * vector, and joins trap_common, which saves the general registers as
 * struct trap_frame (netguest.h) and calls trap_dispatch(frame). */
	.section .text.isr, "ax", @progbits
	.balign 4096		/* stubs never cross a 64 KiB boundary: see idt below */
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept NR_VECTORS
	.balign STUB_SIZE
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0		/* no CPU error code for this vector */
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi		/* 16-byte aligned: the CPU aligned the frame, 22 pushes since */
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector, error code */
	iretq

/* ---- CPL3 calls ----
 * long user_enter(long (*fn)(void *), void *arg, uint64_t *user_rsp)
 * Saves the callee-saved registers and the kernel rsp, then iretq's to fn at
 * CPL3 with IF=1. user_rsp[0] holds the return address user_return_trap,
 * whose ud2 brings the CPU back to trap_dispatch at CPL0, which calls
 * user_resume(value): back here, as if user_enter returned value. Any other
 * exception at CPL3 ends the call the same way. */
	.text
	.globl user_enter
user_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, user_saved_rsp
	pushq $SEL_USER_DS	/* ss */
	pushq %rdx		/* rsp */
	pushq $0x202		/* rflags: IF */
	pushq $SEL_USER_CS	/* cs */
	pushq %rdi		/* rip */
	movq %rsi, %rdi
	iretq

/* void user_resume(long value): never returns; called on the trap stack */
	.globl user_resume
user_resume:
	movq %rdi, %rax
	movl $SEL_KERNEL_DS, %edx	/* the trap from CPL3 left SS null */
	movl %edx, %ss
	movl %edx, %ds
	movl %edx, %es
	movq user_saved_rsp, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* Runs at CPL3: the user function's return address */
	.globl user_return_trap
user_return_trap:
	ud2

/* ---- tables ---- */
	.data
	.balign 8
	.globl user_saved_rsp
user_saved_rsp:
	.quad 0

/* Linux's layout: 0x10 kernel CS64, 0x18 kernel DS, 0x2b user DS,
 * 0x33 user CS64, 0x40 TSS. Accessed bits preset so that loading a
 * selector does not write the GDT. */
	.balign 16
gdt:
	.quad 0				/* 0x00 null */
	.quad 0x00cf9b000000ffff	/* 0x08 kernel CS32 */
	.quad 0x00af9b000000ffff	/* 0x10 kernel CS64 */
	.quad 0x00cf93000000ffff	/* 0x18 kernel DS */
	.quad 0x00cffb000000ffff	/* 0x20 user CS32 */
	.quad 0x00cff3000000ffff	/* 0x28 user DS */
	.quad 0x00affb000000ffff	/* 0x30 user CS64 */
	.quad 0				/* 0x38 */
	/* 0x40: 64-bit available TSS, limit 0x67 */
	.word tss_end - tss - 1
	.word tss_base_0_15
	.byte tss_base_16_23
	.byte 0x89
	.byte 0x00
	.byte tss_base_24_31
	.long 0				/* base 63:32: the image is below 4 GiB */
	.long 0
gdt_end:

	.balign 8
gdt_ptr:				/* lgdtl in 32-bit mode: 32-bit base */
	.word gdt_end - gdt - 1
	.long gdt

	.balign 16
	.globl tss
tss:
	.long 0
	.quad trap_stack_top		/* rsp0: traps and interrupts from CPL3 */
	.quad 0, 0			/* rsp1, rsp2 */
	.quad 0				/* reserved */
	.quad 0, 0, 0, 0, 0, 0, 0	/* ist1-7: unused */
	.quad 0
	.word 0
	.word tss_end - tss		/* I/O bitmap base beyond the limit: no bitmap */
tss_end:

/* 64-bit interrupt gates, DPL 0, selector 0x10. The stubs lie in one 4 KiB
 * aligned block, so the handler of vector v has low 16 bits
 * isr_stubs_lo + 16 * v without carry. */
	.balign 16
idt:
	.set vec, 0
	.rept NR_VECTORS
	.word isr_stubs_lo + STUB_SIZE * vec
	.word SEL_KERNEL_CS
	.byte 0
	.byte 0x8e
	.word isr_stubs_hi
	.long 0
	.long 0
	.set vec, vec + 1
	.endr
idt_end:

	.balign 8
	.word 0, 0, 0			/* pad: idt_ptr's base lands 8-byte aligned */
idt_ptr:
	.word idt_end - idt - 1
	.quad idt

/* Identity map of the first 4 GiB with 2 MiB pages, all user-accessible
 * (CPL3 runs the bulk loops and reads the same buffers). */
	.section .data.pagetables, "aw", @progbits
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + (PTE_P | PTE_RW | PTE_US)
	.fill 511, 8, 0
pdpt:
	.quad pd + 0 * 4096 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 1 * 4096 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 2 * 4096 + (PTE_P | PTE_RW | PTE_US)
	.quad pd + 3 * 4096 + (PTE_P | PTE_RW | PTE_US)
	.fill 508, 8, 0
pd:
	.set page, 0
	.rept 4 * 512
	.quad (page << 21) | (PTE_P | PTE_RW | PTE_US | PTE_PS)
	.set page, page + 1
	.endr

/* ---- stacks (zeroed RAM at boot; contents never assumed) ---- */
	.bss
	.balign 16
kernel_stack:
	.skip 16384
	.globl kernel_stack_top
kernel_stack_top:
	.skip 16			/* guard between the stacks */
trap_stack:
	.skip 8192
	.globl trap_stack_top
trap_stack_top:

	.section .note.GNU-stack, "", @progbits
