/* i8042.c: the PC/AT keyboard controller (Intel 8042 "UPI-41" running IBM's
 * keyboard controller firmware) with an MF-II keyboard behind it, after
 *   - IBM Personal System/2 Hardware Interface Technical Reference (1990),
 *     "Keyboard/Auxiliary Device Controller": status register, command byte,
 *     commands 20-3F (read RAM), 60-7F (write RAM), A7/A8, A9, AA, AB, AD,
 *     AE, D0, D1, D2, D3, D4, F0-FF (pulse output port);
 *   - the same manual, "Keyboard and Auxiliary Device" (101/102-key): the
 *     keyboard commands ED, EE, F0, F2, F3, F4, F5, F6, F7-FD, FE, FF, and
 *     scan code set 2.
 * What is modelled:
 *   - An output buffer (port 0x60) fed from two queues: bytes the controller
 *     itself answers (command responses) go first, then bytes from the
 *     keyboard (command responses, scan codes), which are held while the
 *     keyboard interface is disabled (command byte bit 4, command AD).
 *   - IRQ 1 as an edge (irq_set 1 then 0) each time a byte enters the empty
 *     output buffer with the keyboard interrupt enabled (command byte bit 0),
 *     and when the guest enables that interrupt with a byte already waiting.
 *   - Reset: pulsing output port bit 0 (command FE, or any Fx with bit 0
 *     clear) or writing it 0 with D1 asks the machine for VM_REQ_RESET.
 * What is not:
 *   - The AUX (mouse) port is absent, as on an AT-type controller: AUX data
 *     written with D3/D4 is discarded and A9 reports "clock line stuck high"
 *     (02). Linux's i8042_check_aux then gives up after one 0.5 s timeout on
 *     its loop test; boot Linux with i8042.noaux to skip that.
 *   - Scan code translation (command byte bit 6) is stored but not done, so
 *     the default command byte (05: keyboard interrupt, system flag) leaves it
 *     off and Linux drives the keyboard in set 2 ("i8042.direct"), as with
 *     Firecracker's controller.
 *   - A20 gating (output port bit 1) is stored, not enforced.
 */
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"

/* Status register (read 0x64). */
#define STR_OBF 0x01     /* output buffer full */
#define STR_IBF 0x02     /* input buffer full: never, commands run at once */
#define STR_SYSFLAG 0x04 /* system flag, mirrors command byte bit 2 */
#define STR_CMDDAT 0x08  /* last write was to 0x64 (command) */
#define STR_KEYLOCK 0x10 /* 1 = keyboard not inhibited */

/* Command byte (controller RAM byte 0). */
#define CTR_KBDINT 0x01
#define CTR_AUXINT 0x02
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS 0x10
#define CTR_AUXDIS 0x20
#define CTR_XLATE 0x40
#define CTR_DEFAULT (CTR_KBDINT | CTR_SYSFLAG)

/* Controller commands (write 0x64). */
#define CMD_READ_RAM 0x20 /* 20-3F: read RAM byte n (20: command byte) */
#define CMD_WRITE_RAM 0x60 /* 60-7F: write RAM byte n, data on 0x60 */
#define CMD_AUX_DISABLE 0xA7
#define CMD_AUX_ENABLE 0xA8
#define CMD_AUX_TEST 0xA9
#define CMD_SELF_TEST 0xAA
#define CMD_KBD_TEST 0xAB
#define CMD_KBD_DISABLE 0xAD
#define CMD_KBD_ENABLE 0xAE
#define CMD_READ_OUTP 0xD0
#define CMD_WRITE_OUTP 0xD1
#define CMD_WRITE_KBD_OBUF 0xD2
#define CMD_WRITE_AUX_OBUF 0xD3
#define CMD_WRITE_AUX 0xD4
#define CMD_PULSE 0xF0 /* F0-FF: pulse output port bits 0-3 that are 0 in the command */

#define SELF_TEST_OK 0x55
#define KBD_TEST_OK 0x00
#define AUX_TEST_CLOCK_HIGH 0x02

#define OUTP_RESET 0x01 /* 0 holds the CPU in reset */
#define OUTP_A20 0x02
#define OUTP_DEFAULT (OUTP_RESET | OUTP_A20)

/* Keyboard commands (write 0x60) and replies. */
#define KBD_CMD_SET_LEDS 0xED
#define KBD_CMD_ECHO 0xEE
#define KBD_CMD_SCANSET 0xF0
#define KBD_CMD_GET_ID 0xF2
#define KBD_CMD_SET_REP 0xF3
#define KBD_CMD_ENABLE 0xF4
#define KBD_CMD_RESET_DIS 0xF5
#define KBD_CMD_RESET_DEF 0xF6
#define KBD_CMD_RESEND 0xFE
#define KBD_CMD_RESET 0xFF
#define KBD_REPLY_ACK 0xFA
#define KBD_REPLY_BAT_OK 0xAA
#define KBD_ID_1 0xAB
#define KBD_ID_2 0x83

#define CTRL_Q_SIZE 4
#define KBD_Q_SIZE 16

struct byteq {
	uint8_t buf[KBD_Q_SIZE];
	unsigned head, count, size;
};

struct i8042 {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct vm_ctl vm;
	struct iobus *bus;

	uint8_t ram[32]; /* ram[0] is the command byte */
	uint8_t outp;
	uint8_t pending_cmd; /* controller command waiting for its data byte, 0 if none */
	bool last_write_cmd; /* STR_CMDDAT */

	uint8_t obuf; /* output buffer (port 0x60) */
	bool obf;
	struct byteq ctrl_q, kbd_q;

	/* The keyboard. */
	bool scanning;
	uint8_t kbd_arg_cmd; /* keyboard command waiting for its argument, 0 if none */
	uint8_t kbd_last;    /* last byte sent, for KBD_CMD_RESEND */
	uint8_t leds, scanset, typematic;
};

static void q_init(struct byteq *q, unsigned size)
{
	memset(q, 0, sizeof(*q));
	q->size = size;
}

static bool q_push(struct byteq *q, uint8_t b)
{
	if (q->count >= q->size)
		return false;
	q->buf[(q->head + q->count) % q->size] = b;
	q->count++;
	return true;
}

static uint8_t q_pop(struct byteq *q)
{
	uint8_t b = q->buf[q->head];

	q->head = (q->head + 1) % q->size;
	q->count--;
	return b;
}

static uint8_t *ctr(struct i8042 *k)
{
	return &k->ram[0];
}

static void irq_edge(struct i8042 *k)
{
	irq_set(&k->irq, 1);
	irq_set(&k->irq, 0);
}

/* Moves the next byte into an empty output buffer; IRQ 1 if one arrived. */
static void refill(struct i8042 *k)
{
	if (k->obf)
		return;
	if (k->ctrl_q.count)
		k->obuf = q_pop(&k->ctrl_q);
	else if (k->kbd_q.count && !(*ctr(k) & CTR_KBDDIS))
		k->obuf = q_pop(&k->kbd_q);
	else
		return;
	k->obf = true;
	if (*ctr(k) & CTR_KBDINT)
		irq_edge(k);
}

static void ctrl_reply(struct i8042 *k, uint8_t b)
{
	if (!q_push(&k->ctrl_q, b))
		log_debug("i8042: controller reply %#04x dropped (guest not reading 0x60)", b);
}

static void kbd_reply(struct i8042 *k, uint8_t b)
{
	k->kbd_last = b;
	if (!q_push(&k->kbd_q, b))
		log_debug("i8042: keyboard byte %#04x dropped (buffer full)", b);
}

static void write_ctr(struct i8042 *k, uint8_t v)
{
	bool int_enabled = !(*ctr(k) & CTR_KBDINT) && (v & CTR_KBDINT);

	*ctr(k) = v;
	/* The controller's IRQ output is OBF gated by the enable bit: enabling
	 * it with a byte waiting is a rising edge. */
	if (int_enabled && k->obf)
		irq_edge(k);
}

static void write_outp(struct i8042 *k, uint8_t v)
{
	k->outp = v;
	if (!(v & OUTP_RESET)) {
		log_info("i8042: guest asserted the reset line (output port %#04x)", v);
		vm_request(&k->vm, VM_REQ_RESET, 0);
	}
}

static void kbd_defaults(struct i8042 *k)
{
	k->leds = 0;
	k->scanset = 2;
	k->typematic = 0x2B; /* 10.9 cps, 500 ms */
}

/* A byte for the keyboard (port 0x60 with no controller command pending). */
static void kbd_write(struct i8042 *k, uint8_t b)
{
	uint8_t cmd = k->kbd_arg_cmd;

	/* A command byte in place of an argument starts a new command. */
	if (cmd && b < KBD_CMD_SET_LEDS) {
		k->kbd_arg_cmd = 0;
		if (cmd == KBD_CMD_SET_LEDS) {
			k->leds = b & 7;
		} else if (cmd == KBD_CMD_SET_REP) {
			k->typematic = b & 0x7F;
		} else if (cmd == KBD_CMD_SCANSET && b) {
			k->scanset = b; /* recorded; we only ever send set 2 */
		}
		kbd_reply(k, KBD_REPLY_ACK);
		if (cmd == KBD_CMD_SCANSET && !b)
			kbd_reply(k, k->scanset);
		return;
	}
	k->kbd_arg_cmd = 0;
	if (b == KBD_CMD_RESEND) {
		kbd_reply(k, k->kbd_last);
		return;
	}
	/* Any other command clears the keyboard's own buffer. */
	q_init(&k->kbd_q, KBD_Q_SIZE);
	switch (b) {
	case KBD_CMD_SET_LEDS:
	case KBD_CMD_SET_REP:
	case KBD_CMD_SCANSET:
		k->kbd_arg_cmd = b;
		kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_ECHO:
		kbd_reply(k, KBD_CMD_ECHO);
		break;
	case KBD_CMD_GET_ID:
		kbd_reply(k, KBD_REPLY_ACK);
		kbd_reply(k, KBD_ID_1);
		kbd_reply(k, KBD_ID_2);
		break;
	case KBD_CMD_ENABLE:
		k->scanning = true;
		kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET_DIS:
		kbd_defaults(k);
		k->scanning = false;
		kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET_DEF:
		kbd_defaults(k);
		kbd_reply(k, KBD_REPLY_ACK);
		break;
	case KBD_CMD_RESET:
		kbd_defaults(k);
		k->scanning = true;
		kbd_reply(k, KBD_REPLY_ACK);
		kbd_reply(k, KBD_REPLY_BAT_OK);
		break;
	default: /* F7-FD (set 3 key types) and anything else: acknowledged */
		kbd_reply(k, KBD_REPLY_ACK);
		break;
	}
}

static void data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->last_write_cmd = false;
	k->pending_cmd = 0;
	if (!cmd) {
		kbd_write(k, v);
	} else if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + ARRAY_SIZE(k->ram)) {
		if (cmd == CMD_WRITE_RAM)
			write_ctr(k, v);
		else
			k->ram[cmd - CMD_WRITE_RAM] = v;
	} else if (cmd == CMD_WRITE_OUTP) {
		write_outp(k, v);
	} else if (cmd == CMD_WRITE_KBD_OBUF) {
		ctrl_reply(k, v); /* appears as if the keyboard had sent it */
	}
	/* CMD_WRITE_AUX_OBUF, CMD_WRITE_AUX: no AUX port; discarded. */
}

static void cmd_write(struct i8042 *k, uint8_t c)
{
	k->last_write_cmd = true;
	k->pending_cmd = 0;
	if (c >= CMD_READ_RAM && c < CMD_READ_RAM + ARRAY_SIZE(k->ram)) {
		ctrl_reply(k, k->ram[c - CMD_READ_RAM]);
		return;
	}
	if (c >= CMD_WRITE_RAM && c < CMD_WRITE_RAM + ARRAY_SIZE(k->ram)) {
		k->pending_cmd = c;
		return;
	}
	if (c >= CMD_PULSE) {
		/* Bits 0-3 that are 0 are pulsed low; bit 0 is the CPU reset. */
		if (!(c & OUTP_RESET)) {
			log_info("i8042: guest pulsed the reset line (command %#04x)", c);
			vm_request(&k->vm, VM_REQ_RESET, 0);
		}
		return;
	}
	switch (c) {
	case CMD_AUX_DISABLE:
		*ctr(k) |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		*ctr(k) &= ~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
		ctrl_reply(k, AUX_TEST_CLOCK_HIGH);
		break;
	case CMD_SELF_TEST:
		*ctr(k) |= CTR_SYSFLAG;
		ctrl_reply(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		ctrl_reply(k, KBD_TEST_OK);
		break;
	case CMD_KBD_DISABLE:
		*ctr(k) |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		*ctr(k) &= ~CTR_KBDDIS;
		break;
	case CMD_READ_OUTP:
		ctrl_reply(k, k->outp);
		break;
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OBUF:
	case CMD_WRITE_AUX_OBUF:
	case CMD_WRITE_AUX:
		k->pending_cmd = c;
		break;
	default:
		log_debug("i8042: unknown controller command %#04x ignored", c);
		break;
	}
}

static uint8_t status(struct i8042 *k)
{
	return (k->obf ? STR_OBF : 0) | (*ctr(k) & CTR_SYSFLAG ? STR_SYSFLAG : 0) |
	       (k->last_write_cmd ? STR_CMDDAT : 0) | STR_KEYLOCK;
}

/* Both regions are one port wide; the bytes of a wider access that fall on
 * other ports read as an empty bus. */
static uint64_t i8042_data_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint64_t hi = size > 1 ? ~0ull << 8 : 0;
	uint8_t v;

	if (offset)
		return ~0ull;
	pthread_mutex_lock(&k->lock);
	v = k->obuf; /* with OBF clear: the last byte again, as the real part */
	k->obf = false;
	refill(k);
	pthread_mutex_unlock(&k->lock);
	return hi | v;
}

static void i8042_data_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = opaque;

	(void)size;
	if (offset)
		return;
	pthread_mutex_lock(&k->lock);
	data_write(k, value);
	refill(k);
	pthread_mutex_unlock(&k->lock);
}

static uint64_t i8042_cmd_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i8042 *k = opaque;
	uint64_t hi = size > 1 ? ~0ull << 8 : 0;
	uint8_t v;

	if (offset)
		return ~0ull;
	pthread_mutex_lock(&k->lock);
	v = status(k);
	pthread_mutex_unlock(&k->lock);
	return hi | v;
}

static void i8042_cmd_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
	struct i8042 *k = opaque;

	(void)size;
	if (offset)
		return;
	pthread_mutex_lock(&k->lock);
	cmd_write(k, value);
	refill(k);
	pthread_mutex_unlock(&k->lock);
}

static const struct io_ops i8042_data_ops = {
	.read = i8042_data_read,
	.write = i8042_data_write,
};

static const struct io_ops i8042_cmd_ops = {
	.read = i8042_cmd_read,
	.write = i8042_cmd_write,
};

struct i8042 *i8042_new(const struct irq_line *kbd_irq, const struct vm_ctl *vm)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return NULL;
	r = pthread_mutex_init(&k->lock, NULL);
	if (r) {
		free(k);
		errno = r;
		return NULL;
	}
	if (kbd_irq)
		k->irq = *kbd_irq;
	if (vm)
		k->vm = *vm;
	*ctr(k) = CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	q_init(&k->ctrl_q, CTRL_Q_SIZE);
	q_init(&k->kbd_q, KBD_Q_SIZE);
	k->scanning = true;
	kbd_defaults(k);
	return k;
}

int i8042_attach(struct i8042 *k, struct iobus *bus)
{
	int r;

	if (k->bus)
		return -EBUSY;
	r = iobus_register(bus, IO_PIO, I8042_DATA_PORT, 1, "i8042-data", &i8042_data_ops, k);
	if (r < 0)
		return r;
	r = iobus_register(bus, IO_PIO, I8042_CMD_PORT, 1, "i8042-cmd", &i8042_cmd_ops, k);
	if (r < 0) {
		iobus_unregister(bus, IO_PIO, I8042_DATA_PORT);
		return r;
	}
	k->bus = bus;
	return 0;
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	/* Set 2: make Ctrl, Alt, Del (E0 71), then break Del, Alt, Ctrl. */
	static const uint8_t seq[] = { 0x14, 0x11, 0xE0, 0x71, 0xE0, 0xF0,
				       0x71, 0xF0, 0x11, 0xF0, 0x14 };
	int r = 0;

	pthread_mutex_lock(&k->lock);
	if (!k->scanning) {
		r = -EAGAIN;
	} else if (k->kbd_q.size - k->kbd_q.count < sizeof(seq)) {
		r = -ENOSPC;
	} else {
		for (unsigned i = 0; i < sizeof(seq); i++)
			q_push(&k->kbd_q, seq[i]);
		refill(k);
	}
	pthread_mutex_unlock(&k->lock);
	return r;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	if (k->bus) {
		iobus_unregister(k->bus, IO_PIO, I8042_DATA_PORT);
		iobus_unregister(k->bus, IO_PIO, I8042_CMD_PORT);
	}
	pthread_mutex_destroy(&k->lock);
	free(k);
}
