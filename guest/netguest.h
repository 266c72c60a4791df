/* netguest.h: the bundled freestanding test guest's one header.
 *
 * Cost model (kvm_pvm, a KVM without hardware virtualization, where it was
 * first written; cheaper everywhere else): CPL0 instructions are emulated
 * at ~250 ns each (every rep iteration counts), every port access is an exit
 * of ~8 us, CPL3 runs natively. So: device I/O at CPL0, straight-line and
 * short; loops over buffers at CPL3 through user_call(). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NORETURN __attribute__((noreturn))

/* ---- PVH start of day (xen/include/public/arch-x86/hvm/start_info.h) ---- */
#define PVH_START_MAGIC 0x336ec578u
#define PVH_MEMMAP_RAM 1u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

extern const struct hvm_start_info *start_info;
extern uint64_t boot_tsc; /* rdtsc on entry to C */

/* ---- ports ---- */
#define PORT_DEBUG_EXIT 0xf4   /* QEMU isa-debug-exit: outl(status) */
#define PORT_ACPI_PM1A 0x604   /* our monitor: outw(0x2000) powers off */
#define ACPI_PM1_SLP_EN_S5 0x2000

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
/* Waits for an interrupt with no lost-wakeup window (sti shadows hlt). */
static inline void irq_wait(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }

/* ---- console.c: COM1 16550 and line output ---- */
void console_init(void);
/* printf subset: %s %c %d %u %x %ld %lu %lx %%, with optional 0-pad width
 * for x/u/d (%08x). Output is buffered and flushed at each '\n'. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
void console_flush(void);

/* ---- power.c: leaving the VM ---- */
void debug_exit(uint32_t status) NORETURN;
void poweroff(void) NORETURN; /* 0x604, then debug-exit 0, then hlt */

/* ---- cpu.c: traps, interrupts, CPL3 calls ---- */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14
#define VEC_IRQ_BASE 0x20
#define VEC_LAPIC_SPURIOUS 0x30
#define VEC_MSI_BASE 0x31 /* MSI/MSI-X vectors, through the local APIC */
#define VEC_MSI_COUNT 2   /* 0x31-0x32: the last IDT entries (entry.S NR_VECTORS) */

typedef void (*irq_handler_fn)(unsigned irq);

/* Remaps the 8259 pair to 0x20-0x2f, all masked, and routes it to the CPU
 * through the local APIC's LINT0 (virtual wire) when the APIC is on. */
void pic_init(void);
void pic_unmask(unsigned irq);
void pic_mask(unsigned irq);
void irq_set_handler(unsigned irq, irq_handler_fn fn);
/* The MSI address and data that raise vector VEC_MSI_BASE + idx on this
 * CPU (fixed delivery, edge); false when the local APIC is off (after
 * pic_init, which looks). The handler gets idx; the EOI is cpu.c's. */
bool msi_message(unsigned idx, uint32_t *addr, uint32_t *data);
void msi_set_handler(unsigned idx, irq_handler_fn fn);
/* Sends vector VEC_MSI_BASE + idx to this CPU through the local APIC's ICR
 * (self shorthand); false without a local APIC. */
bool lapic_self_ipi(unsigned idx);

/* How a CPL3 call ended: vector < 0 when fn returned `value`; otherwise the
 * exception that stopped it, with its error code, rip and (for #PF) cr2. */
struct user_result {
	long value;
	int vector;
	uint64_t error_code, rip, cr2;
};
/* Runs fn(arg) at CPL3 with interrupts enabled, on a 64 KiB user stack.
 * Returns when fn returns or faults. Not reentrant. */
struct user_result user_call(long (*fn)(void *), void *arg);

/* ---- pit.c: 8254 channel 0 ---- */
#define PIT_HZ 1193182u
void pit_start_periodic(uint16_t count); /* mode 2, IRQ0 every count ticks */
void pit_stop(void);
#define TICK_HZ 100u
extern volatile uint64_t ticks;
void tick_start(void); /* after pic_init(): IRQ0 counts ticks at TICK_HZ */
void tick_stop(void);

/* ---- pci.c: configuration mechanism #1 ---- */
struct pci_scan {
	unsigned functions;  /* present functions on bus 0 */
	unsigned bad;        /* functions whose config space read back inconsistently */
};
uint32_t pci_cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void pci_cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
void pci_cfg_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v);
/* The first function on bus 0 with this vendor:device; its slot in *dev.
 * Returns false when there is none. */
bool pci_find(uint16_t vendor, uint16_t device, unsigned *dev);
/* Scans bus 0, printing one line per function. */
void pci_scan_bus0(struct pci_scan *out);

/* ---- pcnet.c: the PCnet driver (pcnet32's register sequence) ---- */
#define NET_RX_RING_BITS 5
#define NET_TX_RING_BITS 5
#define NET_RX_RING (1u << NET_RX_RING_BITS)
#define NET_TX_RING (1u << NET_TX_RING_BITS)
#define NET_BUF_SIZE 1536

struct net_stats {
	uint64_t tx_frames, tx_bytes, tx_errors;
	uint64_t rx_frames, rx_bytes, rx_errors;
	uint64_t irqs;
	uint64_t polled;      /* waits that found their completion after a tick, not an IRQ */
	uint64_t io_ops;      /* port accesses to the NIC since open */
	uint64_t io_ops_open; /* those of the open sequence */
};
extern struct net_stats net_stats;
extern uint8_t net_mac[6];
extern unsigned net_irq;

/* Called in the interrupt handler (CPL0, IF=0) for each frame received. */
typedef void (*net_rx_fn)(const uint8_t *frame, unsigned len);
/* Finds the NIC on bus 0, opens it as pcnet32 does and unmasks its IRQ.
 * Prints a result=fail line and returns false on failure. */
bool net_open(net_rx_fn fn);
void net_close(void);
/* Transmit: while net_tx_free(), fill net_tx_buf(net_tx_slot()) and call
 * net_tx_send(len). net_tx_pending() counts frames not yet completed. */
bool net_tx_free(void);
unsigned net_tx_slot(void);
unsigned net_tx_slots(void); /* how many distinct buffers net_tx_buf() hands out */
uint8_t *net_tx_buf(unsigned slot);
void net_tx_send(unsigned len);
unsigned net_tx_pending(void);
void net_tx_reclaim(void);
void net_dump(void); /* one line of ring and register state, for a failure */
void pcnet_write_rap(unsigned n); /* one RAP write (exitcost) */

/* ---- virtio_net.c: the virtio-net driver (modern PCI), same interface ---- */
/* How the device interrupts (intr=): MSI-X when it has the capability and
 * takes the vectors, else INTx (auto); or insist on one. Set before open. */
enum net_intr { NET_INTR_AUTO, NET_INTR_MSIX, NET_INTR_INTX };
extern enum net_intr vnet_intr;
/* TSO transmit (tso=1): negotiates CSUM and HOST_TSO4 (open fails without
 * them) and takes frames of up to NET_TSO_FRAME_MAX bytes, each Ethernet +
 * IPv4 + TCP without options (NET_TSO_HDRS bytes) with the TCP checksum
 * holding the pseudo-header sum (Linux's CHECKSUM_PARTIAL); the device
 * computes the checksum and cuts VNET_TSO_MSS-byte segments. Set before open. */
#define NET_TSO_FRAME_MAX (14 + 65535) /* the IPv4 total length limit */
#define NET_TSO_HDRS 54
#define VNET_TSO_MSS 1448
#define VNET_TSO_BUFS 8
extern bool vnet_tso;
bool vnet_open(net_rx_fn fn);
void vnet_close(void);
bool vnet_tx_free(void);
unsigned vnet_tx_slot(void);
unsigned vnet_tx_slots(void);
uint8_t *vnet_tx_buf(unsigned slot);
void vnet_tx_send(unsigned len);
unsigned vnet_tx_pending(void);
void vnet_tx_reclaim(void);
void vnet_dump(void);
void vnet_notify_tx(void); /* one TX queue notify, whatever the ring holds (exitcost) */

/* ---- cmdline.c: "mode key=value key=value ..." ---- */
#define CMDLINE_MAX 1024
#define CMDLINE_MAX_ARGS 32

struct cmdline_arg {
	const char *key;
	const char *value; /* "" for a bare word */
	bool used;         /* looked up by the mode */
};
struct cmdline {
	const char *mode; /* "" when the command line is empty */
	unsigned nargs;
	struct cmdline_arg args[CMDLINE_MAX_ARGS];
	bool truncated; /* too long or too many words: the rest was dropped */
};

/* Splits s (NUL-terminated, at most CMDLINE_MAX - 1 bytes kept) into a copy
 * owned by c. Never fails; see c->truncated. */
void cmdline_parse(struct cmdline *c, const char *s);
/* The value of key, or NULL. Marks the argument used. */
const char *cmdline_get(struct cmdline *c, const char *key);
/* key as an unsigned number (decimal or 0x hex). Returns 0 and sets *out
 * (left alone when absent); -1 when the value is not a number. */
int cmdline_get_u64(struct cmdline *c, const char *key, uint64_t *out);
/* The first argument the mode never looked up, or NULL. */
const struct cmdline_arg *cmdline_unused(const struct cmdline *c);

/* ---- lib.c ---- */
size_t kstrlen(const char *s);
int kstrcmp(const char *a, const char *b);
/* Parses all of s as decimal or 0x-hex. Returns 0, or -1 on junk/overflow. */
int parse_u64(const char *s, uint64_t *out);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

/* ---- modes (mode_*.c) ---- */
struct mode {
	const char *name;
	/* Runs the mode; returns the debug-exit status, or does not return. */
	int (*run)(struct cmdline *c);
};
int mode_selftest(struct cmdline *c);
int mode_idle(struct cmdline *c);
int mode_tx(struct cmdline *c);
int mode_rx(struct cmdline *c);
int mode_echo(struct cmdline *c);
int mode_exitcost(struct cmdline *c);
int mode_print(struct cmdline *c);

/* ---- mode_idle.c: the machine's stop request (Ctrl-Alt-Del on the i8042) ---- */
/* Listens for it on IRQ1 (after pic_init); stop_requested turns true. */
void stop_request_listen(void);
extern volatile bool stop_requested;
int mode_fault(struct cmdline *c);

/* ---- image layout (netguest.ld) ---- */
extern char __image_start[], __image_end[];
