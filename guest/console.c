/* console.c: output on COM1, a 16550 UART (National Semiconductor PC16550D
 * datasheet: THR at +0, FCR at +2, LCR at +3, LSR at +5 with THRE = bit 5).
 *
 * Every port access is an exit, so output is gathered into a line buffer and
 * sent in bursts: one LSR read until THRE (transmit FIFO empty), then up to
 * 16 bytes into THR with no further polling. */
#include "netguest.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_FCR 2
#define UART_LCR 3
#define UART_LSR 5
#define FCR_ENABLE_CLEAR 0x07 /* FIFO on, both FIFOs cleared */
#define LCR_8N1 0x03
#define LSR_THRE 0x20
#define UART_FIFO_BYTES 16
#define THRE_POLL_MAX 100000 /* ~0.8 s of exits: a stuck UART must not hang us */

static char line[256];
static unsigned line_len;

void console_init(void)
{
	line_len = 0;
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
}

void console_flush(void)
{
	unsigned at = 0;

	while (at < line_len) {
		unsigned burst = line_len - at;
		for (unsigned i = 0; i < THRE_POLL_MAX; i++)
			if (inb(COM1 + UART_LSR) & LSR_THRE)
				break;
		if (burst > UART_FIFO_BYTES)
			burst = UART_FIFO_BYTES;
		for (unsigned i = 0; i < burst; i++)
			outb(COM1 + UART_THR, (uint8_t)line[at + i]);
		at += burst;
	}
	line_len = 0;
}

static void put(char ch)
{
	if (line_len == sizeof(line))
		console_flush();
	line[line_len++] = ch;
	if (ch == '\n')
		console_flush();
}

static void put_str(const char *s)
{
	while (*s)
		put(*s++);
}

static void put_num(uint64_t v, unsigned base, unsigned width, char pad, bool negative)
{
	char digits[24];
	unsigned n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (negative)
		digits[n++] = '-';
	while (width > n) {
		put(pad);
		width--;
	}
	while (n)
		put(digits[--n]);
}

void kvprintf(const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		unsigned width = 0;
		char pad = ' ';
		bool is_long = false;

		if (*fmt != '%') {
			put(*fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (unsigned)(*fmt++ - '0');
		if (*fmt == 'l') {
			is_long = true;
			fmt++;
		}
		switch (*fmt) {
		case 's': {
			const char *s = va_arg(ap, const char *);
			put_str(s ? s : "(null)");
			break;
		}
		case 'c':
			put((char)va_arg(ap, int));
			break;
		case 'd': {
			int64_t v = is_long ? va_arg(ap, long) : va_arg(ap, int);
			uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
			put_num(mag, 10, width, pad, v < 0);
			break;
		}
		case 'u':
		case 'x': {
			uint64_t v = is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
			put_num(v, *fmt == 'u' ? 10 : 16, width, pad, false);
			break;
		}
		case '%':
			put('%');
			break;
		case '\0':
			return;
		default:
			put('%');
			put(*fmt);
			break;
		}
	}
}

void kprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}
